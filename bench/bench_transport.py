#!/usr/bin/env python3

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
Camera frames between two processes: how many arrive, Fast DDS defaults vs the package profile.

A publisher process sends N frames (sensor_msgs/Image, rgb8) at --fps with the QoS
camera_node publishes with (reliable, depth 1); a subscriber process takes them with the
QoS grounding_node subscribes with (best effort, depth 1, REP-2003 sensor data) and counts
them. Each image size runs twice in the same run: with Fast DDS's built-in transports
(the baseline: shared-memory segments of 512 KB, larger messages over UDP fragments) and
with config/fastdds.xml (clip_grounding_ros.dds). Prints frames delivered per case and the
ratio to the baseline; asserts nothing. Each case has a DDS domain of its own.

    .venv/bin/python bench/bench_transport.py [--frames 300] [--fps 30]
        [--sizes 320x240,640x480,1280x720]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

DISCOVERY_TIMEOUT_S = 20.0
SETTLE_S = 1.0  # after the last frame: frames still in flight arrive


def subscriber_timeout(frames: int, fps: float) -> float:
    """Return how long (s) a subscriber waits for the publisher's 'done' at most."""
    return DISCOVERY_TIMEOUT_S + frames / fps + 10.0


def publish(width: int, height: int, frames: int, fps: float) -> None:
    """Publish ``frames`` blank rgb8 images once a subscriber has matched, then 'done'."""
    from clip_grounding_ros.nodes.common import COMMAND_LATCHED_QOS, LATEST_QOS
    import rclpy
    from sensor_msgs.msg import Image
    from std_msgs.msg import String

    rclpy.init()
    node = rclpy.create_node('transport_publisher')
    publisher = node.create_publisher(Image, 'camera/image_raw', LATEST_QOS)
    done = node.create_publisher(String, 'done', COMMAND_LATCHED_QOS)
    image = Image(width=width, height=height, encoding='rgb8', step=width * 3)
    image.data = bytes(width * height * 3)
    deadline = time.monotonic() + DISCOVERY_TIMEOUT_S
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the subscriber's side of the match
    start = time.monotonic()
    for index in range(frames):
        time.sleep(max(0.0, start + index / fps - time.monotonic()))
        image.header.stamp = node.get_clock().now().to_msg()
        publisher.publish(image)
    done.publish(String(data='done'))
    time.sleep(SETTLE_S + 1.0)  # for the subscriber to take 'done'
    node.destroy_node()
    rclpy.shutdown()


def subscribe(timeout: float) -> None:
    """Count the frames that arrive until SETTLE_S after the publisher's 'done'; print it."""
    from clip_grounding_ros.nodes.common import COMMAND_LATCHED_QOS, SENSOR_QOS
    import rclpy
    from sensor_msgs.msg import Image
    from std_msgs.msg import String

    rclpy.init()
    node = rclpy.create_node('transport_subscriber')
    received, done_at = [0], []
    node.create_subscription(Image, 'camera/image_raw',
                             lambda _msg: received.__setitem__(0, received[0] + 1), SENSOR_QOS)
    node.create_subscription(String, 'done', lambda _msg: done_at.append(time.monotonic()),
                             COMMAND_LATCHED_QOS)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (done_at and
                                               time.monotonic() > done_at[0] + SETTLE_S):
        rclpy.spin_once(node, timeout_sec=0.02)
    print(received[0], rclpy.get_rmw_implementation_identifier(), flush=True)
    node.destroy_node()
    rclpy.shutdown()


def run_case(width: int, height: int, frames: int, fps: float, profile: str,
             domain: int) -> tuple[int, str]:
    """Run one publisher/subscriber pair; return (frames received, RMW)."""
    from clip_grounding_ros.dds import PROFILE_VARIABLE

    environment = dict(os.environ, ROS_DOMAIN_ID=str(domain),
                       ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    environment.pop(PROFILE_VARIABLE, None)
    if profile:
        environment[PROFILE_VARIABLE] = profile
    script = os.path.abspath(__file__)
    subscriber = subprocess.Popen([sys.executable, script, '--role', 'subscribe', '--frames',
                                   str(frames), '--fps', str(fps)],
                                  env=environment, stdout=subprocess.PIPE, text=True)
    subprocess.run([sys.executable, script, '--role', 'publish', '--frames', str(frames),
                    '--fps', str(fps), '--sizes', f'{width}x{height}'], env=environment,
                   check=True)
    output, _ = subscriber.communicate(timeout=subscriber_timeout(frames, fps) + 10.0)
    count, rmw = output.split()
    return int(count), rmw


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--frames', type=int, default=300)
    parser.add_argument('--fps', type=float, default=30.0)
    parser.add_argument('--sizes', default='320x240,640x480,1280x720')
    parser.add_argument('--role', choices=('run', 'publish', 'subscribe'), default='run',
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in size.split('x')) for size in args.sizes.split(',')]
    if args.role == 'publish':
        publish(*sizes[0], args.frames, args.fps)
        return 0
    if args.role == 'subscribe':
        subscribe(subscriber_timeout(args.frames, args.fps))
        return 0
    from clip_grounding_ros.dds import profile_path

    print(f'{args.frames} frames at {args.fps:g}/s per case, publisher reliable depth 1 '
          '(camera_node), subscriber best effort depth 1 (grounding_node)')
    print(f'{"size":>9} {"frame KB":>9} | {"Fast DDS default":>16} | {"package profile":>16} '
          '| ratio')
    domain = 1 + os.getpid() % 90
    for width, height in sizes:
        delivered = {}
        for name, profile in (('default', ''), ('package', profile_path())):
            count, rmw = run_case(width, height, args.frames, args.fps, profile, domain)
            domain += 1
            delivered[name] = count
        ratio = (f'{delivered["package"] / delivered["default"]:5.2f}x' if delivered['default']
                 else '  none arrived by default')
        print(f'{width:4d}x{height:<4d} {width * height * 3 / 1024:9.0f} | '
              f'{delivered["default"]:5d} ({100 * delivered["default"] / args.frames:5.1f} %) | '
              f'{delivered["package"]:5d} ({100 * delivered["package"] / args.frames:5.1f} %) | '
              f'{ratio}   ({rmw})', flush=True)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
