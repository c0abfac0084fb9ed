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
What was said and chosen before, for the commands that refer to it.

"again" repeats the last command; "no, the other one", "no, the one on the left", "the other
red box" go on with the step that chose an object, choosing another. The pipeline that runs
commands owns one :class:`Dialogue`: it records each command it takes and each object a step
chooses, and resolves a follow-up into plain steps before running it. It remembers one
command and one choice, each for ``followup_timeout`` (ROS time), and forgets both when the
clock goes back; a follow-up with nothing to refer to is refused with a message that says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .steps import Command, CommandError, EXAMPLE, FollowUpKind, with_attributes
from ..contract.parameters import setting, Settings
from ..contract.protocol import Intent

MAX_REJECTED = 10  # objects "the other one" rejects in a row, at most


@dataclass(frozen=True)
class DialogueConfig(Settings):
    """How long a follow-up may refer back."""

    followup_timeout: float = setting(
        120.0, 'Seconds (ROS time) during which "again" or "no, the other one" refers to the '
        'command and the object chosen before', minimum=1.0, maximum=3600.0)


@dataclass(frozen=True)
class Choice:
    """
    The object a step chose: the step's place in its command, and where the object was.

    ``position`` is (x, y) in metres in the odometry frame (REP-105) when frames come with the
    robot's pose, else in the base frame of the frame it was last seen in.
    """

    command: Command
    step: int
    position: tuple[float, float]
    stamp: float  # when it was last chosen or followed (s, ROS time)


class Dialogue:
    """The last command taken and the last object chosen, and what follow-ups mean."""

    def __init__(self, config: DialogueConfig = DialogueConfig()):
        self.config = config
        self.command: Command | None = None
        self.said: float = 0.0
        self.choice: Choice | None = None

    def reset(self) -> None:
        """Forget everything (the clock went back: nothing remembered can be dated)."""
        self.command, self.choice = None, None

    def record_command(self, command: Command, now: float) -> None:
        """Remember a command being carried out (resolved: never a follow-up)."""
        self.command, self.said = command, now

    def record_choice(self, command: Command, step: int, position: tuple[float, float] | None,
                      now: float) -> None:
        """Remember where the object step ``step`` of ``command`` chose is (None: unplaced)."""
        if position is not None:
            self.choice = Choice(command, step, (float(position[0]), float(position[1])), now)

    def _expire(self, now: float) -> None:
        timeout = self.config.followup_timeout
        if self.command is not None and not 0.0 <= now - self.said <= timeout:
            self.command = None
        if self.choice is not None and not 0.0 <= now - self.choice.stamp <= timeout:
            self.choice = None

    def resolve(self, command: Command, now: float) -> Command:
        """
        Return ``command`` as plain steps, what it refers to filled in.

        A repetition is the last command again; a correction goes on with the step that chose
        the last object, from that step on, rejecting that object; a step about 'the other'
        object rejects it too (``Step.excluded``). Raise :class:`CommandError` when there is
        nothing to refer to.
        """
        self._expire(now)
        followup = command.followup
        if followup is None:
            if not any(step.other for step in command.steps):
                return command
            excluded = self._chosen(command.text).position
            return replace(command, steps=tuple(
                replace(step, excluded=(excluded,)) if step.other else step
                for step in command.steps))
        if followup.kind == FollowUpKind.REPEAT:
            if self.command is None:
                raise CommandError(
                    f"'{command.text}': there is nothing to repeat (no command in the last "
                    f'{self.config.followup_timeout:.0f} s); say what to do, e.g. '
                    + repr(EXAMPLE[Intent.TURN]))
            return Command(command.text, self.command.steps)
        choice = self._chosen(command.text)
        before = choice.command.steps[choice.step]
        target = followup.target or before.target
        if followup.attributes:  # "no, the red one": the attributes said, the same noun
            target = with_attributes(before.target, followup.attributes)
        # "the other one" again and again rejects each object chosen in turn.
        excluded = (*before.excluded, choice.position)[-MAX_REJECTED:] if followup.other \
            else ()
        corrected = replace(before, target=target, referring=followup.referring,
                            other=followup.other, excluded=excluded, text=command.text)
        return Command(command.text, (corrected, *choice.command.steps[choice.step + 1:]))

    def _chosen(self, text: str) -> Choice:
        if self.choice is None:
            raise CommandError(
                f"'{text}': there is no object chosen before to correct (none in the last "
                f'{self.config.followup_timeout:.0f} s); say which one, e.g. '
                f"'{EXAMPLE[Intent.APPROACH]}'")
        return self.choice
