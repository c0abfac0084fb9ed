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
The status contract: every state and every status message the nodes exchange, in one place.

Each status topic carries one JSON object (std_msgs/String) described by a dataclass here:
``grounding/status`` (:class:`GroundingStatus`), ``action/status`` (:class:`ActionStatus`) and
``grounding/camera_status`` (:class:`CameraStatus`). Producers build the dataclass and send
:meth:`to_json`; consumers call :meth:`from_json`, which checks the schema version and the
state, so no node parses another's JSON by key or compares state strings of its own.

The JSON is strict (RFC 8259): a non-finite number (NaN, inf) is written as null, never as
the bare ``NaN`` that Python's json module would emit and other parsers reject.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
import json
import math
from typing import Any, ClassVar

# Bumped when a field changes meaning or is removed; adding a field keeps the version
# (readers ignore fields they do not know, and missing fields take their defaults).
SCHEMA_VERSION = 1


class StatusError(ValueError):
    """
    A status message that is invalid or of another version.

    Not valid JSON, another schema version or an unknown state.
    """


class GroundingState(str, Enum):
    """Perception state of grounding_node (see core.session for the transitions)."""

    IDLE = 'idle'                # no command
    SEARCHING = 'searching'      # looking, not yet found
    TRACKING = 'tracking'        # found in the latest frame, or within lost_timeout of it
    LOST = 'lost'                # not found for longer than lost_timeout
    STOPPED = 'stopped'          # a stop command
    CLASSIFYING = 'classifying'  # zero-shot classification of each new frame
    ERROR = 'error'              # bad command or unusable input; the message says which

    def __str__(self) -> str:
        return self.value


class ActionState(str, Enum):
    """Motion state of action_node: what the base is doing, or why it is not moving."""

    IDLE = 'idle'
    TURNING = 'turning'
    APPROACHING = 'approaching'
    MOVING = 'moving'            # moving by a distance, on odometry
    FACING = 'facing'
    SEARCHING = 'searching'      # turning in place to bring the target into view
    REACHED = 'reached'          # the step's goal: near the target, or the distance or angle
    STOPPED = 'stopped'
    HOLDING = 'holding'          # a motion command is active but an input is missing or stale
    FAILED = 'failed'            # the step cannot be done (not found, no odometry, blocked)
    BLOCKED = 'blocked'          # an obstacle in the path and no way around it (yet)
    NAVIGATING = 'navigating'    # nav2 mode: the goal is Nav2's to reach

    def __str__(self) -> str:
        return self.value


class CameraState(str, Enum):
    """State of camera_node's frame source."""

    WAITING = 'waiting'
    STREAMING = 'streaming'
    ERROR = 'error'

    def __str__(self) -> str:
        return self.value


def strict_json_value(value: Any) -> Any:
    """
    Return ``value`` made strict-JSON-safe.

    Every non-finite float replaced by None (JSON has no NaN or inf), tuples as lists and enums as
    their values.
    """
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): strict_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json_value(v) for v in value]
    return value


def dumps_strict(payload: Any) -> str:
    """
    Dump compact strict JSON (see :func:`strict_json_value`).

    Raises ValueError if anything non-finite were left, which cannot happen after the replacement.
    """
    return json.dumps(strict_json_value(payload), separators=(',', ':'), allow_nan=False)


@dataclass
class _Status:
    """Shared JSON round trip of the status dataclasses."""

    STATE: ClassVar[type[Enum]]

    def to_json(self) -> str:
        payload = {'schema': SCHEMA_VERSION}
        payload.update({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        return dumps_strict(payload)

    @classmethod
    def from_json(cls, text: str):
        """Parse one status message; raises :class:`StatusError` when it cannot be trusted."""
        try:
            payload = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, TypeError) as error:
            raise StatusError(f'status is not strict JSON: {error}') from None
        if not isinstance(payload, dict):
            raise StatusError('status is not a JSON object')
        if payload.get('schema') != SCHEMA_VERSION:
            raise StatusError(f"status schema {payload.get('schema')!r} is not the "
                              f'supported version {SCHEMA_VERSION}')
        try:
            payload['state'] = cls.STATE(payload.get('state'))
        except ValueError:
            raise StatusError(f"unknown {cls.__name__} state {payload.get('state')!r}") from None
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in payload.items() if k in names})


def _reject_constant(name: str):
    raise ValueError(f'{name} is not JSON')


@dataclass
class GroundingStatus(_Status):
    """
    ``grounding/status``: what grounding_node is looking for and what it found.

    Boxes are [x1, y1, x2, y2] in the source image's pixels; ``position`` is [x, y, z] in
    metres in ``base_frame`` (REP-103), ``distance`` its horizontal range (m) and
    ``bearing`` its angle left of straight ahead (rad). ``image_stamp`` (s) and
    ``frame_id`` are those of the grounded image.
    """

    STATE: ClassVar[type[Enum]] = GroundingState

    state: GroundingState = GroundingState.IDLE
    message: str = ''
    run_id: str = ''             # this grounding_node process's: command ids restart with it
    command_id: int = 0
    command: str = ''
    step: int = 0                # index of the command's current step (sequences)
    steps: int = 0               # number of steps of the command (0: no command)
    intent: str = ''             # of the current step
    target: str = ''
    motion_distance: float = 0.0  # m to move (+ forward) for a 'move' step
    motion_angle: float = 0.0     # rad to turn (+ left) for a 'turn' step
    strategy: str = ''
    found: bool = False
    choice: str = ''             # why the object followed is the one meant (among matches)
    target_source: str = ''      # 'grounded' (CLIP on this frame) or 'tracked' (followed)
    grounding_age: float | None = None  # s from the last grounded frame to this status
    score: float | None = None
    box: list[float] | None = None
    candidates: list[dict] = field(default_factory=list)
    distance: float | None = None
    bearing: float | None = None
    position: list[float] | None = None
    position_source: str | None = None
    base_frame: str | None = None
    image_stamp: float | None = None
    frame_id: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    classification: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # recent problems that did not stop it


@dataclass
class ActionStatus(_Status):
    """
    ``action/status``: the motion state, the reason for it and the velocity sent.

    ``linear`` (m/s) and ``angular`` (rad/s, left positive) are the last cmd_vel;
    ``target`` is [x, y] in the base frame (m) of the target being driven to.
    """

    STATE: ClassVar[type[Enum]] = ActionState

    state: ActionState = ActionState.IDLE
    reason: str = ''
    linear: float = 0.0
    angular: float = 0.0
    intent: str = ''
    run_id: str = ''             # of the grounding_node whose command this is
    command_id: int | None = None
    step: int = 0
    target: list[float] | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class CameraStatus(_Status):
    """``grounding/camera_status``: the frame source and its counters."""

    STATE: ClassVar[type[Enum]] = CameraState

    state: CameraState = CameraState.WAITING
    input: str = ''  # noqa: A003
    received: int = 0
    published: int = 0
    rate_limited: int = 0
    errors: int = 0
    last_error: str = ''
    message: str = ''
    warnings: list[str] = field(default_factory=list)


class RecentWarnings:
    """
    The distinct warnings of the last ``keep_s`` seconds, newest last, at most ``limit``.

    For the ``warnings`` field of a status: a message dropped, a QoS mismatch, frozen image
    stamps. Times are the caller's, on a clock that only moves forward (monotonic): how long
    a warning stays visible is about people reading the status, not robot time.
    """

    def __init__(self, keep_s: float = 10.0, limit: int = 5):
        self.keep_s, self.limit = keep_s, limit
        self._seen: dict[str, float] = {}

    def add(self, message: str, now: float) -> None:
        self._seen.pop(message, None)
        self._seen[message] = now
        while len(self._seen) > self.limit:
            self._seen.pop(next(iter(self._seen)))

    def current(self, now: float) -> list[str]:
        self._seen = {m: t for m, t in self._seen.items() if now - t <= self.keep_s}
        return list(self._seen)
