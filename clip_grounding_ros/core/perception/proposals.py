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
Class-agnostic box proposals and box utilities for crop scoring.

Three sources, merged into one ranked list (:func:`propose`):

- colour segments: k-means colour clusters of a small copy, their connected components
  ranked by objectness (a rare colour filling a compact box), and unions of touching
  segments, so that an object shaded differently on two faces is still proposed whole.
  Uniformly coloured objects (the simulator's, a red cup) are found best this way;
- the segmentation consensus: selective search (Uijlings et al., "Selective Search for
  Object Recognition", IJCV 2013; OpenCV contrib's implementation: graph-based segmentation,
  Felzenszwalb and Huttenlocher 2004, then hierarchical grouping) run with several colour
  spaces, segmentation scales and grouping strategies on the small copy. A region that
  several of those runs propose alike (IoU at least ``agreement``) is likely an object
  rather than an accident of one segmentation, so boxes are ranked by how many runs agree
  on them, smaller first among equals. Textured real objects are found best this way;
- multi-scale sliding windows and the whole frame, last, for what segmentation splits or
  misses.

No size cap drops a large box: an object the robot has come close to fills most of the frame
and must still be proposed. Boxes are (x1, y1, x2, y2) in source-image pixels (x2, y2
exclusive).
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import cv2
import numpy as np

from .images import check_rgb

GROUPING_STRATEGIES = ('colour', 'fill', 'size', 'texture')
COLOUR_SPACES = {'hsv': cv2.COLOR_RGB2HSV, 'lab': cv2.COLOR_RGB2Lab, 'rgb': None}


@dataclass(frozen=True)
class Segmentation:
    """
    One selective-search run: a colour space, a segmentation scale and grouping strategies.

    ``k`` is the graph segmentation's scale (larger: fewer, larger initial regions);
    ``strategies`` are the similarities hierarchical grouping merges regions by (of
    :data:`GROUPING_STRATEGIES`).
    """

    colour_space: str
    k: float
    strategies: tuple[str, ...] = GROUPING_STRATEGIES

    def __post_init__(self):
        if self.colour_space not in COLOUR_SPACES:
            raise ValueError(f"colour space '{self.colour_space}' is not one of "
                             f"{', '.join(COLOUR_SPACES)}")
        unknown = set(self.strategies) - set(GROUPING_STRATEGIES)
        if not self.strategies or unknown or not self.k > 0:
            raise ValueError(f'a segmentation needs k > 0 and strategies among '
                             f"{', '.join(GROUPING_STRATEGIES)}, got k={self.k}, "
                             f'{self.strategies}')


# Colour spaces, scales and strategies that disagree about accidental regions and agree
# about objects (measured on real photographs: bench/bench_proposals.py).
DEFAULT_SEGMENTATIONS = (
    Segmentation('hsv', 50.0),
    Segmentation('lab', 100.0),
    Segmentation('hsv', 200.0, ('fill', 'size')),
    Segmentation('lab', 400.0, ('colour', 'fill', 'size')),
)


@dataclass(frozen=True)
class ProposalConfig:
    """
    Knobs of the proposal generator (defaults suit 320x240 to 640x480 frames).

    Areas are fractions of the image; ``agreement`` is the IoU at which two segmentation
    runs' regions count as the same.
    """

    colours: int = 10                 # k-means clusters in Lab space
    work_width: int = 160             # segmentation runs on a copy this wide
    min_area: float = 0.0008          # smallest colour segment
    max_area: float = 1.0             # largest colour segment or union (1: no cap)
    segmentations: tuple[Segmentation, ...] = DEFAULT_SEGMENTATIONS
    agreement: float = 0.6
    window_scales: tuple[float, ...] = (0.3, 0.5)  # window side, fraction of the short side
    window_overlap: float = 0.5
    nms_iou: float = 0.8              # near-duplicate proposals are merged


def box_area(boxes: np.ndarray) -> np.ndarray:
    widths = np.clip(boxes[:, 2] - boxes[:, 0], 0, None)
    return widths * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) boxes in x1, y1, x2, y2 form -> (N, M)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Return the indices of boxes kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-np.asarray(scores), kind='stable')
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        if order.size == 1:
            break
        overlaps = box_iou(boxes[best:best + 1], boxes[order[1:]])[0]
        order = order[1:][overlaps <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def window_proposals(width: int, height: int, config: ProposalConfig) -> np.ndarray:
    """Square windows at several scales on a regular grid covering the image."""
    boxes = []
    for scale in config.window_scales:
        side = max(8.0, scale * min(width, height))
        stride = max(4.0, side * (1.0 - config.window_overlap))
        # The grid plus one window flush with the far edge, so the whole frame is covered.
        xs = np.unique(np.append(np.arange(0.0, max(width - side, 0.0), stride),
                                 max(width - side, 0.0)))
        ys = np.unique(np.append(np.arange(0.0, max(height - side, 0.0), stride),
                                 max(height - side, 0.0)))
        boxes += [(x, y, min(x + side, width), min(y + side, height)) for y in ys for x in xs]
    return np.array(boxes, dtype=np.float64).reshape(-1, 4)


def _small_copy(image: np.ndarray, config: ProposalConfig) -> tuple[np.ndarray, float]:
    """Return the image resized to ``work_width`` (never enlarged), and the scale applied."""
    height, width = image.shape[:2]
    scale = min(1.0, config.work_width / width)
    small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    return small, scale


def segment_proposals(image: np.ndarray, config: ProposalConfig) -> np.ndarray:
    """
    Boxes of colour segments, most object-like first, then unions of touching segments.

    Colours are clustered with k-means in Lab with lightness down-weighted, so shading
    across an object's faces splits it less than a change of hue does. A segment looks like
    an object when it fills a not too elongated box and its colour is rare in the frame
    (floor and walls are the common colours; blended pixels along edges form thin strips),
    so those come first and survive a cap on the crop count.
    """
    height, width = image.shape[:2]
    small, scale = _small_copy(image, config)
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (3, 3), 0), cv2.COLOR_RGB2Lab).astype(np.float32)
    lab[..., 0] *= 0.5
    samples = lab.reshape(-1, 3)
    clusters = min(config.colours, len(np.unique(samples, axis=0)))
    if clusters < 2:
        return np.zeros((0, 4))
    cv2.setRNGSeed(0)  # deterministic proposals for the same frame
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    _, labels, _ = cv2.kmeans(samples, clusters, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    labels = labels.reshape(small.shape[:2])
    area = small.shape[0] * small.shape[1]
    segments, objectness = [], []
    for cluster in range(clusters):
        mask = labels == cluster
        rarity = 1.0 - mask.sum() / area
        count, _, stats, _ = cv2.connectedComponentsWithStats(
            mask.astype(np.uint8), connectivity=8)
        for x, y, w, h, pixels in stats[1:]:
            if pixels >= config.min_area * area and w * h <= config.max_area * area:
                segments.append((x, y, x + w, y + h))
                elongation = min(w, h) / max(w, h)
                objectness.append(rarity * pixels / (w * h) * math.sqrt(elongation))
    order = np.argsort(-np.array(objectness), kind='stable')
    # Pixels on a segment's border are blends and cluster elsewhere: widen by half a pixel.
    segments = np.array(segments, dtype=np.float64).reshape(-1, 4)[order]
    segments += [-0.5, -0.5, 0.5, 0.5]
    unions = _touching_unions(segments, config.max_area * area)
    boxes = np.concatenate([segments, unions]) / scale
    return np.clip(boxes, 0, [width, height, width, height])


def _touching_unions(boxes: np.ndarray, max_area: float) -> np.ndarray:
    """Union boxes of every pair of boxes that touch or overlap (one grouping level)."""
    if len(boxes) < 2:
        return np.zeros((0, 4))
    grown = boxes + np.array([-1.0, -1.0, 1.0, 1.0])
    touching = box_iou(grown, grown) > 0
    first, second = np.nonzero(np.triu(touching, k=1))
    unions = np.stack([np.minimum(boxes[first, 0], boxes[second, 0]),
                       np.minimum(boxes[first, 1], boxes[second, 1]),
                       np.maximum(boxes[first, 2], boxes[second, 2]),
                       np.maximum(boxes[first, 3], boxes[second, 3])], axis=1)
    return unions[box_area(unions) <= max_area]


def segmentation_available() -> bool:
    """Whether OpenCV's contrib module for segmentation (cv2.ximgproc) is installed."""
    return hasattr(cv2, 'ximgproc')


def _strategy(names: tuple[str, ...]):
    """Make the grouping strategy: a new one per run, as it holds the run's regions."""
    segmentation = cv2.ximgproc.segmentation
    make = {'colour': segmentation.createSelectiveSearchSegmentationStrategyColor,
            'fill': segmentation.createSelectiveSearchSegmentationStrategyFill,
            'size': segmentation.createSelectiveSearchSegmentationStrategySize,
            'texture': segmentation.createSelectiveSearchSegmentationStrategyTexture}
    return segmentation.createSelectiveSearchSegmentationStrategyMultiple(
        *(make[name]() for name in names))


def _selective_search(small: np.ndarray, run: Segmentation) -> np.ndarray:
    """Return the regions (N, 4) of one selective-search run on an RGB image, sorted."""
    segmentation = cv2.ximgproc.segmentation
    search = segmentation.createSelectiveSearchSegmentation()
    conversion = COLOUR_SPACES[run.colour_space]
    search.addImage(small if conversion is None else cv2.cvtColor(small, conversion))
    search.addGraphSegmentation(segmentation.createGraphSegmentation(0.8, float(run.k)))
    search.addStrategy(_strategy(run.strategies))
    regions = search.process().astype(np.float64).reshape(-1, 4)
    boxes = np.column_stack([regions[:, :2], regions[:, :2] + regions[:, 2:]])
    # Its order is random between calls (OpenCV ranks by hierarchy level times a random
    # number it does not seed): a canonical order keeps proposals the same for a frame.
    return boxes[np.lexsort(boxes.T[::-1])]


def segmentation_proposals(image: np.ndarray, config: ProposalConfig) -> np.ndarray:
    """
    Boxes of the segmentation consensus, the regions most runs agree on first.

    Each of ``config.segmentations`` is a selective-search run on the small copy; a
    region's votes are the number of runs with a region within ``agreement`` IoU of it
    (its own included). Ranked by votes, then smaller area first. Empty without
    cv2.ximgproc.
    """
    if not segmentation_available() or not config.segmentations:
        return np.zeros((0, 4))
    height, width = image.shape[:2]
    small, scale = _small_copy(image, config)
    runs = [_selective_search(small, run) for run in config.segmentations]
    boxes = np.concatenate(runs)
    if not len(boxes):
        return np.zeros((0, 4))
    run_of = np.repeat(np.arange(len(runs)), [len(r) for r in runs])
    agree = box_iou(boxes, boxes) >= config.agreement
    votes = np.zeros(len(boxes))
    for index in range(len(runs)):
        votes += agree[:, run_of == index].any(axis=1)
    order = np.lexsort((box_area(boxes), -votes))
    return np.clip(boxes[order] / scale, 0, [width, height, width, height])


def propose(image: np.ndarray, config: ProposalConfig, max_boxes: int,
            colour_first: int = 0) -> np.ndarray:
    """
    Return at most ``max_boxes`` proposals (N, 4), (x1, y1, x2, y2) pixels, most promising first.

    ``image``: RGB (H, W, 3), or what :func:`.images.check_rgb` converts (grey, RGBA, floats
    in 0..1, 16-bit); ImageError for anything else. The best ``colour_first`` colour
    segments, the segmentation consensus, the other colour segments, the whole frame and the
    windows; near-duplicates (``nms_iou``) keep the first. In a world of flat colours (the
    simulator) colour segments are the objects, and ranked first they survive a small
    ``max_boxes``; in real images the consensus ranks better.
    """
    image = check_rgb(image)
    height, width = image.shape[:2]
    colour = segment_proposals(image, config)
    first = max(0, colour_first)
    boxes = np.concatenate([colour[:first], segmentation_proposals(image, config),
                            colour[first:], [[0.0, 0.0, float(width), float(height)]],
                            window_proposals(width, height, config)])
    return _first_distinct(boxes, config.nms_iou, max_boxes)


def _first_distinct(boxes: np.ndarray, iou_threshold: float, limit: int) -> np.ndarray:
    """Keep the first ``limit`` boxes, in order, that overlap no earlier kept one above the IoU."""
    kept: list[int] = []
    for index in range(len(boxes)):
        if len(kept) >= limit:
            break
        if not kept or box_iou(boxes[index:index + 1], boxes[kept]).max() <= iou_threshold:
            kept.append(index)
    return boxes[kept]


def square_crop(image: np.ndarray, box, size: int, context: float = 0.15) -> np.ndarray:
    """
    Cut a ``size`` x ``size`` view of ``box`` with some context, keeping the aspect ratio.

    The square is centred on the box with side max(w, h) * (1 + 2 * context). Only the box
    and a margin of ``context`` * max(w, h) around it show the image; the rest of the square
    (beside a tall box, above and below a wide one) and parts outside the frame are mid
    grey.
    Why: the score must come from what the box holds; with the whole square shown, a thin
    box along an obstacle's top edge scored as the object standing behind it (ReCLIP
    isolates a proposal the same way, by cropping). Shapes are not stretched. Training
    renders crops with this same function, so the model sees at run time what it was
    trained on.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    longest = max(x2 - x1, y2 - y1, 2.0)
    side = longest * (1.0 + 2.0 * context)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    side_px = max(2, int(round(side)))
    height, width = image.shape[:2]
    margin = context * longest
    shown_x1 = max(left, 0, int(round(x1 - margin)))
    shown_x2 = min(left + side_px, width, int(round(x2 + margin)))
    shown_y1 = max(top, 0, int(round(y1 - margin)))
    shown_y2 = min(top + side_px, height, int(round(y2 + margin)))
    src = np.full((side_px, side_px, 3), 128, dtype=np.uint8)
    if shown_x2 > shown_x1 and shown_y2 > shown_y1:
        src[shown_y1 - top:shown_y2 - top, shown_x1 - left:shown_x2 - left] = \
            image[shown_y1:shown_y2, shown_x1:shown_x2]
    interpolation = cv2.INTER_AREA if side_px > size else cv2.INTER_LINEAR
    return cv2.resize(src, (size, size), interpolation=interpolation)
