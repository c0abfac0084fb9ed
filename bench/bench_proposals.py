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
How many real objects the region proposals find, beside selective search, in one run.

Class-agnostic proposals bound what any CLIP can ground: an object no proposal covers cannot
be chosen. On real photographs with every nameable object labelled by hand
(test/data/real_photos.json, from photographs that ship in the scikit-image, scikit-learn
and matplotlib wheels), this prints the recall (objects covered by a proposal at IoU >= 0.5
and >= 0.7) with the first 16, 48 and 96 proposals, and the time per 640x480 frame, for:

- the package's proposals, the robot default (ProposalConfig());
- the same with the simulator's configuration (config/sim_demo.yaml's colour_proposals);
- before: the colour segments and windows alone, with the old size cap (max_area 0.4);
- OpenCV contrib's selective search, fast mode, on copies 160, 240 and 320 px wide (its
  order is random from call to call: --repeats runs, median and range).

With --sim N, the same (without selective search) on N seeded random simulator scenes at the
simulator camera's 320x240, flat and textured (random_textured:<seed>: the same objects,
textured, on textured floors between textured walls, with clutter), the objects' true boxes
from its segmentation render.

    .venv/bin/python bench/bench_proposals.py [--repeats 3] [--sim 20]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import statistics
import sys
import time

import cv2
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'test'))
from clip_grounding_ros.core.perception.grounding import GrounderConfig  # noqa: E402, I100
from clip_grounding_ros.core.perception.proposals import (  # noqa: E402
    box_iou,
    ProposalConfig,
    propose,
)
from real_photos import load_photos  # noqa: E402

os.environ.setdefault('MUJOCO_GL', 'osmesa')  # before MuJoCo is imported
COUNTS = (16, 48, 96)
SIM_COUNTS = (16, 24, 48)
ROOT = Path(__file__).resolve().parents[1]


def simulator_colour_proposals() -> int:
    """Return colour_proposals as config/sim_demo.yaml sets it for the grounding node."""
    sections = yaml.safe_load((ROOT / 'config' / 'sim_demo.yaml').read_text())
    return sections['/**/grounding_node']['ros__parameters']['colour_proposals']


def methods() -> dict:
    """Return the package's proposals as robots and the simulator use them, and before."""
    robot = GrounderConfig().colour_proposals
    simulator = simulator_colour_proposals()
    before = ProposalConfig(max_area=0.4, segmentations=())
    return {
        f'package, robot default ({robot} colour first)':
            lambda image, count: propose(image, ProposalConfig(), count, robot),
        f'package, simulator ({simulator} colour first)':
            lambda image, count: propose(image, ProposalConfig(), count, simulator),
        'before (colour segments, windows)':
            lambda image, count: propose(image, before, count, count),
    }


def selective_search(width: int):
    """Run selective search (OpenCV contrib, fast mode) on a copy ``width`` px wide."""
    def run(image, count):
        scale = width / image.shape[1]
        small = cv2.resize(image, (width, round(image.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)
        search = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
        search.setBaseImage(cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
        search.switchToSelectiveSearchFast()
        regions = search.process()[:count].astype(np.float64).reshape(-1, 4)
        return np.column_stack([regions[:, :2], regions[:, :2] + regions[:, 2:]]) / scale
    return run


def recall(method, frames, counts, thresholds) -> dict:
    """Objects covered at each (count, IoU threshold)."""
    covered = {(count, t): 0 for count in counts for t in thresholds}
    for image, truth in frames:
        boxes = np.asarray(method(image, max(counts)), dtype=np.float64).reshape(-1, 4)
        for count in counts:
            best = box_iou(truth, boxes[:count]).max(axis=1) if len(boxes) else \
                np.zeros(len(truth))
            for t in thresholds:
                covered[(count, t)] += int((best >= t).sum())
    return covered


def frame_times(method, images, count: int, repeats: int = 3) -> list[float]:
    """Milliseconds per frame over ``repeats`` passes, after one call to warm up."""
    method(images[0], count)
    times = []
    for _ in range(repeats):
        for image in images:
            start = time.perf_counter()
            method(image, count)
            times.append((time.perf_counter() - start) * 1e3)
    return times


def sim_frames(scenes: int, textured: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return views of seeded random scenes (320x240) with their objects' true boxes."""
    from clip_grounding_ros.sim import CameraSpec, random_scene, SimWorld

    rng, frames = np.random.default_rng(500), []
    for seed in range(500, 500 + scenes):
        with SimWorld(random_scene(seed, textured=textured), CameraSpec()) as world:
            for _ in range(3):
                x, y = rng.uniform(-1.5, 1.5, 2)
                try:
                    world.set_robot_pose(float(x), float(y), float(rng.uniform(-np.pi, np.pi)))
                except ValueError:
                    continue  # inside an object
                visible = world.visible_objects(min_pixels=150)
                if visible:
                    frames.append((world.render(), np.array([v.box for v in visible.values()],
                                                            dtype=np.float64)))
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeats', type=int, default=3, help='selective search runs')
    parser.add_argument('--sim', type=int, default=20, metavar='SCENES',
                        help='simulator scenes (0: none)')
    args = parser.parse_args()
    photos = load_photos()
    frames = [(p.rgb, p.boxes) for p in photos]
    vga = [cv2.resize(p.rgb, (640, 480), interpolation=cv2.INTER_AREA) for p in photos]
    total = sum(len(p.boxes) for p in photos)
    print(f'{len(photos)} real photographs ({", ".join(p.id for p in photos)}), {total} '
          'objects labelled by hand.\nrecall: objects covered by one of the first 16, 48, 96 '
          'proposals at IoU >= 0.5 / >= 0.7;\ntime: ms per 640x480 frame (each photograph '
          'resized), median (max) of 3 passes, 1 thread of Python')
    print(f'{"method":44s}' + ''.join(f'{"@" + str(c):>13s}' for c in COUNTS) +
          f'{"ms median (max)":>20s}')
    for name, method in methods().items():
        covered = recall(method, frames, COUNTS, (0.5, 0.7))
        times = frame_times(method, vga, max(COUNTS))
        cells = ''.join(f'{covered[(c, 0.5)]:>8d} /{covered[(c, 0.7)]:>3d}' for c in COUNTS)
        print(f'{name:44s}{cells}{statistics.median(times):>12.0f} ({max(times):.0f})')
    for width in (160, 240, 320):
        runs = [recall(selective_search(width), frames, COUNTS, (0.5,))
                for _ in range(args.repeats)]
        cells = ''
        for count in COUNTS:
            at = sorted(r[(count, 0.5)] for r in runs)
            cells += f'{statistics.median(at):>5.0f} ({at[0]}-{at[-1]})'.rjust(13)
        times = frame_times(selective_search(width), vga, max(COUNTS), 1)
        print(f'{"selective search fast, " + str(width) + " px wide":44s}{cells}'
              f'{statistics.median(times):>12.0f} ({max(times):.0f})')
    print(f'(selective search: its order is random from call to call; IoU >= 0.5, median '
          f'(min-max) of {args.repeats} runs)')
    for textured in (False, True) if args.sim else ():
        frames = sim_frames(args.sim, textured)
        total = sum(len(t) for _, t in frames)
        kind = 'random_textured' if textured else 'random'
        print(f'\nsimulator: {len(frames)} views of {args.sim} {kind}:<seed> scenes (320x240), '
              f'{total} objects; recall at IoU >= 0.5')
        print(f'{"method":44s}' + ''.join(f'{"@" + str(c):>8s}' for c in SIM_COUNTS))
        for name, method in methods().items():
            covered = recall(method, frames, SIM_COUNTS, (0.5,))
            print(f'{name:44s}' + ''.join(f'{covered[(c, 0.5)]:>8d}' for c in SIM_COUNTS))


if __name__ == '__main__':
    main()
