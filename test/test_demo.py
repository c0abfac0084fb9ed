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
The demo's judge on hand-made scenes, and the demo's isolation.

The judge is demo.judge; the isolation: the parts of the simulated episode that need no simulator
running.
"""

from dataclasses import replace
import math
import os
import signal
import subprocess
import sys
import time

from clip_grounding_ros.core.language.commands import parse_command
from clip_grounding_ros.demo.judge import (
    judge_approach,
    judge_facing,
    judge_motion,
    meant_objects,
    StepVerdict,
)
from clip_grounding_ros.sim import scene_from_dict
import pytest

HALF_FOV = math.radians(37.5)


def scene(*objects):
    return scene_from_dict({'name': 'judged', 'objects': [
        {'name': name, 'shape': shape, 'color': color, 'size': [0.15] * (3 if shape == 'box'
                                                                         else 1),
         'position': list(position)} for name, shape, color, position in objects]})


TWO_RED = scene(('left_red', 'box', 'red', (2.0, 0.8)), ('right_red', 'box', 'red', (1.5, -0.6)),
                ('ball', 'sphere', 'blue', (2.2, -1.2)))


@pytest.mark.parametrize('command, meant', [
    ('go to the red box on the left', ['left_red']),
    ('go to the rightmost red box', ['right_red']),
    ('go to the nearest red box', ['right_red']),
    ('go to the farthest red box', ['left_red']),
    ('go to the red box', ['right_red']),  # two in view and no relation: the nearest
    ('go to the red box next to the blue ball', ['right_red']),
    ('go to the second red box from the left', ['right_red']),
    ('go to the blue ball', ['ball']),
])
def test_meant_objects_follow_the_documented_rules_from_the_truth(command, meant):
    (step,) = parse_command(command).steps
    assert [o.name for o in meant_objects(step, TWO_RED, (0.0, 0.0, 0.0), HALF_FOV)] == meant


def test_objects_about_as_near_are_all_meant_and_a_rejected_one_is_not():
    """2.84 m and 2.88 m away: either may be the nearest the pipeline measures."""
    twins = scene(('near', 'box', 'red', (2.84, 0.7)), ('far', 'box', 'red', (2.88, -0.7)),
                  ('farther', 'box', 'red', (4.0, 0.0)))
    (step,) = parse_command('go to the red box').steps
    assert [o.name for o in meant_objects(step, twins, (0.0, 0.0, 0.0), HALF_FOV)] == [
        'near', 'far']
    other = replace(step, excluded=((2.84, 0.7),))
    assert [o.name for o in meant_objects(other, twins, (0.0, 0.0, 0.0), HALF_FOV)] == ['far']


MISNAMED = scene(('red_ball', 'box', 'blue', (2.0, 0.0)),
                 ('white_box_big', 'sphere', 'black', (2.0, -0.8)))


@pytest.mark.parametrize('command, meant', [
    ('go to the blue box', ['red_ball']),
    ('go to the blue crate', ['red_ball']),
    ('go to the black orb', ['white_box_big']),
    ('go to the red ball', []),
    ('go to the white box', []),
])
def test_the_judge_reads_colours_and_shapes_never_object_names(command, meant):
    """Scene object names are free: what a phrase means comes from the truth's attributes."""
    (step,) = parse_command(command).steps
    assert [o.name for o in meant_objects(step, MISNAMED, (0.0, 0.0, 0.0), HALF_FOV)] == meant


def test_an_approach_must_end_near_the_meant_object_and_nearest_to_it():
    verdict = StepVerdict(0, 'go to the blue ball', 'approach', True, meant=['ball'])
    judge_approach(verdict, TWO_RED, (2.0, -0.9, 0.0), stop_distance=0.45)
    assert verdict.success and verdict.reached == 'ball'
    far = StepVerdict(0, 'go to the blue ball', 'approach', True, meant=['ball'])
    judge_approach(far, TWO_RED, (1.0, -0.4, 0.0), stop_distance=0.45)
    assert not far.success and 'closest object is right_red' in far.reason


@pytest.mark.parametrize('end, success', [((1.0, -0.9, 0.0), True),   # ~1 m behind it
                                          ((1.6, -0.9, 0.0), True),   # 0.52 m: nearer, kept
                                          ((-0.5, -0.9, 0.0), False)])  # 2.5 m: lost it
def test_a_follow_is_judged_by_how_far_the_object_was_when_it_ended(end, success):
    from clip_grounding_ros.demo.judge import judge_follow

    verdict = StepVerdict(0, 'follow the blue ball', 'follow', True, meant=['ball'])
    judge_follow(verdict, TWO_RED, end, follow_distance=1.0)
    assert verdict.success is success and verdict.reached == 'ball', verdict.reason
    assert ('following ball' if success else 'not following ball') in verdict.reason


def test_facing_and_motion_are_judged_within_their_tolerances():
    verdict = StepVerdict(0, 'look at the blue ball', 'face', True, meant=['ball'])
    judge_facing(verdict, TWO_RED, (0.0, 0.0, math.atan2(-1.2, 2.2) + 0.1))
    assert verdict.success
    (move,) = parse_command('move forward 1 meter').steps
    done = StepVerdict(0, move.text, 'move', True)
    judge_motion(done, move, (1.0, 1.0, math.pi / 2), (1.01, 1.97, math.pi / 2), 0.0)
    assert done.success and done.achieved == pytest.approx(0.97)
    short = StepVerdict(0, move.text, 'move', True)
    judge_motion(short, move, (0.0, 0.0, 0.0), (0.9, 0.0, 0.0), 0.0)
    assert not short.success
    (turn,) = parse_command('turn around').steps
    spun = StepVerdict(0, turn.text, 'turn', True)
    judge_motion(spun, turn, (0.0, 0.0, 0.0), (0.0, 0.0, math.pi), math.pi + 0.02)
    assert spun.success and spun.achieved == pytest.approx(math.degrees(math.pi + 0.02))


def test_each_demo_process_takes_a_dds_domain_of_its_own_unless_one_is_given():
    """
    Two demos (or benchmarks) at once on one machine must not hear each other.

    Even when their process ids would pick the same domain: each holds the one it took.
    """
    script = ('import os, sys, time\n'
              'os.getpid = lambda: 7  # the same first choice for every one of them\n'
              'from clip_grounding_ros.demo.processes import default_environment\n'
              'print(default_environment(), flush=True)\n'
              'sys.stdin.read()  # holds its domain until told to end\n')
    environment = {k: v for k, v in os.environ.items() if k != 'ROS_DOMAIN_ID'}
    running = [subprocess.Popen([sys.executable, '-c', script], env=environment, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
               for _ in range(3)]
    domains = {process.stdout.readline().strip() for process in running}
    for process in running:
        process.communicate('', timeout=30)
    assert len(domains) == 3 and all(1 <= int(d) <= 101 for d in domains)
    script = ('from clip_grounding_ros.demo.processes import default_environment; '
              'print(default_environment())')
    given = subprocess.run([sys.executable, '-c', script], env={**environment,
                           'ROS_DOMAIN_ID': '42'}, text=True, capture_output=True,
                           check=True).stdout.strip()
    assert given == '42'


def _children(pid: int) -> set[int]:
    children = set()
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as stat:
                    parent = int(stat.read().rsplit(')', 1)[1].split()[1])
            except OSError:
                continue
            if parent == pid:
                children.add(int(entry))
    return children


@pytest.mark.slow
def test_a_terminated_episode_stops_the_processes_it_started(tmp_path):
    """SIGTERM to the episode runner (pkill, a CI timeout) must not leave nodes running."""
    script = ('from clip_grounding_ros.demo.episode import EpisodeSpec, run_episode\n'
              'from clip_grounding_ros.demo.processes import default_environment\n'
              'default_environment()\n'
              f"run_episode(EpisodeSpec(scene='boxes', command='go to the blue box', "
              f"model='', realtime_factor=1.0, timeout=300.0, log_dir={str(tmp_path)!r}))\n")
    runner = subprocess.Popen([sys.executable, '-c', script])
    try:
        deadline = time.monotonic() + 120.0
        while len(_children(runner.pid)) < 4 and time.monotonic() < deadline:
            time.sleep(0.5)
        nodes = _children(runner.pid)
        assert len(nodes) >= 4, 'the episode did not start its four processes'
        runner.terminate()
        assert runner.wait(timeout=30.0) == 128 + signal.SIGTERM
        left = {pid for pid in nodes if os.path.exists(f'/proc/{pid}')}
        assert not left, f'still running after the runner ended: {left}'
    finally:
        if runner.poll() is None:
            runner.kill()


@pytest.mark.parametrize('found', [True, False])
def test_the_demo_lists_the_files_it_wrote_and_no_earlier_run_s(tmp_path, found):
    """first_frame.png only when the target was seen; one left by an earlier run goes."""
    from clip_grounding_ros.core.contract.status import ActionStatus, GroundingStatus
    from clip_grounding_ros.demo.__main__ import write_artifacts
    from clip_grounding_ros.demo.episode import EpisodeResult, EpisodeSpec, Outcome
    import numpy as np

    (tmp_path / 'first_frame.png').write_bytes(b'an earlier run')
    result = EpisodeResult(
        EpisodeSpec(scene='boxes', command='go to the piano'), Outcome.GAVE_UP, False,
        'refused', 1.0, 0.45, [], (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), [], True, [(0.0, 0.0)],
        ActionStatus(), GroundingStatus(),
        first_frame=np.zeros((240, 320, 3), np.uint8) if found else None)
    written = write_artifacts(result, tmp_path)
    assert sorted(written) == sorted(p.name for p in tmp_path.iterdir())
    assert ('first_frame.png' in written) is found


@pytest.mark.parametrize('arguments, message', [
    (['--scene', '/no/such/scene.yaml'], "scene file not found; available scenes: ['boxes'"),
    (['--scene', 'random:abc'], "random scene seed must be an integer, got 'abc'"),
    (['--speed', '-1'], '--speed must be >= 0'),
    (['--command', 'go to the blue box', '--command', 'stop', '--at', '2', '--at', '4'],
     '2 times (at) for 1 later commands'),
    (['--command', 'go to the blue box', '--command', 'stop', '--at', '2', '--gap', '1'],
     '--gap and --at say the same thing two ways'),
    (['--command', 'go to the blue box', '--command', 'stop', '--restart-before', '3'],
     '--restart-before must name one of the 2 commands (1 to 2), got 3'),
])
def test_the_demo_refuses_bad_arguments_in_one_line_and_runs_nothing(
        tmp_path, capsys, arguments, message):
    from clip_grounding_ros.demo.__main__ import ARTIFACTS, main

    for name in ARTIFACTS:
        (tmp_path / name).write_text('an earlier run')
    assert main([*arguments, '--output', str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith('demo: ') and message in error and 'Traceback' not in error
    assert error.rstrip().endswith('nothing was run')
    assert all((tmp_path / name).read_text() == 'an earlier run' for name in ARTIFACTS)


def test_an_approach_in_a_scene_without_the_named_object_says_where_it_stopped():
    verdict = StepVerdict(0, 'go to the green cone', 'approach', True, meant=[])
    judge_approach(verdict, TWO_RED, (2.0, -0.9, 0.0), stop_distance=0.45)
    assert not verdict.success
    assert verdict.reason.startswith('the step names no object of this scene (it stopped '
                                     'nearest ball')


@pytest.mark.parametrize('value', ['', 'true', '1.5', 'box,cube|ball; red|green', 'crops',
                                   True, 3, 0.25])
def test_node_overrides_reach_rclpy_as_the_value_given(value):
    """
    The episode's ``-p`` overrides keep the value and its type through rcl's parser.

    An empty string was '-p name:=', which rcl refuses: the node did not start.
    """
    from clip_grounding_ros.demo.processes import override_argument
    import rclpy
    from rclpy.node import Node

    context = rclpy.Context()
    rclpy.init(args=['--ros-args', '-p', override_argument('x', value)], context=context)
    try:
        node = Node('override_check', context=context)
        default = {str: 'default', bool: False, int: 0, float: 0.0}[type(value)]
        assert node.declare_parameter('x', default).value == value
        node.destroy_node()
    finally:
        context.try_shutdown()


@pytest.mark.parametrize('module', ['clip_grounding_ros.demo', 'clip_grounding_ros.export',
                                    'clip_grounding_ros.training.train'])
def test_help_names_the_command_a_user_types(module):
    shown = subprocess.run([sys.executable, '-m', module, '--help'], capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f'usage: python -m {module} '), shown.stdout[:200]


@pytest.mark.parametrize('found, source, shown', [
    (True, 'grounded', 'score 0.91 at 1.50 m'), (True, 'remembered', 'remembered at 1.50 m'),
    (False, None, None)])
def test_progress_shows_a_score_and_distance_only_while_the_target_is_found(
        capsys, found, source, shown):
    from types import SimpleNamespace

    from clip_grounding_ros.core.contract.status import (
        ActionStatus,
        GroundingState,
        GroundingStatus,
    )
    from clip_grounding_ros.demo.__main__ import _print_progress

    state = GroundingState.TRACKING if found else GroundingState.LOST
    observer = SimpleNamespace(action=ActionStatus(), grounding=GroundingStatus(
        state=state, found=found, score=0.91, distance=1.5, target_source=source))
    _print_progress(observer, 3.0)
    line = capsys.readouterr().out
    assert str(state) in line
    assert (shown in line) if shown else ('score' not in line and ' m ' not in line), line
