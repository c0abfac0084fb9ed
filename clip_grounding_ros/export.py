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
Export a CLIP model for fast CPU inference with OpenVINO.

The export is checked against torch fp32 and written where ``load_encoder`` finds it.

    python -m clip_grounding_ros.export MODEL --out DIR [--int8] [--calibration FOLDER|sim]
        [--frames N] [--holdout N] [--prompts OBJECT ...] [--min-cosine C] [--min-top1 A]

MODEL is a transformers CLIP folder, a hub id or a ``package://`` URI, loaded with the
package's ``load_encoder`` (torch fp32 on the CPU). The export goes to ``DIR/openvino/``
(layout: ``clip_grounding_ros.core.perception.openvino_encoder``). When DIR is MODEL's own
folder only that subfolder is (re)written; otherwise DIR must be new or empty and also receives the
model itself (``save_pretrained``: config, weights, tokenizer, image processor,
vocabulary.json), so that it is a complete model folder that runs with either backend.

Precision: fp32 by default. ``--int8`` quantizes the image tower statically (int8 weights
and activations, NNCF), its activation ranges calibrated on ``--frames`` frames as grounding
sees them: the crops of each frame's proposals (``proposals.propose`` and ``square_crop``,
the grounder's defaults) and the whole frame as the dense pass reads it; at most
``MAX_CALIBRATION_SAMPLES`` of them. The patch embedding (the tower's only convolution,
which reads the pixels; about 3 % of its compute) stays fp32: quantized, it cost the
bundled model 1.1 points of Acc@0.5, kept, 0.3. The text tower stays fp32 (phrases are
encoded once and cached, so it costs little).

Frames come from a folder of the user's images (PNG/JPEG; the first N sorted by name
calibrate, the next ``--holdout`` check) or, with ``sim``, from renders of random scenes of
the package's MuJoCo simulator (``MUJOCO_GL=osmesa`` unless set).

Agreement, measured on the ``--holdout`` frames (never used for calibration) between the
export run by OpenVINO and the model run by torch fp32:

- crop cosine: mean cosine between the two embeddings of each crop, both centred on the
  mean of torch's embeddings of all crops (a direction every crop shares carries no
  ranking information and makes raw cosines look better than they are);
- patch cosine: the same for the dense pass' patch embeddings, centred per frame;
- top-1 agreement: of the (frame, prompt) pairs that torch grounds (strategy crops: its
  best crop scores at least the grounder's ``score_threshold``), the share for which the
  export's best crop is the same answer (box IoU >= 0.5); prompts name ``--prompts``
  objects through the grounder's templates, against its background prompts (objects with
  words outside a closed vocabulary are skipped). Not checked when torch grounds no pair
  (e.g. a model with random weights);
- text cosine: the lowest cosine between the two text embeddings of a prompt.

The export is refused (exit status 1, nothing written) when a cosine is below
``--min-cosine`` (default 0.97) or the top-1 agreement below ``--min-top1`` (default 0.9).
Exit status 2: the model, the frames or the output folder could not be used.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import shutil
import sys
import tempfile

import cv2
import numpy as np
import torch

from .core.perception.encoder import (
    EXPORT_MANIFEST,
    ImageTextEncoder,
    ModelLoadError,
    OPENVINO_DIR,
)
from .core.perception.grounding import Grounder, GrounderConfig, UnknownWordsError
from .core.perception.model import (
    as_features,
    HFClipEncoder,
    image_processor_class,
    load_encoder,
    maskclip_features,
)
from .core.perception.proposals import box_iou, propose, square_crop
from .resources import resolve_model

MIN_COSINE = 0.97
MIN_TOP1 = 0.9
MAX_CALIBRATION_SAMPLES = 2048
SIM_SEED = 5_000_000           # calibration scenes; far from training and evaluation seeds
SIM_HOLDOUT_SEED = 6_000_000   # held-out scenes for the agreement check
SIM_VIEWS_PER_SCENE = 4
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp')
# Objects named in the agreement prompts, through the grounder's prompt templates.
PROMPT_OBJECTS = ('red ball', 'blue box', 'green cylinder', 'yellow cube', 'white sphere',
                  'black can', 'orange block', 'purple tube', 'person', 'chair', 'door',
                  'bottle', 'backpack', 'cup')


class ExportError(Exception):
    """The export cannot be made; ``status`` is the command's exit status."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


class _ImageGraph(torch.nn.Module):
    """The image IR's computation: ``maskclip_features`` of normalised pixels."""

    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, pixel_values):
        return maskclip_features(self.clip, pixel_values)


class _TextGraph(torch.nn.Module):
    """The text IR's computation: the CLIP text features of padded token ids."""

    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, input_ids, attention_mask):
        return as_features(self.clip.get_text_features(input_ids=input_ids,
                                                       attention_mask=attention_mask))


def export(model: str, out: Path, int8: bool = False, calibration: str = 'sim',
           frames: int = 64, holdout: int = 16,
           prompt_objects: tuple[str, ...] = PROMPT_OBJECTS, min_cosine: float = MIN_COSINE,
           min_top1: float = MIN_TOP1, log=print) -> dict:
    """
    Export ``model`` to ``out/openvino`` (see the module docstring); returns the manifest.

    Raises :class:`ExportError` (status 2) when the model, the frames or ``out`` cannot be
    used, and (status 1) when the agreement is below the tolerances; nothing is written then.
    """
    import nncf
    import openvino as ov

    from .core.perception.openvino_encoder import (
        EXPORT_FORMAT,
        IMAGE_INPUT,
        IMAGE_OUTPUTS,
        INFERENCE_PRECISION,
        OpenVINOClipEncoder,
        TEXT_INPUTS,
        TEXT_OUTPUT,
        weights_sha256,
    )

    source = resolve_model(model)
    try:
        reference = load_encoder(source, device='cpu', backend='torch')
    except ModelLoadError as error:
        raise ExportError(str(error)) from None
    in_place = Path(source).expanduser().is_dir() and out.resolve() == \
        Path(source).expanduser().resolve()
    if not in_place and out.exists() and any(out.iterdir()):
        raise ExportError(f"'{out}' is not empty and is not the model's folder: give a new "
                          "folder, or the model's own folder to add the export to it")
    if frames < 1 or holdout < 1:
        raise ExportError('--frames and --holdout must be at least 1')
    config = GrounderConfig()
    log(f"frames from {calibration}: {f'{frames} for calibration, ' if int8 else ''}"
        f'{holdout} held out')
    calibration_frames, holdout_frames = load_frames(calibration, frames if int8 else 0, holdout)

    clip = reference.model
    image_size = reference.image_size
    log('converting the image and text towers')
    with torch.no_grad():
        image_model = ov.convert_model(
            _ImageGraph(clip), example_input=reference.image_pixels(holdout_frames[:1]),
            input=[ov.PartialShape([-1, 3, -1, -1])])
        example_tokens = reference.tokenizer(['a photo of the floor.', 'a wall'], padding=True,
                                             return_tensors='pt')
        text_model = ov.convert_model(
            _TextGraph(clip), example_input=tuple(example_tokens[n] for n in TEXT_INPUTS),
            input=[ov.PartialShape([-1, -1])] * 2)
    _name_ports(image_model.inputs, (IMAGE_INPUT,))
    _name_ports(image_model.outputs, IMAGE_OUTPUTS)
    _name_ports(text_model.inputs, TEXT_INPUTS)
    _name_ports(text_model.outputs, (TEXT_OUTPUT,))

    precision = 'int8' if int8 else 'fp32'
    manifest = {
        'format': EXPORT_FORMAT, 'source_model': model, 'precision': precision,
        'files': {'image': f'image_{precision}.xml', 'text': 'text_fp32.xml'},
        'image_size': image_size, 'patch_size': reference.patch_size,
        'embedding_dim': int(clip.config.projection_dim),
        'context_length': reference.context_length, 'logit_scale': reference.logit_scale,
        'image_mean': list(reference.image_mean), 'image_std': list(reference.image_std),
        'inference_precision': INFERENCE_PRECISION,
        'input_shapes': {IMAGE_INPUT: [-1, 3, -1, -1], **{n: [-1, -1] for n in TEXT_INPUTS}},
        'versions': {'openvino': ov.__version__, 'nncf': nncf.__version__ if int8 else None,
                     'torch': torch.__version__},
    }
    if int8:
        samples = calibration_samples(reference, calibration_frames, config)
        log(f'quantizing the image tower to int8 on {len(samples)} calibration inputs')
        image_model = nncf.quantize(image_model, nncf.Dataset(samples),
                                    subset_size=len(samples),
                                    model_type=nncf.ModelType.TRANSFORMER,
                                    ignored_scope=nncf.IgnoredScope(types=['Convolution']))
        manifest['calibration'] = {'source': calibration, 'frames': len(calibration_frames),
                                   'inputs': len(samples), 'method': 'NNCF static, '
                                   'ModelType.TRANSFORMER, default preset, convolutions '
                                   'fp32'}

    with tempfile.TemporaryDirectory(prefix='clip-export-') as staging_dir:
        staging = Path(staging_dir)
        ov.save_model(image_model, staging / manifest['files']['image'],
                      compress_to_fp16=False)
        ov.save_model(text_model, staging / manifest['files']['text'], compress_to_fp16=False)
        (staging / EXPORT_MANIFEST).write_text(json.dumps(manifest))
        candidate = OpenVINOClipEncoder(staging, reference.tokenizer,
                                        vocabulary=reference.vocabulary)
        log(f'checking against torch fp32 on {len(holdout_frames)} held-out frames')
        figures = agreement(reference, candidate, holdout_frames, config, prompt_objects)
        for name, value in figures.items():
            log(f'  {name:16s} {value:.4f}' if isinstance(value, float) else
                f'  {name:16s} {value}')
        if figures['top1_agreement'] is None:
            log('  (torch grounds none of the prompts in these frames: top-1 not checked)')
        failed = [f'{name} {figures[name]:.4f} < {limit}' for name, limit in
                  (('crop_cosine', min_cosine), ('patch_cosine', min_cosine),
                   ('text_cosine', min_cosine), ('top1_agreement', min_top1))
                  if figures[name] is not None and figures[name] < limit]
        if failed:
            raise ExportError(f'refusing to write the {precision} export of {model}: it '
                              f"agrees too little with torch fp32 ({'; '.join(failed)})",
                              status=1)
        manifest['agreement'] = {**figures, 'min_cosine': min_cosine, 'min_top1': min_top1,
                                 'holdout': {'source': calibration,
                                             'frames': len(holdout_frames)}}
        out.mkdir(parents=True, exist_ok=True)
        if not in_place:
            _save_model_folder(reference, source, out)
        manifest['weights_sha256'] = weights_sha256(out)
        (staging / EXPORT_MANIFEST).write_text(json.dumps(manifest, indent=2) + '\n')
        target = out / OPENVINO_DIR
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()  # with the user's permissions, not the private staging folder's
        for path in staging.iterdir():
            shutil.copyfile(path, target / path.name)
    for path in sorted((out / OPENVINO_DIR).iterdir()):
        log(f'wrote {path} ({path.stat().st_size / 1e6:.2f} MB)')
    return manifest


def _name_ports(ports, names) -> None:
    for port, name in zip(ports, names, strict=True):
        port.get_tensor().set_names({name})


def _save_model_folder(encoder: HFClipEncoder, source: str, out: Path) -> None:
    """
    Save the model as a folder ``load_encoder`` reads.

    Weights, config, tokenizer, image processor and vocabulary (when closed).
    """
    encoder.model.save_pretrained(out)
    encoder.tokenizer.save_pretrained(out)
    image_processor_class().from_pretrained(source, local_files_only=True).save_pretrained(out)
    if encoder.vocabulary is not None:
        (out / 'vocabulary.json').write_text(json.dumps(sorted(encoder.vocabulary)))


def load_frames(calibration: str, count: int, holdout: int
                ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """
    Load calibration and holdout frames from a folder of images or the simulator.

    ``count`` calibration frames and ``holdout`` other frames (RGB uint8), from simulator renders
    for 'sim'. ExportError when there are too few.
    """
    if calibration == 'sim':
        return sim_frames(count, SIM_SEED), sim_frames(holdout, SIM_HOLDOUT_SEED)
    folder = Path(calibration).expanduser()
    if not folder.is_dir():
        raise ExportError(f"calibration folder '{folder}' not found (give a folder of camera "
                          "images, or 'sim')")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(paths) < count + holdout:
        raise ExportError(f"'{folder}' has {len(paths)} images; {count} calibration and "
                          f'{holdout} held-out frames need {count + holdout} (or lower '
                          '--frames/--holdout)')
    images = []
    for path in paths[:count + holdout]:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ExportError(f"cannot read image '{path}'")
        images.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return images[:count], images[count:]


def sim_frames(count: int, seed: int) -> list[np.ndarray]:
    """
    Render ``count`` random simulator scenes from the training data's robot poses.

    Seeds from ``seed``; the poses are ``training.data.view_poses``; at the sim camera's size.
    """
    os.environ.setdefault('MUJOCO_GL', 'osmesa')
    from .sim.scene import random_scene
    from .sim.world import CameraSpec, SimWorld
    from .training.data import view_poses

    frames: list[np.ndarray] = []
    scene_seed = seed
    while len(frames) < count:
        scene = random_scene(scene_seed)
        with SimWorld(scene, CameraSpec()) as world:
            for pose in view_poses(scene, np.random.default_rng(scene_seed),
                                   SIM_VIEWS_PER_SCENE)[:count - len(frames)]:
                world.set_robot_pose(*pose)
                frames.append(world.render())
        scene_seed += 1
    return frames


def frame_crops(frame: np.ndarray, image_size: int, config: GrounderConfig
                ) -> tuple[np.ndarray, list[np.ndarray]]:
    """
    Return the boxes (N, 4) and crops grounding scores in ``frame``.

    Strategy crops, ``config``'s proposals and context.
    """
    boxes = propose(frame, config.proposals, config.max_crops, config.colour_proposals)
    return boxes, [square_crop(frame, box, image_size, config.crop_context) for box in boxes]


def calibration_samples(encoder: HFClipEncoder, frames: list[np.ndarray],
                        config: GrounderConfig) -> list[np.ndarray]:
    """
    Prepare model inputs (1, 3, H, W) f32 as grounding makes them, for calibration.

    Every frame's dense-pass input and, filling up to MAX_CALIBRATION_SAMPLES, a seeded random
    choice of their crops.
    """
    samples = [encoder.dense_pixels(f, config.dense_short_side or None).numpy() for f in frames]
    crops = [crop for frame in frames
             for crop in frame_crops(frame, encoder.image_size, config)[1]]
    chosen = np.sort(np.random.default_rng(0).permutation(len(crops))[
        :max(0, MAX_CALIBRATION_SAMPLES - len(samples))])
    if len(chosen):
        samples += [row[None] for row in encoder.image_pixels([crops[i] for i in chosen]).numpy()]
    return samples


def agreement(reference: ImageTextEncoder, candidate: ImageTextEncoder,
              frames: list[np.ndarray], config: GrounderConfig,
              prompt_objects: tuple[str, ...] = PROMPT_OBJECTS) -> dict:
    """
    Measure how closely ``candidate`` reproduces ``reference`` on ``frames``.

    See the module docstring: crop_cosine, patch_cosine, text_cosine, top1_agreement (None when the
    reference grounds no prompt in any frame) and the counts behind them.
    """
    grounders = [Grounder(encoder, config) for encoder in (reference, candidate)]
    banks = {}  # prompt object -> its text bank (phrase, background prompts) per encoder
    for obj in prompt_objects:
        try:
            # The grounder's own text bank and region scores, so the check follows them.
            banks[obj] = [grounder._text_bank(obj) for grounder in grounders]
        except UnknownWordsError:
            continue  # a closed-vocabulary model never grounds this word
    if not banks:
        raise ExportError("none of the agreement prompts is in the model's vocabulary")
    text_cosine = min(float(torch.nn.functional.cosine_similarity(*pair).min())
                      for pair in banks.values())
    crops_ref, crops_new, patch_cosines, same_answer = [], [], [], []
    for frame in frames:
        boxes, crops = frame_crops(frame, reference.image_size, config)
        if len(crops) > 1:
            embedded = [encoder.encode_images(crops) for encoder in (reference, candidate)]
            crops_ref.append(embedded[0])
            crops_new.append(embedded[1])
            for pair in banks.values():
                scores = [grounder._target_probability(e, bank) for grounder, e, bank
                          in zip(grounders, embedded, pair, strict=True)]
                best = [int(np.argmax(s)) for s in scores]
                if scores[0][best[0]] >= config.score_threshold:
                    same_answer.append(box_iou(boxes[best[0]][None], boxes[best[1]][None])
                                       [0, 0] >= 0.5)
        grids = [encoder.encode_dense(frame, config.dense_short_side or None)[0].flatten(0, 1)
                 for encoder in (reference, candidate)]
        patch_cosines.append(centred_cosine(*grids))
    if not crops_ref:
        raise ExportError('the held-out frames gave no crops to compare')
    return {'crop_cosine': centred_cosine(torch.cat(crops_ref), torch.cat(crops_new)),
            'patch_cosine': float(np.mean(patch_cosines)),
            'text_cosine': text_cosine,
            'top1_agreement': float(np.mean(same_answer)) if same_answer else None,
            'grounded_pairs': len(same_answer), 'crops': int(sum(map(len, crops_ref))),
            'prompts': len(banks)}


def centred_cosine(reference: torch.Tensor, candidate: torch.Tensor) -> float:
    """
    Return the mean cosine between matching rows (N, D), centred on ``reference``.

    The mean of the ``reference`` rows is subtracted from both.
    """
    mean = reference.mean(dim=0)
    return float(torch.nn.functional.cosine_similarity(reference - mean,
                                                       candidate - mean).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m clip_grounding_ros.export',
                                     description=__doc__.strip().split('\n\n')[0])
    parser.add_argument('model', help='transformers CLIP folder, hub id or package:// URI')
    parser.add_argument('--out', required=True, type=Path,
                        help="folder to write (the model's own folder, or a new one)")
    parser.add_argument('--int8', action='store_true',
                        help='int8 image tower, statically calibrated (default fp32)')
    parser.add_argument('--calibration', default='sim',
                        help="folder of camera images, or 'sim' for simulator renders")
    parser.add_argument('--frames', type=int, default=64, help='calibration frames')
    parser.add_argument('--holdout', type=int, default=16,
                        help='held-out frames for the agreement check')
    parser.add_argument('--prompts', nargs='+', default=list(PROMPT_OBJECTS),
                        metavar='OBJECT', help='objects to ground in the agreement check '
                        '(things in your frames)')
    parser.add_argument('--min-cosine', type=float, default=MIN_COSINE,
                        help='refuse below this crop, patch or text cosine')
    parser.add_argument('--min-top1', type=float, default=MIN_TOP1,
                        help='refuse below this top-1 crop agreement')
    args = parser.parse_args(argv)
    try:
        export(args.model, args.out, args.int8, args.calibration, args.frames, args.holdout,
               tuple(args.prompts), args.min_cosine, args.min_top1)
    except ExportError as error:
        print(f'error: {error}', file=sys.stderr)
        return error.status
    return 0


if __name__ == '__main__':
    sys.exit(main())
