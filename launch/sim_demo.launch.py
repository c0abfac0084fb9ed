"""The simulated robot (sim_node, MuJoCo) and the grounding pipeline on its camera.

    ros2 launch clip_grounding_ros sim_demo.launch.py command:='go to the blue box'

sim_node publishes /clock; every other node runs on that simulated time. All nodes read
config/sim_demo.yaml, which runs the bundled simulator model on the CPU.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from clip_grounding_ros.launch_support import given_parameters

# parameter -> (launch argument, type), applied only when the argument is given.
OVERRIDES = {
    'sim_node': {
        'scene': ('scene', str),
        'realtime_factor': ('realtime_factor', float),
    },
}


def _simulator(context):
    return [Node(
        package='clip_grounding_ros', executable='sim_node', name='sim_node', output='screen',
        # The simulator is the clock: it never waits for /clock itself.
        parameters=[LaunchConfiguration('params_file'), {'use_sim_time': False},
                    given_parameters(context, OVERRIDES['sim_node'])])]


def generate_launch_description():
    share = FindPackageShare('clip_grounding_ros')
    return LaunchDescription([
        DeclareLaunchArgument(
            'params_file', default_value=PathJoinSubstitution([share, 'config', 'sim_demo.yaml']),
            description='Parameters of sim_node and the pipeline nodes'),
        DeclareLaunchArgument(
            'scene', default_value='',
            description="Scene: boxes, mixed, a scene YAML file or random:<seed>; empty: the "
                        "params file's scene"),
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
        OpaqueFunction(function=_simulator),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(
                PathJoinSubstitution([share, 'launch', 'grounding.launch.py'])),
            launch_arguments={
                'params_file': LaunchConfiguration('params_file'),
                'model': LaunchConfiguration('model'),
                'command': LaunchConfiguration('command'),
                'use_sim_time': 'true',
            }.items()),
    ])
