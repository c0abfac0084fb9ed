"""grounding_node's logic without ROS: commands in; frames grounded, placed and reported.

The node converts messages to a :class:`Frame` and back; everything between (parsing,
encoding the phrase once, choosing which frame to ground, grounding, placing the target on
the floor or by depth, the perception state and the status it publishes) happens here, so it
is tested without a ROS graph.

Times are seconds on the caller's clock (ROS time in the node).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .commands import Command, CommandError, Step, parse_command
from .geometry import CameraMount, GeometryError, Intrinsics, TargetPoint, locate_box
from .grounding import Grounder, GroundingResult, UnknownWordsError
from .model import TextTooLongError
from .images import ImageError
from .parameters import check_settings, setting
from .session import GroundingSession
from .status import ActionStatus, GroundingState, GroundingStatus
from .timing import ClockWatch, fresh


def _together(stamp: float, other: float | None, skew: float) -> bool:
    """Whether an input stamped ``other`` (None: taken with the frame) may be combined with
    a frame stamped ``stamp``."""
    return other is None or fresh(stamp, other, skew)


def _phrases(step: Step) -> list[str]:
    """What CLIP must ground for a step: its target, and the reference object of a relation
    ("the box next to the red ball")."""
    reference = step.referring.reference if step.referring is not None else ''
    return [phrase for phrase in (step.target, reference) if phrase]


def _gap(stamp: float, other: float) -> str:
    return f'{abs(stamp - other):.2f} s' if math.isfinite(stamp - other) else 'not datable'


@dataclass(frozen=True)
class Frame:
    """One camera frame as the core sees it.

    ``rgb`` is (H, W, 3) uint8; ``intrinsics`` describe that image, or are None and
    ``calibration_problem`` says why (no or unusable camera_info); ``depth`` is in metres,
    aligned with the image, any resolution (None: no depth image). ``stamp`` (s) and
    ``frame_id`` are the image header's; ``intrinsics_stamp`` and ``depth_stamp`` those of
    the camera_info and depth image combined with it (None: taken with the frame).
    """

    rgb: np.ndarray
    stamp: float
    frame_id: str
    intrinsics: Intrinsics | None = None
    depth: np.ndarray | None = None
    calibration_problem: str = 'no camera_info received on grounding/camera_info'
    intrinsics_stamp: float | None = None
    depth_stamp: float | None = None


@dataclass(frozen=True)
class PerceptionUpdate:
    """What one grounded frame produced: the status to publish, and the target (base frame)
    when the phrase was found and placed."""

    status: GroundingStatus
    result: GroundingResult | None = None
    target: TargetPoint | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class PerceptionSettings:
    """How long inputs may be missing or apart, and the target's frame: grounding node
    parameters. ``mount`` (not a parameter itself: see MountSettings) places targets."""

    lost_timeout: float = setting(2.0, 'Seconds (ROS time) without a match before the state '
                                  'becomes lost', minimum=0.01, maximum=3600.0)
    image_timeout: float = setting(2.0, 'Seconds (ROS time) without a frame before an error '
                                   'is reported', minimum=0.01, maximum=3600.0)
    max_input_skew: float = setting(0.5, 'camera_info or a depth image stamped further than '
                                    'this (s) from the frame is not combined with it',
                                    minimum=0.0, maximum=3600.0)
    base_frame: str = setting('base_link', 'Frame of grounding/target (REP-103: x forward, '
                              'y left, z up, z = 0 on the floor)')

    mount: CameraMount = CameraMount(x=0.15, z=0.35, pitch=math.radians(20.0))

    def __post_init__(self):
        problems = check_settings(self)
        if not problems and not self.base_frame:
            problems.append('base_frame must not be empty')
        if problems:
            raise ValueError('; '.join(problems))


class Perception:
    """Commands and frames in; perception state, targets and statuses out."""

    def __init__(self, grounder: Grounder, settings: PerceptionSettings = PerceptionSettings()):
        self.grounder = grounder
        self.settings = settings
        self.session = GroundingSession(lost_timeout=settings.lost_timeout)
        self.last_result: GroundingResult | None = None
        self.last_target: TargetPoint | None = None
        self.last_frame: Frame | None = None
        self.classification: list[tuple[str, float]] = []
        self.last_text = ''
        self.clock = ClockWatch()
        self.frame_received: float | None = None
        self.last_stamp: float | None = None

    def configure(self, settings: PerceptionSettings) -> None:
        self.settings = settings
        self.session.lost_timeout = settings.lost_timeout

    # -- commands ---------------------------------------------------------------------------
    def on_command(self, text: str, now: float) -> Command | None:
        """Parse ``text`` and encode every phrase of every step once, here, so a word the
        model cannot read refuses the command before anything moves; None (and an error
        state whose message says why) when it cannot be acted on."""
        self.last_text = text
        try:
            command = parse_command(text)
            for step in command.steps:
                for phrase in _phrases(step):
                    self.grounder.phrase_embedding(phrase)
        except (CommandError, UnknownWordsError, TextTooLongError) as error:
            self.session.on_bad_command(str(error))
            self._forget()
            return None
        self.session.on_command(command, now)
        self._forget()
        return command

    def on_step_outcome(self, status: ActionStatus, now: float) -> bool:
        """The action node's progress (action/status): a step done moves to the next, a
        failed one ends the command. True when the session changed."""
        changed = self.session.on_step_outcome(status.command_id, status.step, status.state,
                                                status.reason, now)
        if changed:
            self._forget()
        return changed

    def _forget(self) -> None:
        self.last_result, self.last_target, self.last_frame = None, None, None
        self.classification = []

    @property
    def wants_frames(self) -> bool:
        """Whether frames are needed now (a target to ground, or frames to classify)."""
        return self.session.grounding or self.session.classifying

    def check_clock(self, now: float) -> str:
        """Notice ROS time going back: what was timed on the old clock (the lost timer, the
        wait for frames) restarts now. Returns a warning, or ''. Under use_sim_time ROS time
        is 0 until the first /clock: a command dated then starts its timers when the clock
        does (else a command given at start-up would count as lost at once)."""
        latest = self.clock.latest
        reason = self.clock.describe(now) if latest is not None else ''
        if latest == 0.0 and now > 0.0:
            self.session.restart_timers(now)
        if not self.clock.went_back(now):
            return ''
        self.session.restart_timers(now)
        self.frame_received = self.last_stamp = None
        return f'{reason}: timers restarted'

    def note_frame(self, stamp: float, now: float) -> str:
        """A frame arrived (``stamp``: its header's, s). Returns a warning when its stamp is
        zero, repeats the previous one or goes back: such frames are still grounded (each new
        message is a new frame), but their targets cannot be dated."""
        self.frame_received = now
        previous, self.last_stamp = self.last_stamp, stamp
        if stamp == 0.0:
            return 'frames are stamped 0: their targets cannot be dated (check the camera driver)'
        if previous is not None and stamp == previous:
            return f'frames repeat the stamp {stamp:.6f} s: the camera driver freezes its stamps'
        if previous is not None and stamp < previous:
            return f'frame stamps went back ({previous:.3f} -> {stamp:.3f} s)'
        return ''

    def check_frames(self, now: float) -> bool:
        """Whether frames arrive; after image_timeout without one, the state becomes an
        error that says so. A command just given gets image_timeout for the first frame."""
        received = self.frame_received
        since = self.session.command_time if received is None else received
        if now - since <= self.settings.image_timeout:
            return True
        waited = 'yet' if received is None else f'for {now - since:.1f} s'
        self.session.on_error(f'no camera frames on grounding/image {waited}')
        return False

    def on_unusable_frame(self, error: Exception) -> GroundingStatus:
        self.session.on_error(f'unusable frame: {error}')
        return self.status()

    # -- frames -----------------------------------------------------------------------------
    def process(self, frame: Frame, now: float) -> PerceptionUpdate:
        """Classify or ground ``frame`` for the active command."""
        self.last_frame = frame
        if self.session.classifying:
            self.classification = self.grounder.classify(frame.rgb, self.session.step.prompts)
            best, probability = self.classification[0]
            # Also clears an earlier error (no frames yet): this frame was classified.
            self.session.state = GroundingState.CLASSIFYING
            self.session.message = f"best match '{best}' ({probability:.2f})"
            return PerceptionUpdate(self.status())
        result = self.grounder.ground(frame.rgb, self.session.step.target)
        self.last_result, self.last_target = result, None
        if not result.found:
            self.session.on_result(False, result.message, now)
            return PerceptionUpdate(self.status(), result)
        warnings: list[str] = []
        try:
            self.last_target = self._place(result, frame, warnings)
        except (GeometryError, ImageError) as error:
            self.session.on_error(f"found '{result.phrase}' but cannot place it: {error}")
        else:
            if self.last_target is None:
                self.session.on_error(f"found '{result.phrase}' but its base is above the "
                                      'horizon: check camera_z and camera_pitch_deg')
            else:
                self.session.on_result(True, result.message, now)
        return PerceptionUpdate(self.status(), result, self.last_target, tuple(warnings))

    def _place(self, result: GroundingResult, frame: Frame,
               warnings: list[str]) -> TargetPoint | None:
        """The target in the base frame, from the depth image when it is fresh enough for
        the frame, else where its box meets the floor (the reason goes to ``warnings``)."""
        skew = self.settings.max_input_skew
        if frame.intrinsics is None:
            raise GeometryError(frame.calibration_problem)
        if not _together(frame.stamp, frame.intrinsics_stamp, skew):
            raise GeometryError(f'camera_info is {_gap(frame.stamp, frame.intrinsics_stamp)} '
                                f'from the frame (max_input_skew {skew:.2f} s)')
        intrinsics = frame.intrinsics
        height, width = frame.rgb.shape[:2]
        if (intrinsics.width, intrinsics.height) != (width, height):
            intrinsics = intrinsics.scaled(width, height)
        depth = frame.depth
        if depth is not None and not _together(frame.stamp, frame.depth_stamp, skew):
            warnings.append(f'depth image {_gap(frame.stamp, frame.depth_stamp)} from the '
                            f'frame (max_input_skew {skew:.2f} s): target placed on the '
                            'floor plane instead')
            depth = None
        return locate_box(result.best.box, intrinsics, self.settings.mount, depth)

    # -- status -----------------------------------------------------------------------------
    def status(self) -> GroundingStatus:
        """The current perception state with what the last grounded frame showed."""
        session, command, result = self.session, self.session.command, self.last_result
        step = session.step
        status = GroundingStatus(
            state=session.state, message=session.message, command_id=session.command_id,
            command=command.text if command else self.last_text,
            step=session.step_index, steps=len(command.steps) if command else 0,
            intent=str(step.intent) if step else '', target=step.target if step else '',
            motion_distance=step.distance if step else 0.0,
            motion_angle=step.angle if step else 0.0,
            strategy=self.grounder.config.strategy,
            found=bool(result and result.found and self.last_target is not None))
        if self.last_frame is not None:
            status.image_stamp = round(self.last_frame.stamp, 6)
            status.frame_id = self.last_frame.frame_id
        if result is not None and result.best is not None:
            status.score = round(result.best.score, 4)
            status.box = [round(v, 1) for v in result.best.box]
            status.candidates = [c.as_dict() for c in result.candidates]
            status.timings_ms = {k: round(v, 1) for k, v in result.timings_ms.items()}
        if self.last_target is not None:
            point = self.last_target
            status.distance = round(point.distance, 3)
            status.bearing = round(point.bearing, 4)
            status.position = [round(point.x, 3), round(point.y, 3), round(point.z, 3)]
            status.position_source = point.source
            status.base_frame = self.settings.base_frame
        if self.classification:
            status.classification = [{'prompt': p, 'probability': round(q, 4)}
                                     for p, q in self.classification]
        return status
