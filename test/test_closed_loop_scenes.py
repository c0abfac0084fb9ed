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
Closed-loop episodes in scenes made for issues 10 and 11 (test/scenes/*.yaml).

The whole pipeline runs as in test_closed_loop.py (simulator, three nodes as processes,
real DDS, the bundled simulator model) and every episode is judged from the simulator's
truth by demo.judge: an approach must end stopped within stop_distance + 0.15 m of the
object the command means, nearer to it than to anything else, a move or turn within 5 cm
or 3 degrees of the amount said, and nothing may be touched. Issue 10: the named object
behind another object, behind the robot, beside a cluster, leaving the view at close
range. Issue 11: a referring expression by side, by size and relative to another object,
a two-step sequence, and moves and turns on odometry.

Each scene says what it tests in its comments. Each test first checks that its scene
still sets up the situation it is named after (from the truth, without the pipeline), so
an edited scene cannot quietly turn a test into an easy one. The objects named are of
colour-shape combinations the bundled model was trained on (models/sim_clip/README.md):
these tests are about the robot's behaviour, not the model's blind spots.

Each episode takes 15-40 s of wall time (the simulator runs in real time).
"""

import json
import math
from pathlib import Path

from clip_grounding_ros.demo.episode import EpisodeSpec, run_episode
from clip_grounding_ros.demo.judge import bearing_to, SUCCESS_MARGIN
from clip_grounding_ros.sim import CameraSpec, load_scene, ROBOT_RADIUS, SimWorld
import numpy as np
import pytest

pytestmark = pytest.mark.slow

SCENES = Path(__file__).parent / 'scenes'
HALF_FOV = math.atan(math.tan(math.radians(30.0)) * 320 / 240)  # config/sim_demo.yaml camera


def scene_path(name: str) -> str:
    return str(SCENES / f'{name}.yaml')


def episode(scene: str, command: str, tmp_path, timeout: float = 60.0):
    return run_episode(EpisodeSpec(scene=scene_path(scene), command=command,
                                   realtime_factor=1.0, timeout=timeout,
                                   log_dir=str(tmp_path)))


def describe(result) -> str:
    """
    Describe the episode: what a failure is diagnosed from.

    The episode's summary (per-step verdicts, final action and grounding states and
    reasons) and where its node logs are: what a failure is diagnosed from.
    """
    return f'{json.dumps(result.summary(), indent=1)}\nnode logs: {result.log_dir}'


def assert_reached(result, *targets: str) -> None:
    """
    Check that each target was reached and the episode ended cleanly.

    One approach step per target, each judged a success at that object, and the
    episode done, nothing touched, the robot at rest.
    """
    info = describe(result)
    assert result.outcome == 'done', info
    assert len(result.steps) == len(targets), info
    for step, target in zip(result.steps, targets, strict=True):
        # What the judge took the step to mean is what the scene was built for.
        assert step.meant == [target], info
        assert step.success and step.reached == target, info
        assert step.distance <= result.stop_distance + SUCCESS_MARGIN, info
    assert result.success, info
    assert result.touched == [] and result.robot_stopped, info


def assert_went_around(result, scene_name: str, obstacle_name: str) -> None:
    """Check that the path passed beside the obstacle, the robot's body clear of it."""
    obstacle = load_scene(scene_path(scene_name)).object(obstacle_name)
    passing = min(result.path, key=lambda p: math.dist(p, obstacle.position))
    assert obstacle.surface_distance(*passing) > ROBOT_RADIUS, describe(result)


def visible_from(scene_name: str, pose, min_pixels: int = 20) -> dict:
    """Objects the robot camera shows at ``pose`` (world x, y, yaw), with their boxes."""
    with SimWorld(load_scene(scene_path(scene_name)), CameraSpec()) as world:
        world.set_robot_pose(*pose)
        return world.visible_objects(min_pixels=min_pixels)


def offset_from_line(point, start, end) -> float:
    """Distance (m) from ``point`` to the segment from ``start`` to ``end``."""
    point, start, end = (np.asarray(v, dtype=float) for v in (point, start, end))
    direction = end - start
    t = np.clip(np.dot(point - start, direction) / np.dot(direction, direction), 0.0, 1.0)
    return float(np.linalg.norm(point - (start + t * direction)))


# -- issue 10 ------------------------------------------------------------------------------

# Scenes with an object on the straight way to the named one: (named object, obstacle).
OBSTACLE_SCENES = {'behind_obstacle': ('blue_box', 'yellow_box'),
                   'behind_obstacle_hidden_base': ('blue_box', 'white_cylinder'),
                   'obstacle_on_the_diagonal': ('black_cylinder', 'orange_box')}


@pytest.mark.parametrize('name', OBSTACLE_SCENES)
def test_obstacle_scene_blocks_the_straight_way_to_a_visible_named_object(name):
    """
    The obstacle scenes block the straight way to a named object that stays visible.

    What the obstacle episodes rely on, from the truth alone (kept apart from the
    episodes, two of which are expected to fail): the straight way is blocked for the
    robot's footprint, and the named object is visible from the start all the same.
    """
    scene = load_scene(scene_path(name))
    target, obstacle = (scene.object(n) for n in OBSTACLE_SCENES[name])
    start = scene.robot_start
    assert offset_from_line(obstacle.position, start[:2], target.position) < \
        obstacle.footprint_radius + ROBOT_RADIUS
    seen = visible_from(name, start)
    assert seen[target.name].pixels >= 150 and obstacle.name in seen
    if name == 'behind_obstacle_hidden_base':
        # Only its top shows: its image box ends where the obstacle's begins.
        assert seen[target.name].box[3] <= seen[obstacle.name].box[1] + 1


def test_named_object_directly_behind_another_is_reached_around_it(tmp_path):
    """
    The blue box behind a low yellow box is reached around it.

    The blue box is seen over a low yellow box that blocks the straight way: the robot
    must go around it, untouched, and stop at the blue box.
    """
    result = episode('behind_obstacle', 'go to the blue box', tmp_path)

    assert_reached(result, 'blue_box')
    assert_went_around(result, 'behind_obstacle', 'yellow_box')


def test_named_object_whose_base_the_obstacle_hides_is_reached_around_it(tmp_path):
    """
    The blue box whose base the obstacle hides is reached around it.

    As above, but only the top of the blue box shows over the obstacle from the
    start: its range must not be taken from where its visible part ends.
    """
    result = episode('behind_obstacle_hidden_base', 'go to the blue box', tmp_path)

    assert_reached(result, 'blue_box')
    assert_went_around(result, 'behind_obstacle_hidden_base', 'white_cylinder')


def test_obstacle_on_the_diagonal_to_the_named_object_is_gone_around(tmp_path):
    """
    An obstacle on the diagonal to the named object is gone around.

    The named object is 30 degrees off the start heading with a low box on the straight
    line to it: the robot must turn, go around the box and stop at the cylinder. Between
    the orange box, the blue cylinder and the white sphere it can end in a pocket: it
    follows the path planned out of it (this test's xfail before).
    """
    result = episode('obstacle_on_the_diagonal', 'go to the black cylinder', tmp_path)

    assert result.touched == [] and result.robot_stopped, describe(result)
    assert_reached(result, 'black_cylinder')
    assert_went_around(result, 'obstacle_on_the_diagonal', 'orange_box')


def test_named_object_behind_the_robot_is_searched_for_then_reached(tmp_path):
    """
    A blue ball behind the robot is searched for, then reached.

    Nothing like a blue ball in view at the start: the robot turns to look for it,
    finds it behind, and drives there.
    """
    start = load_scene(scene_path('behind_robot')).robot_start
    assert 'blue_sphere' not in visible_from('behind_robot', start, min_pixels=1)

    result = episode('behind_robot', 'go to the blue ball', tmp_path)

    assert_reached(result, 'blue_sphere')


def test_named_object_beside_a_cluster_is_the_one_reached(tmp_path):
    """
    The blue box beside a group of objects is the one reached.

    The blue box stands at the edge of a group of three other objects: the robot must
    stop nearest the blue box, not at the group.
    """
    scene = load_scene(scene_path('beside_cluster'))
    target = scene.object('blue_box')
    neighbours = [o for o in scene.objects
                  if o is not target and math.dist(o.position, target.position) < 1.2]
    assert len(neighbours) >= 3

    result = episode('beside_cluster', 'go to the blue box', tmp_path)

    assert_reached(result, 'blue_box')


def test_named_object_leaving_the_view_at_close_range_is_still_reached(tmp_path):
    """
    A cylinder taller than the camera is still reached at close range.

    The red cylinder is taller than the camera: at close range it runs out of the top
    of the frame, and the robot must still finish the approach and stop at it.
    """
    result = episode('close_range', 'go to the red pillar', tmp_path)

    assert_reached(result, 'red_cylinder')
    # Where the robot stopped, the cylinder runs out of the frame (the box is cut by the
    # image's top edge): the end of the approach was done on a partial view.
    seen = visible_from('close_range', result.final_pose)
    assert 'red_cylinder' in seen and seen['red_cylinder'].box[1] == 0, (
        f'{seen}\n{describe(result)}')


# -- issue 11 ------------------------------------------------------------------------------

def test_referring_to_one_of_two_same_colour_objects_by_side(tmp_path):
    """Two red boxes: 'on the left' means the one at the larger bearing from the start."""
    scene = load_scene(scene_path('same_colour_left_right'))
    left, right = scene.object('red_box_left'), scene.object('red_box_right')
    assert HALF_FOV > bearing_to(left, scene.robot_start) > 0 > \
        bearing_to(right, scene.robot_start) > -HALF_FOV

    result = episode('same_colour_left_right', 'go to the red box on the left', tmp_path)

    assert_reached(result, 'red_box_left')


def test_referring_by_size_chooses_the_biggest_box(tmp_path):
    """
    Referring by size chooses the biggest box, not the one that looks biggest.

    'the biggest box' is the far large one, not the near small one that looks about as
    large in the image.
    """
    scene = load_scene(scene_path('size_contrast'))
    boxes = scene.objects_named('box')
    sizes = sorted(o.footprint_radius * o.height for o in boxes)
    assert len(boxes) == 3 and sizes[-1] > 3 * sizes[-2]

    result = episode('size_contrast', 'go to the biggest box', tmp_path)

    assert_reached(result, 'big_blue_box')


def test_referring_relative_to_a_reference_object(tmp_path):
    """'the box next to the red ball' is the white box, which the phrase does not name."""
    result = episode('next_to_reference', 'go to the box next to the red ball', tmp_path)

    assert_reached(result, 'white_box')


def test_two_step_sequence_reaches_both_objects_in_order(tmp_path):
    result = episode('sequence', 'go to the blue box, then the red ball', tmp_path,
                     timeout=90.0)

    assert_reached(result, 'blue_box', 'red_sphere')
    assert [step.done for step in result.steps] == [True, True], describe(result)


@pytest.mark.parametrize('command, intent, commanded', [
    ('move forward 1 meter', 'move', 1.0),
    ('turn right ninety degrees', 'turn', -90.0),
])
def test_relative_motion_on_odometry_is_accurate(command, intent, commanded, tmp_path):
    """
    Moves and turns by an amount are accurate (issue 11).

    Issue 11's goal for moves and turns by an amount: within 5 cm and 3 degrees of the
    amount said, measured by the judge on the simulator's true pose.
    """
    result = episode('open_floor', command, tmp_path, timeout=30.0)

    info = describe(result)
    assert result.outcome == 'done', info
    (step,) = result.steps
    assert step.intent == intent and step.commanded == pytest.approx(commanded), info
    tolerance = 0.05 if intent == 'move' else 3.0
    assert abs(step.achieved - commanded) <= tolerance, info
    assert step.success and result.success, info
    assert result.touched == [] and result.robot_stopped, info


# -- issue 21: a conversation --------------------------------------------------------------

def conversation(scene: str, commands: list[str], tmp_path, timeout: float = 60.0):
    first, *then = commands
    return run_episode(EpisodeSpec(scene=scene_path(scene), command=first, then=tuple(then),
                                   realtime_factor=1.0, timeout=timeout,
                                   log_dir=str(tmp_path)))


def test_a_self_corrected_phrase_then_no_the_other_one_reach_the_objects_meant(tmp_path):
    """
    A self-correction goes to the later phrase; "no, the other one" to the other red box.

    "go to the white ball, I mean the red box" must never approach the white ball (the
    phrase said first), and either red box may be chosen (neither is nearer by more than the
    judge's rounding); the correction must then reach the red box not chosen.
    """
    scene = load_scene(scene_path('same_colour_left_right'))
    assert {o.name for o in scene.objects_named('red box')} == {'red_box_left',
                                                                'red_box_right'}
    result = conversation('same_colour_left_right',
                          ['go to the white ball, I mean the red box', 'no, the other one'],
                          tmp_path)

    info = describe(result)
    first, second = result.commands
    assert (first.outcome, second.outcome) == ('done', 'done'), info
    (chosen,), (other,) = first.steps, second.steps
    assert chosen.success and chosen.reached in {'red_box_left', 'red_box_right'}, info
    assert other.success and other.reached in {'red_box_left', 'red_box_right'}, info
    assert other.reached != chosen.reached and other.meant == [other.reached], info
    white = scene.object('white_sphere')
    assert min(white.surface_distance(*p) for p in result.path) > 0.8, info
    assert result.success and result.touched == [] and result.robot_stopped, info


def test_turn_around_then_turn_around_again_ends_facing_the_start_heading(tmp_path):
    result = episode('open_floor', 'turn around, then turn around again', tmp_path,
                     timeout=30.0)

    info = describe(result)
    assert result.outcome == 'done' and result.success, info
    assert [step.commanded for step in result.steps] == [180.0, 180.0], info
    heading_change = math.remainder(result.final_pose[2] - result.start_pose[2], math.tau)
    assert abs(math.degrees(heading_change)) <= 3.0, info
    assert sum(step.achieved for step in result.steps) == pytest.approx(360.0, abs=3.0), info
