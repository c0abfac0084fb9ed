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
The command under way and its perception state over time: grounding_node's, without ROS.

A command is a sequence of steps (one, usually). The session holds the current step and the
perception state for it (:class:`..contract.status.GroundingState`): idle until a command,
once it is done, and during a step that needs no perception (a move by a distance),
searching until the step's target is found, tracking while it is (or was within
``lost_timeout``), lost after that; stopped, classifying and error (bad command or unusable
input; the message says which).

The action node reports how each step has ended (``action/status`` ``outcome``, decided by
:func:`..contract.status.step_outcome`); :meth:`CommandSession.on_step_outcome` then moves to
the next step, or ends the command saying which step failed and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from .steps import Command, Step
from ..contract.protocol import Intent, StepOutcome
from ..contract.status import GroundingState


@dataclass
class CommandSession:
    lost_timeout: float = 2.0
    command: Command | None = None
    step_index: int = 0
    command_id: int = 0
    state: GroundingState = GroundingState.IDLE
    message: str = 'waiting for a command'
    step_started: float = 0.0   # when the current step began (s)
    last_found: float | None = None
    finished: bool = False      # every step done, or one failed

    @property
    def step(self) -> Step | None:
        """Return the current step, or None without a command."""
        return None if self.command is None else self.command.steps[self.step_index]

    @property
    def wants_grounding(self) -> bool:
        """Whether frames should be grounded (the current step has a target)."""
        step = self.step
        return (step is not None and step.needs_grounding and not self.finished and
                self.state != GroundingState.STOPPED)

    @property
    def classifying(self) -> bool:
        step = self.step
        return step is not None and step.intent == Intent.CLASSIFY

    def on_command(self, command: Command, now: float) -> None:
        self.command, self.step_index, self.finished = command, 0, False
        self.command_id += 1
        self._begin_step(now)

    def _begin_step(self, now: float) -> None:
        step, self.step_started, self.last_found = self.step, now, None
        prefix = self.step_prefix()
        if self.command.is_stop:
            self.state, self.message = GroundingState.STOPPED, 'stopped by command'
        elif step.intent == Intent.CLASSIFY:
            self.state, self.message = GroundingState.CLASSIFYING, 'classifying frames'
        elif step.needs_grounding:
            self.state, self.message = GroundingState.SEARCHING, (
                f"{prefix}looking for '{step.target}'")
        else:  # moves and turns by an amount need no perception
            self.state, self.message = GroundingState.IDLE, f'{prefix}{step.describe()}'

    def step_prefix(self) -> str:
        """'step 2/3: ' during a sequence, '' for a single step."""
        if self.command is None or not self.command.is_sequence:
            return ''
        return f'step {self.step_index + 1}/{len(self.command.steps)}: '

    def on_step_outcome(self, command_id: int | None, step: int, outcome: StepOutcome,
                        reason: str, now: float) -> bool:
        """
        Take in how the action node's step has ended; return True when the session changed.

        A step done begins the next; after the last, the command is finished. A failed step
        ends the command; the rest is cancelled. A kept goal (the last face step facing its
        target) goes on.
        """
        if self.command is None or self.finished or command_id != self.command_id or \
                step != self.step_index:
            return False
        last = self.step_index == len(self.command.steps) - 1
        if outcome == StepOutcome.FAILED:
            self.finished = True
            self.state, self.message = GroundingState.STOPPED, (
                f'{self.step_prefix()}failed: {reason}' +
                ('' if last else '; the rest of the command is cancelled'))
            return True
        if outcome != StepOutcome.DONE:
            return False
        if last:
            self.finished = True
            self.state, self.message = GroundingState.IDLE, f'{self.step_prefix()}done: {reason}'
            return True
        self.step_index += 1
        self._begin_step(now)
        return True

    def restart_timers(self, now: float) -> None:
        """Restart the lost timer and the wait for frames now: the clock went back."""
        self.step_started, self.last_found = now, None

    def on_bad_command(self, message: str) -> None:
        """Stop whatever was going on, for a command that could not be parsed."""
        self.command, self.step_index, self.finished = None, 0, False
        self.command_id += 1
        self.state, self.message = GroundingState.ERROR, message

    def on_classified(self, message: str) -> None:
        """Note a frame classified (this also clears an earlier error, such as no frames yet)."""
        self.state, self.message = GroundingState.CLASSIFYING, message

    def on_waiting(self, message: str) -> None:
        """Note a frame not grounded yet for want of an input (the state is unchanged)."""
        self.message = self.step_prefix() + message

    def on_error(self, message: str) -> None:
        """Unusable input (image, camera_info): no target can be trusted right now."""
        self.state, self.message = GroundingState.ERROR, message

    def on_answer(self, message: str) -> None:
        """End a command that a status answers (a question to the object memory)."""
        self.finished = True
        self.state, self.message = GroundingState.IDLE, message

    def on_recalled(self, message: str, now: float) -> None:
        """Note a target from the object memory: tracked (where it was seen) until confirmed."""
        self.last_found, self.state = now, GroundingState.TRACKING
        self.message = self.step_prefix() + message

    def on_recall_failed(self, message: str, now: float) -> None:
        """Note that the remembered object is not where it was seen: lost, to be searched."""
        self.last_found = None
        self.state = GroundingState.LOST if now - self.step_started > self.lost_timeout \
            else GroundingState.SEARCHING
        self.message = self.step_prefix() + message

    def on_result(self, found: bool, message: str, now: float) -> None:
        message = self.step_prefix() + message
        if found:
            self.last_found = now
            self.state = GroundingState.TRACKING
        elif self.last_found is not None and now - self.last_found <= self.lost_timeout:
            # A brief miss: still tracking, but the target message is not refreshed.
            self.state = GroundingState.TRACKING
        elif self.last_found is None and now - self.step_started <= self.lost_timeout:
            self.state = GroundingState.SEARCHING
        else:
            self.state = GroundingState.LOST
        self.message = message
