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
Training data for the simulator CLIP model.

Rendered crops, whole frames with per-patch labels, and captions from a grammar.

Crops are made the way grounding makes them at run time (the same proposals and the same
square crop), so the model learns to rank exactly what it will be asked to rank: tight
object crops score high, partial crops lower, floor and wall crops as background. Frames are
resized the way the dense pass resizes them, and each patch is labelled with the share of it
that every colour-shape class covers in the simulator's segmentation render, so the patch
tokens can be trained towards the text of what they show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
import math
import re

import cv2
import numpy as np

from ..core.perception.grounding import DEFAULT_BACKGROUND_PROMPTS
from ..core.perception.proposals import box_iou, ProposalConfig, propose, square_crop
from ..sim.scene import COLOR_WORDS, COLORS, random_scene, ROBOT_RADIUS, Scene, SHAPE_WORDS, SHAPES

COLOUR_NAMES = tuple(COLORS)
# Held out of training entirely (images and captions) to measure generalisation to new
# colour-shape combinations; each colour and shape still appears in other combinations.
HELD_OUT_COMBOS = (('green', 'sphere'), ('yellow', 'cylinder'), ('purple', 'box'))
OBJECT_TEMPLATES = ('{}', 'a {}', 'the {}', 'a photo of a {}.', 'a photo of the {}.',
                    'go to the {}', 'drive to the {}', 'find the {}', 'look at the {}',
                    'pick up the {}', 'the {} over there', 'a picture of a {}')
COLOUR_ONLY = ('the {} object', 'something {}', 'a {} thing', 'a photo of a {} object.')
SHAPE_ONLY = ('a {}', 'the {}', 'a photo of a {}.', 'go to the {}')
BACKGROUND_CAPTIONS = DEFAULT_BACKGROUND_PROMPTS + (
    'the floor', 'a wall', 'the ground', 'an empty floor', 'nothing', 'background')
# Objects the simulator does not have: texts no image may match ("no match" training).
UNKNOWN_NOUNS = ('chair', 'table', 'person', 'dog', 'cat', 'car', 'bottle', 'cup', 'door',
                 'window', 'plant', 'laptop', 'phone', 'book', 'shoe', 'bag', 'apple',
                 'banana', 'bird', 'horse', 'truck', 'bed', 'clock', 'vase', 'kettle',
                 'mug', 'chair leg', 'toy', 'robot', 'tree', 'shelf', 'backpack', 'hat',
                 'umbrella', 'keyboard', 'pen', 'plate', 'fork', 'spoon', 'bowl')
# Never seen in training at all; the benchmark and the tests use them as unknown objects.
HELD_OUT_NOUNS = ('piano', 'sofa', 'guitar', 'bicycle', 'television', 'lamp')

OBJECT, BACKGROUND, UNKNOWN = 0, 1, 2
# Region labels are distributions over classes: 0 is background (floor, walls, robot), then
# one class per colour-shape combination (see class_index).
CLASSES = 1 + len(COLOUR_NAMES) * len(SHAPES)


def class_index(colour, shape):
    """Give the class of colour and shape indices (ints or arrays): 1 + colour * shapes + shape."""
    return 1 + colour * len(SHAPES) + shape


def class_attributes() -> tuple[np.ndarray, np.ndarray]:
    """Colour and shape index of every class, (CLASSES,) each; -1 for background."""
    colour = np.concatenate([[-1], np.repeat(np.arange(len(COLOUR_NAMES)), len(SHAPES))])
    shape = np.concatenate([[-1], np.tile(np.arange(len(SHAPES)), len(COLOUR_NAMES))])
    return colour, shape


def _with_articles(text: str) -> list[str]:
    """``text`` and, where 'a' precedes a vowel, the 'an' form: both occur in speech."""
    fixed = re.sub(r'\ba (?=[aeiou])', 'an ', text)
    return [text] if fixed == text else [text, fixed]


class CaptionBank:
    """
    Every caption the grammar makes, tokenized once, with its meaning.

    Sampling a batch's captions is then index arithmetic, not string building and
    tokenizing per step (which starved the GPU). ``kind``, ``colour`` and ``shape`` say
    what each caption states (-1: colour or shape not stated).
    """

    FULL, COLOUR, SHAPE = 0.7, 0.15, 0.15  # how object crops are described

    def __init__(self):
        texts, kind, colour, shape = [], [], [], []

        def add(phrases, caption_kind, caption_colour=-1, caption_shape=-1):
            first = len(texts)
            for phrase in phrases:
                for text in _with_articles(phrase):
                    texts.append(text)
                    kind.append(caption_kind)
                    colour.append(caption_colour)
                    shape.append(caption_shape)
            return np.arange(first, len(texts))

        self.full = {}
        for c, colour_name in enumerate(COLOUR_NAMES):
            for s, shape_name in enumerate(SHAPES):
                if (colour_name, shape_name) in HELD_OUT_COMBOS:
                    continue
                self.full[(c, s)] = add([t.format(f'{cw} {sw}') for t in OBJECT_TEMPLATES
                                         for cw in COLOR_WORDS[colour_name]
                                         for sw in SHAPE_WORDS[shape_name]], OBJECT, c, s)
        self.colour_only = [add([t.format(cw) for t in COLOUR_ONLY
                                 for cw in COLOR_WORDS[name]], OBJECT, caption_colour=c)
                            for c, name in enumerate(COLOUR_NAMES)]
        self.shape_only = [add([t.format(sw) for t in SHAPE_ONLY for sw in SHAPE_WORDS[name]],
                               OBJECT, caption_shape=s) for s, name in enumerate(SHAPES)]
        self.background = add(BACKGROUND_CAPTIONS, BACKGROUND)
        self.run_time_background = self.background[:len(DEFAULT_BACKGROUND_PROMPTS)]
        nouns = list(UNKNOWN_NOUNS) + [f'{c} {n}' for c in COLOUR_NAMES for n in UNKNOWN_NOUNS]
        self.unknown = add([t.format(n) for t in OBJECT_TEMPLATES for n in nouns], UNKNOWN)
        self.texts = texts
        self.kind, self.colour, self.shape = np.array(kind), np.array(colour), np.array(shape)

    def sample(self, rng: np.random.Generator, colour: np.ndarray, shape: np.ndarray,
               weight: np.ndarray, unknown: int) -> np.ndarray:
        """
        Sample caption indices for a batch of regions.

        First the run-time background prompts (the references a region's run-time score is taken
        against), then one caption per region and, for each object region, a hard negative
        (:meth:`hard_negative`), then ``unknown`` captions of objects the simulator does not have
        (negatives only).
        """
        chosen, negatives = [], []
        for c, s, w in zip(colour, shape, weight, strict=True):
            if c < 0 or w < 0.5:
                group = self.background
            else:
                draw = rng.random()
                group = (self.full[(c, s)] if draw < self.FULL else
                         self.colour_only[c] if draw < self.FULL + self.COLOUR else
                         self.shape_only[s])
                negatives.append(self.hard_negative(rng, c, s))
            chosen.append(group[rng.integers(len(group))])
        extra = rng.choice(self.unknown, size=unknown, replace=False)
        return np.concatenate([self.run_time_background, chosen, negatives, extra]
                              ).astype(np.int64)

    def hard_negative(self, rng: np.random.Generator, colour: int, shape: int) -> int:
        """
        Return a caption that differs from (colour, shape) in one attribute only.

        A caption of such a combination ("purple ball" for a blue ball, "blue box" for a blue
        ball): the confusions grounding must not make. Held-out combinations are never used.
        """
        while True:
            if rng.random() < 0.5:
                drawn = int(rng.integers(len(COLOUR_NAMES) - 1))
                other = (drawn + (drawn >= colour), shape)  # any colour but its own
            else:
                other = (colour, (shape + 1 + int(rng.integers(len(SHAPES) - 1))) % len(SHAPES))
            if other in self.full:
                group = self.full[other]
                return int(group[rng.integers(len(group))])


def vocabulary() -> list[str]:
    """
    Return the words of every caption that describes something in the simulator.

    Object and background captions; the unknown-object negatives are not vocabulary. Saved with the
    model, so grounding can refuse phrases the model was never taught.
    """
    bank = CaptionBank()
    words = {word for text, kind in zip(bank.texts, bank.kind, strict=True) if kind != UNKNOWN
             for word in re.findall(r'[a-z]+', text.lower())}
    return sorted(words)


def caption_corpus() -> list[str]:
    """All captions, for learning the tokenizer's vocabulary (held-out nouns never occur)."""
    return CaptionBank().texts


def class_agreement(kind: np.ndarray, colour: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """
    (CLASSES x captions) 0/1: which captions describe each class correctly.

    Background (row 0) agrees with the background captions; a colour-shape class with the
    object captions whose stated colour and shape (-1: not stated) are its own. Unknown-object
    captions agree with nothing. A region's soft targets are its class distribution times
    this matrix.
    """
    class_colour, class_shape = class_attributes()
    agrees = (kind[None] == OBJECT) & \
        ((colour[None] < 0) | (colour[None] == class_colour[:, None])) & \
        ((shape[None] < 0) | (shape[None] == class_shape[:, None]))
    agrees[0] = kind == BACKGROUND
    return agrees.astype(np.float32)


def crop_classes(colour: np.ndarray, shape: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """
    Return the (crops x CLASSES) class distribution of crops.

    ``weight`` on the crop's object class (1 for a good crop, less for a partial one), the rest on
    background (colour -1: all).
    """
    distribution = np.zeros((len(colour), CLASSES), np.float32)
    is_object = colour >= 0
    rows = np.flatnonzero(is_object)
    distribution[rows, class_index(colour[rows], shape[rows])] = weight[rows]
    distribution[:, 0] = np.where(is_object, 1.0 - weight, 1.0)
    return distribution


def match_weights(images_colour: np.ndarray, images_shape: np.ndarray,
                  images_weight: np.ndarray, kind: np.ndarray, colour: np.ndarray,
                  shape: np.ndarray) -> np.ndarray:
    """
    (images x captions) soft match matrix used as the contrastive targets.

    An object crop matches every caption whose stated colour and shape agree with it, with
    its weight (1 for a good crop, less for a partial one); the rest of its mass goes to
    background captions. A background crop (colour -1) matches background captions only.
    Unknown-object captions match nothing.
    """
    return crop_classes(images_colour, images_shape, images_weight) @ \
        class_agreement(kind, colour, shape)


@dataclass
class CropSet:
    """
    Rendered crops (N, S, S, 3) with labels and weights.

    Labels: colour/shape index (-1 for background); weight: the crop's weight as a view of its
    object (1 tight ... 0 background).
    """

    images: np.ndarray
    colour: np.ndarray
    shape: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.images)


def training_scene(seed: int) -> Scene:
    """Make a random scene whose held-out colour-shape combinations are recoloured."""
    scene = random_scene(seed, n_objects=(3, 7))
    rng = np.random.default_rng(seed + 1_000_003)
    objects = []
    for obj in scene.objects:
        while (obj.color, obj.shape) in HELD_OUT_COMBOS:
            obj = replace(obj, color=str(rng.choice(COLOUR_NAMES)))
        objects.append(obj)
    return replace(scene, objects=tuple(objects))


def view_poses(scene: Scene, rng: np.random.Generator, count: int) -> list[tuple]:
    """Robot poses looking roughly at a random object from 0.7-4.5 m, clear of everything."""
    poses = [scene.robot_start]
    half_room = scene.room_size / 2 - 0.4
    while len(poses) < count:
        target = scene.objects[int(rng.integers(len(scene.objects)))]
        distance, around = rng.uniform(0.7, 4.5), rng.uniform(-math.pi, math.pi)
        x = target.position[0] + distance * math.cos(around)
        y = target.position[1] + distance * math.sin(around)
        clear = all(obj.surface_distance(x, y) > ROBOT_RADIUS + 0.05 for obj in scene.objects)
        if clear and abs(x) < half_room and abs(y) < half_room:
            heading = math.atan2(target.position[1] - y, target.position[0] - x)
            poses.append((x, y, heading + rng.uniform(-0.45, 0.45)))
    return poses


def _crop_weight(iou: float) -> float:
    """How much a crop counts as a view of its object: 0 at IoU 0.3, 1 from IoU 0.7."""
    return float(np.clip((iou - 0.3) / 0.4, 0.0, 1.0))


def crops_from_view(image: np.ndarray, objects: np.ndarray, proposals: np.ndarray,
                    rng: np.random.Generator, size: int, max_proposals: int = 10):
    """
    Labelled crops of one rendered view: jittered true boxes and run-time proposals.

    ``objects`` rows are (colour, shape, x1, y1, x2, y2) of each visible object;
    ``proposals`` rows are boxes from ``propose`` on this view.
    Yields (crop, colour, shape, weight); colour -1 marks background.
    """
    truth = objects[:, 2:6].astype(np.float64)
    for colour, shape, *box in objects:
        x1, y1, x2, y2 = box
        w, h = x2 - x1, y2 - y1
        jitter = rng.uniform(-0.08, 0.08, 4) * np.array([w, h, w, h])
        context = rng.uniform(0.0, 0.4)
        yield square_crop(image, np.array(box) + jitter, size, context), colour, shape, 1.0
    for index in rng.permutation(len(proposals))[:max_proposals]:
        box = proposals[index]
        if len(truth):
            overlaps = box_iou(box[None], truth)[0]
            order = np.argsort(-overlaps)
            best = int(order[0])
            if len(order) > 1 and overlaps[order[1]] >= 0.3:
                continue  # two objects in one crop: no single right caption
            weight = _crop_weight(overlaps[best])
            if weight == 0.0 and (_fraction_inside(truth, box) > 0.5).any():
                continue  # a whole object in a much larger crop: neither object nor floor
            if weight > 0.0:
                yield square_crop(image, box, size), objects[best][0], objects[best][1], weight
                continue
        yield square_crop(image, box, size), -1, -1, 0.0


def _fraction_inside(truth: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Fraction of each true box's area that lies inside ``box``."""
    x1 = np.maximum(truth[:, 0], box[0])
    y1 = np.maximum(truth[:, 1], box[1])
    x2 = np.minimum(truth[:, 2], box[2])
    y2 = np.minimum(truth[:, 3], box[3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (truth[:, 2] - truth[:, 0]) * (truth[:, 3] - truth[:, 1])
    return inter / np.maximum(area, 1e-9)


@dataclass
class ViewSet:
    """
    Rendered views stored compactly, to cut crops and dense frames from on demand.

    Rendered views stored compactly: lossless PNG bytes (~6 kB per 320x240 view), each
    view's class label map (PNG, ~1 kB: :func:`class_index` per pixel, 0 for background, from
    the segmentation render), its visible objects and its run-time proposals. Crops and
    dense frames are cut from it on demand, so one file of views feeds any number of
    differently jittered crops.
    """

    png: np.ndarray           # uint8, all PNG files back to back
    offsets: np.ndarray       # int64 (views + 1,), start of each view in ``png``
    label_png: np.ndarray     # uint8, all label-map PNG files back to back
    label_offsets: np.ndarray  # int64 (views + 1,), start of each label map in ``label_png``
    objects: np.ndarray       # int32 (M, 7): view, colour, shape, x1, y1, x2, y2
    proposals: np.ndarray     # float32 (K, 5): view, x1, y1, x2, y2

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def image(self, view: int) -> np.ndarray:
        encoded = self.png[self.offsets[view]:self.offsets[view + 1]]
        return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    def labels(self, view: int) -> np.ndarray:
        """(H, W) uint8 class of every pixel (:func:`class_index`; 0: background)."""
        encoded = self.label_png[self.label_offsets[view]:self.label_offsets[view + 1]]
        return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)

    def view_objects(self, view: int) -> np.ndarray:
        return self.objects[self.objects[:, 0] == view, 1:]

    def view_proposals(self, view: int) -> np.ndarray:
        return self.proposals[self.proposals[:, 0] == view, 1:]

    def save(self, path) -> None:
        np.savez(path, png=self.png, offsets=self.offsets, label_png=self.label_png,
                 label_offsets=self.label_offsets, objects=self.objects,
                 proposals=self.proposals)

    @classmethod
    def load(cls, path) -> ViewSet:
        with np.load(path) as arrays:
            if 'label_png' not in arrays:
                raise ValueError(f'{path} holds views without segmentation labels (rendered '
                                 'by an older version of this script): delete it to render '
                                 'them again')
            return cls(arrays['png'], arrays['offsets'], arrays['label_png'],
                       arrays['label_offsets'], arrays['objects'], arrays['proposals'])

    @classmethod
    def concatenate(cls, parts: list[ViewSet]) -> ViewSet:
        """One set of the views of ``parts``, in order (view indices renumbered)."""
        first_view = np.cumsum([0] + [len(part) for part in parts[:-1]])
        objects = [part.objects + np.array([first, 0, 0, 0, 0, 0, 0], np.int32)
                   for part, first in zip(parts, first_view, strict=True)]
        proposals = [part.proposals + np.array([first, 0, 0, 0, 0], np.float32)
                     for part, first in zip(parts, first_view, strict=True)]
        return cls(*_join_encoded([(p.png, p.offsets) for p in parts]),
                   *_join_encoded([(p.label_png, p.label_offsets) for p in parts]),
                   np.concatenate(objects), np.concatenate(proposals))


def _join_encoded(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Byte buffers with their (files + 1) offsets joined into one buffer and offsets."""
    starts = np.cumsum([0] + [len(data) for data, _ in parts[:-1]])
    offsets = np.concatenate([[0]] + [offsets[1:] + start
                                      for (_, offsets), start in zip(parts, starts, strict=True)])
    return np.concatenate([data for data, _ in parts]), offsets.astype(np.int64)


def _encode_png(image: np.ndarray) -> np.ndarray:
    ok, png = cv2.imencode('.png', image)
    if not ok:
        raise RuntimeError('PNG encoding failed')
    return png.ravel()


def render_views(seeds: range, views_per_scene: int,
                 scene_for_seed: Callable[[int], Scene], min_pixels: int = 30,
                 workers: int = 1) -> ViewSet:
    """
    Render views of the scenes ``scene_for_seed`` makes, in parallel.

    Scenes: training_scene or evaluation_scene; the views come with their class label maps, visible
    objects and proposals. Scenes are split over ``workers`` processes (the result does not depend
    on their number).
    """
    chunks = [(seeds[start:start + 50], views_per_scene, scene_for_seed, min_pixels)
              for start in range(0, len(seeds), 50)]
    if workers > 1:
        from multiprocessing import get_context

        with get_context('fork').Pool(workers) as pool:
            return ViewSet.concatenate(pool.starmap(_render_scenes, chunks))
    return ViewSet.concatenate([_render_scenes(*chunk) for chunk in chunks])


def _render_scenes(seeds: range, views_per_scene: int, scene_for_seed: Callable[[int], Scene],
                   min_pixels: int) -> ViewSet:
    from ..sim.world import CameraSpec, SimWorld

    encoded, labels, objects, proposals = [], [], [], []
    config = ProposalConfig()
    for seed in seeds:
        scene = scene_for_seed(seed)
        rng = np.random.default_rng(seed)
        object_class = np.array([0] + [class_index(COLOUR_NAMES.index(obj.color),
                                                   SHAPES.index(obj.shape))
                                       for obj in scene.objects], np.uint8)
        with SimWorld(scene, CameraSpec()) as world:
            for pose in view_poses(scene, rng, views_per_scene):
                world.set_robot_pose(*pose)
                image = world.render()
                segmentation = world.render_segmentation()
                view = len(encoded)
                encoded.append(_encode_png(cv2.cvtColor(image, cv2.COLOR_RGB2BGR)))
                labels.append(_encode_png(object_class[segmentation + 1]))
                for name, seen in world.visible_objects(min_pixels, segmentation).items():
                    obj = scene.object(name)
                    objects.append((view, COLOUR_NAMES.index(obj.color),
                                    SHAPES.index(obj.shape), *seen.box))
                # As the simulator's grounding ranks them: colour segments first.
                boxes = propose(image, config, max_boxes=48, colour_first=48)
                proposals += [(view, *box) for box in boxes]
    offsets = np.cumsum([0] + [len(p) for p in encoded]).astype(np.int64)
    label_offsets = np.cumsum([0] + [len(p) for p in labels]).astype(np.int64)
    return ViewSet(np.concatenate(encoded), offsets, np.concatenate(labels), label_offsets,
                   np.array(objects, dtype=np.int32).reshape(-1, 7),
                   np.array(proposals, dtype=np.float32).reshape(-1, 5))


def evaluation_scene(seed: int) -> Scene:
    """
    Make a random scene in which one object has a held-out colour-shape combination.

    So that evaluation covers both seen and held-out combinations.
    """
    scene = random_scene(seed, n_objects=(3, 7))
    rng = np.random.default_rng(seed + 2_000_003)
    colour, shape = HELD_OUT_COMBOS[int(rng.integers(len(HELD_OUT_COMBOS)))]
    # Mid-range sizes; a footprint this size never closes the generator's minimum gap.
    size = {'box': (0.14, 0.14, 0.14), 'sphere': (0.14,), 'cylinder': (0.11, 0.2)}[shape]
    first = replace(scene.objects[0], color=colour, shape=shape, size=size)
    return replace(scene, objects=(first, *scene.objects[1:]))


def cut_crops(views: ViewSet, view_indices, seed: int, size: int) -> CropSet:
    """Crops of the given views (one pass: each view's true boxes and some proposals)."""
    rng = np.random.default_rng(seed)
    images, colours, shapes, weights = [], [], [], []
    for view in view_indices:
        for crop, colour, shape, weight in crops_from_view(
                views.image(view), views.view_objects(view), views.view_proposals(view),
                rng, size):
            images.append(crop)
            colours.append(colour)
            shapes.append(shape)
            weights.append(weight)
    return CropSet(np.stack(images), np.array(colours, dtype=np.int64),
                   np.array(shapes, dtype=np.int64), np.array(weights, dtype=np.float32))


_SHARED_VIEWS: ViewSet | None = None  # what forked workers of _map_views cut from


def _with_shared_views(function: Callable, chunk: tuple):
    return function(_SHARED_VIEWS, *chunk)


def _map_views(function: Callable, views: ViewSet, chunks: list[tuple], workers: int) -> list:
    """
    Call ``function(views, *chunk)`` for every chunk, in forked processes.

    ``workers`` forked processes that inherit ``views`` (passing them with each chunk would pickle
    the whole set every time).
    """
    global _SHARED_VIEWS
    if workers <= 1:
        return [function(views, *chunk) for chunk in chunks]
    from multiprocessing import get_context

    _SHARED_VIEWS = views
    try:
        with get_context('fork').Pool(workers) as pool:
            return pool.starmap(_with_shared_views, [(function, chunk) for chunk in chunks])
    finally:
        _SHARED_VIEWS = None


def crop_pool(views: ViewSet, passes: int, seed: int, size: int, workers: int = 1) -> CropSet:
    """Cut ``passes`` differently jittered crop sets of every view, in parallel."""
    chunks = [(range(start, min(start + 256, len(views))), seed * 1_000 + p * 97 + i, size)
              for p in range(passes) for i, start in enumerate(range(0, len(views), 256))]
    parts = _map_views(cut_crops, views, chunks, workers)
    return CropSet(*(np.concatenate([getattr(part, k) for part in parts])
                     for k in ('images', 'colour', 'shape', 'weight')))


def dense_input_size(width: int, height: int, short_side: int, patch_size: int
                     ) -> tuple[int, int]:
    """
    Return the (width, height) in pixels the dense pass resizes a frame to.

    For a ``width`` x ``height`` frame: short side about ``short_side``, aspect ratio kept, both
    sides multiples of ``patch_size`` (the rule of ``ClipEncoderBase.dense_pixels``, which the
    tests check).
    """
    scale = short_side / min(height, width)
    return (max(patch_size, round(width * scale / patch_size) * patch_size),
            max(patch_size, round(height * scale / patch_size) * patch_size))


def patch_classes(labels: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """
    Return the (rows, cols, CLASSES) share of each patch's area each class covers.

    From a class label map (H, W) of the frame that the patch grid divides into ``rows`` x ``cols``
    equal cells (area-averaged, so a patch half on a ball is 0.5 ball, 0.5 background).
    """
    shares = np.zeros((rows, cols, CLASSES), np.float32)
    for label in np.unique(labels):
        mask = (labels == label).astype(np.float32)
        shares[:, :, label] = cv2.resize(mask, (cols, rows), interpolation=cv2.INTER_AREA)
    return shares / shares.sum(axis=2, keepdims=True)


@dataclass
class FrameSet:
    """Whole views as the dense pass sees them, with per-patch class distributions."""

    images: np.ndarray   # uint8 (N, H, W, 3): views resized like the dense pass' input
    classes: np.ndarray  # float16 (N, rows, cols, CLASSES): patch_classes of each view

    def __len__(self) -> int:
        return len(self.images)


def cut_frames(views: ViewSet, view_indices, image_size: int, patch_size: int) -> FrameSet:
    """
    Cut the dense pass' input of the given views, and each patch's class distribution.

    The input has short side ``image_size``; the distribution is of each of its ``patch_size``
    patches.
    """
    images, classes = [], []
    for view in view_indices:
        image = views.image(view)
        width, height = dense_input_size(image.shape[1], image.shape[0], image_size,
                                         patch_size)
        images.append(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))
        classes.append(patch_classes(views.labels(view), width // patch_size,
                                     height // patch_size).astype(np.float16))
    return FrameSet(np.stack(images), np.stack(classes))


def frame_pool(views: ViewSet, image_size: int, patch_size: int, workers: int = 1
               ) -> FrameSet:
    """:func:`cut_frames` of every view, in parallel."""
    chunks = [(range(start, min(start + 256, len(views))), image_size, patch_size)
              for start in range(0, len(views), 256)]
    parts = _map_views(cut_frames, views, chunks, workers)
    return FrameSet(np.concatenate([part.images for part in parts]),
                    np.concatenate([part.classes for part in parts]))
