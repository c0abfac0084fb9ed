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
Which object a step means: chosen once among the matches, then followed by position.

A grounded frame gives the step's phrase several matches; the referring expression's rule
(:mod:`.referring`) or, with several matches and none, the nearest picks one. That choice is
made once; later frames follow the same object by position (``association_gate``, in the
odometry frame when frames come with a pose), so "the one on the left" stays the same object
as the robot turns, and a neighbour grounded with a low score is not taken for it. Once it
has not been seen for ``lost_timeout`` a step without a view-relative relation chooses
afresh (:meth:`TargetChoice.choose`). A match within ``association_gate`` of a position the
step rejects (``Step.excluded``: "no, the other one") is no match.

Evidence before commitment: the object chosen must have matched (``score_threshold``) in the
last ``commit_groundings`` groundings that showed its place (within ``evidence_window``), and
those scores must average ``commit_score`` or more, a higher bar than ``score_threshold``,
which keeps it followed once chosen. A score that flickers around the threshold (0.33, 0.61,
0.28, 0.73) is no evidence: the step stays searching, the action node looks around (holding
still a moment while a match in view is confirmed), and if nothing passes the step ends not
found, with the best score seen.

Positions are (x, y) in metres: in the base frame (REP-103) of the frame they were seen in,
or in the odometry frame (REP-105) when the frame came with the robot's pose.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
import itertools
import math

import numpy as np

from .grounding import GroundingResult
from .referring import (
    associate,
    choose_among_matches,
    place_candidate,
    Placed,
    ResolutionError,
    resolve,
)
from ..contract.parameters import setting, Settings
from ..language.steps import Step
from ..world.camera import CameraMount, Intrinsics
from ..world.frames import base_to_odom, odom_to_base

Pose2D = tuple[float, float, float]  # (x, y, yaw) of the base in odom (m, rad)
MAX_SIGHTED = 30       # places remembered while gathering evidence (the most scored first)
SAME_BEARING = 0.1     # rad: sightings this close in direction from the robot ...
RANGE_FACTOR = 1.5     # ... and in range within this factor are of one place


@dataclass(frozen=True)
class EvidenceConfig(Settings):
    """How much agreeing evidence an object needs before a step commits to it."""

    commit_groundings: int = setting(3, 'Groundings in a row matching at the same place an '
                                     'object needs before a step commits to it; 1 commits at '
                                     'the first match', minimum=1, maximum=20)
    commit_score: float = setting(0.6, 'Their mean score must reach this (above '
                                  'score_threshold, which keeps a chosen object followed)',
                                  minimum=0.0, maximum=1.0)
    evidence_window: float = setting(3.0, 'Groundings older than this (s, ROS time) are not '
                                     'evidence any more', minimum=0.1, maximum=60.0)


@dataclass
class _Sighted:
    """One place where the phrase's candidates were seen: their scores there, dated (s)."""

    position: tuple[float, float]  # odom frame, or the base frame without odometry
    scores: deque = field(default_factory=lambda: deque(maxlen=20))  # (stamp, score)

    def evidence(self, now: float, window: float, threshold: float,
                 needed: int) -> tuple[int, float]:
        """
        Return the matches (``threshold``) in a row up to the latest grounding, and a mean.

        The mean of the latest ``needed`` scores (matches or not). Only groundings within
        ``window`` of ``now`` count.
        """
        recent = [score for stamp, score in self.scores if 0.0 <= now - stamp <= window]
        run = len(list(itertools.takewhile(lambda score: score >= threshold,
                                           reversed(recent))))
        last = recent[-needed:]
        return run, (sum(last) / len(last) if last else 0.0)

    def seen_since(self, now: float, window: float) -> bool:
        return any(0.0 <= now - stamp <= window for stamp, _ in self.scores)


class TargetChoice:
    """The object the current step follows: where it was last seen, and why it is the one."""

    def __init__(self, gate: float, evidence: EvidenceConfig | None = None):
        self.gate = gate                   # association_gate (m)
        self.evidence = evidence or EvidenceConfig()
        self.explanation = ''              # why the chosen object is the one meant
        self.position: tuple[float, float] | None = None
        self.in_odom = False
        self.rejected_seen = False  # a match the step rejects was seen ("the other one")
        self.sighted: list[_Sighted] = []  # evidence gathered before committing
        self.best_seen = 0.0               # the best score of the step's phrase so far
        self.choices = 0                   # objects chosen so far (an id for each choice)
        self.pending = False               # a match waits for agreeing groundings

    def reset(self) -> None:
        """Nothing chosen, no evidence: a new command or step (or the clock went back)."""
        self.explanation, self.position, self.in_odom = '', None, False
        self.rejected_seen, self.sighted, self.best_seen = False, [], 0.0

    def count_choice(self) -> None:
        """Count a choice made elsewhere (a remembered object): ``choices`` names a new one."""
        self.choices += 1

    def forget_evidence(self) -> None:
        """Drop the evidence gathered (the clock went back: it cannot be dated)."""
        self.sighted = []

    @property
    def made(self) -> bool:
        return self.position is not None

    def choose(self, step: Step, result: GroundingResult, reference: GroundingResult | None,
               intrinsics: Intrinsics, mount: CameraMount, depth: np.ndarray | None,
               pose: Pose2D | None, image_width: int, lost: bool,
               now: float = 0.0) -> tuple[GroundingResult, str]:
        """
        Return ``result`` with the meant object first, found or not, and the message.

        ``result`` grounds the step's phrase and ``reference`` its reference phrase (relations
        to another object) in one frame, taken from ``pose`` at ``now`` (s); ``lost``: the
        object has not been seen for ``lost_timeout``.
        """
        self.pending = False
        if result.candidates:
            self.best_seen = max(self.best_seen, result.candidates[0].score)
        # Index in result.candidates of each match (they are the best candidates), and where
        # each is; the object a correction rejected ("no, the other one") is no match. Before
        # a choice every candidate is placed, as evidence; once made, the matches only.
        matched = [i for i, c in enumerate(result.candidates) if c in result.matches]
        wanted = range(len(result.candidates)) if not self.made else matched
        where = {i: place_candidate(result.candidates[i], intrinsics, mount, depth)
                 for i in wanted}
        if not self.made:
            self._gather(result, [where[i] for i in wanted], pose, now)
        placed = [where[i] for i in matched]
        kept = [k for k, p in enumerate(placed) if not self._rejected(step, p.position, pose)]
        self.rejected_seen |= len(kept) < len(placed)
        if placed and not kept:
            return replace(result, found=False), (
                f"the only '{result.phrase}' in view is the one chosen before; looking for "
                'another')
        matched, placed = [matched[k] for k in kept], [placed[k] for k in kept]
        if not placed and self.rejected_seen and not self.made:
            return replace(result, found=False), (
                f"{result.message}; no other '{result.phrase}' than the one chosen before "
                'seen yet')
        again = ''
        view_relative = step.referring is not None and not step.referring.reference
        if self.made and not view_relative and lost:
            # Not seen for lost_timeout: where it was remembered may have been wrong (a
            # first sighting placed on an occluder's depth, or on the floor plane before the
            # first depth image and odometry arrived), so the next match is chosen afresh, as
            # the action node's memory expires too; a relation to another object ("the box
            # behind the yellow box") is resolved again. A choice relative to the view is kept:
            # re-evaluating "on the left" after turning would pick another object.
            self.position, again = None, 'chosen again after it was lost: '
        if not self.made:
            if not placed:
                return replace(result, found=False), self._not_found(result.message)
            try:
                if step.referring is not None:
                    references = [] if reference is None else [
                        place_candidate(c, intrinsics, mount, depth) for c in reference.matches]
                    choice = resolve(step.referring, placed, references, image_width,
                                     result.phrase)
                else:
                    choice = choose_among_matches(placed, result.phrase)
            except ResolutionError as error:
                return replace(result, found=False), str(error)
            waiting = self._waiting(placed[choice.index], pose, now, result)
            if waiting:
                self.pending = True
                return replace(result, found=False), waiting
            self._remember(placed[choice.index], pose)
            self.explanation = again + choice.explanation
            self.choices += 1
            index = choice.index
        else:
            index = associate(self.in_base(pose), placed, self.gate)
            if index is None:
                return replace(result, found=False), (
                    f"the chosen '{result.phrase}' is not in view (no match within "
                    f'{self.gate:.2f} m of where it was)')
            self._remember(placed[index], pose)
        chosen = result.candidates[matched[index]]
        others = [c for i, c in enumerate(result.candidates) if i != matched[index]]
        return replace(result, candidates=[chosen, *others], found=True), (
            f"found '{result.phrase}' (score {chosen.score:.2f})")

    def _gather(self, result: GroundingResult, placed: list[Placed], pose: Pose2D | None,
                now: float) -> None:
        """
        Add the frame's best score at each place to the evidence there (matches or not).

        ``placed``: where each of ``result.candidates`` is. One score per place and frame:
        the parts of an object (a face, a strip) are candidates at its place too, and scored
        low they are no evidence against it.
        """
        window = self.evidence.evidence_window
        self.sighted = [s for s in self.sighted if s.seen_since(now, window)]
        best: dict[int, float] = {}
        for candidate, where in zip(result.candidates, placed, strict=True):
            position = where.position
            if position is None:
                continue
            position = base_to_odom(position, pose) if pose is not None else position
            sighted = self._place_of(position, pose)
            if sighted is None:
                sighted = _Sighted(position)
                self.sighted.append(sighted)
            key = id(sighted)
            if candidate.score > best.get(key, -1.0):
                best[key] = candidate.score
                sighted.position = position  # where it was seen last, at its best
        for sighted in self.sighted:
            if id(sighted) in best:
                sighted.scores.append((now, best[id(sighted)]))
        self.sighted = sorted(self.sighted, key=lambda s: -max(v for _, v in s.scores)
                              )[:MAX_SIGHTED]

    def _place_of(self, position: tuple[float, float], pose: Pose2D | None) -> _Sighted | None:
        """
        Return the place ``position`` was seen at before, or None.

        The same place: within ``association_gate``, or in the same direction from the robot
        (within SAME_BEARING) at a range within a factor RANGE_FACTOR: a floor-plane position
        is uncertain mostly in range, more so for an object whose base is hidden.
        """
        origin = pose[:2] if pose is not None else (0.0, 0.0)

        def apart(other: tuple[float, float]) -> float:
            gap = float(np.hypot(*np.subtract(other, position)))
            if gap <= self.gate:
                return gap
            here, there = np.subtract(position, origin), np.subtract(other, origin)
            turn = abs(math.remainder(math.atan2(here[1], here[0]) -
                                      math.atan2(there[1], there[0]), math.tau))
            ratio = float(np.hypot(*here)) / max(float(np.hypot(*there)), 1e-9)
            same = turn <= SAME_BEARING and 1 / RANGE_FACTOR <= ratio <= RANGE_FACTOR
            return gap if same else math.inf

        nearest = min(self.sighted, key=lambda s: apart(s.position), default=None)
        return nearest if nearest is not None and apart(nearest.position) < math.inf else None

    def _waiting(self, placed: Placed, pose: Pose2D | None, now: float,
                 result: GroundingResult) -> str:
        """Say why the evidence for ``placed`` is not enough yet ('' when it is)."""
        config = self.evidence
        if config.commit_groundings <= 1 or placed.position is None:
            return ''
        position = base_to_odom(placed.position, pose) if pose is not None else placed.position
        sighted = self._place_of(position, pose)
        if sighted is None:
            return f"'{result.phrase}' not seen at one place yet: waiting for agreeing groundings"
        count, mean = sighted.evidence(now, config.evidence_window, result.score_threshold,
                                       config.commit_groundings)
        if count >= config.commit_groundings and mean >= config.commit_score:
            return ''
        return (f"'{result.phrase}' matched {count} of the {config.commit_groundings} times in a "
                f'row needed at one place, mean score {mean:.2f} (commit_score '
                f'{config.commit_score:.2f}): waiting for agreeing groundings')

    def _not_found(self, message: str) -> str:
        """Return the message for a frame without a match, with the best score seen this step."""
        return f'{message} (best this step {self.best_seen:.2f})' if self.best_seen else message

    def _rejected(self, step: Step, position: tuple[float, float] | None,
                  pose: Pose2D | None) -> bool:
        """Whether a base-frame ``position`` seen from ``pose`` is one the step rejects."""
        if position is None:
            return False
        return any(float(np.hypot(*np.subtract(position, odom_to_base(excluded, pose)
                                               if pose is not None else excluded))) <= self.gate
                   for excluded in step.excluded)

    def follows(self, position: tuple[float, float] | None, pose: Pose2D | None) -> bool:
        """Whether a base-frame ``position`` seen from ``pose`` is the chosen object's."""
        if position is None or not self.made:
            return False
        return float(np.hypot(*np.subtract(position, self.in_base(pose)))) <= self.gate

    def in_base(self, pose: Pose2D | None) -> tuple[float, float]:
        """Return where the chosen object is, in the base frame of the robot at ``pose``."""
        if self.in_odom and pose is not None:
            return odom_to_base(self.position, pose)
        return self.position

    def _remember(self, placed: Placed, pose: Pose2D | None) -> None:
        """Where the chosen object is: in odom when the frame has a pose, else base frame."""
        if placed.position is None:
            return
        if pose is not None:
            self.position, self.in_odom = base_to_odom(placed.position, pose), True
        else:
            self.position, self.in_odom = placed.position, False
