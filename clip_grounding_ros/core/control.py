"""The motion law and the safety logic of the action node, as plain functions and a class.

All times are seconds on the caller's clock (ROS time in the node, so ``use_sim_time``
works). Every path that is not a fresh, confirmed target ends in zero velocity with a reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .commands import Intent
from .parameters import check_settings, setting
from .status import ActionState, GroundingState


@dataclass(frozen=True)
class MotionConfig:
    """Gains, limits and timeouts: the action node's motion parameters."""

    max_linear: float = setting(0.4, 'Speed limit (m/s)', minimum=0.01, maximum=10.0)
    max_angular: float = setting(1.0, 'Turn rate limit (rad/s)', minimum=0.01, maximum=20.0)
    max_linear_accel: float = setting(0.8, 'Linear acceleration limit (m/s^2)',
                                      minimum=0.01, maximum=100.0)
    max_angular_accel: float = setting(3.0, 'Angular acceleration limit (rad/s^2)',
                                       minimum=0.01, maximum=100.0)
    k_linear: float = setting(0.8, 'Forward speed per metre still to go (1/s)',
                              minimum=0.01, maximum=100.0)
    min_linear: float = setting(0.08, 'Slowest forward speed while approaching (m/s), so the '
                                'robot arrives', minimum=0.001, maximum=10.0)
    k_angular: float = setting(1.5, 'Turn rate per radian of bearing (1/s)',
                               minimum=0.01, maximum=100.0)
    stop_distance: float = setting(0.6, 'Stop when the target point is this close to the base '
                                   'origin (m)', minimum=0.0, maximum=100.0)
    align_angle: float = setting(0.6, 'Beyond this bearing (rad) turn in place before driving',
                                 minimum=0.01, maximum=3.1416)
    face_tolerance: float = setting(0.05, 'Facing intents hold still within this bearing (rad)',
                                    minimum=0.001, maximum=3.1416)
    target_timeout: float = setting(1.0, 'Targets older than this (s, ROS time) stop the robot',
                                    minimum=0.01, maximum=3600.0)
    status_timeout: float = setting(2.0, 'No grounding status for this long (s, ROS time) '
                                    'stops the robot', minimum=0.01, maximum=3600.0)
    search_enabled: bool = setting(False, 'Rotate in place to re-acquire a lost target')
    search_angular: float = setting(0.5, 'Turn rate while searching (rad/s)',
                                    minimum=0.01, maximum=20.0)
    search_duration: float = setting(15.0, 'Give up searching after this long (s)',
                                     minimum=0.01, maximum=3600.0)

    def __post_init__(self):
        problems = check_settings(self)
        if not problems and self.min_linear > self.max_linear:
            problems.append(f'min_linear {self.min_linear} exceeds max_linear {self.max_linear}')
        if problems:
            raise ValueError('; '.join(problems))


def _clip(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


def approach_velocity(x: float, y: float, config: MotionConfig) -> tuple[float, float, bool]:
    """(linear, angular, reached) to drive to a base-frame point and stop short of it.

    Turns toward the bearing; drives forward only while roughly facing it, slowing
    linearly over the last metres (down to ``min_linear``) so the stop at
    ``stop_distance`` is gentle but does arrive.
    """
    distance, bearing = math.hypot(x, y), math.atan2(y, x)
    if distance <= config.stop_distance:
        return 0.0, 0.0, True
    angular = _clip(config.k_angular * bearing, config.max_angular)
    heading = max(0.0, 1.0 - abs(bearing) / config.align_angle)
    linear = min(config.max_linear, max(config.min_linear,
                                        config.k_linear * (distance - config.stop_distance)))
    return linear * heading, angular, False


def face_velocity(x: float, y: float, config: MotionConfig) -> tuple[float, float, bool]:
    """(0, angular, aligned) to turn in place toward a base-frame point."""
    bearing = math.atan2(y, x)
    if abs(bearing) <= config.face_tolerance:
        return 0.0, 0.0, True
    return 0.0, _clip(config.k_angular * bearing, config.max_angular), False


def limit_acceleration(previous: tuple[float, float], desired: tuple[float, float],
                       dt: float, config: MotionConfig) -> tuple[float, float]:
    """Move from ``previous`` toward ``desired`` no faster than the acceleration limits."""
    dt = max(dt, 0.0)
    linear = previous[0] + _clip(desired[0] - previous[0], config.max_linear_accel * dt)
    angular = previous[1] + _clip(desired[1] - previous[1], config.max_angular_accel * dt)
    return linear, angular


@dataclass(frozen=True)
class MotionOutput:
    linear: float
    angular: float
    state: ActionState
    reason: str


@dataclass(frozen=True)
class Target:
    x: float
    y: float
    stamp: float  # time the image it came from was taken


class MotionController:
    """Turns the latest command, perception state and target into a velocity.

    Feed it with :meth:`on_command`, :meth:`on_perception` and :meth:`on_target` as
    messages arrive and call :meth:`step` at the control rate.
    """

    def __init__(self, config: MotionConfig):
        self.config = config
        self.intent: Intent | None = None
        self.command_id: int | None = None
        self.perception_state = GroundingState.IDLE
        self.perception_message = ''
        self.perception_time: float | None = None
        self.target: Target | None = None
        self.last_seen: float | None = None
        self.search_bearing_sign = 1.0
        self.reached = False
        self.output = (0.0, 0.0)
        self.last_step: float | None = None

    def on_command(self, intent: Intent | None, command_id: int | None, now: float) -> None:
        """A new command: reset the reached latch and forget the old target.

        Statuses repeat the active command's id; those are not new commands (and must not
        undo a stop received directly on the command topic).
        """
        if command_id is not None and command_id == self.command_id:
            return
        self.intent, self.command_id = intent, command_id
        self.target, self.reached, self.last_seen = None, False, now

    def on_perception(self, state: GroundingState, message: str, now: float) -> None:
        self.perception_state, self.perception_message, self.perception_time = state, message, now

    def on_target(self, x: float, y: float, stamp: float) -> None:
        self.target = Target(x, y, stamp)
        self.last_seen = stamp
        if abs(y) > 1e-3:
            self.search_bearing_sign = math.copysign(1.0, y)

    def stop(self) -> None:
        """Immediate stop (a stop command, shutdown, or a safety stop from outside)."""
        self.intent, self.reached, self.output = Intent.STOP, False, (0.0, 0.0)

    def step(self, now: float) -> MotionOutput:
        dt = 0.0 if self.last_step is None else now - self.last_step
        self.last_step = now
        state, desired, reason = self._decide(now)
        if desired == (0.0, 0.0):
            self.output = desired  # safety stops are immediate, not ramped
        else:
            self.output = limit_acceleration(self.output, desired, dt, self.config)
        return MotionOutput(self.output[0], self.output[1], state, reason)

    def _decide(self, now: float) -> tuple[ActionState, tuple[float, float], str]:
        config, zero = self.config, (0.0, 0.0)
        if self.intent is None and self.perception_state == GroundingState.ERROR:
            return ActionState.STOPPED, zero, f'grounding error: {self.perception_message}'
        if self.intent in (None, Intent.CLASSIFY):
            return ActionState.IDLE, zero, 'no motion command'
        if self.intent == Intent.STOP:
            return ActionState.STOPPED, zero, 'stop command'
        if self.reached:
            return ActionState.REACHED, zero, 'target reached'
        if self.perception_time is None or now - self.perception_time > config.status_timeout:
            return ActionState.HOLDING, zero, 'no status from the grounding node'
        if self.perception_state in (GroundingState.ERROR, GroundingState.STOPPED,
                                     GroundingState.IDLE):
            return ActionState.STOPPED, zero, (f'grounding {self.perception_state}: '
                                               f'{self.perception_message}')
        if self.perception_state != GroundingState.TRACKING:
            return self._search(now)
        if self.target is None:
            return ActionState.HOLDING, zero, 'tracking but no target position yet'
        age = now - self.target.stamp
        if age > config.target_timeout:
            return ActionState.HOLDING, zero, (f'target is {age:.2f} s old (timeout '
                                   f'{config.target_timeout:.2f} s)')
        if self.intent in (Intent.APPROACH, Intent.PICK):
            linear, angular, reached = approach_velocity(self.target.x, self.target.y, config)
            if reached:
                self.reached = True
                return ActionState.REACHED, zero, 'target reached'
            state = ActionState.APPROACHING if linear > 0 else ActionState.TURNING
            return state, (linear, angular), f'{self.intent} target'
        if self.intent in (Intent.FACE, Intent.FIND):
            _, angular, aligned = face_velocity(self.target.x, self.target.y, config)
            return (ActionState.FACING, zero, 'facing target') if aligned else (
                ActionState.TURNING, (0.0, angular), 'turning toward target')
        return ActionState.STOPPED, zero, f"intent '{self.intent}' does not move the base"

    def _search(self, now: float) -> tuple[ActionState, tuple[float, float], str]:
        message = self.perception_message or f'target {self.perception_state}'
        since = now - (self.last_seen if self.last_seen is not None else now)
        if self.config.search_enabled and since <= self.config.search_duration:
            turn = self.search_bearing_sign * self.config.search_angular
            return ActionState.SEARCHING, (0.0, turn), (
                f'searching ({since:.1f}/{self.config.search_duration:.0f} s): {message}')
        return ActionState.STOPPED, (0.0, 0.0), message
