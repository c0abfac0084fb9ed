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
ROS parameters from the package's declarations (core.contract.parameters).

Each :class:`..core.contract.parameters.ParamSpec` becomes a declared parameter with its type,
description, range and choices (so ``ros2 param describe`` shows them); values are read back
coerced (enums as their members); run-time changes are validated, then applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import math
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
    SetParametersResult,
)
import rclpy
from rclpy.node import Node

from .common import ConfigError
from ..core.contract.parameters import parameter_specs, ParamSpec


def parameter_descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """Make the ROS descriptor of ``spec``: fixed type, description, range, read-only."""
    descriptor = ParameterDescriptor(
        name=spec.name, type=_PARAMETER_TYPES[spec.kind] if spec.kind is not tuple else
        _array_type(spec.default), description=spec.description, read_only=spec.read_only,
        additional_constraints=spec.constraints)
    if spec.kind is float and (spec.minimum is not None or spec.maximum is not None):
        descriptor.floating_point_range = [FloatingPointRange(
            from_value=float(-math.inf if spec.minimum is None else spec.minimum),
            to_value=float(math.inf if spec.maximum is None else spec.maximum), step=0.0)]
    elif spec.kind is int and (spec.minimum is not None or spec.maximum is not None):
        descriptor.integer_range = [IntegerRange(
            from_value=int(-2**63 if spec.minimum is None else spec.minimum),
            to_value=int(2**63 - 1 if spec.maximum is None else spec.maximum), step=1)]
    return descriptor


_PARAMETER_TYPES = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
                    float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}


def _array_type(default) -> int:
    return rclpy.Parameter.Type.from_parameter_value(list(default) or ['']).value


def declare_parameters(node: Node, specs: Sequence[ParamSpec]) -> dict[str, Any]:
    """
    Declare ``specs`` with their descriptors and return the values, coerced to their types.

    Types are fixed. A params file or ``-p`` giving an integer for a float parameter
    (``rate_hz: 5``) is taken as that float: rclpy offers no public way to read an override
    before declaring it, so its table of overrides is coerced here; a value of another
    type, out of range or not among its choices is a ConfigError naming the parameter and
    what it accepts.
    """
    overrides = getattr(node, '_parameter_overrides', {})
    for spec in specs:
        given = overrides.get(spec.name)
        if given is not None:
            problems = spec.problems(given.value)
            if problems:
                raise ConfigError('; '.join(problems))
            if spec.kind is float and given.type_ == rclpy.Parameter.Type.INTEGER:
                overrides[spec.name] = rclpy.Parameter(spec.name, value=float(given.value))
        default = spec.plain_default
        try:
            node.declare_parameter(spec.name, default, parameter_descriptor(spec))
        except Exception as error:  # noqa: BLE001 - rclpy raises several types here
            constraint = f' ({spec.constraints})' if spec.constraints else ''
            raise ConfigError(f"parameter '{spec.name}'{constraint}: {error}") from None
    return parameter_values(node, specs)


def parameter_values(node: Node, specs: Sequence[ParamSpec],
                     changes: Sequence[rclpy.Parameter] = ()) -> dict[str, Any]:
    """Return the current values, with pending ``changes`` applied; arrays as tuples."""
    values = {spec.name: node.get_parameter(spec.name).value for spec in specs}
    values.update({change.name: change.value for change in changes if change.name in values})
    for spec in specs:
        problems = spec.problems(values[spec.name])
        if problems:
            raise ConfigError('; '.join(problems))
        values[spec.name] = spec.coerce(values[spec.name])
    return values


def watch_parameters(node: Node, specs: Sequence[ParamSpec],
                     configure: Callable[[dict[str, Any]], Any],
                     apply: Callable[[Any], None]) -> None:
    """
    Validate and apply parameter changes made at run time (``ros2 param set``).

    Two steps, as ROS 2 intends: the set callback validates (``configure`` builds the new
    configuration from all values, raising ValueError for an invalid one, which refuses the
    change with that message); the post-set callback applies it once the values are stored
    (Humble has no post-set callbacks: there it is applied in the set callback). An integer
    set on a float parameter is converted in the pre-set callback (Iron and later), so its
    type never changes.
    """
    names = {spec.name for spec in specs}
    floats = {spec.name for spec in specs if spec.kind is float}
    pending = []

    def to_float(changes: list[rclpy.Parameter]) -> list[rclpy.Parameter]:
        return [rclpy.Parameter(c.name, value=float(c.value))
                if c.name in floats and c.type_ == rclpy.Parameter.Type.INTEGER else c
                for c in changes]

    def on_set(changes: list[rclpy.Parameter]) -> SetParametersResult:
        if not any(change.name in names for change in changes):
            return SetParametersResult(successful=True)
        try:
            configuration = configure(parameter_values(node, specs, to_float(changes)))
        except ValueError as error:
            return SetParametersResult(successful=False, reason=str(error))
        if post_set_available:
            pending.append(configuration)
        else:
            apply(configuration)
        return SetParametersResult(successful=True)

    def on_post_set(changes: list[rclpy.Parameter]) -> None:
        while pending:
            apply(pending.pop(0))

    post_set_available = hasattr(node, 'add_post_set_parameters_callback')
    if hasattr(node, 'add_pre_set_parameters_callback'):
        node.add_pre_set_parameters_callback(to_float)
    node.add_on_set_parameters_callback(on_set)
    if post_set_available:
        node.add_post_set_parameters_callback(on_post_set)


def make_configs(values: dict[str, Any], *kinds: type) -> tuple:
    """
    Return one configuration of each dataclass in ``kinds``, from the parameter ``values``.

    Each takes the values of its own :func:`..core.contract.parameters.setting` fields;
    ConfigError (naming the parameter) when they do not fit together.
    """
    try:
        return tuple(kind(**{spec.name: values[spec.name] for spec in parameter_specs(kind)})
                     for kind in kinds)
    except ValueError as error:
        raise ConfigError(str(error)) from None
