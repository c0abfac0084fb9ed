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
What the package's launch files share: parameter overrides and the nodes' supervision.

A params file is the authoritative configuration of a node. A launch argument that stands for
a parameter therefore defaults to '' and changes nothing until it is given; only then does it
override the params file's value.

Every node a launch file starts is required: when one exits, the launch ends with a message
that names it, instead of leaving half a pipeline running. With ``respawn:=true`` a node that
dies is started again instead, unless it exited with the configuration-error status, which a
restart cannot mend. Needs launch and launch_ros (a ROS 2 installation), imported where used.
"""

from __future__ import annotations

from collections.abc import Mapping

# A node's exit status for a start-up configuration error (nodes.common.run_node).
CONFIG_ERROR_EXIT = 2
RESPAWN_DELAY_S = 2.0
SIGTERM_TIMEOUT_S = '20'

# parameter name -> (launch argument, the parameter's type, or {argument value: parameter value})
Overrides = Mapping[str, tuple[str, type | Mapping[str, str]]]


def given_parameters(context, overrides: Overrides) -> dict:
    """
    Return the parameters of ``overrides`` whose launch argument is not empty.

    Values are typed explicitly: launch_ros would otherwise read a string parameter as YAML,
    turning command:=yes into a bool that the node then rejects.
    """
    from launch.substitutions import LaunchConfiguration
    from launch_ros.parameter_descriptions import ParameterValue

    parameters = {}
    for name, (argument, kind) in overrides.items():
        value = LaunchConfiguration(argument)
        text = value.perform(context)
        if not text:
            continue
        if isinstance(kind, Mapping):  # DeclareLaunchArgument(choices=...) validated it
            parameters[name] = ParameterValue(kind[text], value_type=str)
        else:  # coerced from the substitution's text when the node starts
            parameters[name] = ParameterValue(value, value_type=kind)
    return parameters


def exit_ends_launch(returncode: int | None, respawn: bool) -> bool:
    """
    Tell whether a required node's exit ends the launch.

    Always without respawn, and with it when the node refused its configuration (restarting it
    would fail the same way).
    """
    return not respawn or returncode == CONFIG_ERROR_EXIT


def required_node(context, **node_arguments) -> list:
    """
    Make a launch_ros Node whose exit ends the launch, and the event handler for it.

    Or a node that is respawned, with the ``respawn`` launch argument true.
    """
    from launch.actions import LogInfo, RegisterEventHandler, Shutdown
    from launch.event_handlers import OnProcessExit
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    respawn = LaunchConfiguration('respawn').perform(context) == 'true'
    # A node's interpreter can take seconds to exit after its own clean shutdown (torch's
    # clean-up on a loaded CPU): launch's default 5 s before SIGTERM is too short for that.
    node = Node(respawn=respawn, respawn_delay=RESPAWN_DELAY_S,
                sigterm_timeout=SIGTERM_TIMEOUT_S, **node_arguments)
    name = node_arguments['name']

    def on_exit(event, exit_context):
        if exit_context.is_shutdown or not exit_ends_launch(event.returncode, respawn):
            return None  # already ending (Ctrl-C), or respawned
        why = ('its configuration is invalid (see its log above)'
               if event.returncode == CONFIG_ERROR_EXIT else f'exit code {event.returncode}')
        reason = f'{name} exited ({why}); the pipeline cannot run without it: ending the launch'
        return [LogInfo(msg=reason), Shutdown(reason=reason)]

    return [node, RegisterEventHandler(OnProcessExit(target_action=node, on_exit=on_exit))]


def large_frames_transport():
    """
    Set the nodes' Fast DDS profile to the package's (config/fastdds.xml), unless one is set.

    The nodes this launch starts then pass camera frames larger than 512 KB over shared
    memory instead of UDP fragments (see clip_grounding_ros.dds); a profile the user named in
    FASTDDS_DEFAULT_PROFILES_FILE is kept. Other RMW implementations ignore the variable.
    """
    from launch.actions import SetEnvironmentVariable
    from launch.substitutions import EnvironmentVariable, PathJoinSubstitution
    from launch_ros.substitutions import FindPackageShare

    from .dds import PROFILE_RESOURCE, PROFILE_VARIABLE

    profile = PathJoinSubstitution([FindPackageShare('clip_grounding_ros'),
                                    *PROFILE_RESOURCE.split('/')])
    return SetEnvironmentVariable(PROFILE_VARIABLE,
                                  EnvironmentVariable(PROFILE_VARIABLE, default_value=profile))


def declare_respawn_argument():
    from launch.actions import DeclareLaunchArgument

    return DeclareLaunchArgument(
        'respawn', default_value='false', choices=['true', 'false'],
        description='true: restart a node that dies (after 2 s; not one whose configuration '
                    'is invalid); false: end the whole launch when any node exits')
