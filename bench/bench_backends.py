#!/usr/bin/env python3

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
Speed of the inference backends on this CPU: torch fp32, OpenVINO fp32 and OpenVINO int8.

Measures, each as a median over ``--runs`` rounds and as a ratio to torch fp32 measured in
the same run: the image tower per image at batch 1, 8 and 32 (``encode_images`` on crops of
the model's input size, pre-processing included), each grounding strategy per frame (640x480
by default, the phrase already cached, as the node runs), and text encoding per new prompt.
Every round times every backend in turn, each measure right after one untimed call of the
same backend, so a slow spell of this shared machine hits all of them alike.

The model is the real ViT-B/32 architecture with random weights (speed does not depend on
the weight values; no pretrained weights can be downloaded here), or ``--model``. It is
saved and exported with the package's own code (``load_encoder``,
``clip_grounding_ros.export``; int8 calibrated on simulator renders); with random weights
the agreement check is reported but not enforced. Prints a table; asserts nothing.

    .venv/bin/python bench/bench_backends.py [--runs 5] [--threads 2] [--model DIR]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
import statistics
import tempfile
import time

from bench_grounding import _scene
import torch

BATCHES = (1, 8, 32)


def _random_vit_b32(folder: Path) -> str:
    """Save the ViT-B/32 architecture with random weights as a model folder; return its path."""
    from clip_grounding_ros.core.perception.model import image_processor_class
    from clip_grounding_ros.training.factory import build_tokenizer
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor

    CLIPModel(CLIPConfig()).save_pretrained(folder)
    tokenizer = build_tokenizer(['a photo of a blue box', 'the floor', 'a wall'], 300)
    CLIPProcessor(image_processor=image_processor_class()(), tokenizer=tokenizer
                  ).save_pretrained(folder)
    return str(folder)


def _exports(model: str, work: Path, frames: int, holdout: int, random_weights: bool
             ) -> dict[str, str]:
    """Model folders: the source (torch) and its fp32 and int8 exports."""
    from clip_grounding_ros.export import export

    folders = {'torch fp32': model}
    for precision in ('fp32', 'int8'):
        out = work / precision
        print(f'exporting {precision} ...', flush=True)
        limits = {'min_cosine': -1.0, 'min_top1': 0.0} if random_weights else {}
        manifest = export(model, out, int8=precision == 'int8', calibration='sim',
                          frames=frames, holdout=holdout, log=lambda _: None, **limits)
        figures = ', '.join(f'{k} {v:.4f}' if isinstance(v, float) else f'{k} {v}'
                            for k, v in manifest['agreement'].items() if k != 'holdout')
        print(f'  agreement with torch fp32: {figures}')
        folders[f'openvino {precision}'] = str(out)
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--runs', type=int, default=5, help='timed rounds (medians)')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads(),
                        help='CPU threads for torch and OpenVINO')
    parser.add_argument('--model', help='model folder or hub id (default: random ViT-B/32)')
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--calibration-frames', type=int, default=16)
    parser.add_argument('--holdout', type=int, default=4)
    args = parser.parse_args()

    from clip_grounding_ros.core.perception.encoder import center_square
    from clip_grounding_ros.core.perception.grounding import Grounder, GrounderConfig, Strategy
    from clip_grounding_ros.core.perception.model import load_encoder
    from clip_grounding_ros.resources import resolve_model

    torch.set_num_threads(args.threads)  # before loading: OpenVINO reads it then
    work = Path(tempfile.mkdtemp(prefix='bench_backends_'))
    model = resolve_model(args.model) if args.model else _random_vit_b32(work / 'source')
    folders = _exports(model, work, args.calibration_frames, args.holdout, not args.model)
    encoders = {name: load_encoder(folder, device='cpu', backend=name.split()[0])
                for name, folder in folders.items()}
    frame = _scene(args.width, args.height)
    crop = center_square(frame, encoders['torch fp32'].image_size)
    grounders = {(name, s): Grounder(encoder, GrounderConfig(strategy=s))
                 for name, encoder in encoders.items() for s in Strategy}
    for grounder in grounders.values():
        grounder.ground(frame, 'blue box')  # caches the phrase, as the node does

    # (label, items per call, function of the backend's name)
    measures = [(f'image tower, batch {b} (ms/image)', b,
                 lambda name, b=b: encoders[name].encode_images([crop] * b, batch_size=b))
                for b in BATCHES]
    measures += [(f'grounding {s}, {args.width}x{args.height} (ms/frame)', 1,
                  lambda name, s=s: grounders[(name, s)].ground(frame, 'blue box'))
                 for s in Strategy]
    prompts = (f'a photo of object number {i}.' for i in range(10 ** 9))  # never cached
    measures.append(('text, one new prompt (ms)', 1,
                     lambda name: encoders[name].encode_text([next(prompts)])))
    samples = defaultdict(list)  # (label, backend) -> [ms]
    for _ in range(args.runs):
        for label, per, function in measures:
            for name in encoders:
                function(name)  # untimed: the previous backend's threads settle
                start = time.perf_counter()
                function(name)
                samples[(label, name)].append((time.perf_counter() - start) * 1000.0 / per)

    print(f'\nCPU threads {args.threads}; median of {args.runs} interleaved rounds; '
          'ratio = ms / torch fp32 ms in this run\n')
    print(f'{"measure":44s}' + ''.join(f'{name:>24s}' for name in encoders))
    medians = {key: statistics.median(values) for key, values in samples.items()}
    for label, _, _ in measures:
        base = medians[(label, 'torch fp32')]
        print(f'{label:44s}' + ''.join(
            f'{medians[(label, name)]:14.1f} ({medians[(label, name)] / base:5.2f}x)'
            for name in encoders))
    batch8 = 'image tower, batch 8 (ms/image)'
    hybrid = f'grounding hybrid, {args.width}x{args.height} (ms/frame)'
    for name in list(encoders)[1:]:
        speedup = medians[(batch8, 'torch fp32')] / medians[(batch8, name)]
        ratio = medians[(hybrid, name)] / medians[(hybrid, 'torch fp32')]
        print(f'{name}: image tower at batch 8 {speedup:.2f}x as fast as torch fp32 (goal '
              f'>= 3x); hybrid grounding {ratio:.2f}x its time (goal <= 0.4x)')


if __name__ == '__main__':
    main()
