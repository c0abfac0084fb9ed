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

"""Pixel -> base-frame geometry against hand-computed cases (REP-103 frames)."""

import math

from clip_grounding_ros.core.world.camera import (
    box_depth,
    CameraMount,
    depth_point,
    GeometryError,
    ground_point,
    Intrinsics,
    locate_box,
)
import numpy as np
import pytest

INTRINSICS = Intrinsics(fx=200.0, fy=200.0, cx=160.0, cy=120.0, width=320, height=240)


def test_centre_pixel_hits_the_floor_at_height_over_tan_pitch():
    mount = CameraMount(x=0.1, z=0.5, pitch=math.radians(30))
    point = ground_point(160, 120, INTRINSICS, mount)
    assert point.x == pytest.approx(0.1 + 0.5 / math.tan(math.radians(30)))
    assert point.y == pytest.approx(0.0, abs=1e-9)
    assert point.source == 'ground_plane'


def test_left_of_centre_is_positive_y_and_positive_bearing():
    mount = CameraMount(z=0.5, pitch=math.radians(20))
    left = ground_point(60, 200, INTRINSICS, mount)
    right = ground_point(260, 200, INTRINSICS, mount)
    assert left.y > 0 and left.bearing > 0
    assert right.y < 0 and right.bearing < 0
    assert left.y == pytest.approx(-right.y)


def test_lower_pixels_are_closer():
    mount = CameraMount(z=0.5, pitch=math.radians(20))
    near = ground_point(160, 230, INTRINSICS, mount)
    far = ground_point(160, 150, INTRINSICS, mount)
    assert near.x < far.x


def test_at_or_above_the_horizon_there_is_no_floor_point():
    level = CameraMount(z=0.5, pitch=0.0)
    assert ground_point(160, 120, INTRINSICS, level) is None
    assert ground_point(160, 10, INTRINSICS, level) is None


def test_depth_and_ground_plane_agree_on_a_floor_pixel():
    mount = CameraMount(x=0.2, y=-0.05, z=0.4, pitch=math.radians(25), yaw=0.1)
    floor = ground_point(100, 200, INTRINSICS, mount)
    # Optical-axis depth of that floor point: project it back into the optical frame.
    optical = mount.rotation().T @ (np.array([floor.x, floor.y, 0.0]) - mount.origin())
    from_depth = depth_point(100, 200, optical[2], INTRINSICS, mount)
    assert (from_depth.x, from_depth.y, from_depth.z) == pytest.approx((floor.x, floor.y, 0.0))


def test_locate_box_prefers_depth_and_falls_back_to_the_floor():
    mount = CameraMount(z=0.5, pitch=math.radians(20))
    box = (140, 100, 180, 160)
    depth = np.full((120, 160), np.nan, np.float32)  # half-resolution depth image
    assert locate_box(box, INTRINSICS, mount, depth).source == 'ground_plane'
    depth[40:90, 60:100] = 2.0
    point = locate_box(box, INTRINSICS, mount, depth)
    assert point.source == 'depth'
    assert point.distance == pytest.approx(2.0 * math.cos(math.radians(20)), rel=0.05)


def test_box_depth_median_ignores_invalid_and_scales_boxes():
    depth = np.full((240, 320), np.nan, np.float32)
    depth[100:140, 140:180] = 1.0
    depth[118:122, 158:162] = 9.0  # a few outliers do not move the median
    assert box_depth(depth, (140, 100, 180, 140), (320, 240)) == pytest.approx(1.0)
    assert box_depth(depth, (280, 200, 320, 240), (320, 240)) is None
    small = depth[::2, ::2]
    assert box_depth(small, (140, 100, 180, 140), (320, 240)) == pytest.approx(1.0)


def test_box_depth_is_the_objects_own_when_something_nearer_hides_its_lower_part():
    depth = np.full((240, 320), 5.0, np.float32)  # the wall behind
    depth[80:160, 130:190] = 2.0                  # the named object
    depth[115:160, 120:200] = 1.0                 # a lower object hides 56 % of it
    assert box_depth(depth, (130, 80, 190, 160), (320, 240)) == pytest.approx(2.0)


@pytest.mark.parametrize('k', [[0.0] * 9, [float('nan')] + [0.0] * 8])
def test_uncalibrated_camera_info_is_rejected(k):
    with pytest.raises(GeometryError, match='uncalibrated'):
        Intrinsics.from_k(k, 320, 240)


def test_intrinsics_helpers():
    with pytest.raises(GeometryError, match='9 values'):
        Intrinsics.from_k([1, 2, 3], 320, 240)
    with pytest.raises(GeometryError, match='zero size'):
        Intrinsics(100, 100, 0, 0, 0, 240)
    half = INTRINSICS.scaled(160, 120)
    # pixel centres: centre 160 of 320 px -> (160 + 0.5) / 2 - 0.5 = 79.75
    assert (half.fx, half.cx, half.cy) == (100.0, 79.75, 59.75)
    assert half.scaled(320, 240) == INTRINSICS
    ideal = Intrinsics.from_fov(320, 240, 90.0)
    assert (ideal.fx, ideal.cx, ideal.cy) == (pytest.approx(160.0), 159.5, 119.5)
    assert Intrinsics.from_k(INTRINSICS.k(), 320, 240) == INTRINSICS
    with pytest.raises(GeometryError):
        Intrinsics.from_fov(320, 240, 0.0)


@pytest.mark.parametrize('kwargs, message', [
    ({'z': 0.0}, 'above the floor'), ({'pitch': 2.0}, 'out of range'),
    ({'x': float('nan')}, 'finite')])
def test_bad_mounts(kwargs, message):
    with pytest.raises(GeometryError, match=message):
        CameraMount(**kwargs)
