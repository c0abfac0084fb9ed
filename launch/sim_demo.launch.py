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
The simulated robot (sim_node, MuJoCo) and the grounding pipeline on its camera.

    ros2 launch clip_grounding_ros sim_demo.launch.py command:='go to the blue box'

sim_node publishes /clock; every other node runs on that simulated time. All nodes read
config/sim_demo.yaml, which runs the bundled simulator model on the CPU. With namespace:=robot1
the simulated robot and its pipeline all live under /robot1 (/clock stays global). Every node
is required: when one exits the launch ends, saying which and why.

The simulator needs MuJoCo (a demo extra: pip install mujoco), which a robot does not.
"""

from clip_grounding_ros.launch_support import (
    declare_respawn_argument,
    given_parameters,
    large_frames_transport,
    required_node,
)
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

# parameter -> (launch argument, type), applied only when the argument is given.
OVERRIDES = {
    'sim_node': {
        'scene': ('scene', str),
        'realtime_factor': ('realtime_factor', float),
    },
}


def _simulator(context):
    return required_node(
        context, package='clip_grounding_ros', executable='sim_node', name='sim_node',
        namespace=LaunchConfiguration('namespace'), output='screen',
        # The simulator is the clock: it never waits for /clock itself.
        parameters=[LaunchConfiguration('params_file'), {'use_sim_time': False},
                    given_parameters(context, OVERRIDES['sim_node'])])


def generate_launch_description():
    share = FindPackageShare('clip_grounding_ros')
    return LaunchDescription([
        large_frames_transport(),
        DeclareLaunchArgument(
            'params_file', default_value=PathJoinSubstitution([share, 'config', 'sim_demo.yaml']),
            description='Parameters of sim_node and the pipeline nodes'),
        DeclareLaunchArgument(
            'scene', default_value='',
            description='Scene: boxes, mixed, a scene YAML file, random:<seed> or '
                        "random_textured:<seed>; empty: the params file's scene"),
        DeclareLaunchArgument(
            'command', default_value='',
            description="A command to run once the pipeline is up, e.g. 'go to the blue box'; "
                        'empty: wait for one on the command topic'),
        DeclareLaunchArgument(
            'realtime_factor', default_value='',
            description='Simulated seconds per wall-clock second (0: as fast as possible); '
                        "empty: the params file's value"),
        DeclareLaunchArgument(
            'model', default_value='package://clip_grounding_ros/models/sim_clip',
            description='CLIP model of grounding_node (default: the bundled simulator model)'),
        DeclareLaunchArgument(
            'namespace', default_value='',
            description='Namespace of the simulated robot and its pipeline (e.g. robot1)'),
        declare_respawn_argument(),
        OpaqueFunction(function=_simulator),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(
                PathJoinSubstitution([share, 'launch', 'grounding.launch.py'])),
            launch_arguments={
                'params_file': LaunchConfiguration('params_file'),
                'namespace': LaunchConfiguration('namespace'),
                'model': LaunchConfiguration('model'),
                'command': LaunchConfiguration('command'),
                'use_sim_time': 'true',
                'respawn': LaunchConfiguration('respawn'),
            }.items()),
    ])
