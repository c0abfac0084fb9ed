"""What the package's launch files share: launch arguments that override node parameters.

A params file is the authoritative configuration of a node. A launch argument that stands for
a parameter therefore defaults to '' and changes nothing until it is given; only then does it
override the params file's value. Needs launch and launch_ros (a ROS 2 installation).
"""

from __future__ import annotations

from collections.abc import Mapping

from launch import LaunchContext
from launch.substitutions import LaunchConfiguration
from launch_ros.parameter_descriptions import ParameterValue

# parameter name -> (launch argument, the parameter's type, or {argument value: parameter value})
Overrides = Mapping[str, tuple[str, type | Mapping[str, str]]]


def given_parameters(context: LaunchContext, overrides: Overrides) -> dict[str, ParameterValue]:
    """The parameters of ``overrides`` whose launch argument is not empty.

    Values are typed explicitly: launch_ros would otherwise read a string parameter as YAML,
    turning command:=yes into a bool that the node then rejects.
    """
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
