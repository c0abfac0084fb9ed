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
Node parameters as ROS tools see them, through the same services `ros2 param` calls.

Every numeric parameter of every node declares its range and a fixed type in its
ParameterDescriptor (`ros2 param describe` shows both); an integer given for a float
parameter is taken as that float, at start-up and at run time, and the type never changes;
values out of range, of another type or not finite are refused with the reason.
"""

import math

from clip_grounding_ros.core.contract.parameters import parameter_specs, ParamSpec
from clip_grounding_ros.core.perception.pipeline import PerceptionConfig
from clip_grounding_ros.core.world.camera import MountConfig
from clip_grounding_ros.nodes import action_node, camera_node, grounding_node
from clip_grounding_ros.nodes.action_node import ActionNode
from clip_grounding_ros.nodes.camera_node import CameraNode
from clip_grounding_ros.nodes.common import ConfigError
from clip_grounding_ros.nodes.parameters import parameter_descriptor
from clip_grounding_ros.sim import sim_node
import pytest
from rcl_interfaces.msg import ParameterType
from rcl_interfaces.srv import DescribeParameters, GetParameters, SetParameters
import rclpy

NODE_MODULES = (camera_node, grounding_node, action_node, sim_node)
TYPES = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
         float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}


def _all_specs():
    return [(module.__name__.rsplit('.')[-1], spec)
            for module in NODE_MODULES for spec in module.PARAMS]


@pytest.mark.parametrize('node, spec', _all_specs(), ids=lambda v: getattr(v, 'name', v))
def test_every_parameter_has_a_description_a_fixed_type_and_numbers_a_range(node, spec):
    descriptor = parameter_descriptor(spec)
    assert descriptor.description and descriptor.name == spec.name
    if spec.kind in TYPES:
        assert descriptor.type == TYPES[spec.kind]
    assert not descriptor.dynamic_typing
    if spec.kind is float:
        (bounds,) = descriptor.floating_point_range
        assert math.isfinite(bounds.from_value) and math.isfinite(bounds.to_value)
        assert bounds.from_value <= spec.default <= bounds.to_value
    elif spec.kind is int:
        (bounds,) = descriptor.integer_range
        assert bounds.from_value <= spec.default <= bounds.to_value
    if spec.choices:
        assert spec.default in spec.choices and 'one of' in descriptor.additional_constraints


def test_param_spec_names_each_kind_of_problem():
    spec = ParamSpec('rate', 5.0, 'rate', minimum=0.5, maximum=10.0)
    assert spec.problems(7) == [] and spec.coerce(7) == 7.0 and isinstance(spec.coerce(7), float)
    assert spec.problems(20.0) == ['rate 20.0 is outside its range [0.5, 10]']
    assert spec.problems(math.nan) == ['rate must be a finite number, got nan']
    assert spec.problems('fast') == ["rate must be of type float, got 'fast'"]
    assert spec.problems(True) == ['rate must be of type float, got True']
    choice = ParamSpec('mode', 'a', 'mode', choices=('a', 'b'))
    assert choice.problems('c') == ["mode 'c' is not one of: a, b"]
    assert ParamSpec('items', ('x',), 'items').coerce(['y', 'z']) == ('y', 'z')


def test_config_dataclasses_validate_with_their_specs():
    assert [s.name for s in parameter_specs(PerceptionConfig)][:2] == \
        ['lost_timeout', 'image_timeout']
    with pytest.raises(ValueError, match=r'camera_z 0.0 is outside its range'):
        MountConfig(camera_z=0.0)
    assert MountConfig(camera_x=1).camera_x == 1.0


class Services:
    """The parameter services of one node, called as `ros2 param` does."""

    def __init__(self, ros, node_name: str):
        self.ros = ros
        make = ros.probe.create_client
        self.describe = make(DescribeParameters, f'/{node_name}/describe_parameters')
        self.get = make(GetParameters, f'/{node_name}/get_parameters')
        self.set = make(SetParameters, f'/{node_name}/set_parameters')
        for client in (self.describe, self.get, self.set):
            assert ros.spin_until(client.service_is_ready)

    def call(self, client, request):
        future = client.call_async(request)
        assert self.ros.spin_until(future.done)
        return future.result()

    def set_value(self, name, value):
        return self.call(self.set, SetParameters.Request(parameters=[
            rclpy.Parameter(name, value=value).to_parameter_msg()])).results[0]

    def value(self, name):
        (value,) = self.call(self.get, GetParameters.Request(names=[name])).values
        return value


def test_ros2_param_describe_shows_type_and_range(ros):
    ros.start(ActionNode)
    services = Services(ros, 'action_node')
    (descriptor,) = services.call(services.describe, DescribeParameters.Request(
        names=['max_linear'])).descriptors
    assert descriptor.type == ParameterType.PARAMETER_DOUBLE
    assert (descriptor.floating_point_range[0].from_value,
            descriptor.floating_point_range[0].to_value) == (0.01, 10.0)
    assert 'Speed limit' in descriptor.description


def test_integer_for_a_float_parameter_stays_a_float_at_start_and_at_run_time(ros):
    node = ros.start(ActionNode, max_linear=1, stop_distance=2)  # integers, as YAML `1`
    assert node.get_parameter('max_linear').type_ == rclpy.Parameter.Type.DOUBLE
    assert node.controller.config.max_linear == 1.0
    services = Services(ros, 'action_node')
    assert services.set_value('max_linear', 2).successful
    value = services.value('max_linear')
    assert (value.type, value.double_value) == (ParameterType.PARAMETER_DOUBLE, 2.0)
    assert ros.spin_until(lambda: node.controller.config.max_linear == 2.0)


@pytest.mark.parametrize('name, value, reason', [
    ('max_linear', 50.0, 'out of range'),
    ('max_linear', math.nan, 'out of range'),
    ('max_linear', 'fast', 'Wrong parameter type'),
    ('min_linear', 0.5, 'min_linear 0.5 exceeds max_linear 0.4'),
    ('base_frame', '', 'base_frame must not be empty'),
])
def test_run_time_change_is_refused_with_the_reason_and_changes_nothing(ros, name, value,
                                                                        reason):
    node = ros.start(ActionNode)
    services = Services(ros, 'action_node')
    before = node.controller.config
    result = services.set_value(name, value)
    assert result.successful is False and reason in result.reason
    ros.spin_for(0.2)
    assert node.controller.config == before
    assert services.value('max_linear').type == ParameterType.PARAMETER_DOUBLE


def test_choices_are_checked_at_start_up(ros):
    with pytest.raises(ConfigError, match="input 'magic' is not one of: raw, compressed, opencv"):
        ros.start(CameraNode, input='magic')
