"""Train the small CLIP model that ships with the package, on simulator renders.

    python -m clip_grounding_ros.training.train --out models/sim_clip [--device cuda]

Contrastive (CLIP) training with soft multi-positive targets (see data.match_weights), on
crops rendered from random scenes with held-out colour-shape combinations. The result is
saved in the Hugging Face layout and loads with the same calls as openai/clip-vit-base-patch32.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..sim import SHAPES
from . import data
from ..core.model import VOCABULARY_FILE, as_features
from .factory import ModelSize, build_clip, build_tokenizer


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='output folder (Hugging Face layout)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--steps', type=int, default=2220)
    parser.add_argument('--batch', type=int, default=512)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--train-scenes', type=int, default=500)
    parser.add_argument('--eval-scenes', type=int, default=60)
    parser.add_argument('--views', type=int, default=8, help='views rendered per scene')
    parser.add_argument('--vision-width', type=int, default=ModelSize.vision_width)
    parser.add_argument('--vision-layers', type=int, default=ModelSize.vision_layers)
    parser.add_argument('--text-width', type=int, default=ModelSize.text_width)
    parser.add_argument('--text-layers', type=int, default=ModelSize.text_layers)
    parser.add_argument('--data', default='bench_output/training_views',
                        help='folder of rendered views (train.npz, eval.npz): reused if present')
    parser.add_argument('--passes', type=int, default=4,
                        help='differently jittered crop sets cut from every training view')
    parser.add_argument('--workers', type=int, default=2, help='processes cutting crops')
    parser.add_argument('--log-every', type=int, default=100)
    parser.add_argument('--max-minutes', type=float, default=0.0,
                        help='stop training early (and save) after this long; 0: no limit')
    return parser.parse_args(argv)


def load_or_build_tokenizer(folder: Path, vocab_size: int):
    """The tokenizer learnt from the caption grammar, saved beside the rendered views so a
    run elsewhere (another transformers version, a GPU machine) uses the very same one."""
    from transformers import CLIPTokenizer

    if not (folder / 'tokenizer.json').exists():
        build_tokenizer(data.caption_corpus(), vocab_size).save_pretrained(folder)
    return CLIPTokenizer.from_pretrained(folder)


def load_or_render(path: Path, seeds: range, views: int, scene_for_seed) -> data.ViewSet:
    """Rendered views from ``path`` if it exists, else rendered now (and saved there)."""
    if path.exists():
        return data.ViewSet.load(path)
    views_set = data.render_views(seeds, views, scene_for_seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    views_set.save(path)
    return views_set


class Batcher:
    """Random batches of augmented crops with one sampled caption each, plus the run-time
    background prompts and unknown-object captions as negatives."""

    def __init__(self, crops: data.CropSet, tokenizer, mean, std, device, seed: int):
        self.crops, self.device = crops, device
        self.rng = np.random.default_rng(seed)
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1)
        self.captions = data.CaptionBank()
        self.tokenizer = tokenizer
        encoded = tokenizer(self.captions.texts, padding=True, truncation=True,
                            return_tensors='pt')
        self.input_ids = encoded['input_ids'].to(device)
        self.attention_mask = encoded['attention_mask'].to(device)

    def pixels(self, images: np.ndarray, augment: bool) -> torch.Tensor:
        batch = torch.from_numpy(images).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        if augment:
            n = batch.shape[0]
            flip = torch.from_numpy(self.rng.random(n) < 0.5).to(self.device)
            batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(3), batch)
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

    def sample(self, batch_size: int):
        index = self.rng.integers(0, len(self.crops), batch_size)
        colour, shape = self.crops.colour[index], self.crops.shape[index]
        weight = self.crops.weight[index]
        chosen = self.captions.sample(self.rng, colour, shape, weight, batch_size // 8)
        bank = self.captions
        targets = data.match_weights(colour, shape, weight, bank.kind[chosen],
                                     bank.colour[chosen], bank.shape[chosen])
        rows = torch.from_numpy(chosen).to(self.device)
        mask = self.attention_mask[rows]
        length = int(mask.sum(1).max())
        tokens = {'input_ids': self.input_ids[rows, :length], 'attention_mask': mask[:, :length]}
        return (self.pixels(self.crops.images[index], augment=True), tokens,
                torch.from_numpy(targets).float().to(self.device))


def training_progress(step: int, steps: int, elapsed_s: float, max_minutes: float) -> float:
    """Fraction of training done: by steps, or by time when a time limit is given, so a
    run stopped by the clock still ends its learning-rate schedule properly."""
    by_time = elapsed_s / (60.0 * max_minutes) if max_minutes else 0.0
    return max(step / steps, by_time)


def learning_rate_factor(progress: float, warmup: float = 0.05) -> float:
    """Linear warm-up, then cosine decay to zero."""
    if progress < warmup:
        return (progress + 1e-3) / warmup
    return 0.5 * (1.0 + math.cos(math.pi * (progress - warmup) / (1.0 - warmup)))


def soft_clip_loss(image_features, text_features, logit_scale, targets) -> torch.Tensor:
    """Symmetric contrastive loss with soft targets; captions no image matches (unknown
    objects) only act as negatives in the image-to-text direction."""
    logits = logit_scale * F.normalize(image_features, dim=-1) @ \
        F.normalize(text_features, dim=-1).T
    image_to_text = -(targets / targets.sum(1, keepdim=True) *
                      F.log_softmax(logits, dim=1)).sum(1).mean()
    has_match = targets.sum(0) > 0
    column_targets = targets[:, has_match] / targets[:, has_match].sum(0, keepdim=True)
    text_to_image = -(column_targets * F.log_softmax(logits[:, has_match], dim=0)).sum(0).mean()
    return (image_to_text + text_to_image) / 2


@torch.inference_mode()
def evaluate(model, batcher: Batcher, crops: data.CropSet) -> dict:
    """Zero-shot accuracy on good object crops over all colour-shape phrases plus the
    background prompts, split into seen and held-out combinations, and how many
    background crops are recognised as background."""
    phrases = [f'a photo of a {c} {s}.' for c in data.COLOUR_NAMES for s in SHAPES]
    labels = phrases + list(data.DEFAULT_BACKGROUND_PROMPTS)
    text = F.normalize(as_features(model.get_text_features(**batcher.tokens(labels))), dim=-1)
    predictions = []
    for start in range(0, len(crops), 512):
        pixels = batcher.pixels(crops.images[start:start + 512], augment=False)
        image = F.normalize(as_features(model.get_image_features(pixel_values=pixels)), dim=-1)
        predictions.append((image @ text.T).argmax(1).cpu().numpy())
    predicted = np.concatenate(predictions)
    truth = np.where(crops.colour >= 0, crops.colour * len(SHAPES) + crops.shape, -1)
    held_out = np.array([(data.COLOUR_NAMES[c], SHAPES[s]) in data.HELD_OUT_COMBOS
                         if c >= 0 else False for c, s in zip(crops.colour, crops.shape,
                                                                 strict=True)])
    good = (crops.weight >= 1.0) & (truth >= 0)
    background = truth < 0
    return {
        'seen_accuracy': float((predicted == truth)[good & ~held_out].mean()),
        'held_out_accuracy': float((predicted == truth)[good & held_out].mean())
        if (good & held_out).any() else float('nan'),
        'background_recognised': float((predicted >= len(phrases))[background].mean()),
        'classes': len(labels), 'seen_crops': int((good & ~held_out).sum()),
        'held_out_crops': int((good & held_out).sum()),
        'background_crops': int(background.sum())}


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    start = time.time()
    size = ModelSize(vision_width=args.vision_width, vision_layers=args.vision_layers,
                     vision_heads=max(1, args.vision_width // 32), text_width=args.text_width,
                     text_layers=args.text_layers, text_heads=max(1, args.text_width // 32))
    tokenizer = load_or_build_tokenizer(Path(args.data) / 'tokenizer', size.vocab_size)
    model, processor = build_clip(size, tokenizer, seed=args.seed)
    folder = Path(args.data)
    train_views = load_or_render(folder / 'train.npz', range(args.train_scenes), args.views,
                                 data.training_scene)
    eval_views = load_or_render(folder / 'eval.npz',
                                range(1_000_000, 1_000_000 + args.eval_scenes), args.views,
                                data.evaluation_scene)
    render_s = time.time() - start
    train_crops = data.crop_pool(train_views, args.passes, args.seed, size.image_size,
                                 args.workers)
    eval_crops = data.crop_pool(eval_views, 1, args.seed + 1, size.image_size, args.workers)
    model.to(args.device).train()  # after the worker processes forked: they never touch CUDA
    parameters = sum(p.numel() for p in model.parameters())
    print(f'{len(train_views)} training views, {len(train_crops)} training crops, '
          f'{len(eval_crops)} evaluation crops ({render_s:.0f} s); model '
          f'{parameters / 1e6:.2f} M parameters on {args.device}', flush=True)
    image_processor = processor.image_processor
    batcher = Batcher(train_crops, tokenizer, image_processor.image_mean,
                      image_processor.image_std, args.device, args.seed)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and 'embedding' not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and 'embedding' not in n)]
    optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.05},
                                   {'params': rest, 'weight_decay': 0.0}], lr=args.lr)
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
        pixels, tokens, targets = batcher.sample(args.batch)
        image_features = as_features(model.get_image_features(pixel_values=pixels))
        text_features = as_features(model.get_text_features(**tokens))
        loss = soft_clip_loss(image_features, text_features, model.logit_scale.exp(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % args.log_every == 0:
            model.eval()
            metrics = evaluate(model, batcher, eval_crops)
            model.train()
            print(f'step {step}/{args.steps} loss {loss.item():.3f} '
                  f'scale {model.logit_scale.exp().item():.1f} '
                  f"seen {metrics['seen_accuracy']:.3f} held-out "
                  f"{metrics['held_out_accuracy']:.3f} background "
                  f"{metrics['background_recognised']:.3f} "
                  f'({time.time() - train_start:.0f} s)', flush=True)
    model.eval()
    metrics = evaluate(model, batcher, eval_crops)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.to('cpu').save_pretrained(out)
    processor.save_pretrained(out)
    report = {'args': vars(args), 'size': asdict(size), 'metrics': metrics, 'steps': step,
              'train_views': len(train_views), 'eval_views': len(eval_views),
              'train_crops': len(train_crops), 'eval_crops': len(eval_crops),
              'held_out_combos': [list(c) for c in data.HELD_OUT_COMBOS],
              'held_out_nouns': list(data.HELD_OUT_NOUNS),
              'data_seconds': round(render_s, 1),
              'train_seconds': round(time.time() - train_start, 1),
              'torch': torch.__version__}
    (out / 'training_report.json').write_text(json.dumps(report, indent=2) + '\n')
    (out / VOCABULARY_FILE).write_text(json.dumps(data.vocabulary()) + '\n')
    print(json.dumps(metrics), flush=True)


if __name__ == '__main__':
    main()
