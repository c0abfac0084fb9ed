"""The motion law and the safety logic of the action node, as plain functions and a class.

All times are seconds on the caller's clock (ROS time in the node, so ``use_sim_time``
works). Every path that is not a fresh, confirmed target ends in zero velocity with a reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .commands import APPROACH, CLASSIFY, FACE, FIND, PICK, STOP

# Motion states reported on the action node's status topic.
IDLE, TURNING, APPROACHING, FACING, SEARCHING, REACHED, STOPPED, HOLDING = (
    'idle', 'turning', 'approaching', 'facing', 'searching', 'reached', 'stopped', 'holding')


@dataclass(frozen=True)
class MotionConfig:
    """Gains, limits and timeouts; mirrors the action node's parameters."""

    max_linear: float = 0.4           # m/s
    max_angular: float = 1.0          # rad/s
    max_linear_accel: float = 0.8     # m/s^2
    max_angular_accel: float = 3.0    # rad/s^2
    k_linear: float = 0.8             # 1/s, speed per metre still to go
    min_linear: float = 0.08          # m/s; the last centimetres are not crept forever
    k_angular: float = 1.5            # 1/s, turn rate per radian of bearing
    stop_distance: float = 0.6        # m from the base origin to the target point
    align_angle: float = 0.6          # rad; beyond this bearing, turn in place first
    face_tolerance: float = 0.05      # rad; facing intents hold still inside it
    target_timeout: float = 1.0       # s; older targets are ignored
    status_timeout: float = 2.0       # s; a silent grounding node stops the robot
    search_enabled: bool = False
    search_angular: float = 0.5       # rad/s while searching
    search_duration: float = 15.0     # s; bounded

    def __post_init__(self):
        positive = ('max_linear', 'min_linear', 'max_angular', 'max_linear_accel',
                    'max_angular_accel', 'k_linear', 'k_angular', 'align_angle', 'face_tolerance',
                    'target_timeout', 'status_timeout', 'search_angular', 'search_duration')
        problems = [f'{name} must be > 0 (got {getattr(self, name)})'
                    for name in positive if not getattr(self, name) > 0]
        if not self.stop_distance >= 0:
            problems.append(f'stop_distance must be >= 0 (got {self.stop_distance})')
        if self.min_linear > self.max_linear:
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
    state: str
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
        self.intent: str | None = None
        self.command_id: int | None = None
        self.perception_state = 'idle'
        self.perception_message = ''
        self.perception_time: float | None = None
        self.target: Target | None = None
        self.last_seen: float | None = None
        self.search_bearing_sign = 1.0
        self.reached = False
        self.output = (0.0, 0.0)
        self.last_step: float | None = None

    def on_command(self, intent: str, command_id: int | None, now: float) -> None:
        """A new command: reset the reached latch and forget the old target.

        Statuses repeat the active command's id; those are not new commands (and must not
        undo a stop received directly on the command topic).
        """
        if command_id is not None and command_id == self.command_id:
            return
        self.intent, self.command_id = intent, command_id
        self.target, self.reached, self.last_seen = None, False, now

    def on_perception(self, state: str, message: str, now: float) -> None:
        self.perception_state, self.perception_message, self.perception_time = state, message, now

    def on_target(self, x: float, y: float, stamp: float) -> None:
        self.target = Target(x, y, stamp)
        self.last_seen = stamp
        if abs(y) > 1e-3:
            self.search_bearing_sign = math.copysign(1.0, y)

    def stop(self) -> None:
        """Immediate stop (a stop command, shutdown, or a safety stop from outside)."""
        self.intent, self.reached, self.output = STOP, False, (0.0, 0.0)

    def step(self, now: float) -> MotionOutput:
        dt = 0.0 if self.last_step is None else now - self.last_step
        self.last_step = now
        state, desired, reason = self._decide(now)
        if desired == (0.0, 0.0):
            self.output = desired  # safety stops are immediate, not ramped
        else:
            self.output = limit_acceleration(self.output, desired, dt, self.config)
        return MotionOutput(self.output[0], self.output[1], state, reason)

    def _decide(self, now: float) -> tuple[str, tuple[float, float], str]:
        config, zero = self.config, (0.0, 0.0)
        if self.intent in (None, CLASSIFY):
            return IDLE, zero, 'no motion command'
        if self.intent == STOP:
            return STOPPED, zero, 'stop command'
        if self.reached:
            return REACHED, zero, 'target reached'
        if self.perception_time is None or now - self.perception_time > config.status_timeout:
            return HOLDING, zero, 'no status from the grounding node'
        if self.perception_state in ('error', 'stopped', 'idle'):
            return STOPPED, zero, f'grounding {self.perception_state}: {self.perception_message}'
        if self.perception_state != 'tracking':
            return self._search(now)
        if self.target is None:
            return HOLDING, zero, 'tracking but no target position yet'
        age = now - self.target.stamp
        if age > config.target_timeout:
            return HOLDING, zero, (f'target is {age:.2f} s old (timeout '
                                   f'{config.target_timeout:.2f} s)')
        if self.intent in (APPROACH, PICK):
            linear, angular, reached = approach_velocity(self.target.x, self.target.y, config)
            if reached:
                self.reached = True
                return REACHED, zero, 'target reached'
            state = APPROACHING if linear > 0 else TURNING
            return state, (linear, angular), f'{self.intent} target'
        if self.intent in (FACE, FIND):
            _, angular, aligned = face_velocity(self.target.x, self.target.y, config)
            return (FACING, zero, 'facing target') if aligned else (
                TURNING, (0.0, angular), 'turning toward target')
        return STOPPED, zero, f"intent '{self.intent}' does not move the base"

    def _search(self, now: float) -> tuple[str, tuple[float, float], str]:
        message = self.perception_message or f'target {self.perception_state}'
        since = now - (self.last_seen if self.last_seen is not None else now)
        if self.config.search_enabled and since <= self.config.search_duration:
            return SEARCHING, (0.0, self.search_bearing_sign * self.config.search_angular), (
                f'searching ({since:.1f}/{self.config.search_duration:.0f} s): {message}')
        return STOPPED, (0.0, 0.0), message
