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

Positions are (x, y) in metres: in the base frame (REP-103) of the frame they were seen in,
or in the odometry frame (REP-105) when the frame came with the robot's pose.
"""

from __future__ import annotations

from dataclasses import replace

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
from ..language.steps import Step
from ..world.camera import CameraMount, Intrinsics
from ..world.frames import base_to_odom, odom_to_base

Pose2D = tuple[float, float, float]  # (x, y, yaw) of the base in odom (m, rad)


class TargetChoice:
    """The object the current step follows: where it was last seen, and why it is the one."""

    def __init__(self, gate: float):
        self.gate = gate                   # association_gate (m)
        self.explanation = ''              # why the chosen object is the one meant
        self.position: tuple[float, float] | None = None
        self.in_odom = False
        self.rejected_seen = False  # a match the step rejects was seen ("the other one")

    def reset(self) -> None:
        """Nothing chosen: a new command or step."""
        self.explanation, self.position, self.in_odom = '', None, False
        self.rejected_seen = False

    @property
    def made(self) -> bool:
        return self.position is not None

    def choose(self, step: Step, result: GroundingResult, reference: GroundingResult | None,
               intrinsics: Intrinsics, mount: CameraMount, depth: np.ndarray | None,
               pose: Pose2D | None, image_width: int, lost: bool) -> tuple[GroundingResult, str]:
        """
        Return ``result`` with the meant object first, found or not, and the message.

        ``result`` grounds the step's phrase and ``reference`` its reference phrase (relations
        to another object) in one frame, taken from ``pose``; ``lost``: the object has not been
        seen for ``lost_timeout``.
        """
        # Index in result.candidates of each match (they are the best candidates), and where
        # each is; the object a correction rejected ("no, the other one") is no match.
        matched = [i for i, c in enumerate(result.candidates) if c in result.matches]
        placed = [place_candidate(result.candidates[i], intrinsics, mount, depth)
                  for i in matched]
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
                return replace(result, found=False), result.message
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
            self._remember(placed[choice.index], pose)
            self.explanation = again + choice.explanation
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
