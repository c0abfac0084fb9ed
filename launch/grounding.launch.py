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
The grounding pipeline on a robot: camera_node, grounding_node and action_node.

    ros2 launch clip_grounding_ros grounding.launch.py image_topic:=/oak/rgb/image_raw \
        camera_info_topic:=/oak/rgb/camera_info command:='go to the red chair'

Parameters come from params_file (config/grounding.yaml by default); the model, device,
command, compressed and use_sim_time arguments override it only when given. Topics are
remapped, so the nodes' own names (camera/image_raw, cmd_vel, ...) stay fixed. Every node is
required: when one exits the launch ends, saying which and why (respawn:=true restarts it).
"""

from clip_grounding_ros.launch_support import (
    declare_respawn_argument,
    given_parameters,
    large_frames_transport,
    required_node,
)
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

# Per node: parameter -> (launch argument, type or {argument value: parameter value}).
OVERRIDES = {
    'camera_node': {
        'input': ('compressed', {'true': 'compressed', 'false': 'raw'}),
        'use_sim_time': ('use_sim_time', bool),
    },
    'grounding_node': {
        'model': ('model', str),
        'device': ('device', str),
        'initial_command': ('command', str),
        'use_sim_time': ('use_sim_time', bool),
    },
    'action_node': {
        'use_sim_time': ('use_sim_time', bool),
    },
}


def _nodes(context):
    params_file = LaunchConfiguration('params_file')
    namespace = LaunchConfiguration('namespace')
    image_topic = LaunchConfiguration('image_topic')
    nodes = required_node(
        context, package='clip_grounding_ros', executable='camera_node', name='camera_node',
        namespace=namespace, output='screen',
        parameters=[params_file, given_parameters(context, OVERRIDES['camera_node'])],
        # Both image remaps, so input raw and compressed follow image_topic alike (the
        # compressed one as image_transport names it: <image_topic>/compressed).
        remappings=[('camera/image_raw', image_topic),
                    ('camera/image_raw/compressed', [image_topic, '/compressed']),
                    ('camera/camera_info', LaunchConfiguration('camera_info_topic'))])
    depth, odom = LaunchConfiguration('depth_topic'), LaunchConfiguration('odom_topic')
    nodes += required_node(
        context, package='clip_grounding_ros', executable='grounding_node',
        name='grounding_node', namespace=namespace, output='screen',
        parameters=[params_file, given_parameters(context, OVERRIDES['grounding_node'])],
        remappings=[('camera/depth/image_raw', depth), ('odom', odom)])
    if LaunchConfiguration('with_action').perform(context) == 'true':
        nodes += required_node(
            context, package='clip_grounding_ros', executable='action_node',
            name='action_node', namespace=namespace, output='screen',
            parameters=[params_file, given_parameters(context, OVERRIDES['action_node'])],
            remappings=[('cmd_vel', LaunchConfiguration('cmd_vel_topic')),
                        ('camera/depth/image_raw', depth), ('odom', odom),
                        ('camera/camera_info', LaunchConfiguration('camera_info_topic')),
                        ('scan', LaunchConfiguration('scan_topic'))])
    return nodes


def generate_launch_description():
    return LaunchDescription([
        large_frames_transport(),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution(
                [FindPackageShare('clip_grounding_ros'), 'config', 'grounding.yaml']),
            description='Parameters of camera_node, grounding_node and action_node; under a '
                        'namespace its keys must match it, as the /**/<node> keys of '
                        'config/grounding.yaml do'),
        DeclareLaunchArgument(
            'namespace', default_value='',
            description='Namespace of the three nodes and their relative topics (e.g. robot1)'),
        DeclareLaunchArgument(
            'image_topic', default_value='camera/image_raw',
            description='Colour image topic (sensor_msgs/Image); with compressed:=true the '
                        'node subscribes <image_topic>/compressed'),
        DeclareLaunchArgument(
            'camera_info_topic', default_value='camera/camera_info',
            description='CameraInfo topic of that camera'),
        DeclareLaunchArgument(
            'depth_topic', default_value='camera/depth/image_raw',
            description='Depth image registered to the colour image (16UC1 mm or 32FC1 m): '
                        "action_node's obstacle source 'depth', and grounding_node's "
                        'use_depth'),
        DeclareLaunchArgument(
            'scan_topic', default_value='scan',
            description="LaserScan for action_node's obstacle source 'scan'"),
        DeclareLaunchArgument(
            'odom_topic', default_value='odom',
            description='Odometry of the base (nav_msgs/Odometry)'),
        DeclareLaunchArgument(
            'compressed', default_value='', choices=['', 'true', 'false'],
            description='true: subscribe <image_topic>/compressed (camera_node input '
                        "'compressed'); false: raw images; empty: the params file's input"),
        DeclareLaunchArgument(
            'cmd_vel_topic', default_value='cmd_vel',
            description='Velocity command topic of the base (Twist, or TwistStamped with '
                        'action_node twist_stamped: true in the params file)'),
        DeclareLaunchArgument(
            'model', default_value='',
            description='CLIP model: hub id, local folder or package:// URI; empty: the '
                        "params file's model"),
        DeclareLaunchArgument(
            'device', default_value='',
            description='Inference device (auto, cpu, cuda, cuda:N); empty: the params '
                        "file's device"),
        DeclareLaunchArgument(
            'use_sim_time', default_value='', choices=['', 'true', 'false'],
            description='Follow /clock (true in simulation); empty: the params file decides'),
        DeclareLaunchArgument(
            'with_action', default_value='true', choices=['true', 'false'],
            description='Start action_node; false runs perception only and never moves the '
                        'robot'),
        DeclareLaunchArgument(
            'command', default_value='',
            description="A command to run at start-up, e.g. 'go to the blue box'; empty: "
                        'wait for one on the command topic'),
        declare_respawn_argument(),
        OpaqueFunction(function=_nodes),
    ])
