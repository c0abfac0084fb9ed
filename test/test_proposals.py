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

"""Class-agnostic proposals and box utilities."""

from clip_grounding_ros.core.perception.proposals import (
    box_iou,
    nms,
    ProposalConfig,
    propose,
    segment_proposals,
    square_crop,
    window_proposals,
)
import numpy as np
import pytest

CONFIG = ProposalConfig()


def _scene():
    """Grey floor with three coloured rectangles; returns the image and their true boxes."""
    image = np.full((240, 320, 3), 120, np.uint8)
    image[:80] = (200, 190, 170)  # a wall band
    boxes = [(40, 120, 90, 180), (150, 100, 190, 200), (250, 150, 300, 175)]
    for (x1, y1, x2, y2), colour in zip(boxes, [(220, 20, 20), (20, 20, 220), (20, 200, 20)],
                                        strict=True):
        image[y1:y2, x1:x2] = colour
    image[100:110, 150:190] = (10, 10, 120)  # a darker top face on the blue object
    return image, np.array(boxes, dtype=float)


def test_segments_find_each_object_tightly_even_with_two_shades():
    image, truth = _scene()
    proposals = segment_proposals(image, CONFIG)
    best = box_iou(truth, proposals).max(axis=1)
    assert (best > 0.9).all(), best


def test_propose_keeps_segments_first_and_caps_the_count():
    image, truth = _scene()
    boxes = propose(image, CONFIG, max_boxes=10)
    assert len(boxes) == 10
    assert (box_iou(truth, boxes).max(axis=1) > 0.9).all()
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= 320).all()


def test_uniform_image_has_no_segments_but_still_windows():
    image = np.full((120, 160, 3), 90, np.uint8)
    assert len(segment_proposals(image, CONFIG)) == 0
    assert len(propose(image, CONFIG, max_boxes=50)) > 0


def test_windows_cover_the_whole_frame():
    windows = window_proposals(320, 240, CONFIG)
    assert windows[:, 0].min() == 0 and windows[:, 1].min() == 0
    assert windows[:, 2].max() == pytest.approx(320) and windows[:, 3].max() == pytest.approx(240)


def test_iou_and_nms():
    a = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], dtype=float)
    iou = box_iou(a, a)
    assert iou[0, 1] == pytest.approx(50 / 150) and iou[0, 2] == 0 and iou[1, 1] == 1
    keep = nms(a, np.array([0.5, 0.9, 0.1]), iou_threshold=0.3)
    assert keep.tolist() == [1, 2]
    assert nms(a, np.array([0.5, 0.9, 0.1]), iou_threshold=0.4).tolist() == [1, 0, 2]


def test_square_crop_keeps_aspect_and_pads_outside_the_frame():
    image, _ = _scene()
    crop = square_crop(image, (150, 100, 190, 200), size=32, context=0.0)
    assert crop.shape == (32, 32, 3)
    # A 40x100 box in a 100x100 square: the middle columns are blue, the sides are not.
    assert crop[16, 16, 2] > 150 and crop[16, 2, 2] < 150
    corner = square_crop(image, (0, 0, 20, 20), size=16, context=0.5)
    assert (corner[0, 0] == 128).all()  # padded grey outside the frame


@pytest.mark.parametrize('box', [(30, 42, 70, 50),    # a wide box below the square
                                 (66, 10, 74, 50)])   # a tall box beside it
def test_square_crop_shows_only_the_box_and_its_margin(box):
    image = np.zeros((80, 100, 3), np.uint8)
    image[10:30, 40:60] = (0, 0, 255)  # a blue square near the box (in its square), not in it
    crop = square_crop(image, box, size=32, context=0.15)
    blue = (crop[..., 2] > 200) & (crop[..., 0] < 50)
    assert not blue.any()  # the neighbour does not show ...
    assert (crop == 128).all(axis=2).any() and (crop == 0).all(axis=2).any()  # grey, box
    assert square_crop(image, (40, 10, 60, 30), size=32)[16, 16, 2] == 255  # ... its own does
