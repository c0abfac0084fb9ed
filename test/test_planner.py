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
The way out of a pocket: the grid path (core/motion/planner.py) and how the controller uses it.

The plans are checked against the geometry they must respect (the body never within
robot_radius of a point, the path out of a pocket through its opening), not against
recorded paths.
"""

import math

from clip_grounding_ros.core.contract.protocol import Intent, Task
from clip_grounding_ros.core.contract.status import ActionState, GroundingState
from clip_grounding_ros.core.motion.config import MotionConfig
from clip_grounding_ros.core.motion.controller import MotionController
from clip_grounding_ros.core.motion.obstacles import ObstacleConfig
from clip_grounding_ros.core.motion.planner import plan_path, RESOLUTION
import numpy as np
import pytest

CONFIG = ObstacleConfig()
NARROW = ObstacleConfig(max_detour=0.3)  # few headings toward the target: pockets are easy


def _line(start, end, step=0.03):
    count = max(2, int(math.dist(start, end) / step) + 1)
    return np.linspace(start, end, count)


# A pocket open behind the robot: walls ahead and on both sides, the target beyond.
POCKET = np.vstack([_line((0.6, -0.8), (0.6, 0.8)), _line((-0.4, 0.8), (0.6, 0.8)),
                    _line((-0.4, -0.8), (0.6, -0.8))])


def _clearance(path, points):
    return min(float(np.hypot(*(points - waypoint).T).min()) for waypoint in path.waypoints)


def test_on_open_floor_the_path_goes_straight_to_the_goal():
    path = plan_path(np.empty((0, 2)), (2.0, 0.0), CONFIG)
    assert path.length == pytest.approx(2.0, abs=0.25)  # ends within GOAL_TOLERANCE
    assert path.aim[0] > 0.8 and abs(path.aim[1]) < RESOLUTION


def test_out_of_a_pocket_the_path_leaves_by_its_opening_and_keeps_the_body_off_the_walls():
    path = plan_path(POCKET, (2.5, 0.0), CONFIG)
    assert path is not None and path.length > 2.5 + 1.0  # out behind, around a wall
    assert path.aim[0] < 0.0  # steering out backwards first: the opening is behind
    assert _clearance(path, POCKET) >= CONFIG.robot_radius
    assert np.hypot(*(path.waypoints[-1] - (2.5, 0.0))) <= 0.2 + 1e-9


def test_the_path_keeps_outside_the_safety_margin_where_it_can():
    gap = np.vstack([_line((1.0, 0.5), (1.0, 3.0)), _line((1.0, -0.5), (1.0, -3.0))])
    path = plan_path(gap, (2.5, 0.0), CONFIG)  # a gap 1 m wide: room for the margin
    assert _clearance(path, gap) >= CONFIG.inflated_radius


@pytest.mark.parametrize('points, why', [
    (np.array([(0.6 * math.cos(a), 0.6 * math.sin(a))
               for a in np.arange(0.0, 2 * math.pi, 0.05)]), 'walled in'),
    (np.array([(0.1, 0.0)]), 'a point within the body'),
])
def test_no_path_is_none(points, why):
    assert plan_path(points, (2.0, 0.0), CONFIG) is None, why


@pytest.mark.parametrize('goal', [(math.nan, 0.0), (math.inf, 1.0), (1.0,)])
def test_a_goal_that_is_not_a_finite_point_is_refused(goal):
    with pytest.raises(ValueError, match='goal'):
        plan_path(np.empty((0, 2)), goal, CONFIG)


def test_points_of_the_wrong_shape_are_refused_and_non_finite_rows_ignored():
    with pytest.raises(ValueError, match='shape'):
        plan_path(np.zeros((3, 3)), (2.0, 0.0), CONFIG)
    with_nan = np.vstack([POCKET, [(math.nan, 0.0)]])
    assert plan_path(with_nan, (2.5, 0.0), CONFIG).length == \
        pytest.approx(plan_path(POCKET, (2.5, 0.0), CONFIG).length)


# -- the controller in a pocket ------------------------------------------------------------
def _approach(controller, t, points, pose=(0.0, 0.0, 0.0), target=(3.0, 0.0)):
    """One tick: odometry at ``pose``, the target and the obstacle points in the base frame."""
    controller.on_odometry(*pose, stamp=t)
    controller.on_perception(GroundingState.TRACKING, 'found', t)
    controller.on_target(*target, stamp=t)
    controller.on_obstacles(points, stamp=t)
    return controller.step(t)


def _controller(obstacles=NARROW):
    controller = MotionController(MotionConfig(), obstacles)
    controller.on_task(Task(1, 0, Intent.APPROACH), 0.0)
    return controller


def test_in_a_pocket_it_follows_the_planned_path_for_the_rest_of_the_step():
    controller = _controller()
    output = _approach(controller, 0.0, POCKET)
    assert 'following a planned path' in output.reason, output.reason
    assert output.state == ActionState.TURNING  # to face the opening behind it first
    # Out of it, with a heading toward the target free again, it still follows the plan
    # (steering at the target would lead back in); a new step chooses afresh.
    assert controller.avoidance.planning
    output = _approach(controller, 0.5, np.empty((0, 2)))
    assert 'out of a pocket: following a planned path' in output.reason
    controller.on_task(Task(2, 0, Intent.APPROACH), 0.6)
    assert not controller.avoidance.planning and not controller.avoidance.trail


def test_driving_back_and_forth_is_no_progress_and_fails_after_blocked_timeout():
    """
    The livelock kind: moving without getting nearer the goal.

    The robot drives 0.6 m out of the pocket and back in, again and again (more than
    required_movement_radius each way): its planned way to the goal is never shorter, so
    the step fails after blocked_timeout instead of going on for ever.
    """
    controller = _controller()
    for tick in range(24):
        t = tick * 0.5
        x = -0.6 if tick % 2 else 0.0  # the pocket is fixed in the odom frame
        output = _approach(controller, t, POCKET - (x, 0.0), pose=(x, 0.0, 0.0),
                           target=(3.0 - x, 0.0))
        if output.state == ActionState.FAILED:
            break
    assert output.state == ActionState.FAILED and 'blocked for' in output.reason
    assert t == pytest.approx(MotionConfig().blocked_timeout, abs=0.6)


def test_getting_nearer_along_the_planned_path_restarts_the_blocked_clock():
    controller = _controller()
    route = [(0.0, 0.0), (-0.6, 0.0), (-0.6, 1.2), (0.3, 1.2), (1.2, 1.2)]  # out, round
    for tick, (x, y) in enumerate(route):
        output = _approach(controller, tick * 4.0, POCKET - (x, y), pose=(x, y, 0.0),
                           target=(3.0 - x, -y))
    assert output.state != ActionState.FAILED, output.reason  # 16 s: more than 10 s


def test_with_no_path_and_no_free_heading_it_backs_up_the_way_it_came():
    """
    In a closed box it drove into, no path and no heading free for clearance_distance.

    It backs up along the way it came (driven, so free), the remembered points
    path-checked behind it; an obstacle right behind stops that too.
    """
    controller = _controller()
    for tick, x in enumerate((-0.6, -0.45, -0.3, -0.15, 0.0)):  # it drove in along +x
        _approach(controller, tick * 0.2, np.empty((0, 2)), pose=(x, 0.0, 0.0),
                  target=(3.0 - x, 0.0))
    closed = np.vstack([_line((0.5, -0.45), (0.5, 0.45)), _line((-0.9, -0.45), (-0.9, 0.45)),
                        _line((-0.9, 0.45), (0.5, 0.45)), _line((-0.9, -0.45), (0.5, -0.45))])
    for t in (1.0, 1.5, 2.0):  # from driving forward to reversing: acceleration-limited
        output = _approach(controller, t, closed)
    assert output.linear < 0.0 and 'reversing along the way it came' in output.reason
    # An obstacle right behind it stops the reversing: blocked.
    behind = np.vstack([closed, _line((-0.35, -0.3), (-0.35, 0.3))])
    output = _approach(controller, 2.5, behind)
    assert (output.linear, output.state) == (0.0, ActionState.BLOCKED), output.reason
