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
Real photographs with objects labelled by hand, for the benchmarks and tests of proposals.

The photographs are the ones scikit-image, scikit-learn and matplotlib ship inside their
wheels (test/data/real_photos.json names each by package and path, with its SHA-256);
nothing is downloaded and no photograph is copied into this repository. The boxes were
drawn by hand for this project: every object a person would name in each photograph,
(x1, y1, x2, y2) in pixels of the original image, x2 and y2 exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np

LABELS = Path(__file__).resolve().parent / 'data' / 'real_photos.json'
MODULES = {'scikit-image': 'skimage', 'scikit-learn': 'sklearn', 'matplotlib': 'matplotlib'}


class PhotosUnavailable(RuntimeError):
    """A package that ships the photographs is missing, or holds other files than labelled."""


@dataclass(frozen=True)
class Photo:
    """One labelled photograph: RGB uint8 (H, W, 3), boxes (N, 4) in pixels, their names."""

    id: str  # noqa: A003
    rgb: np.ndarray
    boxes: np.ndarray
    names: tuple[str, ...]


def photo_path(entry: dict) -> Path:
    """Return where the installed package keeps a photograph (PhotosUnavailable if absent)."""
    module = MODULES[entry['package']]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise PhotosUnavailable(f"{entry['package']} is not installed: it ships the photograph "
                                f"'{entry['id']}' (pip install -r requirements-dev.txt)")
    path = Path(spec.submodule_search_locations[0]).parent / entry['path']
    if not path.is_file():
        raise PhotosUnavailable(f"{path} is missing from {entry['package']}")
    return path


def load_photos() -> list[Photo]:
    """Load every labelled photograph, checking it is the very file that was labelled."""
    labels = json.loads(LABELS.read_text())
    photos = []
    for entry in labels['photos']:
        path = photo_path(entry)
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry['sha256']:
            raise PhotosUnavailable(f'{path} is not the photograph that was labelled (another '
                                    f"{entry['package']} version? labelled with "
                                    f"{labels['sources'][entry['package']]})")
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if [rgb.shape[1], rgb.shape[0]] != entry['size']:
            raise PhotosUnavailable(f'{path} is {rgb.shape[1]}x{rgb.shape[0]}, labelled as '
                                    f"{entry['size']}")
        photos.append(Photo(entry['id'], rgb,
                            np.array([o['box'] for o in entry['objects']], dtype=np.float64),
                            tuple(o['name'] for o in entry['objects'])))
    return photos
