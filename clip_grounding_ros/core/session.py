"""The grounding node's perception state over time, kept apart from ROS for testing.

The states are :class:`~.status.GroundingState`: idle until a command, searching until the
target is found, tracking while it is (or was within ``lost_timeout``), lost after that;
stopped, classifying and error (bad command or unusable input; the message says which).
"""

from __future__ import annotations

from dataclasses import dataclass

from .commands import Command, Intent
from .status import GroundingState


@dataclass
class GroundingSession:
    lost_timeout: float = 2.0
    command: Command | None = None
    command_id: int = 0
    state: GroundingState = GroundingState.IDLE
    message: str = 'waiting for a command'
    command_time: float = 0.0
    last_found: float | None = None

    @property
    def grounding(self) -> bool:
        """Whether frames should be grounded (a target command is active)."""
        return (self.command is not None and self.command.target != ''
                and self.state != GroundingState.STOPPED)

    @property
    def classifying(self) -> bool:
        return self.command is not None and self.command.intent == Intent.CLASSIFY

    def on_command(self, command: Command, now: float) -> None:
        self.command, self.command_time, self.last_found = command, now, None
        self.command_id += 1
        if command.intent == Intent.STOP:
            self.state, self.message = GroundingState.STOPPED, 'stopped by command'
        elif command.intent == Intent.CLASSIFY:
            self.state, self.message = GroundingState.CLASSIFYING, 'classifying frames'
        else:
            self.state, self.message = GroundingState.SEARCHING, f"looking for '{command.target}'"

    def on_bad_command(self, message: str) -> None:
        """A command that could not be parsed stops whatever was going on."""
        self.command = None
        self.command_id += 1
        self.state, self.message = GroundingState.ERROR, message

    def on_error(self, message: str) -> None:
        """Unusable input (image, camera_info): no target can be trusted right now."""
        self.state, self.message = GroundingState.ERROR, message

    def on_result(self, found: bool, message: str, now: float) -> None:
        if found:
            self.last_found = now
            self.state = GroundingState.TRACKING
        elif self.last_found is not None and now - self.last_found <= self.lost_timeout:
            # A brief miss: still tracking, but the target message is not refreshed.
            self.state = GroundingState.TRACKING
        elif self.last_found is None and now - self.command_time <= self.lost_timeout:
            self.state = GroundingState.SEARCHING
        else:
            self.state = GroundingState.LOST
        self.message = message
