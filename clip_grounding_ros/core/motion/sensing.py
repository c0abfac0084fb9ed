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
Obstacle points: from a depth image or a laser scan, kept in the odometry frame.

Obstacle points are floor positions (x, y) in the base frame (REP-103: x forward, y left,
z up, z = 0 on the floor; metres): the robot is a disc that collides with anything between
``obstacle_min_height`` and ``obstacle_max_height``. A reading gives them
(:func:`points_from_depth`, :func:`points_from_scan`) with the floor it surely sees
(:class:`SensorView`); the :class:`ObstacleMap` keeps them in the odometry frame, so
obstacles the robot is passing stay known after they leave the camera's view.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
import math

import numpy as np

from ..world.camera import CameraMount, Intrinsics
from ..world.frames import base_points_to_odom, odom_points_to_base, Pose


def points_from_depth(depth_m: np.ndarray, intrinsics: Intrinsics, mount: CameraMount,
                      stride: int, min_height: float, max_height: float) -> np.ndarray:
    """
    Obstacle points (N, 2) = (x, y) in the base frame (m) seen in a depth image.

    ``depth_m`` is (H, W) float, metres along the optical axis (REP-118), with NaN, inf or 0
    where there is no reading; it may have another resolution than ``intrinsics`` describe
    (the intrinsics are scaled to it, as for a colour image resized before publishing).
    Every ``stride``-th pixel of every ``stride``-th row is back-projected through ``mount``;
    points whose height z is in (``min_height``, ``max_height``) are kept: the floor, and
    anything the robot passes under, are not obstacles. Drops below the floor (stairs) are
    not detected.

    ValueError for a depth image that is not 2-D or not floating point (a 16UC1 image in
    millimetres must be converted to metres first), a stride below 1, or heights not in
    increasing order.
    """
    depth = np.asarray(depth_m)
    if depth.ndim != 2 or depth.size == 0:
        raise ValueError(f'depth image must be a non-empty (H, W) array, got shape '
                         f'{depth.shape}')
    if not np.issubdtype(depth.dtype, np.floating):
        raise ValueError(f'depth image must be float metres, got {depth.dtype} (convert a '
                         '16UC1 image from millimetres first)')
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f'stride must be an integer >= 1, got {stride!r}')
    if not min_height < max_height:
        raise ValueError(f'min_height {min_height} must be below max_height {max_height}')
    height, width = depth.shape
    if (width, height) != (intrinsics.width, intrinsics.height):
        intrinsics = intrinsics.scaled(width, height)
    sampled = depth[::stride, ::stride]
    # Ray of pixel (u, v) in the optical frame: (a(u), b(v), 1); in the base frame its
    # components are rotation @ ray, an outer sum of a column term and a row term.
    a = (np.arange(0, width, stride) - intrinsics.cx) / intrinsics.fx
    b = (np.arange(0, height, stride) - intrinsics.cy) / intrinsics.fy
    rotation, origin = mount.rotation(), mount.origin()
    rays = [rotation[axis, 0] * a[None, :] + rotation[axis, 1] * b[:, None] + rotation[axis, 2]
            for axis in range(3)]
    with np.errstate(invalid='ignore'):  # inf * 0 where a ray is level: NaN, dropped
        z = origin[2] + sampled * rays[2]
        keep = (sampled > 0) & (z > min_height) & (z < max_height)  # False for NaN and inf
    distance = sampled[keep]
    return np.column_stack([origin[0] + distance * rays[0][keep],
                            origin[1] + distance * rays[1][keep]])


def points_from_scan(ranges: Sequence[float] | np.ndarray, angle_min: float,
                     angle_increment: float, range_min: float, range_max: float,
                     sensor_pose: tuple[float, float, float]) -> np.ndarray:
    """
    Obstacle points (N, 2) = (x, y) in the base frame (m) from sensor_msgs/LaserScan data.

    Reading i lies at angle ``angle_min + i * angle_increment`` (rad, counter-clockwise from
    the sensor's x axis); readings that are not finite or outside [``range_min``,
    ``range_max``] are dropped (REP-117). ``sensor_pose`` is the scanner's (x, y, yaw) on the
    base (m, rad). A scan is one plane: mount it between the obstacle heights.
    ValueError when ``ranges`` is not 1-D or the scan geometry is not finite.
    """
    values = np.asarray(ranges, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f'ranges must be a 1-D sequence, got shape {values.shape}')
    numbers = (angle_min, angle_increment, range_min, range_max, *sensor_pose)
    if len(sensor_pose) != 3 or not all(math.isfinite(v) for v in numbers):
        raise ValueError('scan angles, range limits and sensor pose (x, y, yaw) must be '
                         'finite numbers')
    angles = angle_min + angle_increment * np.arange(values.size) + sensor_pose[2]
    keep = np.isfinite(values) & (values >= range_min) & (values <= range_max)
    distances, angles = values[keep], angles[keep]
    return np.column_stack([sensor_pose[0] + distances * np.cos(angles),
                            sensor_pose[1] + distances * np.sin(angles)])


@dataclass(frozen=True)
class SensorView:
    """
    Where on the floor a sensor reading surely shows any obstacle, in the base frame.

    A sector from the sensor at (``x``, ``y``) (m), centred on ``yaw`` (rad) and
    ``half_angle`` (rad) wide on each side, between the distances ``near`` and ``far`` (m):
    measured along ``yaw`` for a camera, from the sensor (``radial``) for a scanner.
    Remembered obstacle points inside it are replaced by what
    the new reading shows (a costmap's clearing); outside it (beside the robot, or too
    near for a downward-looking camera to see the floor) they are kept. A reading with
    holes (no return from a black or shiny surface) clears what it did not see: give such a
    sensor a narrower view.
    """

    x: float
    y: float
    yaw: float
    half_angle: float
    near: float
    far: float
    radial: bool = False

    def contains(self, points: np.ndarray) -> np.ndarray:
        """(N,) bool: which of the (N, 2) base-frame points lie in the view."""
        dx, dy = points[:, 0] - self.x, points[:, 1] - self.y
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        forward, left = c * dx + s * dy, -s * dx + c * dy
        distance = np.hypot(forward, left) if self.radial else forward
        return ((np.abs(np.arctan2(left, forward)) <= self.half_angle) &
                (distance >= self.near) & (distance <= self.far))


def depth_view(intrinsics: Intrinsics, mount: CameraMount, far: float) -> SensorView:
    """
    Return the floor a depth camera sees whole, up to ``far`` m ahead.

    Within its narrower horizontal half field of view, and no nearer than where its lowest image
    row meets the floor (an obstacle standing nearer may be below the image). A camera whose lowest
    row does not look down sees no floor: its view clears nothing.
    """
    half = min(math.atan2(intrinsics.cx + 0.5, intrinsics.fx),
               math.atan2(intrinsics.width - intrinsics.cx - 0.5, intrinsics.fx))
    lowest = mount.pitch + math.atan2(intrinsics.height - intrinsics.cy - 0.5, intrinsics.fy)
    near = mount.z / math.tan(lowest) if lowest > 0 else math.inf
    return SensorView(mount.x, mount.y, mount.yaw, half, near, far)


def scan_view(angle_min: float, angle_max: float, range_min: float, range_max: float,
              sensor_pose: tuple[float, float, float]) -> SensorView:
    """
    Return the sector a LaserScan covers, as :func:`points_from_scan` reads it.

    Angles in rad of the sensor, ranges in m.
    """
    x, y, yaw = sensor_pose
    half = min(abs(angle_max - angle_min) / 2.0, math.pi)
    centre = yaw + (angle_min + angle_max) / 2.0
    return SensorView(x, y, centre, half, range_min, range_max, radial=True)


class ObstacleMap:
    """
    Obstacle points kept in the odometry frame until seen again or ``keep`` s old.

    ``keep`` is ObstacleConfig.obstacle_memory.

    A camera sees only ahead: an obstacle the robot is passing leaves its view while the
    robot could still clip it turning back toward the goal. So the points of each reading
    are kept where they were seen (odom frame, thinned to a 5 cm grid) and brought into the
    current base frame for each check. A new reading replaces the remembered points inside
    its :class:`SensorView` (what it shows there is the truth now, so an object
    that moved away is forgotten), and keeps those outside it. Without odometry only the
    newest reading's points count.
    """

    GRID = 0.05  # m

    def __init__(self):
        self.frames: deque[tuple[float, np.ndarray]] = deque()  # (stamp, odom (N, 2))
        self.latest: np.ndarray = np.empty((0, 2))  # newest frame, base frame of its pose
        self.stamp: float | None = None

    def add(self, points_base: np.ndarray, stamp: float, pose: Pose | None,
            keep: float, view: SensorView | None = None) -> None:
        """Add a reading's (N, 2) base-frame points taken at ``stamp`` (s) from ``pose``."""
        if self.stamp is not None and stamp < self.stamp:
            self.clear()
        self.stamp, self.latest = stamp, points_base
        if pose is None:
            self.frames.clear()
            return
        while self.frames and stamp - self.frames[0][0] > keep:
            self.frames.popleft()
        where = (pose.x, pose.y, pose.yaw)
        if view is not None:
            self.frames = deque((seen, odom[~view.contains(odom_points_to_base(odom, where))])
                                for seen, odom in self.frames)
        odom = base_points_to_odom(points_base, where)
        odom = np.unique(np.round(odom / self.GRID), axis=0) * self.GRID if len(odom) else odom
        self.frames.append((stamp, odom))

    def points(self, pose: Pose | None) -> np.ndarray:
        """(N, 2) obstacle points in the base frame of ``pose`` (the current one)."""
        if pose is None or not self.frames:
            return self.latest
        return odom_points_to_base(np.concatenate([points for _, points in self.frames]),
                                   (pose.x, pose.y, pose.yaw))

    def clear(self) -> None:
        self.frames.clear()
        self.latest, self.stamp = np.empty((0, 2)), None
