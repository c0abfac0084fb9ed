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

"""Tests of the simulator core against real MuJoCo physics and real (offscreen) rendering."""

import math
from pathlib import Path
import subprocess
import sys

from clip_grounding_ros.sim import (
    available_scenes,
    camera_pose_in_base,
    CameraSpec,
    COLORS,
    load_scene,
    random_scene,
    ROBOT_RADIUS,
    Scene,
    scene_to_dict,
    SceneError,
    SceneObject,
    SHAPES,
    SimWorld,
)
import numpy as np
import pytest
import yaml

SCENE_DIR = Path(__file__).resolve().parents[1] / 'config' / 'scenes'
CAMERA = CameraSpec()
BOX_HALF = 0.15
# A blue box straight ahead of the start pose and a red sphere behind it.
PROBE_SCENE = Scene(
    name='probe',
    objects=(
        SceneObject('blue_box', 'box', 'blue', (BOX_HALF,) * 3, (2.0, 0.0)),
        SceneObject('red_sphere', 'sphere', 'red', (0.15,), (-2.0, 0.0)),
    ),
)


@pytest.fixture(scope='module')
def shared_world():
    with SimWorld(PROBE_SCENE) as world:
        yield world


@pytest.fixture
def world(shared_world):
    """Return the probe world, reset: creating an OpenGL context per test would be slow."""
    shared_world.reset()
    return shared_world


def yaw_rotation(yaw: float) -> np.ndarray:
    return np.array(
        [[math.cos(yaw), -math.sin(yaw), 0.0], [math.sin(yaw), math.cos(yaw), 0.0], [0, 0, 1]]
    )


def project(point_world: np.ndarray, robot_pose: tuple[float, float, float]) -> np.ndarray:
    """Pinhole projection (u, v) of a world point, from CameraSpec and the mount pose alone."""
    x, y, yaw = robot_pose
    mount_position, mount_rotation = camera_pose_in_base(CAMERA)
    point_base = yaw_rotation(yaw).T @ (point_world - np.array([x, y, 0.0]))
    point_camera = mount_rotation.T @ (point_base - mount_position)
    fx, fy, cx, cy = CAMERA.intrinsics()
    return np.array(
        [fx * point_camera[0] / point_camera[2] + cx, fy * point_camera[1] / point_camera[2] + cy]
    )


# -- scenes -------------------------------------------------------------------------------


@pytest.mark.parametrize('name', ['boxes', 'mixed'])
def test_shipped_scene_loads_by_name_and_path(name):
    scene = load_scene(name)
    assert scene == load_scene(SCENE_DIR / f'{name}.yaml')
    assert scene.name == name
    assert name in available_scenes()


def test_installed_share_directory_is_searched_before_source_tree(tmp_path, monkeypatch):
    """After `colcon build` scenes come from the package's share directory."""
    index = tmp_path / 'share' / 'ament_index' / 'resource_index' / 'packages'
    index.mkdir(parents=True)
    (index / 'clip_grounding_ros').touch()
    installed = tmp_path / 'share' / 'clip_grounding_ros' / 'config' / 'scenes'
    installed.mkdir(parents=True)
    installed_boxes = Scene('boxes', (SceneObject('a', 'sphere', 'red', (0.1,), (2.0, 0.0)),))
    (installed / 'boxes.yaml').write_text(yaml.safe_dump(scene_to_dict(installed_boxes)))
    monkeypatch.setenv('AMENT_PREFIX_PATH', str(tmp_path))
    assert load_scene('boxes') == installed_boxes
    assert load_scene('mixed').name == 'mixed'  # not installed there: found in the source tree


def test_boxes_scene_has_differently_coloured_boxes():
    scene = load_scene('boxes')
    assert {obj.shape for obj in scene.objects} == {'box'}
    assert len({obj.color for obj in scene.objects}) >= 4


def test_mixed_scene_has_colour_and_shape_distractors():
    scene = load_scene('mixed')
    assert {obj.shape for obj in scene.objects} == set(SHAPES)
    assert {obj.shape for obj in scene.objects_matching(color='blue')} >= {'box', 'sphere'}
    assert len({obj.color for obj in scene.objects_matching(shape='box')}) >= 3
    assert scene.object('blue_box').phrase == 'blue box'
    with pytest.raises(KeyError, match='blue_box'):
        scene.object('no_such_object')


def test_object_geometry_helpers():
    box = SceneObject('b', 'box', 'red', (0.3, 0.4, 0.1), (0.0, 0.0))
    cylinder = SceneObject('c', 'cylinder', 'red', (0.1, 0.25), (0.0, 0.0))
    assert box.height == pytest.approx(0.2)
    assert box.footprint_radius == pytest.approx(0.5)
    assert cylinder.height == pytest.approx(0.5)
    assert cylinder.footprint_radius == pytest.approx(0.1)
    diamond = SceneObject('d', 'box', 'red', (0.1, 0.1, 0.1), (0.0, 0.0), yaw=math.pi / 4)
    assert diamond.surface_distance(1.0, 0.0) == pytest.approx(1.0 - 0.1 * math.sqrt(2))
    assert diamond.surface_distance(1.0, 1.0) == pytest.approx(math.sqrt(2) - 0.1)
    assert diamond.surface_distance(0.05, 0.0) == 0.0
    assert cylinder.surface_distance(0.0, -1.0) == pytest.approx(0.9)


def test_random_scene_is_deterministic_per_seed():
    assert random_scene(5) == random_scene(5)
    assert random_scene(5) != random_scene(6)
    assert load_scene('random:5') == random_scene(5)


def test_random_scenes_respect_placement_and_size_ranges():
    size_ranges = {
        'box': [(0.10, 0.20)] * 3,
        'sphere': [(0.10, 0.18)],
        'cylinder': [(0.08, 0.14), (0.12, 0.25)],
    }
    for seed in range(20):
        scene = random_scene(seed)
        assert 3 <= len(scene.objects) <= 6
        assert scene.robot_start == (0.0, 0.0, 0.0)
        for obj in scene.objects:
            assert obj.name.endswith(f'_{obj.color}_{obj.shape}')
            x, y = obj.position
            assert abs(math.degrees(math.atan2(y, x))) <= 35.0
            assert 1.5 <= math.hypot(x, y) <= 4.5
            for size, (low, high) in zip(obj.size, size_ranges[obj.shape], strict=True):
                assert low <= size <= high
        for i, first in enumerate(scene.objects):
            for second in scene.objects[i + 1:]:
                gap = math.dist(first.position, second.position)
                assert gap - first.footprint_radius - second.footprint_radius >= 0.35


def test_random_scene_restricted_choices():
    scene = random_scene(3, n_objects=(5, 5), colors=['red', 'blue'], shapes=['sphere'])
    assert len(scene.objects) == 5
    assert {obj.color for obj in scene.objects} <= {'red', 'blue'}
    assert {obj.shape for obj in scene.objects} == {'sphere'}


@pytest.mark.parametrize('name', ['boxes', 'mixed', 'random:3'])
def test_scene_round_trips_through_yaml(name, tmp_path):
    scene = load_scene(name)
    path = tmp_path / 'scene.yaml'
    path.write_text(yaml.safe_dump(scene_to_dict(scene)))
    assert load_scene(path) == scene


VALID_OBJECT = {
    'name': 'a',
    'shape': 'box',
    'color': 'blue',
    'size': [0.15, 0.15, 0.15],
    'position': [2.0, 0.0],
}
SCENE_ERROR_CASES = {
    'unknown shape': ([{**VALID_OBJECT, 'shape': 'cone'}], r"shape: unknown shape 'cone'"),
    'unknown colour': (
        [{**VALID_OBJECT, 'color': 'teal'}],
        r"color: unknown colour 'teal'; known colours: red, green, blue",
    ),
    'wrong size count': ([{**VALID_OBJECT, 'size': [0.1, 0.1]}], r'size: a box needs 3'),
    'non-positive size': (
        [{**VALID_OBJECT, 'size': [0.1, 0.0, 0.1]}],
        r'size: all sizes must be positive',
    ),
    'non-numeric size': ([{**VALID_OBJECT, 'size': 'big'}], r'size: expected a list of numbers'),
    'duplicate names': (
        [VALID_OBJECT, {**VALID_OBJECT, 'position': [-2.0, 0.0]}],
        r"duplicate name 'a'",
    ),
    'objects overlap': (
        [VALID_OBJECT, {**VALID_OBJECT, 'name': 'b', 'position': [2.2, 0.1]}],
        r"footprint circle overlaps that of object 'b' \(centres 0.22 m apart",
    ),
    'overlaps robot start': (
        [{**VALID_OBJECT, 'position': [0.3, 0.0]}],
        r'position: its footprint circle .* overlaps the robot at its start',
    ),
    'outside room': ([{**VALID_OBJECT, 'position': [4.95, 0.0]}], r'position: .* outside'),
    'missing field': (
        [{key: value for key, value in VALID_OBJECT.items() if key != 'color'}],
        r'objects\[0\]: missing required field\(s\): color',
    ),
    'misspelt field': ([{**VALID_OBJECT, 'colour': 'blue'}], r'unknown field\(s\): colour'),
}


@pytest.mark.parametrize('objects, message', SCENE_ERROR_CASES.values(), ids=SCENE_ERROR_CASES)
def test_invalid_scene_is_rejected_naming_file_and_field(objects, message, tmp_path):
    path = tmp_path / 'bad_scene.yaml'
    path.write_text(yaml.safe_dump({'name': 'bad', 'objects': objects}))
    with pytest.raises(SceneError, match=message) as error:
        load_scene(path)
    assert str(path) in str(error.value)


def test_yaml_syntax_error_names_file(tmp_path):
    path = tmp_path / 'broken.yaml'
    path.write_text('name: broken\nobjects: [\n')
    with pytest.raises(SceneError, match='YAML syntax error') as error:
        load_scene(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize('missing', ['no_such_scene', '/tmp/no/such/scene.yaml'])
def test_missing_scene_lists_available_scenes(missing):
    with pytest.raises(SceneError, match=r"available scenes: \[.*'boxes'.*'mixed'"):
        load_scene(missing)


def test_colours_are_distinct_rgb_in_unit_range():
    assert len(COLORS) == 8
    values = np.array(list(COLORS.values()))
    assert values.min() >= 0.0 and values.max() <= 1.0
    pairwise = np.linalg.norm(values[:, None] - values[None], axis=-1)
    assert pairwise[~np.eye(len(COLORS), dtype=bool)].min() > 0.3


# -- camera and rendering -----------------------------------------------------------------


def test_camera_mount_matches_mujoco_camera(world):
    world.set_robot_pose(1.0, -0.5, 0.7)
    world.set_velocity(0.3, 0.4)
    world.step(0.5)  # the camera pose must follow the robot to the last step
    pose = world.robot_pose()
    mount_position, mount_rotation = camera_pose_in_base(CAMERA)
    assert mount_position == pytest.approx([CAMERA.mount_x, 0.0, CAMERA.mount_z])
    pitch = math.radians(CAMERA.pitch_deg)
    assert mount_rotation[:, 2] == pytest.approx([math.cos(pitch), 0.0, -math.sin(pitch)])
    base_rotation = yaw_rotation(pose[2])
    camera_id = world.model.camera('robot_camera').id
    expected_position = np.array([pose[0], pose[1], 0.0]) + base_rotation @ mount_position
    assert world.data.cam_xpos[camera_id] == pytest.approx(expected_position)
    # MuJoCo cameras look along -z with y up; the optical frame has y down and z forward.
    mujoco_axes = world.data.cam_xmat[camera_id].reshape(3, 3) @ np.diag([1.0, -1.0, -1.0])
    assert mujoco_axes == pytest.approx(base_rotation @ mount_rotation)


def test_render_shows_blue_box_in_centre_column(world):
    image = world.render()
    assert image.shape == (CAMERA.height, CAMERA.width, 3)
    assert image.dtype == np.uint8
    box_pixels = world.render_segmentation() == PROBE_SCENE.object_names.index('blue_box')
    assert box_pixels[:, CAMERA.width // 2].any()
    red, green, blue = image[box_pixels].mean(axis=0)
    assert blue > 2.0 * red and blue > 2.0 * green


def test_visible_box_matches_pinhole_projection(world):
    boxes = world.visible_boxes()
    assert 'blue_box' in boxes
    x1, y1, x2, y2 = boxes['blue_box']
    # Box centre in pixel-centre coordinates (x2, y2 are exclusive).
    centre = np.array([(x1 + x2 - 1) / 2.0, (y1 + y2 - 1) / 2.0])
    expected = project(np.array([2.0, 0.0, BOX_HALF]), world.robot_pose())
    assert centre == pytest.approx(expected, abs=3.0)
    seen = world.visible_objects()['blue_box']
    assert seen.box == boxes['blue_box']
    assert 20 <= seen.pixels <= (x2 - x1) * (y2 - y1)


def test_segmentation_is_read_from_a_context_without_multisampling():
    """
    Segmentation is rendered without multisampling, while the camera image keeps it.

    Resolving samples averages the ID colours of neighbouring geoms, and an average decodes to
    another object: with EGL on an NVIDIA GPU, visible_objects' boxes stretched across the
    image by a few stray pixels (Acc@0.5 of bench_offline_model fell from 0.965 to 0.778).
    The GL here does not blend them, so the test reads the sample count of each context.
    """
    with SimWorld(PROBE_SCENE, CameraSpec(antialias=True)) as world:
        world.render_segmentation()
        assert world._renderer._mjr_context.offSamples == 4
        assert world._segmentation_renderer._mjr_context.offSamples == 0
        assert world.model.vis.quality.offsamples == 4  # the model itself is left as it was


def test_object_behind_robot_is_not_visible_until_robot_turns(world):
    assert 'red_sphere' not in world.visible_boxes()
    world.set_robot_pose(0.0, 0.0, math.pi)
    assert set(world.visible_boxes()) == {'red_sphere'}


def test_intrinsics_match_rendering_to_subpixel_accuracy():
    """Small spheres land where the pinhole model puts them; a half-pixel cx/cy error fails."""
    points = [(1.5, 0.0), (2.0, 0.5), (1.8, -0.6), (2.5, -1.2), (2.2, 1.0)]
    radius = 0.04
    dots = Scene(
        'dots',
        tuple(SceneObject(f'dot{i}', 'sphere', 'red', (radius,), p) for i, p in enumerate(points)),
    )
    with SimWorld(dots) as world:
        segmentation = world.render_segmentation()
        pose = world.robot_pose()
    errors = []
    for index, (x, y) in enumerate(points):
        rows, cols = np.nonzero(segmentation == index)
        assert len(rows) > 30
        expected = project(np.array([x, y, radius]), pose)
        errors.append(np.array([cols.mean(), rows.mean()]) - expected)
    assert np.abs(errors).max() < 0.25


@pytest.mark.parametrize(
    'pose, expected_depth',
    [
        # Facing an empty stretch of floor: the optical axis hits it at mount_z / sin(pitch).
        ((0.0, 0.0, math.pi / 2), CAMERA.mount_z / math.sin(math.radians(CAMERA.pitch_deg))),
        # Near the box: the axis hits its front face 0.5 m ahead of the camera.
        ((1.2, 0.0, 0.0), 0.5 / math.cos(math.radians(CAMERA.pitch_deg))),
        # Nose almost at the box: 0.2 m ahead, so nothing close is clipped away.
        ((1.5, 0.0, 0.0), 0.2 / math.cos(math.radians(CAMERA.pitch_deg))),
    ],
    ids=['floor', 'box_face', 'box_face_close'],
)
def test_depth_at_image_centre_is_metric_distance_along_axis(world, pose, expected_depth):
    world.set_robot_pose(*pose)
    depth = world.render_depth()
    assert depth.shape == (CAMERA.height, CAMERA.width)
    assert depth.dtype == np.float32
    # The optical axis passes between the four central pixels of an even-sized image.
    row, col = CAMERA.height // 2, CAMERA.width // 2
    centre = depth[row - 1:row + 1, col - 1:col + 1].mean()
    assert centre == pytest.approx(expected_depth, rel=0.02)


# -- driving and ground truth -------------------------------------------------------------


def test_forward_command_moves_along_heading(world):
    heading = 2.0
    world.set_robot_pose(0.0, 0.0, heading)
    world.set_velocity(0.5, 0.0)
    world.step(1.0)
    world.step(1.0)  # the command is held between steps
    x, y, yaw = world.robot_pose()
    assert math.hypot(x, y) == pytest.approx(1.0, rel=0.05)
    assert math.atan2(y, x) == pytest.approx(heading, abs=0.01)
    assert yaw == pytest.approx(heading, abs=0.01)
    assert world.robot_velocity() == pytest.approx((0.5, 0.0), abs=0.01)


def test_positive_angular_velocity_turns_left(world):
    world.set_velocity(0.0, 0.5)
    world.step(2.0)
    x, y, yaw = world.robot_pose()
    assert yaw == pytest.approx(1.0, rel=0.05)
    assert math.hypot(x, y) < 0.01
    assert world.robot_velocity() == pytest.approx((0.0, 0.5), abs=0.01)


def test_driving_into_box_stops_at_it_and_reports_contact(world):
    box = PROBE_SCENE.object('blue_box')
    assert world.distance_to_object('blue_box') == pytest.approx(2.0 - BOX_HALF)
    world.set_velocity(0.5, 0.0)
    closest = math.inf
    for _ in range(100):
        world.step(0.05)
        x, y, _ = world.robot_pose()
        closest = min(closest, box.surface_distance(x, y))
        if closest > ROBOT_RADIUS + 0.01:
            assert world.touched_objects() == set()
    assert closest > ROBOT_RADIUS - 0.005  # soft contact: millimetres of penetration at most
    assert world.touched_objects() == {'blue_box'}
    assert world.distance_to_object('blue_box') == pytest.approx(ROBOT_RADIUS, abs=0.01)
    assert world.robot_pose()[0] == pytest.approx(2.0 - BOX_HALF - ROBOT_RADIUS, abs=0.01)
    assert abs(world.robot_velocity()[0]) < 0.01
    world.reset()
    assert world.touched_objects() == set()


def test_walls_stop_the_robot(world):
    world.set_robot_pose(0.0, 0.0, math.pi / 2)
    world.set_velocity(2.0, 0.0)
    world.step(4.0)
    x, y, _ = world.robot_pose()
    assert y == pytest.approx(PROBE_SCENE.room_size / 2 - ROBOT_RADIUS, abs=0.01)
    assert abs(x) < 0.01
    assert world.touched_objects() == set()


def test_time_advances_by_exactly_the_requested_duration(world):
    for expected in (0.1, 0.2, 0.3):
        world.step(0.1)
        assert world.time == pytest.approx(expected, abs=1e-12)
    world.step(0.0)
    assert world.time == pytest.approx(0.3, abs=1e-12)
    with pytest.raises(ValueError, match='multiple of the timestep'):
        world.step(0.0123)
    with pytest.raises(ValueError, match='multiple of the timestep'):
        world.step(-0.005)
    world.reset()
    assert world.time == 0.0
    assert world.robot_pose() == PROBE_SCENE.robot_start


def test_closed_world_refuses_to_render():
    world = SimWorld(PROBE_SCENE)
    world.close()
    world.close()  # idempotent
    with pytest.raises(RuntimeError, match='closed'):
        world.render()


def test_sim_package_does_not_import_rclpy():
    code = "import sys, clip_grounding_ros.sim; sys.exit('rclpy' in sys.modules)"
    assert subprocess.run([sys.executable, '-c', code], check=False).returncode == 0
