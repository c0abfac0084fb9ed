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
The grounding pipeline in Gazebo instead of the MuJoCo simulator.

    ros2 launch clip_grounding_ros gazebo_demo.launch.py command:='go to the blue box'

Gazebo (gz sim, Harmonic or later) runs config/gazebo/world.sdf: the boxes scene with a
differential-drive robot and its camera. ros_gz_bridge carries the topics listed in
config/gazebo/bridge.yaml, and the pipeline runs on Gazebo's /clock. Needs ros_gz (e.g.
ros-${ROS_DISTRO}-ros-gz) and the CLIP model of params_file; the bundled model was trained on
MuJoCo renders, so the default is config/grounding.yaml's CLIP.
"""

from clip_grounding_ros.launch_support import large_frames_transport
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    share = FindPackageShare('clip_grounding_ros')
    gazebo = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([FindPackageShare('ros_gz_sim'), 'launch', 'gz_sim.launch.py'])),
        launch_arguments={
            'gz_args': [LaunchConfiguration('gz_args'), ' ', LaunchConfiguration('world')],
            'on_exit_shutdown': 'true',
        }.items())
    bridge = Node(
        package='ros_gz_bridge', executable='parameter_bridge', name='gz_bridge',
        output='screen',
        parameters=[{'config_file': PathJoinSubstitution([share, 'config', 'gazebo',
                                                          'bridge.yaml']),
                     'use_sim_time': True}])
    pipeline = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([share, 'launch',
                                                            'grounding.launch.py'])),
        launch_arguments={
            'params_file': LaunchConfiguration('params_file'),
            'model': LaunchConfiguration('model'),
            'command': LaunchConfiguration('command'),
            'use_sim_time': 'true',
        }.items())
    return LaunchDescription([
        large_frames_transport(),
        DeclareLaunchArgument(
            'world', default_value=PathJoinSubstitution([share, 'config', 'gazebo', 'world.sdf']),
            description='SDF world with the robot model (its topics must match bridge.yaml)'),
        DeclareLaunchArgument(
            'gz_args', default_value='-r',
            description="Options of gz sim before the world: '-r' starts it running; add "
                        "'-s --headless-rendering' for no GUI (camera still rendered)"),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution([share, 'config', 'grounding.yaml']),
            description='Parameters of the pipeline nodes; the camera mount of '
                        'config/grounding.yaml matches the robot in world.sdf'),
        DeclareLaunchArgument(
            'model', default_value='',
            description="CLIP model of grounding_node; empty: the params file's model"),
        DeclareLaunchArgument(
            'command', default_value='',
            description="A command to run at start-up, e.g. 'go to the blue box'; empty: wait "
                        'for one on the command topic'),
        gazebo,
        bridge,
        pipeline,
    ])
