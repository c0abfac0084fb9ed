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
The episode's observer: a node that sends the command and records what the pipeline does.

It reads every status and the simulator's ground truth through the contract types
(core.contract), and the simulator's odometry, which is its true pose.
"""

from __future__ import annotations

from collections import deque
import math
import threading
import time

import numpy as np

from .judge import Pose
from ..core.contract.messages import GroundTruth
from ..core.contract.status import (
    ActionState,
    ActionStatus,
    CameraStatus,
    GroundingState,
    GroundingStatus,
    TargetSource,
)
from ..core.world.frames import yaw_from_quaternion

TRUTHS_KEPT = 20000  # ground-truth messages kept (about 10 min at the simulator's rate)


class Observer:
    """A node in this process that sends the command and records what the pipeline does."""

    def __init__(self, context):
        from geometry_msgs.msg import PoseStamped, Twist
        from nav_msgs.msg import Odometry
        import rclpy
        from sensor_msgs.msg import Image
        from std_msgs.msg import String
        from visualization_msgs.msg import MarkerArray

        from ..nodes.common import COMMAND_LATCHED_QOS, LATEST_QOS, STATUS_QOS

        self.node = rclpy.create_node('episode_observer', context=context)
        self.lock = threading.Lock()
        self.action = ActionStatus()
        self.grounding = GroundingStatus()
        self.statuses_seen = False
        self.action_states: set[ActionState] = set()  # seen since the last command was sent
        self.truths: deque[GroundTruth] = deque(maxlen=TRUTHS_KEPT)  # moving objects' paths
        self.frames_published = 0  # by camera_node to grounding_node (camera status)
        self.grounding_errors: list[str] = []  # distinct 'error' messages since the command
        # The nearest the target was (m) when CLIP itself, not the tracker, placed it.
        self.closest_grounding: float | None = None
        # grounding/target messages stamped before the one received just before (must be 0).
        self.target_stamps_backwards = 0
        self.target_stamp: float | None = None
        self.truth: GroundTruth | None = None
        self.path: list[tuple[float, float]] = []
        self.pose: Pose = (0.0, 0.0, 0.0)
        self.turned = 0.0   # yaw unwrapped since the start (rad), for turns of any size
        self.sim_time = 0.0
        self.speed = (0.0, 0.0)
        self.first_frame: np.ndarray | None = None
        # The object memory as grounding_node shows it (memory/markers): label, x, y (odom,
        # which is the simulated world frame).
        self.remembered: list[dict] = []
        self.last_cmd: tuple[float, float] | None = None
        # Transient-local: it matches both of each node's command subscriptions (latched and
        # volatile), which receive every message once between them.
        self.command_pub = self.node.create_publisher(String, 'command', COMMAND_LATCHED_QOS)
        self.node.create_subscription(String, 'action/status', self._on_action, STATUS_QOS)
        self.node.create_subscription(String, 'grounding/status', self._on_grounding,
                                      STATUS_QOS)
        self.node.create_subscription(String, 'sim/ground_truth', self._on_truth, STATUS_QOS)
        self.node.create_subscription(MarkerArray, 'memory/markers', self._on_memory,
                                      LATEST_QOS)
        self.node.create_subscription(String, 'grounding/camera_status', self._on_camera,
                                      STATUS_QOS)
        self.node.create_subscription(Odometry, 'odom', self._on_odom, 10)
        self.node.create_subscription(Image, 'grounding/debug_image', self._on_frame, LATEST_QOS)
        self.node.create_subscription(Twist, 'cmd_vel', self._on_cmd, 10)
        self.node.create_subscription(PoseStamped, 'grounding/target', self._on_target, 10)

    def _on_action(self, msg) -> None:
        status = ActionStatus.from_json(msg.data)
        with self.lock:
            self.action, self.statuses_seen = status, True
            self.action_states.add(status.state)

    def _on_grounding(self, msg) -> None:
        status = GroundingStatus.from_json(msg.data)
        with self.lock:
            self.grounding = status
            if status.state == GroundingState.ERROR and \
                    status.message not in self.grounding_errors:
                self.grounding_errors.append(status.message)
            if status.found and status.target_source == TargetSource.GROUNDED and \
                    status.distance is not None:
                closest = self.closest_grounding
                self.closest_grounding = status.distance if closest is None else \
                    min(closest, status.distance)

    def _on_target(self, msg) -> None:
        from ..nodes.common import stamp_seconds

        stamp = stamp_seconds(msg.header.stamp)
        with self.lock:
            if self.target_stamp is not None and stamp < self.target_stamp:
                self.target_stamps_backwards += 1
            self.target_stamp = stamp

    def _on_camera(self, msg) -> None:
        status = CameraStatus.from_json(msg.data)
        with self.lock:
            self.frames_published = status.published

    def _on_truth(self, msg) -> None:
        truth = GroundTruth.from_json(msg.data)
        with self.lock:
            self.truth = truth
            self.truths.append(truth)

    def _on_memory(self, msg) -> None:
        remembered = [{'label': marker.text, 'x': round(marker.pose.position.x, 3),
                       'y': round(marker.pose.position.y, 3)}
                      for marker in msg.markers if marker.ns == 'memory' and marker.text]
        with self.lock:
            self.remembered = remembered

    def _on_odom(self, msg) -> None:
        """Record the simulator's odometry, which is its true pose (world frame)."""
        from ..nodes.common import stamp_seconds

        with self.lock:
            self.sim_time = stamp_seconds(msg.header.stamp)
            position, orientation = msg.pose.pose.position, msg.pose.pose.orientation
            yaw = yaw_from_quaternion(orientation.z, orientation.w)
            self.turned += math.remainder(yaw - self.pose[2], math.tau) if self.path else 0.0
            self.pose = (position.x, position.y, yaw)
            if not self.path or math.dist(self.path[-1], (position.x, position.y)) > 0.02:
                self.path.append((position.x, position.y))
            self.speed = (msg.twist.twist.linear.x, msg.twist.twist.angular.z)

    def _on_frame(self, msg) -> None:
        if self.first_frame is None and self.grounding.found:
            from ..nodes.common import image_to_rgb
            self.first_frame = image_to_rgb(msg)

    def _on_cmd(self, msg) -> None:
        self.last_cmd = (msg.linear.x, msg.angular.z)

    def send(self, text: str, subscribers: int, timeout: float,
             given_up=lambda: False) -> bool:
        """
        Publish once both nodes listening on `command` have matched.

        Like `ros2 topic pub --once`, which waits for a subscription. False after ``timeout``
        (wall s) or once ``given_up()`` says waiting is pointless (a node exited).
        """
        from std_msgs.msg import String

        deadline = time.monotonic() + timeout
        while self.command_pub.get_subscription_count() < subscribers:
            if time.monotonic() > deadline or given_up():
                return False
            time.sleep(0.05)
        with self.lock:
            self.grounding_errors = []  # the command's, not those of the nodes' start-up
            self.closest_grounding = None
            self.action_states = set()
        self.command_pub.publish(String(data=text))
        return True
