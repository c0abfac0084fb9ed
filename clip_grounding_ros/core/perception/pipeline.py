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
grounding_node's logic without ROS: commands in; frames grounded, placed and reported.

The node converts messages to a :class:`Frame` and back; everything between (parsing,
encoding the phrase once, grounding, choosing the object a step means and following it,
tracking it between groundings, placing the target on the floor or by depth, the
perception state and the status it publishes) happens here, so it is tested without a ROS
graph.

Times are seconds on the caller's clock (ROS time in the node).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
import math
import uuid

import numpy as np

from .choice import EvidenceConfig, TargetChoice
from .encoder import TextTooLongError
from .grounding import Candidate, Grounder, GrounderConfig, GroundingResult, UnknownWordsError
from .images import ImageError
from .recall import (
    an,
    counted,
    describe,
    latest_first,
    not_seen,
    Recalled,
    sightings,
    where,
)
from .referring import place_candidate
from .tracking import BoxTracker, TrackerConfig
from ..contract.parameters import setting, Settings
from ..contract.protocol import Intent
from ..contract.status import ActionStatus, GroundingState, GroundingStatus, TargetSource
from ..contract.timing import ClockWatch, fresh
from ..language.commands import parse_command
from ..language.dialogue import Dialogue, DialogueConfig
from ..language.session import CommandSession
from ..language.steps import Command, CommandError, SpokenAmounts, Step
from ..world.camera import CameraMount, GeometryError, Intrinsics, locate_box, TargetPoint
from ..world.memory import AssociationConfig
from ..world.objects import ObjectMemory, ObjectMemoryConfig, RememberedObject

RECENT_FRAMES = 30  # frames kept to replay the tracker from a grounding's frame (1 s at 30 Hz)
# Odometry faster than this (m/s) between two poses is a reset of the odometry frame, not
# motion: positions remembered in the old frame mean nothing in the new one.
ODOMETRY_JUMP_SPEED = 3.0


def _together(stamp: float, other: float | None, skew: float) -> bool:
    """
    Tell whether an input may be combined with a frame stamped ``stamp``.

    The input is stamped ``other`` (None: taken with the frame).
    """
    return other is None or fresh(stamp, other, skew)


def _phrases(step: Step) -> list[str]:
    """
    Return the phrases CLIP must ground for a step.

    Its target, and the reference object of a relation ("the box next to the red ball").
    """
    reference = step.referring.reference if step.referring is not None else ''
    return [phrase for phrase in (step.target, reference) if phrase]


def _gap(stamp: float, other: float) -> str:
    return f'{abs(stamp - other):.2f} s' if math.isfinite(stamp - other) else 'not datable'


@dataclass(frozen=True)
class Frame:
    """
    One camera frame as the core sees it.

    ``rgb`` is (H, W, 3) uint8; ``intrinsics`` describe that image, or are None and
    ``calibration_problem`` says why (no or unusable camera_info); ``depth`` is in metres,
    aligned with the image, any resolution (None: no depth image). ``stamp`` (s) and
    ``frame_id`` are the image header's; ``intrinsics_stamp`` and ``depth_stamp`` those of
    the camera_info and depth image combined with it (None: taken with the frame);
    ``pose`` is the robot's (x, y, yaw) in the odometry frame at ``stamp`` (m, rad), None
    without odometry. ``missing`` names inputs the node uses but has none of for this
    frame (a depth image when it locates by depth, odometry once it has had some).
    """

    rgb: np.ndarray
    stamp: float
    frame_id: str
    intrinsics: Intrinsics | None = None
    depth: np.ndarray | None = None
    calibration_problem: str = 'no camera_info received on grounding/camera_info'
    intrinsics_stamp: float | None = None
    depth_stamp: float | None = None
    pose: tuple[float, float, float] | None = None  # the base in odom when it was taken
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class PerceptionUpdate:
    """
    What one grounded frame produced: the status to publish, and the target.

    The target (base frame) is there when the phrase was found and placed in a frame newer
    than the last target's (:meth:`Perception._publishable`).
    """

    status: GroundingStatus
    result: GroundingResult | None = None
    target: TargetPoint | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class PerceptionConfig(Settings):
    """
    How long inputs may be missing or apart, and the target's frame.

    These are grounding node parameters. ``mount`` (not a parameter itself: see
    :class:`..world.camera.MountConfig`) places targets.
    """

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

    def problems(self) -> list[str]:
        """Return what is wrong with the values, the rules between them included."""
        problems = super().problems()
        if not problems and not self.base_frame:
            problems.append('base_frame must not be empty')
        return problems


@dataclass(frozen=True)
class FrameGrounding:
    """
    The heavy part of a frame's processing, done without touching the session.

    A worker thread may run it. For the step it was started on: the head phrase's result, the
    reference phrase's (relations to another object), or the classification.
    """

    command_id: int
    step: int
    result: GroundingResult | None = None
    reference: GroundingResult | None = None
    classification: tuple[tuple[str, float], ...] = ()
    waiting: str = ''  # not grounded: an input it needs has not arrived yet (what, why)


class Perception:
    """
    Commands and frames in; perception state, targets and statuses out.

    A grounded frame picks the object the step means among the matches and follows it by
    position afterwards (:mod:`.choice`). Between groundings a tracker (:mod:`.tracking`)
    follows the chosen box on every frame, so targets update at camera rate. What each
    grounding saw goes into the object memory (``objects``, :mod:`.recall`), which answers
    'where did you see ...' and sends 'go back to ...' and find steps to where it saw the
    object first.
    """

    def __init__(self, grounder: Grounder, config: PerceptionConfig = PerceptionConfig(),
                 tracker: TrackerConfig | None = None,
                 association: AssociationConfig | None = None,
                 amounts: SpokenAmounts | None = None,
                 dialogue: DialogueConfig | None = None,
                 evidence: EvidenceConfig | None = None,
                 objects: ObjectMemoryConfig | None = None):
        self.grounder = grounder
        self.config = config
        self.amounts = amounts or SpokenAmounts()
        self.dialogue = Dialogue(dialogue or DialogueConfig())
        self.session = CommandSession(lost_timeout=config.lost_timeout)
        self.tracker = BoxTracker(tracker or TrackerConfig())
        self.choice = TargetChoice((association or AssociationConfig()).association_gate,
                                   evidence)
        self.run_id = uuid.uuid4().hex[:12]  # command ids count from 1 in each run
        self.last_result: GroundingResult | None = None
        self.last_target: TargetPoint | None = None
        self.last_frame: Frame | None = None
        self.classification: list[tuple[str, float]] = []
        self.last_text = ''
        self.clock = ClockWatch()
        self.frame_received: float | None = None
        self.last_stamp: float | None = None
        self.grounded_stamp: float | None = None  # image stamp of the last grounding
        self.published_stamp: float | None = None  # image stamp of the newest target given out
        self.target_source: TargetSource | None = None
        self.recent: deque[Frame] = deque(maxlen=RECENT_FRAMES)
        self.objects = ObjectMemory(objects or ObjectMemoryConfig())
        self.objects_changed = False   # since the memory was last saved
        self.recalled: Recalled | None = None  # the remembered object the step goes to
        self.remembered: list[dict] = []       # the memory's answer on the status
        self.pose: tuple[float, float, float] | None = None  # the latest odometry, (x, y, yaw)
        self.pose_stamp: float | None = None

    def configure(self, grounder: GrounderConfig, config: PerceptionConfig,
                  tracker: TrackerConfig, association: AssociationConfig,
                  amounts: SpokenAmounts, dialogue: DialogueConfig,
                  evidence: EvidenceConfig, objects: ObjectMemoryConfig) -> None:
        """Apply new parameters (``ros2 param set``); what is under way goes on with them."""
        self.grounder.config = grounder
        self.config = config
        self.amounts = amounts
        self.dialogue.config = dialogue
        self.session.lost_timeout = config.lost_timeout
        self.tracker.config = tracker
        self.choice.gate, self.choice.evidence = association.association_gate, evidence
        self.objects.config = objects

    # -- commands ---------------------------------------------------------------------------
    def on_command(self, text: str, now: float) -> Command | None:
        """
        Parse ``text``, resolve what it refers to, encode every phrase of every step once.

        A follow-up ("again", "no, the other one") becomes the steps it means (:mod:`..language.
        dialogue`), and a word the model cannot read refuses the command before anything moves.
        None (and an error state whose message says why) when it cannot be acted on.
        """
        self.last_text = text
        try:
            command = self.dialogue.resolve(parse_command(text, self.amounts), now)
            for step in command.steps:
                for phrase in _phrases(step):
                    self.grounder.phrase_embedding(phrase)
                if step.prompts:
                    self.grounder.prompt_embeddings(step.prompts)
            self._check_remembered(command, now)
        except (CommandError, UnknownWordsError, TextTooLongError) as error:
            self.session.on_bad_command(str(error))
            self._forget()
            return None
        self.session.on_command(command, now)
        self.dialogue.record_command(command, now)
        self._forget()
        self._begin_step(now)
        return command

    def on_step_outcome(self, status: ActionStatus, now: float) -> bool:
        """
        Take in the action node's progress (action/status).

        A step done moves to the next, a failed one ends the command. True when the session
        changed.
        """
        if status.run_id != self.run_id:
            return False  # about another run's command (this node was restarted)
        changed = self.session.on_step_outcome(status.command_id, status.step, status.outcome,
                                               status.reason, now)
        if changed:
            self._forget()
            if not self.session.finished:
                self._begin_step(now)
        return changed

    def _check_remembered(self, command: Command, now: float) -> None:
        """
        Refuse 'go back to the X' / 'the X you saw' when the memory holds no X.

        Said of something seen, it is not a request to search: driving to whatever live
        grounding finds first could be the wrong object. CommandError says what to say instead.
        """
        for step in command.steps:
            if step.remembered and not self._recollections(step.target, now):
                raise CommandError(f'{not_seen(step.target, len(self.objects))}: say '
                                   f"'find the {step.target}' to look for one")

    def _begin_step(self, now: float) -> None:
        """
        Answer a question to the memory; send a step of a remembered object there first.

        'go back to the X', 'the X you saw' and find steps look in the object memory before
        searching: the best remembered match is driven to until live grounding confirms it.
        """
        step = self.session.step
        self.remembered = []
        if step.intent.answered:
            self.session.on_answer(self._answer(step, now))
            return
        if not step.target or not (step.remembered or step.intent == Intent.FIND):
            return
        found = self._recollections(step.target, now)
        if found:
            self.recalled = Recalled(found[0])
            self.choice.count_choice()  # a remembered object is a choice: the action re-anchors
            self.session.message += f' (I saw one {where(describe(found[0], self.pose, now))})'
        elif step.remembered:  # seen when it was said (_check_remembered), forgotten since
            self.session.message += (f" (I no longer remember {an(step.target)} '{step.target}': "
                                     'searching)')

    # -- the object memory across restarts -------------------------------------------------
    def load_objects(self, path: str, odometry_session: str, now: float) -> str:
        """Take the memory saved at ``path``; return why it starts empty instead ('' if not)."""
        self.objects, why = ObjectMemory.load(path, odometry_session, now, self.objects.config)
        return why

    def changed_objects(self, now: float) -> list[RememberedObject] | None:
        """Return the remembered objects if they changed since the last call, else None."""
        if not self.objects_changed:
            return None
        self.objects_changed = False
        return self.objects.objects(now)

    def save_objects(self, path: str, odometry_session: str, now: float) -> None:
        """Save the memory atomically (:meth:`..world.objects.ObjectMemory.save`)."""
        self.objects.save(path, odometry_session, now)

    def note_pose(self, pose: tuple[float, float, float], stamp: float) -> str:
        """
        Take the latest odometry pose (odom, m and rad, stamped ``stamp`` s).

        Answers say where remembered objects are from it. A jump faster than
        ODOMETRY_JUMP_SPEED is an odometry reset: the object memory is cleared, and the reason
        returned ('' otherwise).
        """
        previous, previous_stamp = self.pose, self.pose_stamp
        self.pose, self.pose_stamp = pose, stamp
        if previous is None or previous_stamp is None or stamp <= previous_stamp:
            return ''
        jump = math.dist(previous[:2], pose[:2])
        if jump <= 0.5 or jump / (stamp - previous_stamp) <= ODOMETRY_JUMP_SPEED:
            return ''
        why = f'odometry jumped {jump:.2f} m in {stamp - previous_stamp:.2f} s (a reset)'
        self.objects.on_odometry_reset(why)
        self.recalled, self.objects_changed = None, True
        return f'{why}: the objects seen are forgotten'

    def _recollections(self, phrase: str, now: float):
        """Return the remembered objects that match ``phrase`` at the threshold (latest_first)."""
        return latest_first(self.objects.query(lambda embeddings: self.grounder.score_embeddings(
            embeddings, phrase), self.grounder.config.score_threshold, now))

    def _answer(self, step: Step, now: float) -> str:
        """Answer 'where did you see the X?', 'what have you seen?', 'forget ...'."""
        if step.intent == Intent.FORGET:
            self.objects_changed = True
            if not step.target:
                count = len(self.objects)
                self.objects.clear('asked to forget what was seen')
                return f'forgot the {counted(count)} I remembered'
            forgotten = self._recollections(step.target, now)
            for recollection in forgotten:
                self.objects.forget(recollection.object.object_id)
            return (f"forgot {counted(len(forgotten))} like {an(step.target)} '{step.target}'; "
                    f'{counted(len(self.objects))} remembered')
        if step.target:
            self.remembered = [describe(r, self.pose, now)
                               for r in self._recollections(step.target, now)]
            if not self.remembered:
                return not_seen(step.target, len(self.objects))
            more = len(self.remembered) - 1
            return (f"I saw {an(step.target)} '{step.target}' {where(self.remembered[0])}" +
                    (f' ({more} more remembered that match)' if more else ''))
        objects = self.objects.objects(now)
        self.remembered = [describe(o, self.pose, now) for o in objects]
        named = [entry for entry in self.remembered if entry['label'] != 'object']
        if not named:
            return f'I remember {counted(len(objects))}, none of them named yet'
        said = '; '.join(f"{an(entry['label'])} {entry['label']} {where(entry)}"
                         for entry in named[:5])
        return (f'I remember {counted(len(objects))}, {len(named)} of them named: {said}' +
                ('; ...' if len(named) > 5 else ''))

    def _forget(self) -> None:
        """Start afresh for a new command or step: nothing chosen, nothing tracked."""
        self.last_result, self.last_target, self.last_frame = None, None, None
        self.classification = []
        self.choice.reset()
        self.grounded_stamp, self.target_source = None, None
        self.tracker.reset()
        self.recalled = None

    @property
    def wants_frames(self) -> bool:
        """Whether frames are needed now (a target to ground, or frames to classify)."""
        return self.session.wants_grounding or self.session.classifying

    @property
    def tracking(self) -> bool:
        """Whether a step's target is being grounded, so frames may be tracked between."""
        return self.session.wants_grounding

    def message(self) -> str:
        """Return the session's message: what it is doing, or why it cannot."""
        return self.session.message

    def base_frame(self) -> str:
        return self.config.base_frame

    def check_clock(self, now: float) -> str:
        """
        Notice ROS time going back: what was timed on the old clock restarts now.

        What restarts: the lost timer, the wait for frames. Returns a warning, or ''. Under
        use_sim_time ROS time is 0 until the first /clock: a command dated then starts its timers
        when the clock does (else a command given at start-up would count as lost at once).
        """
        change = self.clock.observe(now)
        if change.started:
            self.session.restart_timers(now)
            if self.frame_received is not None:
                # Frames taken in before the first /clock were dated 0: they arrived now, as
                # far as this clock can tell (else the first check finds them 'for 7 s' old).
                self.frame_received = now
        if not change.went_back:
            return ''
        self.session.restart_timers(now)
        self.frame_received = self.last_stamp = self.published_stamp = None
        self.recent.clear()
        self.tracker.reset()
        self.choice.forget_evidence()
        self.dialogue.reset()
        self.objects.clear(change.reason)
        self.recalled, self.pose, self.pose_stamp, self.objects_changed = None, None, None, True
        return (f'{change.reason}: timers restarted, what was said before and the objects seen '
                'forgotten')

    def note_frame(self, stamp: float, now: float) -> str:
        """
        Note a frame's arrival; warn when its stamp cannot date it.

        A frame arrived (``stamp``: its header's, s). Returns a warning when its stamp is
        zero, repeats the previous one or goes back: such frames are still grounded (each new
        message is a new frame), but their targets cannot be dated.
        """
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
        """
        Check that frames arrive; after image_timeout without one, report an error.

        The state becomes an error that says so. A command just given gets image_timeout for the
        first frame.
        """
        received = self.frame_received
        since = self.session.step_started if received is None else received
        if now - since <= self.config.image_timeout:
            return True
        waited = 'yet' if received is None else f'for {now - since:.1f} s'
        self.session.on_error(f'no camera frames on grounding/image {waited}')
        return False

    def on_unusable_frame(self, error: Exception) -> GroundingStatus:
        self.session.on_error(f'unusable frame: {error}')
        return self.status()

    # -- grounding --------------------------------------------------------------------------
    def warm_up(self) -> None:
        """
        Build the command parser and run each encoder once, before the first command.

        Done on the first command instead, this takes 0.5-2 s (the grammar's analysis, the
        model's first inferences) in the callback that takes the command, while no frame,
        camera_info or odometry is taken in: the first grounding then met stale inputs.
        """
        parse_command('go to the red box', self.amounts)
        vocabulary = self.grounder.encoder.vocabulary  # a word it knows, whatever the model
        self.grounder.ground(np.zeros((120, 160, 3), np.uint8),
                             min(vocabulary) if vocabulary else 'object')

    def waiting_for(self, frame: Frame, now: float) -> str:
        """
        Say which inputs ``frame`` lacks while a step starts ('' when it has them all).

        For ``image_timeout`` after a step begins, a frame is grounded only with a camera_info
        stamped with it (and the depth image and odometry the node uses): inputs on separate
        topics arrive at their own pace at start-up, and a target placed without them would
        be an error, or in the wrong frame. After that, what is missing is reported as ever.
        """
        if now - self.session.step_started > self.config.image_timeout:
            return ''
        skew = self.config.max_input_skew
        missing = list(frame.missing)
        if frame.intrinsics is None:
            missing.insert(0, frame.calibration_problem)
        elif not _together(frame.stamp, frame.intrinsics_stamp, skew):
            missing.insert(0, f'no camera_info within {skew:.2f} s of the frame (the nearest '
                              f'is {_gap(frame.stamp, frame.intrinsics_stamp)} from it)')
        if frame.depth is not None and not _together(frame.stamp, frame.depth_stamp, skew):
            missing.append(f'no depth image within {skew:.2f} s of the frame (the nearest is '
                           f'{_gap(frame.stamp, frame.depth_stamp)} from it)')
        return '; '.join(missing)

    def ground(self, frame: Frame, now: float | None = None) -> FrameGrounding:
        """
        Run CLIP on ``frame`` for the current step (the slow part; changes no state).

        With ``now`` (s), a frame that lacks an input while the step starts is not grounded
        (:meth:`waiting_for`).
        """
        session = self.session
        step = session.step
        grounding = FrameGrounding(session.command_id, session.step_index)
        waiting = self.waiting_for(frame, now) if now is not None and not session.classifying \
            else ''
        if waiting:
            return replace(grounding, waiting=waiting)
        if session.classifying:
            return replace(grounding, classification=tuple(
                self.grounder.classify(frame.rgb, step.prompts)))
        referring = step.referring
        reference = referring.reference if referring is not None else ''
        counted = referring.ordinal if referring is not None else 0
        return replace(grounding, result=self.grounder.ground(frame.rgb, step.target, counted),
                       reference=self.grounder.ground(frame.rgb, reference) if reference
                       else None)

    def process(self, frame: Frame, now: float) -> PerceptionUpdate | None:
        """Ground ``frame`` and apply the result (what a single-threaded caller does)."""
        return self.apply(frame, self.ground(frame, now), now)

    def apply(self, frame: Frame, grounding: FrameGrounding,
              now: float) -> PerceptionUpdate | None:
        """
        Take a grounding of ``frame`` into the session.

        Choose or follow the meant object, place it, update the state. None when the command or
        step changed meanwhile, or the command has ended (reached, failed or stopped): the
        grounding answers a question no longer asked.
        """
        session = self.session
        if (grounding.command_id, grounding.step) != (session.command_id, session.step_index) \
                or not self.wants_frames:
            return None
        if grounding.waiting:
            session.on_waiting(f'waiting for the inputs of a frame: {grounding.waiting}')
            return PerceptionUpdate(self.status())
        self.last_frame = frame
        if grounding.classification:
            self.classification = list(grounding.classification)
            best, probability = self.classification[0]
            # Also clears an earlier error (no frames yet): this frame was classified.
            session.on_classified(f"best match '{best}' ({probability:.2f})")
            return PerceptionUpdate(self.status())
        warnings: list[str] = []
        try:
            intrinsics, depth = self._calibration(frame, warnings)
            result, message = self.choice.choose(
                session.step, grounding.result, grounding.reference, intrinsics,
                self.config.mount, depth, frame.pose, frame.rgb.shape[1],
                lost=session.state == GroundingState.LOST, now=now)
        except (GeometryError, ImageError) as error:
            self.last_result, self.last_target, self.target_source = grounding.result, None, None
            phrase = grounding.result.phrase
            session.on_error(f"grounded '{phrase}' but cannot place it: {error}")
            return PerceptionUpdate(self.status(), grounding.result, None, tuple(warnings))
        self.last_result, self.last_target, self.target_source = result, None, None
        if result.found:
            self.last_target = locate_box(result.best.box, intrinsics, self.config.mount, depth)
        if self.last_target is None and result.found:
            session.on_error(f"found '{result.phrase}' but its base is above the horizon: "
                             'check camera_z and camera_pitch_deg')
        else:
            session.on_result(result.found, message, now)
        if self.last_target is not None:
            self.grounded_stamp, self.target_source = frame.stamp, TargetSource.GROUNDED
            self._anchor_tracker(frame, result.best.box)
            self.dialogue.record_choice(session.command, session.step_index,
                                        self.choice.position, now)
        if frame.pose is not None:
            self._remember(frame, grounding, intrinsics, depth, now, warnings)
        return PerceptionUpdate(self.status(), result,
                                self._publishable(self.last_target, frame.stamp),
                                tuple(warnings))

    def _publishable(self, target: TargetPoint | None, stamp: float) -> TargetPoint | None:
        """
        Give out ``target``, placed in the image stamped ``stamp`` (s), unless a newer one was.

        A grounding describes a frame older than those the tracker has since followed the
        object onto: its target updates the status and re-anchors the tracker, but a target
        stamped before one already given out is withheld, so ``grounding/target`` stamps never
        go backwards (TF, message_filters and Nav2 assume that). Time going back restarts it.
        """
        if target is None or (self.published_stamp is not None and
                              stamp <= self.published_stamp):
            return None
        self.published_stamp = stamp
        return target

    def _remember(self, frame: Frame, grounding: FrameGrounding, intrinsics: Intrinsics,
                  depth: np.ndarray | None, now: float, warnings: list[str]) -> None:
        """
        Keep what ``frame`` showed; go on to the remembered object until it is confirmed.

        A remembered object in view that live grounding does not find (RECALL_MISSES times)
        is not where it was seen: it is forgotten and the step searches.
        """
        seen = [sighting for result in (grounding.result, grounding.reference)
                for sighting in sightings(result, self.grounder.objectness, intrinsics,
                                          self.config.mount, depth, frame.pose, frame.stamp)]
        try:
            self.objects.add(seen, now)
            self.objects_changed = self.objects_changed or bool(seen)
        except ValueError as error:
            warnings.append(f'not remembered: {error}')
        recalled, session = self.recalled, self.session
        if recalled is None:
            return
        if self.last_target is not None:  # live grounding has it: the memory's part is done
            self.recalled = None
            return
        target = recalled.target(frame.pose)
        if not self.choice.pending and recalled.missed(target, intrinsics):
            self.recalled = None
            self.choice.count_choice()
            self.objects.forget(recalled.recollection.object.object_id)
            session.on_recall_failed(
                f"the '{grounding.result.phrase}' is not where I saw it "
                f'({where(describe(recalled.recollection, frame.pose, now))}): searching', now)
            return
        self.last_target, self.target_source = target, TargetSource.REMEMBERED
        self.grounded_stamp = frame.stamp
        session.on_recalled(f"going to where I saw the '{grounding.result.phrase}' "
                            f'({where(describe(recalled.recollection, frame.pose, now))})', now)

    def _calibration(self, frame: Frame, warnings: list[str]
                     ) -> tuple[Intrinsics, np.ndarray | None]:
        """
        Return the intrinsics of ``frame``'s image, and its depth when fresh enough.

        The depth is None when not fresh enough for the frame, and the reason is in ``warnings``:
        targets go on the floor plane.
        """
        skew = self.config.max_input_skew
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
        return intrinsics, depth

    # -- tracking between groundings ------------------------------------------------------
    def remember_frame(self, frame: Frame) -> None:
        """Keep a frame for replaying the tracker from a grounding's (older) frame."""
        self.recent.append(frame)

    def _anchor_tracker(self, frame: Frame, box) -> None:
        """
        Re-anchor the tracker on a grounding.

        Keep the track when it agrees, else start on the grounded frame and replay the frames taken
        since (a grounding describes a frame the camera has moved past by its latency).
        """
        if self.tracker.active and self.tracker.reconcile(box, frame.stamp):
            return
        if self.tracker.start(frame.rgb, box, frame.stamp).box is None:
            return
        for later in [f for f in self.recent if f.stamp > frame.stamp]:
            if self.tracker.update(later.rgb, later.stamp).box is None:
                return

    def track(self, frame: Frame, now: float) -> PerceptionUpdate | None:
        """
        Follow the chosen box onto ``frame`` (a frame no grounding has seen).

        This gives a target at camera rate. None when nothing is tracked or the track is lost or
        moves to another object; the grounding goes on either way.
        """
        # Only while a grounding found it within lost_timeout: the tracker bridges groundings,
        # it never keeps a target alive that CLIP no longer confirms.
        if not (self.tracker.active and self.session.wants_grounding and self.choice.made and
                self.session.state == GroundingState.TRACKING):
            return None
        update = self.tracker.update(frame.rgb, frame.stamp)
        if update.box is None:
            return None
        intrinsics, depth = self._calibration(frame, [])
        placed = place_candidate(Candidate(update.box, update.confidence), intrinsics,
                                 self.config.mount, depth)
        if not self.choice.follows(placed.position, frame.pose):
            self.tracker.reset()
            return None
        target = locate_box(update.box, intrinsics, self.config.mount, depth)
        if target is None:
            return None
        self.last_frame, self.last_target = frame, target
        self.target_source = TargetSource.TRACKED
        target = self._publishable(target, frame.stamp)
        return PerceptionUpdate(self.status(now), None, target) if target else None

    # -- status -----------------------------------------------------------------------------
    def status(self, now: float | None = None) -> GroundingStatus:
        """
        Return the current perception state.

        With what the last grounded or tracked frame showed; ``grounding_age`` (s since the last
        grounded frame) needs ``now``.
        """
        session, command, result = self.session, self.session.command, self.last_result
        step = session.step
        status = GroundingStatus(
            state=session.state, message=session.message, run_id=self.run_id,
            command_id=session.command_id,
            command=command.text if command else self.last_text,
            step=session.step_index, steps=len(command.steps) if command else 0,
            intent=step.intent if step else None, target=step.target if step else '',
            motion_distance=step.distance if step else 0.0,
            motion_angle=step.angle if step else 0.0,
            strategy=str(self.grounder.config.strategy), choice=self.choice.explanation,
            choice_id=self.choice.choices, pending=self.choice.pending,
            found=self.last_target is not None and (
                self.target_source == TargetSource.REMEMBERED or bool(result and result.found)),
            target_source=self.target_source, origin=step.origin if step else None,
            remembered=self.remembered)
        if self.last_frame is not None:
            status.image_stamp = round(self.last_frame.stamp, 6)
            status.frame_id = self.last_frame.frame_id
        if now is not None and self.grounded_stamp is not None:
            status.grounding_age = round(now - self.grounded_stamp, 3)
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
            status.base_frame = self.config.base_frame
        if self.classification:
            status.classification = [{'prompt': p, 'probability': round(q, 4)}
                                     for p, q in self.classification]
        return status
