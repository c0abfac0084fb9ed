#!/usr/bin/env python3
"""Closed-loop success rate of the whole ROS pipeline on seeded random scenes.

Each episode: a random scene (clip_grounding_ros.sim.random_scene), a command naming one
object that is visible from the start, unique by colour and shape, and reachable in a
straight line (the action node is a visual servo without obstacle avoidance), said with a
random phrasing and synonym. Success is judged by clip_grounding_ros.episode from the
simulator's ground truth (stopped within stop_distance + 0.15 m of the named object,
nearest to it, nothing touched). Prints one line per episode and a summary.

    .venv/bin/python bench/bench_closed_loop.py [--episodes 20] [--speed 1.0]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile

import numpy as np

from clip_grounding_ros.demo.episode import EpisodeSpec, default_environment, run_episode
from clip_grounding_ros.sim import ROBOT_RADIUS, SHAPE_WORDS, SimWorld, load_scene
from clip_grounding_ros.training.data import HELD_OUT_COMBOS

PHRASINGS = ('go to the {}', 'drive to the {}', 'please move towards the {}',
             'navigate to the {}', 'head to the {}', 'approach the {}')
MIN_PIXELS = 150
CLEARANCE = 0.1  # m between the robot's swept path and any other object


def pick_target(seed: int, rng: np.random.Generator):
    """(scene name, object) for a seeded random scene, or None if no object qualifies."""
    name = f'random:{seed}'
    scene = load_scene(name)
    with SimWorld(scene) as world:
        visible = world.visible_objects(min_pixels=MIN_PIXELS)
    start = np.array(scene.robot_start[:2])
    candidates = []
    for obj in scene.objects:
        if obj.name not in visible or len(scene.objects_matching(obj.color, obj.shape)) > 1:
            continue
        goal = np.array(obj.position)
        if all(_segment_distance(np.array(other.position), start, goal) >
               other.footprint_radius + ROBOT_RADIUS + CLEARANCE
               for other in scene.objects if other is not obj):
            candidates.append(obj)
    if not candidates:
        return None
    return name, candidates[int(rng.integers(len(candidates)))]


def _segment_distance(point, a, b) -> float:
    t = np.clip(np.dot(point - a, b - a) / max(np.dot(b - a, b - a), 1e-9), 0.0, 1.0)
    return float(np.linalg.norm(point - (a + t * (b - a))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--episodes', type=int, default=20)
    parser.add_argument('--speed', type=float, default=1.0, help='realtime factor')
    parser.add_argument('--first-seed', type=int, default=100)
    parser.add_argument('--model', default='', help='default: the bundled simulator model')
    args = parser.parse_args()
    default_environment()
    rng = np.random.default_rng(args.first_seed)
    results, seed = [], args.first_seed
    while len(results) < args.episodes:
        picked = pick_target(seed, rng)
        seed += 1
        if picked is None:
            continue
        scene, obj = picked
        words = SHAPE_WORDS[obj.shape]
        command = str(rng.choice(PHRASINGS)).format(
            f'{obj.color} {words[int(rng.integers(len(words)))]}')
        spec = EpisodeSpec(scene=scene, command=command, model=args.model,
                           realtime_factor=args.speed, timeout=60.0,
                           log_dir=tempfile.mkdtemp(prefix='closed_loop_'))
        result = run_episode(spec)
        held_out = (obj.color, obj.shape) in HELD_OUT_COMBOS
        results.append((result, held_out))
        print(f"{len(results):2d} {scene:11s} {command!r:38s} "
              f"{'ok ' if result.success else 'FAIL'} {result.sim_time:5.1f} s  "
              f"{result.reason}{'  [held-out combination]' if held_out else ''}", flush=True)
    successes = [r for r, _ in results if r.success]
    times = [r.sim_time for r in successes]
    contacts = sum(bool(r.touched) for r, _ in results)
    print(f'\nsuccess {len(successes)}/{len(results)} = {len(successes) / len(results):.2f}; '
          f'mean time to reach {statistics.mean(times) if times else math.nan:.1f} s '
          f'(simulated, median {statistics.median(times) if times else math.nan:.1f} s); '
          f'held-out combinations {sum(h for _, h in results)} of {len(results)} episodes, '
          f'{sum(r.success for r, h in results if h)} succeeded; episodes with a contact: '
          f'{contacts}')


if __name__ == '__main__':
    main()
