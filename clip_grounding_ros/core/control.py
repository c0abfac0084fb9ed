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
The action node's behaviour and safety logic, without ROS.

The action node executes one :class:`Task` at a time: the current step of the current command
(approach, face, find or pick a grounded target; move or turn by an amount on odometry). Each
control tick, :meth:`MotionController.step` lets the task propose a velocity and then applies
the safety rules: no fresh status, target or odometry, a perception error, a non-finite
number, or a clock that went backwards all end in zero velocity with the reason. Stops are
immediate; speeding up is limited by the acceleration limits.

Times are seconds on the caller's clock (ROS time in the node, so ``use_sim_time`` works).
When that clock goes backwards (a simulation reset, a bag loop), everything dated on it
(target, status, odometry, a move in progress) is dropped and the robot holds until fresh
inputs arrive. Frames: REP-103 base frame (x forward, y left), odometry frame for poses;
angles counter-clockwise positive, radians.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
import math

import numpy as np

from .commands import Intent
from .memory import (
    base_points_to_odom,
    base_to_odom,
    MemoryConfig,
    odom_points_to_base,
    odom_to_base,
    Pose,
    PoseHistory,
    TargetMemory,
)
from .obstacles import (
    Action,
    check_path,
    check_source,
    choose_heading,
    Heading,
    ObstacleConfig,
    SensorView,
)
from .parameters import check_settings, setting
from .status import ActionState, GroundingState
from .timing import age, ClockWatch, fresh

PERCEPTION_INTENTS = (Intent.APPROACH, Intent.PICK, Intent.FACE, Intent.FIND)
ODOMETRY_INTENTS = (Intent.MOVE, Intent.TURN)
# Where no heading is free for clearance_distance, one free for this share of it is taken
# before the robot counts as in a pocket (half: still over twice the stop zone at full speed).
SHORT_CLEARANCE_RATIO = 0.5
ALIGNED_EXACTLY = 1e-3  # rad: facing a heading closer than this is facing it


@dataclass(frozen=True)
class MotionConfig:
    """Gains, limits, tolerances and timeouts: the action node's motion parameters."""

    max_linear: float = setting(0.4, 'Speed limit (m/s)', minimum=0.01, maximum=10.0)
    max_angular: float = setting(1.0, 'Turn rate limit (rad/s)', minimum=0.01, maximum=20.0)
    max_linear_accel: float = setting(0.8, 'Linear acceleration limit (m/s^2)',
                                      minimum=0.01, maximum=100.0)
    max_angular_accel: float = setting(3.0, 'Angular acceleration limit (rad/s^2)',
                                       minimum=0.01, maximum=100.0)
    k_linear: float = setting(0.8, 'Forward speed per metre still to go (1/s)',
                              minimum=0.01, maximum=100.0)
    min_linear: float = setting(0.08, 'Slowest forward speed while approaching or moving '
                                '(m/s), so the robot arrives', minimum=0.001, maximum=10.0)
    k_angular: float = setting(1.5, 'Turn rate per radian of bearing or of angle still to '
                               'turn (1/s)', minimum=0.01, maximum=100.0)
    min_angular: float = setting(0.15, 'Slowest turn rate while turning by an angle (rad/s), '
                                 'so the turn finishes', minimum=0.001, maximum=20.0)
    stop_distance: float = setting(0.6, 'Stop when the target point is this close to the base '
                                   'origin (m)', minimum=0.0, maximum=100.0)
    align_angle: float = setting(0.6, 'Beyond this bearing (rad) turn in place before driving',
                                 minimum=0.01, maximum=3.1416)
    face_tolerance: float = setting(0.05, 'Facing intents hold still within this bearing (rad)',
                                    minimum=0.001, maximum=3.1416)
    move_tolerance: float = setting(0.01, 'A move by a distance ends this close to it (m)',
                                    minimum=0.001, maximum=1.0)
    turn_tolerance: float = setting(0.01, 'A turn by an angle ends this close to it (rad)',
                                    minimum=0.001, maximum=0.5)
    target_timeout: float = setting(1.0, 'Targets older than this (s, ROS time), or stamped '
                                    'further in the future, stop the robot',
                                    minimum=0.01, maximum=3600.0)
    status_timeout: float = setting(2.0, 'No grounding status for this long (s, ROS time) '
                                    'stops the robot', minimum=0.01, maximum=3600.0)
    odom_timeout: float = setting(0.5, 'Odometry older than this (s, ROS time) stops a move '
                                  'or turn by an amount; a search then estimates its turn '
                                  'from the turn rate, and remembered obstacles and targets '
                                  'are not used', minimum=0.01, maximum=3600.0)
    search_enabled: bool = setting(True, 'Turn in place to find a target that is not in view '
                                   '(toward the side it was last seen on, else left)')
    search_angular: float = setting(0.6, 'Turn rate while searching (rad/s)',
                                    minimum=0.01, maximum=20.0)
    search_turn: float = setting(6.2832, 'Give up searching after turning this far (rad; one '
                                 'full turn by default)', minimum=0.1, maximum=62.832)
    idle_publish_time: float = setting(1.0, 'After a stop, reached or idle, publish zero '
                                       'velocity this long (s), then nothing until the next '
                                       'motion command, so teleop and twist_mux are not '
                                       'fought', minimum=0.0, maximum=3600.0)
    blocked_timeout: float = setting(10.0, 'A step that makes no progress past an obstacle '
                                     'for this long (s, ROS time) fails: blocked, or heading '
                                     'out of a pocket without moving required_movement_radius '
                                     "(Nav2's movement_time_allowance)", minimum=0.1,
                                     maximum=3600.0)
    required_movement_radius: float = setting(0.5, 'Moving this far (m, odometry) while '
                                              'blocked or heading out of a pocket counts as '
                                              "progress and restarts blocked_timeout (Nav2's "
                                              'progress checker)', minimum=0.01, maximum=10.0)
    motion_mode: str = setting('servo', "'servo': drive to the target with cmd_vel (this "
                               "node); 'nav2': publish the goal (goal_pose, odom frame) for "
                               "Nav2's planner and controller instead", choices=('servo', 'nav2'))
    goal_update_distance: float = setting(0.2, 'In nav2 mode, publish a new goal_pose when '
                                          'the goal moves this far (m)', minimum=0.0,
                                          maximum=100.0)
    nav2_goal_tolerance: float = setting(0.25, 'In nav2 mode the step is reached within '
                                         'stop_distance plus this (m) of the target (match '
                                         "Nav2's goal checker)", minimum=0.0, maximum=10.0)

    def __post_init__(self):
        problems = check_settings(self)
        if not problems and self.min_linear > self.max_linear:
            problems.append(f'min_linear {self.min_linear} exceeds max_linear {self.max_linear}')
        if not problems and self.min_angular > self.max_angular:
            problems.append(f'min_angular {self.min_angular} exceeds max_angular '
                            f'{self.max_angular}')
        if problems:
            raise ValueError('; '.join(problems))


def _clip(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


def approach_velocity(x: float, y: float, config: MotionConfig) -> tuple[float, float, bool]:
    """
    (linear, angular, reached) to drive to a base-frame point and stop short of it.

    Turns toward the bearing; drives forward only while roughly facing it, slowing
    linearly over the last metres (down to ``min_linear``) so the stop at
    ``stop_distance`` is gentle but does arrive.
    """
    distance, bearing = math.hypot(x, y), math.atan2(y, x)
    if distance <= config.stop_distance:
        return 0.0, 0.0, True
    angular = _clip(config.k_angular * bearing, config.max_angular)
    heading = max(0.0, 1.0 - abs(bearing) / config.align_angle)
    linear = min(config.max_linear, max(config.min_linear,
                                        config.k_linear * (distance - config.stop_distance)))
    return linear * heading, angular, False


def face_velocity(x: float, y: float, config: MotionConfig) -> tuple[float, float, bool]:
    """(0, angular, aligned) to turn in place toward a base-frame point."""
    bearing = math.atan2(y, x)
    if abs(bearing) <= config.face_tolerance:
        return 0.0, 0.0, True
    return 0.0, _clip(config.k_angular * bearing, config.max_angular), False


def _toward(remaining: float, gain: float, slowest: float, fastest: float) -> float:
    """Speed toward a goal ``remaining`` away (signed): proportional, between the limits."""
    return math.copysign(min(fastest, max(slowest, gain * abs(remaining))), remaining)


def move_velocity(travelled: float, heading_error: float, distance: float,
                  config: MotionConfig) -> tuple[float, float, bool]:
    """
    Return (linear, angular, done) for a straight move of ``distance`` metres.

    ``distance`` negative: backward. ``travelled`` (signed, along the start heading) of it is done;
    ``heading_error`` (rad) is the start heading minus the current one and is corrected while
    driving.
    """
    remaining = distance - travelled
    if abs(remaining) <= config.move_tolerance:
        return 0.0, 0.0, True
    linear = _toward(remaining, config.k_linear, config.min_linear, config.max_linear)
    return linear, _clip(config.k_angular * heading_error, config.max_angular), False


def turn_velocity(turned: float, angle: float, config: MotionConfig) -> tuple[float, float, bool]:
    """
    Return (0, angular, done) for a turn in place by ``angle`` radians.

    ``angle`` positive: left. ``turned`` (signed, unwrapped) of it is done.
    """
    remaining = angle - turned
    if abs(remaining) <= config.turn_tolerance:
        return 0.0, 0.0, True
    return 0.0, _toward(remaining, config.k_angular, config.min_angular,
                        config.max_angular), False


def limit_acceleration(previous: tuple[float, float], desired: tuple[float, float],
                       dt: float, config: MotionConfig) -> tuple[float, float]:
    """Move from ``previous`` toward ``desired`` no faster than the acceleration limits."""
    dt = max(dt, 0.0)
    linear = previous[0] + _clip(desired[0] - previous[0], config.max_linear_accel * dt)
    angular = previous[1] + _clip(desired[1] - previous[1], config.max_angular_accel * dt)
    return linear, angular


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


@dataclass(frozen=True)
class Task:
    """
    What the action node is asked to do: one step of one command.

    ``intent`` None means no motion command (none yet, or one that failed to parse).
    ``distance`` (m, + forward) and ``angle`` (rad, + left) are the amounts of a MOVE or TURN.
    ``run_id`` names the grounding_node process that numbered the command (a restarted one
    numbers from 1 again: its command 1 is not the old one's).
    """

    command_id: int
    step: int = 0
    intent: Intent | None = None
    distance: float = 0.0
    angle: float = 0.0
    run_id: str = ''

    @property
    def key(self) -> tuple[str, int, int]:
        return self.run_id, self.command_id, self.step


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


class ObstacleMap:
    """
    Obstacle points kept in the odometry frame until seen again or ``keep`` s old.

    ``keep`` is ObstacleConfig.obstacle_memory.

    A camera sees only ahead: an obstacle the robot is passing leaves its view while the
    robot could still clip it turning back toward the goal. So the points of each reading
    are kept where they were seen (odom frame, thinned to a 5 cm grid) and brought into the
    current base frame for each check. A new reading replaces the remembered points inside
    its :class:`~.obstacles.SensorView` (what it shows there is the truth now, so an object
    that moved away is forgotten), and keeps those outside it. Without odometry only the
    newest reading's points count.
    """

    GRID = 0.05  # m

    def __init__(self):
        self.frames: deque[tuple[float, np.ndarray]] = deque()  # (stamp, odom (N, 2))
        self.latest: np.ndarray = np.empty((0, 2))  # newest frame, base frame of its pose
        self.stamp: float | None = None

    def add(self, points_base: np.ndarray, stamp: float, pose: Pose | None,
            keep: float, view: SensorView | None = None) -> None:
        """Add a reading's (N, 2) base-frame points taken at ``stamp`` (s) from ``pose``."""
        if self.stamp is not None and stamp < self.stamp:
            self.clear()
        self.stamp, self.latest = stamp, points_base
        if pose is None:
            self.frames.clear()
            return
        while self.frames and stamp - self.frames[0][0] > keep:
            self.frames.popleft()
        where = (pose.x, pose.y, pose.yaw)
        if view is not None:
            self.frames = deque((seen, odom[~view.contains(odom_points_to_base(odom, where))])
                                for seen, odom in self.frames)
        odom = base_points_to_odom(points_base, where)
        odom = np.unique(np.round(odom / self.GRID), axis=0) * self.GRID if len(odom) else odom
        self.frames.append((stamp, odom))

    def points(self, pose: Pose | None) -> np.ndarray:
        """(N, 2) obstacle points in the base frame of ``pose`` (the current one)."""
        if pose is None or not self.frames:
            return self.latest
        return odom_points_to_base(np.concatenate([points for _, points in self.frames]),
                                   (pose.x, pose.y, pose.yaw))

    def clear(self) -> None:
        self.frames.clear()
        self.latest, self.stamp = np.empty((0, 2)), None


# States in which the robot is at rest and no motion command needs it: quiet after a while.
AT_REST = (ActionState.IDLE, ActionState.STOPPED, ActionState.REACHED, ActionState.FAILED)
# Terminal states of a step: held until the next task.
TERMINAL = (ActionState.REACHED, ActionState.FAILED)


class MotionController:
    """
    Turns the current task, perception, target, odometry and obstacles into a velocity.

    Feed it with :meth:`on_task`, :meth:`on_perception`, :meth:`on_target`,
    :meth:`on_odometry` and :meth:`on_obstacles` as messages arrive and call :meth:`step`
    at the control rate.

    With odometry, each target is also remembered in the odometry frame (core.memory):
    while the target is out of view (too close to see, occluded, turned away) the robot
    goes on to where it was last seen, for ``memory_max_age`` seconds and
    ``memory_max_travel`` metres; a sighting farther than ``memory_gate`` from it is
    another object and is refused, so the object being approached stays the same one.
    """

    def __init__(self, config: MotionConfig, obstacles: ObstacleConfig | None = None,
                 memory: MemoryConfig | None = None):
        self.config = config
        self.obstacle_config = obstacles or ObstacleConfig()
        self.memory = TargetMemory(memory or MemoryConfig())
        self.task = Task(command_id=-1)
        self.perception_state = GroundingState.IDLE
        self.perception_message = ''
        self.perception_found = False
        self.perception_time: float | None = None
        self.target: Target | None = None
        self.odometry: Pose | None = None
        self.poses = PoseHistory()
        self.obstacles = ObstacleMap()
        self.last_seen_side = 1.0            # search turns this way first (+1 left)
        self.last_seen_odom: tuple[float, float] | None = None  # the last sighting, odom
        self.latched: tuple[ActionState, str] | None = None
        self.output = (0.0, 0.0)
        self.last_step: float | None = None
        self.clock = ClockWatch()
        self.clock_reset = ''                # why everything dated was dropped, once
        self.rest_since: float | None = None
        self.task_time: float | None = None
        self.move_start: Pose | None = None  # odometry when a move or turn began
        self.turned = 0.0                    # unwrapped yaw change of a turn or a search
        self.search_pose: Pose | None = None
        self.search_since: float | None = None
        self.blocked_since: float | None = None
        self.blocked_pose: Pose | None = None  # where the blocked clock (re)started
        self.avoid_side = 0                  # the side a way around passes on (+1 left)
        self.goal: tuple[float, float, float] | None = None  # nav2 mode: (x, y, yaw) in odom

    # -- inputs ---------------------------------------------------------------------------
    def on_task(self, task: Task, now: float) -> None:
        """
        Take in a new command or step.

        A status repeating the current one is not new (and must not undo a stop received directly
        on the command topic).
        """
        self._check_clock(now)
        if task.key == self.task.key:
            return
        self.task, self.task_time = task, now
        self.target, self.latched, self.goal = None, None, None
        self.move_start, self.turned, self.avoid_side = None, 0.0, 0
        self.last_seen_odom = None
        self.search_pose = self.search_since = self.blocked_since = self.blocked_pose = None
        self.memory.reset('a new command step')

    def on_perception(self, state: GroundingState, message: str, now: float,
                      found: bool = True) -> None:
        """
        Take in the grounding node's state.

        ``found``: whether its latest frame showed the target (a brief miss keeps the state
        tracking, but the target out of sight).
        """
        self._check_clock(now)
        self.perception_state, self.perception_message, self.perception_time = (
            state, message, now)
        self.perception_found = found

    def on_target(self, x: float, y: float, stamp: float) -> str:
        """
        Take in a base-frame target of the image taken at ``stamp``.

        Returns why it was refused ('' when accepted).
        """
        if not _finite(x, y, stamp):
            return f'target ({x}, {y}) stamped {stamp} is not finite: ignored'
        pose = self.poses.at(stamp)
        if pose is not None:
            match = self.memory.match((x, y), (pose.x, pose.y, pose.yaw), stamp)
            if not match.accepted:
                return f'target at ({x:.2f}, {y:.2f}) is {match.reason}'
            self.memory.observe((x, y), (pose.x, pose.y, pose.yaw), stamp)
            self.last_seen_odom = base_to_odom((x, y), (pose.x, pose.y, pose.yaw))
        self.target = Target(x, y, stamp)
        if abs(y) > 1e-3:
            self.last_seen_side = math.copysign(1.0, y)
        return ''

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
        if previous is not None and (self.move_start is not None or
                                     self.search_pose is not None):
            self.turned += math.remainder(yaw - previous.yaw, math.tau)
        return ''

    def on_obstacles(self, points: np.ndarray, stamp: float,
                     view: SensorView | None = None) -> None:
        """
        Take in the obstacle points of a sensor reading.

        Points (N, 2), base frame (m), of the sensor reading taken at ``stamp``; ``view``: where
        the reading surely shows any obstacle (remembered points there are replaced by the
        reading's), None to keep every remembered point.
        """
        self.obstacles.add(points, stamp, self.poses.at(stamp),
                           self.obstacle_config.obstacle_memory, view)

    def stop(self) -> None:
        """Stop at once, for a stop command, shutdown, or a safety stop from outside."""
        self.task = replace(self.task, intent=Intent.STOP)
        self.latched, self.output, self.goal = None, (0.0, 0.0), None

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
        self.output = (0.0, 0.0)
        return MotionOutput(0.0, 0.0, ActionState.HOLDING, reason)

    def _check_clock(self, now: float) -> None:
        latest = self.clock.latest
        reason = self.clock.describe(now) if latest is not None else ''
        if latest == 0.0 and now > 0.0 and self.task_time == 0.0:
            self.task_time = now  # a task given before the first /clock starts with the clock
        if self.clock.went_back(now):
            self._reset_clock(reason)

    def _reset_clock(self, why: str) -> None:
        """
        Drop everything dated on the old clock.

        A move or turn by an amount, measured on odometry that may have been reset too, is
        cancelled.
        """
        self.clock_reset = f'{why}: inputs dropped'
        self.target = self.odometry = self.goal = self.last_seen_odom = None
        self.perception_time = self.last_step = self.rest_since = self.task_time = None
        self.search_pose = self.search_since = self.blocked_since = self.blocked_pose = None
        self.avoid_side = 0
        self.poses.clear()
        self.obstacles.clear()
        self.memory.reset(why)
        self.output = (0.0, 0.0)
        if self.task.intent in ODOMETRY_INTENTS and self.latched is None:
            self.latched = (ActionState.STOPPED, f'{why} during the {self.task.intent}: '
                            'cancelled')

    # -- control ---------------------------------------------------------------------------
    def step(self, now: float) -> MotionOutput:
        self._check_clock(now)
        dt = 0.0 if self.last_step is None else now - self.last_step
        self.last_step = now
        state, desired, reason = self._decide(now)
        if desired != (0.0, 0.0):
            state, desired, reason = self._avoid_obstacles(state, desired, reason, now)
        if self.clock_reset and desired == (0.0, 0.0):
            reason, self.clock_reset = f'{self.clock_reset}; {reason}', ''
        if not _finite(*desired):
            state, desired, reason = ActionState.STOPPED, (0.0, 0.0), (
                f'computed a non-finite velocity {desired}: stopped')
        if desired == (0.0, 0.0):
            self.output = desired  # safety stops are immediate, not ramped
        else:
            self.output = limit_acceleration(self.output, desired, dt, self.config)
        publish = self._publish(state, now) and state != ActionState.NAVIGATING
        return MotionOutput(self.output[0], self.output[1], state, reason, publish)

    def _publish(self, state: ActionState, now: float) -> bool:
        """
        Tell whether to publish this tick's velocity.

        Publish while a command moves (or holds) the robot; at rest, only for
        idle_publish_time, so another velocity source can take over.
        """
        if state not in AT_REST or self.output != (0.0, 0.0):
            self.rest_since = None
            return True
        if self.rest_since is None:
            self.rest_since = now
        return now - self.rest_since <= self.config.idle_publish_time

    def _decide(self, now: float) -> tuple[ActionState, tuple[float, float], str]:
        zero, intent = (0.0, 0.0), self.task.intent
        if intent is None and self.perception_state == GroundingState.ERROR:
            return ActionState.STOPPED, zero, f'grounding error: {self.perception_message}'
        if intent in (None, Intent.CLASSIFY):
            return ActionState.IDLE, zero, 'no motion command'
        if intent == Intent.STOP:
            return ActionState.STOPPED, zero, 'stop command'
        if self.latched is not None:
            return self.latched[0], zero, self.latched[1]
        if intent in ODOMETRY_INTENTS:
            return self._by_odometry(now)
        return self._toward_target(now)

    def _finish(self, state: ActionState, reason: str) -> tuple[ActionState, tuple, str]:
        self.latched, self.goal = (state, reason), None
        return state, (0.0, 0.0), reason

    def _fresh_odometry(self, now: float) -> Pose | None:
        odometry = self.odometry
        if odometry is None or not fresh(now, odometry.stamp, self.config.odom_timeout):
            return None
        return odometry

    def _by_odometry(self, now: float) -> tuple[ActionState, tuple[float, float], str]:
        """Move or turn by the task's amount, closed-loop on odometry."""
        zero, task = (0.0, 0.0), self.task
        if self.task_time is None:  # the clock was reset: the wait for odometry starts now
            self.task_time = now
        odometry = self._fresh_odometry(now)
        if odometry is None:
            if self.move_start is None and now - self.task_time > self.config.odom_timeout:
                return self._finish(ActionState.FAILED, f'no odometry on odom: a {task.intent} '
                                    'by an amount needs it')
            return ActionState.HOLDING, zero, 'waiting for fresh odometry on odom'
        if self.move_start is None:
            self.move_start, self.turned = odometry, 0.0
        start = self.move_start
        if task.intent == Intent.TURN:
            _, angular, done = turn_velocity(self.turned, task.angle, self.config)
            if done:
                return self._finish(ActionState.REACHED, f'turned {math.degrees(self.turned):.1f}'
                                    f' deg of {math.degrees(task.angle):.1f}')
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

    def _target_now(self, now: float) -> tuple[tuple[float, float], float] | None:
        """
        Where the target is now in the base frame, and how long ago it was seen (s).

        With fresh odometry: the remembered sighting brought to the current pose (this also
        makes up for the grounding's latency); else the last target as published while it
        is fresh; else None.
        """
        odometry = self._fresh_odometry(now)
        if odometry is not None:
            predicted = self.memory.predict((odometry.x, odometry.y, odometry.yaw), now)
            if predicted is not None:
                return predicted, self.memory.age(now)
        if self.target is not None and fresh(now, self.target.stamp, self.config.target_timeout):
            return (self.target.x, self.target.y), age(now, self.target.stamp)
        return None

    def _toward_target(self, now: float) -> tuple[ActionState, tuple[float, float], str]:
        """Approach, face or find the grounded target."""
        config, zero = self.config, (0.0, 0.0)
        if not fresh(now, self.perception_time, config.status_timeout):
            return ActionState.HOLDING, zero, 'no status from the grounding node'
        state = self.perception_state
        if state in (GroundingState.ERROR, GroundingState.STOPPED, GroundingState.IDLE):
            return ActionState.STOPPED, zero, f'grounding {state}: {self.perception_message}'
        located = self._target_now(now)
        seen_now = state == GroundingState.TRACKING and self.perception_found
        if seen_now:
            self.search_pose = self.search_since = None
            if located is None or not fresh(now, now - located[1], config.target_timeout):
                return self._stale_target(now)
            return self._drive(located[0], now, 'target')
        # Grounded frames no longer show it: go on to where it was seen, while remembered.
        if located is not None and self.task.intent in (Intent.APPROACH, Intent.PICK) and \
                self.memory.stamp is not None:
            return self._drive(located[0], now, f'target out of view for {located[1]:.1f} s: '
                               'going to where it was seen')
        if state == GroundingState.LOST:
            return self._search(now)
        return ActionState.HOLDING, zero, self.perception_message or 'looking for the target'

    def _stale_target(self, now: float) -> tuple[ActionState, tuple[float, float], str]:
        if self.target is None:
            return ActionState.HOLDING, (0.0, 0.0), 'tracking but no target position yet'
        target_age = age(now, self.target.stamp)
        when = 'old' if target_age > 0 else 'in the future (undatable)'
        return ActionState.HOLDING, (0.0, 0.0), (
            f'target is {abs(target_age):.2f} s {when} (timeout '
            f'{self.config.target_timeout:.2f} s)')

    def _drive(self, target: tuple[float, float], now: float,
               why: str) -> tuple[ActionState, tuple[float, float], str]:
        """Velocity toward ``target`` (base frame) for the task's intent."""
        config, (x, y) = self.config, target
        if self.task.intent in (Intent.FACE, Intent.FIND):
            _, angular, aligned = face_velocity(x, y, config)
            return (ActionState.FACING, (0.0, 0.0), 'facing target') if aligned else (
                ActionState.TURNING, (0.0, angular), 'turning toward target')
        if config.motion_mode == 'nav2':
            return self._navigate(target, now)
        linear, angular, reached = approach_velocity(x, y, config)
        if reached:
            return self._finish(ActionState.REACHED, f'target reached ({math.hypot(x, y):.2f} '
                                'm from the base)')
        state = ActionState.APPROACHING if linear > 0 else ActionState.TURNING
        return state, (linear, angular), f'{self.task.intent}: {why}'

    def _navigate(self, target: tuple[float, float],
                  now: float) -> tuple[ActionState, tuple[float, float], str]:
        """
        Approach the target in Nav2 mode: set the goal, Nav2 drives.

        Nav2 mode: the goal is the target in odom, stop_distance short of it on the line
        from the robot, facing it; Nav2 drives. Needs odometry.
        """
        odometry = self._fresh_odometry(now)
        if odometry is None:
            return ActionState.HOLDING, (0.0, 0.0), 'nav2 mode needs fresh odometry on odom'
        distance = math.hypot(*target)
        if distance <= self.config.stop_distance + self.config.nav2_goal_tolerance:
            return self._finish(ActionState.REACHED, f'target reached ({distance:.2f} m from '
                                'the base)')
        pose = (odometry.x, odometry.y, odometry.yaw)
        standoff = odom_to_base(base_to_odom(target, pose), pose)  # the same point, checked
        scale = (distance - self.config.stop_distance) / distance
        goal = base_to_odom((standoff[0] * scale, standoff[1] * scale), pose)
        yaw = odometry.yaw + math.atan2(target[1], target[0])
        if self.goal is None or math.dist(self.goal[:2], goal) > self.config.goal_update_distance:
            self.goal = (goal[0], goal[1], math.remainder(yaw, math.tau))
        return ActionState.NAVIGATING, (0.0, 0.0), (
            f'Nav2 goal ({self.goal[0]:.2f}, {self.goal[1]:.2f}) in odom, {distance:.2f} m '
            'to the target')

    def _avoid_obstacles(self, state: ActionState, desired: tuple[float, float], reason: str,
                         now: float) -> tuple[ActionState, tuple[float, float], str]:
        """
        Apply the obstacle rules to a non-zero velocity.

        Stale obstacle data holds the robot. Approaching, it heads for the free direction
        nearest its stopping point, stop_distance short of the target
        (core.obstacles.choose_heading, a VFH+-style polar histogram over
        clearance_distance, within max_detour): straight at it when that is free. A way
        around keeps steering_margin more clearance where there is room, and once it passes
        an obstacle on one side it stays on that side for the rest of the step. Then the
        path check, Nav2 collision-monitor style, slows or stops any motion with an obstacle
        in the footprint's path, unless the robot stops at its goal before reaching it
        (so the target object itself, stop_distance away, never blocks its own approach).
        Stopped on the arc toward a free heading, it turns in place to face that heading.
        In a pocket it heads out; a step that does not move required_movement_radius while
        blocked or heading out for blocked_timeout fails (Nav2's progress checker).
        """
        config = self.obstacle_config
        if config.obstacle_source == 'none':
            return state, desired, reason
        stamp = self.obstacles.stamp
        source = check_source(None if stamp is None else age(now, stamp), config)
        if source.action == Action.STOP:
            return ActionState.HOLDING, (0.0, 0.0), source.reason
        points = self.obstacles.points(self._fresh_odometry(now))
        remaining = None  # how far an approach still goes before it stops (m)
        heading = None
        target = self._target_now(now) if self.task.intent in (Intent.APPROACH, Intent.PICK) \
            and state in (ActionState.APPROACHING, ActionState.TURNING) else None
        if target is not None:
            (x, y), distance = target[0], math.hypot(*target[0])
            remaining = max(0.0, distance - self.config.stop_distance)
            reach = remaining / max(distance, 1e-9)
            goal = (x * reach, y * reach)
            # Roomiest first: with steering_margin, then without, then free for a shorter
            # travel (in clutter no heading may be free for all of clearance_distance; every
            # command is path-checked and the heading chosen again on the next tick).
            heading = (choose_heading(points, goal, config, side=self.avoid_side,
                                      margin=config.steering_margin)
                       or choose_heading(points, goal, config, side=self.avoid_side)
                       or choose_heading(points, goal, config, side=self.avoid_side,
                                         clearance=config.clearance_distance
                                         * SHORT_CLEARANCE_RATIO))
            if heading is None:
                # In a pocket (nothing free within max_detour): head out along the free
                # heading nearest the target anywhere around, the blocked clock running on,
                # so a pocket with no way out still fails after blocked_timeout.
                why = f'no free heading within {math.degrees(config.max_detour):.0f} deg of ' \
                    'the target'
                blocked = self._blocked(why, now)
                escape = choose_heading(points, goal, config, max_detour=math.pi)
                if escape is None or blocked[0] == ActionState.FAILED:
                    return blocked
                return self._head_out(escape, points, why) or blocked
            if abs(heading.detour) > config.heading_resolution / 2:
                self.avoid_side = 1 if heading.detour > 0 else -1
                linear, angular, _ = approach_velocity(distance * math.cos(heading.bearing),
                                                       distance * math.sin(heading.bearing),
                                                       self.config)
                state = ActionState.APPROACHING if linear > 0 else ActionState.TURNING
                desired, reason = (linear, angular), (
                    f'going around an obstacle: heading {math.degrees(heading.detour):+.0f} '
                    'deg off the target')
        verdict = check_path(points, *desired, config)
        # An obstacle no nearer than where the approach stops (the target itself) is no
        # reason to stop or slow down: the robot stops at its goal before reaching it.
        before_goal = not (remaining is not None and verdict.nearest is not None and
                           verdict.nearest >= remaining)
        if verdict.action == Action.STOP and before_goal and desired[0] != 0.0 and \
                heading is not None:
            # The free heading is free along a straight line; the arc that turns onto it
            # may clip the obstacle. Then turn in place to face it first (a disc robot
            # sweeps only its footprint), rather than stand blocked with a way out.
            _, angular, aligned = face_velocity(math.cos(heading.bearing),
                                                math.sin(heading.bearing), self.config)
            if not aligned and check_path(points, 0.0, angular, config).action == Action.FREE:
                return ActionState.TURNING, (0.0, angular), (
                    f'turning to a free heading {math.degrees(heading.detour):+.0f} deg off '
                    f'the target: {verdict.reason}')
            straight = check_path(points, desired[0], 0.0, config)
            if aligned and straight.action != Action.STOP:
                # Facing it already: straight along it, as choose_heading checked it.
                desired, verdict = (desired[0], 0.0), straight
            elif aligned and abs(heading.bearing) > ALIGNED_EXACTLY:
                # Within face_tolerance, yet the hundredths of a radian left take the straight
                # line along the current yaw past an obstacle's edge (a tight gap): finish the
                # turn onto the heading, which choose_heading checked, slowly.
                finish = math.copysign(self.config.min_angular, heading.bearing)
                if check_path(points, 0.0, finish, config).action == Action.FREE:
                    return ActionState.TURNING, (0.0, finish), (
                        f'turning to a free heading {math.degrees(heading.detour):+.0f} deg '
                        f'off the target: {verdict.reason}')
        if verdict.action == Action.STOP and before_goal:
            return self._blocked(verdict.reason, now)
        self._check_progress(now, free=True)
        if verdict.action == Action.SLOW and before_goal:
            scale = verdict.scale
            return state, (desired[0] * scale, desired[1] * scale), (
                f'{reason}; slowing: {verdict.reason}')
        return state, desired, reason

    def _head_out(self, heading: Heading, points: np.ndarray, why: str
                  ) -> tuple[ActionState, tuple[float, float], str] | None:
        """
        Turn toward, then drive along, a free heading beyond max_detour: out of a pocket.

        Driving out is slowed down as the path check says; None when neither driving nor
        turning toward the heading passes the path check.
        """
        x, y = math.cos(heading.bearing), math.sin(heading.bearing)
        linear, angular, _ = approach_velocity(x, y, self.config)
        verdict = check_path(points, linear, angular, self.obstacle_config) if linear else None
        if verdict is None or verdict.action == Action.STOP:
            linear, angular, aligned = face_velocity(x, y, self.config)
            if aligned or check_path(points, 0.0, angular,
                                     self.obstacle_config).action != Action.FREE:
                return None
        elif verdict.action == Action.SLOW:
            linear, angular = linear * verdict.scale, angular * verdict.scale
        return (ActionState.TURNING if linear == 0.0 else ActionState.APPROACHING,
                (linear, angular), f'{why}: heading out {math.degrees(heading.detour):+.0f} '
                'deg off it')

    def _check_progress(self, now: float, free: bool) -> None:
        """
        Stop the blocked clock once the robot has made progress past the obstacles.

        Progress is Nav2's progress checker's: moving required_movement_radius since the
        clock started (on odometry). Turning in place, heading out without getting anywhere
        and searching are not progress: a robot that cycles between them fails after
        blocked_timeout instead of for ever. Without odometry, a ``free`` path counts.
        """
        if self.blocked_since is None:
            return
        pose = self._fresh_odometry(now)
        if pose is None or self.blocked_pose is None:
            if free:
                self.blocked_since = None
            return
        if math.hypot(pose.x - self.blocked_pose.x, pose.y - self.blocked_pose.y) >= \
                self.config.required_movement_radius:
            self.blocked_since = None

    def _blocked(self, why: str, now: float) -> tuple[ActionState, tuple, str]:
        self._check_progress(now, free=False)
        if self.blocked_since is None or now < self.blocked_since:
            self.blocked_since, self.blocked_pose = now, self._fresh_odometry(now)
        waited = now - self.blocked_since
        if waited > self.config.blocked_timeout:
            return self._finish(ActionState.FAILED, f'blocked for {waited:.0f} s: {why}')
        return ActionState.BLOCKED, (0.0, 0.0), f'blocked: {why}'

    def _search(self, now: float) -> tuple[ActionState, tuple[float, float], str]:
        """
        Turn in place toward where the target was last seen, up to search_turn.

        Then the step fails. Where it was seen is kept in odom: the side it is on now, after the
        robot has turned or driven around something, not the side it was on then. The turn is
        measured on odometry, or estimated from the turn rate when there is none.
        """
        config, message = self.config, self.perception_message or 'target lost'
        if not config.search_enabled:
            return ActionState.STOPPED, (0.0, 0.0), message
        odometry = self._fresh_odometry(now)
        if self.search_since is None:
            self.search_since, self.search_pose, self.turned = now, odometry, 0.0
            if odometry is not None and self.last_seen_odom is not None:
                _, side = odom_to_base(self.last_seen_odom,
                                       (odometry.x, odometry.y, odometry.yaw))
                if abs(side) > 1e-3:
                    self.last_seen_side = math.copysign(1.0, side)
        if self.search_pose is not None and odometry is not None:
            turned = abs(self.turned)
        else:
            turned = config.search_angular * (now - self.search_since)
        if turned >= config.search_turn:
            return self._finish(ActionState.FAILED, f'not found after turning '
                                f'{math.degrees(turned):.0f} deg: {message}')
        return ActionState.SEARCHING, (0.0, self.last_seen_side * config.search_angular), (
            f'searching ({math.degrees(turned):.0f}/{math.degrees(config.search_turn):.0f} '
            f'deg): {message}')
