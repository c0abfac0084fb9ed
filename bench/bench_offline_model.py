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
Grounding accuracy of the bundled simulator model on held-out generated scenes.

For every object clearly visible in a view, and unique by colour and shape there, the
phrase "<colour> <shape>" is grounded with each strategy; a hit is a best box with
IoU >= 0.5 against the simulator's true box (from its segmentation render). Seen and
held-out colour-shape combinations are reported apart. "No match" is checked with
phrases of objects absent from the view (other colour-shape combinations, and nouns never
seen in training): the share wrongly reported as found is printed.
Scenes use seeds far from the training ones. Prints a table; asserts nothing.

    .venv/bin/python bench/bench_offline_model.py [--model DIR] [--scenes 40]
        [--backend auto|torch|openvino] [--device cpu|cuda] [--no-fp16]
        [--contrast [CLASSES ...]]

--contrast adds each strategy with contrast_classes (the simulator's shapes and colours when
none are given) as rows of their own, on the same views.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
import statistics

from clip_grounding_ros.core.perception.encoder import Backend
from clip_grounding_ros.core.perception.grounding import Grounder, GrounderConfig, Strategy
from clip_grounding_ros.core.perception.model import load_encoder
from clip_grounding_ros.core.perception.proposals import box_iou
from clip_grounding_ros.resources import BUNDLED_MODEL_URI, resolve_model
from clip_grounding_ros.sim import CameraSpec, CONTRAST_CLASSES, SHAPES, SimWorld
from clip_grounding_ros.training import data
import numpy as np

MIN_PIXELS = 150  # objects smaller than this (about 12x12 px) are not asked for
SEED_BASE = 3_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--model', default=BUNDLED_MODEL_URI)
    parser.add_argument('--backend', choices=[b.value for b in Backend],
                        default=Backend.AUTO.value,
                        help="what runs the model (load_encoder's backend)")
    parser.add_argument('--device', default='cpu',
                        help="auto, cpu, cuda or cuda:N (the grounding node's device)")
    parser.add_argument('--no-fp16', dest='fp16', action='store_false',
                        help='fp32 on CUDA too (fp16 there otherwise, as the node does)')
    parser.add_argument('--colour-proposals', type=int, default=24,
                        help="colour segments ranked first (config/sim_demo.yaml's value)")
    parser.add_argument('--contrast', nargs='*', metavar='CLASSES',
                        help='also each strategy with these contrast_classes (none given: '
                        "the simulator's), rows +contrast N, on the same views")
    parser.add_argument('--scenes', type=int, default=40)
    parser.add_argument('--views', type=int, default=3, help='views per scene')
    parser.add_argument('--strategies', nargs='+', default=[s.value for s in Strategy])
    parser.add_argument('--thresholds', nargs='+', type=float, default=[0.3, 0.5, 0.7, 0.8, 0.9],
                        help='score thresholds to report the crops strategy at')
    args = parser.parse_args()

    encoder = load_encoder(resolve_model(args.model), device=args.device,
                           half=None if args.fp16 else False, backend=args.backend)
    declared_vocabulary = encoder.vocabulary
    encoder.vocabulary = None  # raw model behaviour on unseen nouns (see the docstring)
    grounders = {s: Grounder(encoder, GrounderConfig(strategy=s,
                                                     colour_proposals=args.colour_proposals))
                 for s in args.strategies}
    for number, classes in enumerate(
            [] if args.contrast is None else args.contrast or [CONTRAST_CLASSES]):
        print(f'contrast {number}: {classes}')
        grounders |= {f'{s}+contrast {number}': Grounder(encoder, GrounderConfig(
            strategy=s, colour_proposals=args.colour_proposals,
            contrast_classes=classes)) for s in args.strategies}
    hits = defaultdict(list)        # (strategy, 'seen'|'held-out') -> [hit, ...]
    false_found = defaultdict(list)  # (strategy, 'absent combo'|'unknown noun') -> [found]
    # For the threshold table: (score, box right) of present phrases, score of absent ones.
    present_scores, absent_scores = defaultdict(list), defaultdict(list)
    latency = defaultdict(list)
    rng = np.random.default_rng(SEED_BASE)
    for seed in range(SEED_BASE, SEED_BASE + args.scenes):
        scene = data.evaluation_scene(seed)
        with SimWorld(scene, CameraSpec()) as world:
            for pose in data.view_poses(scene, rng, args.views):
                world.set_robot_pose(*pose)
                image = world.render()
                visible = world.visible_objects(min_pixels=MIN_PIXELS)
                phrases = defaultdict(list)
                for name, seen in visible.items():
                    obj = scene.object(name)
                    phrases[(obj.color, obj.shape)].append(seen.box)
                present = {(scene.object(n).color, scene.object(n).shape)
                           for n in world.visible_objects(min_pixels=1)}
                absent = [c for c in ((c, s) for c in data.COLOUR_NAMES for s in SHAPES)
                          if c not in present]
                queries = [(f'{c} {s}', 'absent combo')
                           for c, s in (absent[i] for i in rng.permutation(len(absent))[:2])]
                queries.append((str(rng.choice(data.HELD_OUT_NOUNS)), 'unknown noun'))
                for strategy, grounder in grounders.items():
                    for (colour, shape), boxes in phrases.items():
                        if len(boxes) != 1:
                            continue  # ambiguous phrase in this view
                        result = grounder.ground(image, f'{colour} {shape}')
                        latency[strategy].append(result.timings_ms['total_ms'])
                        iou = box_iou(np.array([result.best.box]), np.array(boxes))[0, 0] \
                            if result.best else 0.0
                        split = 'held-out' if (colour, shape) in data.HELD_OUT_COMBOS else 'seen'
                        hits[(strategy, split)].append(result.found and iou >= 0.5)
                        present_scores[strategy].append((result.best.score if result.best
                                                         else 0.0, iou >= 0.5))
                    for phrase, kind in queries:
                        result = grounder.ground(image, phrase)
                        false_found[(strategy, kind)].append(result.found)
                        absent_scores[strategy].append(result.best.score if result.best else 0)

    print(f'model {args.model} ({encoder.backend} on {encoder.device}); {args.scenes} scenes x '
          f"{args.views} views; vocabulary {'declared' if declared_vocabulary else 'open'} "
          '(not applied below)\n')
    print(f'{"strategy":16s} {"Acc@0.5 seen":>16s} {"Acc@0.5 held-out":>18s} '
          f'{"found absent":>14s} {"found unknown":>14s} {"ms/frame":>9s}')
    for strategy in grounders:
        row = [_rate(hits[(strategy, 'seen')]), _rate(hits[(strategy, 'held-out')]),
               _rate(false_found[(strategy, 'absent combo')]),
               _rate(false_found[(strategy, 'unknown noun')])]
        print(f'{strategy:16s} {row[0]:>16s} {row[1]:>18s} {row[2]:>14s} {row[3]:>14s} '
              f'{statistics.median(latency[strategy]):9.1f}')
    for strategy in grounders:
        present = np.array(present_scores[strategy])
        absent = np.array(absent_scores[strategy])
        print(f'\n{strategy}: score_threshold vs. Acc@0.5 (all present phrases) and share of '
              'absent phrases reported found')
        for threshold in args.thresholds:
            accuracy = np.mean((present[:, 0] >= threshold) & (present[:, 1] > 0))
            print(f'  {threshold:4.2f}  Acc@0.5 {accuracy:.3f}  found absent '
                  f'{np.mean(absent >= threshold):.3f}')


def _rate(values: list) -> str:
    return f'{np.mean(values):.3f} (n={len(values)})' if values else 'n/a'


if __name__ == '__main__':
    main()
