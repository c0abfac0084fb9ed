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
The velocity laws: how the base turns toward, drives to, moves and turns by, without obstacles.

Pure functions of a goal and :class:`.config.MotionConfig`; each returns (linear, angular,
done): m/s forward and rad/s counter-clockwise (REP-103), and whether the goal is met.
Obstacles are :mod:`.avoidance`'s, the rules that stop the robot :mod:`.safety`'s.
"""

from __future__ import annotations

import math

from .config import MotionConfig
from ..contract.status import ActionState

# What the controller decides in one tick: the state, the velocity (m/s, rad/s) and the reason.
Decision = tuple[ActionState, tuple[float, float], str]


def _clip(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


def approach_velocity(x: float, y: float, config: MotionConfig,
                      stop_distance: float | None = None) -> tuple[float, float, bool]:
    """
    (linear, angular, reached) to drive to a base-frame point and stop short of it.

    Turns toward the bearing; drives forward only while roughly facing it, slowing
    linearly over the last metres (down to ``min_linear``) so the stop at
    ``stop_distance`` (m; None: the configured one) is gentle but does arrive.
    """
    stop = config.stop_distance if stop_distance is None else stop_distance
    distance, bearing = math.hypot(x, y), math.atan2(y, x)
    if distance <= stop:
        return 0.0, 0.0, True
    angular = _clip(config.k_angular * bearing, config.max_angular)
    heading = max(0.0, 1.0 - abs(bearing) / config.align_angle)
    linear = min(config.max_linear, max(config.min_linear, config.k_linear * (distance - stop)))
    return linear * heading, angular, False


def face_velocity(x: float, y: float, config: MotionConfig) -> tuple[float, float, bool]:
    """(0, angular, aligned) to turn in place toward a base-frame point."""
    bearing = math.atan2(y, x)
    if abs(bearing) <= config.face_tolerance:
        return 0.0, 0.0, True
    return 0.0, _clip(config.k_angular * bearing, config.max_angular), False


def _toward(remaining: float, gain: float, slowest: float, fastest: float) -> float:
    """Speed toward a goal ``remaining`` away (signed): proportional, between the limits."""
    return math.copysign(min(fastest, max(slowest, gain * abs(remaining))), remaining)


def move_velocity(travelled: float, heading_error: float, distance: float,
                  config: MotionConfig) -> tuple[float, float, bool]:
    """
    Return (linear, angular, done) for a straight move of ``distance`` metres.

    ``distance`` negative: backward. ``travelled`` (signed, along the start heading) of it is done;
    ``heading_error`` (rad) is the start heading minus the current one and is corrected while
    driving.
    """
    remaining = distance - travelled
    if abs(remaining) <= config.move_tolerance:
        return 0.0, 0.0, True
    linear = _toward(remaining, config.k_linear, config.min_linear, config.max_linear)
    return linear, _clip(config.k_angular * heading_error, config.max_angular), False


def turn_velocity(turned: float, angle: float, config: MotionConfig) -> tuple[float, float, bool]:
    """
    Return (0, angular, done) for a turn in place by ``angle`` radians.

    ``angle`` positive: left. ``turned`` (signed, unwrapped) of it is done.
    """
    remaining = angle - turned
    if abs(remaining) <= config.turn_tolerance:
        return 0.0, 0.0, True
    return 0.0, _toward(remaining, config.k_angular, config.min_angular,
                        config.max_angular), False


def limit_acceleration(previous: tuple[float, float], desired: tuple[float, float],
                       dt: float, config: MotionConfig) -> tuple[float, float]:
    """Move from ``previous`` toward ``desired`` no faster than the acceleration limits."""
    dt = max(dt, 0.0)
    linear = previous[0] + _clip(desired[0] - previous[0], config.max_linear_accel * dt)
    angular = previous[1] + _clip(desired[1] - previous[1], config.max_angular_accel * dt)
    return linear, angular
