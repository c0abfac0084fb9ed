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

import copy
from dataclasses import dataclass, field, fields, replace
import functools
import math
import numbers
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .textures import TEXTURE_KINDS
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
# The simulator's shapes and colours as contrast classes (GrounderConfig.contrast_classes),
# as bench/bench_offline_model.py --contrast measures them.
CONTRAST_CLASSES = '; '.join('|'.join(','.join(words) for words in classes.values())
                             for classes in (SHAPE_WORDS, COLOR_WORDS))
# Objects that add_clutter places are named CLUTTER_PREFIX + a number.
CLUTTER_PREFIX = 'clutter_'
# Fastest a moving object may go (m/s): a brisk walk, well above the robot's default speed
# limit (0.4 m/s), so a scene can hold an object it cannot catch up with.
MAX_OBJECT_SPEED = 1.5


class SceneError(ValueError):
    """A scene description is invalid; the message names the file and the offending field."""


@dataclass(frozen=True)
class Motion:
    """
    How an object slides over the floor, so following and re-finding can be tested.

    It stands at its `position` until `start_after` simulated seconds, then moves at constant
    `speed` (m/s) along straight lines through `waypoints` ((x, y) in the world frame, m):
    with `loop`, position -> waypoints... -> back to position, over and over; without, once
    through the waypoints, then it stays at the last one. Only x and y change: the object
    keeps resting on the floor and keeps its yaw. position_at gives where it is.
    """

    waypoints: tuple[tuple[float, float], ...]
    speed: float
    start_after: float = 0.0
    loop: bool = True

    def __post_init__(self) -> None:
        where = 'motion'
        if not isinstance(self.waypoints, (list, tuple)) or not self.waypoints:
            raise SceneError(
                f'{where}: waypoints: expected a list of at least one [x, y], '
                f'got {self.waypoints!r}')
        waypoints = []
        for index, point in enumerate(self.waypoints):
            what = f'{where}: waypoints[{index}]'
            values = _floats(point, what)
            if len(values) != 2:
                raise SceneError(
                    f'{what}: expected [x, y] (an object rests on the floor, so only x and y '
                    f'move), got {list(values)}')
            waypoints.append(values)
        object.__setattr__(self, 'waypoints', tuple(waypoints))
        _coerce(self, 'speed', _float, where)
        if not 0.0 < self.speed <= MAX_OBJECT_SPEED:
            raise SceneError(
                f'{where}: speed: expected more than 0 and at most {MAX_OBJECT_SPEED} m/s, '
                f'got {self.speed}')
        _coerce(self, 'start_after', _float, where)
        if self.start_after < 0.0:
            raise SceneError(
                f'{where}: start_after: must not be negative (simulated s), '
                f'got {self.start_after}')
        if not isinstance(self.loop, bool):
            raise SceneError(f'{where}: loop: expected true or false, got {self.loop!r}')


@dataclass(frozen=True)
class SceneObject:
    """
    One object resting on the floor: static, or moving along a path when `motion` is set.

    `size` depends on `shape`: box -> half extents (hx, hy, hz); sphere -> (radius,);
    cylinder -> (radius, half_height). `position` is (x, y) on the floor in the world frame
    (for a moving object: where it starts; position_at gives it at a time).
    `texture` (one of textures.TEXTURE_KINDS, or None for flat colour) modulates the
    brightness of the named colour, never its hue. `motion` also accepts the YAML mapping.
    """

    name: str
    shape: str
    color: str
    size: tuple[float, ...]
    position: tuple[float, float]
    yaw: float = 0.0
    texture: str | None = None
    motion: Motion | None = None

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
        _coerce(self, 'texture', _texture, where)
        if self.motion is not None and not isinstance(self.motion, Motion):
            _check_keys(self.motion, MOTION_REQUIRED, MOTION_OPTIONAL, f'{where}: motion')
            try:
                object.__setattr__(self, 'motion', Motion(**self.motion))
            except SceneError as error:
                raise SceneError(f'{where}: {error}') from None

    @property
    def is_clutter(self) -> bool:
        """Whether add_clutter placed this object (its name starts with CLUTTER_PREFIX)."""
        return self.name.startswith(CLUTTER_PREFIX)

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

    def surface_distance(
        self, x: float, y: float, centre: tuple[float, float] | None = None
    ) -> float:
        """
        Horizontal distance from (x, y) to the object's footprint (0 inside it).

        Boxes use the exact rotated rectangle; round shapes their circle. `centre` is where
        the footprint is (world x, y in m), by default `position`: pass a moving object's
        current one (position_at, SimWorld.object_position).
        """
        centre_x, centre_y = self.position if centre is None else centre
        dx, dy = x - centre_x, y - centre_y
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


def _texture(value: Any, what: str) -> str | None:
    """Return a texture kind, or None (also spelt 'none') for a flat colour."""
    if value is None or value == 'none':
        return None
    if value not in TEXTURE_KINDS:
        raise SceneError(
            f"{what}: unknown texture {value!r}; known textures: {', '.join(TEXTURE_KINDS)} "
            '(or none)'
        )
    return value


def _seed(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise SceneError(f'{what}: expected a non-negative integer, got {value!r}')
    return int(value)


def _coerce(instance: Any, attribute: str, convert: Any, where: str) -> None:
    """Normalise a field of a frozen dataclass in __post_init__, naming it in errors."""
    what = f'{where}: {attribute}' if where else attribute
    value = convert(getattr(instance, attribute), what)
    object.__setattr__(instance, attribute, value)


@dataclass(frozen=True)
class Scene:
    """
    A square room (walls at +-room_size/2) with static objects and a robot start pose.

    The floor is a checker in floor_rgb and the walls flat wall_rgb, unless floor_texture or
    wall_texture name a texture (textures.TEXTURE_KINDS), which is then tinted by that colour.
    texture_seed picks the variant of every texture of the scene (ring count, stripe width...).
    """

    name: str
    objects: tuple[SceneObject, ...]
    robot_start: tuple[float, float, float] = (0.0, 0.0, 0.0)
    room_size: float = 10.0
    light: Light = field(default_factory=Light)
    floor_rgb: tuple[float, float, float] = (0.5, 0.5, 0.5)
    wall_rgb: tuple[float, float, float] = (0.85, 0.80, 0.70)
    floor_texture: str | None = None
    wall_texture: str | None = None
    texture_seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, 'objects', tuple(self.objects))
        for attribute, convert in (
            ('robot_start', _floats),
            ('room_size', _float),
            ('floor_rgb', _rgb),
            ('wall_rgb', _rgb),
            ('floor_texture', _texture),
            ('wall_texture', _texture),
            ('texture_seed', _seed),
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
                raise SceneError(
                    f'object {obj.name!r}: position: its footprint circle (radius '
                    f'{obj.footprint_radius:.2f} m) overlaps the robot at its start')
            for index, (x, y) in enumerate(obj.motion.waypoints if obj.motion else ()):
                if max(abs(x), abs(y)) + obj.footprint_radius > half:
                    raise SceneError(
                        f'object {obj.name!r}: motion: waypoints[{index}]: ({x}, {y}) is '
                        f'outside the room (walls at +-{half} m)')
        for i, first in enumerate(self.objects):
            for second in self.objects[i + 1:]:
                gap = math.dist(first.position, second.position)
                reach = first.footprint_radius + second.footprint_radius
                if gap < reach:
                    raise SceneError(
                        f'object {first.name!r}: position: its footprint circle overlaps '
                        f'that of object {second.name!r} (centres {gap:.2f} m apart, radii '
                        f'add up to {reach:.2f} m; a box counts as the circle around it)')
                # A moving object must pass clear of every static one. Two moving objects are
                # only checked where they start: whether they meet depends on their timing.
                if (first.motion is None) == (second.motion is None):
                    continue
                moving, still = (first, second) if first.motion else (second, first)
                path = _path_points(moving.position, moving.motion)
                gap = min(_segment_distance(still.position, start, end)
                          for start, end in zip(path, path[1:], strict=False))
                if gap < reach:
                    raise SceneError(
                        f'object {moving.name!r}: motion: its path passes within {gap:.2f} m '
                        f'of object {still.name!r} (radii add up to {reach:.2f} m; a box '
                        'counts as the circle around it)')

    def at(self, t: float) -> Scene:
        """
        Return this scene as it is at simulated time ``t`` (s): each moving object where it is.

        What the judge measures against. Not validated again: a moving object may stand where
        the robot started, which a scene's start may not.
        """
        if all(obj.motion is None for obj in self.objects):
            return self
        snapshot = copy.copy(self)
        object.__setattr__(snapshot, 'objects', tuple(
            replace(obj, position=position_at(obj, t), motion=None) for obj in self.objects))
        return snapshot

    def object(self, name: str) -> SceneObject:  # noqa: A003
        """Return the object called `name` (KeyError listing the known names otherwise)."""
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise KeyError(f'no object {name!r} in scene {self.name!r}; known: {self.object_names}')

    @property
    def object_names(self) -> list[str]:
        return [obj.name for obj in self.objects]

    @property
    def textured(self) -> bool:
        """Whether anything in the scene has a texture (else it renders as flat colours)."""
        return bool(self.floor_texture or self.wall_texture
                    or any(obj.texture for obj in self.objects))

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
OBJECT_OPTIONAL = ('yaw', 'texture', 'motion')
MOTION_REQUIRED = ('waypoints', 'speed')
MOTION_OPTIONAL = ('start_after', 'loop')
SCENE_REQUIRED = ('name', 'objects')
SCENE_OPTIONAL = ('robot_start', 'room_size', 'light', 'floor_rgb', 'wall_rgb', 'floor_texture',
                  'wall_texture', 'texture_seed', 'clutter')
CLUTTER_OPTIONAL = ('seed', 'textured')


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
    """
    Build and validate a Scene from the YAML structure documented in boxes.yaml.

    A `clutter` entry is expanded here: its objects (add_clutter) join the scene's objects.
    """
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
    for key in ('room_size', 'floor_rgb', 'wall_rgb', 'floor_texture', 'wall_texture',
                'texture_seed'):
        if key in data:
            kwargs[key] = data[key]
    scene = Scene(**kwargs)
    if 'clutter' in data:
        clutter = data['clutter']
        _check_keys(clutter, ('count',), CLUTTER_OPTIONAL, 'clutter')
        textured = clutter.get('textured', True)
        if not isinstance(textured, bool):
            raise SceneError(f'clutter: textured: expected true or false, got {textured!r}')
        scene = add_clutter(
            scene, clutter['count'], clutter.get('seed', 0), textured=textured
        )
    return scene


def scene_to_dict(scene: Scene) -> dict[str, Any]:
    """
    Return the YAML structure of `scene` (inverse of scene_from_dict).

    Clutter is written as the objects it placed; textures and motion only where there are
    any, so an untextured, static scene reads as before they existed.
    """
    x, y, yaw = scene.robot_start
    light = scene.light
    objects = []
    for obj in scene.objects:
        entry = {
            'name': obj.name,
            'shape': obj.shape,
            'color': obj.color,
            'size': list(obj.size),
            'position': list(obj.position),
            'yaw': obj.yaw,
        }
        if obj.texture is not None:
            entry['texture'] = obj.texture
        if obj.motion is not None:
            entry['motion'] = {
                'waypoints': [list(point) for point in obj.motion.waypoints],
                'speed': obj.motion.speed,
                'start_after': obj.motion.start_after,
                'loop': obj.motion.loop,
            }
        objects.append(entry)
    data: dict[str, Any] = {
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
    }
    for key in ('floor_texture', 'wall_texture'):
        if getattr(scene, key) is not None:
            data[key] = getattr(scene, key)
    if scene.texture_seed:
        data['texture_seed'] = scene.texture_seed
    data['objects'] = objects
    return data


@functools.lru_cache(maxsize=256)
def _path_points(
    position: tuple[float, float], motion: Motion
) -> tuple[tuple[float, float], ...]:
    """Return the corners of a moving object's path: start, waypoints, start again if it loops."""
    return (position, *motion.waypoints, *((position,) if motion.loop else ()))


@functools.lru_cache(maxsize=256)
def _path_lengths(position: tuple[float, float], motion: Motion) -> tuple[float, ...]:
    """Return the length of each straight piece of the path (m)."""
    points = _path_points(position, motion)
    return tuple(math.dist(start, end) for start, end in zip(points, points[1:], strict=False))


def position_at(obj: SceneObject, t: float) -> tuple[float, float]:
    """
    Return where `obj` stands on the floor (world x, y in m) at simulated time `t` (s).

    A static object, or one whose motion has not started (t <= start_after), is at its
    `position`; after that it has gone speed * (t - start_after) metres along its path, at
    constant speed round the corners (a looping path starts over where it began; one that
    does not loop ends at the last waypoint).
    """
    motion = obj.motion
    if motion is None:
        return obj.position
    points = _path_points(obj.position, motion)
    lengths = _path_lengths(obj.position, motion)
    total = sum(lengths)
    travelled = max(t - motion.start_after, 0.0) * motion.speed
    if total <= 0.0:
        return points[-1]
    if motion.loop:
        travelled %= total
    elif travelled >= total:
        return points[-1]
    for (start, end), length in zip(zip(points, points[1:], strict=False), lengths, strict=True):
        if travelled <= length and length > 0.0:
            share = travelled / length
            return (start[0] + share * (end[0] - start[0]),
                    start[1] + share * (end[1] - start[1]))
        travelled -= length
    return points[-1]  # rounding: a hair past the end


# Clutter: small objects that are not what a command names, placed where they hinder nothing.
CLUTTER_SIZE = (0.04, 0.08)  # half extents, radii and half heights, metres
CLUTTER_MAX = 50
CLUTTER_TEXTURES = ('wood', 'fabric', 'noise', 'stripes', 'checks', 'dots', 'label')
CLUTTER_WALL_MARGIN = 0.3  # metres between a clutter object's footprint and the walls
CLUTTER_START_CLEARANCE = 0.5  # metres between its footprint and the robot's at the start
CLUTTER_GAP = 0.3  # metres between its footprint and any other object's
# Metres between its footprint and the robot's body driving straight from the start to a
# named object or from one named object to another.
CLUTTER_PATH_CLEARANCE = 0.25
# The share of clutter placed in front of the robot start, where the camera sees it (within
# RANDOM_BEARING of its heading, 1-4.5 m away); the rest anywhere in the room.
CLUTTER_IN_VIEW = 0.6


def _segment_distance(
    point: tuple[float, float], start: tuple[float, float], end: tuple[float, float]
) -> float:
    """Distance from `point` to the line segment start-end."""
    px, py = point[0] - start[0], point[1] - start[1]
    dx, dy = end[0] - start[0], end[1] - start[1]
    length_squared = dx * dx + dy * dy
    t = 0.0 if length_squared == 0.0 else min(max((px * dx + py * dy) / length_squared, 0.0), 1.0)
    return math.hypot(px - t * dx, py - t * dy)


def _clutter_looks(
    rng: np.random.Generator, named: tuple[SceneObject, ...]
) -> tuple[str, str]:
    """
    Draw a (shape, colour) for a clutter object that no named object has.

    Colours no named object has come first, so that a phrase naming an object of the scene
    ("the red box", "the red one") does not also match clutter; when the named objects use
    every colour, any pair that is not a named object's.
    """
    unused_colors = [c for c in COLORS if all(obj.color != c for obj in named)]
    taken = {(obj.shape, obj.color) for obj in named}
    colors = unused_colors or list(COLORS)
    choices = [(shape, color) for shape in SHAPES for color in colors
               if (shape, color) not in taken]
    if not choices:
        raise SceneError('clutter: every colour and shape is taken by a named object')
    return choices[int(rng.integers(len(choices)))]


def _clutter_position(
    rng: np.random.Generator, scene: Scene, radius: float, placed: list[SceneObject]
) -> tuple[float, float] | None:
    """Find a free place for a footprint of `radius` (None when none was found)."""
    half = scene.room_size / 2.0
    limit = half - CLUTTER_WALL_MARGIN - radius
    start_x, start_y, start_yaw = scene.robot_start
    start = (start_x, start_y)
    named = [obj for obj in scene.objects if not obj.is_clutter]
    paths = [(start, obj.position) for obj in named]
    paths += [(first.position, second.position)
              for i, first in enumerate(named) for second in named[i + 1:]]
    # The ground a moving object sweeps: each piece of its path, with its footprint radius.
    swept = []
    for obj in scene.objects:
        if obj.motion is not None:
            corners = _path_points(obj.position, obj.motion)
            swept += [(a, b, obj.footprint_radius)
                      for a, b in zip(corners, corners[1:], strict=False)]
    for _ in range(RANDOM_PLACEMENT_TRIES):
        if rng.random() < CLUTTER_IN_VIEW:
            bearing = start_yaw + rng.uniform(-RANDOM_BEARING, RANDOM_BEARING)
            distance = rng.uniform(1.0, RANDOM_RANGE[1])
            position = (float(start_x + distance * math.cos(bearing)),
                        float(start_y + distance * math.sin(bearing)))
        else:
            position = (float(rng.uniform(-limit, limit)), float(rng.uniform(-limit, limit)))
        if max(abs(position[0]), abs(position[1])) > limit:
            continue
        if math.dist(position, start) < ROBOT_RADIUS + CLUTTER_START_CLEARANCE + radius:
            continue
        if any(math.dist(position, other.position) < radius + other.footprint_radius + CLUTTER_GAP
               for other in placed):
            continue
        if any(_segment_distance(position, *path) < ROBOT_RADIUS + CLUTTER_PATH_CLEARANCE + radius
               for path in paths):
            continue
        if any(_segment_distance(position, a, b) < reach + CLUTTER_GAP + radius
               for a, b, reach in swept):
            continue
        return position
    return None


def add_clutter(scene: Scene, count: int, seed: int = 0, textured: bool = True) -> Scene:
    """
    Return `scene` with `count` small clutter objects added, reproducibly from `seed`.

    Clutter objects are ordinary objects of the scene (the ground truth and the judge see
    them), named clutter_0, clutter_1, ...: boxes, spheres and cylinders of the world's
    colours, CLUTTER_SIZE in half extent, in a (shape, colour) that no named object has (see
    _clutter_looks), each with a texture of CLUTTER_TEXTURES when `textured`. They stand
    clear of the walls, of the robot start, of every other object, and of the straight ways
    from the start to each named object and between named objects (the CLUTTER_* margins),
    so they make no way longer, and of the path of any moving object; CLUTTER_IN_VIEW of
    them are drawn in front of the robot.
    """
    if isinstance(count, bool) or not isinstance(count, numbers.Integral):
        raise SceneError(f'clutter: count: expected an integer, got {count!r}')
    if not 0 <= count <= CLUTTER_MAX:
        raise SceneError(f'clutter: count: expected 0 to {CLUTTER_MAX}, got {count}')
    seed = _seed(seed, 'clutter: seed')
    rng = np.random.default_rng(seed)
    named = tuple(obj for obj in scene.objects if not obj.is_clutter)
    names = set(scene.object_names)
    objects = list(scene.objects)
    number = 0
    for _ in range(count):
        while f'{CLUTTER_PREFIX}{number}' in names:
            number += 1
        name = f'{CLUTTER_PREFIX}{number}'
        names.add(name)
        shape, color = _clutter_looks(rng, named)
        size = tuple(float(rng.uniform(*CLUTTER_SIZE)) for _ in SIZE_FIELDS[shape])
        yaw = float(rng.uniform(-math.pi, math.pi))
        texture = CLUTTER_TEXTURES[int(rng.integers(len(CLUTTER_TEXTURES)))]  # drawn anyway:
        # `textured` changes no other draw, so the clutter stands where it would with textures.
        candidate = SceneObject(name, shape, color, size, (0.0, 0.0), yaw,
                                texture if textured else None)
        position = _clutter_position(rng, scene, candidate.footprint_radius, objects)
        if position is None:
            raise SceneError(
                f'clutter: no free place for {name} (seed {seed}): the room is too full for '
                f'{count} clutter objects'
            )
        objects.append(replace(candidate, position=position))
    return replace(scene, objects=tuple(objects))


def scene_dirs() -> list[Path]:
    """Where bare scene names are looked up: installed share directory first, then source tree."""
    return [folder / 'config' / 'scenes' for folder in share_dirs()]


def available_scenes() -> list[str]:
    """Names accepted by load_scene besides paths, "random:<seed>" and "random_textured:<seed>"."""
    return sorted({path.stem for folder in scene_dirs() for path in folder.glob('*.yaml')})


def _resolve(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix in ('.yaml', '.yml') or len(path.parts) > 1:
        if path.is_file():
            return path
        raise SceneError(f'{path}: scene file not found; available scenes: '
                         f"{available_scenes()}, 'random:<seed>', 'random_textured:<seed>' "
                         'or a path to a .yaml file')
    for folder in scene_dirs():
        candidate = folder / f'{name_or_path}.yaml'
        if candidate.is_file():
            return candidate
    raise SceneError(
        f'unknown scene {str(name_or_path)!r}; available scenes: {available_scenes()} '
        "(or a path to a .yaml file, 'random:<seed>' or 'random_textured:<seed>')"
    )


def load_scene(name_or_path: str | Path) -> Scene:
    """Load a scene by bare name ("boxes"), YAML path, "random[_textured]:<seed>"."""
    for prefix, textured in (('random:', False), ('random_textured:', True)):
        if isinstance(name_or_path, str) and name_or_path.startswith(prefix):
            seed_text = name_or_path.removeprefix(prefix)
            try:
                seed = int(seed_text)
            except ValueError:
                raise SceneError(
                    f'random scene seed must be an integer, got {seed_text!r}'
                ) from None
            return random_scene(seed, textured=textured)
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
    textured: bool = False,
) -> Scene:
    """
    Make a reproducible random scene in front of a robot at the origin facing +x.

    `n_objects` is an inclusive (min, max) range; `colors`/`shapes` restrict the choices.
    Objects keep RANDOM_MIN_GAP metres between their footprint circles. With `textured`
    the same scene (same objects and light) is dressed by dress_randomly, named
    "random_textured:<seed>"; without, it is exactly what it was before textures existed.
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
    scene = Scene(name=f'random:{seed}', objects=tuple(objects), light=light)
    return dress_randomly(scene, seed) if textured else scene


# Textured random scenes: the kinds and (muted, so never mistaken for an object's) colours.
RANDOM_OBJECT_TEXTURES = (None, *CLUTTER_TEXTURES)  # None: some objects stay flat colour
RANDOM_FLOORS = {
    'planks': ((0.55, 0.38, 0.22), (0.70, 0.52, 0.33), (0.40, 0.28, 0.18)),
    'wood': ((0.62, 0.45, 0.28),),
    'tiles': ((0.80, 0.78, 0.74), (0.55, 0.55, 0.55), (0.75, 0.70, 0.62)),
    'noise': ((0.55, 0.55, 0.53), (0.45, 0.44, 0.42)),
    'fabric': ((0.45, 0.42, 0.38), (0.38, 0.40, 0.45)),
}
RANDOM_WALLS = {
    'paint': ((0.88, 0.85, 0.78), (0.80, 0.82, 0.84), (0.85, 0.80, 0.70)),
    'fabric': ((0.78, 0.72, 0.62), (0.70, 0.70, 0.72)),
    'noise': ((0.82, 0.80, 0.76), (0.72, 0.70, 0.66)),
    'tiles': ((0.90, 0.90, 0.88),),
}
RANDOM_CLUTTER = (0, 6)  # inclusive range of clutter objects
# The textured draws use their own random stream, so the objects and light stay as random:<seed>.
RANDOM_DRESSING_STREAM = 1


def dress_randomly(scene: Scene, seed: int) -> Scene:
    """
    Give `scene` random textures, a textured floor and walls, and clutter, from `seed`.

    Object textures from RANDOM_OBJECT_TEXTURES (each object its own draw; some stay flat);
    floor and wall kinds and their colours from RANDOM_FLOORS / RANDOM_WALLS, the colour
    brightened or darkened by up to 10 %; RANDOM_CLUTTER clutter objects (add_clutter).
    The scene is renamed "random_textured:<seed>" and its texture_seed set to `seed`.
    """
    rng = np.random.default_rng([seed, RANDOM_DRESSING_STREAM])

    def pick(choices: tuple[Any, ...] | list[Any]) -> Any:
        return choices[int(rng.integers(len(choices)))]

    objects = tuple(replace(obj, texture=pick(RANDOM_OBJECT_TEXTURES)) for obj in scene.objects)
    floor_texture = pick(list(RANDOM_FLOORS))
    wall_texture = pick(list(RANDOM_WALLS))

    def shade(palette: tuple[tuple[float, float, float], ...]) -> tuple[float, ...]:
        scale = float(rng.uniform(0.9, 1.1))
        return tuple(min(c * scale, 1.0) for c in pick(palette))

    floor_rgb = shade(RANDOM_FLOORS[floor_texture])
    wall_rgb = shade(RANDOM_WALLS[wall_texture])
    count = int(rng.integers(RANDOM_CLUTTER[0], RANDOM_CLUTTER[1] + 1))
    clutter_seed = int(rng.integers(2**31))
    dressed = replace(
        scene, name=f'random_textured:{seed}', objects=objects, floor_texture=floor_texture,
        wall_texture=wall_texture, floor_rgb=floor_rgb, wall_rgb=wall_rgb, texture_seed=seed,
    )
    return add_clutter(dressed, count, clutter_seed)
