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
Comparisons on ROS time that survive the clock going backwards.

ROS time jumps back when a simulation resets or a bag loops. Every component that compares
times (timeouts, rate limits, ages) keeps a :class:`ClockWatch`: a time earlier than the
latest one seen means everything dated on the old clock is undatable, and the component
resets instead of, say, treating a negative age as fresh.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import math
from typing import Generic, TypeVar

Message = TypeVar('Message')


@dataclass(frozen=True)
class ClockChange:
    """
    What a new time says about the clock.

    ``went_back``: it is earlier than the latest time seen (``reason`` says from when to
    when); ``started``: it left 0, the value of ROS time under use_sim_time until the first
    /clock, so what was dated at 0 (a command given at start-up) starts its timers now.
    """

    went_back: bool = False
    started: bool = False
    reason: str = ''


class ClockWatch:
    """Remembers the latest time seen and says when a new one is earlier, or the first real one."""

    def __init__(self):
        self.latest: float | None = None

    def observe(self, now: float) -> ClockChange:
        """Record ``now`` (s) and say what it changes (see :class:`ClockChange`)."""
        latest, self.latest = self.latest, now
        if latest is None:
            return ClockChange()
        if now < latest:
            return ClockChange(went_back=True,
                               reason=f'ROS time went back ({latest:.3f} -> {now:.3f} s)')
        return ClockChange(started=latest == 0.0 and now > 0.0)


class RateLimiter:
    """
    Lets an event through at most ``rate_hz`` times per second of ROS time.

    ``rate_hz`` 0: always. A clock that goes back restarts it rather than blocking until time
    catches up.
    """

    def __init__(self, rate_hz: float = 0.0):
        self.rate_hz = rate_hz
        self.last: float | None = None

    def ready(self, now: float) -> bool:
        """Whether an event may happen at ``now``; if so it is counted."""
        if self.rate_hz > 0 and self.last is not None and 0.0 <= now - self.last < \
                1.0 / self.rate_hz:
            return False
        self.last = now
        return True


def age(now: float, stamp: float) -> float:
    """
    Return ``now - stamp`` (s); NaN when either is not finite.

    Negative means the stamp is in the future: callers must treat that as undatable, not as fresh.
    """
    if not (math.isfinite(now) and math.isfinite(stamp)):
        return math.nan
    return now - stamp


def fresh(now: float, stamp: float | None, timeout: float) -> bool:
    """
    Tell whether ``stamp`` is at most ``timeout`` seconds from ``now``, either way.

    A stamp further in the future than that is as undatable as an old one.
    """
    return stamp is not None and abs(age(now, stamp)) <= timeout


class StampedHistory(Generic[Message]):
    """
    The last few messages of one topic, to pair with a message of another topic by stamp.

    Pairing by arrival (the newest of each topic) pairs a frame with the camera_info of the
    frame before whenever the camera_info is published just after its frame, which at 1 frame
    per second is a second apart. This is message_filters' approximate-time pairing, written
    here because message_filters is not installable outside a ROS distribution and this needs
    one lookup, not a synchroniser. A stamp earlier than the newest one clears the history
    (the clock went back: nothing older is datable).
    """

    def __init__(self, size: int = 10):
        self.messages: deque[tuple[float, Message]] = deque(maxlen=size)

    def add(self, stamp: float, message: Message) -> None:
        if self.messages and stamp < self.messages[-1][0]:
            self.messages.clear()
        self.messages.append((stamp, message))

    def nearest(self, stamp: float) -> Message | None:
        """Return the message stamped nearest ``stamp`` (the newest on a tie), or None."""
        if not self.messages:
            return None
        return min(reversed(self.messages), key=lambda item: abs(item[0] - stamp))[1]
