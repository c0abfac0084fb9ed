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
The ``command`` topic: every command heard once, however it was published, and relayed.

Subscriptions on `command`: latched history (reliable, transient local), reliable live
messages, and best-effort publishers (which no reliable subscription matches). Together they
match every common publisher QoS; a message that arrives on several is handled once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
import time

from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from .common import (
    COMMAND_BEST_EFFORT_QOS,
    COMMAND_LATCHED_QOS,
    COMMAND_VOLATILE_QOS,
    Faults,
    SubscriptionEventCallbacks,
)
from ..core.contract.messages import CommandRelay

COMMAND_QOS = (COMMAND_LATCHED_QOS, COMMAND_VOLATILE_QOS, COMMAND_BEST_EFFORT_QOS)
RELAY_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                       reliability=ReliabilityPolicy.RELIABLE)
MAX_PUBLISHERS = 256  # command publishers remembered (each `ros2 topic pub` is a new one)


class CommandIntake:
    """
    Receives `command` however it is published, each message once, and relays it.

    It relays it to the node's peers on `command/relay`.

    ``ros2 topic pub --once`` waits for ONE matched subscription, publishes and exits: when
    action_node's subscription matched first, grounding_node never heard the command. So
    every node that receives a command directly republishes it, with the original
    publication's identity, on `command/relay` (reliable, between nodes that have long
    since discovered each other); a node hears each command directly, relayed, or both, and
    acts on it once. The identity is the publisher's GID and sequence number (rclpy's
    MessageInfo, Iron and later), which also orders a publisher's commands: one older than a
    command already acted on (overtaken on another path) is dropped, so the last command of a
    burst wins. Without MessageInfo the same text within ``dedupe_s`` seconds (monotonic:
    transport, not robot time) counts as the same message.
    """

    def __init__(self, node: Node, callback: Callable[[str], None], faults: Faults,
                 topic: str = 'command', dedupe_s: float = 1.0):
        self.node, self.callback, self.faults = node, callback, faults
        self.dedupe_s = dedupe_s
        # Per publisher (GID): the highest sequence number acted on. A copy arriving later by
        # another subscription or the relay, or an older command overtaken by a newer one,
        # is at or below it: the newest command always wins.
        self.newest: OrderedDict[str, int] = OrderedDict()
        self.last_text: tuple[str, float] | None = None
        with_info = _message_info_supported()
        on_command = self._on_command if with_info else (lambda msg: self._on_command(msg, None))
        guarded = faults.guard(f'command on {topic}', on_command, with_info=with_info)
        # Together they match any publisher: an incompatible-QoS event on one of them (the
        # latched one and every volatile publisher, the reliable ones and a best-effort
        # publisher) means another serves it, not that a command is lost.
        quiet = SubscriptionEventCallbacks(incompatible_qos=lambda event: None)
        self.subscriptions = [node.create_subscription(String, topic, guarded, qos,
                                                       event_callbacks=quiet)
                              for qos in COMMAND_QOS]
        self.relay_pub = node.create_publisher(String, f'{topic}/relay', RELAY_QOS)
        self.subscriptions.append(faults.subscribe(String, f'{topic}/relay', self._on_relay,
                                                   RELAY_QOS))

    def _on_command(self, msg: String, info) -> None:
        key = _publication_key(info)
        if self._deliver(msg.data, key):
            self.relay_pub.publish(String(data=CommandRelay(msg.data, key).to_json()))

    def _on_relay(self, msg: String) -> None:
        relay = CommandRelay.from_json(msg.data)  # MessageError: reported by the guard
        self._deliver(relay.text, relay.key)

    def _deliver(self, text: str, key: str | None) -> bool:
        """
        Act on a command once, and never on one older than one already acted on.

        Older than a command of the same publisher already acted on. False when it was not acted
        on.
        """
        now = time.monotonic()
        if key is not None:
            publisher, _, sequence = key.rpartition(':')
            if int(sequence) <= self.newest.get(publisher, -1):
                return False
            self.newest[publisher] = int(sequence)
            self.newest.move_to_end(publisher)
            while len(self.newest) > MAX_PUBLISHERS:
                self.newest.popitem(last=False)
        else:  # no publication identity: the same text just now is the same message
            last = self.last_text
            if last is not None and last[0] == text and now - last[1] < self.dedupe_s:
                return False
        self.last_text = (text, now)
        self.callback(text)
        return True


def _message_info_supported() -> bool:
    """Whether subscription callbacks may take (message, MessageInfo) (rclpy Iron+)."""
    try:
        from rclpy.subscription import MessageInfo  # noqa: F401
    except ImportError:
        return False
    return True


def _publication_key(info) -> str | None:
    """Return publisher GID and sequence number: the same for every copy of one publication."""
    if not info or not info.get('publisher_gid') or info.get('publication_sequence_number') \
            is None:
        return None
    return f"{bytes(info['publisher_gid']['data']).hex()}:{info['publication_sequence_number']}"
