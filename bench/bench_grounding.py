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
Per-frame grounding latency of each strategy, as a ratio to one image-encoder pass.

Uses the real ViT-B/32 CLIP architecture (transformers' default CLIPConfig) with random
weights: speed does not depend on the weight values, and no pretrained weights can be
downloaded here. The model is saved and loaded through the same code as a real one.
Prints a table; it asserts nothing (timings on shared machines are noisy).

    .venv/bin/python bench/bench_grounding.py [--device cpu] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
import torch


def _median_ms(function, runs: int) -> float:
    function()  # warm-up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(samples)


def _scene(width: int, height: int) -> np.ndarray:
    """Draw a 640x480 frame with a few coloured blocks on a floor, like the simulator's."""
    rng = np.random.default_rng(0)
    image = np.full((height, width, 3), 120, np.uint8)
    image[: height // 3] = (205, 195, 175)
    for _ in range(5):
        x, y = rng.integers(0, width - 80), rng.integers(height // 3, height - 80)
        image[y:y + rng.integers(30, 80), x:x + rng.integers(30, 80)] = rng.integers(0, 255, 3)
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--max-crops', type=int, default=48)
    args = parser.parse_args()

    from clip_grounding_ros.core.perception.grounding import Grounder, GrounderConfig, Strategy
    from clip_grounding_ros.core.perception.model import image_processor_class, load_encoder
    from clip_grounding_ros.training.factory import build_tokenizer
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor

    folder = tempfile.mkdtemp(prefix='vit_b32_random_')
    CLIPModel(CLIPConfig()).save_pretrained(folder)
    tokenizer = build_tokenizer(['a photo of a blue box', 'the floor', 'a wall'], 300)
    processor = CLIPProcessor(image_processor=image_processor_class()(), tokenizer=tokenizer)
    processor.save_pretrained(folder)
    encoder = load_encoder(folder, device=args.device)
    image = _scene(args.width, args.height)
    print(f'model: ViT-B/32 architecture, random weights; device {encoder.device}, '
          f'{encoder.dtype}, torch threads {torch.get_num_threads()}; '
          f'frame {args.width}x{args.height}; median of {args.runs} runs')

    one_pass = _median_ms(lambda: encoder.encode_images([image]), args.runs)
    batch8 = _median_ms(lambda: encoder.encode_images([image] * 8), args.runs) / 8
    text_miss = statistics.median(
        _timed(lambda i=i: encoder.encode_text([f'a photo of object number {i}.']))
        for i in range(args.runs))
    text_hit = _median_ms(lambda: encoder.encode_text(['a photo of object number 0.']), args.runs)

    print(f'\n{"measure":44s} {"ms":>9s} {"x one pass":>10s}')
    print(f'{"image encoder, one 224x224 pass (baseline)":44s} {one_pass:9.1f} {1.0:10.2f}')
    print(f'{"image encoder, per image at batch 8":44s} {batch8:9.1f} {batch8 / one_pass:10.2f}')
    print(f'{"text encoder, one new prompt (cache miss)":44s} {text_miss:9.1f}')
    print(f'{"text encoder, cached prompt (cache hit)":44s} {text_hit:9.3f}')
    for strategy in Strategy:
        grounder = Grounder(encoder, GrounderConfig(strategy=strategy,
                                                    max_crops=args.max_crops))
        grounder.ground(image, 'blue box')  # caches the phrase, as the node does
        last = {}

        def run(grounder=grounder, last=last):
            last['result'] = grounder.ground(image, 'blue box')
        total = _median_ms(run, args.runs)
        timings = last['result'].timings_ms
        crops = int(timings.get('crops', 0))
        detail = f'  ({crops} crops, {crops / total * 1000:.0f} crops/s)' if crops else ''
        print(f'{"grounding, strategy " + strategy:44s} {total:9.1f} '
              f'{total / one_pass:10.2f}{detail}')
        parts = ', '.join(f'{k} {v:.0f}' for k, v in timings.items() if k.endswith('_ms'))
        print(f'{"":44s} last run: {parts}')


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1000.0


if __name__ == '__main__':
    main()
