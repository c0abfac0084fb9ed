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

"""The control law and the action node's safety logic, on their own (no ROS)."""

import json
import math
from pathlib import Path

from clip_grounding_ros.core.contract.protocol import Intent, StepOutcome, Task
from clip_grounding_ros.core.contract.status import ActionState, GroundingState, GroundingStatus
from clip_grounding_ros.core.motion.config import MotionConfig
from clip_grounding_ros.core.motion.controller import MotionController
from clip_grounding_ros.core.motion.obstacles import ObstacleConfig
from clip_grounding_ros.core.motion.sensing import SensorView
from clip_grounding_ros.core.motion.velocity import (
    approach_velocity,
    face_velocity,
    limit_acceleration,
    move_velocity,
    turn_velocity,
)
from clip_grounding_ros.core.world.memory import MemoryConfig
import numpy as np
import pytest

CONFIG = MotionConfig()
MEMORY = MemoryConfig(memory_max_age=3.0)  # the times of the memory tests assume 3 s
NO_OBSTACLES = ObstacleConfig(obstacle_source='none')


def controller_for(config=CONFIG, obstacles=NO_OBSTACLES):
    """Make a controller without obstacle checks unless a test is about them."""
    return MotionController(config, obstacles, MEMORY)


def test_target_ahead_drives_straight():
    linear, angular, reached = approach_velocity(3.0, 0.0, CONFIG)
    assert linear == pytest.approx(CONFIG.max_linear) and angular == 0.0 and not reached


def test_target_to_the_left_turns_left_and_right_turns_right():
    assert approach_velocity(2.0, 0.5, CONFIG)[1] > 0
    assert approach_velocity(2.0, -0.5, CONFIG)[1] < 0


def test_target_behind_turns_in_place():
    linear, angular, _ = approach_velocity(-1.0, 0.2, CONFIG)
    assert linear == 0.0 and angular == pytest.approx(CONFIG.max_angular)


def test_slows_down_then_stops_within_stop_distance():
    speeds = [approach_velocity(d, 0.0, CONFIG)[0] for d in (2.0, 1.0, 0.8, 0.65)]
    assert speeds == sorted(speeds, reverse=True) and speeds[-1] < 0.1
    assert approach_velocity(CONFIG.stop_distance - 0.01, 0.0, CONFIG) == (0.0, 0.0, True)


def test_face_only_rotates():
    linear, angular, aligned = face_velocity(1.0, 1.0, CONFIG)
    assert linear == 0.0 and angular > 0 and not aligned
    assert face_velocity(1.0, 0.01, CONFIG) == (0.0, 0.0, True)


def test_acceleration_limits():
    linear, angular = limit_acceleration((0.0, 0.0), (1.0, -5.0), 0.1, CONFIG)
    assert linear == pytest.approx(CONFIG.max_linear_accel * 0.1)
    assert angular == pytest.approx(-CONFIG.max_angular_accel * 0.1)


@pytest.mark.parametrize('field, value', [('max_linear', 0.0), ('target_timeout', -1.0),
                                          ('stop_distance', -0.1), ('k_angular', float('nan'))])
def test_invalid_config_is_rejected(field, value):
    with pytest.raises(ValueError, match=field):
        MotionConfig(**{field: value})


def _tracking(intent=Intent.APPROACH, now=0.0, config=CONFIG, command_id=1):
    controller = controller_for(config)
    controller.on_task(Task(command_id, 0, intent), now)
    controller.on_perception(GroundingState.TRACKING, 'found', now)
    return controller


def _run(controller, times, target=None, odometry=None):
    """Step at ``times``, refreshing the status (and target, odometry) before each."""
    output = None
    for t in times:
        controller.on_perception(controller.perception.state, 'found', t)
        if target is not None:
            controller.on_target(*target, stamp=t)
        if odometry is not None:
            controller.on_odometry(*odometry(t), stamp=t)
        output = controller.step(t)
    return output


def test_fresh_target_moves_and_accelerates_gradually():
    controller = _tracking()
    controller.on_target(3.0, 0.0, stamp=0.0)
    first = controller.step(0.0)
    second = controller.step(0.1)
    assert first.state == ActionState.APPROACHING
    assert 0 < second.linear <= CONFIG.max_linear_accel * 0.1 + 1e-9


def test_stale_target_stops_at_once():
    controller = _tracking()
    controller.on_target(3.0, 0.0, stamp=0.0)
    assert _run(controller, (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)).linear > 0
    controller.on_perception(GroundingState.TRACKING, 'found', 1.6)
    stale = controller.step(1.6)
    assert (stale.linear, stale.angular, stale.state) == (0.0, 0.0, ActionState.HOLDING)
    assert 'old' in stale.reason


def test_target_stamped_in_the_future_is_undatable_not_fresh():
    controller = _tracking(now=10.0)
    controller.on_target(3.0, 0.0, stamp=345.0)  # e.g. from before a simulation reset
    output = controller.step(10.0)
    assert (output.linear, output.state) == (0.0, ActionState.HOLDING)
    assert 'in the future (undatable)' in output.reason


def test_silent_grounding_node_stops_the_robot():
    controller = _tracking()
    controller.on_target(3.0, 0.0, stamp=5.0)
    output = controller.step(5.0 + CONFIG.status_timeout + 0.1)
    assert (output.linear, output.angular, output.state) == (0.0, 0.0, ActionState.HOLDING)
    assert 'grounding node' in output.reason


@pytest.mark.parametrize('state, expected', [
    (GroundingState.ERROR, ActionState.STOPPED), (GroundingState.STOPPED, ActionState.STOPPED),
    (GroundingState.SEARCHING, ActionState.HOLDING)])
def test_error_stops_and_a_first_search_holds(state, expected):
    controller = _tracking()
    controller.on_target(3.0, 0.0, stamp=0.0)
    controller.on_perception(state, 'no blue box in view', 0.2)
    output = controller.step(0.2)
    assert (output.linear, output.angular, output.state) == (0.0, 0.0, expected)
    assert 'no blue box' in output.reason


def test_lost_without_search_stops():
    controller = _tracking(config=MotionConfig(search_enabled=False))
    controller.on_perception(GroundingState.LOST, 'no blue box in view', 0.2)
    output = controller.step(0.2)
    assert (output.angular, output.state) == (0.0, ActionState.STOPPED)


def test_search_turns_toward_the_last_seen_side_one_full_turn_on_odometry_then_fails():
    controller = _tracking()
    controller.on_target(2.0, -0.5, stamp=1.0)  # last seen on the right
    yaw = [0.0]
    for step in range(400):
        t = 2.0 + 0.05 * step
        controller.on_perception(GroundingState.LOST, 'lost', t)
        controller.on_odometry(0.0, 0.0, yaw[0], stamp=t)
        output = controller.step(t)
        if output.state != ActionState.SEARCHING:
            break
        assert output.angular <= 0  # toward the right
        yaw[0] = math.remainder(yaw[0] + output.angular * 0.05, math.tau)
    assert output.state == ActionState.FAILED and 'not found after turning' in output.reason
    assert output.angular == 0.0
    assert 6.0 < 2.0 + 0.05 * step - 2.0 < 14.0  # about one turn at search_angular


def test_search_turns_toward_where_the_target_is_now_after_the_robot_turned():
    controller = _tracking()
    controller.on_odometry(0.0, 0.0, 0.0, stamp=1.0)
    controller.on_target(2.0, 0.5, stamp=1.0)  # seen on the left...
    controller.on_odometry(0.0, 0.0, 1.2, stamp=5.0)  # ...then the robot turned past it
    controller.on_perception(GroundingState.LOST, 'lost', 5.0)  # memory expired (3 s)
    controller.step(5.0)
    controller.on_odometry(0.0, 0.0, 1.2, stamp=5.1)
    controller.on_perception(GroundingState.LOST, 'lost', 5.1)
    output = controller.step(5.1)
    assert output.state == ActionState.SEARCHING and output.angular < 0  # now on the right


def test_search_without_odometry_estimates_the_turn_from_the_rate():
    controller = _tracking(config=MotionConfig(search_turn=1.0, search_angular=0.5))
    controller.on_perception(GroundingState.LOST, 'lost', 0.0)
    assert controller.step(0.0).state == ActionState.SEARCHING
    controller.on_perception(GroundingState.LOST, 'lost', 2.1)
    assert controller.step(2.1).state == ActionState.FAILED  # 0.5 rad/s x 2.1 s > 1 rad


def test_found_again_while_searching_resumes_the_approach():
    controller = _tracking()
    controller.on_perception(GroundingState.LOST, 'lost', 0.0)
    assert controller.step(0.0).state == ActionState.SEARCHING
    controller.on_perception(GroundingState.TRACKING, 'found', 0.5)
    controller.on_target(3.0, 0.2, stamp=0.5)
    assert controller.step(0.5).state in (ActionState.APPROACHING, ActionState.TURNING)


def test_reached_latches_until_a_new_command():
    controller = _tracking()
    controller.on_target(0.5, 0.0, stamp=0.0)
    assert controller.step(0.0).state == ActionState.REACHED
    controller.on_target(2.0, 0.0, stamp=0.1)  # target appears farther again: stay put
    controller.on_perception(GroundingState.TRACKING, 'found', 0.1)
    assert controller.step(0.1).state == ActionState.REACHED
    controller.on_task(Task(2, 0, Intent.APPROACH), 0.2)
    controller.on_perception(GroundingState.TRACKING, 'found', 0.2)
    controller.on_target(2.0, 0.0, stamp=0.2)
    assert controller.step(0.2).state == ActionState.APPROACHING


def test_a_new_step_of_the_same_command_is_a_new_task():
    controller = _tracking()
    controller.on_target(0.5, 0.0, stamp=0.0)
    assert controller.step(0.0).state == ActionState.REACHED
    controller.on_task(Task(1, 1, Intent.APPROACH), 0.1)
    controller.on_target(3.0, 0.0, stamp=0.1)
    assert controller.step(0.1).state == ActionState.APPROACHING


def test_stop_is_immediate():
    controller = _tracking()
    _run(controller, (0.0, 0.5, 1.0), target=(3.0, 0.0))
    controller.stop()
    output = controller.step(1.01)
    assert (output.linear, output.angular, output.state) == (0.0, 0.0, ActionState.STOPPED)


def test_face_intent_turns_then_holds():
    controller = _tracking(Intent.FACE)
    controller.on_target(1.0, 1.0, stamp=0.0)
    turning = controller.step(0.0)
    assert turning.state == ActionState.TURNING and turning.linear == 0.0
    controller.on_target(1.0, 0.0, stamp=0.05)
    assert controller.step(0.05).state == ActionState.FACING


def test_no_command_is_idle_and_still():
    output = controller_for().step(0.0)
    assert (output.linear, output.angular, output.state) == (0.0, 0.0, ActionState.IDLE)


def test_repeated_status_of_the_same_command_does_not_undo_a_stop():
    controller = _tracking()
    controller.on_target(3.0, 0.0, stamp=0.0)
    controller.stop()
    controller.on_task(Task(1, 0, Intent.APPROACH), 0.1)  # a status still announcing it
    controller.on_perception(GroundingState.TRACKING, 'found', 0.1)
    assert controller.step(0.1).state == ActionState.STOPPED
    controller.on_task(Task(2, 0, Intent.APPROACH), 0.2)  # a new command moves again
    controller.on_target(3.0, 0.0, stamp=0.2)
    assert controller.step(0.2).state == ActionState.APPROACHING


# -- time going backwards ---------------------------------------------------------------
def test_clock_going_back_stops_drops_dated_inputs_and_resumes_when_fresh():
    controller = _tracking(now=340.0)
    moving = _run(controller, [340.0 + 0.1 * i for i in range(50)], target=(3.0, 0.0))
    assert moving.linear > 0
    reset = controller.step(0.0)  # /clock reset to 0 (simulation reset, bag loop)
    assert (reset.linear, reset.angular, reset.state) == (0.0, 0.0, ActionState.HOLDING)
    assert 'ROS time went back (344.900 -> 0.000 s)' in reset.reason
    assert controller.current.target is None
    assert controller.step(0.5).linear == 0.0  # still no fresh status or target
    resumed = _run(controller, (0.6, 0.7, 0.8), target=(3.0, 0.0))
    assert resumed.state == ActionState.APPROACHING and resumed.linear > 0


def test_a_move_in_progress_is_cancelled_when_the_clock_goes_back():
    controller = controller_for()
    controller.on_task(Task(1, 0, Intent.MOVE, distance=2.0), 10.0)
    assert _run(controller, (10.0, 10.1, 10.2), odometry=lambda t: (0.0, 0.0, 0.0)).state == \
        ActionState.MOVING
    controller.on_time_jump('ROS time jumped by -10.200 s')
    output = controller.step(0.1)
    assert (output.linear, output.state) == (0.0, ActionState.STOPPED)
    assert 'cancelled' in output.reason


# -- non-finite numbers -----------------------------------------------------------------
@pytest.mark.parametrize('x, y', [(math.nan, 0.0), (1.0, math.inf), (-math.inf, math.nan)])
def test_non_finite_target_is_refused_and_never_moves_the_robot(x, y):
    controller = _tracking()
    assert 'not finite' in controller.on_target(x, y, stamp=0.0)
    output = controller.step(0.0)
    assert (output.linear, output.angular) == (0.0, 0.0) and controller.current.target is None


def test_non_finite_odometry_is_refused():
    controller = controller_for()
    assert 'not finite' in controller.on_odometry(0.0, math.nan, 0.0, stamp=1.0)
    assert controller.odometry is None


# -- moves and turns by an amount, on odometry -----------------------------------------
def _simulate(controller, task, start=(0.0, 0.0, 0.0), dt=0.05, steps=600):
    """
    Integrate a unicycle from ``start`` with the controller's commands.

    Returns the final pose and the last output.
    """
    x, y, yaw = start
    controller.on_task(task, 0.0)
    for i in range(steps):
        t = i * dt
        controller.on_odometry(x, y, yaw, stamp=t)
        output = controller.step(t)
        if output.state in (ActionState.REACHED, ActionState.FAILED):
            return (x, y, yaw), output
        x += output.linear * math.cos(yaw) * dt
        y += output.linear * math.sin(yaw) * dt
        yaw = math.remainder(yaw + output.angular * dt, math.tau)
    return (x, y, yaw), output


@pytest.mark.parametrize('distance', [1.0, -0.5, 0.2, 3.0])
def test_move_by_a_distance_ends_within_tolerance(distance):
    (x, y, yaw), output = _simulate(controller_for(),
                                    Task(1, 0, Intent.MOVE, distance=distance),
                                    start=(1.0, 2.0, 0.7))
    travelled = (x - 1.0) * math.cos(0.7) + (y - 2.0) * math.sin(0.7)
    assert output.state == ActionState.REACHED
    assert abs(travelled - distance) <= CONFIG.move_tolerance + 0.03  # last tick's motion


@pytest.mark.parametrize('angle', [math.pi / 2, -math.pi / 2, math.pi, 2 * math.pi, 0.3])
def test_turn_by_an_angle_ends_within_tolerance_and_unwraps_full_turns(angle):
    (_, _, yaw), output = _simulate(controller_for(),
                                    Task(1, 0, Intent.TURN, angle=angle), start=(0, 0, 3.0))
    assert output.state == ActionState.REACHED
    assert abs(math.remainder(yaw - 3.0 - angle, math.tau)) <= math.radians(3)


def test_move_without_odometry_fails_with_a_clear_reason_and_no_motion():
    controller = controller_for()
    controller.on_task(Task(1, 0, Intent.MOVE, distance=1.0), 0.0)
    assert controller.step(0.1).state == ActionState.HOLDING
    output = controller.step(CONFIG.odom_timeout + 0.2)
    assert (output.linear, output.state) == (0.0, ActionState.FAILED)
    assert 'no odometry' in output.reason


def test_move_holds_when_odometry_goes_stale_midway():
    controller = controller_for()
    controller.on_task(Task(1, 0, Intent.MOVE, distance=1.0), 0.0)
    _run(controller, (0.0, 0.05, 0.1), odometry=lambda t: (t, 0.0, 0.0))
    output = controller.step(0.1 + CONFIG.odom_timeout + 0.1)
    assert (output.linear, output.state) == (0.0, ActionState.HOLDING)


def test_move_and_turn_laws():
    assert move_velocity(0.0, 0.0, 1.0, CONFIG)[0] == pytest.approx(CONFIG.max_linear)
    assert move_velocity(0.8, 0.0, 1.0, CONFIG)[0] == pytest.approx(CONFIG.k_linear * 0.2)
    assert move_velocity(0.0, 0.0, -1.0, CONFIG)[0] < 0
    assert move_velocity(0.995, 0.0, 1.0, CONFIG) == (0.0, 0.0, True)
    assert move_velocity(0.0, 0.1, 1.0, CONFIG)[1] > 0  # drifted right: steer left
    assert turn_velocity(0.0, 0.05, CONFIG)[1] == pytest.approx(CONFIG.min_angular)
    assert turn_velocity(0.0, -3.0, CONFIG)[1] == pytest.approx(-CONFIG.max_angular)


# -- quiet when at rest -----------------------------------------------------------------
def test_at_rest_publishes_zero_for_a_while_then_goes_quiet():
    controller = _tracking()
    controller.on_target(0.5, 0.0, stamp=0.0)
    assert controller.step(0.0).publish  # reached: zero is published ...
    assert controller.step(CONFIG.idle_publish_time - 0.01).publish
    assert not controller.step(CONFIG.idle_publish_time + 0.01).publish  # ... then nothing
    controller.on_task(Task(2, 0, Intent.APPROACH), 2.0)
    controller.on_perception(GroundingState.TRACKING, 'found', 2.0)
    controller.on_target(3.0, 0.0, stamp=2.0)
    assert controller.step(2.0).publish  # a new motion command publishes again


def test_holding_during_an_active_command_keeps_publishing_zero():
    controller = _tracking()
    for t in (0.0, 5.0, 50.0):  # no target ever: holding, the command is still active
        controller.on_perception(GroundingState.TRACKING, 'found', t)
        output = controller.step(t)
        assert output.state == ActionState.HOLDING and output.publish


# -- target memory (odometry frame) ----------------------------------------------------
def _with_odometry(controller, t, pose=(0.0, 0.0, 0.0)):
    controller.on_odometry(*pose, stamp=t)


def test_out_of_view_target_is_approached_where_it_was_seen_then_forgotten():
    controller = _tracking()
    for t in (0.0, 0.1, 0.2):
        _with_odometry(controller, t)
        controller.on_perception(GroundingState.TRACKING, 'found', t)
        controller.on_target(2.0, 0.0, stamp=t)
        controller.step(t)
    # Too close to see now: grounding frames no longer show it (a brief miss, then lost).
    for t, state in ((0.5, GroundingState.TRACKING), (2.5, GroundingState.LOST)):
        _with_odometry(controller, t, (0.3, 0.0, 0.0))
        controller.on_perception(state, 'no box in view', t, found=False)
        output = controller.step(t)
        assert output.state == ActionState.APPROACHING and 'where it was seen' in output.reason
    _with_odometry(controller, 4.0, (0.3, 0.0, 0.0))  # memory_max_age (3 s) after the sighting
    controller.on_perception(GroundingState.LOST, 'no box in view', 4.0, found=False)
    assert controller.step(4.0).state == ActionState.SEARCHING


def test_remembered_target_follows_the_robots_own_motion():
    controller = _tracking()
    _with_odometry(controller, 0.0)
    controller.on_target(2.0, 0.0, stamp=0.0)
    _with_odometry(controller, 0.2, (0.0, 0.0, math.pi / 2))  # turned left a quarter
    controller.on_perception(GroundingState.TRACKING, 'found', 0.2)
    located, seen_ago = controller._target_now(0.2)
    assert located == pytest.approx((0.0, -2.0), abs=1e-9) and seen_ago == pytest.approx(0.2)
    controller.step(0.2)
    _with_odometry(controller, 0.3, (0.0, 0.0, math.pi / 2))
    controller.on_perception(GroundingState.TRACKING, 'found', 0.3)
    assert controller.step(0.3).angular < 0  # the target is now on its right


def test_the_grounding_node_s_choice_decides_which_object_the_target_is():
    """
    A target of the same choice far from the remembered one is followed and reported.

    The two nodes must not disagree about which object it is (one refusing what the other
    chose, both waiting); a new choice (choice_id) replaces what is remembered.
    """
    controller = _tracking()
    _with_odometry(controller, 0.0)
    assert controller.on_target(2.0, 0.0, stamp=0.0) == ''
    _with_odometry(controller, 0.1)
    note = controller.on_target(2.0, 1.2, stamp=0.1)  # 1.2 m to the side
    assert 'keeps it as its choice: followed' in note and controller.current.target.y == 1.2
    assert controller.memory.target_odom == pytest.approx((2.0, 1.2))
    controller.on_status(GroundingStatus(state=GroundingState.TRACKING, command_id=1,
                                         intent=Intent.APPROACH, target='box', found=True,
                                         choice_id=2), 0.2)
    assert controller.memory.target_odom is None  # another choice: nothing remembered
    assert controller.on_target(-1.0, 3.0, stamp=0.2) == ''


def test_a_frozen_camera_still_stops_within_target_timeout():
    """Memory is for a target grounding says is out of view, never for missing frames."""
    controller = _tracking()
    for t in (0.0, 0.1):
        _with_odometry(controller, t)
        controller.on_perception(GroundingState.TRACKING, 'found', t)
        controller.on_target(3.0, 0.0, stamp=t)
        controller.step(t)
    for t in (0.5, 1.0, 1.15):
        _with_odometry(controller, t)
        controller.on_perception(GroundingState.TRACKING, 'found', t)  # no new frames
        output = controller.step(t)
    assert (output.linear, output.state) == (0.0, ActionState.HOLDING)


# -- obstacles --------------------------------------------------------------------------
def _wall(x, y_from, y_to, step=0.05):
    return np.array([(x, y) for y in np.arange(y_from, y_to, step)])


def _approaching_with_obstacles(points, target=(3.0, 0.0), obstacles=None):
    controller = MotionController(CONFIG, ObstacleConfig() if obstacles is None else obstacles,
                                  MEMORY)
    controller.on_task(Task(1, 0, Intent.APPROACH), 0.0)
    for t in (0.0, 0.5, 1.0):
        _with_odometry(controller, t)
        controller.on_perception(GroundingState.TRACKING, 'found', t)
        controller.on_target(*target, stamp=t)
        controller.on_obstacles(points, stamp=t)
        output = controller.step(t)
    return controller, output


def test_no_obstacle_data_holds_when_the_source_is_required():
    controller = MotionController(CONFIG)  # obstacle_source 'depth' by default
    controller.on_task(Task(1, 0, Intent.APPROACH), 0.0)
    controller.on_perception(GroundingState.TRACKING, 'found', 0.0)
    controller.on_target(3.0, 0.0, stamp=0.0)
    output = controller.step(0.0)
    assert (output.linear, output.state) == (0.0, ActionState.HOLDING)
    assert 'no obstacle data' in output.reason


def test_free_path_drives_and_an_obstacle_close_ahead_steers_around_it():
    _, free = _approaching_with_obstacles(np.empty((0, 2)))
    assert free.state == ActionState.APPROACHING and free.linear > 0
    post = np.array([(1.0, y) for y in np.arange(-0.1, 0.11, 0.02)])  # a narrow post ahead
    controller, output = _approaching_with_obstacles(post)
    assert 'going around an obstacle' in output.reason and output.angular != 0.0
    assert output.state == ActionState.APPROACHING


def test_an_obstacle_close_ahead_stops_forward_motion():
    post = np.array([(0.4, y) for y in np.arange(-0.1, 0.11, 0.02)])
    # A way around within max_detour: it turns in place to face it first.
    _, output = _approaching_with_obstacles(post)
    assert output.linear == 0.0 and output.angular != 0.0
    assert output.state == ActionState.TURNING and 'going around' in output.reason
    # None within a narrow max_detour: it turns to head out of the pocket, never forward.
    _, output = _approaching_with_obstacles(post, obstacles=ObstacleConfig(max_detour=0.3))
    assert output.linear == 0.0 and output.angular != 0.0
    assert output.state == ActionState.TURNING and 'planned path' in output.reason
    # Hemmed in all round: blocked, standing still.
    ring = np.array([(0.4 * math.cos(a), 0.4 * math.sin(a)) for a in np.arange(0, 6.28, 0.05)])
    _, output = _approaching_with_obstacles(ring)
    assert (output.linear, output.angular, output.state) == (0.0, 0.0, ActionState.BLOCKED)


@pytest.mark.parametrize('target, corner', [((2.0, 1.0), (0.25, 0.25)),
                                            ((2.0, -1.0), (0.25, -0.3))])
def test_stopped_on_the_arc_to_a_free_heading_it_turns_in_place_to_face_it(target, corner):
    """A box corner beside the robot, the target beyond it: the arc clips the corner."""
    box = np.array([(corner[0] + dx, corner[1] + dy) for dx in (0, 0.04) for dy in (0, 0.04)])
    _, output = _approaching_with_obstacles(box, target=target)
    assert output.state == ActionState.TURNING and output.linear == 0.0
    assert output.reason.startswith('turning to a free heading')
    assert math.copysign(1.0, output.angular) == -math.copysign(1.0, target[1])  # away


def test_within_the_safety_margin_of_a_post_it_still_turns_toward_a_free_heading():
    """
    A robot that brushed past a post, now inside its safety margin, turns away from it.

    The post (r 0.09 m) is ahead on the right, 0.29 m from the base: inside the margin
    (robot_radius + safety_margin, 0.3 m), off the body (0.2 m). The target is behind on
    the right; the free heading needs a turn in place, which brings the body no closer to
    the post. Before, the broken margin blocked every motion, the turn too, until
    blocked_timeout failed the step (bench obstacle scene 125).
    """
    angles = np.linspace(0.0, 2.0 * math.pi, 36, endpoint=False)
    post = np.column_stack([0.12 + 0.09 * np.cos(angles), -0.36 + 0.09 * np.sin(angles)])
    _, output = _approaching_with_obstacles(post, target=(-1.0, -2.0))
    assert output.state == ActionState.TURNING, output.reason
    assert output.linear == 0.0 and output.angular < 0.0  # toward the target's side
    # Touching the body, though, nothing moves.
    _, output = _approaching_with_obstacles(post * 0.6, target=(-1.0, -2.0))
    assert output.state == ActionState.BLOCKED and output.angular == 0.0


def test_in_clutter_a_heading_free_for_a_shorter_travel_is_taken_before_heading_out():
    """
    Recorded clutter (test/data/diagonal_pocket.json) with no heading free for 1 m.

    A heading free for half of clearance_distance is taken, going around toward the target,
    instead of heading out of a pocket away from it.
    """
    recorded = json.loads((Path(__file__).resolve().parent / 'data' /
                           'diagonal_pocket.json').read_text())
    points, (x, y) = np.array(recorded['points']), recorded['goal']
    scale = (math.hypot(x, y) + CONFIG.stop_distance) / math.hypot(x, y)  # goal -> target
    _, output = _approaching_with_obstacles(
        points, target=(x * scale, y * scale),
        obstacles=ObstacleConfig(robot_radius=recorded['robot_radius']))
    assert 'going around an obstacle' in output.reason or \
        output.reason.startswith('turning to a free heading'), output.reason
    assert output.state in (ActionState.APPROACHING, ActionState.TURNING)


def test_heading_out_past_an_obstacle_in_the_slowdown_zone_slows_down_instead_of_blocking():
    """A wall on the right, the target behind it: it heads out along the wall, slowed by a post."""
    wall = np.column_stack([np.linspace(-3.0, 3.0, 121), np.full(121, -0.35)])
    target = (3.0 * math.cos(-1.5), 3.0 * math.sin(-1.5))
    narrow = ObstacleConfig(max_detour=0.3)  # no way toward the target: a pocket
    _, clear = _approaching_with_obstacles(wall, target=target, obstacles=narrow)
    assert clear.state == ActionState.APPROACHING and 'heading out' in clear.reason
    _, slowed = _approaching_with_obstacles(np.vstack([wall, [(0.2, -0.3)]]), target=target,
                                            obstacles=narrow)
    assert slowed.state == ActionState.APPROACHING and 'heading out' in slowed.reason
    assert 0.0 < slowed.linear < clear.linear


def test_nearly_facing_a_free_heading_in_a_tight_gap_it_finishes_the_turn():
    """
    Within face_tolerance of a free heading, the straight line along the yaw still clips.

    A post on the right edge of the band (lateral 0.298 m, the band 0.3 m): the free heading
    0.02 rad to the left passes it, the current yaw does not. The robot turns the last
    hundredths of a radian slowly instead of standing blocked (bench scene 108, the tight
    gap beside the blue cylinder). No odometry, so the points are used as given (the
    remembered ones are kept on a 5 cm grid).
    """
    controller = MotionController(CONFIG, ObstacleConfig(), MEMORY)
    controller.on_task(Task(1, 0, Intent.APPROACH), 0.0)
    posts = np.array([(0.15, -0.298), (0.8 * math.cos(0.5), 0.8 * math.sin(0.5))])
    for t in (0.0, 0.1):
        controller.on_perception(GroundingState.TRACKING, 'found', t)
        controller.on_target(2.5 * math.cos(-0.18), 2.5 * math.sin(-0.18), stamp=t)
        controller.on_obstacles(posts, stamp=t)
        output = controller.step(t)
    assert output.state == ActionState.TURNING, output.reason
    assert (output.linear, output.angular) == (0.0, CONFIG.min_angular)
    assert output.reason.startswith('turning to a free heading')


def test_a_wall_with_no_way_around_heads_out_then_fails_after_blocked_timeout():
    wall = _wall(0.4, -3.0, 3.0)
    controller, output = _approaching_with_obstacles(wall)
    assert output.state == ActionState.TURNING and 'heading out' in output.reason
    for t in (5.0, 12.0):  # the blocked clock runs on while it heads out
        _with_odometry(controller, t)
        controller.on_perception(GroundingState.TRACKING, 'found', t)
        controller.on_target(3.0, 0.0, stamp=t)
        controller.on_obstacles(wall, stamp=t)
        output = controller.step(t)
    assert output.state == ActionState.FAILED and 'blocked for' in output.reason


def test_the_target_objects_own_points_are_not_obstacles():
    target_surface = np.array([(0.9 + dx, y) for dx in (0.0, 0.1, 0.2)
                               for y in np.arange(-0.15, 0.16, 0.05)])
    _, output = _approaching_with_obstacles(target_surface, target=(0.9, 0.0))
    _, free = _approaching_with_obstacles(np.empty((0, 2)), target=(0.9, 0.0))
    assert output.state == ActionState.APPROACHING and output.linear > 0
    assert (output.linear, output.angular) == (free.linear, free.angular)  # not slowed


def test_stale_obstacle_data_holds():
    controller, _ = _approaching_with_obstacles(np.empty((0, 2)))
    _with_odometry(controller, 2.0)
    controller.on_perception(GroundingState.TRACKING, 'found', 2.0)
    controller.on_target(3.0, 0.0, stamp=2.0)
    output = controller.step(2.0)  # last obstacle data at 1.0 s, timeout 0.5 s
    assert (output.linear, output.state) == (0.0, ActionState.HOLDING) and 'old' in output.reason


def test_obstacles_seen_earlier_are_remembered_in_odom_after_leaving_the_view():
    controller = MotionController(CONFIG, ObstacleConfig())
    controller.on_odometry(0.0, 0.0, 0.0, stamp=0.0)
    controller.on_obstacles(np.array([[0.5, 0.0]]), stamp=0.0)
    controller.on_odometry(0.0, 0.0, math.pi / 2, stamp=0.5)  # turned away: not in view
    controller.on_obstacles(np.empty((0, 2)), stamp=0.5)
    points = controller.avoidance.map.points(controller.odometry)
    assert points[0] == pytest.approx((0.0, -0.5), abs=0.03)  # now on its right


def test_obstacles_are_forgotten_after_obstacle_memory():
    for memory, kept in ((5.0, 1), (1.0, 0)):
        controller = MotionController(CONFIG, ObstacleConfig(obstacle_memory=memory))
        controller.on_odometry(0.0, 0.0, 0.0, stamp=0.0)
        controller.on_obstacles(np.array([[0.5, 0.0]]), stamp=0.0)
        controller.on_odometry(0.0, 0.0, 0.0, stamp=1.5)
        controller.on_obstacles(np.empty((0, 2)), stamp=1.5)
        assert len(controller.avoidance.map.points(controller.odometry)) == kept


def test_a_new_reading_replaces_remembered_obstacles_only_where_it_sees():
    view = SensorView(0.0, 0.0, 0.0, half_angle=0.6, near=0.3, far=2.0)
    controller = MotionController(CONFIG, ObstacleConfig(obstacle_memory=20.0))
    controller.on_odometry(0.0, 0.0, 0.0, stamp=0.0)
    seen = np.array([[1.0, 0.0],    # ahead, in view: gone when the next reading shows none
                     [0.2, 0.0],    # ahead but nearer than the view reaches: kept
                     [0.3, 0.6]])   # beside the robot, out of view: kept
    controller.on_obstacles(seen, stamp=0.0, view=view)
    controller.on_odometry(0.0, 0.0, 0.0, stamp=10.0)
    controller.on_obstacles(np.empty((0, 2)), stamp=10.0, view=view)
    kept = controller.avoidance.map.points(controller.odometry)
    assert sorted(map(tuple, np.round(kept, 2))) == [(0.2, 0.0), (0.3, 0.6)]
    # Without a view nothing is cleared before obstacle_memory.
    controller.on_odometry(0.0, 0.0, 0.0, stamp=15.0)
    controller.on_obstacles(np.empty((0, 2)), stamp=15.0)
    assert len(controller.avoidance.map.points(controller.odometry)) == 2


def test_the_way_around_stays_on_the_side_it_began_on():
    right_of_line = np.array([(1.0, y) for y in np.arange(-0.16, 0.05, 0.02)])
    left_of_line = right_of_line * (1.0, -1.0)
    forgetful = ObstacleConfig(obstacle_memory=0.0)  # only the newest frame counts
    controller, first = _approaching_with_obstacles(right_of_line, obstacles=forgetful)
    assert first.angular > 0 and 'going around' in first.reason  # its left side
    # The obstacle now a little left of the line (the robot turned): on its own the right
    # side would be nearer, but the way around it stays on the left.
    _, fresh = _approaching_with_obstacles(left_of_line, obstacles=forgetful)
    assert fresh.angular < 0
    _with_odometry(controller, 1.5)
    controller.on_perception(GroundingState.TRACKING, 'found', 1.5)
    controller.on_target(3.0, 0.0, stamp=1.5)
    controller.on_obstacles(left_of_line, stamp=1.5)
    assert controller.step(1.5).angular > 0
    # A new step chooses afresh.
    controller.on_task(Task(2, 0, Intent.APPROACH), 1.6)
    assert controller.avoidance.side == 0


def test_searching_between_sightings_does_not_restart_the_blocked_clock():
    """
    Search between sightings does not restart the blocked clock.

    In a pocket the robot heads out, loses the target, searches and sees it again: the
    step still fails after blocked_timeout instead of cycling for ever.
    """
    wall = _wall(0.4, -3.0, 3.0)
    controller, output = _approaching_with_obstacles(wall)
    assert 'heading out' in output.reason
    for t in (5.0, 6.0):  # lost: memory expired (3 s), so it searches
        _with_odometry(controller, t)
        controller.on_perception(GroundingState.LOST, 'lost', t)
        controller.on_obstacles(wall, stamp=t)
        assert controller.step(t).state == ActionState.SEARCHING
    _with_odometry(controller, 12.0)
    controller.on_perception(GroundingState.TRACKING, 'found', 12.0)
    controller.on_target(3.0, 0.0, stamp=12.0)
    controller.on_obstacles(wall, stamp=12.0)
    output = controller.step(12.0)
    assert output.state == ActionState.FAILED and 'blocked for 12 s' in output.reason


def test_heading_out_that_moves_the_robot_restarts_the_blocked_clock():
    wall = _wall(0.4, -3.0, 3.0)
    narrow = ObstacleConfig(max_detour=0.3)  # no way around from either place
    controller, output = _approaching_with_obstacles(wall, obstacles=narrow)
    assert 'heading out' in output.reason
    for t in (8.0, 12.0):  # it moved 0.6 m along the wall by t = 8 s: progress
        _with_odometry(controller, t, (0.0, 0.6, 0.0))
        controller.on_perception(GroundingState.TRACKING, 'found', t)
        controller.on_target(3.0, 0.0, stamp=t)
        controller.on_obstacles(wall, stamp=t)  # the same wall, still 0.4 m ahead
        output = controller.step(t)
    assert output.state != ActionState.FAILED and 'heading out' in output.reason


# -- Nav2 hand-off ----------------------------------------------------------------------
def test_nav2_mode_publishes_no_velocity_and_a_goal_short_of_the_target_in_odom():
    controller = MotionController(MotionConfig(motion_mode='nav2'), NO_OBSTACLES)
    controller.on_task(Task(1, 0, Intent.APPROACH), 0.0)
    controller.on_odometry(1.0, 1.0, math.pi / 2, stamp=0.0)
    controller.on_perception(GroundingState.TRACKING, 'found', 0.0)
    controller.on_target(3.0, 0.0, stamp=0.0)  # 3 m ahead of a robot facing +y
    output = controller.step(0.0)
    assert output.state == ActionState.NAVIGATING and not output.publish
    x, y, yaw = controller.nav2_goal()
    assert (x, y) == pytest.approx((1.0, 1.0 + 3.0 - CONFIG.stop_distance), abs=1e-6)
    assert yaw == pytest.approx(math.pi / 2)
    controller.on_odometry(1.0, 1.0 + 2.5, math.pi / 2, stamp=0.1)  # Nav2 drove it there
    controller.on_perception(GroundingState.TRACKING, 'found', 0.1)
    controller.on_target(0.5, 0.0, stamp=0.1)
    assert controller.step(0.1).state == ActionState.REACHED and controller.nav2_goal() is None


def test_a_move_given_before_the_first_clock_waits_for_odometry_from_when_the_clock_starts():
    """Under use_sim_time ROS time reads 0 until the first /clock."""
    controller = controller_for()
    controller.on_task(Task(1, 0, Intent.MOVE, distance=1.0), 0.0)
    assert controller.step(35.0).state == ActionState.HOLDING  # not 'no odometry' at once
    controller.on_odometry(0.0, 0.0, 0.0, stamp=35.1)
    assert controller.step(35.1).state == ActionState.MOVING


def test_a_restarted_grounding_nodes_command_1_is_a_new_task():
    controller = _tracking(Intent.FACE)
    controller.on_target(1.0, 0.0, stamp=0.0)
    assert controller.step(0.0).state == ActionState.FACING
    controller.on_task(Task(1, 0, Intent.APPROACH, run_id='restarted'), 0.1)  # also id 1
    controller.on_perception(GroundingState.TRACKING, 'found', 0.1)
    controller.on_target(3.0, 0.0, stamp=0.1)
    assert controller.step(0.1).state == ActionState.APPROACHING


def test_the_readme_lists_the_safety_rules_of_the_safety_module():
    import re

    from clip_grounding_ros.core.motion import safety

    root = Path(__file__).resolve().parents[1]
    readme = (root / 'README.md').read_text()
    section = readme[readme.index('## Safety'):readme.index('\n## ', readme.index('## Safety'))]
    in_readme = re.findall(r'^- \*\*([a-z ]+)\*\*:', section, re.MULTILINE)
    in_module = re.findall(r'^\d+\. \*\*([a-z ]+)\*\*:', safety.__doc__, re.MULTILINE)
    assert len(in_module) == 10 and in_readme == in_module


def _arrive(target, neighbours, t=0.0):
    """Two ticks of an approach to ``target`` with ``neighbours`` (and the target's points)."""
    controller = MotionController(CONFIG, ObstacleConfig(), MEMORY)
    controller.on_task(Task(1, 0, Intent.APPROACH), 0.0)
    own = np.array([(target[0] + dx, target[1] + dy) for dx in (0.0, 0.1) for dy in (-0.1, 0.1)])
    for now in (t, t + 0.1):  # the second from a standstill: accelerating
        controller.on_perception(GroundingState.TRACKING, 'found', now)
        controller.on_target(*target, stamp=now)
        controller.on_obstacles(np.vstack([own, *neighbours]) if neighbours else own,
                                stamp=now)
        output = controller.step(now)
    return output


def test_an_approach_ends_nearer_to_the_target_than_to_any_other_object():
    """
    At stop_distance with a neighbour about as near, it goes closer, down to its clearance.

    Measured: 'go to the red cylinder' stopped 0.46 m from it and 0.45 m from a white one.
    """
    alone = _arrive((0.44, 0.0), [])
    assert alone.state == ActionState.REACHED
    beside = [np.array([(0.45, 0.42), (0.5, 0.42)])]  # 0.62 m from the base: clear by 0.18
    assert _arrive((0.44, 0.0), beside).state == ActionState.REACHED
    crowded = [np.array([(0.2, 0.45), (0.25, 0.45)])]  # 0.49 m away: as near as the target
    closer = _arrive((0.44, 0.0), crowded)
    assert closer.state == ActionState.APPROACHING and closer.linear > 0
    assert 'going closer than stop_distance: another object is 0.49 m away' in closer.reason
    assert _arrive((0.3, 0.0), crowded).state == ActionState.REACHED  # now clear by 0.19 m
    tight = [np.array([(0.05, 0.3), (0.1, 0.3)])]  # 0.30 m away, beside the robot
    at_clearance = _arrive((0.27, 0.0), tight)  # at robot_radius + safety_margin: no closer
    assert at_clearance.state == ActionState.REACHED
    assert 'another object is as near, 0.30 m' in at_clearance.reason
    # Neighbours flanking the way in, nearer than the footprint's width: going closer would
    # mean going around or through them (a pocket); it has arrived where it is (the trial's
    # 'blocked for 10 s: out of a pocket' at 0.41 m from the ball it named).
    sides = np.concatenate([np.arange(-0.6, -0.12, 0.03), np.arange(0.13, 0.6, 0.03)])
    flanks = [np.column_stack([np.full(len(sides), 0.3), sides])]
    hemmed = _arrive((0.44, 0.0), crowded + flanks)
    assert hemmed.state == ActionState.REACHED and 'no free way closer' in hemmed.reason


def test_a_search_holds_still_while_a_candidate_is_confirmed_then_turns_on():
    """A match in view that grounding has not committed to yet: hold 2 s, no longer."""
    controller = controller_for()
    controller.on_task(Task(1, 0, Intent.APPROACH), 0.0)
    outputs = {}
    for t in (0.0, 0.1, 1.0, 2.0, 3.1, 3.2):
        controller.on_perception(GroundingState.LOST, 'waiting for agreeing groundings', t,
                                 found=False, pending=t >= 1.0)
        outputs[t] = controller.step(t)
    assert outputs[0.1].state == ActionState.SEARCHING and outputs[0.1].angular != 0
    assert outputs[1.0].state == ActionState.SEARCHING and outputs[1.0].angular == 0.0
    assert outputs[1.0].reason.startswith('holding still to confirm')
    assert outputs[2.0].angular == 0.0 and outputs[3.2].angular != 0  # 2 s held: turns on


@pytest.mark.parametrize('x, y, state', [
    (3.0, 0.0, ActionState.APPROACHING),   # farther than follow_distance: drive after it
    (0.8, 0.0, ActionState.FACING),        # nearer: hold, facing it
    (0.6, 0.5, ActionState.FACING),        # nearer and to the left: turn toward it only
])
def test_a_follow_keeps_follow_distance_and_never_ends_as_reached(x, y, state):
    controller = _tracking(Intent.FOLLOW)
    output = _run(controller, [i / 20 for i in range(10)], target=(x, y))
    assert output.state == state
    status = controller.status(output)
    assert status.outcome == StepOutcome.ACTIVE  # a follow goes on until a stop
    if state == ActionState.FACING:
        assert output.linear == 0.0 and (output.angular > 0) == (y > 0.1)
        assert f'keeping {CONFIG.follow_distance:.2f} m' in output.reason
    else:
        assert output.linear > 0


def test_a_follow_holding_at_follow_distance_drives_again_only_beyond_a_band():
    """Hysteresis: no flip between facing and driving while the target sits at the distance."""
    from clip_grounding_ros.core.motion.controller import FOLLOW_BAND

    controller = _tracking(Intent.FOLLOW)
    keep = CONFIG.follow_distance
    held = _run(controller, [i / 20 for i in range(10)], target=(keep - 0.1, 0.0))
    assert held.state == ActionState.FACING
    inside = _run(controller, [0.5 + i / 20 for i in range(5)],
                  target=(keep + FOLLOW_BAND - 0.05, 0.0))
    assert inside.state == ActionState.FACING and inside.linear == 0.0
    beyond = _run(controller, [0.75 + i / 20 for i in range(5)],
                  target=(keep + FOLLOW_BAND + 0.1, 0.0))
    assert beyond.state == ActionState.APPROACHING and beyond.linear > 0
    # Driving, it goes on until follow_distance itself, not the band's edge.
    driving = _run(controller, [1.0 + i / 20 for i in range(5)],
                   target=(keep + FOLLOW_BAND - 0.05, 0.0))
    assert driving.state == ActionState.APPROACHING
