"""The grounding node's perception state over time, kept apart from ROS for testing.

States: idle (no command), searching (looking, not yet found), tracking (found in the
latest frame, or within ``lost_timeout`` of it), lost (not found for longer), stopped (a
stop command), classifying, error (bad command or unusable input; the message says which).
"""

from __future__ import annotations

from dataclasses import dataclass

from .commands import CLASSIFY, STOP, Command

IDLE, SEARCHING, TRACKING, LOST, STOPPED, CLASSIFYING, ERROR = (
    'idle', 'searching', 'tracking', 'lost', 'stopped', 'classifying', 'error')


@dataclass
class GroundingSession:
    lost_timeout: float = 2.0
    command: Command | None = None
    command_id: int = 0
    state: str = IDLE
    message: str = 'waiting for a command'
    command_time: float = 0.0
    last_found: float | None = None

    @property
    def grounding(self) -> bool:
        """Whether frames should be grounded (a target command is active)."""
        return self.command is not None and self.command.target != '' and self.state != STOPPED

    @property
    def classifying(self) -> bool:
        return self.command is not None and self.command.intent == CLASSIFY

    def on_command(self, command: Command, now: float) -> None:
        self.command, self.command_time, self.last_found = command, now, None
        self.command_id += 1
        if command.intent == STOP:
            self.state, self.message = STOPPED, 'stopped by command'
        elif command.intent == CLASSIFY:
            self.state, self.message = CLASSIFYING, 'classifying frames'
        else:
            self.state, self.message = SEARCHING, f"looking for '{command.target}'"

    def on_bad_command(self, message: str) -> None:
        """A command that could not be parsed stops whatever was going on."""
        self.command = None
        self.command_id += 1
        self.state, self.message = ERROR, message

    def on_error(self, message: str) -> None:
        """Unusable input (image, camera_info): no target can be trusted right now."""
        self.state, self.message = ERROR, message

    def on_result(self, found: bool, message: str, now: float) -> None:
        if found:
            self.last_found = now
            self.state = TRACKING
        elif self.last_found is not None and now - self.last_found <= self.lost_timeout:
            self.state = TRACKING  # a brief miss; the target message is not refreshed
        elif self.last_found is None and now - self.command_time <= self.lost_timeout:
            self.state = SEARCHING
        else:
            self.state = LOST
        self.message = message
