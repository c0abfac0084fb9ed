# Copyright 2026 The clip_grounding_ros authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Train the small CLIP model that ships with the package, on simulator renders.

    python -m clip_grounding_ros.training.train --out models/sim_clip [--device cuda]

Every step trains both ways grounding uses the model (see core/perception/grounding.py):

- crops (``get_image_features``): CLIP's contrastive loss with soft multi-positive targets
  (data.match_weights) between crops cut like run-time proposals and captions;
- patches (``maskclip_features``, the very function behind ``encode_dense``): each patch
  token of a whole frame, resized like the dense pass resizes it, against the same captions,
  with targets from the share of the patch each object covers in the simulator's
  segmentation render (data.patch_classes);

and for both, the run-time decision itself: the probability that a region shows a caption
rather than one of the run-time background prompts is trained towards the region's share of
what the caption describes (a binary cross-entropy), so that captions differing in one
attribute (the hard negatives data.CaptionBank.sample adds) score below the background
prompts. Held-out colour-shape combinations never occur in images or captions. The result
is saved in the Hugging Face layout and loads with the same calls as
openai/clip-vit-base-patch32.
"""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from dataclasses import asdict, dataclass
import json
import math
from pathlib import Path
import shlex
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import data
from .factory import build_clip, build_tokenizer, ModelSize
from ..core.perception.encoder import VOCABULARY_FILE
from ..core.perception.model import as_features, maskclip_features
from ..sim.scene import SHAPES


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='python -m clip_grounding_ros.training.train',
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument('--out', required=True, help='output folder (Hugging Face layout)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--steps', type=int, default=1000)
    parser.add_argument('--batch', type=int, default=256, help='crops per step')
    parser.add_argument('--frames', type=int, default=24,
                        help='whole frames per step for the patch (dense) losses')
    parser.add_argument('--dense-weight', type=float, default=1.0,
                        help='weight of the patch losses against the crop losses')
    parser.add_argument('--decision-weight', type=float, default=1.0,
                        help='weight of the run-time decision losses (crops and patches)')
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--precision', choices=('fp32', 'bf16'), default='bf16',
                        help='autocast precision of the forward passes (weights stay fp32)')
    parser.add_argument('--train-scenes', type=int, default=2000)
    parser.add_argument('--eval-scenes', type=int, default=60)
    parser.add_argument('--views', type=int, default=6, help='views rendered per scene')
    parser.add_argument('--patch-size', type=int, default=ModelSize.patch_size)
    parser.add_argument('--vision-width', type=int, default=ModelSize.vision_width)
    parser.add_argument('--vision-layers', type=int, default=ModelSize.vision_layers)
    parser.add_argument('--text-width', type=int, default=ModelSize.text_width)
    parser.add_argument('--text-layers', type=int, default=ModelSize.text_layers)
    parser.add_argument('--data', default='bench_output/training_views',
                        help='folder of rendered views (train.npz, eval.npz): reused if present')
    parser.add_argument('--passes', type=int, default=1,
                        help='differently jittered crop sets cut from every training view')
    parser.add_argument('--workers', type=int, default=2,
                        help='processes rendering views and cutting crops')
    parser.add_argument('--log-every', type=int, default=100)
    parser.add_argument('--max-minutes', type=float, default=0.0,
                        help='stop training early (and save) after this long; 0: no limit')
    return parser.parse_args(argv)


def load_or_build_tokenizer(folder: Path, vocab_size: int):
    """
    Load or learn the tokenizer of the caption grammar.

    The tokenizer learnt from the caption grammar, saved beside the rendered views so a
    run elsewhere (another transformers version, a GPU machine) uses the very same one.
    """
    from transformers import CLIPTokenizer

    if not (folder / 'tokenizer.json').exists():
        build_tokenizer(data.caption_corpus(), vocab_size).save_pretrained(folder)
    return CLIPTokenizer.from_pretrained(folder)


def load_or_render(path: Path, seeds: range, views: int, scene_for_seed,
                   workers: int) -> data.ViewSet:
    """Load rendered views from ``path`` if it exists, else render (and save) them now."""
    if path.exists():
        return data.ViewSet.load(path)
    views_set = data.render_views(seeds, views, scene_for_seed, workers=workers)
    path.parent.mkdir(parents=True, exist_ok=True)
    views_set.save(path)
    return views_set


@dataclass
class Batch:
    """
    One step's inputs: images, captions and soft targets.

    One step's inputs. Captions: the run-time background prompts first (columns
    0 .. references - 1), then data.CaptionBank.sample's others. Targets are soft: a
    region's share of what each caption describes.
    """

    crop_pixels: torch.Tensor    # (B, 3, S, S) normalised
    frame_pixels: torch.Tensor   # (F, 3, H, W) normalised, H and W multiples of the patch
    tokens: dict                 # tokenised captions, (T, L)
    crop_targets: torch.Tensor   # (B, T)
    patch_targets: torch.Tensor  # (F * rows * cols, T), patches row-major per frame
    patch_weights: torch.Tensor  # (F * rows * cols,) mean 1: see balanced_weights
    references: int              # how many run-time background prompts lead the captions
    judged: torch.Tensor         # (T,) bool: captions of objects (decision loss columns)


class Batcher:
    """
    Random batches of augmented crops and frames, with their captions.

    The captions of what they show, hard negatives, the run-time background prompts and
    unknown-object captions.
    """

    def __init__(self, crops: data.CropSet, frames: data.FrameSet, tokenizer, mean, std,
                 device, seed: int):
        self.crops, self.frames, self.device = crops, frames, device
        self.rng = np.random.default_rng(seed)
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1)
        self.captions = data.CaptionBank()
        self.tokenizer = tokenizer
        encoded = tokenizer(self.captions.texts, padding=True, truncation=True,
                            return_tensors='pt')
        self.input_ids = encoded['input_ids'].to(device)
        self.attention_mask = encoded['attention_mask'].to(device)
        self.class_colour, self.class_shape = data.class_attributes()

    def pixels(self, images: np.ndarray, augment: bool, flip: np.ndarray | None = None
               ) -> torch.Tensor:
        """
        Normalise (and augment) uint8 (N, H, W, 3) images to (N, 3, H, W) pixels.

        Augmented: flipped where ``flip`` says, random gain, contrast and noise.
        """
        batch = torch.from_numpy(images).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        if augment:
            n = batch.shape[0]
            flipped = torch.from_numpy(flip).to(self.device)
            batch = torch.where(flipped.view(-1, 1, 1, 1), batch.flip(3), batch)
            gain = torch.from_numpy(self.rng.uniform(0.75, 1.25, (n, 1, 1, 1))).to(batch)
            mean = batch.mean(dim=(1, 2, 3), keepdim=True)
            contrast = torch.from_numpy(self.rng.uniform(0.8, 1.2, (n, 1, 1, 1))).to(batch)
            batch = (batch - mean) * contrast + mean * gain
            batch = batch + torch.randn_like(batch) * float(self.rng.uniform(0.0, 0.03))
            batch = batch.clamp(0.0, 1.0)
        return (batch - self.mean) / self.std

    def tokens(self, texts: list[str]) -> dict:
        encoded = self.tokenizer(texts, padding=True, truncation=True, return_tensors='pt')
        return {k: v.to(self.device) for k, v in encoded.items()}

    def sample(self, crops: int, frames: int) -> Batch:
        index = self.rng.integers(0, len(self.crops), crops)
        colour, shape = self.crops.colour[index], self.crops.shape[index]
        weight = self.crops.weight[index]
        frame_index = self.rng.integers(0, len(self.frames), frames)
        flip = self.rng.random(frames) < 0.5
        classes = self.frames.classes[frame_index].astype(np.float32)
        classes = np.where(flip[:, None, None, None], classes[:, :, ::-1], classes)
        # Every class visible in a frame gets a caption (and a hard negative) of its own.
        frame_class, present = np.nonzero(classes[..., 1:].max(axis=(1, 2)) >= 0.05)
        present += 1
        bank = self.captions
        chosen = bank.sample(self.rng, np.concatenate([colour, self.class_colour[present]]),
                             np.concatenate([shape, self.class_shape[present]]),
                             np.concatenate([weight, np.ones(len(present))]),
                             max(1, crops // 8))
        agreement = data.class_agreement(bank.kind[chosen], bank.colour[chosen],
                                         bank.shape[chosen])
        crop_targets = data.crop_classes(colour, shape, weight) @ agreement
        classes = classes.reshape(-1, data.CLASSES)
        patch_targets = classes @ agreement
        rows = torch.from_numpy(chosen).to(self.device)
        mask = self.attention_mask[rows]
        length = int(mask.sum(1).max())
        return Batch(
            crop_pixels=self.pixels(self.crops.images[index], augment=True,
                                    flip=self.rng.random(crops) < 0.5),
            frame_pixels=self.pixels(self.frames.images[frame_index], augment=True,
                                     flip=flip),
            tokens={'input_ids': self.input_ids[rows, :length],
                    'attention_mask': mask[:, :length]},
            crop_targets=torch.from_numpy(crop_targets).float().to(self.device),
            patch_targets=torch.from_numpy(patch_targets).float().to(self.device),
            patch_weights=torch.from_numpy(balanced_weights(1.0 - classes[:, 0])).to(
                self.device),
            references=len(bank.run_time_background),
            judged=torch.from_numpy(bank.kind[chosen] != data.BACKGROUND).to(self.device))


def balanced_weights(object_share: np.ndarray) -> np.ndarray:
    """
    Weigh patches so that objects and background have equal say in the patch losses.

    Weights have mean 1. Objects cover about a tenth of a frame, so unweighted, the patches that
    ground anything would hardly count. A patch weighs its object share plus its background share
    times (object area / background area) of the batch.
    """
    objects = float(object_share.sum())
    if objects == 0.0:
        return np.ones_like(object_share, dtype=np.float32)
    weights = object_share + (1.0 - object_share) * objects / float((1.0 - object_share).sum())
    return (weights / weights.mean()).astype(np.float32)


def training_progress(step: int, steps: int, elapsed_s: float, max_minutes: float) -> float:
    """
    Return the fraction of training done: by steps, or by time when limited.

    By time when a time limit is given, so a run stopped by the clock still ends its learning-rate
    schedule properly.
    """
    by_time = elapsed_s / (60.0 * max_minutes) if max_minutes else 0.0
    return max(step / steps, by_time)


def learning_rate_factor(progress: float, warmup: float = 0.05) -> float:
    """Linear warm-up, then cosine decay to zero."""
    if progress < warmup:
        return (progress + 1e-3) / warmup
    return 0.5 * (1.0 + math.cos(math.pi * (progress - warmup) / (1.0 - warmup)))


def similarity_logits(region_features, text_features, logit_scale) -> torch.Tensor:
    """
    Return the (regions, captions) logits, as grounding computes them at run time.

    ``logit_scale`` times the cosine similarity.
    """
    return logit_scale * F.normalize(region_features.float(), dim=-1) @ \
        F.normalize(text_features.float(), dim=-1).T


def soft_clip_loss(logits, targets) -> torch.Tensor:
    """
    Compute the symmetric contrastive loss with soft targets on ``logits``.

    ``logits`` are (images, captions); captions no image matches (unknown objects) only act as
    negatives in the image-to-text direction.
    """
    has_match = targets.sum(0) > 0
    column_targets = targets[:, has_match] / targets[:, has_match].sum(0, keepdim=True)
    text_to_image = -(column_targets * F.log_softmax(logits[:, has_match], dim=0)).sum(0).mean()
    return (soft_cross_entropy(logits, targets) + text_to_image) / 2


def soft_cross_entropy(logits, targets, weights=None) -> torch.Tensor:
    """
    Compute the weighted mean soft cross-entropy over rows.

    Mean over rows (weighted by ``weights``, mean 1) of the cross-entropy between softmax(logits)
    over the captions and the row's targets normalised to sum 1 (every row has at least one
    matching caption).
    """
    rows = -(targets / targets.sum(1, keepdim=True) * F.log_softmax(logits, dim=1)).sum(1)
    return (rows if weights is None else rows * weights).mean()


def decision_loss(logits, targets, references: int, judged, weights=None) -> torch.Tensor:
    """
    Binary cross-entropy of the run-time score of every (region, object caption) pair.

    Grounding scores a region r for a phrase q as P = softmax over (q, background prompts)
    of the logits, taken at q (Grounder._target_probability): P = sigmoid(z) with
    z = logit(r, q) - logsumexp_b logit(r, b). P is trained towards the region's share of
    what q describes (1 for a tight crop of it, its coverage for a patch, 0 for a caption
    differing in one attribute, for background, or for an unknown object), so that the
    run-time threshold (0.5) separates present from absent. ``logits`` (N, T) have the
    run-time background prompts in their first ``references`` columns; ``judged`` (T,)
    marks the object and unknown-object captions; rows are weighted by ``weights`` (mean 1).
    """
    z = logits[:, judged] - torch.logsumexp(logits[:, :references], dim=1, keepdim=True)
    target = targets[:, judged].clamp(0.0, 1.0)
    rows = -(target * F.logsigmoid(z) + (1.0 - target) * F.logsigmoid(-z)).mean(1)
    return (rows if weights is None else rows * weights).mean()


def training_loss(model, batch: Batch, dense_weight: float, decision_weight: float,
                  autocast) -> tuple[torch.Tensor, dict]:
    """Compute the step's loss and its parts (floats, for the log)."""
    with autocast():
        crop_features = as_features(model.get_image_features(pixel_values=batch.crop_pixels))
        _, patch_features = maskclip_features(model, batch.frame_pixels)
        text_features = as_features(model.get_text_features(**batch.tokens))
    scale = model.logit_scale.exp()
    crop_logits = similarity_logits(crop_features, text_features, scale)
    patch_logits = similarity_logits(patch_features.reshape(-1, patch_features.shape[-1]),
                                     text_features, scale)
    parts = {
        'crops': soft_clip_loss(crop_logits, batch.crop_targets),
        'crop_decision': decision_loss(crop_logits, batch.crop_targets, batch.references,
                                       batch.judged),
        'patches': soft_cross_entropy(patch_logits, batch.patch_targets, batch.patch_weights),
        'patch_decision': decision_loss(patch_logits, batch.patch_targets, batch.references,
                                        batch.judged, batch.patch_weights)}
    loss = (parts['crops'] + decision_weight * parts['crop_decision'] +
            dense_weight * (parts['patches'] + decision_weight * parts['patch_decision']))
    return loss, {name: value.item() for name, value in parts.items()}


@torch.inference_mode()
def evaluate(model, batcher: Batcher, crops: data.CropSet, frames: data.FrameSet) -> dict:
    """
    Measure zero-shot accuracy on object and background crops and patches.

    Zero-shot accuracy among all colour-shape phrases plus the background prompts:
    of good object crops and of patches mostly (>= 60 %) covered by one object, split into
    seen and held-out combinations; and how many background crops and patches (>= 95 %
    background) are recognised as background.
    """
    phrases = [f'a photo of a {c} {s}.' for c in data.COLOUR_NAMES for s in SHAPES]
    labels = phrases + list(data.DEFAULT_BACKGROUND_PROMPTS)
    text = F.normalize(as_features(model.get_text_features(**batcher.tokens(labels))), dim=-1)

    def predict(features):
        return (F.normalize(features.float(), dim=-1) @ text.T).argmax(-1).cpu().numpy()

    predicted = np.concatenate([
        predict(as_features(model.get_image_features(
            pixel_values=batcher.pixels(crops.images[start:start + 512], augment=False))))
        for start in range(0, len(crops), 512)])
    crop_truth = np.where(crops.colour >= 0,
                          data.class_index(crops.colour, crops.shape), 0)
    patch_predicted = np.concatenate([
        predict(maskclip_features(model, batcher.pixels(frames.images[start:start + 64],
                                                        augment=False))[1]).ravel()
        for start in range(0, len(frames), 64)])
    classes = frames.classes.reshape(-1, data.CLASSES).astype(np.float32)
    patch_truth = classes.argmax(1)
    metrics = {}
    for name, guess, truth, good, background in (
            ('', predicted, crop_truth, (crops.weight >= 1.0) & (crop_truth > 0),
             crop_truth == 0),
            ('dense_', patch_predicted, patch_truth,
             (patch_truth > 0) & (classes.max(1) >= 0.6), classes[:, 0] >= 0.95)):
        # Class k is phrase k - 1; background is any of the background prompts.
        right = np.where(truth > 0, guess == truth - 1, guess >= len(phrases))
        held_out = np.isin(truth, [data.class_index(data.COLOUR_NAMES.index(c),
                                                    SHAPES.index(s))
                                   for c, s in data.HELD_OUT_COMBOS])
        metrics |= {
            f'{name}seen_accuracy': float(right[good & ~held_out].mean()),
            f'{name}held_out_accuracy': float(right[good & held_out].mean())
            if (good & held_out).any() else float('nan'),
            f'{name}background_recognised': float(right[background].mean()),
            f'{name}seen_count': int((good & ~held_out).sum()),
            f'{name}held_out_count': int((good & held_out).sum()),
            f'{name}background_count': int(background.sum())}
    return metrics | {'classes': len(labels)}


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    start = time.time()
    size = ModelSize(patch_size=args.patch_size, vision_width=args.vision_width,
                     vision_layers=args.vision_layers,
                     vision_heads=max(1, args.vision_width // 32), text_width=args.text_width,
                     text_layers=args.text_layers, text_heads=max(1, args.text_width // 32))
    tokenizer = load_or_build_tokenizer(Path(args.data) / 'tokenizer', size.vocab_size)
    model, processor = build_clip(size, tokenizer, seed=args.seed)
    folder = Path(args.data)
    train_views = load_or_render(folder / 'train.npz', range(args.train_scenes), args.views,
                                 data.training_scene, args.workers)
    eval_views = load_or_render(folder / 'eval.npz',
                                range(1_000_000, 1_000_000 + args.eval_scenes), args.views,
                                data.evaluation_scene, args.workers)
    render_s = time.time() - start
    train_crops = data.crop_pool(train_views, args.passes, args.seed, size.image_size,
                                 args.workers)
    eval_crops = data.crop_pool(eval_views, 1, args.seed + 1, size.image_size, args.workers)
    train_frames = data.frame_pool(train_views, size.image_size, size.patch_size, args.workers)
    eval_frames = data.frame_pool(eval_views, size.image_size, size.patch_size, args.workers)
    data_s = time.time() - start
    model.to(args.device).train()  # after the worker processes forked: they never touch CUDA
    parameters = sum(p.numel() for p in model.parameters())
    print(f'{len(train_views)} training views, {len(train_crops)} training crops, '
          f'{len(eval_crops)} evaluation crops (views {render_s:.0f} s, all data '
          f'{data_s:.0f} s); model {parameters / 1e6:.2f} M parameters on {args.device}',
          flush=True)
    image_processor = processor.image_processor
    batcher = Batcher(train_crops, train_frames, tokenizer, image_processor.image_mean,
                      image_processor.image_std, args.device, args.seed)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and 'embedding' not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and 'embedding' not in n)]
    optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.05},
                                   {'params': rest, 'weight_decay': 0.0}], lr=args.lr)
    device_type = torch.device(args.device).type

    def autocast():
        return (torch.autocast(device_type, dtype=torch.bfloat16)
                if args.precision == 'bf16' else nullcontext())

    train_start = time.time()
    step = 0
    while True:
        progress = training_progress(step, args.steps, time.time() - train_start,
                                     args.max_minutes)
        if progress >= 1.0:
            break
        step += 1
        for group in optimizer.param_groups:
            group['lr'] = args.lr * learning_rate_factor(progress)
        batch = batcher.sample(args.batch, args.frames)
        loss, parts = training_loss(model, batch, args.dense_weight, args.decision_weight,
                                    autocast)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % args.log_every == 0:
            model.eval()
            metrics = evaluate(model, batcher, eval_crops, eval_frames)
            model.train()
            print(f'step {step}/{args.steps} loss {loss.item():.3f} (' +
                  ' '.join(f'{k} {v:.3f}' for k, v in parts.items()) +
                  f') scale {model.logit_scale.exp().item():.1f} crops: seen '
                  f"{metrics['seen_accuracy']:.3f} held-out {metrics['held_out_accuracy']:.3f}"
                  f" background {metrics['background_recognised']:.3f}; patches: seen "
                  f"{metrics['dense_seen_accuracy']:.3f} held-out "
                  f"{metrics['dense_held_out_accuracy']:.3f} background "
                  f"{metrics['dense_background_recognised']:.3f} "
                  f'({time.time() - train_start:.0f} s)', flush=True)
    train_s = time.time() - train_start
    model.eval()
    metrics = evaluate(model, batcher, eval_crops, eval_frames)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.to('cpu').save_pretrained(out)
    processor.save_pretrained(out)
    report = {'command': 'python -m clip_grounding_ros.training.train ' +
              shlex.join(sys.argv[1:] if argv is None else argv),
              'args': vars(args), 'size': asdict(size), 'metrics': metrics, 'steps': step,
              'train_views': len(train_views), 'eval_views': len(eval_views),
              'train_crops': len(train_crops), 'eval_crops': len(eval_crops),
              'held_out_combos': [list(c) for c in data.HELD_OUT_COMBOS],
              'held_out_nouns': list(data.HELD_OUT_NOUNS),
              'data_seconds': round(data_s, 1), 'train_seconds': round(train_s, 1),
              'seconds_per_step': round(train_s / max(step, 1), 2),
              'torch': torch.__version__, 'threads': torch.get_num_threads()}
    (out / 'training_report.json').write_text(json.dumps(report, indent=2) + '\n')
    (out / VOCABULARY_FILE).write_text(json.dumps(data.vocabulary()) + '\n')
    print(json.dumps(metrics), flush=True)


if __name__ == '__main__':
    main()
