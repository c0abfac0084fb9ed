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
Following a grounded box from frame to frame, between groundings, at camera rate.

CLIP grounds a few frames per second; :class:`BoxTracker` carries the last grounded box
through every camera frame in between, so the target can be updated at camera rate.

Method: median flow (Kalal, Mikolajczyk and Matas, "Forward-Backward Error: Automatic
Detection of Tracking Failures", ICPR 2010) on OpenCV's pyramidal Lucas-Kanade
(``cv2.calcOpticalFlowPyrLK``). Each update samples a fresh grid of points in the box on
the previous frame, tracks them forward to the new frame and back again, keeps the points
that come back close to where they started (small forward-backward error) and, of those,
the better half; the box scales by the median ratio of the kept points' pairwise distances
and its centre moves to the median of the points' votes under that shift-and-scale model
(the plain median displacement of the paper is biased by (scale - 1) times the offset of
the kept points from the centre, measurably so as the robot approaches a target). Plain
OpenCV suffices (no opencv-contrib). Among the trackers the team measured on 640x480
simulator frames (ms per update: CamShift 0.34, Lucas-Kanade on the box 3.0, KCF 4.5 with
opencv-contrib, CSRT 21, MIL 48), CamShift is cheaper but follows a colour histogram, so it
jumps between objects of one colour and cannot tell when it has failed; the
forward-backward error gives median flow that test.

A grid rather than detected corners (``cv2.goodFeaturesToTrack``): the simulator's objects
are uniformly coloured, so a box holds a handful of corners, and losing a few of them ends
the track. LK itself rejects grid points on flat faces (too small an eigenvalue of their
structure tensor); the points whose window reaches an edge or corner carry the motion. On
32 rendered tracks of 15 frames (4 objects, 4 robot motions, 320x240 and 640x480) corners
lost the box, or fell below IoU 0.7 with the truth, in 15 to 25 of them; the grid only
where the object left the view.

Measured (2-core CPU, ``track_grid`` 10, default settings): 0.7-0.8 ms per update at
320x240 and at 640x480 (downscaled to 320 wide; 1.0 ms at full resolution); on 28 rendered
tracks whose object stays in view the lowest IoU with the true box over 15 frames averaged
0.89 and was never below 0.82.

Conventions:

- frames are (H, W, 3) uint8 RGB arrays of any size (all frames of one track the same);
  they are converted to grey once per update and, when wider than ``track_work_width``,
  tracked on a copy downscaled to that width (see :class:`TrackerConfig`);
- boxes are (x1, y1, x2, y2) pixel edges in source-image pixels, x2/y2 exclusive, as in
  :mod:`.grounding`: a box covering pixel columns 10 to 19 has x1 = 10, x2 = 20. Internally
  the tracked box may reach past the image; every box handed out is clipped to it;
- stamps are seconds on the caller's clock (ROS time in a node); only differences and order
  matter.

Failure modes (the tracker then drops itself: the update's box is None and its reason says
why, and it stays inactive until the next :meth:`BoxTracker.start`): too few points tracked
(the target left the view, was covered, or the frame lost its texture, e.g. a uniform
frame), too large a forward-backward error (occlusion, motion blur, a jump beyond the
pyramid's reach), a scale change per frame beyond ``track_max_scale_change``, a box smaller
than ``track_min_box_size`` or mostly out of the image (less than ``track_min_visible`` of
it inside), a frame of another size, a stamp earlier than the last one (time went
backwards: nothing tracked is datable any more) or more than ``track_max_gap`` after it.

Hand-over with the grounding: :meth:`BoxTracker.start` anchors the tracker on a grounded box
and the frame it was grounded on; :meth:`BoxTracker.update` follows it on every later frame.
Between two frames it follows jumps of up to about 35 working pixels (measured: a 0.15 rad
turn at 320x240, 35 px, was followed; 0.2 rad, 46 px, mostly lost), so a caller that
grounded an old frame should replay the frames taken since (under a millisecond each)
rather than jump to the newest. When the next grounding arrives (CLIP takes 0.1-0.4 s, so
it describes a frame the tracker has already passed), :meth:`BoxTracker.reconcile`
compares it with the box tracked on that frame: agreement corrects the track (the grounded
box, carried forward by the motion tracked since), disagreement drops it and the caller
re-anchors with ``start``.

Not thread-safe: one caller (one executor thread) drives a tracker.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
import math

import cv2
import numpy as np

from .images import ImageError
from .proposals import box_iou
from ..contract.parameters import setting, Settings
from ..world.camera import check_box

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class TrackerConfig(Settings):
    """
    How the box tracker samples, filters and gives up.

    The settings are node parameters (prefixed ``track_`` so they read unambiguously among a node's
    other parameters).

    Pixel thresholds are in source-image pixels whatever the working resolution. Working on
    a copy 320 wide: at 640x480 it tracked as accurately as full resolution (mean lowest IoU
    0.890 against 0.889 on the rendered tracks) in 0.8 ms instead of 1.0; 160 wide was no
    faster (the cost goes with points x window area, not with pixels) and less accurate.
    ``track_agreement_iou`` 0.3 is the smallest overlap SORT (Bewley et al., ICIP 2016)
    associates a detection with a track at: groundings come from coarse proposals, while
    another object overlaps hardly at all.

    Fixed by the method, not tuned: ``window`` (side of the Lucas-Kanade window, working
    pixels; 11 tracked as accurately as 15 and 21 at about half the cost and followed
    35-pixel jumps that 9 lost), ``pyramid_levels`` (levels above the base image) and
    ``history`` (seconds of tracked boxes kept for :meth:`BoxTracker.reconcile`).
    """

    track_grid: int = setting(10, 'Points per side of the grid sampled in the box on each '
                              'frame (grid x grid points)', minimum=3, maximum=20)
    track_min_points: int = setting(8, 'Fewest points that must be tracked with a small '
                                    'forward-backward error; fewer drops the track',
                                    minimum=3, maximum=400)
    track_max_fb_error: float = setting(1.0, 'Largest forward-backward error (source-image '
                                        'pixels) of a point that is kept', minimum=0.05,
                                        maximum=50.0)
    track_max_scale_change: float = setting(0.15, 'Largest change of the box scale in one '
                                            'frame (0.15: x0.87 to x1.15); more drops the '
                                            'track', minimum=0.01, maximum=1.0)
    track_min_box_size: float = setting(6.0, 'Smallest box width and height (source-image '
                                        'pixels) that is tracked', minimum=2.0,
                                        maximum=4096.0)
    track_min_visible: float = setting(0.5, 'Smallest fraction of the box area inside the '
                                       'image; less means the target left the view',
                                       minimum=0.01, maximum=1.0)
    track_agreement_iou: float = setting(0.3, 'IoU of a new grounding with the box tracked '
                                         'on its frame from which they agree', minimum=0.0,
                                         maximum=1.0)
    track_work_width: int = setting(320, 'Frames wider than this are tracked on a grey copy '
                                    'downscaled to this width (0: full resolution)',
                                    minimum=0, maximum=8192)
    track_max_gap: float = setting(0.5, 'Longest time (s) between frames, and between a '
                                   "grounding's stamp and the nearest tracked frame; more "
                                   'drops the track', minimum=0.001, maximum=60.0)
    window: int = 11
    pyramid_levels: int = 3
    history: float = 2.0

    def problems(self) -> list[str]:
        """Return what is wrong with the values, the rules between them included."""
        problems = super().problems()
        if not problems and self.track_min_points > self.track_grid ** 2:
            problems.append(f'track_min_points {self.track_min_points} exceeds the '
                            f'{self.track_grid ** 2} points of the grid (track_grid squared)')
        if 0 < self.track_work_width < 16:
            problems.append('track_work_width must be 0 (full resolution) or at least 16')
        if not 5 <= self.window <= 51:
            problems.append(f'window must be 5 to 51 pixels, got {self.window}')
        if not 0 <= self.pyramid_levels <= 6:
            problems.append(f'pyramid_levels must be 0 to 6, got {self.pyramid_levels}')
        if not self.history > 0.0:
            problems.append(f'history must be positive, got {self.history}')
        return problems


@dataclass(frozen=True)
class TrackUpdate:
    """
    Where the tracked box is on one frame, or why it was dropped.

    ``box``: (x1, y1, x2, y2) edges in source-image pixels, clipped to the image; None when
    the track is lost (or was never started). ``confidence`` in [0, 1]: the fraction of the
    sampled points tracked with a small forward-backward error; its level depends on the
    target's texture (uniformly coloured objects keep few), so compare it within one track
    rather than against a fixed bar. ``reason``: why the box is None, empty otherwise.
    """

    box: Box | None
    confidence: float
    reason: str = ''


class BoxTracker:
    """Median-flow tracker of one box; see the module docstring for the method."""

    def __init__(self, config: TrackerConfig = TrackerConfig()):
        self.config = config
        self._grey: np.ndarray | None = None      # previous frame, grey, working size
        self._frame_size = (0, 0)                 # (width, height) of the source frames
        self._scale = (1.0, 1.0)                  # working / source pixels, per axis
        self._history: deque[tuple[float, np.ndarray]] = deque()  # (stamp, box), oldest first
        self._reason = 'not started'

    @property
    def active(self) -> bool:
        """Whether a box is being tracked (started and not dropped since)."""
        return self._grey is not None

    @property
    def box(self) -> Box | None:
        """Return the latest tracked box, clipped to the image; None when not active."""
        return self._clipped(self._history[-1][1]) if self.active else None

    def reset(self) -> None:
        """Stop tracking; :meth:`update` reports 'not tracking' until the next start."""
        self._drop('reset')

    def start(self, frame: np.ndarray, box: Sequence[float], stamp: float) -> TrackUpdate:
        """
        (Re-)anchor on ``box`` as seen on ``frame`` (the frame it was grounded on).

        ``frame``: (H, W, 3) uint8 RGB; ``box``: (x1, y1, x2, y2) source pixels; ``stamp``:
        the frame's time (s). Returns the starting box (clipped, confidence 1), or box None
        with the reason when the box is too small or too little of it lies inside the frame
        (the tracker is then inactive). Raises ValueError (ImageError for the frame) on a
        malformed frame, box or stamp.
        """
        grey = self._to_grey(frame)
        anchor = check_box(box, non_empty=True)
        stamp = _check_stamp(stamp)
        self._frame_size = (frame.shape[1], frame.shape[0])
        self._scale = (grey.shape[1] / frame.shape[1], grey.shape[0] / frame.shape[0])
        self._grey = grey
        self._history = deque([(stamp, anchor)])
        problem = self._box_problem(anchor)
        if problem:
            return self._drop(problem)
        return TrackUpdate(self.box, 1.0)

    def update(self, frame: np.ndarray, stamp: float) -> TrackUpdate:
        """
        Follow the box onto ``frame`` ((H, W, 3) uint8 RGB, taken at ``stamp`` s).

        Returns the moved box with its confidence, or box None and the reason when the track
        is lost on this frame (the tracker then drops itself) or was not active. Raises
        ValueError (ImageError for the frame) on a malformed frame or stamp.
        """
        grey = self._to_grey(frame)
        stamp = _check_stamp(stamp)
        if not self.active:
            return TrackUpdate(None, 0.0, f'not tracking: {self._reason}')
        last_stamp, box = self._history[-1]
        size = (frame.shape[1], frame.shape[0])
        if size != self._frame_size:
            return self._drop(f'the frame size changed from {self._frame_size[0]}x'
                              f'{self._frame_size[1]} to {size[0]}x{size[1]}')
        if stamp < last_stamp:
            return self._drop(f'time went backwards: stamp {stamp:.3f} s is earlier than '
                              f"the last frame's {last_stamp:.3f} s")
        if stamp - last_stamp > self.config.track_max_gap:
            return self._drop(f'{stamp - last_stamp:.3f} s since the last frame, more than '
                              f'track_max_gap {self.config.track_max_gap:g} s')
        moved, confidence, problem = self._follow(grey, box)
        if not problem:
            problem = self._box_problem(moved)
        if problem:
            return self._drop(problem)
        self._grey = grey
        self._history.append((stamp, moved))
        while self._history[0][0] < stamp - self.config.history:
            self._history.popleft()
        return TrackUpdate(self.box, confidence)

    def reconcile(self, grounded_box: Sequence[float], stamp: float | None = None) -> bool:
        """
        Check whether a new grounding agrees with the track.

        ``grounded_box``: (x1, y1, x2, y2) source pixels, grounded on the frame taken at
        ``stamp`` (s); it is compared with the box tracked on the frame nearest that stamp
        (None: the latest frame). Grounding is slow, so its frame is usually one the tracker
        has already passed.

        True: the IoU reaches ``track_agreement_iou``; the track is corrected to the grounded
        box, carried forward by the motion tracked since its frame (which keeps the drift of
        the tracker from accumulating). False: the tracker disagreed, or was not active, or
        no tracked frame lies within ``track_max_gap`` of ``stamp``; it is inactive now and
        the caller re-anchors with :meth:`start` on the grounding and its frame. Raises
        ValueError on a malformed box or stamp.
        """
        grounded = check_box(grounded_box, non_empty=True)
        if stamp is not None:
            stamp = _check_stamp(stamp)
        if not self.active:
            return False
        if stamp is None:
            index = len(self._history) - 1
        else:
            index = min(range(len(self._history)),
                        key=lambda i: abs(self._history[i][0] - stamp))
            gap = abs(self._history[index][0] - stamp)
            if gap > self.config.track_max_gap:
                self._drop(f'the grounding is {gap:.3f} s from the nearest tracked frame, '
                           f'more than track_max_gap {self.config.track_max_gap:g} s')
                return False
        reference = self._history[index][1]
        overlap = float(box_iou(np.array([self._clipped(reference)]), grounded[None])[0, 0])
        if overlap < self.config.track_agreement_iou:
            self._drop(f'a grounding disagreed (IoU {overlap:.2f} < track_agreement_iou '
                       f'{self.config.track_agreement_iou:g})')
            return False
        kept = list(self._history)[index:]
        self._history = deque((s, _carry(grounded, reference, b)) for s, b in kept)
        problem = self._box_problem(self._history[-1][1])
        if problem:
            self._drop(problem)
            return False
        return True

    # -- internals ------------------------------------------------------------------------
    def _to_grey(self, frame: np.ndarray) -> np.ndarray:
        """Convert the frame to grey at the working size; ImageError unless (H, W, 3) uint8."""
        if not isinstance(frame, np.ndarray):
            raise ImageError(f'expected a numpy array, got {type(frame).__name__}')
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ImageError(f'expected an (H, W, 3) uint8 RGB frame, got shape {frame.shape} '
                             f'of {frame.dtype}')
        height, width = frame.shape[:2]
        if height < 2 or width < 2:
            raise ImageError(f'the frame is too small to track in ({width}x{height} pixels)')
        grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
        work_width = self.config.track_work_width
        if 0 < work_width < width:
            work_height = max(round(height * work_width / width), 2)
            grey = cv2.resize(grey, (work_width, work_height), interpolation=cv2.INTER_AREA)
        return grey

    def _follow(self, grey: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, float, str]:
        """
        Follow the box by median flow from the previous grey frame to ``grey``.

        Returns (moved box, confidence, problem); the problem is empty when the box could be moved.
        """
        config = self.config
        sx, sy = self._scale
        start_box = box * (sx, sy, sx, sy)
        start = self._grid(start_box, grey.shape)
        lk = {'winSize': (config.window, config.window), 'maxLevel': config.pyramid_levels,
              'criteria': (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 0.03)}
        forward, found, _ = cv2.calcOpticalFlowPyrLK(self._grey, grey, start, None, **lk)
        back, found_back, _ = cv2.calcOpticalFlowPyrLK(grey, self._grey, forward, None, **lk)
        start, forward = start[:, 0], forward[:, 0]
        error = np.linalg.norm(back[:, 0] - start, axis=1)
        tracked = (found[:, 0] == 1) & (found_back[:, 0] == 1) & np.isfinite(error)
        total, count = len(start), int(tracked.sum())
        if count < config.track_min_points:
            return box, 0.0, (f'too few points could be tracked ({count} of {total}, '
                              f'track_min_points {config.track_min_points}): the target '
                              'left the view, was covered or lost its texture')
        limit = config.track_max_fb_error * min(sx, sy)
        reliable = tracked & (error <= limit)
        confidence = float(reliable.sum()) / total
        if reliable.sum() < config.track_min_points:
            median_error = float(np.median(error[tracked])) / min(sx, sy)
            return box, confidence, (
                f'forward-backward error too large: {int(reliable.sum())} of {total} points '
                f'within track_max_fb_error {config.track_max_fb_error:g} px (median '
                f'{median_error:.2f} px)')
        keep = reliable & (error <= np.median(error[reliable]))
        before, after = start[keep], forward[keep]
        first, second = np.triu_indices(len(before), k=1)
        ratios = (np.linalg.norm(after[first] - after[second], axis=1)
                  / np.linalg.norm(before[first] - before[second], axis=1))
        scale = float(np.median(ratios))
        most = 1.0 + config.track_max_scale_change
        if not 1.0 / most <= scale <= most:
            return box, confidence, (f'the box scaled by x{scale:.2f} in one frame, beyond '
                                     f'track_max_scale_change {config.track_max_scale_change:g}')
        # Each point votes for the new centre under the similarity model: it moved with the
        # centre plus (scale - 1) times its offset from it. (The median of the raw
        # displacements is biased when the kept points are not centred on the box.)
        old_centre = (start_box[:2] + start_box[2:]) / 2.0 - 0.5
        new_centre = np.median(after - scale * (before - old_centre), axis=0)
        centre = (box[:2] + box[2:]) / 2.0 + (new_centre - old_centre) / (sx, sy)
        half = (box[2:] - box[:2]) * scale / 2.0
        return np.concatenate([centre - half, centre + half]), confidence, ''

    def _grid(self, box: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """
        Return the grid points over the part of ``box`` inside the image, for OpenCV.

        (N, 1, 2) float32 points, the cell centres of a grid over the part of ``box``
        (working-image edges) inside an image of ``shape``, in OpenCV pixel-centre coordinates
        (edge coordinate - 0.5).
        """
        height, width = shape
        x1, x2 = np.clip(box[[0, 2]], 0.0, width)
        y1, y2 = np.clip(box[[1, 3]], 0.0, height)
        cells = (np.arange(self.config.track_grid) + 0.5) / self.config.track_grid
        xs, ys = np.meshgrid(x1 + cells * (x2 - x1) - 0.5, y1 + cells * (y2 - y1) - 0.5)
        return np.stack([xs.ravel(), ys.ravel()], axis=1)[:, None].astype(np.float32)

    def _box_problem(self, box: np.ndarray) -> str:
        """Why ``box`` (source pixels, unclipped) cannot be tracked; empty when it can."""
        width, height = box[2:] - box[:2]
        smallest = self.config.track_min_box_size
        if not (np.all(np.isfinite(box)) and width >= smallest and height >= smallest):
            return (f'the box is {width:.1f}x{height:.1f} px, smaller than '
                    f'track_min_box_size {smallest:g} px')
        inside = _area(np.asarray(self._clipped(box))) / (width * height)
        if inside < self.config.track_min_visible:
            return (f'the box is out of the image ({inside:.0%} of it inside, less than '
                    f'track_min_visible {self.config.track_min_visible:g})')
        return ''

    def _clipped(self, box: np.ndarray) -> Box:
        width, height = self._frame_size
        x1, y1, x2, y2 = (float(v) for v in np.clip(box, 0.0, (width, height, width, height)))
        return x1, y1, x2, y2

    def _drop(self, reason: str) -> TrackUpdate:
        self._grey = None
        self._history.clear()
        self._reason = reason
        return TrackUpdate(None, 0.0, reason)


def _check_stamp(stamp: float) -> float:
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float, np.floating, np.integer)) \
            or not math.isfinite(stamp):
        raise ValueError(f'a stamp is a finite number of seconds, got {stamp!r}')
    return float(stamp)


def _area(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0))


def _carry(box: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """
    Move and scale ``box``, per axis, as ``source`` maps onto ``target``.

    All are (x1, y1, x2, y2).
    """
    gain = (target[2:] - target[:2]) / (source[2:] - source[:2])
    return np.concatenate([target[:2] + (box[:2] - source[:2]) * gain,
                           target[:2] + (box[2:] - source[:2]) * gain])
