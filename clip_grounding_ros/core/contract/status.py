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
The status contract: every state and every status message the nodes publish, in one place.

Each status topic carries one JSON object (std_msgs/String, :class:`.messages.JsonMessage`)
described by a dataclass here: ``grounding/status`` (:class:`GroundingStatus`),
``action/status`` (:class:`ActionStatus`) and ``grounding/camera_status``
(:class:`CameraStatus`). Producers build the dataclass and send ``to_json()``; consumers call
``from_json()``, which checks the schema version and turns states, intents and sources back
into their enums, so no node parses another's JSON by key or compares state strings of its
own. :func:`step_outcome` is the one rule for when a step has ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import ClassVar

from .messages import JsonMessage
from .protocol import Intent, Origin, StepOutcome, Task


class GroundingState(str, Enum):
    """Perception state of grounding_node (see language.session for the transitions)."""

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

    @property
    def at_rest(self) -> bool:
        """Whether the robot is at rest and no motion command needs it (it may go quiet)."""
        return self in (ActionState.IDLE, ActionState.STOPPED, ActionState.REACHED,
                        ActionState.FAILED)


class CameraState(str, Enum):
    """State of camera_node's frame source."""

    WAITING = 'waiting'
    STREAMING = 'streaming'
    ERROR = 'error'

    def __str__(self) -> str:
        return self.value


class TargetSource(str, Enum):
    """Where the latest target came from."""

    GROUNDED = 'grounded'  # CLIP on this frame
    TRACKED = 'tracked'    # followed onto this frame by the tracker between groundings
    REMEMBERED = 'remembered'  # where the object memory saw it; not confirmed in view yet

    def __str__(self) -> str:
        return self.value


class PositionSource(str, Enum):
    """How a target was placed in the base frame."""

    DEPTH = 'depth'                # the depth image along the box centre's ray
    GROUND_PLANE = 'ground_plane'  # the floor point under the box's bottom edge

    def __str__(self) -> str:
        return self.value


def step_outcome(state: ActionState, task: Task) -> StepOutcome:
    """
    Return how the step ``task`` has ended, given the action state it brought the base to.

    The one rule, used by action_node (which publishes it), and through it by grounding_node's
    session, the demo and the benchmarks: a step is done when its goal is reached (REACHED:
    near the target, or the distance or angle done); a face or find step also once the robot
    faces the target, unless it is the command's last step, which keeps facing it (KEPT). A
    FAILED state fails the step.
    """
    if state == ActionState.FAILED:
        return StepOutcome.FAILED
    if state == ActionState.REACHED:
        return StepOutcome.DONE
    if state == ActionState.FACING and task.intent is not None and task.intent.faces:
        return StepOutcome.KEPT if task.last else StepOutcome.DONE
    return StepOutcome.ACTIVE


@dataclass
class GroundingStatus(JsonMessage):
    """
    ``grounding/status``: what grounding_node is looking for and what it found.

    Boxes are [x1, y1, x2, y2] in the source image's pixels; ``position`` is [x, y, z] in
    metres in ``base_frame`` (REP-103), ``distance`` its horizontal range (m) and
    ``bearing`` its angle left of straight ahead (rad). ``image_stamp`` (s) and
    ``frame_id`` are those of the grounded image.
    """

    REQUIRED: ClassVar[tuple[str, ...]] = ('state',)

    state: GroundingState = GroundingState.IDLE
    message: str = ''
    run_id: str = ''             # this grounding_node process's: command ids restart with it
    command_id: int = 0
    command: str = ''
    step: int = 0                # index of the command's current step (sequences)
    steps: int = 0               # number of steps of the command (0: no command)
    intent: Intent | None = None  # of the current step
    target: str = ''
    motion_distance: float = 0.0  # m to move (+ forward) for a 'move' step
    motion_angle: float = 0.0     # rad to turn (+ left) for a 'turn' step
    origin: Origin | None = None  # where a 'return' step goes back to
    strategy: str = ''
    found: bool = False
    choice: str = ''             # why the object followed is the one meant (among matches)
    choice_id: int = 0           # counts the objects chosen: a new one, a new id
    pending: bool = False        # a match in view waits for agreeing groundings
    target_source: TargetSource | None = None
    grounding_age: float | None = None  # s from the last grounded frame to this status
    score: float | None = None
    box: list[float] | None = None
    candidates: list[dict] = field(default_factory=list)
    distance: float | None = None
    bearing: float | None = None
    position: list[float] | None = None
    position_source: PositionSource | None = None
    base_frame: str | None = None
    image_stamp: float | None = None
    frame_id: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    classification: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # recent problems that did not stop it
    # The object memory's answer to 'where did you see ...': label, odom position [x, y] (m),
    # distance (m) and bearing (rad) from the base now, age (s), sightings, score.
    remembered: list[dict] = field(default_factory=list)

    def task(self) -> Task:
        """Return the step this status asks the action node to carry out."""
        return Task(self.command_id, self.step, self.intent, self.motion_distance,
                    self.motion_angle, self.run_id, last=self.step >= self.steps - 1,
                    origin=self.origin)


@dataclass
class ActionStatus(JsonMessage):
    """
    ``action/status``: the motion state, the reason for it and the velocity sent.

    ``linear`` (m/s) and ``angular`` (rad/s, left positive) are the last cmd_vel;
    ``target`` is [x, y] in the base frame (m) of the target being driven to; ``outcome``
    says how the step (``run_id``, ``command_id``, ``step``) has ended (:func:`step_outcome`).
    """

    REQUIRED: ClassVar[tuple[str, ...]] = ('state',)

    state: ActionState = ActionState.IDLE
    reason: str = ''
    linear: float = 0.0
    angular: float = 0.0
    intent: Intent | None = None
    run_id: str = ''             # of the grounding_node whose command this is
    command_id: int | None = None
    step: int = 0
    outcome: StepOutcome = StepOutcome.ACTIVE
    target: list[float] | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class CameraStatus(JsonMessage):
    """``grounding/camera_status``: the frame source and its counters."""

    REQUIRED: ClassVar[tuple[str, ...]] = ('state',)

    state: CameraState = CameraState.WAITING
    input: str = ''  # noqa: A003
    received: int = 0
    published: int = 0
    rate_limited: int = 0
    errors: int = 0
    last_error: str = ''
    message: str = ''
    warnings: list[str] = field(default_factory=list)


class Severity(IntEnum):
    """How bad a node's state is: diagnostic_msgs/DiagnosticStatus levels, and log levels."""

    OK = 0
    WARN = 1
    ERROR = 2


# States that are errors (the node cannot do its job) or warnings (it cannot go on with the
# command as asked: a lost target, a failed, blocked or held step).
ERROR_STATES = frozenset({GroundingState.ERROR, CameraState.ERROR})
WARNING_STATES = frozenset({GroundingState.LOST, ActionState.FAILED, ActionState.BLOCKED,
                            ActionState.HOLDING})
# The fields /diagnostics shows of a status (those that exist in it, when not empty).
DIAGNOSTIC_FIELDS = ('state', 'command_id', 'command', 'step', 'intent', 'target', 'found',
                     'score', 'distance', 'grounding_age', 'strategy', 'target_source',
                     'linear', 'angular', 'outcome', 'input', 'received', 'published',
                     'rate_limited', 'errors')


def severity(state: Enum) -> Severity:
    """Return how bad a node's state is (ERROR_STATES, WARNING_STATES, else OK)."""
    return Severity.ERROR if state in ERROR_STATES else \
        Severity.WARN if state in WARNING_STATES else Severity.OK


def diagnostic(status: ActionStatus | CameraStatus | GroundingStatus
               ) -> tuple[Severity, str, list[tuple[str, str]]]:
    """
    Say a status the way /diagnostics does: level, message and key values.

    The level is the state's :func:`severity`, at least WARN while the status carries recent
    warnings; the message is the state and why; the values are the DIAGNOSTIC_FIELDS it has
    and its warnings (warning_1, ...).
    """
    why = status.reason if isinstance(status, ActionStatus) else status.message
    level = max(severity(status.state), Severity.WARN if status.warnings else Severity.OK)
    values = [(name, str(getattr(status, name))) for name in DIAGNOSTIC_FIELDS
              if getattr(status, name, None) not in (None, '')]
    values += [(f'warning_{number}', text) for number, text in
               enumerate(status.warnings, start=1)]
    return level, f'{status.state}: {why}', values


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
