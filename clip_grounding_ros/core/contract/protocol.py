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
The step protocol: what one step of a command asks of the robot, and when it has ended.

A command is one or more steps carried out in order. grounding_node owns the command: it
says which step is current (on ``grounding/status``, from which :meth:`Task.of` reads the
:class:`Task`); action_node owns completion: it says how the step it executes has ended
(``action/status`` ``outcome``, decided by one rule, :func:`.status.step_outcome`), and
grounding_node moves on to the next step, or ends the command.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Intent(str, Enum):
    """What one step asks for."""

    APPROACH = 'approach'  # drive to the target and stop short of it
    FACE = 'face'          # turn in place toward the target
    FIND = 'find'          # turn toward the target once it is found
    PICK = 'pick'          # approach (grasping needs an arm; not part of this package)
    FOLLOW = 'follow'      # keep follow_distance from a moving target until stopped
    STOP = 'stop'
    CLASSIFY = 'classify'  # zero-shot classification of each frame
    MOVE = 'move'          # relative translation on odometry: forward (+) / backward (-)
    TURN = 'turn'          # relative rotation on odometry: left (+, counter-clockwise) / right (-)
    RETURN = 'return'      # back to where a command was given, on odometry (``Task.origin``)
    RECALL = 'recall'      # say where remembered objects were seen, without moving
    FORGET = 'forget'      # clear the object memory

    def __str__(self) -> str:
        return self.value

    @property
    def grounded(self) -> bool:
        """Whether a step of this intent names an object to find in the images."""
        return self in (Intent.APPROACH, Intent.FACE, Intent.FIND, Intent.PICK, Intent.FOLLOW)

    @property
    def approaches(self) -> bool:
        """Whether the base drives to the grounded target (rather than only turning to it)."""
        return self in (Intent.APPROACH, Intent.PICK, Intent.FOLLOW)

    @property
    def faces(self) -> bool:
        """Whether the base only turns to keep the grounded target in view."""
        return self in (Intent.FACE, Intent.FIND)

    @property
    def by_odometry(self) -> bool:
        """Whether the step moves the base on odometry alone (a move, turn or return)."""
        return self in (Intent.MOVE, Intent.TURN, Intent.RETURN)

    @property
    def answered(self) -> bool:
        """Whether grounding_node answers the step at once, on its status, without motion."""
        return self in (Intent.RECALL, Intent.FORGET)


class Origin(str, Enum):
    """Where a RETURN step goes back to: the pose (odometry) when a command was given."""

    COMMAND = 'command'  # this command's (or, said as its first step, the previous one's)
    START = 'start'      # the first command's since action_node's odometry began

    def __str__(self) -> str:
        return self.value


class StepOutcome(str, Enum):
    """How far the step action_node executes has got (``action/status`` ``outcome``)."""

    ACTIVE = 'active'  # under way (or no step)
    DONE = 'done'      # its goal is reached: the next step begins, or the command ends
    KEPT = 'kept'      # its goal is reached and kept: the last face or find step keeps facing
    FAILED = 'failed'  # it cannot be done: the rest of the command is cancelled

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Task:
    """
    What the action node is asked to do: one step of one command.

    ``intent`` None means no motion command (none yet, or one that failed to parse).
    ``distance`` (m, + forward) and ``angle`` (rad, + left) are the amounts of a MOVE or TURN;
    ``origin`` where a RETURN goes back to.
    ``run_id`` names the grounding_node process that numbered the command (a restarted one
    numbers from 1 again: its command 1 is not the old one's); ``last``: the command's last
    step.
    """

    command_id: int
    step: int = 0
    intent: Intent | None = None
    distance: float = 0.0
    angle: float = 0.0
    run_id: str = ''
    last: bool = True
    origin: Origin | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        return self.run_id, self.command_id, self.step
