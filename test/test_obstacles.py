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
Obstacle points, the path check and the heading choice.

On hand-made data and on a frame rendered by the MuJoCo simulator (REP-103 base frame: x forward, y
left, z up).
"""

import json
import math
import os
from pathlib import Path

from clip_grounding_ros.core.contract.parameters import parameter_specs
from clip_grounding_ros.core.motion.obstacles import check_path, choose_heading, ObstacleConfig
from clip_grounding_ros.core.motion.safety import Action, check_obstacle_data, Verdict
from clip_grounding_ros.core.motion.sensing import (
    depth_view,
    points_from_depth,
    points_from_scan,
    scan_view,
)
from clip_grounding_ros.core.world.camera import CameraMount, depth_point, Intrinsics
import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / 'data'
CONFIG = ObstacleConfig()  # footprint 0.2 m + margin 0.1 m: inflated radius 0.3 m
RADIUS = CONFIG.inflated_radius
INTRINSICS = Intrinsics(fx=200.0, fy=200.0, cx=159.5, cy=119.5, width=320, height=240)


def disc(centre, radius, spacing=0.02):
    """Points filling a disc: an object's footprint as a depth camera or a scan sees it."""
    count = int(radius // spacing)
    offsets = spacing * np.arange(-count, count + 1)
    inside = [(dx, dy) for dx in offsets for dy in offsets if math.hypot(dx, dy) < radius]
    angles = np.linspace(0.0, 2.0 * math.pi, 4 * (count + 1) * 4, endpoint=False)
    rim = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    return np.vstack([inside, rim]) + np.asarray(centre)


def segment_distance(points, bearing, length):
    """Distance (m) from each point to the segment from the origin along ``bearing``."""
    direction = np.array([math.cos(bearing), math.sin(bearing)])
    along = np.clip(points @ direction, 0.0, length)
    return np.linalg.norm(points - along[:, None] * direction, axis=1)


# -- config ---------------------------------------------------------------------------------

def test_every_setting_has_a_description_and_numbers_a_finite_range():
    for spec in parameter_specs(ObstacleConfig):
        assert spec.description
        if spec.kind in (int, float):
            assert math.isfinite(spec.minimum) and math.isfinite(spec.maximum)
            assert spec.minimum <= spec.default <= spec.maximum


def test_config_refuses_bad_values():
    with pytest.raises(ValueError, match='safety_margin -0.1 is outside'):
        ObstacleConfig(safety_margin=-0.1)
    with pytest.raises(ValueError, match='must be below obstacle_max_height'):
        ObstacleConfig(obstacle_min_height=0.6, obstacle_max_height=0.5)
    with pytest.raises(ValueError, match="obstacle_source 'lidar' is not one of"):
        ObstacleConfig(obstacle_source='lidar')
    assert ObstacleConfig(robot_radius=1).robot_radius == 1.0


def test_stopping_distance_grows_with_speed_and_has_a_floor():
    assert CONFIG.stopping_distance(0.0) == CONFIG.min_check_distance
    assert CONFIG.stopping_distance(0.4) == pytest.approx(0.4 * 0.2 + 0.16 / 1.6)
    assert CONFIG.stopping_distance(-1.0) == CONFIG.stopping_distance(1.0)


# -- points from depth ----------------------------------------------------------------------

def test_depth_points_keep_an_obstacle_and_drop_floor_nan_and_overhead():
    mount = CameraMount(x=0.1, z=0.3, pitch=0.0)  # level: row cy is the horizon
    rows = np.arange(240)[:, None] - INTRINSICS.cy
    with np.errstate(divide='ignore'):
        depth = np.where(rows > 0, 0.3 * INTRINSICS.fy / rows, np.inf)  # the floor
    depth = np.broadcast_to(depth, (240, 320)).astype(np.float32).copy()
    depth[100:140, 140:180] = 2.0  # a box face 2 m ahead, 2.1 m from the base
    depth[100:110, 140:150] = np.nan  # no reading
    depth[:40, :] = 0.9  # a table top above the robot (z 0.66 to 0.84 m)
    points = points_from_depth(depth, INTRINSICS, mount, stride=1, min_height=0.05,
                               max_height=0.5)
    assert len(points) == 40 * 40 - 10 * 10
    np.testing.assert_allclose(points[:, 0], 2.1, atol=1e-6)
    assert np.all(np.abs(points[:, 1]) <= 2.0 * 20.5 / 200.0)
    strided = points_from_depth(depth, INTRINSICS, mount, stride=4, min_height=0.05,
                                max_height=0.5)
    assert len(strided) == 10 * 10 - 3 * 3
    assert points_from_depth(np.full((240, 320), np.nan), INTRINSICS, mount, 2, 0.05,
                             0.5).shape == (0, 2)


def test_depth_points_match_the_single_pixel_geometry():
    mount = CameraMount(x=0.15, y=-0.05, z=0.35, pitch=math.radians(20), yaw=0.1)
    rng = np.random.default_rng(3)
    depth = rng.uniform(0.3, 4.0, (240, 320))
    points = points_from_depth(depth, INTRINSICS, mount, stride=7, min_height=-100.0,
                               max_height=100.0)
    expected = [depth_point(u, v, depth[v, u], INTRINSICS, mount)
                for v in range(0, 240, 7) for u in range(0, 320, 7)]
    np.testing.assert_allclose(points, [(p.x, p.y) for p in expected], atol=1e-9)


def test_depth_of_another_resolution_scales_the_intrinsics():
    mount = CameraMount(z=0.35, pitch=math.radians(20))
    depth = np.full((120, 160), 1.5)
    half = INTRINSICS.scaled(160, 120)
    points = points_from_depth(depth, INTRINSICS, mount, 5, -100.0, 100.0)
    expected = [depth_point(u, v, 1.5, half, mount)
                for v in range(0, 120, 5) for u in range(0, 160, 5)]
    np.testing.assert_allclose(points, [(p.x, p.y) for p in expected], atol=1e-9)


@pytest.mark.parametrize('depth, stride, heights, message', [
    (np.zeros((240, 320), np.uint16), 1, (0.05, 0.5), 'float metres'),
    (np.zeros((240, 320, 1)), 1, (0.05, 0.5), r'\(H, W\)'),
    (np.zeros((240, 320)), 0, (0.05, 0.5), 'stride'),
    (np.zeros((240, 320)), 1.5, (0.05, 0.5), 'stride'),
    (np.zeros((240, 320)), 1, (0.5, 0.05), 'below max_height'),
    (np.zeros((240, 320)), 1, (math.nan, 0.5), 'below max_height'),
])
def test_depth_refuses_what_it_cannot_read(depth, stride, heights, message):
    with pytest.raises(ValueError, match=message):
        points_from_depth(depth, INTRINSICS, CameraMount(), stride, *heights)


# -- points from a scan ---------------------------------------------------------------------

def test_scan_points_drop_invalid_readings_and_use_the_sensor_pose():
    ranges = [1.0, math.nan, math.inf, 0.05, 20.0, 2.0, -math.inf]
    points = points_from_scan(ranges, -math.pi / 2, math.pi / 4, 0.1, 10.0, (0.2, 0.0, 0.0))
    reading_5 = -math.pi / 2 + 5 * math.pi / 4
    np.testing.assert_allclose(points, [(0.2, -1.0), (0.2 + 2.0 * math.cos(reading_5),
                                                      2.0 * math.sin(reading_5))], atol=1e-12)
    turned = points_from_scan([1.0], 0.0, 0.1, 0.1, 10.0, (-0.1, 0.05, math.pi / 2))
    np.testing.assert_allclose(turned, [(-0.1, 1.05)], atol=1e-12)
    assert points_from_scan([], 0.0, 0.1, 0.1, 10.0, (0.0, 0.0, 0.0)).shape == (0, 2)
    with pytest.raises(ValueError, match='finite'):
        points_from_scan([1.0], math.nan, 0.1, 0.1, 10.0, (0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match='1-D'):
        points_from_scan([[1.0]], 0.0, 0.1, 0.1, 10.0, (0.0, 0.0, 0.0))


# -- path check -----------------------------------------------------------------------------

def test_straight_path_zones_stop_slow_and_free():
    # At 0.4 m/s: stop zone 0.4 * 0.2 + 0.4^2 / 1.6 = 0.18 m, slowdown up to 0.68 m.
    stop = check_path([(0.4, 0.0)], 0.4, 0.0, CONFIG)
    assert stop.action == Action.STOP and stop.scale == 0.0
    assert stop.nearest == pytest.approx(0.1)
    assert stop.reason.startswith('obstacle 0.10 m ahead in the path')
    slow = check_path([(0.9, 0.0)], 0.4, 0.0, CONFIG)
    assert (slow.action, slow.scale) == (Action.SLOW, CONFIG.slowdown_ratio)
    assert slow.nearest == pytest.approx(0.6)
    free = check_path([(1.0, 0.0)], 0.4, 0.0, CONFIG)
    assert free == Verdict(Action.FREE, 1.0, 'path clear', None)
    # Faster: the same obstacle falls into a longer stop zone.
    assert check_path([(0.9, 0.0)], 1.0, 0.0, CONFIG).action == Action.STOP


def test_straight_band_is_the_inflated_footprint_wide_and_only_ahead():
    # At lateral 0.25 the inflated disc (0.3 m) touches after 0.6 - sqrt(0.3^2 - 0.25^2).
    grazing = check_path([(0.6, 0.25)], 0.4, 0.0, CONFIG)
    assert grazing.nearest == pytest.approx(0.6 - math.sqrt(0.09 - 0.0625))
    assert check_path([(0.6, 0.31), (0.6, -0.31), (-0.5, 0.0)], 0.4, 0.0, CONFIG).action == \
        Action.FREE
    # Inside the inflated footprint (the margin already broken): swept with the bare body
    # (0.2 m), so a motion that keeps the body off the point is allowed, one that would
    # touch it is not; behind (moving away) it never counts.
    assert check_path([(0.05, 0.25)], 0.1, 0.0, CONFIG).action == Action.FREE
    toward = check_path([(0.25, 0.15)], 0.4, 0.0, CONFIG)  # 0.29 m away, the body's way
    assert toward.nearest == pytest.approx(0.25 - math.sqrt(0.04 - 0.0225))
    assert toward.action == Action.STOP
    assert check_path([(-0.1, 0.2)], 0.1, 0.0, CONFIG).action == Action.FREE
    # Both kinds at once: the point outside the margin still counts with the margin.
    both = check_path([(0.05, 0.25), (0.6, 0.25)], 0.4, 0.0, CONFIG)
    assert both.nearest == pytest.approx(0.6 - math.sqrt(0.09 - 0.0625))
    # Reversing checks behind.
    assert check_path([(-0.4, 0.0)], -0.4, 0.0, CONFIG).action == Action.STOP
    assert check_path([(0.4, 0.0)], -0.4, 0.0, CONFIG).action == Action.FREE


def test_curved_path_follows_the_arc():
    # v 0.4, w 1: the disc centre circles (0, 0.4) with radius 0.4.
    ahead_on_line = [(0.6, 0.0)]  # 0.72 m from the centre: outside the 0.1..0.7 m band
    assert check_path(ahead_on_line, 0.4, 0.0, CONFIG).action == Action.SLOW
    assert check_path(ahead_on_line, 0.4, 1.0, CONFIG).action == Action.FREE
    phi = 1.4
    on_arc = [(0.4 * math.sin(phi), 0.4 - 0.4 * math.cos(phi))]  # y 0.33: off the straight band
    assert check_path(on_arc, 0.4, 0.0, CONFIG).action == Action.FREE
    curved = check_path(on_arc, 0.4, 1.0, CONFIG)
    alpha = math.acos(1.0 - RADIUS ** 2 / (2 * 0.4 ** 2))
    assert curved.action == Action.SLOW and curved.nearest == pytest.approx(0.4 * (phi - alpha))
    # Mirrored: turning right reaches the mirrored point.
    mirrored = [(on_arc[0][0], -on_arc[0][1])]
    assert check_path(mirrored, 0.4, -1.0, CONFIG).nearest == pytest.approx(curved.nearest)


def _unicycle_contact(points, linear, angular, length, steps=4000):
    """Travel to first contact of the inflated disc, by stepping along the path."""
    travel = np.full(len(points), np.inf)
    for s in np.linspace(0.0, length, steps):
        t = s / abs(linear)
        if angular:
            centre = (linear / angular * math.sin(angular * t),
                      linear / angular * (1.0 - math.cos(angular * t)))
        else:
            centre = (linear * t, 0.0)
        touching = np.hypot(points[:, 0] - centre[0], points[:, 1] - centre[1]) <= RADIUS
        travel = np.where(touching & np.isinf(travel), s, travel)
    return travel


@pytest.mark.parametrize('seed, linear, angular', [(0, 0.4, 1.0), (1, 0.4, -0.7),
                                                   (2, -0.3, 0.8), (3, -0.3, -1.5),
                                                   (4, 0.25, 2.5), (5, 0.4, 0.02)])
def test_arc_check_matches_a_stepped_footprint(seed, linear, angular):
    rng = np.random.default_rng(seed)
    points = rng.uniform(-1.2, 1.2, (400, 2))
    points = points[np.hypot(points[:, 0], points[:, 1]) > RADIUS + 0.01]  # outside it now
    length = CONFIG.stopping_distance(linear) + CONFIG.slowdown_distance
    expected = _unicycle_contact(points, linear, angular, length)
    for point, travel in zip(points, expected, strict=True):
        verdict = check_path([point], linear, angular, CONFIG)
        if np.isinf(travel):
            assert verdict.nearest is None or verdict.nearest > length - 1e-3
        else:
            assert verdict.nearest == pytest.approx(travel, abs=length / 3000)


def test_turning_in_place_checks_the_body_only():
    """A disc turning in place comes no closer to anything: only a point in the body stops it."""
    turning = check_path([(0.15, 0.0), (2.0, 0.0)], 0.0, 1.0, CONFIG)
    assert turning.action == Action.STOP and 'turning in place' in turning.reason
    # Within the safety margin (0.3 m) but off the body (0.2 m): the turn is allowed.
    assert check_path([(0.25, 0.0), (0.0, -0.21)], 0.0, -1.0, CONFIG).action == Action.FREE
    assert check_path([(0.35, 0.0), (0.0, -0.31)], 0.0, -1.0, CONFIG).action == Action.FREE
    assert check_path(np.empty((0, 2)), 0.0, 0.0, CONFIG).action == Action.FREE


def test_invalid_rows_are_ignored_and_bad_input_refused():
    points = [(math.nan, 0.0), (0.4, math.inf), (5.0, 0.0)]
    assert check_path(points, 0.4, 0.0, CONFIG).action == Action.FREE
    with pytest.raises(ValueError, match=r'\(N, 2\)'):
        check_path(np.zeros((3, 3)), 0.4, 0.0, CONFIG)
    with pytest.raises(ValueError, match='finite'):
        check_path([(1.0, 0.0)], math.nan, 0.0, CONFIG)


def test_missing_or_stale_obstacle_data_stops_the_robot():
    timeout = CONFIG.obstacle_timeout
    assert check_obstacle_data(None, 'depth', timeout).action == Action.STOP
    assert check_obstacle_data(0.1, 'depth', timeout).action == Action.FREE
    assert 'old' in check_obstacle_data(0.6, 'depth', timeout).reason
    assert 'future' in check_obstacle_data(-0.6, 'depth', timeout).reason
    with pytest.raises(ValueError, match='finite'):
        check_obstacle_data(math.nan, 'depth', timeout)


# -- choosing a heading ---------------------------------------------------------------------

def test_heading_goes_around_an_obstacle_and_clears_it_by_the_footprint():
    obstacle = disc((1.2, -0.05), 0.15)  # a little right of the line to a goal behind it
    goal = (3.0, 0.0)
    heading = choose_heading(obstacle, goal, CONFIG)
    assert heading is not None and heading.bearing > 0  # around its left side
    assert heading.detour == pytest.approx(heading.bearing)
    assert heading.free_distance == math.inf
    distance = segment_distance(obstacle, heading.bearing, CONFIG.clearance_distance)
    assert distance.min() >= RADIUS
    # One step nearer the goal would pass closer than the footprint allows.
    closer = heading.bearing - CONFIG.heading_resolution
    assert segment_distance(obstacle, closer, CONFIG.clearance_distance).min() < RADIUS
    # Nothing in the way: straight at the goal.
    direct = choose_heading(np.empty((0, 2)), (1.0, 1.0), CONFIG)
    assert direct.bearing == pytest.approx(math.pi / 4) and direct.detour == 0.0


def test_a_goal_nearer_than_the_clearance_needs_only_the_way_to_it():
    obstacle = disc((1.0, 0.0), 0.15)  # the footprint reaches it after 0.55 m
    near = choose_heading(obstacle, (0.5, 0.0), CONFIG)
    assert near.detour == 0.0 and near.free_distance == pytest.approx(0.55)
    assert choose_heading(obstacle, (2.0, 0.0), CONFIG).detour != 0.0


def test_a_wall_without_a_gap_leaves_no_heading():
    wall = np.column_stack([np.full(201, 1.0), np.linspace(-5.0, 5.0, 201)])
    assert choose_heading(wall, (3.0, 0.0), CONFIG, max_detour=0.6) is None
    assert choose_heading(wall, (3.0, 0.0), CONFIG, max_detour=0.75) is None
    # Turned far enough, the footprint runs 1 m along the wall without reaching it.
    along = choose_heading(wall, (3.0, 0.0), CONFIG, max_detour=1.2)
    assert math.cos(along.bearing) <= 1.0 - RADIUS
    # A gap wider than the footprint opens a way.
    gap = wall[np.abs(wall[:, 1] - 0.5) > 0.4]
    through = choose_heading(gap, (3.0, 0.0), CONFIG)
    assert through is not None and 0.0 < through.bearing
    assert segment_distance(gap, through.bearing, CONFIG.clearance_distance).min() >= RADIUS


def test_a_chosen_heading_never_passes_closer_than_the_footprint():
    rng = np.random.default_rng(7)
    for _ in range(50):
        points = np.vstack([disc(rng.uniform(-2, 2, 2), rng.uniform(0.05, 0.3), 0.05)
                            for _ in range(4)])
        points = points[np.hypot(points[:, 0], points[:, 1]) > RADIUS]
        goal = tuple(rng.uniform(-3, 3, 2))
        heading = choose_heading(points, goal, CONFIG, max_detour=math.pi)
        if heading is None:
            continue
        assert abs(heading.detour) <= math.pi + 1e-9
        needed = min(CONFIG.clearance_distance, math.hypot(*goal))
        assert segment_distance(points, heading.bearing, needed).min() >= RADIUS - 1e-9
        # and every candidate nearer the goal bearing is blocked
        goal_bearing = math.atan2(goal[1], goal[0])
        steps = round(abs(heading.detour) / CONFIG.heading_resolution)
        for step in range(-steps + 1, steps):
            bearing = goal_bearing + step * CONFIG.heading_resolution
            assert segment_distance(points, bearing, needed).min() < RADIUS


def test_a_committed_side_keeps_the_way_around_on_that_side_while_one_is_free():
    obstacle = disc((1.2, -0.05), 0.15)  # a little right of the line: left is nearer
    goal = (3.0, 0.0)
    assert choose_heading(obstacle, goal, CONFIG).detour > 0
    assert choose_heading(obstacle, goal, CONFIG, side=1).detour > 0
    right = choose_heading(obstacle, goal, CONFIG, side=-1)
    assert right.detour < 0
    assert segment_distance(obstacle, right.bearing, CONFIG.clearance_distance).min() >= RADIUS
    # No free heading on the committed side: the other side rather than none.
    walled = np.vstack([obstacle, np.column_stack([np.linspace(0.3, 1.5, 61),
                                                   np.full(61, -0.45)])])
    assert choose_heading(walled, goal, CONFIG, side=-1).detour > 0
    # Straight ahead is on every side.
    assert choose_heading(np.empty((0, 2)), goal, CONFIG, side=-1).detour == 0.0


def test_a_steering_margin_keeps_the_way_around_that_much_farther_off():
    obstacle = disc((1.2, -0.05), 0.15)
    goal = (3.0, 0.0)
    plain = choose_heading(obstacle, goal, CONFIG)
    wide = choose_heading(obstacle, goal, CONFIG, margin=0.15)
    assert wide.detour > plain.detour
    assert segment_distance(obstacle, wide.bearing,
                            CONFIG.clearance_distance).min() >= RADIUS + 0.15
    assert segment_distance(obstacle, plain.bearing,
                            CONFIG.clearance_distance).min() < RADIUS + 0.15


def test_a_shorter_clearance_finds_a_way_through_recorded_clutter():
    """
    Points recorded in a pocket of a closed-loop run: free for 0.5 m, not for 1 m.

    test/data/diagonal_pocket.json (see its description); the heading found for the shorter
    travel keeps the footprint off every point along it.
    """
    recorded = json.loads((DATA / 'diagonal_pocket.json').read_text())
    config = ObstacleConfig(robot_radius=recorded['robot_radius'])
    points, goal = np.array(recorded['points']), tuple(recorded['goal'])
    assert choose_heading(points, goal, config) is None
    heading = choose_heading(points, goal, config, clearance=0.5)
    assert heading is not None and abs(heading.detour) <= config.max_detour
    assert segment_distance(points, heading.bearing, 0.5).min() >= config.inflated_radius


@pytest.mark.parametrize('clearance', [0.0, -1.0, math.nan, math.inf])
def test_heading_refuses_a_clearance_that_is_not_a_positive_distance(clearance):
    with pytest.raises(ValueError, match='clearance'):
        choose_heading([(1.0, 0.0)], (2.0, 0.0), CONFIG, clearance=clearance)


@pytest.mark.parametrize('options, message', [({'side': 2}, 'side'), ({'margin': -0.1}, 'margin'),
                                              ({'margin': math.inf}, 'finite')])
def test_heading_refuses_a_bad_side_or_margin(options, message):
    with pytest.raises(ValueError, match=message):
        choose_heading([(1.0, 0.0)], (2.0, 0.0), CONFIG, **options)


def test_heading_refuses_a_goal_that_is_not_finite():
    with pytest.raises(ValueError, match='finite'):
        choose_heading([(1.0, 0.0)], (math.nan, 0.0), CONFIG)


# -- a rendered frame -------------------------------------------------------------------------

def test_points_from_a_simulated_depth_frame_lie_on_the_objects():
    os.environ.setdefault('MUJOCO_GL', 'osmesa')
    from clip_grounding_ros.sim.scene import scene_from_dict
    from clip_grounding_ros.sim.world import camera_pose_in_base, CameraSpec, SimWorld

    scene = scene_from_dict({
        'name': 'obstacles',
        'robot_start': {'x': 0.5, 'y': -0.3, 'yaw': 0.2},
        'objects': [
            {'name': 'crate', 'shape': 'box', 'color': 'blue', 'size': [0.15, 0.2, 0.15],
             'position': [1.8, 0.1], 'yaw': 0.4},
            {'name': 'can', 'shape': 'cylinder', 'color': 'red', 'size': [0.1, 0.2],
             'position': [1.6, -0.6]},
        ]})
    camera = CameraSpec(antialias=False)
    with SimWorld(scene, camera) as world:
        depth = world.render_depth()
        x0, y0, yaw = world.robot_pose()
    mount = CameraMount(x=camera.mount_x, z=camera.mount_z, pitch=math.radians(camera.pitch_deg))
    position, rotation = camera_pose_in_base(camera)
    np.testing.assert_allclose(mount.rotation(), rotation, atol=1e-12)
    np.testing.assert_allclose(mount.origin(), position, atol=1e-12)
    intrinsics = Intrinsics(*camera.intrinsics(), camera.width, camera.height)
    points = points_from_depth(depth, intrinsics, mount, 2, CONFIG.obstacle_min_height,
                               CONFIG.obstacle_max_height)
    world_x = x0 + math.cos(yaw) * points[:, 0] - math.sin(yaw) * points[:, 1]
    world_y = y0 + math.sin(yaw) * points[:, 0] + math.cos(yaw) * points[:, 1]
    gaps = {obj.name: np.array([obj.surface_distance(x, y)
                                for x, y in zip(world_x, world_y, strict=True)])
            for obj in scene.objects}
    wall_gap = scene.room_size / 2 - np.maximum(np.abs(world_x), np.abs(world_y))
    for name, gap in gaps.items():
        assert np.sum(gap < 0.05) > 50, f'{name} is hardly seen'
    # Every point is on an object's surface or a wall: none is floor.
    nearest = np.minimum.reduce([*gaps.values(), wall_gap])
    assert nearest.max() < 0.05
    near_robot = np.hypot(points[:, 0], points[:, 1]) < 3.0
    assert np.minimum(*gaps.values())[near_robot].max() < 0.05


# -- what a reading sees (clearing remembered points) ---------------------------------------
def test_depth_view_is_the_floor_the_camera_sees_whole():
    intrinsics = Intrinsics(fx=160.0, fy=160.0, cx=159.5, cy=119.5, width=320, height=240)
    mount = CameraMount(x=0.1, z=0.4, pitch=math.radians(20.0))
    view = depth_view(intrinsics, mount, far=1.5)
    assert view.half_angle == pytest.approx(math.atan2(160.0, 160.0))
    lowest = math.radians(20.0) + math.atan2(120.0, 160.0)  # the bottom row's ray
    assert view.near == pytest.approx(0.4 / math.tan(lowest))
    points = np.array([[0.1 + view.near + 0.05, 0.0],   # just beyond near: seen
                       [0.1 + view.near - 0.05, 0.0],   # just short of it: below the image
                       [1.0, 1.2],                      # outside the field of view
                       [1.7, 0.0]])                     # beyond far
    assert view.contains(points).tolist() == [True, False, False, False]
    # A camera looking up sees no floor: its view holds nothing.
    upward = depth_view(intrinsics, CameraMount(z=0.4, pitch=math.radians(-60.0)), far=1.5)
    assert not upward.contains(points).any()


def test_scan_view_is_the_scanned_sector_by_range():
    view = scan_view(-math.pi / 2, math.pi / 2, 0.1, 5.0, (0.2, 0.0, 0.0))
    points = np.array([[0.2, 2.0],    # 90 deg left, 2 m: at the sector's edge, inside
                       [-1.0, 0.0],   # behind the scanner
                       [0.25, 0.0],   # nearer than range_min
                       [4.0, 3.0]])   # 4.8 m away: inside range_max
    assert view.contains(points).tolist() == [True, False, False, True]
