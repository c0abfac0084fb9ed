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
Helpers for the node tests: real rclpy contexts and DDS, a probe node, images, processes.

Each test gets its own Context (the ``ros`` fixture in conftest.py) spun by a
SingleThreadedExecutor. Tests wait for conditions with :meth:`RosHarness.spin_until`
instead of sleeping, so a loaded machine makes them slower, never flaky.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

from builtin_interfaces.msg import Time as TimeMsg
from clip_grounding_ros.core.perception.images import encode_compressed
from clip_grounding_ros.core.world.camera import Intrinsics
from clip_grounding_ros.nodes.common import intrinsics_to_camera_info
import numpy as np
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

TIMEOUT = 20.0  # s; only a failing test waits this long
# Every node publishes reliably; a reliable reader keeps all of it for the assertions.
RECORD_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
BEST_EFFORT_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
RELIABLE_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)

# The weight-independent grounding set-up. With strategy 'crops' and max_crops 1 only the
# first proposal is scored, and on a uniform grey frame with colour_proposals 1 the first
# proposal is the one colour segment, the blue square; score_threshold 0.0 accepts any
# score, and commit_groundings 1 commits to it at once (random weights give no evidence to
# agree on). So the target comes from the square whatever the model weights are. The
# square is left of the image centre and, with its edges on JPEG's 16-pixel blocks, survives
# JPEG compression nearly intact.
SQUARE_BOX = (48, 80, 96, 112)  # x1, y1, x2, y2 in a 320x240 frame
WEIGHT_FREE_GROUNDING = {'strategy': 'crops', 'max_crops': 1, 'colour_proposals': 1,
                         'score_threshold': 0.0, 'commit_groundings': 1}


def blue_square_image() -> np.ndarray:
    """320x240 RGB: uniform grey with one blue square (SQUARE_BOX) left of the centre."""
    image = np.full((240, 320, 3), 128, np.uint8)
    x1, y1, x2, y2 = SQUARE_BOX
    image[y1:y2, x1:x2] = (30, 60, 200)
    return image


def square_intrinsics() -> Intrinsics:
    """Return the calibration sent with blue_square_image: an ideal 60 deg camera."""
    return Intrinsics.from_fov(320, 240, 60.0)


# -- messages ---------------------------------------------------------------------------
def stamp(seconds: float) -> TimeMsg:
    return Time(nanoseconds=round(seconds * 1e9)).to_msg()


def image_msg(pixels: np.ndarray, encoding: str, stamp_s: float, frame_id: str = 'camera',
              pad: int = 0) -> Image:
    """Make an Image of ``pixels`` (H x W or H x W x C, any dtype) with ``pad`` bytes per row."""
    rows = np.ascontiguousarray(pixels).reshape(pixels.shape[0], -1).view(np.uint8)
    padded = np.concatenate([rows, np.full((rows.shape[0], pad), 7, np.uint8)], axis=1)
    msg = Image(header=Header(stamp=stamp(stamp_s), frame_id=frame_id),
                height=pixels.shape[0], width=pixels.shape[1], encoding=encoding,
                is_bigendian=0, step=padded.shape[1])
    msg.data = padded.tobytes()
    return msg


def compressed_msg(rgb: np.ndarray, stamp_s: float, frame_id: str = 'camera') -> CompressedImage:
    msg = CompressedImage(header=Header(stamp=stamp(stamp_s), frame_id=frame_id), format='jpeg')
    msg.data = encode_compressed(rgb, 'jpeg', 95)
    return msg


def camera_info_msg(intrinsics: Intrinsics, stamp_s: float = 0.0,
                    frame_id: str = 'camera') -> CameraInfo:
    return intrinsics_to_camera_info(intrinsics, Header(stamp=stamp(stamp_s), frame_id=frame_id))


def pixels(msg: Image) -> np.ndarray:
    """Return an rgb8 Image's pixels as (H, W, 3), honouring its step."""
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
    return rows[:, :msg.width * 3].reshape(msg.height, msg.width, 3)


# -- in-process nodes -------------------------------------------------------------------
class Probe(Node):
    """The test's own node: records what it subscribes to and publishes what tests send."""

    def __init__(self, **kwargs):
        super().__init__('test_probe', **kwargs)
        self.messages: dict[str, list] = defaultdict(list)
        self.clock_pub = self.create_publisher(Clock, '/clock', RELIABLE_QOS)

    def record(self, msg_type, topic: str, qos: QoSProfile = RECORD_QOS, keep: int = 0):
        """
        Subscribe to ``topic``; messages collect in ``self.messages[topic]``.

        Only the last ``keep`` of them when ``keep`` is set, for fast streams.
        """
        if keep:
            self.messages[topic] = deque(maxlen=keep)
        store = self.messages[topic]

        def append(msg):  # rclpy inspects the signature, which deque.append lacks
            store.append(msg)
        return self.create_subscription(msg_type, topic, append, qos)

    def statuses(self, topic: str) -> list[dict]:
        """Return the JSON status messages received on ``topic``, oldest first."""
        return [json.loads(msg.data) for msg in self.messages[topic]]

    def last_status(self, topic: str) -> dict:
        return self.statuses(topic)[-1] if self.messages[topic] else {}


class RosHarness:
    """A fresh Context with a Probe and the nodes under test on one executor."""

    def __init__(self):
        self.context = Context()
        rclpy.init(context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.nodes: list[Node] = []
        self.probe = self.add(Probe(context=self.context))

    def add(self, node: Node) -> Node:
        self.executor.add_node(node)
        self.nodes.append(node)
        return node

    def start(self, node_class, **params) -> Node:
        """Create ``node_class`` in this context with ``params`` as parameter overrides."""
        overrides = [rclpy.Parameter(name, value=value) for name, value in params.items()]
        return self.add(node_class(context=self.context, parameter_overrides=overrides))

    def spin_until(self, predicate, timeout: float = TIMEOUT) -> bool:
        """Spin until ``predicate()`` holds; False when ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            self.executor.spin_once(timeout_sec=0.02)
        return True

    def spin_for(self, seconds: float) -> None:
        """Spin for a while: only for checks that something does NOT happen."""
        self.spin_until(lambda: False, seconds)

    def connect(self, endpoint, count: int = 1) -> None:
        """Wait until a probe publisher or subscription has matched ``count`` peers."""
        matched = getattr(endpoint, 'get_subscription_count', None) or \
            endpoint.get_publisher_count
        assert self.spin_until(lambda: matched() >= count), f'{endpoint.topic_name}: no peer'

    def publish_until(self, publisher, msg, predicate) -> bool:
        """
        Publish ``msg`` again at every spin until ``predicate()`` holds.

        For messages that are harmless to repeat, sent best-effort or before a match is certain.
        """
        self.connect(publisher)

        def published_and_done():
            publisher.publish(msg)
            return predicate()
        return self.spin_until(published_and_done)

    def set_clock(self, node: Node, seconds: float) -> None:
        """Publish /clock until ``node`` (use_sim_time) reads ``seconds``."""
        nanoseconds = round(seconds * 1e9)
        assert self.publish_until(self.probe.clock_pub, Clock(clock=stamp(seconds)),
                                  lambda: node.get_clock().now().nanoseconds == nanoseconds), \
            f'{node.get_name()} did not follow /clock'

    def advance_until(self, node: Node, predicate, step: float = 0.05, steps: int = 60) -> float:
        """
        Step ``node``'s simulated clock by ``step`` until ``predicate()`` holds.

        Returns the simulated time reached. Held still in between, so a slow machine changes
        nothing.
        """
        seconds = node.get_clock().now().nanoseconds * 1e-9
        for _ in range(steps):
            seconds += step
            self.set_clock(node, seconds)
            if self.spin_until(predicate, timeout=1.0):
                return seconds
        raise AssertionError(f'not reached by simulated time {seconds:.2f}')

    def close(self) -> None:
        """Shut the nodes down as run_node does (on_shutdown first), then the context."""
        try:
            for node in reversed(self.nodes):
                on_shutdown = getattr(node, 'on_shutdown', None)
                if on_shutdown is not None:
                    on_shutdown()
                self.executor.remove_node(node)
                node.destroy_node()
        finally:
            self.executor.shutdown()
            self.context.try_shutdown()


# -- node processes ---------------------------------------------------------------------
class NodeProcess:
    """
    A node started from its entry point with ``-p name:=value`` parameters.

    Output, and the ROS log files, go to ``log_dir`` (a pipe nobody reads could block the
    node).
    """

    def __init__(self, name: str, log_dir: Path, ros_arguments: Sequence[str] = (), **params):
        script = Path(sys.executable).with_name(name)  # the venv's console script
        command = [str(script)] if script.exists() else \
            [sys.executable, '-m', f'clip_grounding_ros.nodes.{name}']
        command += ['--ros-args', *ros_arguments]
        for key, value in params.items():
            command += ['-p', f'{key}:={value if isinstance(value, str) else json.dumps(value)}']
        self.name = name
        self.stderr_path = log_dir / f'{name}.stderr'
        with open(log_dir / f'{name}.stdout', 'wb') as stdout, \
                open(self.stderr_path, 'wb') as stderr:
            self.process = subprocess.Popen(command, stdout=stdout, stderr=stderr,
                                            env={**os.environ, 'PYTHONUNBUFFERED': '1',
                                                 'ROS_LOG_DIR': str(log_dir)})

    def interrupt(self) -> None:
        """Ctrl-C."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def exited(self) -> bool:
        return self.process.poll() is not None

    def stop(self, timeout: float = TIMEOUT) -> int:
        """SIGINT, then kill if it does not exit in time; returns the exit status."""
        self.interrupt()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.process.returncode

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors='replace')


def rss_mb(pid: int) -> float:
    """
    Return the resident memory of process ``pid`` in MB.

    VmRSS in /proc/<pid>/status (Linux), for tests that watch a node's memory across a load.
    """
    with open(f'/proc/{pid}/status') as status:
        line = next(line for line in status if line.startswith('VmRSS:'))
    return int(line.split()[1]) / 1024  # the kernel reports kB
