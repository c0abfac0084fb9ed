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
Grounding and the object memory: what is remembered of each grounded frame, and going back.

Every region a grounding kept (its ``top_k`` candidates, with the crop embedding CLIP computed)
that looks like an object (more like the object prompts than the background ones) and can be
placed on the floor with an object's size becomes a sighting in the odometry frame
(:mod:`..world.objects`). A step said of a remembered object ("go back to the blue
box", "the box you saw") or a find step looks in the memory first: the best remembered match
is driven to (its target is :attr:`TargetSource.REMEMBERED`) until live grounding confirms
it; a remembered object in view that live grounding does not find is not there any more.

Frames: odometry (REP-105) for memory positions, the base frame (REP-103) for targets; metres,
radians, seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from .grounding import GroundingResult
from .referring import place_candidate
from ..contract.status import PositionSource
from ..world.camera import CameraMount, Intrinsics, TargetPoint
from ..world.frames import base_to_odom, odom_to_base
from ..world.objects import Recollection, RememberedObject, Sighting

# A region is kept as an object when its floor width is within these bounds (m) and it is
# placed no farther than MAX_SIGHTING_RANGE (m): the floor-plane placement of far boxes is
# too coarse to merge sightings by position.
OBJECT_WIDTH = (0.03, 3.0)
MAX_SIGHTING_RANGE = 6.0
OBJECTNESS = 0.5  # least P(an object | region) of a region kept (Grounder.objectness)
# A remembered object is in view when it is within this share of the camera's half field of
# view and these distances (m); after RECALL_MISSES such groundings without a live match it
# is taken as gone from where it was seen.
IN_VIEW_SHARE = 0.8
IN_VIEW_RANGE = (0.6, 4.0)
RECALL_MISSES = 3
# Matches within this score of the best are equally good answers; the most recently seen of
# them comes first: an object that moved left a trail of places, and it is at the last one.
RECENT_MARGIN = 0.1


def sightings(result: GroundingResult | None, objectness, intrinsics: Intrinsics,
              mount: CameraMount, depth: np.ndarray | None, pose: tuple[float, float, float],
              stamp: float) -> list[Sighting]:
    """
    Return the object-like regions of ``result`` as sightings in the odometry frame.

    ``objectness`` maps embeddings (N, D) to P(an object) (N,); ``pose`` is the base's (x, y,
    yaw) in odom when the image was taken (``stamp``, s). The region the grounding matched
    carries the phrase as its label. Regions without a crop embedding (dense strategy) are
    not remembered.
    """
    embedded = [c for c in (result.candidates if result else []) if c.embedding is not None]
    if not embedded:
        return []
    objects = objectness(np.stack([candidate.embedding for candidate in embedded]))
    found = []
    for candidate, object_like in zip(embedded, objects, strict=True):
        if object_like < OBJECTNESS:
            continue
        placed = place_candidate(candidate, intrinsics, mount, depth)
        if placed.position is None or placed.width is None or \
                not OBJECT_WIDTH[0] <= placed.width <= OBJECT_WIDTH[1] or \
                math.hypot(*placed.position) > MAX_SIGHTING_RANGE:
            continue
        label = result.phrase if result.found and candidate is result.best else ''
        found.append(Sighting(candidate.embedding, base_to_odom(placed.position, pose),
                              placed.width, stamp, label))
    return found


def describe(recollection: Recollection | RememberedObject, pose: tuple[float, float, float]
             | None, now: float) -> dict:
    """
    One remembered object as ``grounding/status`` ``remembered`` lists it.

    With ``pose`` (the base in odom now), its distance (m) and bearing (rad, left +) from the
    base too.
    """
    remembered = getattr(recollection, 'object', recollection)
    entry = {'label': remembered.label or 'object',
             'position': [round(v, 3) for v in remembered.position],
             'age': round(now - remembered.last_seen, 1),
             'sightings': remembered.sightings}
    if isinstance(recollection, Recollection):
        entry['score'] = round(recollection.score, 4)
    if pose is not None:
        x, y = odom_to_base(remembered.position, pose)
        entry['distance'], entry['bearing'] = round(math.hypot(x, y), 3), \
            round(math.atan2(y, x), 4)
    return entry


def where(entry: dict) -> str:
    """Say where a :func:`describe` entry is: '2.1 m away, 40 deg to the left, 35 s ago'."""
    age = f"{entry['age']:.0f} s ago"
    if 'distance' not in entry:
        x, y = entry['position']
        return f'at ({x:.2f}, {y:.2f}) in odom, {age}'
    bearing = math.degrees(entry['bearing'])
    side = 'ahead' if abs(bearing) < 10 else 'behind' if abs(bearing) > 170 else \
        f"{abs(bearing):.0f} deg to the {'left' if bearing > 0 else 'right'}"
    return f"{entry['distance']:.1f} m away, {side}, {age}"


def latest_first(found: list[Recollection]) -> list[Recollection]:
    """
    Order matches (best first, as the memory gives them) for an answer or a step.

    Those within RECENT_MARGIN of the best score come first, most recently seen first; the
    rest follow, best first.
    """
    near = [r for r in found if r.score >= found[0].score - RECENT_MARGIN] if found else []
    return sorted(near, key=lambda r: -r.object.last_seen) + found[len(near):]


def an(phrase: str) -> str:
    """Return the indefinite article for ``phrase``: 'an' before a vowel letter, else 'a'."""
    return 'an' if phrase[:1].lower() in tuple('aeiou') else 'a'


def counted(count: int, noun: str = 'object') -> str:
    """Say how many: '1 object', '3 objects'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def not_seen(phrase: str, remembered: int) -> str:
    """Say that the memory holds nothing like ``phrase`` (of ``remembered`` objects)."""
    return f"I have not seen {an(phrase)} '{phrase}' ({counted(remembered)} remembered)"


def in_view(point: tuple[float, float], intrinsics: Intrinsics) -> bool:
    """Whether a base-frame point is well inside the camera's view and range."""
    half_fov = math.atan2(intrinsics.width / 2.0, intrinsics.fx)
    distance, bearing = math.hypot(*point), math.atan2(point[1], point[0])
    return IN_VIEW_RANGE[0] <= distance <= IN_VIEW_RANGE[1] and \
        abs(bearing) <= IN_VIEW_SHARE * half_fov


@dataclass
class Recalled:
    """The remembered object a step goes to until live grounding confirms it."""

    recollection: Recollection
    misses: int = 0     # groundings that had it in view and did not find it

    def target(self, pose: tuple[float, float, float]) -> TargetPoint:
        """Return where it is in the base frame of ``pose`` (on the floor)."""
        x, y = odom_to_base(self.recollection.object.position, pose)
        return TargetPoint(x, y, 0.0, PositionSource.GROUND_PLANE)

    def missed(self, target: TargetPoint, intrinsics: Intrinsics) -> bool:
        """Count a grounding without a live match; True once it is surely not there."""
        if in_view((target.x, target.y), intrinsics):
            self.misses += 1
        return self.misses >= RECALL_MISSES
