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

"""Tests of the textured simulator: procedural textures, scene options, clutter, rendering."""

import colorsys
from dataclasses import replace
import math
from pathlib import Path
import time

from clip_grounding_ros.sim import (
    build_mjcf,
    COLORS,
    load_scene,
    random_scene,
    ROBOT_RADIUS,
    Scene,
    scene_from_dict,
    scene_to_dict,
    SceneError,
    SceneObject,
    SimWorld,
)
from clip_grounding_ros.sim.scene import (
    add_clutter,
    CLUTTER_GAP,
    CLUTTER_PATH_CLEARANCE,
    CLUTTER_SIZE,
    CLUTTER_START_CLEARANCE,
    CLUTTER_WALL_MARGIN,
)
from clip_grounding_ros.sim.textures import (
    OBJECT_CONTRAST,
    pattern,
    texture_image,
    TEXTURE_KINDS,
)
from clip_grounding_ros.sim.world import texture_assets
import numpy as np
import pytest
import yaml

TEST_SCENES = Path(__file__).resolve().parent / 'scenes'
TEXTURED_SCENES = ('textured_boxes', 'textured_mixed', 'textured_cluttered')


def textured(name: str) -> Scene:
    return load_scene(TEST_SCENES / f'{name}.yaml')


def untextured(scene: Scene) -> Scene:
    """Take every texture off `scene`, keeping its layout (clutter included)."""
    return replace(scene, objects=tuple(replace(obj, texture=None) for obj in scene.objects),
                   floor_texture=None, wall_texture=None)


# -- textures -----------------------------------------------------------------------------


@pytest.mark.parametrize('kind', TEXTURE_KINDS)
def test_texture_is_deterministic_grey_rgb_within_its_contrast(kind):
    image = texture_image(kind, seed=3)
    assert image.shape == (128, 128, 3) and image.dtype == np.uint8
    assert np.array_equal(image, texture_image(kind, seed=3))
    assert np.array_equal(image[:, :, 0], image[:, :, 1])
    assert np.array_equal(image[:, :, 0], image[:, :, 2])
    low, high = OBJECT_CONTRAST
    assert image.min() >= math.floor(255 * low) and image.max() <= 255
    assert image.std() > 5.0  # a pattern, not a flat colour
    assert texture_image(kind, seed=3, size=256).shape == (256, 256, 3)


def test_texture_kinds_differ_from_each_other():
    images = {kind: pattern(kind, seed=0) for kind in TEXTURE_KINDS}
    for i, first in enumerate(TEXTURE_KINDS):
        for second in TEXTURE_KINDS[i + 1:]:
            difference = np.abs(images[first] - images[second]).mean()
            assert difference > 0.05, (first, second)


@pytest.mark.parametrize('kind', ['wood', 'planks', 'fabric', 'noise', 'label', 'tiles', 'paint'])
def test_texture_seed_changes_the_pattern(kind):
    assert not np.array_equal(pattern(kind, seed=0), pattern(kind, seed=1))


@pytest.mark.parametrize('kind', TEXTURE_KINDS)
def test_texture_tiles_without_a_visible_seam(kind):
    """
    Floors and walls repeat a texture every metre: its opposite edges must meet.

    The step from the last column (row) to the first is no larger than the largest step
    between neighbouring columns (rows) inside the texture: a checker's edge may fall there,
    but no edge that the pattern does not have elsewhere.
    """
    values = pattern(kind, seed=5, size=256)
    for axis in (0, 1):
        steps = np.abs(np.diff(values, axis=axis)).mean(axis=1 - axis)
        wrap = np.abs(np.take(values, 0, axis=axis) - np.take(values, -1, axis=axis)).mean()
        assert wrap <= steps.max() + 0.01, axis


def test_tinted_texture_keeps_the_tint_hue():
    red = COLORS['red']
    image = texture_image('wood', tint=red).astype(float) / 255.0
    expected_ratio = red[1] / red[0]
    bright = image[:, :, 0] > 0.3
    assert np.allclose(image[bright][:, 1] / image[bright][:, 0], expected_ratio, atol=0.02)


def test_textures_are_cheap():
    for kind in TEXTURE_KINDS:
        start = time.perf_counter()
        texture_image(kind, seed=1)
        assert time.perf_counter() - start < 0.1, kind  # a few ms; generous for busy CI


def test_unknown_texture_and_bad_size_are_refused():
    with pytest.raises(ValueError, match="unknown texture 'marble'; known textures: wood"):
        pattern('marble')
    with pytest.raises(ValueError, match='multiple of 32'):
        pattern('wood', size=100)


# -- scene options ------------------------------------------------------------------------


VALID_OBJECT = {'name': 'a', 'shape': 'box', 'color': 'blue', 'size': [0.15, 0.15, 0.15],
                'position': [2.0, 0.0]}
OPTION_ERRORS = {
    'object texture': ({'objects': [{**VALID_OBJECT, 'texture': 'marble'}]},
                       r"object 'a': texture: unknown texture 'marble'; known textures: wood"),
    'object texture type': ({'objects': [{**VALID_OBJECT, 'texture': 3}]},
                            r"object 'a': texture: unknown texture 3"),
    'floor texture': ({'floor_texture': 'carpet'}, r"floor_texture: unknown texture 'carpet'"),
    'wall texture': ({'wall_texture': 'brick'}, r"wall_texture: unknown texture 'brick'"),
    'texture seed': ({'texture_seed': -1}, r'texture_seed: expected a non-negative integer'),
    'clutter not a mapping': ({'clutter': 5}, r'clutter: expected a mapping, got int'),
    'clutter without count': ({'clutter': {'seed': 1}},
                              r'clutter: missing required field\(s\): count'),
    'clutter unknown field': (
        {'clutter': {'count': 2, 'size': 0.1}},
        r'clutter: unknown field\(s\): size; allowed: count, seed, textured',
    ),
    'clutter count negative': ({'clutter': {'count': -1}}, r'clutter: count: expected 0 to 50'),
    'clutter count too many': ({'clutter': {'count': 51}}, r'clutter: count: expected 0 to 50'),
    'clutter count text': ({'clutter': {'count': 'many'}},
                           r"clutter: count: expected an integer, got 'many'"),
    'clutter count bool': ({'clutter': {'count': True}}, r'clutter: count: expected an integer'),
    'clutter seed': ({'clutter': {'count': 2, 'seed': 1.5}},
                     r'clutter: seed: expected a non-negative integer, got 1.5'),
    'clutter textured': ({'clutter': {'count': 2, 'textured': 'yes'}},
                         r"clutter: textured: expected true or false, got 'yes'"),
    'clutter room too full': ({'room_size': 2.0, 'objects': [], 'clutter': {'count': 20}},
                              r'clutter: no free place for clutter_\d+ \(seed 0\)'),
}


@pytest.mark.parametrize('options, message', OPTION_ERRORS.values(), ids=OPTION_ERRORS)
def test_invalid_texture_or_clutter_option_names_file_and_field(options, message, tmp_path):
    path = tmp_path / 'bad_scene.yaml'
    path.write_text(yaml.safe_dump({'name': 'bad', 'objects': [VALID_OBJECT], **options}))
    with pytest.raises(SceneError, match=message) as error:
        load_scene(path)
    assert str(path) in str(error.value)


def test_texture_none_is_no_texture():
    plain = scene_from_dict({'name': 's', 'objects': [VALID_OBJECT]})
    spelt = scene_from_dict({'name': 's', 'objects': [{**VALID_OBJECT, 'texture': 'none'}],
                             'floor_texture': 'none', 'wall_texture': None})
    assert plain == spelt and not spelt.textured


@pytest.mark.parametrize('name', ['boxes', 'mixed', 'random:3'])
def test_untextured_scenes_build_no_texture_assets(name):
    """Scenes that ask for no texture build the model they built before textures existed."""
    scene = load_scene(name)
    assert not scene.textured
    assert texture_assets(scene) == {}
    xml = build_mjcf(scene)
    assert 'file=' not in xml and 'type="cube"' not in xml
    assert xml.count('<texture ') == 1 and 'builtin="checker"' in xml  # the floor's, as before
    assert '<material name="wall" rgba=' in xml
    for obj in scene.objects:
        assert f'material="color_{obj.color}"' in xml
    assert all('texture' not in entry for entry in scene_to_dict(scene)['objects'])
    assert not {'floor_texture', 'wall_texture', 'texture_seed'} & set(scene_to_dict(scene))


@pytest.mark.parametrize('name', TEXTURED_SCENES)
def test_textured_scene_round_trips_through_yaml(name, tmp_path):
    scene = textured(name)
    assert scene.textured
    path = tmp_path / 'scene.yaml'
    path.write_text(yaml.safe_dump(scene_to_dict(scene)))
    assert load_scene(path) == scene  # clutter comes back as the objects it placed


def test_textured_scene_files_dress_the_shipped_layouts():
    """textured_boxes/_mixed are boxes/mixed, same objects in the same places, dressed."""
    for name, base in (('textured_boxes', 'boxes'), ('textured_mixed', 'mixed')):
        scene, plain = textured(name), load_scene(base)
        named = tuple(replace(obj, texture=None) for obj in scene.objects if not obj.is_clutter)
        assert named == plain.objects
        assert all(obj.texture for obj in scene.objects)
        assert scene.floor_texture and scene.wall_texture
        assert any(obj.is_clutter for obj in scene.objects)


def test_texture_assets_hold_what_the_model_names():
    scene = textured('textured_boxes')
    assets = texture_assets(scene)
    kinds = {obj.texture for obj in scene.objects}
    assert set(assets) == {f'object_{kind}.png' for kind in kinds} | {'floor.png', 'wall.png'}
    assert all(data.startswith(b'\x89PNG') for data in assets.values())
    xml = build_mjcf(scene)
    for file_name in assets:
        assert f'file="{file_name}"' in xml


# -- clutter ------------------------------------------------------------------------------


def clutter_scenes():
    for name in ('boxes', 'mixed', *(f'random:{seed}' for seed in range(12))):
        for seed in (0, 1):
            yield add_clutter(load_scene(name), 8, seed)
    for name in TEXTURED_SCENES:
        yield textured(name)
    for seed in range(12):
        yield random_scene(seed, textured=True)


def distance_to_segment(point, start, end) -> float:
    point, start, end = (np.asarray(p, dtype=float) for p in (point, start, end))
    direction = end - start
    t = np.clip(np.dot(point - start, direction) / np.dot(direction, direction), 0.0, 1.0)
    return float(np.linalg.norm(point - start - t * direction))


def test_clutter_keeps_clear_of_objects_start_walls_and_the_ways_to_objects():
    for scene in clutter_scenes():
        named = [obj for obj in scene.objects if not obj.is_clutter]
        clutter = [obj for obj in scene.objects if obj.is_clutter]
        start = scene.robot_start[:2]
        ways = [(start, obj.position) for obj in named]
        ways += [(a.position, b.position) for i, a in enumerate(named) for b in named[i + 1:]]
        named_looks = {(obj.shape, obj.color) for obj in named}
        named_colors = {obj.color for obj in named}
        for obj in clutter:
            radius = obj.footprint_radius
            assert all(CLUTTER_SIZE[0] <= size <= CLUTTER_SIZE[1] for size in obj.size)
            assert (obj.shape, obj.color) not in named_looks, (scene.name, obj)
            if len(named_colors) < len(COLORS):
                assert obj.color not in named_colors, (scene.name, obj)
            assert max(map(abs, obj.position)) + radius <= (
                scene.room_size / 2 - CLUTTER_WALL_MARGIN + 1e-9)
            assert math.dist(obj.position, start) >= (
                ROBOT_RADIUS + CLUTTER_START_CLEARANCE + radius)
            for other in scene.objects:
                if other is not obj:
                    gap = math.dist(obj.position, other.position)
                    assert gap >= radius + other.footprint_radius + CLUTTER_GAP, (obj, other)
            for way in ways:
                clearance = distance_to_segment(obj.position, *way)
                assert clearance >= ROBOT_RADIUS + CLUTTER_PATH_CLEARANCE + radius, (obj, way)


def test_clutter_is_reproducible_from_its_seed():
    boxes = load_scene('boxes')
    first = add_clutter(boxes, 6, seed=9)
    assert first == add_clutter(boxes, 6, seed=9)
    assert first.objects[:len(boxes.objects)] == boxes.objects
    assert [obj.name for obj in first.objects[len(boxes.objects):]] == [
        f'clutter_{i}' for i in range(6)]
    other = add_clutter(boxes, 6, seed=10)
    assert [o.position for o in first.objects] != [o.position for o in other.objects]
    assert add_clutter(boxes, 0, seed=9) == boxes
    flat = add_clutter(boxes, 6, seed=9, textured=False)
    assert all(obj.texture is None for obj in flat.objects)
    assert [o.position for o in flat.objects] == [o.position for o in first.objects]


def test_clutter_names_skip_names_in_use():
    scene = Scene('s', (SceneObject('clutter_0', 'box', 'red', (0.1, 0.1, 0.1), (3.0, 0.0)),))
    added = add_clutter(scene, 2, seed=1)
    assert added.object_names == ['clutter_0', 'clutter_1', 'clutter_2']


# -- random scenes ------------------------------------------------------------------------


def test_random_scenes_are_unchanged_by_textures():
    """random:<seed> (benchmarks, training) draws what it drew before textures existed."""
    scene = random_scene(3)
    assert not scene.textured and scene.name == 'random:3'
    assert [(obj.name, round(obj.position[0], 4), round(obj.position[1], 4))
            for obj in scene.objects] == [
        ('obj0_green_box', 1.9786, -0.0506), ('obj1_purple_box', 3.6927, 0.3931),
        ('obj2_white_cylinder', 2.0055, 1.3095), ('obj3_green_cylinder', 1.5032, 0.5214),
        ('obj4_blue_box', 3.1756, -1.1871), ('obj5_green_cylinder', 3.1947, 1.3621)]
    assert scene.light.intensity == pytest.approx(0.5857145808596924)


@pytest.mark.parametrize('seed', range(6))
def test_random_textured_scene_dresses_the_random_scene(seed):
    plain, dressed = random_scene(seed), random_scene(seed, textured=True)
    assert dressed == load_scene(f'random_textured:{seed}')
    assert dressed.name == f'random_textured:{seed}' and dressed.texture_seed == seed
    named = tuple(obj for obj in dressed.objects if not obj.is_clutter)
    assert tuple(replace(obj, texture=None) for obj in named) == plain.objects
    assert dressed.light == plain.light
    assert dressed.floor_texture and dressed.wall_texture
    assert any(obj.texture for obj in dressed.objects)


def test_random_textured_scenes_vary_their_dressing():
    scenes = [random_scene(seed, textured=True) for seed in range(20)]
    assert len({scene.floor_texture for scene in scenes}) >= 3
    assert len({scene.wall_texture for scene in scenes}) >= 3
    assert len({obj.texture for scene in scenes for obj in scene.objects}) >= 6
    assert len({sum(obj.is_clutter for obj in scene.objects) for scene in scenes}) >= 3


# -- rendering ----------------------------------------------------------------------------

# Poses from which textured_mixed's objects are all seen: the start, then turned to the back.
POSES = ((0.0, 0.0, 0.0), (0.0, 0.0, -2.36), (0.0, 0.0, 2.55))
CHROMATIC = {name: colorsys.rgb_to_hsv(*rgb)[0] for name, rgb in COLORS.items()
             if name not in ('white', 'black')}


def grain(image: np.ndarray, mask: np.ndarray) -> float:
    """Mean brightness step between horizontal neighbours inside `mask`: ~0 on a flat face."""
    both = mask[:, 1:] & mask[:, :-1]
    brightness = image.astype(float).mean(axis=2) / 255.0
    return float(np.abs(np.diff(brightness, axis=1))[both].mean())


def read_colour(rgb: np.ndarray) -> str:
    """Name the colour of a mean pixel colour the way a person would: hue, or grey level."""
    hue, saturation, value = colorsys.rgb_to_hsv(*rgb)
    if saturation < 0.25:
        return 'white' if value > 0.35 else 'black'
    return min(CHROMATIC, key=lambda name: min(abs(hue - CHROMATIC[name]),
                                               1.0 - abs(hue - CHROMATIC[name])))


@pytest.fixture(scope='module')
def mixed_renders():
    """RGB and segmentation of textured_mixed and of its untextured twin, from each pose."""
    renders = {}
    for label, scene in (('textured', textured('textured_mixed')),
                         ('plain', untextured(textured('textured_mixed')))):
        with SimWorld(scene) as world:
            for pose in POSES:
                world.set_robot_pose(*pose)
                renders[label, pose] = (world.render(), world.render_segmentation())
    return renders


def test_segmentation_is_the_same_with_and_without_textures(mixed_renders):
    for pose in POSES:
        assert np.array_equal(mixed_renders['textured', pose][1], mixed_renders['plain', pose][1])


def test_textured_objects_still_read_as_their_colour(mixed_renders):
    scene = textured('textured_mixed')
    seen = set()
    for pose in POSES:
        image, segmentation = mixed_renders['textured', pose]
        plain_image, _ = mixed_renders['plain', pose]
        for index, obj in enumerate(scene.objects):
            mask = segmentation == index
            if mask.sum() < 40:
                continue
            seen.add(obj.name)
            pixels = image[mask].astype(float) / 255.0
            assert read_colour(pixels.mean(axis=0)) == obj.color, obj.name
            plain_pixels = plain_image[mask].astype(float) / 255.0
            # Darkened at most to OBJECT_CONTRAST's low end.
            assert pixels.mean() >= 0.6 * plain_pixels.mean() - 0.01, obj.name
    named = {obj.name for obj in scene.objects if not obj.is_clutter}
    assert named <= seen


@pytest.mark.parametrize('surface', ['floor', 'wall'])
def test_floor_and_wall_textures_change_only_their_surface(surface):
    base = load_scene('boxes')
    dressed = replace(base, **{f'{surface}_texture': 'tiles' if surface == 'floor' else 'fabric'})
    images = {}
    for label, scene in (('plain', base), ('dressed', dressed)):
        with SimWorld(scene) as world:
            images[label] = world.render().astype(int)
            segmentation = world.render_segmentation()
    difference = np.abs(images['dressed'] - images['plain']).sum(axis=2)
    # From the start pose the walls fill the top rows, the floor the bottom ones.
    top, bottom = difference[:10], difference[-60:]
    changed, unchanged = (bottom, top) if surface == 'floor' else (top, bottom)
    assert (changed > 6).mean() > 0.3
    assert (unchanged == 0).all()
    # Objects keep their pixels (away from their edges, where the background shows through
    # the antialiasing).
    inner = segmentation >= 0
    inner[1:-1, 1:-1] &= inner[:-2, 1:-1] & inner[2:, 1:-1] & inner[1:-1, :-2] & inner[1:-1, 2:]
    assert inner.sum() > 500
    assert (difference[inner] <= 2).all()


def test_every_texture_shows_on_a_near_object_which_keeps_its_colour():
    """One box per texture kind in a ring 1.6 m around the robot, each seen from the centre."""
    colors = [name for name in COLORS if name != 'black']  # black shows no pattern
    angles = [2.0 * math.pi * index / len(TEXTURE_KINDS) for index in range(len(TEXTURE_KINDS))]
    objects = tuple(
        SceneObject(f'{kind}_box', 'box', colors[index % len(colors)], (0.15, 0.15, 0.15),
                    (1.6 * math.cos(angle), 1.6 * math.sin(angle)), yaw=angle + 0.5,
                    texture=kind)
        for index, (kind, angle) in enumerate(zip(TEXTURE_KINDS, angles, strict=True))
    )
    ring = Scene('texture_ring', objects)
    with SimWorld(ring) as dressed, SimWorld(untextured(ring)) as plain:
        for index, (obj, angle) in enumerate(zip(ring.objects, angles, strict=True)):
            for world in (dressed, plain):
                world.set_robot_pose(0.0, 0.0, angle)
            image, plain_image = dressed.render(), plain.render()
            mask = dressed.render_segmentation() == index
            assert mask.sum() > 1500
            assert read_colour(image[mask].astype(float).mean(axis=0) / 255.0) == obj.color
            # Measured in software GL: 1.8 (paint: faint by design) to 14 times the flat face's.
            assert grain(image, mask) > 1.5 * grain(plain_image, mask), obj.texture
