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
The action node's behaviour without ROS: a task and its inputs in, a safe velocity out.

The action node executes one :class:`~..contract.protocol.Task` at a time: the current step
of the current command (approach, face, find or pick a grounded target; move or turn by an
amount on odometry). Each control tick, :meth:`MotionController.step` lets the task propose
a velocity (:mod:`.velocity`), then applies the obstacle rules (:mod:`.avoidance`) and the
safety rules (:mod:`.safety`, whose docstring lists them): no fresh status, target or
odometry, a perception error, a non-finite number, or a clock that went backwards all end in
zero velocity with the reason. Stops are immediate; speeding up is limited by the
acceleration limits. How the step has ended is :func:`..contract.status.step_outcome` of the
state it reaches, in :meth:`MotionController.status`.

Times are seconds on the caller's clock (ROS time in the node, so ``use_sim_time`` works).
When that clock goes backwards (a simulation reset, a bag loop), everything dated on it
(target, status, odometry, obstacles, a move in progress) is dropped and the robot holds
until fresh inputs arrive. Frames: REP-103 base frame (x forward, y left), odometry frame
for poses; angles counter-clockwise positive, radians.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import math

import numpy as np

from .avoidance import ObstacleAvoidance
from .config import MotionConfig, MotionMode
from .obstacles import ObstacleConfig, ObstacleSource
from .safety import (
    check_odometry,
    check_perception,
    check_status,
    check_target,
    check_velocity,
)
from .velocity import (
    approach_velocity,
    Decision,
    face_velocity,
    limit_acceleration,
    move_velocity,
    turn_velocity,
)
from ..contract.protocol import Intent, Origin, Task
from ..contract.status import (
    ActionState,
    ActionStatus,
    GroundingState,
    GroundingStatus,
    step_outcome,
    TargetSource,
)
from ..contract.timing import age, ClockWatch, fresh
from ..world.camera import CameraMount, Intrinsics
from ..world.frames import base_to_odom, odom_to_base, Pose, PoseHistory
from ..world.memory import AssociationConfig, MemoryConfig, TargetMemory

ZERO = (0.0, 0.0)
# An approach ends with the target nearer than any other object by this much (m), going
# closer than stop_distance if need be; obstacle points within TARGET_EXTENT (m) of the
# target point are the target's own.
CLEARER_BY = 0.15
TARGET_EXTENT = 0.35
PENDING_HOLD = 2.0  # s a search turn holds still for a candidate being confirmed
# A command given this near (m) where the one before it was is given at the same place: a turn
# there is no new place to come back to ('go to the box', 'turn left', 'come back').
SAME_PLACE = 0.25
# A follow holding at follow_distance drives again only once the target is this much (m)
# farther: without the band it flips between facing and driving at every tick.
FOLLOW_BAND = 0.15
# A step never ends on where the object memory saw its target: live grounding confirms it.
UNCONFIRMED = 'at where the target was seen before: waiting for it to be confirmed in view'


def _slowed_only(wanted: tuple[float, float], given: tuple[float, float]) -> bool:
    """Return whether velocity ``given`` is ``wanted``, at most slowed down (not steered)."""
    if given == ZERO:
        return False
    scale = given[0] / wanted[0] if wanted[0] else given[1] / wanted[1]
    same_way = all(math.isclose(g, w * scale, abs_tol=1e-9)
                   for g, w in zip(given, wanted, strict=True))
    return 0.0 < scale <= 1.0 and same_way


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


@dataclass(frozen=True)
class MotionOutput:
    """
    A control tick's result: velocity, state and reason, and whether to publish it.

    Velocity in m/s and rad/s; a robot at rest goes quiet after ``idle_publish_time``.
    """

    linear: float
    angular: float
    state: ActionState
    reason: str
    publish: bool = True


@dataclass(frozen=True)
class Target:
    x: float      # base frame, m
    y: float
    stamp: float  # time the image it came from was taken


@dataclass
class _Perception:
    """The grounding node's latest word: its state, why, whether it sees the target, when."""

    state: GroundingState = GroundingState.IDLE
    message: str = ''
    found: bool = False
    received: float | None = None
    pending: bool = False  # a match in view waits for agreeing groundings
    remembered: bool = False  # the target is where the object memory saw it, unconfirmed


@dataclass
class _StepState:
    """What one step remembers; the next step (or a clock that went back) starts afresh."""

    started: float | None = None          # when the step began (s), for odometry waits
    latched: tuple[ActionState, str] | None = None  # its end (reached, failed), held
    target: Target | None = None          # the last target, base frame
    last_seen_odom: tuple[float, float] | None = None  # the last sighting, odom
    move_start: Pose | None = None        # odometry when a move or turn began
    turned: float = 0.0                   # unwrapped yaw change of a turn or a search
    search_since: float | None = None
    search_pose: Pose | None = None
    goal: tuple[float, float, float] | None = None  # nav2 mode: (x, y, yaw) in odom
    stop_distance: float | None = None    # closer than stop_distance (m), or None
    pending_since: float | None = None    # since when a search holds for a candidate
    follow_held: bool = False             # a follow is holding at follow_distance
    warnings: list[str] = field(default_factory=list)


def same_place(first: tuple[float, ...], second: tuple[float, ...]) -> bool:
    """Whether two poses (x, y, yaw; m) are one place to come back to (SAME_PLACE)."""
    return math.dist(first[:2], second[:2]) <= SAME_PLACE


@dataclass
class _Origins:
    """
    Where commands were given (odometry poses), for a return ('come back', 'the start').

    ``command``: where the current command was given; ``previous``: the one before it;
    ``start``: the first command's since action_node's odometry began (a restarted
    grounding_node changes none of them: odometry is action_node's). Commands that do not move the
    base (stop, questions, classification) are not places to come back to, nor is one given
    within SAME_PLACE of where the one before was (a turn in place). A pose still None is taken
    from the next odometry.
    """

    command: Pose | None = None
    previous: Pose | None = None
    start: Pose | None = None
    waiting: bool = False    # the current command's pose is the next odometry

    def on_command(self, odometry: Pose | None) -> None:
        self.waiting = odometry is None
        if odometry is not None:
            self._given_at(odometry)

    def on_odometry(self, odometry: Pose) -> None:
        if self.waiting:
            self.waiting = False
            self._given_at(odometry)

    def _given_at(self, odometry: Pose) -> None:
        """Place the current command at ``odometry``; a new place makes the last one previous."""
        if self.command is None or not same_place(self.command.xy_yaw, odometry.xy_yaw):
            self.previous = self.command
        self.command = odometry
        if self.start is None:
            self.start = odometry

    def goal(self, task: Task) -> Pose | None:
        """Where ``task`` (a return) goes back to; said first, 'come back' is the previous's."""
        if task.origin == Origin.START:
            return self.start
        return self.previous if task.step == 0 else self.command


class MotionController:
    """
    Turns the current task, perception, target, odometry and obstacles into a velocity.

    Feed it with :meth:`on_status` (or :meth:`on_task` and :meth:`on_perception`),
    :meth:`on_target`, :meth:`on_odometry`, :meth:`on_depth` or :meth:`on_scan`, and a stop
    with :meth:`stop`, as messages arrive; call :meth:`step` at the control rate and publish
    :meth:`status`.

    With odometry, each target is also remembered in the odometry frame (world.memory):
    while the target is out of view (too close to see, occluded, turned away) the robot
    goes on to where it was last seen, for ``memory_max_age`` seconds and
    ``memory_max_travel`` metres. Which object is the target is the grounding node's one
    decision (its status's ``choice_id``): a new choice replaces what is remembered, and a
    target of the same choice farther than ``association_gate`` from it is followed and
    reported, never refused (the two nodes would hold, each waiting for the other).
    """

    def __init__(self, config: MotionConfig, obstacles: ObstacleConfig | None = None,
                 memory: MemoryConfig | None = None,
                 association: AssociationConfig | None = None,
                 mount: CameraMount | None = None):
        self.config = config
        self.mount = mount or CameraMount()
        self.memory = TargetMemory(memory or MemoryConfig(), association or AssociationConfig())
        self.avoidance = ObstacleAvoidance(obstacles or ObstacleConfig(), config)
        self.task = Task(command_id=-1)
        self.perception = _Perception()
        self.odometry: Pose | None = None
        self.poses = PoseHistory()
        self.last_seen_side = 1.0            # search turns this way first (+1 left)
        self.output = ZERO
        self.last_tick: float | None = None
        self.clock = ClockWatch()
        self.clock_reset = ''                # why everything dated was dropped, once
        self.rest_since: float | None = None
        self.current = _StepState()
        self.choice_id = 0                   # the grounding node's choice the memory is of
        self.origins = _Origins()

    def configure(self, config: MotionConfig, obstacles: ObstacleConfig, memory: MemoryConfig,
                  association: AssociationConfig, mount: CameraMount) -> None:
        """Apply new parameters (``ros2 param set``); what is under way goes on with them."""
        self.config, self.mount = config, mount
        self.memory.configure(memory, association)
        self.avoidance.configure(obstacles, config)

    # -- inputs ---------------------------------------------------------------------------
    def on_status(self, status: GroundingStatus, now: float) -> None:
        """Take in a grounding status: the step it asks for, and what perception sees."""
        self.on_task(status.task(), now)
        if status.choice_id != self.choice_id:
            self.choice_id = status.choice_id
            self.memory.reset('the grounding node chose another object')
        self.on_perception(status.state, status.message, now, status.found, status.pending,
                           status.target_source == TargetSource.REMEMBERED)

    def on_task(self, task: Task, now: float) -> None:
        """
        Take in a new command or step.

        A status repeating the current one is not new (and must not undo a stop received directly
        on the command topic).
        """
        self._check_clock(now)
        if task.key == self.task.key:
            return
        if task.step == 0 and task.intent is not None and \
                (task.intent.grounded or task.intent.by_odometry):
            self.origins.on_command(self._fresh_odometry(now))
        self.task, self.current = task, _StepState(started=now)
        self.avoidance.new_step()
        self.memory.reset('a new command step')

    def on_perception(self, state: GroundingState, message: str, now: float,
                      found: bool = True, pending: bool = False,
                      remembered: bool = False) -> None:
        """
        Take in the grounding node's state.

        ``found``: whether its latest frame showed the target (a brief miss keeps the state
        tracking, but the target out of sight); ``pending``: a match in view that the
        grounding node has not committed to yet (it needs agreeing groundings);
        ``remembered``: the target is where the object memory saw it, not confirmed in view.
        """
        self._check_clock(now)
        self.perception = _Perception(state, message, found, now, pending, remembered)

    def on_target(self, x: float, y: float, stamp: float) -> str:
        """
        Take in a base-frame target of the image taken at ``stamp``.

        Returns a note for the status ('' when none): why it was ignored (not finite), or that
        it jumped from where the same choice was remembered, and is followed anyway.
        """
        if not _finite(x, y, stamp):
            return f'target ({x}, {y}) stamped {stamp} is not finite: ignored'
        note = ''
        pose = self.poses.at(stamp)
        if pose is not None:
            match = self.memory.match((x, y), pose.xy_yaw, stamp)
            if not match.accepted:  # the grounding node's choice decides which object it is
                note = (f'target at ({x:.2f}, {y:.2f}) is {match.reason}; the grounding node '
                        'keeps it as its choice: followed')
                self.memory.reset('the chosen object was seen elsewhere')
            self.memory.observe((x, y), pose.xy_yaw, stamp)
            self.current.last_seen_odom = base_to_odom((x, y), pose.xy_yaw)
        self.current.target = Target(x, y, stamp)
        if abs(y) > 1e-3:
            self.last_seen_side = math.copysign(1.0, y)
        return note

    def on_odometry(self, x: float, y: float, yaw: float, stamp: float) -> str:
        """Take the base pose in the odometry frame; return why it was refused ('' if accepted)."""
        if not _finite(x, y, yaw, stamp):
            return f'odometry ({x}, {y}, {yaw}) stamped {stamp} is not finite: ignored'
        if self.odometry is not None and stamp < self.odometry.stamp:
            self._reset_clock(f'odometry went back in time ({self.odometry.stamp:.3f} -> '
                              f'{stamp:.3f} s)')
        previous = self.odometry
        self.odometry = Pose(x, y, yaw, stamp)
        self.poses.add(self.odometry)
        self.origins.on_odometry(self.odometry)
        current = self.current
        if previous is not None and (current.move_start is not None or
                                     current.search_pose is not None):
            current.turned += math.remainder(yaw - previous.yaw, math.tau)
        return ''

    def wants_obstacles(self, source: ObstacleSource) -> bool:
        """Whether readings of ``source`` are the obstacle data the robot needs to move."""
        return self.avoidance.uses(source)

    def on_depth(self, depth_m: np.ndarray, intrinsics: Intrinsics, stamp: float) -> None:
        """
        Take in a registered depth image taken at ``stamp`` (metres, any resolution).

        Its obstacle points (from the camera at ``mount``) go into the obstacle map.
        """
        self.avoidance.on_depth(depth_m, intrinsics, self.mount, stamp, self.poses.at(stamp))

    def on_scan(self, ranges: np.ndarray, angle_min: float, angle_max: float,
                angle_increment: float, range_min: float, range_max: float,
                stamp: float) -> None:
        """Take in a LaserScan taken at ``stamp``: its points go into the obstacle map."""
        self.avoidance.on_scan(ranges, angle_min, angle_max, angle_increment, range_min,
                               range_max, stamp, self.poses.at(stamp))

    def on_obstacles(self, points: np.ndarray, stamp: float, view=None) -> None:
        """
        Take in the obstacle points of a sensor reading.

        Points (N, 2), base frame (m), of the sensor reading taken at ``stamp``; ``view``: where
        the reading surely shows any obstacle (remembered points there are replaced by the
        reading's), None to keep every remembered point.
        """
        self.avoidance.on_points(points, stamp, self.poses.at(stamp), view)

    def stop(self) -> None:
        """Stop at once, for a stop command, shutdown, or a safety stop from outside."""
        self.task = replace(self.task, intent=Intent.STOP)
        self.current.latched, self.current.goal = None, None
        self.output = ZERO

    # -- time ----------------------------------------------------------------------------
    def on_time_jump(self, why: str) -> None:
        """Drop what was dated on the clock: it went backwards (or its source changed)."""
        self._reset_clock(why)

    def halt(self, reason: str) -> MotionOutput:
        """
        Stop now, outside the control tick.

        Zero velocity now (a clock jump, a stalled clock); the next tick decides afresh and speeds
        up from zero.
        """
        self.output = ZERO
        return MotionOutput(0.0, 0.0, ActionState.HOLDING, reason)

    def moving(self) -> bool:
        """Whether the last velocity sent is not zero."""
        return self.output != ZERO

    def _check_clock(self, now: float) -> None:
        change = self.clock.observe(now)
        if change.started and self.current.started == 0.0:
            self.current.started = now  # a task given before the first /clock starts with it
        if change.went_back:
            self._reset_clock(change.reason)

    def _reset_clock(self, why: str) -> None:
        """
        Drop everything dated on the old clock.

        A move or turn by an amount, measured on odometry that may have been reset too, is
        cancelled; a step that has ended stays ended.
        """
        self.clock_reset = f'{why}: inputs dropped'
        latched = self.current.latched
        if latched is None and self.task.intent is not None and self.task.intent.by_odometry:
            latched = (ActionState.STOPPED, f'{why} during the {self.task.intent}: cancelled')
        self.current = _StepState(latched=latched)
        self.perception.received = None
        self.odometry = self.last_tick = self.rest_since = None
        self.poses.clear()
        self.avoidance.clear()
        self.memory.reset(why)
        self.origins = _Origins()  # poses on an odometry that may have been reset
        self.output = ZERO

    # -- control ---------------------------------------------------------------------------
    def step(self, now: float) -> MotionOutput:
        """Decide this tick's velocity; ``now`` is ROS time (s)."""
        self._check_clock(now)
        dt = 0.0 if self.last_tick is None else now - self.last_tick
        self.last_tick = now
        state, desired, reason = self._decide(now)
        if desired != ZERO:
            target, stop = None, self.current.stop_distance
            if self.task.intent == Intent.FOLLOW:
                stop = self.config.follow_distance
            if self.task.intent is not None and self.task.intent.approaches and \
                    state in (ActionState.APPROACHING, ActionState.TURNING):
                located = self._target_now(now)
                target = None if located is None else located[0]
            elif self.task.intent == Intent.RETURN:
                target, stop = self._return_target(), self.config.return_tolerance
            wanted = desired
            state, desired, reason = self.avoidance.apply(
                (state, desired, reason), now, self._fresh_odometry(now), target, stop)
            if state == ActionState.FAILED:
                state, desired, reason = self._finish(state, reason)
            elif self.current.stop_distance is not None and target is not None and \
                    self.task.intent != Intent.RETURN and \
                    not _slowed_only(wanted, desired):
                # Closer than stop_distance only straight on a free way: not around, back
                # or through anything (the way in among close neighbours is a pocket).
                state, desired, reason = self._finish(
                    ActionState.REACHED, f'target reached ({math.hypot(*target):.2f} m from '
                    f'the base; no free way closer: {reason})')
        if self.clock_reset and desired == ZERO:
            reason, self.clock_reset = f'{self.clock_reset}; {reason}', ''
        verdict = check_velocity(*desired)
        if verdict.stops:
            state, desired, reason = ActionState.STOPPED, ZERO, verdict.reason
        if desired == ZERO:
            self.output = desired  # safety stops are immediate, not ramped
        else:
            self.output = limit_acceleration(self.output, desired, dt, self.config)
        publish = self._should_publish(state, now) and state != ActionState.NAVIGATING
        return MotionOutput(self.output[0], self.output[1], state, reason, publish)

    def status(self, output: MotionOutput, warnings: list[str] | None = None) -> ActionStatus:
        """Return the ``action/status`` for a tick's ``output``, the step's outcome included."""
        target, task = self.current.target, self.task
        return ActionStatus(
            state=output.state, reason=output.reason, linear=round(output.linear, 4),
            angular=round(output.angular, 4), intent=task.intent, run_id=task.run_id,
            command_id=task.command_id, step=task.step,
            outcome=step_outcome(output.state, task),
            target=None if target is None else [round(target.x, 3), round(target.y, 3)],
            warnings=list(warnings or []))

    def nav2_goal(self) -> tuple[float, float, float] | None:
        """Return the goal for Nav2 (nav2 mode): (x, y, yaw) in the odometry frame, or None."""
        return self.current.goal

    def _should_publish(self, state: ActionState, now: float) -> bool:
        """
        Tell whether to publish this tick's velocity.

        Publish while a command moves (or holds) the robot; at rest, only for
        idle_publish_time, so another velocity source can take over.
        """
        if not state.at_rest or self.output != ZERO:
            self.rest_since = None
            return True
        if self.rest_since is None:
            self.rest_since = now
        return now - self.rest_since <= self.config.idle_publish_time

    def _decide(self, now: float) -> Decision:
        intent, perception = self.task.intent, self.perception
        if intent is None and perception.state == GroundingState.ERROR:
            return ActionState.STOPPED, ZERO, f'grounding error: {perception.message}'
        if intent is None or intent == Intent.CLASSIFY or intent.answered:
            return ActionState.IDLE, ZERO, 'no motion command'
        if intent == Intent.STOP:
            return ActionState.STOPPED, ZERO, 'stop command'
        if self.current.latched is not None:
            return self.current.latched[0], ZERO, self.current.latched[1]
        if intent.by_odometry:
            return self._by_odometry(now)
        return self._toward_target(now)

    def _finish(self, state: ActionState, reason: str) -> Decision:
        self.current.latched, self.current.goal = (state, reason), None
        return state, ZERO, reason

    def _fresh_odometry(self, now: float) -> Pose | None:
        odometry = self.odometry
        if odometry is None or check_odometry(now, odometry.stamp,
                                              self.config.odom_timeout).stops:
            return None
        return odometry

    def _by_odometry(self, now: float) -> Decision:
        """Move or turn by the task's amount, closed-loop on odometry."""
        task, current = self.task, self.current
        if current.started is None:  # the clock was reset: the wait for odometry starts now
            current.started = now
        odometry = self._fresh_odometry(now)
        if odometry is None:
            if current.move_start is None and now - current.started > self.config.odom_timeout:
                return self._finish(ActionState.FAILED, f'no odometry on odom: a {task.intent} '
                                    'by an amount needs it')
            return ActionState.HOLDING, ZERO, check_odometry(
                now, None, self.config.odom_timeout).reason
        if current.move_start is None:
            current.move_start, current.turned = odometry, 0.0
        start = current.move_start
        if task.intent == Intent.RETURN:
            return self._come_back()
        if task.intent == Intent.TURN:
            _, angular, done = turn_velocity(current.turned, task.angle, self.config)
            if done:
                return self._finish(ActionState.REACHED, 'turned '
                                    f'{math.degrees(current.turned):.1f} deg of '
                                    f'{math.degrees(task.angle):.1f}')
            return ActionState.TURNING, (0.0, angular), (
                f'turning by {math.degrees(task.angle):.0f} deg')
        dx, dy = odometry.x - start.x, odometry.y - start.y
        travelled = dx * math.cos(start.yaw) + dy * math.sin(start.yaw)
        heading_error = math.remainder(start.yaw - odometry.yaw, math.tau)
        linear, angular, done = move_velocity(travelled, heading_error, task.distance,
                                              self.config)
        if done:
            return self._finish(ActionState.REACHED, f'moved {travelled:.3f} m of '
                                f'{task.distance:.3f}')
        return ActionState.MOVING, (linear, angular), f'moving {task.distance:+.2f} m'

    def _return_target(self) -> tuple[float, float] | None:
        """Where a return goes, in the base frame now; None without a pose to go back to."""
        goal = self.origins.goal(self.task)
        if goal is None or self.odometry is None:
            return None
        return odom_to_base((goal.x, goal.y), self.odometry.xy_yaw)

    def _come_back(self) -> Decision:
        """Drive back to where the command was given (odometry), around obstacles."""
        target = self._return_target()
        where = 'the start' if self.task.origin == Origin.START else 'where the command was given'
        if target is None:
            return self._finish(ActionState.FAILED, f'no pose to come back to: {where} is not '
                                'known (no earlier command that moved, or odometry was reset)')
        distance = math.hypot(*target)
        if distance <= self.config.return_tolerance:
            return self._finish(ActionState.REACHED, f'back at {where} ({distance:.2f} m '
                                'from it)')
        linear, angular, _ = approach_velocity(*target, self.config, stop_distance=0.0)
        state = ActionState.APPROACHING if linear > 0 else ActionState.TURNING
        return state, (linear, angular), f'coming back to {where}: {distance:.2f} m to go'

    def _target_now(self, now: float) -> tuple[tuple[float, float], float] | None:
        """
        Where the target is now in the base frame, and how long ago it was seen (s).

        With fresh odometry: the remembered sighting brought to the current pose (this also
        makes up for the grounding's latency); else the last target as published while it
        is fresh; else None.
        """
        odometry = self._fresh_odometry(now)
        if odometry is not None:
            predicted = self.memory.predict(odometry.xy_yaw, now)
            if predicted is not None:
                return predicted, self.memory.age(now)
        target = self.current.target
        if target is not None and fresh(now, target.stamp, self.config.target_timeout):
            return (target.x, target.y), age(now, target.stamp)
        return None

    def _toward_target(self, now: float) -> Decision:
        """Approach, face or find the grounded target."""
        config, perception, current = self.config, self.perception, self.current
        verdict = check_status(now, perception.received, config.status_timeout)
        if verdict.stops:
            return ActionState.HOLDING, ZERO, verdict.reason
        verdict = check_perception(perception.state, perception.message)
        if verdict.stops:
            return ActionState.STOPPED, ZERO, verdict.reason
        located = self._target_now(now)
        if perception.state == GroundingState.TRACKING and perception.found:
            current.search_pose = current.search_since = None
            # The age of the position driven to: the remembered or the published target.
            if located is not None:
                stamp = now - located[1]
            else:
                stamp = None if current.target is None else current.target.stamp
            verdict = check_target(now, stamp, config.target_timeout)
            if verdict.stops or located is None:
                return ActionState.HOLDING, ZERO, verdict.reason
            return self._drive(located[0], now, 'target')
        # Grounded frames no longer show it: go on to where it was seen, while remembered.
        if located is not None and self.task.intent.approaches and \
                self.memory.stamp is not None:
            return self._drive(located[0], now, f'target out of view for {located[1]:.1f} s: '
                               'going to where it was seen')
        if perception.state == GroundingState.LOST:
            return self._search(now)
        return ActionState.HOLDING, ZERO, perception.message or 'looking for the target'

    def _drive(self, target: tuple[float, float], now: float, why: str) -> Decision:
        """Velocity toward ``target`` (base frame) for the task's intent."""
        config, (x, y) = self.config, target
        if self.task.intent.faces:
            _, angular, aligned = face_velocity(x, y, config)
            if aligned and self.perception.remembered:
                return ActionState.HOLDING, ZERO, UNCONFIRMED
            return (ActionState.FACING, ZERO, 'facing target') if aligned else (
                ActionState.TURNING, (0.0, angular), 'turning toward target')
        if self.task.intent == Intent.FOLLOW:
            return self._follow(target)
        if config.motion_mode == MotionMode.NAV2:
            return self._navigate(target, now)
        stop, note = self._unambiguous_stop(target, now)
        linear, angular, reached = approach_velocity(x, y, config, stop)
        if reached and self.perception.remembered:
            return ActionState.HOLDING, ZERO, UNCONFIRMED
        if reached:
            return self._finish(ActionState.REACHED, f'target reached ({math.hypot(x, y):.2f} '
                                f'm from the base{note})')
        why += note
        state = ActionState.APPROACHING if linear > 0 else ActionState.TURNING
        return state, (linear, angular), f'{self.task.intent}: {why}'

    def _follow(self, target: tuple[float, float]) -> Decision:
        """
        Keep ``follow_distance`` from a moving target: drive when farther, else face it.

        Never reached: a follow goes on until a stop, or fails once the target is lost and not
        found again by a search turn. Nearer than ``follow_distance`` the base turns in place
        and does not back away (nothing sees behind it); it drives again beyond
        ``follow_distance`` + FOLLOW_BAND.
        """
        config, (x, y), current = self.config, target, self.current
        distance = math.hypot(x, y)
        keep = config.follow_distance + (FOLLOW_BAND if current.follow_held else 0.0)
        linear, angular, within = approach_velocity(x, y, config, keep)
        current.follow_held = within
        if within:
            _, angular, _ = face_velocity(x, y, config)
            return ActionState.FACING, (0.0, angular), (
                f'following: {distance:.2f} m from the target (keeping '
                f'{config.follow_distance:.2f} m)')
        state = ActionState.APPROACHING if linear > 0 else ActionState.TURNING
        return state, (linear, angular), f'following: {distance:.2f} m from the target'

    def _unambiguous_stop(self, target: tuple[float, float], now: float) -> tuple[float, str]:
        """
        Return the stop distance (m) that leaves the target the nearest object, and a note.

        An approach that ends about as near another object as the target leaves a person
        watching unsure which one it went to. Once at ``stop_distance``, while a neighbour (an
        obstacle point farther than TARGET_EXTENT from the target point) is less than
        CLEARER_BY farther from the base than the target, the robot goes on closer, down to
        its footprint's clearance (robot_radius + safety_margin), straight on a free way only
        (:meth:`step` ends the approach where obstacle avoidance would steer or stop).
        """
        stop, distance = self.config.stop_distance, math.hypot(*target)
        self.current.stop_distance = None
        if distance > stop:
            return stop, ''
        nearest = self.avoidance.nearest_other(target, self._fresh_odometry(now), TARGET_EXTENT)
        if nearest is None or nearest >= distance + CLEARER_BY:
            return stop, ''
        floor = self.avoidance.config.inflated_radius
        if distance <= floor:
            return stop, f'; another object is as near, {nearest:.2f} m'
        self.current.stop_distance = floor
        return floor, (f'; going closer than stop_distance: another object is {nearest:.2f} m '
                       'away')

    def _navigate(self, target: tuple[float, float], now: float) -> Decision:
        """
        Approach the target in Nav2 mode: set the goal, Nav2 drives.

        The goal is the target in odom, stop_distance short of it on the line from the robot,
        facing it. Needs odometry.
        """
        odometry = self._fresh_odometry(now)
        if odometry is None:
            return ActionState.HOLDING, ZERO, 'nav2 mode needs fresh odometry on odom'
        distance = math.hypot(*target)
        if distance <= self.config.stop_distance + self.config.nav2_goal_tolerance:
            return self._finish(ActionState.REACHED, f'target reached ({distance:.2f} m from '
                                'the base)')
        scale = (distance - self.config.stop_distance) / distance
        goal = base_to_odom((target[0] * scale, target[1] * scale), odometry.xy_yaw)
        yaw = odometry.yaw + math.atan2(target[1], target[0])
        current = self.current
        if current.goal is None or \
                math.dist(current.goal[:2], goal) > self.config.goal_update_distance:
            current.goal = (goal[0], goal[1], math.remainder(yaw, math.tau))
        return ActionState.NAVIGATING, ZERO, (
            f'Nav2 goal ({current.goal[0]:.2f}, {current.goal[1]:.2f}) in odom, '
            f'{distance:.2f} m to the target')

    def _search(self, now: float) -> Decision:
        """
        Turn in place toward where the target was last seen, up to search_turn.

        Then the step fails. Where it was seen is kept in odom: the side it is on now, after the
        robot has turned or driven around something, not the side it was on then. The turn is
        measured on odometry, or estimated from the turn rate when there is none.
        """
        config, current = self.config, self.current
        message = self.perception.message or 'target lost'
        if not config.search_enabled:
            return ActionState.STOPPED, ZERO, message
        # A match in view awaits agreeing groundings: hold still so that they can agree (a
        # turning camera shows it for a moment), for PENDING_HOLD at most per sighting.
        if self.perception.pending:
            if current.pending_since is None:
                current.pending_since = now
            if now - current.pending_since <= PENDING_HOLD:
                return ActionState.SEARCHING, ZERO, f'holding still to confirm: {message}'
        else:
            current.pending_since = None
        odometry = self._fresh_odometry(now)
        if current.search_since is None:
            current.search_since, current.search_pose, current.turned = now, odometry, 0.0
            if odometry is not None and current.last_seen_odom is not None:
                _, side = odom_to_base(current.last_seen_odom, odometry.xy_yaw)
                if abs(side) > 1e-3:
                    self.last_seen_side = math.copysign(1.0, side)
        if current.search_pose is not None and odometry is not None:
            turned = abs(current.turned)
        else:
            turned = config.search_angular * (now - current.search_since)
        if turned >= config.search_turn:
            return self._finish(ActionState.FAILED, f'not found after turning '
                                f'{math.degrees(turned):.0f} deg: {message}')
        return ActionState.SEARCHING, (0.0, self.last_seen_side * config.search_angular), (
            f'searching ({math.degrees(turned):.0f}/{math.degrees(config.search_turn):.0f} '
            f'deg): {message}')
