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
Judging a simulated episode against the scene's ground truth, step by step.

What the command meant is worked out here from the scene itself (true positions and sizes,
the robot's true pose), independently of the pipeline under test: an approach must end
nearest the meant object and close to it, a face or find step facing it, a move or turn
within tolerance of the amount said. Referring expressions and ambiguous names are
resolved the way the README documents (left/right by bearing from where the robot stood
when the step began, nearest by distance, several matches: the nearest), but from the
truth, so a wrong choice by the pipeline is caught rather than repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math

from ..core.contract.protocol import Intent
from ..core.language.steps import Relation, Step
from ..sim.scene import Scene, SceneObject

SUCCESS_MARGIN = 0.15          # m beyond stop_distance still counted as "stopped near it"
FACING_TOLERANCE = 0.25        # rad between the heading and the bearing to a faced object
MOVE_TOLERANCE = 0.05          # m: issue 11's accuracy goal for moves on odometry
TURN_TOLERANCE = math.radians(3.0)
RETURN_TOLERANCE = 0.15        # m from where the command was given: "come back" succeeded
FOLLOW_TOLERANCE = 0.5         # m off follow_distance when a follow is ended: still followed
IN_LINE = 0.5                  # m off the line of sight still "in front of" / "behind"
# Several in view and no relation: the nearest is meant, and any as near within this much
# (m, or the fraction of its range): the pipeline's ranges have errors of that size.
NEAR_TIE_M, NEAR_TIE_FRACTION = 0.3, 0.1

Pose = tuple[float, float, float]  # x, y (m), yaw (rad) in the world frame


@dataclass
class StepVerdict:
    """One step judged: what it asked, what happened, and why it counts or not."""

    index: int
    text: str
    intent: str
    done: bool                      # the pipeline reported the step done
    success: bool = False
    reason: str = ''
    meant: list[str] = field(default_factory=list)  # scene objects the step names
    reached: str | None = None      # the object nearest the robot when it ended
    distance: float | None = None   # robot to the meant object's surface (m)
    commanded: float | None = None  # m for a move, deg for a turn
    achieved: float | None = None

    def summary(self) -> dict:
        rounded = {name: None if value is None else round(value, 3) for name, value in (
            ('distance', self.distance), ('commanded', self.commanded),
            ('achieved', self.achieved))}
        return {'step': self.index + 1, 'text': self.text, 'intent': self.intent,
                'done': self.done, 'success': self.success, 'reason': self.reason,
                'meant_object': self.meant, 'reached_object': self.reached, **rounded}


def bearing_to(obj: SceneObject, pose: Pose) -> float:
    """Angle (rad, left positive) from the robot's heading to the object's centre."""
    x, y, yaw = pose
    return math.remainder(math.atan2(obj.position[1] - y, obj.position[0] - x) - yaw, math.tau)


def range_to(obj: SceneObject, pose: Pose) -> float:
    return obj.surface_distance(pose[0], pose[1])


def meant_objects(step: Step, scene: Scene, pose: Pose, half_fov: float) -> list[SceneObject]:
    """
    Return the objects the step refers to, seen from ``pose``.

    Those its phrase names but the ones it rejects ("no, the other one": ``Step.excluded``,
    here world positions), narrowed by its referring expression among those in view (within
    ``half_fov`` rad of the heading), or, with several in view and none, the nearest (and any
    other as near, within NEAR_TIE_M or NEAR_TIE_FRACTION of its range). Empty: the step names
    none.
    """
    named = [o for o in scene.objects_named(step.target)
             if not any(math.dist(o.position, rejected) < 0.01 for rejected in step.excluded)]
    in_view = [o for o in named if abs(bearing_to(o, pose)) <= half_fov] or named
    referring = step.referring
    if referring is None:
        if len(in_view) < 2:
            return named
        nearest = min(range_to(o, pose) for o in in_view)
        tie = max(NEAR_TIE_M, NEAR_TIE_FRACTION * nearest)
        return [o for o in in_view if range_to(o, pose) <= nearest + tie]
    relation = referring.relation
    by_bearing = sorted(in_view, key=lambda o: -bearing_to(o, pose))  # leftmost first
    if relation == Relation.LEFTMOST:
        return by_bearing[:1]
    if relation == Relation.RIGHTMOST:
        return by_bearing[-1:]
    if relation == Relation.MIDDLE:
        return [min(in_view, key=lambda o: abs(bearing_to(o, pose)))]
    if relation in (Relation.NEAREST, Relation.FARTHEST):
        ranked = sorted(in_view, key=lambda o: range_to(o, pose))
        return ranked[:1] if relation == Relation.NEAREST else ranked[-1:]
    if relation in (Relation.BIGGEST, Relation.SMALLEST):
        ranked = sorted(in_view, key=lambda o: o.footprint_radius * o.height)
        return ranked[-1:] if relation == Relation.BIGGEST else ranked[:1]
    if relation in (Relation.ORDINAL_LEFT, Relation.ORDINAL_RIGHT):
        ordered = by_bearing if relation == Relation.ORDINAL_LEFT else by_bearing[::-1]
        return ordered[referring.ordinal - 1:referring.ordinal]
    return _relative_to_reference(step, scene, pose, in_view, half_fov)


def _relative_to_reference(step: Step, scene: Scene, pose: Pose, candidates: list,
                           half_fov: float) -> list[SceneObject]:
    """
    Judge NEXT_TO, LEFT_OF, RIGHT_OF, IN_FRONT_OF and BEHIND from the robot's view.

    Relative to the nearest object the reference phrase names.
    """
    references = [o for o in scene.objects_named(step.referring.reference)
                  if abs(bearing_to(o, pose)) <= half_fov]
    if not references:
        return []
    reference = min(references, key=lambda o: range_to(o, pose))
    candidates = [o for o in candidates if o.name != reference.name]
    relation = step.referring.relation
    ref_bearing, ref_range = bearing_to(reference, pose), range_to(reference, pose)

    def gap(obj):
        return math.dist(obj.position, reference.position)

    if relation == Relation.LEFT_OF:
        candidates = [o for o in candidates if bearing_to(o, pose) > ref_bearing]
    elif relation == Relation.RIGHT_OF:
        candidates = [o for o in candidates if bearing_to(o, pose) < ref_bearing]
    elif relation in (Relation.IN_FRONT_OF, Relation.BEHIND):
        nearer = relation == Relation.IN_FRONT_OF
        candidates = [o for o in candidates
                      if (range_to(o, pose) < ref_range) == nearer and
                      abs(math.sin(bearing_to(o, pose) - ref_bearing)) * range_to(o, pose)
                      <= IN_LINE]
    return [min(candidates, key=gap)] if candidates else []


def judge_approach(verdict: StepVerdict, scene: Scene, end: Pose,
                   stop_distance: float) -> None:
    """
    Judge an approach: stopped near a meant object, nearer to it than to anything else.

    Near: within stop_distance + SUCCESS_MARGIN.
    """
    distances = {o.name: range_to(o, end) for o in scene.objects}
    verdict.reached = min(distances, key=distances.get)
    if not verdict.meant:
        verdict.reason = (f'the step names no object of this scene (it stopped nearest '
                          f'{verdict.reached}, {distances[verdict.reached]:.2f} m)')
        return
    nearest = min(verdict.meant, key=distances.get)
    verdict.distance = distances[nearest]
    problems = []
    if verdict.distance > stop_distance + SUCCESS_MARGIN:
        problems.append(f'stopped {verdict.distance:.2f} m from {nearest} (limit '
                        f'{stop_distance + SUCCESS_MARGIN:.2f} m)')
    if verdict.reached not in verdict.meant:
        problems.append(f'closest object is {verdict.reached}, not {nearest}')
    verdict.success = not problems
    verdict.reason = '; '.join(problems) or f'reached {nearest} ({verdict.distance:.2f} m)'


def judge_follow(verdict: StepVerdict, scene: Scene, end: Pose,
                 follow_distance: float) -> None:
    """
    Judge a follow when it is ended (a stop, the next command): the meant object it kept.

    ``scene`` is as it was then. Followed: the nearest meant object's surface within
    FOLLOW_TOLERANCE of ``follow_distance`` (m) from the base origin, as a target is placed.
    """
    distances = {o.name: range_to(o, end) for o in scene.objects if o.name in verdict.meant}
    if not distances:
        verdict.reason = 'the step names no object of this scene'
        return
    verdict.reached = min(distances, key=distances.get)
    verdict.distance = distances[verdict.reached]
    off = abs(verdict.distance - follow_distance)
    verdict.success = off <= FOLLOW_TOLERANCE
    verdict.reason = (f"{'following' if verdict.success else 'not following'} {verdict.reached}: "
                      f'{verdict.distance:.2f} m away when it ended (follow_distance '
                      f'{follow_distance:.2f}, tolerance {FOLLOW_TOLERANCE:.2f})')


def judge_facing(verdict: StepVerdict, scene: Scene, end: Pose) -> None:
    errors = {o.name: abs(bearing_to(o, end)) for o in scene.objects if o.name in verdict.meant}
    if not errors:
        verdict.reason = 'the step names no object of this scene'
        return
    facing = min(errors, key=errors.get)
    verdict.reached = facing
    verdict.success = errors[facing] <= FACING_TOLERANCE
    verdict.reason = (f'facing {facing} ({math.degrees(errors[facing]):.0f} deg off)'
                      if verdict.success else f'not facing {facing} '
                      f'({math.degrees(errors[facing]):.0f} deg off)')


def judge_motion(verdict: StepVerdict, step: Step, start: Pose, end: Pose,
                 turned: float) -> None:
    """
    Measure a move or turn as done: its displacement (m) or yaw change (rad).

    A move: the displacement along the start heading (m); a turn: the unwrapped yaw change
    ``turned`` (rad) measured on the way.
    """
    if step.intent == Intent.MOVE:
        along = (end[0] - start[0]) * math.cos(start[2]) + (end[1] - start[1]) * math.sin(start[2])
        verdict.commanded, verdict.achieved = step.distance, along
        error, tolerance, unit = abs(along - step.distance), MOVE_TOLERANCE, 'm'
    else:
        verdict.commanded, verdict.achieved = math.degrees(step.angle), math.degrees(turned)
        error, tolerance = abs(turned - step.angle), TURN_TOLERANCE
        error, tolerance, unit = math.degrees(error), math.degrees(tolerance), 'deg'
    verdict.success = error <= tolerance
    verdict.reason = (f'{step.intent} by {verdict.achieved:.3f} {unit} of '
                      f'{verdict.commanded:.3f} (error {error:.3f}, tolerance {tolerance:.3f})')


def judge_return(verdict: StepVerdict, goal: Pose | None, end: Pose, where: str) -> None:
    """
    Judge a return: it ended within RETURN_TOLERANCE of ``goal`` (world frame, m).

    ``where`` says what the goal is: 'the start', 'where the command before was given'.
    """
    if goal is None:
        verdict.reason = 'no earlier command to come back to'
        return
    verdict.commanded, verdict.achieved = 0.0, math.dist(goal[:2], end[:2])
    verdict.success = verdict.achieved <= RETURN_TOLERANCE
    verdict.reason = (f'ended {verdict.achieved:.3f} m from {where} '
                      f'(tolerance {RETURN_TOLERANCE:.2f})')
