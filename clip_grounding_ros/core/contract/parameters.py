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
Node parameters as plain data: name, default, description, type, range and choices.

One declaration serves three readers: the core configuration dataclasses validate their
values with it (:func:`check_settings`), the nodes declare ROS parameters from it (with the
range in the descriptor, so `ros2 param describe` shows it), and the tests check that the
params files list every parameter with its default.

A config dataclass field becomes a parameter with :func:`setting`; parameters that belong to
a node only (its rate, frames, model) are :class:`ParamSpec` values in the node module. A
choice among fixed values is an enum: its default is an enum member, the ROS parameter is its
string value, and the configuration holds the member, so code compares members, never
strings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
import math
from typing import Any


@dataclass(frozen=True)
class ParamSpec:
    """
    One parameter, its bounds or choices, and whether it is read-only.

    ``minimum``/``maximum`` bound numbers (inclusive); ``choices`` list the allowed strings
    (an enum default allows its members' values, see :attr:`allowed`); ``read_only``
    parameters need a restart to change.
    """

    name: str
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    read_only: bool = False

    @property
    def enum(self) -> type[Enum] | None:
        """Return the enum of a choice parameter whose default is an enum member, else None."""
        return type(self.default) if isinstance(self.default, Enum) else None

    @property
    def kind(self) -> type:
        """Return the parameter's fixed type: bool, int, float, str, or tuple (an array)."""
        if self.enum is not None:
            return str
        return tuple if isinstance(self.default, (list, tuple)) else type(self.default)

    @property
    def allowed(self) -> tuple[str, ...]:
        """Return the strings the parameter may take (empty: any of its type)."""
        if self.enum is not None:
            return tuple(member.value for member in self.enum)
        return self.choices

    @property
    def plain_default(self) -> Any:
        """Return the default as ROS and YAML take it: an enum as its value, arrays as lists."""
        return plain(self.default)

    @property
    def constraints(self) -> str:
        """Say the range and choices in words, for descriptions and error messages."""
        parts = []
        if self.minimum is not None or self.maximum is not None:
            parts.append(f'range [{_text(self.minimum, "-inf")}, {_text(self.maximum, "inf")}]')
        if self.allowed:
            parts.append('one of: ' + ', '.join(self.allowed))
        return '; '.join(parts)

    def coerce(self, value: Any) -> Any:
        """
        Return ``value`` as this parameter's type; ValueError when it is of another type.

        An integer for a float parameter becomes that float; arrays become tuples; the value of
        an enum's member becomes the member (ValueError for another string).
        """
        if self.enum is not None and isinstance(value, str):
            try:
                return self.enum(value)
            except ValueError:
                raise ValueError(f"{self.name} '{value}' is not {self.constraints}") from None
        kind = self.kind
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if kind is tuple and isinstance(value, (list, tuple)):
            return tuple(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f'{self.name} must be of type {kind.__name__}, got {value!r}')
        return value

    def problems(self, value: Any) -> list[str]:
        """Why ``value`` is not acceptable (empty when it is)."""
        try:
            value = self.coerce(value)
        except ValueError as error:
            return [str(error)]
        if isinstance(value, float) and not math.isfinite(value):
            return [f'{self.name} must be a finite number, got {value}']
        if (self.minimum is not None and value < self.minimum) or \
                (self.maximum is not None and value > self.maximum):
            return [f'{self.name} {value} is outside its {self.constraints}']
        if self.allowed and plain(value) not in self.allowed:
            return [f"{self.name} '{value}' is not {self.constraints}"]
        return []


def plain(value: Any) -> Any:
    """Return a parameter value as ROS and YAML take it: an enum as its value, arrays as lists."""
    if isinstance(value, Enum):
        return value.value
    return list(value) if isinstance(value, tuple) else value


def _text(bound: float | None, unbounded: str) -> str:
    return unbounded if bound is None else f'{bound:g}'


def setting(default: Any, description: str, *, minimum: float | None = None,
            maximum: float | None = None, choices: tuple[str, ...] = (),
            read_only: bool = False) -> Any:
    """Declare a config dataclass field that is also a node parameter of the same name."""
    spec = {'default': default, 'description': description, 'minimum': minimum,
            'maximum': maximum, 'choices': choices, 'read_only': read_only}
    return dataclasses.field(default=default, metadata={'param': spec})


def parameter_specs(config_class: type) -> tuple[ParamSpec, ...]:
    """Return the :class:`ParamSpec` of every :func:`setting` field of a config dataclass."""
    return tuple(ParamSpec(name=f.name, **f.metadata['param'])
                 for f in dataclasses.fields(config_class) if 'param' in f.metadata)


def check_settings(config: Any) -> list[str]:
    """
    Coerce a config dataclass instance's settings and return what is wrong with them.

    Coerces the :func:`setting` fields of a (frozen) config dataclass instance in place
    (:meth:`Settings.problems`).
    """
    problems = []
    for spec in parameter_specs(type(config)):
        value = getattr(config, spec.name)
        found = spec.problems(value)
        problems += found
        if not found:
            object.__setattr__(config, spec.name, spec.coerce(value))
    return problems


class Settings:
    """
    Base of the config dataclasses: a value outside its :func:`setting` spec is a ValueError.

    The values are coerced and checked on construction; a config with rules between its
    settings extends :meth:`problems`.
    """

    def problems(self) -> list[str]:
        """Return what is wrong with the values (coercing them in place)."""
        return check_settings(self)

    def __post_init__(self):
        problems = self.problems()
        if problems:
            raise ValueError('; '.join(problems))
