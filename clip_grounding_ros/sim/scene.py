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
Scene descriptions for the simulated world: what stands where, in which colour.

A scene is plain data (frozen dataclasses) so that the simulator, the training-data renderer and
the benchmarks share one validated description, loadable from YAML or generated from a seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
import math
import numbers
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..resources import share_dirs

# The single definition of the object colours; training code builds its prompts from this dict.
# Saturated and far apart in hue/brightness so they stay distinguishable under shading.
COLORS: dict[str, tuple[float, float, float]] = {
    'red': (0.85, 0.08, 0.08),
    'green': (0.10, 0.65, 0.15),
    'blue': (0.10, 0.25, 0.90),
    'yellow': (0.95, 0.85, 0.10),
    'orange': (1.00, 0.45, 0.00),
    'purple': (0.50, 0.12, 0.70),
    'white': (0.95, 0.95, 0.95),
    'black': (0.04, 0.04, 0.04),
}
SHAPES = ('box', 'sphere', 'cylinder')
SIZE_FIELDS = {
    'box': ('hx', 'hy', 'hz'),
    'sphere': ('radius',),
    'cylinder': ('radius', 'half_height'),
}

# Footprint of the simulated robot base; scenes must keep objects clear of its start pose.
ROBOT_RADIUS = 0.18
# The words people use for the simulator's colours and shapes: the training grammar's
# vocabulary, and how a command's phrase is matched to scene objects.
SHAPE_WORDS = {'box': ('box', 'cube', 'crate', 'block'),
               'sphere': ('sphere', 'ball', 'orb'),
               'cylinder': ('cylinder', 'can', 'tube', 'pillar')}
COLOR_WORDS = {name: (name,) for name in COLORS} | {'purple': ('purple', 'violet')}


class SceneError(ValueError):
    """A scene description is invalid; the message names the file and the offending field."""


@dataclass(frozen=True)
class SceneObject:
    """
    One static object resting on the floor.

    `size` depends on `shape`: box -> half extents (hx, hy, hz); sphere -> (radius,);
    cylinder -> (radius, half_height). `position` is (x, y) on the floor in the world frame.
    """

    name: str
    shape: str
    color: str
    size: tuple[float, ...]
    position: tuple[float, float]
    yaw: float = 0.0

    def __post_init__(self) -> None:
        where = f'object {self.name!r}'
        if not isinstance(self.name, str) or not self.name:
            raise SceneError(f'{where}: name must be a non-empty string')
        # Coerce lists/ints from YAML so equality and hashing behave like plain tuples of floats.
        _coerce(self, 'size', _floats, where)
        _coerce(self, 'position', _floats, where)
        _coerce(self, 'yaw', _float, where)
        if self.shape not in SHAPES:
            raise SceneError(
                f"{where}: shape: unknown shape {self.shape!r}; known shapes: {', '.join(SHAPES)}"
            )
        if self.color not in COLORS:
            raise SceneError(
                f'{where}: color: unknown colour {self.color!r}; '
                f"known colours: {', '.join(COLORS)}"
            )
        expected = SIZE_FIELDS[self.shape]
        if len(self.size) != len(expected):
            raise SceneError(
                f'{where}: size: a {self.shape} needs {len(expected)} size value(s) '
                f"({', '.join(expected)}), got {len(self.size)}"
            )
        if any(not s > 0.0 for s in self.size):
            raise SceneError(f'{where}: size: all sizes must be positive, got {list(self.size)}')
        if len(self.position) != 2:
            raise SceneError(f'{where}: position: expected [x, y], got {list(self.position)}')

    @property
    def height(self) -> float:
        """Full height above the floor."""
        half_heights = {'box': self.size[-1], 'sphere': self.size[0], 'cylinder': self.size[-1]}
        return 2.0 * half_heights[self.shape]

    @property
    def footprint_radius(self) -> float:
        """Radius of the smallest circle around the floor footprint (spacing/overlap checks)."""
        if self.shape == 'box':
            return math.hypot(self.size[0], self.size[1])
        return self.size[0]

    @property
    def phrase(self) -> str:
        """Return the natural-language name a user would say, e.g. "blue box"."""
        return f'{self.color} {self.shape}'

    def surface_distance(self, x: float, y: float) -> float:
        """
        Horizontal distance from (x, y) to the object's footprint (0 inside it).

        Boxes use the exact rotated rectangle; round shapes their circle.
        """
        dx, dy = x - self.position[0], y - self.position[1]
        if self.shape != 'box':
            return max(math.hypot(dx, dy) - self.size[0], 0.0)
        cos_yaw, sin_yaw = math.cos(self.yaw), math.sin(self.yaw)
        local_x = cos_yaw * dx + sin_yaw * dy
        local_y = -sin_yaw * dx + cos_yaw * dy
        return math.hypot(
            max(abs(local_x) - self.size[0], 0.0), max(abs(local_y) - self.size[1], 0.0)
        )


@dataclass(frozen=True)
class Light:
    """Scene lighting: one directional light plus ambient and the camera headlight (0..1)."""

    direction: tuple[float, float, float] = (0.3, 0.2, -1.0)
    intensity: float = 0.6
    ambient: float = 0.25
    headlight: float = 0.3

    def __post_init__(self) -> None:
        _coerce(self, 'direction', _floats, 'light')
        for knob in ('intensity', 'ambient', 'headlight'):
            _coerce(self, knob, _float, 'light')
            if getattr(self, knob) < 0.0:
                raise SceneError(f'light: {knob}: must not be negative')
        if len(self.direction) != 3 or self.direction[2] >= 0.0:
            raise SceneError(
                f'light: direction: expected [x, y, z] pointing down (z < 0), got {self.direction}'
            )


def _float(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise SceneError(f'{what}: expected a finite number, got {value!r}')
    return float(value)


def _floats(value: Any, what: str) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)):
        raise SceneError(f'{what}: expected a list of numbers, got {value!r}')
    return tuple(_float(item, what) for item in value)


def _rgb(value: Any, what: str) -> tuple[float, ...]:
    rgb = _floats(value, what)
    if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):
        raise SceneError(f'{what}: expected three values in [0, 1], got {list(value)}')
    return rgb


def _coerce(instance: Any, attribute: str, convert: Any, where: str) -> None:
    """Normalise a field of a frozen dataclass in __post_init__, naming it in errors."""
    what = f'{where}: {attribute}' if where else attribute
    value = convert(getattr(instance, attribute), what)
    object.__setattr__(instance, attribute, value)


@dataclass(frozen=True)
class Scene:
    """A square room (walls at +-room_size/2) with static objects and a robot start pose."""

    name: str
    objects: tuple[SceneObject, ...]
    robot_start: tuple[float, float, float] = (0.0, 0.0, 0.0)
    room_size: float = 10.0
    light: Light = field(default_factory=Light)
    floor_rgb: tuple[float, float, float] = (0.5, 0.5, 0.5)
    wall_rgb: tuple[float, float, float] = (0.85, 0.80, 0.70)

    def __post_init__(self) -> None:
        object.__setattr__(self, 'objects', tuple(self.objects))
        for attribute, convert in (
            ('robot_start', _floats),
            ('room_size', _float),
            ('floor_rgb', _rgb),
            ('wall_rgb', _rgb),
        ):
            _coerce(self, attribute, convert, '')
        if len(self.robot_start) != 3:
            raise SceneError(f'robot_start: expected x, y, yaw, got {self.robot_start}')
        if not self.room_size > 2.0 * ROBOT_RADIUS:
            raise SceneError(f'room_size: must exceed the robot diameter, got {self.room_size}')
        half = self.room_size / 2.0
        start_x, start_y, _ = self.robot_start
        if max(abs(start_x), abs(start_y)) + ROBOT_RADIUS > half:
            raise SceneError(f'robot_start: robot at ({start_x}, {start_y}) is outside the room')
        seen: set[str] = set()
        for obj in self.objects:
            if obj.name in seen:
                raise SceneError(f'objects: duplicate name {obj.name!r}')
            seen.add(obj.name)
            x, y = obj.position
            if max(abs(x), abs(y)) + obj.footprint_radius > half:
                raise SceneError(
                    f'object {obj.name!r}: position: ({x}, {y}) is outside the room '
                    f'(walls at +-{half} m)'
                )
            if math.hypot(x - start_x, y - start_y) < obj.footprint_radius + ROBOT_RADIUS:
                raise SceneError(f'object {obj.name!r}: position: overlaps the robot start')
        for i, first in enumerate(self.objects):
            for second in self.objects[i + 1:]:
                gap = math.dist(first.position, second.position)
                if gap < first.footprint_radius + second.footprint_radius:
                    raise SceneError(
                        f'object {first.name!r}: position: overlaps object {second.name!r}'
                    )

    def object(self, name: str) -> SceneObject:  # noqa: A003
        """Return the object called `name` (KeyError listing the known names otherwise)."""
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise KeyError(f'no object {name!r} in scene {self.name!r}; known: {self.object_names}')

    @property
    def object_names(self) -> list[str]:
        return [obj.name for obj in self.objects]

    def objects_matching(
        self, color: str | None = None, shape: str | None = None
    ) -> tuple[SceneObject, ...]:
        """Objects with the given colour and/or shape (None matches anything)."""
        return tuple(
            obj
            for obj in self.objects
            if (color is None or obj.color == color) and (shape is None or obj.shape == shape)
        )

    def objects_named(self, phrase: str) -> tuple[SceneObject, ...]:
        """
        Return the objects a phrase such as "blue crate" or "the red ball" refers to.

        Synonyms are understood; empty when it names no colour or shape of this world.
        """
        words = set(phrase.lower().replace(',', ' ').split())
        colors = [c for c, names in COLOR_WORDS.items() if words & set(names)]
        shapes = [s for s, names in SHAPE_WORDS.items() if words & set(names)]
        if not colors and not shapes:
            return ()
        return tuple(obj for obj in self.objects
                     if (not colors or obj.color in colors)
                     and (not shapes or obj.shape in shapes))


OBJECT_REQUIRED = ('name', 'shape', 'color', 'size', 'position')
OBJECT_OPTIONAL = ('yaw',)
SCENE_REQUIRED = ('name', 'objects')
SCENE_OPTIONAL = ('robot_start', 'room_size', 'light', 'floor_rgb', 'wall_rgb')


def _check_keys(
    entry: Any, required: tuple[str, ...], optional: tuple[str, ...], where: str
) -> None:
    if not isinstance(entry, dict):
        raise SceneError(f'{where}: expected a mapping, got {type(entry).__name__}')
    missing = [key for key in required if key not in entry]
    if missing:
        raise SceneError(f"{where}: missing required field(s): {', '.join(missing)}")
    unknown = sorted(set(entry) - set(required) - set(optional))
    if unknown:
        raise SceneError(
            f"{where}: unknown field(s): {', '.join(map(str, unknown))}; "
            f"allowed: {', '.join(required + optional)}"
        )


def scene_from_dict(data: Any) -> Scene:
    """Build and validate a Scene from the YAML structure documented in boxes.yaml."""
    _check_keys(data, SCENE_REQUIRED, SCENE_OPTIONAL, 'scene')
    if not isinstance(data['objects'], list):
        raise SceneError('objects: expected a list of objects')
    objects = []
    for index, entry in enumerate(data['objects']):
        _check_keys(entry, OBJECT_REQUIRED, OBJECT_OPTIONAL, f'objects[{index}]')
        objects.append(SceneObject(**entry))
    kwargs: dict[str, Any] = {'name': str(data['name']), 'objects': tuple(objects)}
    if 'robot_start' in data:
        start = data['robot_start']
        _check_keys(start, ('x', 'y'), ('yaw',), 'robot_start')
        kwargs['robot_start'] = (start['x'], start['y'], start.get('yaw', 0.0))
    if 'light' in data:
        light_fields = tuple(f.name for f in fields(Light))
        _check_keys(data['light'], (), light_fields, 'light')
        kwargs['light'] = Light(**data['light'])
    for key in ('room_size', 'floor_rgb', 'wall_rgb'):
        if key in data:
            kwargs[key] = data[key]
    return Scene(**kwargs)


def scene_to_dict(scene: Scene) -> dict[str, Any]:
    """Return the YAML structure of `scene` (inverse of scene_from_dict)."""
    x, y, yaw = scene.robot_start
    light = scene.light
    return {
        'name': scene.name,
        'room_size': scene.room_size,
        'robot_start': {'x': x, 'y': y, 'yaw': yaw},
        'light': {
            'direction': list(light.direction),
            'intensity': light.intensity,
            'ambient': light.ambient,
            'headlight': light.headlight,
        },
        'floor_rgb': list(scene.floor_rgb),
        'wall_rgb': list(scene.wall_rgb),
        'objects': [
            {
                'name': obj.name,
                'shape': obj.shape,
                'color': obj.color,
                'size': list(obj.size),
                'position': list(obj.position),
                'yaw': obj.yaw,
            }
            for obj in scene.objects
        ],
    }


def scene_dirs() -> list[Path]:
    """Where bare scene names are looked up: installed share directory first, then source tree."""
    return [folder / 'config' / 'scenes' for folder in share_dirs()]


def available_scenes() -> list[str]:
    """Names accepted by load_scene besides paths and "random:<seed>"."""
    return sorted({path.stem for folder in scene_dirs() for path in folder.glob('*.yaml')})


def _resolve(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix in ('.yaml', '.yml') or len(path.parts) > 1:
        if path.is_file():
            return path
        raise SceneError(f'{path}: scene file not found; available scenes: {available_scenes()}')
    for folder in scene_dirs():
        candidate = folder / f'{name_or_path}.yaml'
        if candidate.is_file():
            return candidate
    raise SceneError(
        f'unknown scene {str(name_or_path)!r}; available scenes: {available_scenes()} '
        "(or a path to a .yaml file, or 'random:<seed>')"
    )


def load_scene(name_or_path: str | Path) -> Scene:
    """Load a scene by bare name ("boxes"), YAML path, or "random:<seed>"."""
    if isinstance(name_or_path, str) and name_or_path.startswith('random:'):
        seed_text = name_or_path.removeprefix('random:')
        try:
            seed = int(seed_text)
        except ValueError:
            raise SceneError(f'random scene seed must be an integer, got {seed_text!r}') from None
        return random_scene(seed)
    path = _resolve(name_or_path)
    try:
        data = yaml.safe_load(path.read_text())
        return scene_from_dict(data)
    except yaml.YAMLError as error:
        raise SceneError(f'{path}: YAML syntax error: {error}') from None
    except SceneError as error:
        raise SceneError(f'{path}: {error}') from None


# Ranges for random scenes: sizes that a 320x240 camera sees well from 1.5-4.5 m.
RANDOM_SIZE_RANGES = {
    'box': ((0.10, 0.20), (0.10, 0.20), (0.10, 0.20)),
    'sphere': ((0.10, 0.18),),
    'cylinder': ((0.08, 0.14), (0.12, 0.25)),
}
RANDOM_BEARING = math.radians(35.0)
RANDOM_RANGE = (1.5, 4.5)
RANDOM_MIN_GAP = 0.35
RANDOM_PLACEMENT_TRIES = 1000


def random_scene(
    seed: int,
    n_objects: tuple[int, int] = (3, 6),
    colors: list[str] | tuple[str, ...] | None = None,
    shapes: list[str] | tuple[str, ...] | None = None,
) -> Scene:
    """
    Make a reproducible random scene in front of a robot at the origin facing +x.

    `n_objects` is an inclusive (min, max) range; `colors`/`shapes` restrict the choices.
    Objects keep RANDOM_MIN_GAP metres between their footprint circles.
    """
    colors = list(colors or COLORS)
    shapes = list(shapes or SHAPES)
    for color in colors:
        if color not in COLORS:
            raise SceneError(f"unknown colour {color!r}; known colours: {', '.join(COLORS)}")
    for shape in shapes:
        if shape not in SHAPES:
            raise SceneError(f"unknown shape {shape!r}; known shapes: {', '.join(SHAPES)}")
    rng = np.random.default_rng(seed)
    count = int(rng.integers(n_objects[0], n_objects[1] + 1))
    objects: list[SceneObject] = []
    for index in range(count):
        shape = shapes[int(rng.integers(len(shapes)))]
        color = colors[int(rng.integers(len(colors)))]
        size = tuple(float(rng.uniform(low, high)) for low, high in RANDOM_SIZE_RANGES[shape])
        yaw = float(rng.uniform(-math.pi, math.pi))
        for _ in range(RANDOM_PLACEMENT_TRIES):
            bearing = rng.uniform(-RANDOM_BEARING, RANDOM_BEARING)
            distance = rng.uniform(*RANDOM_RANGE)
            position = (float(distance * math.cos(bearing)), float(distance * math.sin(bearing)))
            candidate = SceneObject(
                f'obj{index}_{color}_{shape}', shape, color, size, position, yaw
            )
            if all(
                math.dist(position, other.position)
                >= candidate.footprint_radius + other.footprint_radius + RANDOM_MIN_GAP
                for other in objects
            ):
                objects.append(candidate)
                break
        else:
            raise SceneError(f'random scene {seed}: no room for {count} objects')
    light = Light(
        direction=(
            float(rng.uniform(-0.5, 0.5)),
            float(rng.uniform(-0.5, 0.5)),
            -1.0,
        ),
        intensity=float(rng.uniform(0.5, 0.7)),
        ambient=float(rng.uniform(0.2, 0.3)),
        headlight=float(rng.uniform(0.25, 0.35)),
    )
    return Scene(name=f'random:{seed}', objects=tuple(objects), light=light)
