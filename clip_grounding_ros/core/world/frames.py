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
Frames and poses of a planar robot (REP-103/105): base and odometry frames, and poses in time.

The base frame has x forward, y left (REP-103); the odometry frame is fixed to the world and
drifts slowly (REP-105). A robot pose is (x, y, yaw) of the base in odom, in metres and
radians, as in nav_msgs/Odometry; times are seconds on one clock (ROS time in the nodes).
Point sets are ``(N, 2)`` arrays of (x, y).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
import math

import numpy as np


def yaw_from_quaternion(z: float, w: float) -> float:
    """
    Return the yaw (rad) of a planar base's orientation quaternion (0, 0, z, w).

    A base that only turns about its vertical axis, as nav_msgs/Odometry of a planar robot
    describes it; x and y of the quaternion are ignored.
    """
    return 2.0 * math.atan2(z, w)


def quaternion_from_yaw(yaw: float) -> tuple[float, float]:
    """Return (z, w) of the orientation quaternion of a rotation by ``yaw`` (rad) about z."""
    return math.sin(yaw / 2.0), math.cos(yaw / 2.0)


def base_to_odom(point_base: Sequence[float], pose: Sequence[float]) -> tuple[float, float]:
    """Return a base-frame point (x, y) as seen from ``pose`` (x, y, yaw in odom), in odom (m)."""
    x, y = base_points_to_odom(np.array([point_base], dtype=np.float64), pose)[0]
    return float(x), float(y)


def odom_to_base(point_odom: Sequence[float], pose: Sequence[float]) -> tuple[float, float]:
    """Return an odom-frame point (x, y) in the base frame of the robot at ``pose`` (m)."""
    x, y = odom_points_to_base(np.array([point_odom], dtype=np.float64), pose)[0]
    return float(x), float(y)


def base_points_to_odom(points: np.ndarray, pose: Sequence[float]) -> np.ndarray:
    """Return (N, 2) base-frame points seen from ``pose`` (x, y, yaw in odom) in odom (m)."""
    px, py, yaw = pose
    c, s = math.cos(yaw), math.sin(yaw)
    return np.column_stack([px + c * points[:, 0] - s * points[:, 1],
                            py + s * points[:, 0] + c * points[:, 1]])


def odom_points_to_base(points: np.ndarray, pose: Sequence[float]) -> np.ndarray:
    """Return (N, 2) odom-frame points in the base frame of the robot at ``pose`` (m)."""
    px, py, yaw = pose
    c, s = math.cos(yaw), math.sin(yaw)
    dx, dy = points[:, 0] - px, points[:, 1] - py
    return np.column_stack([c * dx + s * dy, -s * dx + c * dy])


@dataclass(frozen=True)
class Pose:
    """A base pose in the odometry frame: position (m) and yaw (rad), and its time."""

    x: float
    y: float
    yaw: float
    stamp: float

    @property
    def xy_yaw(self) -> tuple[float, float, float]:
        """Return (x, y, yaw): the pose as the frame transforms take it."""
        return self.x, self.y, self.yaw


class PoseHistory:
    """Recent odometry poses, to find where the robot was when an image was taken."""

    def __init__(self, span: float = 5.0):
        self.span = span
        self.poses: deque[Pose] = deque()

    def add(self, pose: Pose) -> None:
        if self.poses and pose.stamp < self.poses[-1].stamp:
            self.poses.clear()  # the clock went back: the old poses are undatable
        self.poses.append(pose)
        while self.poses and pose.stamp - self.poses[0].stamp > self.span:
            self.poses.popleft()

    def at(self, stamp: float, tolerance: float = 0.1) -> Pose | None:
        """
        Return the pose at ``stamp``, interpolated between the two around it.

        None when ``stamp`` is outside the history (by more than ``tolerance`` s at either end).
        """
        poses = self.poses
        if not poses or stamp < poses[0].stamp - tolerance or \
                stamp > poses[-1].stamp + tolerance:
            return None
        after = next((p for p in poses if p.stamp >= stamp), poses[-1])
        before = next((p for p in reversed(poses) if p.stamp <= stamp), poses[0])
        span = after.stamp - before.stamp
        w = 0.0 if span <= 0 else (stamp - before.stamp) / span
        yaw = before.yaw + w * math.remainder(after.yaw - before.yaw, math.tau)
        return Pose(before.x + w * (after.x - before.x), before.y + w * (after.y - before.y),
                    math.remainder(yaw, math.tau), stamp)

    def clear(self) -> None:
        self.poses.clear()
