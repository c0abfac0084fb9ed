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
JSON messages between the nodes: one strict format, typed both ways.

Topics that carry JSON (std_msgs/String) carry one object described by a dataclass: the
statuses (:mod:`.status`), the command relay (:class:`CommandRelay`) and the simulator's
ground truth (:class:`GroundTruth`). Producers build the dataclass and send
:meth:`JsonMessage.to_json`; consumers call :meth:`JsonMessage.from_json`, which checks the
schema version and turns every enum-typed field back into its enum, so no node reads
another's JSON by key.

The JSON is strict (RFC 8259): a non-finite number (NaN, inf) is written as null, never as
the bare ``NaN`` that Python's json module would emit and other parsers reject.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
import functools
import json
import math
import types
import typing
from typing import Any, ClassVar

# Bumped when a field changes meaning or is removed; adding a field keeps the version
# (readers ignore fields they do not know, and missing fields take their defaults).
SCHEMA_VERSION = 1


class MessageError(ValueError):
    """
    A JSON message that cannot be trusted.

    Not strict JSON, not an object, another schema version, or an unknown enum value.
    """


def strict_json_value(value: Any) -> Any:
    """
    Return ``value`` made strict-JSON-safe.

    Every non-finite float replaced by None (JSON has no NaN or inf), tuples as lists and enums as
    their values.
    """
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): strict_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json_value(v) for v in value]
    return value


def dumps_strict(payload: Any) -> str:
    """
    Dump compact strict JSON (see :func:`strict_json_value`).

    Raises ValueError if anything non-finite were left, which cannot happen after the replacement.
    """
    return json.dumps(strict_json_value(payload), separators=(',', ':'), allow_nan=False)


def _reject_constant(name: str):
    raise ValueError(f'{name} is not JSON')


@functools.cache
def _enum_fields(cls: type) -> dict[str, tuple[type[Enum], bool]]:
    """Return the enum-typed fields of a message dataclass: (enum, whether None is allowed)."""
    hints, found = typing.get_type_hints(cls), {}
    for name in (f.name for f in dataclasses.fields(cls)):
        kind = hints[name]
        options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
        enums = [o for o in options if isinstance(o, type) and issubclass(o, Enum)]
        if enums:
            found[name] = (enums[0], type(None) in options)
    return found


@dataclass
class JsonMessage:
    """The strict JSON round trip every message dataclass shares."""

    # Fields a message must carry (a status without a state cannot be acted on).
    REQUIRED: ClassVar[tuple[str, ...]] = ()

    def to_json(self) -> str:
        payload = {'schema': SCHEMA_VERSION}
        payload.update({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        return dumps_strict(payload)

    @classmethod
    def from_json(cls, text: str):
        """Parse one message; raises :class:`MessageError` when it cannot be trusted."""
        try:
            payload = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, TypeError) as error:
            raise MessageError(f'{cls.__name__} is not strict JSON: {error}') from None
        if not isinstance(payload, dict):
            raise MessageError(f'{cls.__name__} is not a JSON object')
        if payload.get('schema') != SCHEMA_VERSION:
            raise MessageError(f"{cls.__name__} schema {payload.get('schema')!r} is not the "
                               f'supported version {SCHEMA_VERSION}')
        for name, (kind, optional) in _enum_fields(cls).items():
            if name not in payload and name not in cls.REQUIRED:
                continue  # its default
            value = payload.get(name)
            if value is None and optional:
                continue
            try:
                payload[name] = kind(value)
            except ValueError:
                raise MessageError(f'unknown {cls.__name__} {name} {value!r}') from None
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in payload.items() if k in names})


@dataclass
class CommandRelay(JsonMessage):
    """
    ``command/relay``: a command one node heard, passed on to the others.

    ``key`` identifies the original publication (publisher GID and sequence number), so each
    node acts on it once whichever way it arrives; None where the ROS distribution gives no
    publication identity.
    """

    text: str = ''
    key: str | None = None


@dataclass
class GroundTruth(JsonMessage):
    """
    ``sim/ground_truth``: where the simulated robot and objects truly are, and what it touched.

    ``robot`` is (x, y, yaw) in the world frame (m, rad); ``distances`` maps each object's
    name to the robot's distance from its surface (m); ``positions`` maps each object's name
    to where its centre stands now, [x, y] in the world frame (m): the scene's position for
    a static object, the current one for a moving one (empty from a simulator older than
    moving objects); ``touched`` names the objects the robot has touched since the start;
    ``time`` is the simulated time (s).
    """

    time: float = 0.0
    scene: str = ''
    robot: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    distances: dict[str, float] = field(default_factory=dict)
    touched: list[str] = field(default_factory=list)
    positions: dict[str, list[float]] = field(default_factory=dict)
