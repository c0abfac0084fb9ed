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
The simulated demo: a robot in MuJoCo hears a command and drives to the named object.

    python -m clip_grounding_ros.demo [--command "go to the blue box"] [--scene boxes]
                                      [--model PATH_OR_HUB_ID] [--speed 1.0]
    python -m clip_grounding_ros.demo --command "go to the red box" \
                                      --command "no, the other one" [--gap 1 | --at 6]

Starts the simulator and the three nodes headless (clip_grounding_ros.episode), prints a
progress line while the robot works, and writes demo_output/: a top-down plot of the scene
with the robot's path, the first annotated camera frame, and summary.json. Several
--command are a conversation: each is said --gap simulated seconds after the one before
ended, or at the --at times (one per later command, seconds after the first). Exits
non-zero when a command that ran to its end did not do what it said.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
import sys

import cv2

from .episode import EpisodeResult, EpisodeSpec, run_episode
from .processes import default_environment
from ..core.contract.status import TargetSource
from ..sim.scene import COLORS, load_scene, SceneError

ARTIFACTS = ('summary.json', 'top_down.png', 'first_frame.png')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='python -m clip_grounding_ros.demo',
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument('--command', action='append', default=None,
                        help="what to say (default 'go to the blue box'); again for each "
                        'later command of a conversation')
    parser.add_argument('--gap', type=float, default=None,
                        help='simulated seconds between a command ending and the next '
                        '(default 1)')
    parser.add_argument('--at', type=float, action='append', default=[],
                        help='say the next command this many simulated seconds after the '
                        'first, ended or not (once per later command, instead of --gap)')
    parser.add_argument('--scene', default='boxes',
                        help="'boxes', 'mixed', 'random:<seed>', 'random_textured:<seed>' "
                             'or a scene YAML file')
    parser.add_argument('--model', default='',
                        help='CLIP model for grounding (folder or hub id); default: the '
                        'bundled simulator model')
    parser.add_argument('--speed', type=float, default=1.0,
                        help='simulated seconds per wall second (1.0: real time; CPU-only '
                        'grounding keeps up with about 1.0; 0: as fast as the simulator '
                        'runs)')
    parser.add_argument('--restart-before', type=int, default=None, metavar='N',
                        help='SIGKILL grounding_node and start it again before the N-th '
                        'command (1 = the first): what it saw is kept in its memory_file')
    parser.add_argument('--timeout', type=float, default=60.0,
                        help='give up after this many simulated seconds')
    parser.add_argument('--output', default='demo_output', help='folder for the results')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    output = Path(args.output)
    first, *then = args.command or ['go to the blue box']
    try:
        if args.speed < 0 or not args.timeout > 0:
            raise ValueError('--speed must be >= 0 and --timeout > 0')
        if args.at and args.gap is not None:
            raise ValueError('--gap and --at say the same thing two ways: give one')
        said = 1 + len(then)
        if args.restart_before is not None and not 1 <= args.restart_before <= said:
            raise ValueError(f'--restart-before must name one of the {said} commands (1 to '
                             f'{said}), got {args.restart_before}')
        spec = EpisodeSpec(scene=args.scene, command=first, then=tuple(then),
                           gap=1.0 if args.gap is None else args.gap, at=tuple(args.at),
                           model=args.model, realtime_factor=args.speed,
                           respawn_before=None if args.restart_before is None else
                           args.restart_before - 1,
                           timeout=args.timeout, log_dir=str(output / 'logs'))
        load_scene(spec.scene)
    except (ValueError, SceneError) as error:
        print(f'demo: {error}; nothing was run', file=sys.stderr)
        return 2
    for name in ARTIFACTS:  # an earlier run's results never pass for this run's
        (output / name).unlink(missing_ok=True)
    domain = default_environment()
    output.mkdir(parents=True, exist_ok=True)
    said = ', then '.join(f"'{text}'" for text in spec.commands)
    print(f"demo: scene '{args.scene}', command {said} (node logs in "
          f'{spec.log_dir}; ROS_DOMAIN_ID={domain})', flush=True)
    if args.restart_before is not None:
        print(f'demo: grounding_node is killed (SIGKILL) and started again before command '
              f'{args.restart_before}', flush=True)
    result = run_episode(spec, progress=_print_progress)
    if sys.stdout.isatty():
        print(flush=True)
    written = write_artifacts(result, output)
    summary = result.summary()
    print(f"{'SUCCESS' if result.success else 'FAILURE'}: {result.reason}")
    for command in summary['commands']:
        if len(summary['commands']) > 1:
            print(f"  '{command['command']}': {command['outcome']}, "
                  f"{'ok' if command['success'] else 'NOT ok'}")
        for step in command['steps']:
            meant = f", meant {', '.join(step['meant_object'])}" if step['meant_object'] else ''
            print(f"  step {step['step']} '{step['text']}': "
                  f"{'ok' if step['success'] else 'NOT ok'} - {step['reason']}{meant}")
    start, final = summary['start_pose'], summary['final_pose']
    print(f"  simulated time {summary['sim_time']} s; robot from ({start['x']}, {start['y']}, "
          f"{start['yaw_deg']} deg) to ({final['x']}, {final['y']}, {final['yaw_deg']} deg); "
          f"touched {summary['touched'] or 'nothing'}")
    print(f"  results in {output}/ ({', '.join(written)})")
    return 0 if result.success else 1


def _print_progress(observer, now: float) -> None:
    grounding, action = observer.grounding, observer.action
    # What a grounding found, only while it is found: lost, the last match's figures are old;
    # going to where the memory saw it, there is no score yet.
    score, distance = (grounding.score, grounding.distance) if grounding.found else (None, None)
    remembered = grounding.target_source == TargetSource.REMEMBERED
    line = (f'  t={now:5.1f} s  grounding: {grounding.state!s:9s}'
            f"{' remembered' if remembered else '' if score is None else f' score {score:.2f}'}"
            f"{'' if distance is None else f' at {distance:.2f} m'}"
            f'  action: {action.state}')
    # One line updated in place on a terminal; a line per update in a log.
    sys.stdout.write(f'\r{line:100s}' if sys.stdout.isatty() else line + '\n')
    sys.stdout.flush()


def write_artifacts(result: EpisodeResult, output: Path) -> list[str]:
    """
    Write summary.json, top_down.png and first_frame.png; return the names written.

    first_frame.png only when the target was found (an earlier run's is removed otherwise).
    """
    (output / 'summary.json').write_text(json.dumps(result.summary(), indent=2) + '\n')
    plot_top_down(result, output / 'top_down.png')
    first_frame = output / 'first_frame.png'
    if result.first_frame is None:
        first_frame.unlink(missing_ok=True)
        return ['summary.json', 'top_down.png']
    cv2.imwrite(str(first_frame), cv2.cvtColor(result.first_frame, cv2.COLOR_RGB2BGR))
    return ['summary.json', 'top_down.png', 'first_frame.png']


def plot_top_down(result: EpisodeResult, path: Path) -> None:
    """
    Plot the scene from above: objects in their colours, the meant objects ringed, the path.

    Moving objects are drawn where they were at the end, with the path they went (dotted).
    """
    import matplotlib

    matplotlib.use('Agg')
    from matplotlib import patches, transforms
    import matplotlib.pyplot as plt

    scene = load_scene(result.spec.scene)
    figure, axes = plt.subplots(figsize=(6.4, 6.4), dpi=100)
    if result.truths:
        for number, obj in enumerate(o for o in scene.objects if o.motion is not None):
            went = [t.positions[obj.name] for t in result.truths if obj.name in t.positions]
            if went:
                xs, ys = zip(*went, strict=True)
                axes.plot(xs, ys, linestyle=':', color=COLORS[obj.color],
                          label="a moving object's path" if number == 0 else None)
        scene = scene.at(result.truths[-1].time)
    half = scene.room_size / 2
    axes.add_patch(patches.Rectangle((-half, -half), 2 * half, 2 * half, fill=False,
                                     edgecolor='0.4', linewidth=2))
    for obj in scene.objects:
        colour = COLORS[obj.color]
        x, y = obj.position
        if obj.shape == 'box':
            shape = patches.Rectangle((x - obj.size[0], y - obj.size[1]), 2 * obj.size[0],
                                      2 * obj.size[1], facecolor=colour, edgecolor='0.2')
            shape.set_transform(transforms.Affine2D().rotate_around(x, y, obj.yaw)
                                + axes.transData)
        else:
            shape = patches.Circle((x, y), obj.size[0], facecolor=colour, edgecolor='0.2')
        axes.add_patch(shape)
        if obj.name in result.meant_objects:
            axes.add_patch(patches.Circle((x, y), obj.footprint_radius + 0.15, fill=False,
                                          edgecolor='magenta', linewidth=2, linestyle='--'))
            axes.annotate('target', (x, y + obj.footprint_radius + 0.2), ha='center',
                          color='magenta')
    if result.path:
        xs, ys = zip(*result.path, strict=True)
        axes.plot(xs, ys, color='black', linewidth=1.5, label='robot path')
        axes.add_patch(patches.Circle(result.path[-1], 0.18, fill=False, edgecolor='black'))
    for number, remembered in enumerate(result.remembered):
        named = remembered['label'] != 'object'
        axes.plot(remembered['x'], remembered['y'], marker='x', linestyle='none',
                  color='tab:blue' if named else '0.6',
                  label='remembered (object memory)' if number == 0 else None)
        if named:
            axes.annotate(remembered['label'], (remembered['x'], remembered['y'] - 0.3),
                          ha='center', fontsize=7, color='tab:blue')
    start_x, start_y, start_yaw = scene.robot_start
    axes.arrow(start_x, start_y, 0.4 * math.cos(start_yaw), 0.4 * math.sin(start_yaw),
               width=0.05, color='0.3', label='start')
    verdict = 'success' if result.success else 'failure'
    said = ', '.join(f"'{text}'" for text in result.spec.commands)
    axes.set_title(f'{said} - {verdict}\n{result.reason}', fontsize=9, wrap=True)
    axes.set_aspect('equal')
    axes.set_xlim(-half - 0.2, half + 0.2)
    axes.set_ylim(-half - 0.2, half + 0.2)
    axes.set_xlabel('x (m)')
    axes.set_ylabel('y (m)')
    axes.legend(loc='lower left', fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


if __name__ == '__main__':
    raise SystemExit(main())
