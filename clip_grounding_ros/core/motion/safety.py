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
The safety rules: every reason action_node sends zero velocity, in one place.

The robot stops (zero velocity at once, the reason in ``action/status`` ``reason``) when:

1. **stop**: a stop command arrives (action_node acts on it directly, even with
   grounding_node down: :attr:`..language.steps.Command.is_stop`), or an unparseable
   command replaces the current one;
2. **grounding status**: no ``grounding/status`` for ``status_timeout``
   (:func:`check_status`: grounding_node dead), or it reports ``error``, ``stopped`` or
   ``idle`` (:func:`check_perception`: no frames, bad camera_info, a target above the
   horizon, ...);
3. **target**: the target is older than ``target_timeout``, stamped in the future
   (:func:`check_target`), not finite, in another frame than ``base_frame``, or farther than
   ``association_gate`` from the remembered one (another object): ignored, the robot holds;
4. **lost target**: an approach goes on to where it was last seen, then the robot searches
   and the step fails (controller);
5. **odometry**: missing or older than ``odom_timeout`` for a move, a turn or a nav2 goal
   (:func:`check_odometry`), or not finite;
6. **obstacle data**: missing, older than ``obstacle_timeout`` or stamped in the future
   (:func:`check_obstacle_data`);
7. **obstacle in the path**: the footprint's swept path meets an obstacle within the
   stopping distance (``blocked``; slowed in the slowdown zone beyond:
   :func:`.obstacles.check_path`), or no free heading lies within ``max_detour``
   (:mod:`.avoidance`); a step that makes no progress while blocked fails after
   ``blocked_timeout``;
8. **time**: ROS time jumps back or changes source (everything dated is dropped, a move in
   progress is cancelled), or stops advancing while the robot moves (action_node's steady
   clock watchdog);
9. **velocity**: a computed velocity is not finite (:func:`check_velocity`);
10. **shutdown**: the node stops (Ctrl-C, SIGTERM) after a last zero, acknowledged.

Stops are immediate; speeding up is limited by the acceleration limits. Each check returns a
:class:`Verdict`: FREE, or STOP with the reason (SLOW for the path check's slowdown zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
import math

from ..contract.status import GroundingState
from ..contract.timing import age, fresh


class Action(Enum):
    """What a verdict asks of the base, from least to most restrictive."""

    FREE = 'free'
    SLOW = 'slow'
    STOP = 'stop'

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Verdict:
    """
    A safety decision: scale the commanded velocity by ``scale``.

    Both linear and angular velocity; ``scale`` is 1 for FREE, ``slowdown_ratio`` for SLOW, 0 for
    STOP. ``nearest`` is the free travel (m) to the nearest obstacle in the checked zones, None
    when they are clear.
    """

    action: Action
    scale: float
    reason: str
    nearest: float | None = None

    @property
    def stops(self) -> bool:
        return self.action == Action.STOP


FREE = Verdict(Action.FREE, 1.0, '')


def _stop(reason: str) -> Verdict:
    return Verdict(Action.STOP, 0.0, reason)


def check_status(now: float, received: float | None, timeout: float) -> Verdict:
    """Rule 2: STOP when the last grounding status (received at ``received`` s) is stale."""
    if not fresh(now, received, timeout):
        return _stop('no status from the grounding node')
    return FREE


def check_perception(state: GroundingState, message: str) -> Verdict:
    """Rule 2: STOP when grounding_node reports an error, a stop, or no command (idle)."""
    if state in (GroundingState.ERROR, GroundingState.STOPPED, GroundingState.IDLE):
        return _stop(f'grounding {state}: {message}')
    return FREE


def check_target(now: float, stamp: float | None, timeout: float) -> Verdict:
    """
    Rule 3: STOP unless the target's image was taken within ``timeout`` s of ``now``.

    Either way: a target stamped further in the future is as undatable as an old one.
    """
    if stamp is None:
        return _stop('tracking but no target position yet')
    if fresh(now, stamp, timeout):
        return FREE
    target_age = age(now, stamp)
    when = 'old' if target_age > 0 else 'in the future (undatable)'
    return _stop(f'target is {abs(target_age):.2f} s {when} (timeout {timeout:.2f} s)')


def check_odometry(now: float, stamp: float | None, timeout: float) -> Verdict:
    """Rule 5: STOP unless odometry stamped within ``timeout`` s of ``now`` has arrived."""
    if fresh(now, stamp, timeout):
        return FREE
    return _stop('waiting for fresh odometry on odom')


def check_obstacle_data(data_age: float | None, source: str, timeout: float) -> Verdict:
    """
    Rule 6: STOP when obstacle data is missing, stale or stamped in the future.

    ``data_age`` is now minus the data's stamp (s), None when none has arrived; ``source``
    names it for the reason. ValueError for a non-finite age.
    """
    if data_age is None:
        return _stop(f'no obstacle data ({source}) received yet')
    if not math.isfinite(data_age):
        raise ValueError(f'obstacle data age must be finite, got {data_age}')
    if data_age > timeout:
        return _stop(f'obstacle data ({source}) is {data_age:.2f} s old (timeout '
                     f'{timeout:.2f} s)')
    if data_age < -timeout:
        return _stop(f'obstacle data ({source}) is stamped {-data_age:.2f} s in the future '
                     '(did the clock jump back?)')
    return Verdict(Action.FREE, 1.0, f'obstacle data ({source}) is fresh')


def check_velocity(linear: float, angular: float) -> Verdict:
    """Rule 9: STOP for a velocity that is not finite."""
    if math.isfinite(linear) and math.isfinite(angular):
        return FREE
    return _stop(f'computed a non-finite velocity {(linear, angular)}: stopped')
