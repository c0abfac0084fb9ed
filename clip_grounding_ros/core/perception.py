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

from .commands import Command, CommandError, parse_command
from .geometry import CameraMount, GeometryError, Intrinsics, TargetPoint, locate_box
from .grounding import Grounder, GroundingResult, UnknownWordsError
from .images import ImageError
from .parameters import check_settings, setting
from .session import GroundingSession
from .status import GroundingState, GroundingStatus


@dataclass(frozen=True)
class Frame:
    """One camera frame as the core sees it.

    ``rgb`` is (H, W, 3) uint8; ``intrinsics`` describe that image, or are None and
    ``calibration_problem`` says why (no or unusable camera_info); ``depth`` is in metres,
    aligned with the image, any resolution (None: no depth image). ``stamp`` (s) and
    ``frame_id`` are the image header's.
    """

    rgb: np.ndarray
    stamp: float
    frame_id: str
    intrinsics: Intrinsics | None = None
    depth: np.ndarray | None = None
    calibration_problem: str = 'no camera_info received on grounding/camera_info'


@dataclass(frozen=True)
class PerceptionUpdate:
    """What one grounded frame produced: the status to publish, and the target (base frame)
    when the phrase was found and placed."""

    status: GroundingStatus
    result: GroundingResult | None = None
    target: TargetPoint | None = None


@dataclass(frozen=True)
class PerceptionSettings:
    """Where the camera sits and how long inputs may be missing: grounding node parameters.

    The camera mount (REP-103 base frame; pitch positive down) places targets when no depth
    image is used; :attr:`mount` is it in radians.
    """

    lost_timeout: float = setting(2.0, 'Seconds (ROS time) without a match before the state '
                                  'becomes lost', minimum=0.01, maximum=3600.0)
    image_timeout: float = setting(2.0, 'Seconds (ROS time) without a frame before an error '
                                   'is reported', minimum=0.01, maximum=3600.0)
    camera_x: float = setting(0.15, 'Camera optical centre, metres ahead of the base origin',
                              minimum=-10.0, maximum=10.0)
    camera_y: float = setting(0.0, 'Camera optical centre, metres left of the base origin',
                              minimum=-10.0, maximum=10.0)
    camera_z: float = setting(0.35, 'Camera optical centre height above the floor (m)',
                              minimum=0.001, maximum=10.0)
    camera_pitch_deg: float = setting(20.0, 'Camera tilt, degrees down from horizontal',
                                      minimum=-89.9, maximum=89.9)
    camera_yaw_deg: float = setting(0.0, 'Camera yaw, degrees left of the base x axis',
                                    minimum=-180.0, maximum=180.0)
    base_frame: str = setting('base_link', 'Frame of grounding/target (REP-103: x forward, '
                              'y left, z up, z = 0 on the floor)')

    def __post_init__(self):
        problems = check_settings(self)
        if not problems and not self.base_frame:
            problems.append('base_frame must not be empty')
        if problems:
            raise ValueError('; '.join(problems))

    @property
    def mount(self) -> CameraMount:
        return CameraMount(x=self.camera_x, y=self.camera_y, z=self.camera_z,
                           pitch=math.radians(self.camera_pitch_deg),
                           yaw=math.radians(self.camera_yaw_deg))


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

    def configure(self, settings: PerceptionSettings) -> None:
        self.settings = settings
        self.session.lost_timeout = settings.lost_timeout

    # -- commands ---------------------------------------------------------------------------
    def on_command(self, text: str, now: float) -> Command | None:
        """Parse ``text`` and encode its phrase once; None (and an error state whose message
        says why) when it cannot be acted on."""
        self.last_text = text
        try:
            command = parse_command(text)
            if command.target:
                self.grounder.phrase_embedding(command.target)  # encoded once, here
        except (CommandError, UnknownWordsError) as error:
            self.session.on_bad_command(str(error))
            self._forget()
            return None
        self.session.on_command(command, now)
        self._forget()
        return command

    def _forget(self) -> None:
        self.last_result, self.last_target, self.last_frame = None, None, None
        self.classification = []

    @property
    def wants_frames(self) -> bool:
        """Whether frames are needed now (a target to ground, or frames to classify)."""
        return self.session.grounding or self.session.classifying

    def check_frames(self, last_frame_received: float | None, now: float) -> bool:
        """Whether frames arrive; after image_timeout without one, the state becomes an
        error that says so. A command just given gets image_timeout for the first frame."""
        since = self.session.command_time if last_frame_received is None else last_frame_received
        if now - since <= self.settings.image_timeout:
            return True
        waited = 'yet' if last_frame_received is None else f'for {now - since:.1f} s'
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
            self.classification = self.grounder.classify(frame.rgb, self.session.command.prompts)
            best, probability = self.classification[0]
            # Also clears an earlier error (no frames yet): this frame was classified.
            self.session.state = GroundingState.CLASSIFYING
            self.session.message = f"best match '{best}' ({probability:.2f})"
            return PerceptionUpdate(self.status())
        result = self.grounder.ground(frame.rgb, self.session.command.target)
        self.last_result, self.last_target = result, None
        if not result.found:
            self.session.on_result(False, result.message, now)
            return PerceptionUpdate(self.status(), result)
        try:
            self.last_target = self._place(result, frame)
        except (GeometryError, ImageError) as error:
            self.session.on_error(f"found '{result.phrase}' but cannot place it: {error}")
        else:
            if self.last_target is None:
                self.session.on_error(f"found '{result.phrase}' but its base is above the "
                                      'horizon: check camera_z and camera_pitch_deg')
            else:
                self.session.on_result(True, result.message, now)
        return PerceptionUpdate(self.status(), result, self.last_target)

    def _place(self, result: GroundingResult, frame: Frame) -> TargetPoint | None:
        if frame.intrinsics is None:
            raise GeometryError(frame.calibration_problem)
        intrinsics = frame.intrinsics
        height, width = frame.rgb.shape[:2]
        if (intrinsics.width, intrinsics.height) != (width, height):
            intrinsics = intrinsics.scaled(width, height)
        return locate_box(result.best.box, intrinsics, self.settings.mount, frame.depth)

    # -- status -----------------------------------------------------------------------------
    def status(self) -> GroundingStatus:
        """The current perception state with what the last grounded frame showed."""
        session, command, result = self.session, self.session.command, self.last_result
        status = GroundingStatus(
            state=session.state, message=session.message, command_id=session.command_id,
            command=command.text if command else self.last_text,
            intent=str(command.intent) if command else '',
            target=command.target if command else '',
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
