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
STAND-IN, test code only: ``ros2 topic pub --once TOPIC TYPE VALUES``, as a fresh process.

ros2cli is not installed here, and the README tells operators to send commands with it, so
test/test_process_faults.py runs this instead. It does what ros2cli 0.36 (Kilted;
ros2topic/verb/pub.py and ros2cli/node/direct.py) does for ``--once`` with no other option
than ``--keep-alive``:

1. rclpy.init and a node named ``_ros2cli_<pid>`` without parameter services, spun for
   0.5 s (DirectNode's ``--spin-time``, meant for discovery);
2. a publisher with the ``default`` preset profile (reliable, volatile, keep last 10);
3. a wait, polled every 0.1 s, until ``get_subscription_count() >= 1``: ONE matched
   subscription, whichever node it belongs to;
4. the message filled from the YAML values, published once;
5. ``--keep-alive`` seconds (0.1 by default) of sleep, not spin, then the node is destroyed
   and the process exits.

Only messages with flat fields are filled (what std_msgs/String needs); ros2cli fills
nested ones too.

    python test/topic_pub_once.py --keep-alive 1 /command std_msgs/msg/String \
        "data: 'go to the blue box'"
"""

from __future__ import annotations

import argparse
import importlib
import os
import time

import rclpy
from rclpy.qos import QoSPresetProfiles
import yaml

SPIN_TIME_S = 0.5    # ros2cli.node.direct.DEFAULT_TIMEOUT
WAIT_POLL_S = 0.1    # ros2topic.verb.pub.DEFAULT_WAIT_TIME
KEEP_ALIVE_S = 0.1   # pub's --keep-alive default
WAIT_MATCHING = 1    # pub's --wait-matching-subscriptions default with --once


def message_class(type_name: str):
    """'std_msgs/msg/String' -> std_msgs.msg.String."""
    package, _, name = type_name.split('/')
    return getattr(importlib.import_module(f'{package}.msg'), name)


def main(topic: str, type_name: str, values: str, keep_alive: float = KEEP_ALIVE_S) -> None:
    msg_class = message_class(type_name)
    fields = yaml.safe_load(values)
    rclpy.init()
    node = rclpy.create_node(f'_ros2cli_{os.getpid()}', start_parameter_services=False)
    spun = []
    discovery = node.create_timer(SPIN_TIME_S, lambda: spun.append(True))
    while not spun:
        rclpy.spin_once(node)
    node.destroy_timer(discovery)
    publisher = node.create_publisher(msg_class, topic,
                                      QoSPresetProfiles.get_from_short_key('default'))
    while publisher.get_subscription_count() < WAIT_MATCHING:
        time.sleep(WAIT_POLL_S)
    msg = msg_class()
    for name, value in fields.items():
        setattr(msg, name, value)
    publisher.publish(msg)
    # ros2cli prints the message here; the count tells a test which case it exercised.
    print(f'published to {publisher.get_subscription_count()} matched subscriptions',
          flush=True)
    time.sleep(keep_alive)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('topic')
    parser.add_argument('type_name')
    parser.add_argument('values')
    parser.add_argument('--keep-alive', type=float, default=KEEP_ALIVE_S)
    options = parser.parse_args()
    main(options.topic, options.type_name, options.values, options.keep_alive)
