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
Class-agnostic proposals and box utilities, on synthetic frames and on real photographs.

The photographs (test/real_photos.py) carry every nameable object labelled by hand; what
the proposals cover there is what any CLIP could ground. bench/bench_proposals.py measures
the same beside selective search.
"""

from clip_grounding_ros.core.perception import proposals
from clip_grounding_ros.core.perception.proposals import (
    box_iou,
    nms,
    ProposalConfig,
    propose,
    segment_proposals,
    segmentation_proposals,
    square_crop,
    window_proposals,
)
import numpy as np
import pytest

CONFIG = ProposalConfig()


def covered(truth: np.ndarray, boxes: np.ndarray, iou: float = 0.5) -> np.ndarray:
    """(N,) bool: which true boxes a proposal covers at ``iou`` or more."""
    if not len(boxes):
        return np.zeros(len(truth), bool)
    return box_iou(truth, boxes).max(axis=1) >= iou


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


def test_colour_segments_asked_first_come_first_and_the_count_is_capped():
    image, truth = _scene()
    boxes = propose(image, CONFIG, max_boxes=10, colour_first=3)
    assert len(boxes) == 10
    assert (box_iou(truth, boxes[:3]).max(axis=1) > 0.8).all()  # the two-shade one: its face
    assert covered(truth, boxes, 0.85).all()  # and whole (a union, or a segmentation region)
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= 320).all()


def test_the_whole_frame_and_large_segments_are_proposed():
    image = np.full((240, 320, 3), 200, np.uint8)
    image[10:235, 15:310] = (200, 30, 30)  # an object filling 87 % of the frame
    boxes = propose(image, CONFIG, max_boxes=16)
    assert covered(np.array([[15.0, 10.0, 310.0, 235.0]]), boxes, 0.9).all()
    assert any(tuple(b) == (0.0, 0.0, 320.0, 240.0) for b in propose(image, CONFIG, 48))


def test_uniform_image_has_no_segments_but_still_windows():
    image = np.full((120, 160, 3), 90, np.uint8)
    assert len(segment_proposals(image, CONFIG)) == 0
    assert len(propose(image, CONFIG, max_boxes=50)) > 0


def test_without_opencv_contrib_the_colour_segments_and_windows_remain(monkeypatch):
    image, truth = _scene()
    monkeypatch.setattr(proposals, 'segmentation_available', lambda: False)
    assert len(segmentation_proposals(image, CONFIG)) == 0
    assert covered(truth, propose(image, CONFIG, max_boxes=48), 0.9).all()


# -- real photographs -----------------------------------------------------------------------
def test_most_real_objects_are_among_the_first_48_proposals(photos):
    hits = sum(int(covered(p.boxes, propose(p.rgb, CONFIG, 48)).sum()) for p in photos)
    total = sum(len(p.boxes) for p in photos)
    # 39 of 63 when measured (bench/bench_proposals.py); selective search's fast mode 30-36,
    # the colour segments and windows alone 16.
    assert total >= 60 and hits >= 37, f'{hits} of {total}'


def test_objects_that_fill_most_of_the_frame_are_proposed(photos):
    """A table, a cat, a motorcycle, people, a pagoda: 40 % of the frame or more."""
    large = 0
    for photo in photos:
        height, width = photo.rgb.shape[:2]
        area = (photo.boxes[:, 2] - photo.boxes[:, 0]) * (photo.boxes[:, 3] - photo.boxes[:, 1])
        big = photo.boxes[area >= 0.4 * width * height]
        large += len(big)
        missed = np.array(photo.names)[area >= 0.4 * width * height][~covered(
            big, propose(photo.rgb, CONFIG, 48))]
        assert not len(missed), f'{photo.id}: {list(missed)}'
    assert large >= 8


def test_close_ups_of_real_objects_are_proposed(photos):
    """
    Each object of 60 px or more, cropped to fill 60, 75 and 90 % of the frame, is proposed.

    As a robot sees what it has come close to; the old size cap dropped all of them.
    """
    tried, found = 0, 0
    for photo in photos:
        height, width = photo.rgb.shape[:2]
        for x1, y1, x2, y2 in photo.boxes:
            if min(x2 - x1, y2 - y1) < 60:
                continue
            for fill in (0.6, 0.75, 0.9):
                grow = 0.5 / np.sqrt(fill)
                cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
                left, top = int(max(0, cx - grow * w)), int(max(0, cy - grow * h))
                right = int(min(width, cx + grow * w))
                bottom = int(min(height, cy + grow * h))
                crop = photo.rgb[top:bottom, left:right]
                truth = np.array([[x1 - left, y1 - top, x2 - left, y2 - top]])
                tried += 1
                found += int(covered(truth, propose(crop, CONFIG, 48))[0])
    assert tried >= 90 and found >= 0.95 * tried, f'{found} of {tried}'


def test_thin_objects_are_proposed_whole(photos):
    """The rocket (13 times taller than wide) and the launch towers, each as one box."""
    rocket = next(p for p in photos if p.id == 'rocket')
    hit = covered(rocket.boxes, propose(rocket.rgb, CONFIG, 48))
    names = np.array(rocket.names)
    assert hit[names == 'rocket'].all() and hit[names == 'tower'].sum() >= 2


def test_proposals_are_the_same_for_the_same_frame(photos):
    """Selective search orders its regions at random: the ranking must not."""
    for photo in photos[:3]:
        assert np.array_equal(propose(photo.rgb, CONFIG, 48), propose(photo.rgb, CONFIG, 48))


@pytest.mark.parametrize('convert', [
    lambda rgb: rgb.mean(axis=2).astype(np.uint8),                 # grey (H, W)
    lambda rgb: rgb.mean(axis=2, keepdims=True).astype(np.uint8),  # grey (H, W, 1)
    lambda rgb: rgb.astype(np.uint16) * 257,                       # 16-bit
    lambda rgb: rgb.astype(np.float32) / 255.0,                    # floats in 0..1
    lambda rgb: np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]),  # RGBA
])
def test_any_image_the_core_accepts_is_proposed_on_like_its_rgb(convert):
    image, _ = _scene()
    converted = convert(image)
    boxes = propose(converted, CONFIG, 48, colour_first=24)
    assert len(boxes) and boxes.shape[1] == 4
    if converted.ndim == 3 and converted.shape[2] >= 3:  # the same pixels: the same boxes
        assert np.array_equal(boxes, propose(image, CONFIG, 48, colour_first=24))


@pytest.mark.parametrize('image, message', [
    (np.zeros(10, np.uint8), 'expected an'),
    (np.zeros((40, 40, 2), np.uint8), 'expected an'),
    (np.zeros((1, 40, 3), np.uint8), 'too small'),
    (np.array([['a']]), 'image of numbers'),
])
def test_an_unusable_image_is_refused_with_the_reason(image, message):
    from clip_grounding_ros.core.perception.images import ImageError

    with pytest.raises(ImageError, match=message):
        propose(image, CONFIG, 48)


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
