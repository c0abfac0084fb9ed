"""The control law and the action node's safety logic, on their own (no ROS)."""

import math

import pytest

from clip_grounding_ros.core.status import ActionState
from clip_grounding_ros.core.control import (MotionConfig, MotionController, approach_velocity,
                                             face_velocity, limit_acceleration)

CONFIG = MotionConfig()


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


def _tracking(intent='approach', now=0.0, config=CONFIG):
    controller = MotionController(config)
    controller.on_command(intent, 1, now)
    controller.on_perception('tracking', 'found', now)
    return controller


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
    for t in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5):
        controller.on_perception('tracking', 'found', t)
        moving = controller.step(t)
    assert moving.linear > 0
    controller.on_perception('tracking', 'found', 1.6)
    stale = controller.step(1.6)
    assert (stale.linear, stale.angular, stale.state) == (0.0, 0.0, ActionState.HOLDING)
    assert 'old' in stale.reason


def test_silent_grounding_node_stops_the_robot():
    controller = _tracking()
    controller.on_target(3.0, 0.0, stamp=5.0)
    output = controller.step(5.0 + CONFIG.status_timeout + 0.1)
    assert (output.linear, output.angular, output.state) == (0.0, 0.0, ActionState.HOLDING)
    assert 'grounding node' in output.reason


@pytest.mark.parametrize('state', ['lost', 'searching', 'error'])
def test_lost_or_error_stops_without_search(state):
    controller = _tracking()
    controller.on_target(3.0, 0.0, stamp=0.0)
    controller.on_perception(state, 'no blue box in view', 0.2)
    output = controller.step(0.2)
    assert (output.linear, output.angular, output.state) == (0.0, 0.0, ActionState.STOPPED)
    assert 'no blue box' in output.reason


def test_search_rotates_toward_last_seen_side_and_is_bounded():
    config = MotionConfig(search_enabled=True, search_duration=5.0)
    controller = _tracking(config=config)
    controller.on_target(2.0, -0.5, stamp=1.0)  # last seen on the right
    controller.on_perception('lost', 'lost', 2.0)
    controller.step(2.0)
    controller.on_perception('lost', 'lost', 2.5)
    searching = controller.step(2.5)  # ramped up by the acceleration limit
    assert searching.state == ActionState.SEARCHING and searching.angular < 0
    controller.on_perception('lost', 'lost', 6.5)
    assert controller.step(6.5).state == ActionState.STOPPED  # 5.5 s after last seen


def test_reached_latches_until_a_new_command():
    controller = _tracking()
    controller.on_target(0.5, 0.0, stamp=0.0)
    assert controller.step(0.0).state == ActionState.REACHED
    controller.on_target(2.0, 0.0, stamp=0.1)  # target appears farther again: stay put
    controller.on_perception('tracking', 'found', 0.1)
    assert controller.step(0.1).state == ActionState.REACHED
    controller.on_command('approach', 2, 0.2)
    controller.on_perception('tracking', 'found', 0.2)
    controller.on_target(2.0, 0.0, stamp=0.2)
    assert controller.step(0.2).state == ActionState.APPROACHING


def test_stop_is_immediate():
    controller = _tracking()
    controller.on_target(3.0, 0.0, stamp=0.0)
    for t in (0.0, 0.5, 1.0):
        controller.on_perception('tracking', 'found', t)
        controller.on_target(3.0, 0.0, stamp=t)
        controller.step(t)
    controller.stop()
    output = controller.step(1.01)
    assert (output.linear, output.angular, output.state) == (0.0, 0.0, ActionState.STOPPED)


def test_face_intent_turns_then_holds():
    controller = _tracking('face')
    controller.on_target(1.0, 1.0, stamp=0.0)
    turning = controller.step(0.0)
    assert turning.state == ActionState.TURNING and turning.linear == 0.0
    controller.on_target(1.0, 0.0, stamp=0.05)
    assert controller.step(0.05).state == ActionState.FACING


def test_no_command_is_idle_and_still():
    output = MotionController(CONFIG).step(0.0)
    assert (output.linear, output.angular, output.state) == (0.0, 0.0, ActionState.IDLE)


def test_search_direction_defaults_left():
    config = MotionConfig(search_enabled=True)
    controller = _tracking(config=config)
    controller.on_perception('searching', 'looking', 0.1)
    assert controller.step(0.1).angular == 0.0  # no time has passed: no acceleration yet
    assert math.isclose(controller.step(0.5).angular, config.search_angular)


def test_repeated_status_of_the_same_command_does_not_undo_a_stop():
    controller = _tracking()
    controller.on_target(3.0, 0.0, stamp=0.0)
    controller.stop()
    controller.on_command('approach', 1, 0.1)  # a status still announcing command 1
    controller.on_perception('tracking', 'found', 0.1)
    assert controller.step(0.1).state == ActionState.STOPPED
    controller.on_command('approach', 2, 0.2)  # a new command moves again
    controller.on_target(3.0, 0.0, stamp=0.2)
    assert controller.step(0.2).state == ActionState.APPROACHING
