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
From image boxes to target positions in the robot's base frame.

Frames follow REP-103: the optical frame has x right, y down, z forward; the base frame has
x forward, y left, z up, with z = 0 on the floor. The camera's pose on the base comes from
mounting parameters (or, on a robot with TF, from the same numbers read off the URDF).

Pixel conventions: CameraInfo (like OpenCV) puts pixel centres at whole coordinates, while
boxes are continuous [x1, x2) x [y1, y2) spans of pixel edges, so a box's centre column is
(x1 + x2) / 2 - 0.5 in CameraInfo coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math

import numpy as np

from ..contract.parameters import setting, Settings
from ..contract.status import PositionSource


class GeometryError(ValueError):
    """Camera calibration or mounting values that cannot be used."""


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of an image of ``width`` x ``height`` pixels."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self):
        values = (self.fx, self.fy, self.cx, self.cy)
        if not all(math.isfinite(v) for v in values) or self.fx <= 0 or self.fy <= 0:
            raise GeometryError(
                f'camera intrinsics are unusable (fx={self.fx}, fy={self.fy}): the camera '
                'is probably uncalibrated (camera_info K is all zeros)')
        if self.width <= 0 or self.height <= 0:
            raise GeometryError(f'camera_info has zero size ({self.width}x{self.height})')

    @classmethod
    def from_k(cls, k: Sequence[float], width: int, height: int) -> Intrinsics:
        """From a row-major 3x3 K matrix as in sensor_msgs/CameraInfo (last row 0, 0, 1)."""
        if len(k) != 9:
            raise GeometryError(f'K must have 9 values, got {len(k)}')
        intrinsics = cls(float(k[0]), float(k[4]), float(k[2]), float(k[5]), int(width),
                         int(height))
        if (k[6], k[7], k[8]) != (0, 0, 1):  # else fx, cx, ... are not in pixels
            raise GeometryError(f'camera_info K must end in 0, 0, 1, got {k[6]}, {k[7]}, '
                                f'{k[8]}')
        return intrinsics

    @classmethod
    def from_camera_info(cls, k: Sequence[float], width: int, height: int,
                         binning_x: int = 0, binning_y: int = 0,
                         roi: Sequence[int] = (0, 0, 0, 0)) -> Intrinsics:
        """
        Make the intrinsics of the image a sensor_msgs/CameraInfo describes.

        See :func:`image_region`: K, width and height are the full-resolution sensor's; the image
        is its region of interest downsampled by the binning. Raises GeometryError when the region
        lies outside the sensor or K is unusable.
        """
        if len(k) != 9:
            raise GeometryError(f'K must have 9 values, got {len(k)}')
        (x0, y0, image_width, image_height), (bx, by) = image_region(width, height, binning_x,
                                                                     binning_y, roi)
        return cls.from_k(region_camera_matrix(k, x0, y0, bx, by), image_width, image_height)

    @classmethod
    def from_fov(cls, width: int, height: int, horizontal_fov_deg: float) -> Intrinsics:
        """Ideal intrinsics for a camera with square pixels and a known horizontal FOV."""
        if not 1.0 <= horizontal_fov_deg < 179.0:
            raise GeometryError(f'field of view {horizontal_fov_deg} deg is out of range')
        focal = (width / 2.0) / math.tan(math.radians(horizontal_fov_deg) / 2.0)
        return cls(focal, focal, (width - 1) / 2.0, (height - 1) / 2.0, width, height)

    def scaled(self, width: int, height: int) -> Intrinsics:
        """Return the same camera seen through an image resized to ``width`` x ``height``."""
        k = scale_camera_matrix(self.k(), width / self.width, height / self.height)
        return Intrinsics.from_k(k, width, height)

    def k(self) -> list[float]:
        return [self.fx, 0.0, self.cx, 0.0, self.fy, self.cy, 0.0, 0.0, 1.0]


def image_region(width: int, height: int, binning_x: int = 0, binning_y: int = 0,
                 roi: Sequence[int] = (0, 0, 0, 0)) -> tuple[tuple[int, int, int, int],
                                                             tuple[int, int]]:
    """
    Return the region and binning of the image a CameraInfo describes.

    ((x_offset, y_offset, image_width, image_height), (bx, by)) of the image a CameraInfo of a
    ``width`` x ``height`` sensor describes.

    As image_geometry's PinholeCameraModel reads CameraInfo: the image is the region of
    interest ``roi`` = (x_offset, y_offset, roi_width, roi_height) (all zero: the whole
    sensor), downsampled by the binning factors (0 or 1: none), so its size is the region's
    divided by the binning. Raises GeometryError for a region outside the sensor.
    """
    if width <= 0 or height <= 0:
        raise GeometryError(f'camera_info has zero size ({width}x{height})')
    bx, by = max(1, int(binning_x)), max(1, int(binning_y))
    x0, y0, roi_width, roi_height = (int(v) for v in roi)
    if (x0, y0, roi_width, roi_height) == (0, 0, 0, 0):
        x0, y0, roi_width, roi_height = 0, 0, int(width), int(height)
    if roi_width <= 0 or roi_height <= 0:
        raise GeometryError(f'camera_info region of interest {tuple(roi)} is empty (all zero '
                            'means the whole sensor)')
    if x0 < 0 or y0 < 0 or x0 + roi_width > width or y0 + roi_height > height:
        raise GeometryError(f'camera_info region of interest {tuple(roi)} lies outside the '
                            f'{width}x{height} sensor')
    if roi_width < bx or roi_height < by:
        raise GeometryError(f'camera_info binning {bx}x{by} leaves no pixel of the '
                            f'{roi_width}x{roi_height} region')
    return (x0, y0, roi_width // bx, roi_height // by), (bx, by)


def region_camera_matrix(matrix: Sequence[float], x_offset: int, y_offset: int,
                         binning_x: int, binning_y: int) -> list[float]:
    """
    Return the K or P of the image of a binned region of interest.

    A row-major K (3x3) or P (3x4) of the full sensor, for the image of a region of interest at
    (x_offset, y_offset) binned by (binning_x, binning_y): f' = f / b, c' = (c - offset) / b
    (image_geometry's convention).
    """
    if len(matrix) not in (9, 12):
        raise GeometryError(f'a camera matrix has 9 (K) or 12 (P) values, got {len(matrix)}')
    if binning_x < 1 or binning_y < 1:
        raise GeometryError(f'binning {binning_x}x{binning_y} must be at least 1x1')
    m = np.array(matrix, dtype=np.float64).reshape(3, -1)
    m[0, 2] -= x_offset * m[2, 2]
    m[1, 2] -= y_offset * m[2, 2]
    m[0] /= binning_x
    m[1] /= binning_y
    return m.ravel().tolist()


def scale_camera_matrix(matrix: Sequence[float], sx: float, sy: float) -> list[float]:
    """
    Return a row-major K (3x3) or P (3x4) of CameraInfo for an image resized by (sx, sy).

    Resizing scales pixel edges, so the principal point moves by half a pixel:
    c' = (c + 0.5) s - 0.5. All-zero (uncalibrated) matrices stay all zero.
    """
    m = np.array(matrix, dtype=np.float64).reshape(3, -1)
    m[0] *= sx
    m[1] *= sy
    m[0, 2] += (0.5 * sx - 0.5) * m[2, 2]
    m[1, 2] += (0.5 * sy - 0.5) * m[2, 2]
    return m.ravel().tolist()


@dataclass(frozen=True)
class CameraMount:
    """
    Where the camera sits on the base: position (m) and pitch/yaw (rad).

    ``z`` is the optical centre's height above the floor; positive ``pitch`` tilts the
    camera down (REP-103's nose-down rotation about y).
    """

    x: float = 0.0
    y: float = 0.0
    z: float = 0.5
    pitch: float = 0.0
    yaw: float = 0.0

    def __post_init__(self):
        if not all(math.isfinite(v) for v in (self.x, self.y, self.z, self.pitch, self.yaw)):
            raise GeometryError('camera mount values must be finite numbers')
        if self.z <= 0:
            raise GeometryError(f'camera height must be above the floor, got {self.z} m')
        if not -math.pi / 2 < self.pitch < math.pi / 2:
            raise GeometryError(f'camera pitch {math.degrees(self.pitch):.1f} deg is out of '
                                'range (-90, 90)')

    def rotation(self) -> np.ndarray:
        """Rotation taking optical-frame vectors to base-frame vectors."""
        optical_to_body = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        pitch = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        yaw = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
        return yaw @ pitch @ optical_to_body

    def origin(self) -> np.ndarray:
        return np.array([self.x, self.y, self.z])


@dataclass(frozen=True)
class MountConfig(Settings):
    """
    The camera mount as node parameters (metres, degrees).

    grounding_node places targets with it, action_node obstacle points. Params files give it once,
    under ``/**:``, so both nodes read the same values (on a robot with TF, the numbers of the
    URDF).
    """

    camera_x: float = setting(0.15, 'Camera optical centre, metres ahead of the base origin',
                              minimum=-10.0, maximum=10.0)
    camera_y: float = setting(0.0, 'Camera optical centre, metres left of the base origin',
                              minimum=-10.0, maximum=10.0)
    camera_z: float = setting(0.35, 'Camera optical centre height above the floor (m)',
                              minimum=0.001, maximum=10.0)
    camera_pitch_deg: float = setting(20.0, 'Camera tilt, degrees down from horizontal',
                                      minimum=-89.9, maximum=89.9)
    camera_yaw_deg: float = setting(0.0, 'Camera yaw, degrees left of the base x axis',
                                    minimum=-180.0, maximum=180.0)

    @property
    def mount(self) -> CameraMount:
        return CameraMount(x=self.camera_x, y=self.camera_y, z=self.camera_z,
                           pitch=math.radians(self.camera_pitch_deg),
                           yaw=math.radians(self.camera_yaw_deg))


@dataclass(frozen=True)
class TargetPoint:
    """A grounded target in the base frame, with how it was measured."""

    x: float
    y: float
    z: float
    source: PositionSource

    @property
    def distance(self) -> float:
        """Horizontal distance from the base origin (m)."""
        return math.hypot(self.x, self.y)

    @property
    def bearing(self) -> float:
        """Angle to the target, counter-clockwise from straight ahead (rad)."""
        return math.atan2(self.y, self.x)


def pixel_ray(u: float, v: float, intrinsics: Intrinsics) -> np.ndarray:
    """Direction (optical frame, z = 1) of the ray through pixel (u, v)."""
    return np.array([(u - intrinsics.cx) / intrinsics.fx,
                     (v - intrinsics.cy) / intrinsics.fy, 1.0])


def ground_point(u: float, v: float, intrinsics: Intrinsics,
                 mount: CameraMount) -> TargetPoint | None:
    """
    Return where the ray through (u, v) meets the floor, or None.

    None when it points at or above the horizon (the floor is not seen there).
    """
    direction = mount.rotation() @ pixel_ray(u, v, intrinsics)
    if not direction[2] < -1e-6:  # also a NaN ray (NaN pixel)
        return None
    t = -mount.z / direction[2]
    point = mount.origin() + t * direction
    if not np.all(np.isfinite(point)):  # too far out to represent
        return None
    return TargetPoint(float(point[0]), float(point[1]), 0.0, PositionSource.GROUND_PLANE)


def depth_point(u: float, v: float, depth_m: float, intrinsics: Intrinsics,
                mount: CameraMount) -> TargetPoint:
    """Return the base-frame point at optical-axis depth ``depth_m`` on the ray through (u, v)."""
    point = mount.origin() + mount.rotation() @ (pixel_ray(u, v, intrinsics) * depth_m)
    return TargetPoint(float(point[0]), float(point[1]), float(point[2]), PositionSource.DEPTH)


def box_depth(depth_m: np.ndarray, box: Sequence[float], image_size: tuple[int, int],
              inner_fraction: float = 0.5) -> float | None:
    """
    Median valid depth (m) in the upper half of the central part of ``box``.

    The central part is ``inner_fraction`` of the box's width and height around its centre;
    of it, the rows above the centre are used. Why the upper half: an object stands on the
    floor, and what hides part of it from the camera is mostly something lower and nearer
    on the floor in front of it, which covers its lower part (and a box drawn around both
    then ends at the occluder's top edge); its upper centre is the part most surely its own.
    ``box`` is in pixels of an image of ``image_size`` (width, height); the depth image may
    have another resolution (it is scaled), as when the colour image was resized.
    Returns None when the region holds no valid (finite, positive) reading; raises
    GeometryError for a non-finite box or an ``image_size`` without pixels.
    """
    width, height = image_size
    if width <= 0 or height <= 0:
        raise GeometryError(f'image size {width}x{height} has no pixels')
    check_box(box)
    if depth_m.size == 0:
        return None
    sx, sy = depth_m.shape[1] / width, depth_m.shape[0] / height
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half_w = max(0.5, (x2 - x1) * inner_fraction / 2)
    half_h = max(0.5, (y2 - y1) * inner_fraction / 2)
    # np.floor/np.ceil: a huge box may overflow to inf, which the clip brings back.
    c1 = int(np.clip(np.floor((cx - half_w) * sx), 0, depth_m.shape[1] - 1))
    c2 = int(np.clip(np.ceil((cx + half_w) * sx), c1 + 1, depth_m.shape[1]))
    r1 = int(np.clip(np.floor((cy - half_h) * sy), 0, depth_m.shape[0] - 1))
    r2 = int(np.clip(np.ceil(cy * sy), r1 + 1, depth_m.shape[0]))
    region = depth_m[r1:r2, c1:c2]
    valid = region[np.isfinite(region) & (region > 0)]  # as depth_to_metres: 0 is no reading
    # float64: the mean of the two middle float32 readings must not overflow
    return float(np.median(valid.astype(np.float64))) if valid.size else None


def check_box(box: Sequence[float], non_empty: bool = False) -> np.ndarray:
    """
    Return an image box (x1, y1, x2, y2) as a float64 (4,) array, checked.

    GeometryError unless it is four finite numbers (pixels); with ``non_empty`` also unless
    x2 > x1 and y2 > y1.
    """
    try:
        values = np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError):
        raise GeometryError(f'a box is four numbers (x1, y1, x2, y2), got {box!r}') from None
    if values.shape != (4,):
        raise GeometryError(f'a box is four numbers (x1, y1, x2, y2), got {box!r}')
    if not np.all(np.isfinite(values)):
        raise GeometryError(f'box {tuple(box)} has non-finite coordinates')
    if non_empty and not (values[2] > values[0] and values[3] > values[1]):
        raise GeometryError(f'a box needs x2 > x1 and y2 > y1, got {box!r}')
    return values


def locate_box(box: Sequence[float], intrinsics: Intrinsics, mount: CameraMount,
               depth_m: np.ndarray | None = None) -> TargetPoint | None:
    """
    Base-frame position of the object in ``box`` (pixels of the intrinsics' image).

    With depth: the median depth of the box's upper centre (:func:`box_depth`) along the
    centre ray (the object's visible surface). Without: the floor point under the box's
    bottom edge, i.e. the near edge of an object standing on the floor. None when neither
    is possible; GeometryError for a box with non-finite coordinates.
    """
    check_box(box)
    x1, y1, x2, y2 = box
    u = (x1 + x2) / 2.0 - 0.5  # box edges -> CameraInfo pixel-centre coordinates
    if depth_m is not None:
        depth = box_depth(depth_m, box, (intrinsics.width, intrinsics.height))
        if depth is not None:
            point = depth_point(u, (y1 + y2) / 2.0 - 0.5, depth, intrinsics, mount)
            if all(math.isfinite(v) for v in (point.x, point.y, point.z)):
                return point
    return ground_point(u, y2 - 0.5, intrinsics, mount)
