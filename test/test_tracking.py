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
The box tracker (core/perception/tracking.py) on rendered and synthetic frames.

Frames rendered by the MuJoCo simulator, plus synthetic frames where the true motion is known to a
fraction of a pixel.

The robot drives and turns between frames as it would at 30 frames/s (stamps 1/30 s apart);
the simulator's segmentation gives the true box of every object on every frame.
"""

import math
import os
import time

import cv2
import numpy as np
import pytest

os.environ.setdefault('MUJOCO_GL', 'osmesa')

from clip_grounding_ros.core.contract.parameters import parameter_specs  # noqa: E402, I100
from clip_grounding_ros.core.perception.images import ImageError  # noqa: E402
from clip_grounding_ros.core.perception.proposals import box_iou  # noqa: E402
from clip_grounding_ros.core.perception.tracking import BoxTracker, TrackerConfig  # noqa: E402
from clip_grounding_ros.sim import CameraSpec, load_scene, SimWorld  # noqa: E402

FRAME_PERIOD = 1.0 / 30.0
START_POSE = (0.5, 0.0, 0.0)
# Per frame: metres forward, radians turned left (0.9 m/s and 0.6 rad/s at 30 frames/s).
DRIVE, TURN, DRIVE_AND_TURN = (0.03, 0.0), (0.0, 0.02), (0.03, -0.015)


@pytest.fixture(scope='module')
def worlds():
    """Make the 'boxes' scene seen by a 320x240 and a 640x480 camera (one GL context each)."""
    scene = load_scene('boxes')
    opened = {size: SimWorld(scene, CameraSpec(width=size[0], height=size[1]))
              for size in ((320, 240), (640, 480))}
    yield opened
    for world in opened.values():
        world.close()


def drive(world, motion, frames=16):
    """
    Render ``frames`` as the robot moves by ``motion`` per frame from START_POSE.

    Each frame is (rgb, true boxes, stamp).
    """
    x, y, yaw = START_POSE
    forward, turn = motion
    sequence = []
    for index in range(frames):
        world.set_robot_pose(x, y, yaw)
        sequence.append((world.render().copy(), world.visible_boxes(), index * FRAME_PERIOD))
        x, y, yaw = x + forward * math.cos(yaw), y + forward * math.sin(yaw), yaw + turn
    return sequence


def iou(first, second) -> float:
    return float(box_iou(np.array([first], float), np.array([second], float))[0, 0])


def started(sequence, name):
    """Start a tracker anchored on the true box of ``name`` in the first frame."""
    frame, boxes, stamp = sequence[0]
    tracker = BoxTracker()
    assert tracker.start(frame, boxes[name], stamp).box == pytest.approx(boxes[name])
    return tracker


def update_on(tracker, item):
    """Update the tracker on one (rgb, true boxes, stamp) of a sequence; return the update."""
    frame, _, stamp = item
    return tracker.update(frame, stamp)


def track_all(tracker, sequence):
    """Update through ``sequence``; the TrackUpdate of each frame."""
    return [update_on(tracker, item) for item in sequence]


# -- following a target ---------------------------------------------------------------------

@pytest.mark.parametrize('size, motion, name', [
    ((320, 240), DRIVE, 'blue_box'),
    ((320, 240), TURN, 'yellow_box'),          # the smallest box: 17x17 pixels
    ((320, 240), DRIVE_AND_TURN, 'green_box'),
    ((640, 480), DRIVE_AND_TURN, 'orange_box'),  # tracked on a copy downscaled to 320x240
    ((640, 480), TURN, 'blue_box'),
], ids=['drive', 'turn-small-box', 'drive-and-turn', '640x480-drive-and-turn', '640x480-turn'])
def test_follows_the_true_box_while_the_robot_moves(worlds, size, motion, name):
    sequence = drive(worlds[size], motion)
    tracker = started(sequence, name)
    updates = track_all(tracker, sequence[1:])
    overlaps = [iou(update.box, boxes[name]) for update, (_, boxes, _) in
                zip(updates, sequence[1:], strict=True)]
    assert all(update.reason == '' and 0.0 < update.confidence <= 1.0 for update in updates)
    assert min(overlaps) > 0.7, np.round(overlaps, 2)
    # The target really moved: without tracking the first box would have lost it.
    assert iou(sequence[0][1][name], sequence[-1][1][name]) < min(overlaps)
    assert tracker.active and tracker.box == updates[-1].box


@pytest.mark.parametrize('size, work_width', [((320, 240), 320), ((1001, 703), 320),
                                              ((1001, 703), 0), ((97, 61), 320)])
@pytest.mark.parametrize('shift, scale', [((3.0, -2.0), 1.0), ((0.0, 0.0), 1.06),
                                          ((2.5, 1.5), 0.95)])
def test_recovers_a_known_shift_and_scale_to_a_fifth_of_a_pixel(size, work_width, shift,
                                                                scale):
    """
    The tracker recovers a known shift and scale to a fifth of a pixel.

    A smooth random texture warped by a known similarity: the box's edges land where
    the warp takes them, at any frame size and working resolution (pixel conventions:
    an error in them would be half a pixel or a multiple of the downscaling).
    """
    width, height = size
    rng = np.random.default_rng(7)
    coarse = rng.integers(0, 256, (height // 8 + 2, width // 8 + 2, 3)).astype(np.uint8)
    texture = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    box = np.array([0.3 * width, 0.3 * height, 0.6 * width, 0.7 * height])
    centre = (box[:2] + box[2:]) / 2.0
    # Edge coordinates e -> scale * (e - centre) + centre + shift; OpenCV's warp works on
    # pixel centres, which sit at edge coordinate + 0.5.
    offset = (1.0 - scale) * (centre - 0.5) + shift
    warp = np.array([[scale, 0.0, offset[0]], [0.0, scale, offset[1]]])
    moved = cv2.warpAffine(texture, warp, (width, height), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
    tracker = BoxTracker(TrackerConfig(track_work_width=work_width))
    tracker.start(texture, box, 0.0)
    update = tracker.update(moved, FRAME_PERIOD)
    half = (box[2:] - box[:2]) * scale / 2.0
    expected = np.concatenate([centre + shift - half, centre + shift + half])
    assert np.allclose(update.box, expected, atol=0.2), np.array(update.box) - expected
    assert update.confidence == pytest.approx(1.0, abs=0.05)


# -- hand-over with the grounding -----------------------------------------------------------

def test_a_consistent_grounding_agrees_and_corrects_the_track(worlds):
    sequence = drive(worlds[320, 240], DRIVE_AND_TURN)
    tracker = started(sequence, 'blue_box')
    updates = track_all(tracker, sequence[1:])
    # Grounding is slow: it arrives now, about frame 9, which the tracker passed long ago.
    _, boxes_then, stamp_then = sequence[9]
    # Against the latest box rather than the one tracked on its own frame it would look
    # like a jump: the robot turned meanwhile.
    assert iou(boxes_then['blue_box'], updates[-1].box) < TrackerConfig().track_agreement_iou
    assert tracker.reconcile(boxes_then['blue_box'], stamp_then)
    assert tracker.active and iou(tracker.box, sequence[-1][1]['blue_box']) > 0.7
    # A grounding of the latest frame replaces the tracked box outright (no drift left).
    latest = sequence[-1][1]['blue_box']
    assert tracker.reconcile(latest)
    assert tracker.box == pytest.approx(latest)


def test_a_grounding_that_jumps_to_another_object_disagrees_and_drops_the_track(worlds):
    sequence = drive(worlds[320, 240], DRIVE_AND_TURN)
    tracker = started(sequence, 'blue_box')
    track_all(tracker, sequence[1:])
    _, boxes_then, stamp_then = sequence[9]
    assert not tracker.reconcile(boxes_then['yellow_box'], stamp_then)
    assert not tracker.active and tracker.box is None
    assert 'disagreed' in update_on(tracker, sequence[-1]).reason
    # The caller re-anchors on the grounding and its frame.
    frame, boxes, stamp = sequence[9]
    assert tracker.start(frame, boxes['yellow_box'], stamp).box is not None


def test_a_grounding_from_outside_the_tracked_time_cannot_agree(worlds):
    sequence = drive(worlds[320, 240], DRIVE, frames=3)
    tracker = started(sequence, 'blue_box')
    track_all(tracker, sequence[1:])
    assert not tracker.reconcile(sequence[-1][1]['blue_box'], stamp=30.0)
    assert 'track_max_gap' in update_on(tracker, sequence[-1]).reason
    assert not BoxTracker().reconcile((1, 2, 3, 4))  # nothing tracked: nothing agrees


# -- dropping itself ------------------------------------------------------------------------

def test_drops_the_track_when_the_object_leaves_the_view(worlds):
    sequence = drive(worlds[320, 240], (0.0, 0.03), frames=20)  # the green box exits right
    tracker = started(sequence, 'green_box')
    for frame, boxes, stamp in sequence[1:]:
        update = tracker.update(frame, stamp)
        if update.box is None:
            break
        assert 'green_box' in boxes and iou(update.box, boxes['green_box']) > 0.5
    else:
        pytest.fail('the tracker still reports a box after the object left the view')
    assert update.reason and not tracker.active
    assert stamp > 5 * FRAME_PERIOD  # it followed the object first
    assert tracker.update(frame, stamp + FRAME_PERIOD).reason.startswith('not tracking: ')


def test_drops_the_track_when_the_frame_loses_its_texture(worlds):
    sequence = drive(worlds[320, 240], DRIVE, frames=2)
    tracker = started(sequence, 'blue_box')
    grey = np.full_like(sequence[1][0], 128)
    update = tracker.update(grey, sequence[1][2])
    assert update.box is None and update.confidence == 0.0
    assert 'too few points' in update.reason and not tracker.active


def test_drops_the_track_when_the_frame_size_changes(worlds):
    small, large = drive(worlds[320, 240], DRIVE, 2), drive(worlds[640, 480], DRIVE, 2)
    tracker = started(small, 'blue_box')
    update = tracker.update(large[1][0], large[1][2])
    assert update.box is None and 'frame size changed from 320x240 to 640x480' in update.reason


def test_drops_the_track_when_time_goes_backwards_or_jumps(worlds):
    sequence = drive(worlds[320, 240], DRIVE, frames=3)
    tracker = started(sequence, 'blue_box')
    frame, _, stamp = sequence[1]
    assert tracker.update(frame, stamp).box is not None
    assert tracker.update(frame, stamp).box is not None  # the same stamp again is datable
    update = tracker.update(sequence[2][0], stamp - 0.01)
    assert update.box is None and 'time went backwards' in update.reason
    tracker = started(sequence, 'blue_box')
    update = tracker.update(sequence[1][0], 1.0)
    assert update.box is None and 'track_max_gap' in update.reason


def test_does_not_start_on_a_box_too_small_or_outside_the_frame(worlds):
    frame, _, _ = drive(worlds[320, 240], DRIVE, frames=1)[0]
    tracker = BoxTracker()
    update = tracker.start(frame, (100, 100, 104, 140), 0.0)
    assert update.box is None and 'track_min_box_size' in update.reason
    assert not tracker.active
    update = tracker.start(frame, (300, 100, 360, 140), 0.0)  # a third of it inside
    assert update.box is None and 'out of the image' in update.reason


def test_reports_not_tracking_before_start_and_after_reset(worlds):
    sequence = drive(worlds[320, 240], DRIVE, frames=2)
    tracker = BoxTracker()
    assert not tracker.active and tracker.box is None
    assert update_on(tracker, sequence[1]).reason == 'not tracking: not started'
    tracker = started(sequence, 'blue_box')
    tracker.reset()
    assert not tracker.active
    update = update_on(tracker, sequence[1])
    assert update.box is None and update.reason == 'not tracking: reset'


# -- bad input and configuration ------------------------------------------------------------

GOOD_FRAME = np.zeros((240, 320, 3), np.uint8)


@pytest.mark.parametrize('frame', [
    GOOD_FRAME.astype(np.float32), GOOD_FRAME[..., 0], np.zeros((240, 320, 4), np.uint8),
    GOOD_FRAME.tolist(), np.zeros((1, 1, 3), np.uint8)],
    ids=['float', 'grey', 'rgba', 'list', '1x1'])
def test_refuses_frames_that_are_not_uint8_rgb(frame):
    tracker = BoxTracker()
    with pytest.raises(ImageError):
        tracker.start(frame, (10, 10, 50, 50), 0.0)
    with pytest.raises(ValueError):
        tracker.update(frame, 0.0)


@pytest.mark.parametrize('box', [(10, 10, 50), (10, 10, math.nan, 50), (50, 10, 10, 50),
                                 (10, 50, 50, 50), 'abcd', None])
def test_refuses_malformed_boxes(box):
    tracker = BoxTracker()
    with pytest.raises(ValueError, match='box'):
        tracker.start(GOOD_FRAME, box, 0.0)
    with pytest.raises(ValueError, match='box'):
        tracker.reconcile(box)


@pytest.mark.parametrize('stamp', [math.nan, math.inf, None, True, '1.0'])
def test_refuses_stamps_that_are_not_finite_numbers(stamp):
    tracker = BoxTracker()
    with pytest.raises(ValueError, match='stamp'):
        tracker.start(GOOD_FRAME, (10, 10, 50, 50), stamp)
    with pytest.raises(ValueError, match='stamp'):
        tracker.update(GOOD_FRAME, stamp)


def test_config_settings_are_checked_parameters():
    names = [spec.name for spec in parameter_specs(TrackerConfig)]
    assert names[0] == 'track_grid' and all(name.startswith('track_') for name in names)
    assert all(spec.minimum is not None and spec.maximum is not None
               for spec in parameter_specs(TrackerConfig))
    assert TrackerConfig(track_max_gap=1).track_max_gap == 1.0
    with pytest.raises(ValueError, match='track_grid 2 is outside its range'):
        TrackerConfig(track_grid=2)
    with pytest.raises(ValueError, match='exceeds the 9 points of the grid'):
        TrackerConfig(track_grid=3, track_min_points=10)
    with pytest.raises(ValueError, match='track_work_width'):
        TrackerConfig(track_work_width=8)
    with pytest.raises(ValueError, match='window'):
        TrackerConfig(window=3)


# -- cost (reported, never asserted: the machine is shared) ---------------------------------

def test_report_milliseconds_per_update(worlds, capsys):
    lines = []
    for size, world in worlds.items():
        sequence = drive(world, DRIVE_AND_TURN)
        tracker, timings = BoxTracker(), []
        for _ in range(20):
            tracker.start(sequence[0][0], sequence[0][1]['blue_box'], sequence[0][2])
            for frame, _, stamp in sequence[1:]:
                tic = time.perf_counter()
                update = tracker.update(frame, stamp)
                timings.append(1e3 * (time.perf_counter() - tic))
                assert update.box is not None
        lines.append(f'{size[0]}x{size[1]}: median {np.median(timings):.2f} ms per update '
                     f'({len(timings)} updates, 90th percentile '
                     f'{np.percentile(timings, 90):.2f} ms)')
    with capsys.disabled():
        print('\nBoxTracker ' + '; '.join(lines))
