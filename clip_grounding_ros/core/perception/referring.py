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
Which grounded candidate a referring expression means.

For example "the box on the left", "the second ball from the right", "the box next to the red
ball".

CLIP scores what a region shows but is weak at spatial relations between regions. ReCLIP
(Subramanian et al., "ReCLIP: A Strong Zero-Shot Baseline for Referring Expression
Comprehension", ACL 2022) therefore grounds the head noun phrase ("box") and the reference
phrase ("red ball") separately and chooses among the scored regions with explicit spatial
rules. This module is that second step. Grounding gives, per frame, candidates for a phrase
(boxes in source-image pixels with a probability, :class:`.grounding.Candidate`);
:func:`place_candidate` adds where each one is in the base frame (REP-103: x forward, y
left, metres) and how wide it is; :func:`resolve` applies the relation's rule.

Rules every relation shares:

- competition: the candidates given are the phrase's matches (they reached
  ``score_threshold``, which the grounder applies:
  :attr:`.grounding.GroundingResult.matches`), and overlapping duplicates (IoU > 0.5, as
  the grounder's NMS) count once: the higher-scored one stands for both; and a box that
  holds another competitor (more than 80 % of that one's area) is dropped: it frames two
  objects at once, such as a proposal around the named object and the obstacle in front
  of it, and its position (its bottom edge, its depth) would be the nearer object's;
- geometry first: a rule measures in the base frame when every competitor (and the
  reference object) has a position, else in the image, and the explanation then says so;
- ties: equal measures go to the higher score, then to the lower candidate index.

After a choice the node follows that object by position with :func:`associate`: applying
the relation again on later frames could pick another object, since "the box on the left"
changes as the robot drives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
from typing import TYPE_CHECKING

import numpy as np

from .proposals import box_iou, nms
from ..language.steps import Referring, Relation
from ..world.camera import CameraMount, Intrinsics, locate_box

if TYPE_CHECKING:
    from .grounding import Candidate

DUPLICATE_IOU = 0.5    # boxes overlapping more than this show the same object
CONTAINED = 0.8        # a box holding this much of a smaller competitor's area frames both
PART_BELOW = 0.05      # a part of the reference ends at most this share of its height lower
IN_LINE_M = 0.5        # in front of / behind: largest sideways offset from the sight line
MAX_EXPLANATION = 160  # characters
AMBIGUITY_HINT = "say 'the one on the left' to choose"

_ON_ITS_OWN = (Relation.LEFTMOST, Relation.RIGHTMOST, Relation.MIDDLE, Relation.NEAREST,
               Relation.FARTHEST, Relation.BIGGEST, Relation.SMALLEST)
_ORDINALS = (Relation.ORDINAL_LEFT, Relation.ORDINAL_RIGHT)
_TO_REFERENCE = {Relation.NEXT_TO: 'next to', Relation.LEFT_OF: 'left of',
                 Relation.RIGHT_OF: 'right of', Relation.IN_FRONT_OF: 'in front of',
                 Relation.BEHIND: 'behind'}


class ResolutionError(ValueError):
    """The expression cannot be resolved on this frame; the message says why, for the user."""


@dataclass(frozen=True)
class Placed:
    """
    One grounded candidate and where it is.

    ``box`` is (x1, y1, x2, y2) in source-image pixels; ``score`` the probability that it
    shows the phrase, in [0, 1]; ``position`` (x, y) in the base frame in metres, None when
    it could not be placed; ``width`` its metric width in metres, None when unknown.
    """

    box: tuple[float, float, float, float]
    score: float
    position: tuple[float, float] | None = None
    width: float | None = None

    @property
    def centre_x(self) -> float:
        """Image column of the box centre (pixels)."""
        return (self.box[0] + self.box[2]) / 2.0

    @property
    def range(self) -> float | None:  # noqa: A003
        """Horizontal distance from the base origin (m), None without a position."""
        return None if self.position is None else math.hypot(*self.position)

    @property
    def bearing(self) -> float | None:
        """
        Return the bearing of a candidate from straight ahead (rad, left positive).

        The angle counter-clockwise from straight ahead; None without a position.
        """
        return None if self.position is None else math.atan2(self.position[1],
                                                             self.position[0])


@dataclass(frozen=True)
class Choice:
    """
    The chosen candidate, a one-line explanation and the competitors.

    The chosen candidate is an index into the candidates given; the explanation is for the user (at
    most ``MAX_EXPLANATION`` characters); the competitors are the other candidates that competed
    under the rule, best first (for ordinals: in the order counted).
    """

    index: int
    explanation: str
    competitors: tuple[int, ...]


def place_candidate(candidate: Candidate, intrinsics: Intrinsics, mount: CameraMount,
                    depth_m: np.ndarray | None = None) -> Placed:
    """
    Place ``candidate`` in the base frame and measure its pinhole width.

    ``candidate`` (box in pixels of the intrinsics' image) with its base-frame position
    from :func:`.geometry.locate_box` (depth if it has a reading there, else the floor point
    under the box) and its pinhole width: box width (px) x optical-axis depth of that
    point (m) / fx (px). Position and width are None when the box cannot be placed (its
    bottom edge above the horizon and no depth).
    """
    point = locate_box(candidate.box, intrinsics, mount, depth_m)
    if point is None:
        return Placed(tuple(candidate.box), candidate.score)
    optical = mount.rotation().T @ (np.array([point.x, point.y, point.z]) - mount.origin())
    width = (candidate.box[2] - candidate.box[0]) * float(optical[2]) / intrinsics.fx
    return Placed(tuple(candidate.box), candidate.score, (point.x, point.y), width)


def resolve(referring: Referring, candidates: Sequence[Placed], references: Sequence[Placed] = (),
            image_width: int = 0, phrase: str = '') -> Choice:
    """
    Return the candidate of ``phrase`` that ``referring`` means.

    ``referring`` holds the relation, the reference phrase and the 1-based ordinal;
    ``candidates`` are the placed matches of the head phrase and ``references``
    those of the reference phrase (for the relations to another object); ``image_width``
    (px) is needed only for MIDDLE without positions. Rules, after the shared ones of the
    module docstring; the image fall-backs are ReCLIP's kind of box comparison, the
    base-frame rules the same questions asked of REP-103 positions:

    - LEFTMOST / RIGHTMOST: the largest / smallest bearing (REP-103: counter-clockwise, so
      left, is positive), else the smallest / largest image x of the box centre; MIDDLE:
      the smallest absolute bearing (straight ahead), else the box centre nearest the image
      centre;
    - ORDINAL_LEFT / ORDINAL_RIGHT: the n-th in the LEFTMOST (RIGHTMOST) order, so the 1st
      from the left is always the leftmost;
    - NEAREST / FARTHEST: range from the base origin, else the box's bottom edge: lower in
      the image is nearer for objects standing on the floor, the ground-plane reasoning of
      :func:`.geometry.ground_point`;
    - BIGGEST / SMALLEST: metric width (pinhole model, see :func:`place_candidate`), else
      pixel area;
    - NEXT_TO, LEFT_OF, RIGHT_OF, IN_FRONT_OF, BEHIND, seen from the robot (the speaker's
      "relative" frame: in front of = between the robot and the reference): the reference is
      the reference phrase's best match; candidates showing that
      object itself, whole or a part of it (:func:`_part_of`), drop out. Of the rest, those on the
      relation's side of it compete: LEFT_OF / RIGHT_OF left / right of the robot's line of
      sight through the reference; IN_FRONT_OF / BEHIND nearer / farther along that line
      and within ``IN_LINE_M`` of it; in the image, left / right of the reference's centre
      and, for IN_FRONT_OF / BEHIND, a lower / higher bottom edge with overlapping columns.
      The one closest to the reference wins (base-frame distance, else pixel distance of
      the box centres).

    Raises :class:`ResolutionError` when there is no candidate, the reference phrase is empty
    or not in view, no candidate is on the relation's side, the ordinal is not within
    1..count, or MIDDLE has neither positions nor ``image_width``; ``ValueError`` for an
    unknown relation.
    """
    relation = referring.relation
    if relation not in _ON_ITS_OWN and relation not in _ORDINALS and relation not in _TO_REFERENCE:
        raise ValueError(f"unknown relation '{relation}'")
    group = _distinct(candidates)
    if not group:
        raise ResolutionError(f"no {repr(phrase) if phrase else 'match'} in view")
    if relation in _TO_REFERENCE:
        return _resolve_to_reference(referring, candidates, group, references, phrase)
    head = _head(len(group), phrase)
    measure = _measure(relation, [candidates[i] for i in group], image_width)
    position = referring.ordinal - 1 if relation in _ORDINALS else 0
    if not 0 <= position < len(group):
        raise ResolutionError(f"{head} in view: there is no {referring.describe(phrase or 'one')}")
    return _choice(_rank(group, measure.keys, candidates), position, group, measure,
                   f"{head}; chose the {referring.describe('one')}")


def choose_among_matches(candidates: Sequence[Placed], phrase: str = '') -> Choice | None:
    """
    Choose the candidate to take when the command names no relation but several match.

    Rule (issue 11, item 3): of the distinct matches (duplicates suppressed as in
    :func:`resolve`), the nearest, measured as NEAREST (range, else the
    lowest bottom edge): the nearest object is the quickest to reach and the least likely
    to be hidden on the way. With several, the explanation says so and how to choose
    another. None when there is no candidate.
    """
    group = _distinct(candidates)
    if not group:
        return None
    head = _head(len(group), phrase)
    if len(group) == 1:
        return Choice(group[0], head, ())
    measure = _measure(Relation.NEAREST, [candidates[i] for i in group], 0)
    return _choice(_rank(group, measure.keys, candidates), 0, group, measure,
                   f"{head}; chose the {Referring(Relation.NEAREST).describe('one')}",
                   AMBIGUITY_HINT)


def associate(previous: tuple[float, float], candidates: Sequence[Placed],
              gate_m: float) -> int | None:
    """
    Return the index of the candidate nearest ``previous``, within ``gate_m`` metres.

    The candidate whose position is nearest ``previous`` (x, y; m): how the node keeps following
    the object it chose.

    ``previous`` and the positions must be in one frame: the base frame will do when
    ``gate_m`` covers the robot's motion between two frames plus the position noise.
    Candidates without a position are skipped; of equally
    near ones the higher score wins, then the lower index. None when none is within the
    gate: the object is lost, which is better than jumping to another one. Raises
    ``ValueError`` when ``gate_m`` is not positive.
    """
    if not gate_m > 0:
        raise ValueError(f'the association gate must be positive, got {gate_m} m')
    best, best_key = None, None
    for index, candidate in enumerate(candidates):
        if candidate.position is None:
            continue
        key = (math.dist(previous, candidate.position), -candidate.score)
        if key[0] <= gate_m and (best_key is None or key < best_key):
            best, best_key = index, key
    return best


# -- rules ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Measure:
    """
    A rule's measure of each competitor.

    Sort keys (smaller wins), the values as shown, the format of the chosen one's value and a note
    when it fell back to the image.
    """

    keys: list[float]
    shown: list[str]
    form: str = '{}'
    note: str = ''


def _distinct(candidates: Sequence[Placed]) -> list[int]:
    """
    Return the indices of the distinct candidates.

    Duplicates are suppressed as by NMS and boxes holding another competitor dropped (see the
    module's competition rule).
    """
    if not candidates:
        return []
    boxes = np.array([c.box for c in candidates], dtype=np.float64).reshape(-1, 4)
    keep = nms(boxes, np.array([c.score for c in candidates]), DUPLICATE_IOU)
    kept = boxes[keep]
    x1 = np.maximum(kept[:, None, 0], kept[None, :, 0])
    y1 = np.maximum(kept[:, None, 1], kept[None, :, 1])
    x2 = np.minimum(kept[:, None, 2], kept[None, :, 2])
    y2 = np.minimum(kept[:, None, 3], kept[None, :, 3])
    overlap = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (kept[:, 2] - kept[:, 0]) * (kept[:, 3] - kept[:, 1])
    # holds[i, j]: box i holds more than CONTAINED of the smaller box j
    holds = (overlap > CONTAINED * area[None, :]) & (area[:, None] > area[None, :])
    return sorted(int(k) for k, framing_two in zip(keep, holds.any(axis=1), strict=True)
                  if not framing_two)


def _measure(relation: Relation, items: list[Placed], image_width: int) -> _Measure:
    """Return the measure of a relation that needs no reference object."""
    placed = all(p.position is not None for p in items)
    if relation in (Relation.NEAREST, Relation.FARTHEST):
        sign = 1.0 if relation == Relation.NEAREST else -1.0
        if placed:
            return _Measure([sign * p.range for p in items], [f'{p.range:.2f} m' for p in items])
        return _Measure([-sign * p.box[3] for p in items], [f'{p.box[3]:.0f} px' for p in items],
                        'bottom y={}', 'no range: lower in the image is nearer')
    if relation in (Relation.BIGGEST, Relation.SMALLEST):
        sign = -1.0 if relation == Relation.BIGGEST else 1.0
        if all(p.width is not None for p in items):
            return _Measure([sign * p.width for p in items],
                            [f'{p.width:.2f} m' for p in items], 'width {}')
        areas = [(p.box[2] - p.box[0]) * (p.box[3] - p.box[1]) for p in items]
        return _Measure([sign * a for a in areas], [f'{a:.0f} px²' for a in areas], 'area {}',
                        'no range: by pixel area')
    sign = -1.0 if relation in (Relation.RIGHTMOST, Relation.ORDINAL_RIGHT) else 1.0
    if placed:  # left to right is decreasing bearing
        keys = [-p.bearing for p in items]
        shown, form = [f'{math.degrees(p.bearing):+.0f}°' for p in items], 'bearing {}'
    else:
        keys = [p.centre_x for p in items]
        shown, form = [f'{p.centre_x:.0f} px' for p in items], 'x={}'
    if relation != Relation.MIDDLE:
        return _Measure([sign * k for k in keys], shown, form)
    if not placed and image_width <= 0:
        raise ResolutionError("'the one in the middle' needs positions or the image width")
    centre = 0.0 if placed else image_width / 2.0
    return _Measure([abs(k - centre) for k in keys], shown, form)


def _resolve_to_reference(referring: Referring, candidates: Sequence[Placed], group: list[int],
                          references: Sequence[Placed], phrase: str) -> Choice:
    relation, reference_phrase = referring.relation, referring.reference
    words, target = _TO_REFERENCE[relation], phrase or 'one'
    if not reference_phrase:
        raise ResolutionError(f"'{words}' needs an object to relate to, e.g. 'the box "
                              f"{words} the red ball'")
    if not references:
        raise ResolutionError(f"no '{reference_phrase}' in view to tell which {target} is "
                              f'{words} it')
    reference = max(references, key=lambda r: r.score)  # the first of equal scores
    others = [i for i in group if not _part_of(candidates[i].box, reference.box)]
    if not others:
        raise ResolutionError(f"the only {target} in view is the '{reference_phrase}' itself")
    items = [candidates[i] for i in others]
    if reference.position is not None and all(p.position is not None for p in items):
        sides = _sides_in_base(relation, items, reference)
        distances = [math.dist(p.position, reference.position) for p in items]
        shown, note = [f'{d:.2f} m' for d in distances], ''
    else:
        sides = _sides_in_image(relation, items, reference)
        distances = [math.dist(_centre(p.box), _centre(reference.box)) for p in items]
        shown, note = [f'{d:.0f} px' for d in distances], 'no range: in the image'
    qualified = [k for k, on_side in enumerate(sides) if on_side]
    if not qualified:
        raise ResolutionError(f"no {target} is {words} the '{reference_phrase}'")
    indices = [others[k] for k in qualified]
    measure = _Measure([distances[k] for k in qualified], [shown[k] for k in qualified],
                       '{} from it', note)
    return _choice(_rank(indices, measure.keys, candidates), 0, indices, measure,
                   f"{_head(len(others), phrase)}; chose the {referring.describe('one')}")


def _part_of(box: Sequence[float], reference_box: Sequence[float]) -> bool:
    """
    Tell whether a candidate's box shows the reference object itself (pixels, x1 y1 x2 y2).

    Either the same box (IoU above DUPLICATE_IOU), or a part of it: more than CONTAINED of
    the candidate's area inside the reference's box, its bottom edge not below the
    reference's (by more than PART_BELOW of the reference's height). Region proposals cover
    parts of objects too (the right half of a box scored 0.72 for 'box' in the simulator),
    and a part beside or above the reference's centre passes for "the box behind / next to
    the yellow box"; an object standing in front of the reference reaches lower in the image.
    """
    if box_iou(np.array([box], dtype=np.float64),
               np.array([reference_box], dtype=np.float64))[0, 0] > DUPLICATE_IOU:
        return True
    x1, y1, x2, y2 = box
    rx1, ry1, rx2, ry2 = reference_box
    inside = max(0.0, min(x2, rx2) - max(x1, rx1)) * max(0.0, min(y2, ry2) - max(y1, ry1))
    area = (x2 - x1) * (y2 - y1)
    return area > 0 and inside > CONTAINED * area and y2 <= ry2 + PART_BELOW * (ry2 - ry1)


def _sides_in_base(relation: Relation, items: list[Placed], reference: Placed) -> list[bool]:
    """
    Tell whether each item is on the relation's side, in the base frame.

    From its offsets along and across the robot's line of sight through the reference (across > 0:
    left of that line).
    """
    rx, ry = reference.position
    length = max(math.hypot(rx, ry), 1e-9)
    sides = []
    for x, y in (p.position for p in items):
        along, across = (x * rx + y * ry) / length, (rx * y - ry * x) / length
        in_line = abs(across) <= IN_LINE_M
        sides.append({Relation.NEXT_TO: True, Relation.LEFT_OF: across > 0,
                      Relation.RIGHT_OF: across < 0,
                      Relation.IN_FRONT_OF: in_line and along < length,
                      Relation.BEHIND: in_line and along > length}[relation])
    return sides


def _sides_in_image(relation: Relation, items: list[Placed], reference: Placed) -> list[bool]:
    """
    Tell whether each item is on the relation's side in the image.

    By box centre column for left and right, by bottom edge (lower is nearer) with overlapping
    columns for in front and behind.
    """
    x1, _, x2, bottom = reference.box
    sides = []
    for p in items:
        in_line = p.box[0] < x2 and p.box[2] > x1
        sides.append({Relation.NEXT_TO: True, Relation.LEFT_OF: p.centre_x < reference.centre_x,
                      Relation.RIGHT_OF: p.centre_x > reference.centre_x,
                      Relation.IN_FRONT_OF: in_line and p.box[3] > bottom,
                      Relation.BEHIND: in_line and p.box[3] < bottom}[relation])
    return sides


# -- choice and explanation -------------------------------------------------------------
def _rank(indices: list[int], keys: list[float], candidates: Sequence[Placed]) -> list[int]:
    """Positions into ``indices``: smaller key first, then higher score, then lower index."""
    return sorted(range(len(indices)),
                  key=lambda k: (keys[k], -candidates[indices[k]].score, indices[k]))


def _choice(order: list[int], position: int, indices: list[int], measure: _Measure,
            sentence: str, hint: str = '') -> Choice:
    """
    Make the choice of the ``position``-th of ``order``, with its explanation.

    The ``position``-th of ``order``, explained as ``sentence`` with the measures (the
    chosen one's, then as many of the others' as fit), the fall-back note and ``hint``.
    """
    chosen = order[position]
    rest = [k for k in order if k != chosen]
    note = f'; {measure.note}' if measure.note else ''
    tail = f'; {hint}' if hint else ''
    for listed in range(min(3, len(rest)), -1, -1):
        others = [measure.shown[k] for k in rest[:listed]] + (['…'] if len(rest) > listed
                                                              else [])
        versus = f" vs {', '.join(others)}" if others else ''
        explanation = f'{sentence} ({measure.form.format(measure.shown[chosen])}{versus}' \
                      f'{note}){tail}'
        if len(explanation) <= MAX_EXPLANATION:
            break
    else:  # a very long phrase: cut it short rather than break the length promise
        explanation = explanation[:MAX_EXPLANATION - 1] + '…'
    return Choice(indices[chosen], explanation, tuple(indices[k] for k in rest))


def _head(count: int, phrase: str) -> str:
    matches = 'match' if count == 1 else 'matches'
    return f"{count} {matches} for '{phrase}'" if phrase else f'{count} {matches}'


def _centre(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
