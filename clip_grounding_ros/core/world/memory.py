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
Where the target was last seen, kept in the odometry frame while the robot moves.

Grounding runs slower than control and loses the target now and then (occluded by an
obstacle the robot drives around, out of view while it turns). The memory turns the last
sighting, measured in the base frame of the robot when its image was taken, into a fixed
point of the ``odom`` frame, and back into the base frame of any later pose: the servo
keeps driving toward the same spot until it is seen again or the memory expires.

Frames (REP-103/105): the base frame has x forward, y left; the odometry frame is fixed to
the world (drifting slowly); a robot pose is (x, y, yaw) of the base in odom, in metres and
radians, as in nav_msgs/Odometry. Times are seconds on one clock (ROS time in the nodes).

Validity is bounded twice: a remembered target expires ``memory_max_age`` seconds after its
last sighting, or once the robot has travelled ``memory_max_travel`` metres since then
(odometry drifts with distance), whichever comes first. Travel is the length of the
polyline through the poses passed to :meth:`TargetMemory.predict`, starting at the pose of
the last sighting: call it at the control rate. A jump of the odometry (a reset) counts as
travel, so it expires the memory too.

Time going backwards (a simulation reset, a bag played in a loop) makes the remembered
sighting undatable, so the memory is cleared: when a sighting is stamped earlier than the
last sighting, or a ``now`` is earlier than the last ``now`` or than the last sighting's
stamp. Images are older than the control clock (grounding takes time), so a sighting
stamped before the last ``now`` is normal and keeps the memory. (So a sighting stored while
the memory was empty, on a clock that jumped back since the last ``now``, is dropped by the
next ``now``: it cannot be told from a stale one.)

Non-finite inputs (NaN, inf) raise ValueError and are never stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math

from .frames import base_to_odom, odom_to_base
from ..contract.parameters import setting, Settings


@dataclass(frozen=True)
class MemoryConfig(Settings):
    """How long, how far and how near a remembered target stays valid."""

    memory_max_age: float = setting(6.0, 'Forget the target this long (s, ROS time) after '
                                    'its last sighting', minimum=0.01, maximum=3600.0)
    memory_max_travel: float = setting(1.5, 'Forget the target once the robot has travelled '
                                       'this far (m) since its last sighting',
                                       minimum=0.01, maximum=1000.0)


@dataclass(frozen=True)
class AssociationConfig(Settings):
    """
    When two sightings are of the same object: one gate for both nodes.

    grounding_node follows the object it chose by it, action_node refuses a target farther
    than it from the one it remembers; params files give it once, under ``/**:``.
    """

    association_gate: float = setting(0.5, 'A sighting farther than this (m) from where the '
                                      'chosen (remembered) object was is another object',
                                      minimum=0.01, maximum=100.0)


@dataclass(frozen=True)
class Match:
    """
    Whether a sighting is the remembered target, and how far they are apart.

    ``distance`` (m, odom frame) between them, None when nothing is remembered (any sighting is
    then accepted).
    """

    accepted: bool
    distance: float | None
    reason: str


def _finite(values: Sequence[float], size: int, what: str) -> tuple[float, ...]:
    if len(values) != size:
        raise ValueError(f'{what} must have {size} values, got {len(values)}')
    numbers = tuple(float(v) for v in values)
    if not all(math.isfinite(v) for v in numbers):
        raise ValueError(f'{what} must be finite, got {numbers}')
    return numbers


def _time(value: float, what: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f'{what} must be finite, got {value}')
    return value


class TargetMemory:
    """
    The last sighting of one target, kept in the odometry frame (see the module notes).

    ``target_base`` arguments are (x, y) in the base frame (m) of the robot at
    ``robot_pose_odom`` = (x, y, yaw) in odom (m, rad): for a sighting, the pose when its
    image was taken (the odometry nearest the image stamp). ``reason`` says why the memory
    is empty ('' while it holds a target).
    """

    def __init__(self, config: MemoryConfig = MemoryConfig(),
                 association: AssociationConfig = AssociationConfig()):
        self.config, self.association = config, association
        self.target_odom: tuple[float, float] | None = None
        self.stamp: float | None = None  # of the last sighting
        self.travelled = 0.0  # m since the last sighting
        self.reason = 'no target seen yet'
        self._last_pose: tuple[float, ...] = ()  # (x, y) of the last pose used
        self._last_now: float | None = None

    def configure(self, config: MemoryConfig, association: AssociationConfig) -> None:
        self.config, self.association = config, association

    def reset(self, reason: str = 'memory reset') -> None:
        """Forget the target (for a new command, say), and which times were seen."""
        self._clear(reason)
        self._last_now = None

    def _clear(self, reason: str) -> None:
        self.target_odom, self.stamp, self._last_pose = None, None, ()
        self.travelled, self.reason = 0.0, reason

    def _see_now(self, now: float) -> None:
        """
        Clear the memory when ``now`` went back or the last sighting is too old.

        Went back: earlier than a time already seen.
        """
        if self._last_now is not None and now < self._last_now:
            self._clear(f'time went back ({self._last_now:.3f} s -> {now:.3f} s)')
        elif self.stamp is not None and now < self.stamp:
            self._clear(f'time went back (sighting at {self.stamp:.3f} s, now {now:.3f} s)')
        elif self.stamp is not None and now - self.stamp > self.config.memory_max_age:
            self._clear(f'target memory expired: last seen {now - self.stamp:.2f} s ago '
                        f'(limit {self.config.memory_max_age:.2f} s)')
        self._last_now = now

    def age(self, now: float) -> float | None:
        """
        Return the seconds from the last sighting to ``now``.

        None when nothing is remembered (also after expiry or time going back, which clear the
        memory).
        """
        self._see_now(_time(now, 'now'))
        return None if self.stamp is None else now - self.stamp

    def _see_stamp(self, stamp: float) -> None:
        """
        Clear the memory when a sighting is stamped out of order or too late.

        Out of order: stamped before the last one (the clock went back: the clock of ``now`` is
        forgotten too); too late: too long after it.
        """
        if self.stamp is not None and stamp < self.stamp:
            self.reset(f'time went back (sighting at {self.stamp:.3f} s, then {stamp:.3f} s)')
        elif self.stamp is not None and stamp - self.stamp > self.config.memory_max_age:
            self._clear(f'target memory expired: {stamp - self.stamp:.2f} s between '
                        f'sightings (limit {self.config.memory_max_age:.2f} s)')

    def observe(self, target_base: Sequence[float], robot_pose_odom: Sequence[float],
                stamp: float) -> None:
        """
        Remember a sighting, replacing any earlier one.

        Decide with :meth:`match` first whether it is the same object. ``stamp``: its image's time
        (s).
        """
        target = _finite(target_base, 2, 'target_base')
        pose = _finite(robot_pose_odom, 3, 'robot_pose_odom')
        stamp = _time(stamp, 'stamp')
        self._see_stamp(stamp)
        self._clear('')
        self.target_odom = base_to_odom(target, pose)
        self.stamp, self._last_pose = stamp, pose[:2]

    def predict(self, robot_pose_odom: Sequence[float], now: float) -> tuple[float, float] | None:
        """
        Predict where the remembered target is in the base frame now.

        The remembered target (x, y) in the base frame of the robot at ``robot_pose_odom`` now, or
        None when nothing valid is remembered (``reason`` says why). Adds the way from the previous
        pose to the travel since the last sighting.
        """
        pose = _finite(robot_pose_odom, 3, 'robot_pose_odom')
        self._see_now(_time(now, 'now'))
        if self.target_odom is None:
            return None
        self.travelled += math.dist(self._last_pose, pose[:2])
        self._last_pose = pose[:2]
        if self.travelled > self.config.memory_max_travel:
            self._clear(f'target memory expired: travelled {self.travelled:.2f} m since the '
                        f'last sighting (limit {self.config.memory_max_travel:.2f} m)')
            return None
        return odom_to_base(self.target_odom, pose)

    def match(self, target_base: Sequence[float], robot_pose_odom: Sequence[float],
              stamp: float) -> Match:
        """
        Tell whether a sighting lies within ``association_gate`` of the remembered target.

        The sighting is in the base frame of the robot at ``robot_pose_odom``, image time
        ``stamp``; the distance is measured in odom.

        Anything is accepted when nothing valid is remembered: a sighting stamped more
        than ``memory_max_age`` after the last one, or earlier than it (time went back,
        which clears the memory), starts afresh.
        """
        target = _finite(target_base, 2, 'target_base')
        pose = _finite(robot_pose_odom, 3, 'robot_pose_odom')
        self._see_stamp(_time(stamp, 'stamp'))
        if self.target_odom is None:
            return Match(True, None, f'nothing remembered ({self.reason}): a new target')
        distance = math.dist(self.target_odom, base_to_odom(target, pose))
        gate = self.association.association_gate
        if distance <= gate:
            return Match(True, distance, f'{distance:.2f} m from the remembered target '
                         f'(gate {gate:.2f} m): the same object')
        return Match(False, distance, f'{distance:.2f} m from the remembered target (gate '
                     f'{gate:.2f} m): another object, or the same one misplaced')
