"""Training data for the simulator CLIP model: rendered crops and captions from a grammar.

Crops are made the way grounding makes them at run time (the same proposals and the same
square crop), so the model learns to rank exactly what it will be asked to rank: tight
object crops score high, partial crops lower, floor and wall crops as background.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..core.grounding import DEFAULT_BACKGROUND_PROMPTS
from ..core.proposals import ProposalConfig, box_iou, propose, square_crop
from ..sim import COLOR_WORDS, COLORS, ROBOT_RADIUS, SHAPE_WORDS, SHAPES, Scene, random_scene

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


def _with_articles(text: str) -> list[str]:
    """``text`` and, where 'a' precedes a vowel, the 'an' form: both occur in speech."""
    fixed = re.sub(r'\ba (?=[aeiou])', 'an ', text)
    return [text] if fixed == text else [text, fixed]


class CaptionBank:
    """Every caption the grammar makes, tokenized once, with its meaning.

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
        """One caption index per crop, then the run-time background prompts and ``unknown``
        captions of objects the simulator does not have (negatives only)."""
        chosen = []
        for c, s, w in zip(colour, shape, weight, strict=True):
            if c < 0 or w < 0.5:
                group = self.background
            else:
                draw = rng.random()
                group = (self.full[(c, s)] if draw < self.FULL else
                         self.colour_only[c] if draw < self.FULL + self.COLOUR else
                         self.shape_only[s])
            chosen.append(group[rng.integers(len(group))])
        extra = rng.choice(self.unknown, size=unknown, replace=False)
        return np.concatenate([chosen, self.run_time_background, extra]).astype(np.int64)


def vocabulary() -> list[str]:
    """The words of every caption that describes something in the simulator (object and
    background captions; the unknown-object negatives are not vocabulary). Saved with the
    model, so grounding can refuse phrases the model was never taught."""
    bank = CaptionBank()
    words = {word for text, kind in zip(bank.texts, bank.kind, strict=True) if kind != UNKNOWN
             for word in re.findall(r'[a-z]+', text.lower())}
    return sorted(words)


def caption_corpus() -> list[str]:
    """All captions, for learning the tokenizer's vocabulary (held-out nouns never occur)."""
    return CaptionBank().texts


def match_weights(images_colour: np.ndarray, images_shape: np.ndarray,
                  images_weight: np.ndarray, kind: np.ndarray, colour: np.ndarray,
                  shape: np.ndarray) -> np.ndarray:
    """(images x captions) soft match matrix used as the contrastive targets.

    An object crop matches every caption whose stated colour and shape agree with it, with
    its weight (1 for a good crop, less for a partial one); the rest of its mass goes to
    background captions. A background crop (colour -1) matches background captions only.
    Unknown-object captions match nothing.
    """
    is_object = images_colour[:, None] >= 0
    agrees = (kind[None] == OBJECT) & \
        ((colour[None] < 0) | (colour[None] == images_colour[:, None])) & \
        ((shape[None] < 0) | (shape[None] == images_shape[:, None]))
    weights = np.where(is_object & agrees, images_weight[:, None], 0.0)
    background_share = np.where(is_object, 1.0 - images_weight[:, None], 1.0)
    weights += np.where(kind[None] == BACKGROUND, background_share, 0.0)
    return weights


@dataclass
class CropSet:
    """Rendered crops (N, S, S, 3) with labels: colour/shape index (-1 for background) and
    the crop's weight as a view of its object (1 tight ... 0 background)."""

    images: np.ndarray
    colour: np.ndarray
    shape: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.images)


def training_scene(seed: int) -> Scene:
    """A random scene whose held-out colour-shape combinations are recoloured."""
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
    """Labelled crops of one rendered view: jittered true boxes and run-time proposals.

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
    """Rendered views stored compactly: lossless PNG bytes (~6 kB per 320x240 view), each
    view's visible objects and its run-time proposals. Crops are cut from it on demand, so
    one file of views feeds any number of differently jittered crops."""

    png: np.ndarray        # uint8, all PNG files back to back
    offsets: np.ndarray    # int64 (views + 1,), start of each view in ``png``
    objects: np.ndarray    # int32 (M, 7): view, colour, shape, x1, y1, x2, y2
    proposals: np.ndarray  # float32 (K, 5): view, x1, y1, x2, y2

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def image(self, view: int) -> np.ndarray:
        encoded = self.png[self.offsets[view]:self.offsets[view + 1]]
        return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    def view_objects(self, view: int) -> np.ndarray:
        return self.objects[self.objects[:, 0] == view, 1:]

    def view_proposals(self, view: int) -> np.ndarray:
        return self.proposals[self.proposals[:, 0] == view, 1:]

    def save(self, path) -> None:
        np.savez(path, png=self.png, offsets=self.offsets, objects=self.objects,
                 proposals=self.proposals)

    @classmethod
    def load(cls, path) -> ViewSet:
        with np.load(path) as arrays:
            return cls(arrays['png'], arrays['offsets'], arrays['objects'], arrays['proposals'])


def render_views(seeds: range, views_per_scene: int,
                 scene_for_seed: Callable[[int], Scene], min_pixels: int = 30) -> ViewSet:
    """Render views of the scenes ``scene_for_seed`` makes (training_scene or
    evaluation_scene) with their visible objects and proposals."""
    from ..sim import CameraSpec, SimWorld

    encoded, objects, proposals = [], [], []
    config = ProposalConfig()
    for seed in seeds:
        scene = scene_for_seed(seed)
        rng = np.random.default_rng(seed)
        with SimWorld(scene, CameraSpec()) as world:
            for pose in view_poses(scene, rng, views_per_scene):
                world.set_robot_pose(*pose)
                image = world.render()
                view = len(encoded)
                ok, png = cv2.imencode('.png', cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                encoded.append(png.ravel())
                for name, seen in world.visible_objects(min_pixels=min_pixels).items():
                    obj = scene.object(name)
                    objects.append((view, COLOUR_NAMES.index(obj.color),
                                    SHAPES.index(obj.shape), *seen.box))
                proposals += [(view, *box) for box in propose(image, config, max_boxes=48)]
    offsets = np.cumsum([0] + [len(p) for p in encoded]).astype(np.int64)
    return ViewSet(np.concatenate(encoded), offsets,
                   np.array(objects, dtype=np.int32).reshape(-1, 7),
                   np.array(proposals, dtype=np.float32).reshape(-1, 5))


def evaluation_scene(seed: int) -> Scene:
    """A random scene in which one object has a held-out colour-shape combination, so that
    evaluation covers both seen and held-out combinations."""
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


def crop_pool(views: ViewSet, passes: int, seed: int, size: int, workers: int = 1) -> CropSet:
    """``passes`` differently jittered crop sets of every view, cut in parallel."""
    chunks = [(views, range(start, min(start + 256, len(views))), seed * 1_000 + p * 97 + i,
               size) for p in range(passes)
              for i, start in enumerate(range(0, len(views), 256))]
    if workers > 1:
        from multiprocessing import get_context

        with get_context('fork').Pool(workers) as pool:
            parts = pool.starmap(cut_crops, chunks)
    else:
        parts = [cut_crops(*chunk) for chunk in chunks]
    return CropSet(*(np.concatenate([getattr(part, k) for part in parts])
                     for k in ('images', 'colour', 'shape', 'weight')))
