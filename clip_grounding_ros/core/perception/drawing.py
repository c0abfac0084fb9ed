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
What grounding_node shows a person: the annotated debug image and the RViz markers.

Kept apart from the grounding logic (which never draws) and from ROS (the node only turns
:class:`MarkerSpec` into visualization_msgs/Marker).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .grounding import GroundingResult
from .images import check_rgb
from ..world.camera import TargetPoint
from ..world.objects import RememberedObject

FOUND_RGB = (40, 220, 60)
BELOW_THRESHOLD_RGB = (230, 40, 40)
RUNNER_UP_RGB = (170, 170, 170)


def annotate(rgb: np.ndarray, result: GroundingResult) -> np.ndarray:
    """
    Return a copy of ``rgb`` with the candidates and their scores drawn.

    ``rgb`` is (H, W, 3) uint8, or what :func:`.images.check_rgb` converts. The answer thick
    (green when found, red when below the threshold), runners-up thin grey, each with its score.
    """
    image = check_rgb(rgb).copy()
    for rank, candidate in reversed(list(enumerate(result.candidates))):
        x1, y1, x2, y2 = (int(round(v)) for v in candidate.box)
        if rank == 0:
            colour = FOUND_RGB if result.found else BELOW_THRESHOLD_RGB
            thickness, text = 2, f'{result.phrase} {candidate.score:.2f}'
        else:
            colour, thickness, text = RUNNER_UP_RGB, 1, f'{candidate.score:.2f}'
        cv2.rectangle(image, (x1, y1), (x2 - 1, y2 - 1), colour, thickness)
        cv2.putText(image, text, (x1 + 2, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    colour, 1, cv2.LINE_AA)
    return image


@dataclass(frozen=True)
class MarkerSpec:
    """
    One RViz marker in the base frame (the odometry frame for the memory's): a sphere or a label.

    ``position`` (m), ``scale`` (m: the sphere's diameter, the text's height), ``rgba``
    components in [0, 1].
    """

    marker_id: int
    kind: str  # 'sphere' or 'text'
    position: tuple[float, float, float]
    scale: float
    rgba: tuple[float, float, float, float]
    text: str = ''


def target_markers(target: TargetPoint, label: str) -> list[MarkerSpec]:
    """Make a green sphere at the target and its label above it."""
    return [MarkerSpec(0, 'sphere', (target.x, target.y, target.z), 0.2, (0.1, 0.9, 0.2, 0.8)),
            MarkerSpec(1, 'text', (target.x, target.y, target.z + 0.3), 0.15,
                       (1.0, 1.0, 1.0, 1.0), label)]


def memory_markers(objects: list[RememberedObject]) -> list[MarkerSpec]:
    """Make a sphere (its width) and its best label for each remembered object (odom frame)."""
    specs = []
    for number, remembered in enumerate(objects):
        x, y = remembered.position
        named = bool(remembered.label)
        specs += [MarkerSpec(2 * number, 'sphere', (x, y, 0.0), max(remembered.width, 0.05),
                             (0.2, 0.5, 1.0, 0.6) if named else (0.6, 0.6, 0.6, 0.4)),
                  MarkerSpec(2 * number + 1, 'text', (x, y, 0.4), 0.12, (1.0, 1.0, 1.0, 1.0),
                             remembered.label or 'object')]
    return specs
