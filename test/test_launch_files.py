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
Static checks of the launch files, the params files and the Gazebo world and bridge.

launch, launch_ros and Gazebo come with a ROS 2 installation and are not needed here: launch
files are read as syntax trees, the nodes' topics from their create_publisher and
create_subscription calls. test_launch_testing.py runs sim_demo.launch.py where launch exists.
"""

from __future__ import annotations

import ast
from functools import cache
import math
from pathlib import Path
import py_compile
import xml.etree.ElementTree as ElementTree

from clip_grounding_ros import launch_support
from clip_grounding_ros.core.perception.sources import FrameInput
from clip_grounding_ros.nodes import action_node, camera_node, grounding_node
from clip_grounding_ros.sim import COLORS, load_scene, sim_node
import params_file
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((ROOT / 'launch').glob('*.launch.py'))
NODES = {'camera_node': camera_node, 'grounding_node': grounding_node,
         'action_node': action_node, 'sim_node': sim_node}
PIPELINE = ('camera_node', 'grounding_node', 'action_node')
REQUIRED_ARGUMENTS = {
    'grounding.launch.py': {'params_file', 'namespace', 'image_topic', 'camera_info_topic',
                            'depth_topic', 'scan_topic', 'odom_topic',
                            'compressed', 'cmd_vel_topic', 'model', 'device', 'use_sim_time',
                            'with_action', 'command'},
    'sim_demo.launch.py': {'scene', 'command', 'realtime_factor', 'model'},
    'gazebo_demo.launch.py': {'world', 'params_file', 'model', 'command'},
}
# ros_gz_bridge's mapping of the ROS types bridged here to Gazebo message types.
GZ_TYPES = {
    'geometry_msgs/msg/Twist': 'gz.msgs.Twist',
    'sensor_msgs/msg/Image': 'gz.msgs.Image',
    'sensor_msgs/msg/CameraInfo': 'gz.msgs.CameraInfo',
    'nav_msgs/msg/Odometry': 'gz.msgs.Odometry',
    'rosgraph_msgs/msg/Clock': 'gz.msgs.Clock',
}
TYPE_NAMES = {'bool': bool, 'int': int, 'float': float, 'str': str}


def node_parameters(node: str) -> dict:
    """Parameter name -> default; use_sim_time is declared by rclpy itself."""
    return {'use_sim_time': False} | {p.name: p.default for p in NODES[node].PARAMS}


def load_yaml(relative: str):
    with open(ROOT / relative) as stream:
        return yaml.safe_load(stream)


def node_sections(relative: str) -> dict[str, dict]:
    """
    Return the ros__parameters per node of a params file.

    Keys may be written /**/<node>; the section for every node stays '/**'.
    """
    return {key.removeprefix('/**/'): value['ros__parameters']
            for key, value in load_yaml(relative).items()}


# -- syntax trees -----------------------------------------------------------------------
@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def calls(node: ast.AST, name: str) -> list[ast.Call]:
    return [call for call in ast.walk(node) if isinstance(call, ast.Call) and
            (getattr(call.func, 'id', None) == name or getattr(call.func, 'attr', None) == name)]


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def declared_arguments(path: Path) -> dict[str, ast.Call]:
    """
    Map each argument name to its DeclareLaunchArgument call.

    The call in a launch file or, for 'respawn', in launch_support.declare_respawn_argument.
    """
    declared = {}
    respawn = calls(tree(Path(launch_support.__file__)), 'DeclareLaunchArgument')
    for call in calls(tree(path), 'DeclareLaunchArgument') + \
            (respawn if calls(tree(path), 'declare_respawn_argument') else []):
        name = ast.literal_eval(call.args[0])
        assert name not in declared, f'{path.name}: {name} declared twice'
        declared[name] = call
    return declared


def overrides(path: Path) -> dict[str, dict[str, tuple[str, object]]]:
    """Return the module's OVERRIDES: node -> parameter -> (argument, type or value choices)."""
    for statement in tree(path).body:
        if isinstance(statement, ast.Assign) and \
                getattr(statement.targets[0], 'id', None) == 'OVERRIDES':
            table = {}
            for node, entries in zip(statement.value.keys, statement.value.values, strict=True):
                table[ast.literal_eval(node)] = {
                    ast.literal_eval(name): (ast.literal_eval(entry.elts[0]),
                                             TYPE_NAMES[entry.elts[1].id]
                                             if isinstance(entry.elts[1], ast.Name)
                                             else ast.literal_eval(entry.elts[1]))
                    for name, entry in zip(entries.keys, entries.values, strict=True)}
            return table
    return {}


def package_nodes(path: Path) -> list[ast.Call]:
    """Return the package's nodes a launch file starts (launch_support.required_node calls)."""
    return [call for call in calls(tree(path), 'Node') + calls(tree(path), 'required_node')
            if keyword(call, 'package') is not None and
            ast.literal_eval(keyword(call, 'package')) == 'clip_grounding_ros']


@cache
def node_topics(node: str) -> dict[str, set[tuple[str, str]]]:
    """Read {'publishes': {(topic, ROS type)}, 'subscribes': {...}} from the node's source."""
    module = tree(Path(NODES[node].__file__))
    packages = {alias.name: statement.module.replace('.', '/')
                for statement in module.body if isinstance(statement, ast.ImportFrom)
                and statement.module and statement.module.endswith('.msg')
                for alias in statement.names}
    topics = {'publishes': set(), 'subscribes': set()}
    # Faults.subscribe(msg_type, topic, ...) is a guarded create_subscription.
    for method, kind in (('create_publisher', 'publishes'),
                         ('create_subscription', 'subscribes'), ('subscribe', 'subscribes')):
        for call in calls(module, method):
            message, topic = call.args[0], ast.literal_eval(call.args[1])
            choices = [message.body, message.orelse] if isinstance(message, ast.IfExp) \
                else [message]
            topics[kind] |= {(topic, f'{packages[m.id]}/{m.id}') for m in choices}
    if calls(module, 'CommandIntake'):  # nodes.common: `command` in, relayed between nodes
        topics['subscribes'] |= {('command', 'std_msgs/msg/String'),
                                 ('command/relay', 'std_msgs/msg/String')}
        topics['publishes'].add(('command/relay', 'std_msgs/msg/String'))
    return topics


def topic_names(node: str) -> set[str]:
    topics = node_topics(node)
    return {name for name, _ in topics['publishes'] | topics['subscribes']}


# -- launch files -------------------------------------------------------------------------
def test_the_launch_files_exist():
    assert {p.name for p in LAUNCH_FILES} == set(REQUIRED_ARGUMENTS)


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_compiles_and_defines_generate_launch_description(path, tmp_path):
    py_compile.compile(str(path), cfile=str(tmp_path / 'launch.pyc'), doraise=True)
    functions = {s.name for s in tree(path).body if isinstance(s, ast.FunctionDef)}
    assert 'generate_launch_description' in functions


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_arguments_are_declared_with_descriptions(path):
    declared = declared_arguments(path)
    assert REQUIRED_ARGUMENTS[path.name] <= set(declared)
    for name, call in declared.items():
        description = keyword(call, 'description')
        assert description is not None and ast.literal_eval(description).strip(), \
            f'{path.name}: {name} has no description'


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_overridden_parameters_exist_with_their_type(path):
    declared = declared_arguments(path)
    for node, table in overrides(path).items():
        parameters = node_parameters(node)
        for name, (argument, kind) in table.items():
            assert name in parameters, f'{node} has no parameter {name}'
            assert argument in declared, f'{path.name}: {argument} is not declared'
            # '' is what keeps the params file's value, so it must be the default.
            assert ast.literal_eval(keyword(declared[argument], 'default_value')) == ''
            if isinstance(kind, dict):  # argument value -> parameter value
                choices = ast.literal_eval(keyword(declared[argument], 'choices'))
                assert set(choices) == {''} | set(kind)
                assert set(kind.values()) <= {i.value for i in FrameInput}
            else:
                assert kind is type(parameters[name])


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_nodes_set_only_their_own_parameters_and_remap_their_own_topics(path):
    for call in package_nodes(path):
        name = ast.literal_eval(keyword(call, 'name'))
        assert ast.literal_eval(keyword(call, 'executable')) == name  # params files key on it
        for item in keyword(call, 'parameters').elts:
            if isinstance(item, ast.Dict):
                assert set(ast.literal_eval(item)) <= set(node_parameters(name))
        remappings = keyword(call, 'remappings')
        for pair in remappings.elts if remappings is not None else []:
            assert ast.literal_eval(pair.elts[0]) in topic_names(name)


def test_pipeline_includes_pass_only_declared_arguments():
    grounding = set(declared_arguments(ROOT / 'launch' / 'grounding.launch.py'))
    includes = 0
    for path in LAUNCH_FILES:
        for call in calls(tree(path), 'IncludeLaunchDescription'):
            if 'grounding.launch.py' not in ast.unparse(call.args[0]):
                continue
            includes += 1
            arguments = keyword(call, 'launch_arguments').func.value  # {...}.items()
            passed = {ast.literal_eval(key) for key in arguments.keys}
            assert passed <= grounding, f'{path.name} passes {passed - grounding}'
            assert passed >= {'params_file', 'model', 'command', 'use_sim_time'}
    assert includes == 2  # sim_demo and gazebo_demo


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_every_package_node_is_required_and_respawn_is_an_argument(path):
    """
    Every package node is required, and respawn is a launch argument.

    A node that exits ends the launch (launch_support.required_node), so a half pipeline
    never keeps running; where a file starts nodes itself, respawn:=true is offered.
    """
    assert not [call for call in calls(tree(path), 'Node')
                if keyword(call, 'package') is not None and
                ast.literal_eval(keyword(call, 'package')) == 'clip_grounding_ros']
    if package_nodes(path):
        assert calls(tree(path), 'declare_respawn_argument')


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_nodes_start_with_the_package_dds_profile(path):
    """
    The first action sets the Fast DDS profile, so every process the file starts gets it.

    launch_support.large_frames_transport (clip_grounding_ros.dds): frames over 512 KB go over
    shared memory instead of UDP fragments that a best-effort subscriber loses.
    """
    descriptions = calls(tree(path), 'LaunchDescription')
    assert len(descriptions) == 1
    first = descriptions[0].args[0].elts[0]
    assert isinstance(first, ast.Call) and first.func.id == 'large_frames_transport'


def test_exit_ends_the_launch_unless_respawn_can_mend_it():
    from clip_grounding_ros.launch_support import CONFIG_ERROR_EXIT, exit_ends_launch
    from clip_grounding_ros.nodes.process import CONFIG_ERROR_EXIT as NODE_CONFIG_ERROR_EXIT

    assert CONFIG_ERROR_EXIT == NODE_CONFIG_ERROR_EXIT == 2
    assert exit_ends_launch(0, respawn=False) and exit_ends_launch(-9, respawn=False)
    assert not exit_ends_launch(-9, respawn=True) and not exit_ends_launch(1, respawn=True)
    assert exit_ends_launch(CONFIG_ERROR_EXIT, respawn=True)  # a restart would fail alike


def test_sim_demo_namespace_moves_the_simulator_with_the_pipeline():
    path = ROOT / 'launch' / 'sim_demo.launch.py'
    (include,) = calls(tree(path), 'IncludeLaunchDescription')
    arguments = include.keywords[0].value.func.value
    passed = {ast.literal_eval(k): ast.unparse(v) for k, v in
              zip(arguments.keys, arguments.values, strict=True)}
    assert passed['namespace'] == "LaunchConfiguration('namespace')"
    assert passed['respawn'] == "LaunchConfiguration('respawn')"
    (simulator,) = package_nodes(path)
    assert ast.unparse(keyword(simulator, 'namespace')) == "LaunchConfiguration('namespace')"
    assert 'namespace' in declared_arguments(path)
    # Relative topics follow the namespace; /clock is the one global name (use_sim_time).
    absolute = {topic for node in ('sim_node', *PIPELINE) for kind in ('publishes',
                                                                       'subscribes')
                for topic, _ in node_topics(node)[kind] if topic.startswith('/')}
    assert absolute == {'/clock'}


def test_sim_demo_runs_the_pipeline_on_simulated_time():
    path = ROOT / 'launch' / 'sim_demo.launch.py'
    (include,) = calls(tree(path), 'IncludeLaunchDescription')
    arguments = include.keywords[0].value.func.value
    passed = dict(zip((ast.literal_eval(k) for k in arguments.keys), arguments.values,
                      strict=True))
    assert ast.literal_eval(passed['use_sim_time']) == 'true'
    (simulator,) = package_nodes(path)
    assert {'use_sim_time': False} in [ast.literal_eval(item)
                                       for item in keyword(simulator, 'parameters').elts
                                       if isinstance(item, ast.Dict)]


# -- params files -------------------------------------------------------------------------
def effective_parameters(relative: str, node: str) -> dict:
    """Return what ``node`` reads from a params file: the /** section, then its own."""
    sections = node_sections(relative)
    return sections.get('/**', {}) | sections.get(node, {})


def test_grounding_yaml_is_the_rendering_of_the_declarations():
    """Every parameter with its default, description and range (test/params_file.py)."""
    assert (ROOT / 'config' / 'grounding.yaml').read_text() == params_file.render(), \
        'config/grounding.yaml is out of date: .venv/bin/python test/params_file.py > ' \
        'config/grounding.yaml'
    assert set(node_sections('config/grounding.yaml')) == {'/**', *PIPELINE}
    for node in PIPELINE:
        defaults = {p.name: p.plain_default for p in NODES[node].PARAMS}
        values = effective_parameters('config/grounding.yaml', node)
        assert set(values) - {'use_sim_time'} >= set(defaults), node
        for name, default in defaults.items():
            expected = list(default) if isinstance(default, tuple) else default
            assert values[name] == expected and type(values[name]) is type(expected), \
                f'{node}.{name}: {values[name]!r} in grounding.yaml, default {default!r}'


def test_sim_demo_yaml_names_existing_parameters_and_the_sim_camera_mount():
    sections = node_sections('config/sim_demo.yaml')
    assert set(sections) == {'/**', *NODES}
    for node, values in sections.items():
        if node != '/**':
            assert set(values) <= set(node_parameters(node)), node
    shared = sections['/**']
    assert set(shared) == {p.name for p in params_file.SHARED}
    # sim_node reads the same mount for its camera: the names it declares mean the same.
    sim = sections['sim_node']
    assert {'camera_x', 'camera_z', 'camera_pitch_deg'} <= set(node_parameters('sim_node'))
    assert not set(shared) & set(sim)  # given once
    assert shared['camera_y'] == 0.0 and shared['camera_yaw_deg'] == 0.0
    # The simulated robot has a depth camera: the action node's obstacle source.
    assert sim['publish_depth'] is True and \
        sections['action_node'].get('obstacle_source', 'depth') == 'depth'


# -- Gazebo world -------------------------------------------------------------------------
def floats(element) -> list[float]:
    return [float(v) for v in element.text.split()]


@pytest.fixture(scope='module')
def world():
    root = ElementTree.parse(ROOT / 'config' / 'gazebo' / 'world.sdf').getroot()
    assert root.tag == 'sdf'
    assert tuple(int(v) for v in root.get('version').split('.')) >= (1, 8)
    (world,) = root.findall('world')
    return world


@pytest.fixture(scope='module')
def robot(world):
    (model,) = [m for m in world.findall('model') if m.find('.//sensor') is not None]
    return model


def test_world_has_ground_light_and_four_walls_of_the_room(world):
    scene = load_scene('boxes')
    assert world.find("model[@name='ground_plane']//plane") is not None
    (light,) = world.findall("light[@type='directional']")
    direction = floats(light.find('direction'))
    assert math.isclose(math.dist(direction, scene.light.direction), 0.0, abs_tol=1e-9)
    walls = [m for m in world.findall('model') if m.get('name').startswith('wall_')]
    assert len(walls) == 4
    for wall in walls:
        x, y, _, _, _, yaw = floats(wall.find('pose'))
        thickness = floats(wall.find('.//visual//box/size'))[0]
        # The wall's thin side faces the room centre; its inner face is at room_size / 2.
        assert math.isclose(abs(math.cos(yaw) * x + math.sin(yaw) * y), math.hypot(x, y))
        assert math.isclose(math.hypot(x, y) - thickness / 2, scene.room_size / 2)


def test_world_objects_are_those_of_boxes_yaml(world):
    for obj in load_scene('boxes').objects:
        model = world.find(f"model[@name='{obj.name}']")
        assert model is not None, obj.name
        assert model.find('static').text == 'true'
        pose = floats(model.find('pose'))
        assert pose == pytest.approx([*obj.position, obj.size[2], 0.0, 0.0, obj.yaw]), obj.name
        for part in ('collision', 'visual'):
            size = floats(model.find(f'.//{part}//box/size'))
            assert size == pytest.approx([2 * s for s in obj.size]), obj.name
        for colour in ('ambient', 'diffuse'):
            rgba = floats(model.find(f'.//material/{colour}'))
            assert rgba == pytest.approx([*COLORS[obj.color], 1.0]), obj.name


def test_world_robot_has_a_diff_drive_matching_its_wheels(robot):
    (drive,) = [p for p in robot.findall('plugin') if p.get('name').endswith('DiffDrive')]
    assert 'diff-drive' in drive.get('filename')
    wheels = []
    for side in ('left_joint', 'right_joint'):
        joint = robot.find(f"joint[@name='{drive.find(side).text}']")
        assert joint.get('type') == 'revolute'
        wheels.append(robot.find(f"link[@name='{joint.find('child').text}']"))
    left, right = (floats(w.find('pose')) for w in wheels)
    assert float(drive.find('wheel_separation').text) == pytest.approx(left[1] - right[1])
    for wheel in wheels:
        radius = float(wheel.find('.//collision//cylinder/radius').text)
        assert float(drive.find('wheel_radius').text) == radius
    assert drive.find('child_frame_id').text == 'base_link'  # grounding's base_frame


@pytest.mark.parametrize('kind', ['camera', 'depth_camera'])
def test_world_cameras_match_the_simulated_camera_and_mount(robot, kind):
    """The colour camera, and the depth camera registered to it (same pose, FOV, size)."""
    sim = effective_parameters('config/sim_demo.yaml', 'sim_node')
    (sensor,) = robot.findall(f".//sensor[@type='{kind}']")
    link = next(link for link in robot.findall('link') if sensor in list(link))
    assert link.find('pose') is None  # the sensor pose is relative to the base origin
    camera = sensor.find('camera')
    width, height = int(camera.find('image/width').text), int(camera.find('image/height').text)
    assert (width, height) == (sim['image_width'], sim['image_height'])
    # Gazebo takes the horizontal FOV; the vertical one follows from the aspect ratio.
    hfov = 2 * math.atan(math.tan(math.radians(sim['fovy_deg']) / 2) * width / height)
    assert float(camera.find('horizontal_fov').text) == pytest.approx(hfov, abs=1e-9)
    x, y, z, roll, pitch, yaw = floats(sensor.find('pose'))
    expected = (sim['camera_x'], 0.0, sim['camera_z'], 0.0,
                math.radians(sim['camera_pitch_deg']), 0.0)
    assert (x, y, z, roll, pitch, yaw) == pytest.approx(expected, abs=1e-9)
    # gazebo_demo runs the pipeline with grounding.yaml: its mount must be this one too.
    grounding = effective_parameters('config/grounding.yaml', 'grounding_node')
    assert (grounding['camera_x'], grounding['camera_y'], grounding['camera_z'], 0.0,
            math.radians(grounding['camera_pitch_deg']),
            math.radians(grounding['camera_yaw_deg'])) == pytest.approx(expected, abs=1e-9)


# -- Gazebo bridge ------------------------------------------------------------------------
@pytest.fixture(scope='module')
def bridge():
    return load_yaml('config/gazebo/bridge.yaml')


def test_bridge_entries_are_complete_and_typed_consistently(bridge):
    for entry in bridge:
        assert set(entry) == {'ros_topic_name', 'gz_topic_name', 'ros_type_name',
                              'gz_type_name', 'direction'}, entry
        assert GZ_TYPES[entry['ros_type_name']] == entry['gz_type_name'], entry
        assert entry['direction'] in ('GZ_TO_ROS', 'ROS_TO_GZ'), entry


def test_bridge_stands_in_for_the_simulator_node(bridge):
    """Same names (relative, but /clock) and types as sim_node, in the same direction."""
    sim, action = node_topics('sim_node'), node_topics('action_node')
    for entry in bridge:
        topic = (entry['ros_topic_name'], entry['ros_type_name'])
        if entry['direction'] == 'GZ_TO_ROS':
            assert topic in sim['publishes'], topic
        else:
            assert topic in sim['subscribes'] and topic in action['publishes'], topic
    bridged = {(e['ros_topic_name'], e['ros_type_name']) for e in bridge}
    camera_inputs = {t for t in node_topics('camera_node')['subscribes']
                     if t[1] != 'sensor_msgs/msg/CompressedImage'}
    assert camera_inputs <= bridged
    assert ('/clock', 'rosgraph_msgs/msg/Clock') in bridged  # use_sim_time needs it


def test_bridge_uses_the_gazebo_topics_of_the_world(bridge, robot):
    (drive,) = [p for p in robot.findall('plugin') if p.get('name').endswith('DiffDrive')]
    camera = robot.find(".//sensor[@type='camera']")
    image_topic = camera.find('topic').text
    info_topic = camera.find('camera/camera_info_topic')
    expected = {
        'cmd_vel': drive.find('topic').text,
        'odom': drive.find('odom_topic').text,
        'camera/image_raw': image_topic,
        'camera/depth/image_raw': robot.find(".//sensor[@type='depth_camera']/topic").text,
        # gz-sensors publishes camera_info next to the image unless told otherwise.
        'camera/camera_info': info_topic.text if info_topic is not None
        else image_topic.rsplit('/', 1)[0] + '/camera_info',
        '/clock': '/clock',
    }
    assert {e['ros_topic_name']: e['gz_topic_name'] for e in bridge} == expected


OVERRIDE_PROBE = """
import sys, rclpy
rclpy.init(args=sys.argv)
node = rclpy.create_node(sys.argv[1], automatically_declare_parameters_from_overrides=True)
print(repr(node.get_parameter(sys.argv[2]).value))
"""


@pytest.mark.parametrize('relative, node, name, given', [
    ('config/sim_demo.yaml', 'sim_node', 'scene', 'mixed'),  # what the demo's --scene does
    ('config/sim_demo.yaml', 'grounding_node', 'camera_z', '0.5'),
    ('config/grounding.yaml', 'action_node', 'max_linear', '0.3'),
    ('config/grounding.yaml', 'grounding_node', 'camera_pitch_deg', '10.0'),
])
def test_command_line_and_launch_overrides_win_over_the_params_file(tmp_path, relative, node,
                                                                    name, given):
    """
    Command-line and launch overrides win over the params file.

    rcl merges a -p override (and launch_ros' parameter dicts, which it passes as a /**
    params file) into the first /** section it has seen: with the files' /** section last,
    the override still wins over the node's own section. Checked with rcl itself.
    """
    import subprocess
    import sys

    assert list(load_yaml(relative))[-1] == '/**', f'{relative}: the /** section must be last'
    later = tmp_path / 'launch_params.yaml'
    later.write_text(f'/**:\n  ros__parameters:\n    {name}: {given}\n')
    for override in (['-p', f'{name}:={given}'], ['--params-file', str(later)]):
        result = subprocess.run(
            [sys.executable, '-c', OVERRIDE_PROBE, node, name, '--ros-args', '-r',
             f'__node:={node}', '--params-file', str(ROOT / relative), *override],
            capture_output=True, text=True, timeout=60, check=True)
        assert result.stdout.strip() == repr(yaml.safe_load(given)), (override, result.stdout)
