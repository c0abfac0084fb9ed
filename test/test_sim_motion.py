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
Moving objects in the simulator: the path, its validation, and MuJoCo following it.

Units throughout: world frame, metres, seconds of simulated time.
"""

import math
from pathlib import Path
import types

from clip_grounding_ros.core.contract.messages import GroundTruth
from clip_grounding_ros.sim import (
    add_clutter,
    camera_pose_in_base,
    CameraSpec,
    load_scene,
    ROBOT_RADIUS,
    Scene,
    scene_to_dict,
    SceneError,
    SceneObject,
    SimWorld,
)
from clip_grounding_ros.sim.scene import Motion, position_at
import numpy as np
import pytest
import yaml

MOVING_BALL = Path(__file__).resolve().parent / 'scenes' / 'moving_ball.yaml'
BALL_START = (1.5, -0.5)  # where the moving_ball scene's red ball waits
CAMERA = CameraSpec()
# Path of PATH_OBJECT: (1, 0) -> (1, 2) -> (3, 2) [-> back to (1, 0)], 2 + 2 + sqrt(8) m.
PATH_MOTION = Motion(waypoints=((1.0, 2.0), (3.0, 2.0)), speed=0.5, start_after=2.0)
PATH_OBJECT = SceneObject('ball', 'sphere', 'red', (0.1,), (1.0, 0.0), motion=PATH_MOTION)
LAP = 4.0 + math.sqrt(8.0)


def after(metres: float, motion: Motion = PATH_MOTION) -> float:
    """Return the time at which the object has gone `metres` along its path."""
    return motion.start_after + metres / motion.speed


# -- the path -----------------------------------------------------------------------------


@pytest.mark.parametrize('t, expected', [
    (0.0, (1.0, 0.0)),                                  # at its position
    (1.9, (1.0, 0.0)),                                  # still waiting for start_after
    (2.0, (1.0, 0.0)),                                  # just starting
    (after(1.0), (1.0, 1.0)),                           # middle of the first segment
    (after(2.0), (1.0, 2.0)),                           # first corner
    (after(3.0), (2.0, 2.0)),                           # middle of the second segment
    (after(4.0), (3.0, 2.0)),                           # last waypoint
    (after(4.0 + math.sqrt(2.0)), (2.0, 1.0)),          # on the way back to the start
    (after(LAP), (1.0, 0.0)),                           # a lap done: back at the start
    (after(LAP + 1.0), (1.0, 1.0)),                     # the loop wraps round
    (after(3 * LAP + 3.0), (2.0, 2.0)),                 # and again
], ids=['start', 'waiting', 'starting', 'mid_segment', 'corner', 'mid_second', 'last',
        'returning', 'lap', 'wrap', 'third_lap'])
def test_position_at_moves_along_the_path_at_constant_speed(t, expected):
    assert position_at(PATH_OBJECT, t) == pytest.approx(expected, abs=1e-9)


def test_position_at_without_loop_stays_at_the_last_waypoint():
    once = SceneObject('ball', 'sphere', 'red', (0.1,), (1.0, 0.0),
                       motion=Motion(((1.0, 2.0), (3.0, 2.0)), speed=0.5, start_after=2.0,
                                     loop=False))
    assert position_at(once, after(3.0)) == pytest.approx((2.0, 2.0))
    for metres in (4.0, 4.5, 100.0):
        assert position_at(once, after(metres)) == pytest.approx((3.0, 2.0))


def test_position_at_of_static_object_and_single_waypoint():
    static = SceneObject('box', 'box', 'blue', (0.1, 0.1, 0.1), (2.0, -1.0))
    assert position_at(static, 0.0) == position_at(static, 1e6) == (2.0, -1.0)
    there_and_back = SceneObject('ball', 'sphere', 'red', (0.1,), (0.0, 1.0),
                                 motion={'waypoints': [[2.0, 1.0]], 'speed': 1.0})
    assert position_at(there_and_back, 1.5) == pytest.approx((1.5, 1.0))  # start_after 0
    assert position_at(there_and_back, 3.0) == pytest.approx((1.0, 1.0))  # coming back
    assert there_and_back.motion.loop is True


# -- validation ---------------------------------------------------------------------------

BALL = {'name': 'ball', 'shape': 'sphere', 'color': 'red', 'size': [0.15],
        'position': [2.0, 0.0]}
MOTION = {'waypoints': [[3.0, 1.0], [4.0, 0.0]], 'speed': 0.2}
MOTION_ERROR_CASES = {
    'zero speed': ({**MOTION, 'speed': 0.0}, r'motion: speed: expected more than 0 and at most'),
    'too fast': ({**MOTION, 'speed': 2.0}, r'motion: speed: .* at most 1.5 m/s, got 2.0'),
    'nan speed': ({**MOTION, 'speed': math.nan}, r'motion: speed: expected a finite number'),
    'text speed': ({**MOTION, 'speed': 'fast'}, r'motion: speed: expected a finite number'),
    'negative start': ({**MOTION, 'start_after': -1.0},
                       r'motion: start_after: must not be negative'),
    'infinite start': ({**MOTION, 'start_after': math.inf},
                       r'motion: start_after: expected a finite number'),
    'no waypoints': ({**MOTION, 'waypoints': []},
                     r'motion: waypoints: expected a list of at least one \[x, y\]'),
    'waypoints not a list': ({**MOTION, 'waypoints': 'there'}, r'motion: waypoints: expected'),
    'waypoint with z': ({**MOTION, 'waypoints': [[3.0, 1.0, 0.5]]},
                        r'motion: waypoints\[0\]: expected \[x, y\] \(an object rests on the '
                        r'floor, so only x and y move\)'),
    'waypoint too short': ({**MOTION, 'waypoints': [[3.0, 1.0], [4.0]]},
                           r'motion: waypoints\[1\]: expected \[x, y\]'),
    'nan waypoint': ({**MOTION, 'waypoints': [[3.0, math.nan]]},
                     r'motion: waypoints\[0\]: expected a finite number'),
    'loop not bool': ({**MOTION, 'loop': 'yes'},
                      r"motion: loop: expected true or false, got 'yes'"),
    'missing speed': ({'waypoints': [[3.0, 1.0]]},
                      r'motion: missing required field\(s\): speed'),
    'misspelt field': ({**MOTION, 'looping': True}, r'motion: unknown field\(s\): looping'),
    'not a mapping': ('around', r'motion: expected a mapping, got str'),
    'waypoint outside room': ({**MOTION, 'waypoints': [[4.9, 0.0]]},
                              r'motion: waypoints\[0\]: \(4.9, 0.0\) is outside the room'),
}


@pytest.mark.parametrize('motion, message', MOTION_ERROR_CASES.values(), ids=MOTION_ERROR_CASES)
def test_invalid_motion_is_rejected_naming_file_object_and_field(motion, message, tmp_path):
    path = tmp_path / 'bad_motion.yaml'
    path.write_text(yaml.safe_dump({'name': 'bad', 'objects': [{**BALL, 'motion': motion}]}))
    with pytest.raises(SceneError, match=f"object 'ball': {message}") as error:
        load_scene(path)
    assert str(path) in str(error.value)


def test_path_through_a_static_object_is_rejected():
    box = SceneObject('box', 'box', 'blue', (0.15, 0.15, 0.15), (3.5, 0.5))
    ball = SceneObject('ball', 'sphere', 'red', (0.15,), (2.0, 0.0), motion=MOTION)
    with pytest.raises(SceneError, match=r"object 'ball': motion: its path passes within "
                                         r"0\.00 m of object 'box'"):
        Scene('crossing', (box, ball))
    Scene('clear', (box, SceneObject('ball', 'sphere', 'red', (0.15,), (2.0, -1.0),
                                     motion={'waypoints': [[4.0, -1.0]], 'speed': 0.2})))


def test_motion_built_in_python_is_checked_too():
    with pytest.raises(SceneError, match=r'^motion: speed: expected more than 0'):
        Motion(((1.0, 1.0),), speed=-0.1)
    with pytest.raises(SceneError, match=r"^object 'ball': motion: speed:"):
        SceneObject('ball', 'sphere', 'red', (0.1,), (0.0, 0.0),
                    motion={'waypoints': [[1.0, 1.0]], 'speed': -0.1})


# -- YAML ---------------------------------------------------------------------------------


def test_moving_ball_scene_loads_and_keeps_its_boxes_off_the_path():
    scene = load_scene(MOVING_BALL)
    ball = scene.object('red_ball')
    assert ball.motion == Motion(((3.5, -0.5), (3.5, 1.5), (1.5, 1.5)), speed=0.15,
                                 start_after=4.0, loop=True)
    assert (ball.shape, ball.color, ball.position) == ('sphere', 'red', BALL_START)
    samples = [position_at(ball, after(0.01 * k, ball.motion)) for k in range(520)]
    for box in scene.objects_matching(shape='box'):
        assert box.motion is None and box.texture is None
        assert min(box.surface_distance(*point) for point in samples) >= 1.2


def test_motion_round_trips_through_yaml(tmp_path):
    scene = load_scene(MOVING_BALL)
    data = scene_to_dict(scene)
    assert data['objects'][0]['motion'] == {'waypoints': [[3.5, -0.5], [3.5, 1.5], [1.5, 1.5]],
                                            'speed': 0.15, 'start_after': 4.0, 'loop': True}
    assert all('motion' not in entry for entry in data['objects'][1:])  # static: omitted
    path = tmp_path / 'scene.yaml'
    path.write_text(yaml.safe_dump(data))
    assert load_scene(path) == scene


def test_clutter_keeps_off_the_path_of_a_moving_object():
    scene = add_clutter(load_scene(MOVING_BALL), 30, seed=4)
    ball = scene.object('red_ball')
    samples = [position_at(ball, after(0.01 * k, ball.motion)) for k in range(520)]
    for clutter in (obj for obj in scene.objects if obj.is_clutter):
        assert min(clutter.surface_distance(*point) for point in samples) > ball.size[0]


# -- in MuJoCo ----------------------------------------------------------------------------


@pytest.fixture(scope='module')
def shared_world():
    with SimWorld(load_scene(MOVING_BALL)) as world:
        yield world


@pytest.fixture
def world(shared_world):
    """Return the moving_ball world, reset: one OpenGL context for all tests."""
    shared_world.reset()
    return shared_world


def project(point_world: tuple[float, float, float], pose: tuple[float, float, float]):
    """Return the pinhole (u, v) of a world point seen by the robot camera at `pose`."""
    x, y, yaw = pose
    rotation = np.array([[math.cos(yaw), -math.sin(yaw), 0.0],
                         [math.sin(yaw), math.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
    mount_position, mount_rotation = camera_pose_in_base(CAMERA)
    point_base = rotation.T @ (np.asarray(point_world) - np.array([x, y, 0.0]))
    point_camera = mount_rotation.T @ (point_base - mount_position)
    fx, fy, cx, cy = CAMERA.intrinsics()
    return np.array([fx * point_camera[0] / point_camera[2] + cx,
                     fy * point_camera[1] / point_camera[2] + cy])


def test_ball_follows_its_path_in_steps_of_any_size(world):
    ball = world.scene.object('red_ball')
    durations = [0.005, 0.1, 0.5, 1.3, 0.005, 2.0, 5.0] * 4  # 35.6 s: past a whole lap
    for duration in durations:
        world.step(duration)
        where = world.object_position('red_ball')
        assert where == pytest.approx(position_at(ball, world.time), abs=1e-9)
        assert world.distance_to_object('red_ball') == pytest.approx(math.hypot(*where) - 0.15)
    assert world.object_position('blue_box') == world.scene.object('blue_box').position
    assert world.object_position('red_ball') != pytest.approx(BALL_START, abs=0.1)
    world.reset()
    assert world.time == 0.0
    assert world.object_position('red_ball') == BALL_START
    assert world.distance_to_object('red_ball') == pytest.approx(math.hypot(*BALL_START) - 0.15)


def test_robot_cannot_push_the_ball_but_touches_it(world):
    ball = world.scene.object('red_ball')
    world.set_robot_pose(0.0, BALL_START[1], 0.0)  # facing the waiting ball
    world.set_velocity(0.5, 0.0)  # straight at it, then on while it rolls
    for _ in range(60):
        world.step(0.1)
        assert world.object_position('red_ball') == pytest.approx(
            position_at(ball, world.time), abs=1e-9)
        if world.time < 2.0:
            assert world.touched_objects() == set()
        if math.isclose(world.time, 3.9):  # pressed against the still ball at full force
            assert world.robot_pose()[0] == pytest.approx(
                BALL_START[0] - 0.15 - ROBOT_RADIUS, abs=0.01)
            assert world.object_position('red_ball') == BALL_START
    assert world.touched_objects() == {'red_ball'}
    assert world.object_position('red_ball') != pytest.approx(BALL_START, abs=0.1)


def test_camera_sees_the_ball_where_it_went(world):
    ball = world.scene.object('red_ball')
    names = world.scene.object_names

    def ball_centre() -> np.ndarray:
        x1, y1, x2, y2 = world.visible_objects()['red_ball'].box
        return np.array([(x1 + x2 - 1) / 2.0, (y1 + y2 - 1) / 2.0])

    start = ball_centre()
    assert start == pytest.approx(project((*BALL_START, 0.15), world.robot_pose()), abs=3.0)
    world.step(22.0)  # past the corner (3.5, -0.5), rolling left: up and left in the image
    x, y = world.object_position('red_ball')
    assert (x, y) == pytest.approx(position_at(ball, 22.0))
    moved = ball_centre()
    assert moved == pytest.approx(project((x, y, 0.15), world.robot_pose()), abs=3.0)
    assert moved[0] < start[0] - 20 and moved[1] < start[1]
    segmentation = world.render_segmentation()
    u, v = np.round(moved).astype(int)
    assert segmentation[v, u] == names.index('red_ball')
    u, v = np.round(start).astype(int)
    assert segmentation[v, u] == -1  # where it stood is floor now


# -- ground truth -------------------------------------------------------------------------


def test_ground_truth_carries_current_positions(world):
    pytest.importorskip('rclpy')
    from clip_grounding_ros.sim.sim_node import SimNode

    sent = []
    node = types.SimpleNamespace(world=world, scene=world.scene,
                                 truth_pub=types.SimpleNamespace(publish=sent.append))
    world.step(10.0)
    SimNode._publish_truth(node, world.time)
    truth = GroundTruth.from_json(sent[-1].data)
    assert set(truth.positions) == set(world.scene.object_names)
    assert truth.positions['red_ball'] == pytest.approx(
        position_at(world.scene.object('red_ball'), 10.0), abs=1e-4)
    assert truth.positions['red_ball'] == [round(v, 4) for v in truth.positions['red_ball']]
    assert truth.positions['green_box'] == [4.5, -2.4]
    assert GroundTruth.from_json('{"schema": 1, "time": 1.0}').positions == {}


def test_a_scene_at_a_time_has_each_moving_object_where_it_is_then():
    scene = load_scene(str(MOVING_BALL))
    corner = scene.at(4.0 + 2.0 / 0.15)  # the ball's first corner, (3.5, -0.5)
    ball = corner.object('red_ball')
    assert ball.position == pytest.approx((3.5, -0.5)) and ball.motion is None
    assert corner.object('blue_box') == scene.object('blue_box')
    assert scene.at(0.0).object('red_ball').position == pytest.approx(BALL_START)
    assert scene.object('red_ball').motion is not None  # the scene itself is unchanged
    static = load_scene('boxes')
    assert static.at(30.0) is static
