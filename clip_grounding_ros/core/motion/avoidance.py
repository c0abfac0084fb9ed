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
Going around obstacles: the obstacle map, the way around, the blocked clock and progress.

:class:`ObstacleAvoidance` owns everything obstacle avoidance knows and remembers during a
step: the obstacle points in the odometry frame (:class:`.sensing.ObstacleMap`, fed by
:meth:`ObstacleAvoidance.on_depth` and :meth:`ObstacleAvoidance.on_scan`), the side a way
around passes on, and the blocked clock with the pose where it started. Each control tick
the controller hands it the velocity the task wants (:meth:`ObstacleAvoidance.apply`) and
sends what it returns:

- stale obstacle data holds the robot (:func:`.safety.check_obstacle_data`);
- approaching, it heads for the free direction nearest its stopping point, stop_distance
  short of the target (:func:`.obstacles.choose_heading`, a VFH+-style polar histogram over
  clearance_distance, within max_detour): straight at it when that is free. A way around
  keeps steering_margin more clearance where there is room, and once it passes an obstacle
  on one side it stays on that side for the rest of the step;
- then the path check (:func:`.obstacles.check_path`, Nav2 collision-monitor style) slows
  or stops any motion with an obstacle in the footprint's path, unless the robot stops at
  its goal before reaching it (so the target object itself, stop_distance away, never blocks
  its own approach). Stopped on the arc toward a free heading, it turns in place to face
  that heading;
- in a pocket (no free heading within max_detour) it heads out along the free heading
  nearest the target; a step that does not move required_movement_radius while blocked or
  heading out for blocked_timeout fails (Nav2's progress checker).

Frames: REP-103 base frame, points and goals in metres; times in seconds of ROS time.
"""

from __future__ import annotations

import math

import numpy as np

from .config import MotionConfig
from .obstacles import check_path, choose_heading, Heading, ObstacleConfig, ObstacleSource
from .safety import Action, check_obstacle_data
from .sensing import depth_view, ObstacleMap, points_from_depth, points_from_scan, scan_view
from .velocity import approach_velocity, Decision, face_velocity
from ..contract.status import ActionState
from ..contract.timing import age
from ..world.camera import CameraMount, Intrinsics
from ..world.frames import Pose

# Where no heading is free for clearance_distance, one free for this share of it is taken
# before the robot counts as in a pocket (half: still over twice the stop zone at full speed).
SHORT_CLEARANCE_RATIO = 0.5
ALIGNED_EXACTLY = 1e-3  # rad: facing a heading closer than this is facing it


class ObstacleAvoidance:
    """
    The obstacle rules applied to each velocity, with what they remember (module notes).

    :meth:`apply` returns a FAILED state when the step has been blocked too long: the
    controller ends the step with its reason.
    """

    def __init__(self, config: ObstacleConfig, motion: MotionConfig):
        self.config, self.motion = config, motion
        self.map = ObstacleMap()
        self.side = 0                        # the side a way around passes on (+1 left)
        self.blocked_since: float | None = None
        self.blocked_pose: Pose | None = None  # where the blocked clock (re)started

    def configure(self, config: ObstacleConfig, motion: MotionConfig) -> None:
        self.config, self.motion = config, motion

    def uses(self, source: ObstacleSource) -> bool:
        """Whether readings of ``source`` are the obstacle data the robot needs to move."""
        return self.config.obstacle_source == source

    def new_step(self) -> None:
        """Forget the side and the blocked clock: a new step starts afresh."""
        self.side, self.blocked_since, self.blocked_pose = 0, None, None

    def clear(self) -> None:
        """Forget everything, the obstacle map included: the clock went back."""
        self.map.clear()
        self.new_step()

    # -- sensing ---------------------------------------------------------------------------
    def on_depth(self, depth_m: np.ndarray, intrinsics: Intrinsics, mount: CameraMount,
                 stamp: float, pose: Pose | None) -> None:
        """
        Take in a registered depth image (metres, see :func:`.sensing.points_from_depth`).

        Taken at ``stamp`` (s) by the camera at ``mount``, from ``pose`` (odometry at that
        time, None without).
        """
        config = self.config
        points = points_from_depth(depth_m, intrinsics, mount, config.depth_stride,
                                   config.obstacle_min_height, config.obstacle_max_height)
        view = depth_view(intrinsics, mount, config.clearance_distance + config.inflated_radius)
        self.map.add(points, stamp, pose, config.obstacle_memory, view)

    def on_scan(self, ranges: np.ndarray, angle_min: float, angle_max: float,
                angle_increment: float, range_min: float, range_max: float, stamp: float,
                pose: Pose | None) -> None:
        """Take in a LaserScan's readings (REP-117), from the scanner at ``scan_pose``."""
        sensor_pose = self.config.scan_pose
        points = points_from_scan(ranges, angle_min, angle_increment, range_min, range_max,
                                  sensor_pose)
        view = scan_view(angle_min, angle_max, range_min, range_max, sensor_pose)
        self.map.add(points, stamp, pose, self.config.obstacle_memory, view)

    def on_points(self, points: np.ndarray, stamp: float, pose: Pose | None,
                  view=None) -> None:
        """Take in (N, 2) base-frame obstacle points of a reading (see ObstacleMap.add)."""
        self.map.add(points, stamp, pose, self.config.obstacle_memory, view)

    # -- deciding --------------------------------------------------------------------------
    def apply(self, decision: Decision, now: float, odometry: Pose | None,
              target: tuple[float, float] | None,
              stop_distance: float | None = None) -> Decision:
        """
        Return the state, velocity and reason the obstacles allow for ``decision``.

        ``decision`` holds a non-zero velocity; ``target`` is the approach's target in the
        base frame now (None when the step does not drive to one), where it stops
        ``stop_distance`` short (m; None: the configured one); ``odometry`` the fresh pose,
        None without.
        """
        stop = self.motion.stop_distance if stop_distance is None else stop_distance
        state, desired, reason = decision
        config = self.config
        if config.obstacle_source == ObstacleSource.NONE:
            return decision
        stamp = self.map.stamp
        source = check_obstacle_data(None if stamp is None else age(now, stamp),
                                     str(config.obstacle_source), config.obstacle_timeout)
        if source.stops:
            return ActionState.HOLDING, (0.0, 0.0), source.reason
        points = self.map.points(odometry)
        remaining = None  # how far an approach still goes before it stops (m)
        heading = None
        if target is not None:
            (x, y), distance = target, math.hypot(*target)
            remaining = max(0.0, distance - stop)
            reach = remaining / max(distance, 1e-9)
            goal = (x * reach, y * reach)
            # Roomiest first: with steering_margin, then without, then free for a shorter
            # travel (in clutter no heading may be free for all of clearance_distance; every
            # command is path-checked and the heading chosen again on the next tick).
            heading = (choose_heading(points, goal, config, side=self.side,
                                      margin=config.steering_margin)
                       or choose_heading(points, goal, config, side=self.side)
                       or choose_heading(points, goal, config, side=self.side,
                                         clearance=config.clearance_distance
                                         * SHORT_CLEARANCE_RATIO))
            if heading is None:
                # In a pocket (nothing free within max_detour): head out along the free
                # heading nearest the target anywhere around, the blocked clock running on,
                # so a pocket with no way out still fails after blocked_timeout.
                why = f'no free heading within {math.degrees(config.max_detour):.0f} deg of ' \
                    'the target'
                blocked = self._blocked(why, now, odometry)
                escape = choose_heading(points, goal, config, max_detour=math.pi)
                if escape is None or blocked[0] == ActionState.FAILED:
                    return blocked
                return self._head_out(escape, points, why) or blocked
            if abs(heading.detour) > config.heading_resolution / 2:
                self.side = 1 if heading.detour > 0 else -1
                linear, angular, _ = approach_velocity(distance * math.cos(heading.bearing),
                                                       distance * math.sin(heading.bearing),
                                                       self.motion, stop)
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
                                                math.sin(heading.bearing), self.motion)
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
                finish = math.copysign(self.motion.min_angular, heading.bearing)
                if check_path(points, 0.0, finish, config).action == Action.FREE:
                    return ActionState.TURNING, (0.0, finish), (
                        f'turning to a free heading {math.degrees(heading.detour):+.0f} deg '
                        f'off the target: {verdict.reason}')
        if verdict.action == Action.STOP and before_goal:
            return self._blocked(verdict.reason, now, odometry)
        self.check_progress(odometry, free=True)
        if verdict.action == Action.SLOW and before_goal:
            scale = verdict.scale
            return state, (desired[0] * scale, desired[1] * scale), (
                f'{reason}; slowing: {verdict.reason}')
        return state, desired, reason

    def nearest_other(self, target: tuple[float, float], odometry: Pose | None,
                      extent: float) -> float | None:
        """
        Return how far (m) the nearest obstacle point not of the target is from the base.

        Points within ``extent`` of the target point (base frame) are the target's own. None
        when no other point is known.
        """
        points = self.map.points(odometry)
        if not len(points):
            return None
        others = points[np.hypot(*(points - np.asarray(target)).T) > extent]
        return float(np.hypot(*others.T).min()) if len(others) else None

    def _head_out(self, heading: Heading, points: np.ndarray, why: str) -> Decision | None:
        """
        Turn toward, then drive along, a free heading beyond max_detour: out of a pocket.

        Driving out is slowed down as the path check says; None when neither driving nor
        turning toward the heading passes the path check.
        """
        x, y = math.cos(heading.bearing), math.sin(heading.bearing)
        linear, angular, _ = approach_velocity(x, y, self.motion)
        verdict = check_path(points, linear, angular, self.config) if linear else None
        if verdict is None or verdict.action == Action.STOP:
            linear, angular, aligned = face_velocity(x, y, self.motion)
            if aligned or check_path(points, 0.0, angular,
                                     self.config).action != Action.FREE:
                return None
        elif verdict.action == Action.SLOW:
            linear, angular = linear * verdict.scale, angular * verdict.scale
        return (ActionState.TURNING if linear == 0.0 else ActionState.APPROACHING,
                (linear, angular), f'{why}: heading out {math.degrees(heading.detour):+.0f} '
                'deg off it')

    def check_progress(self, odometry: Pose | None, free: bool) -> None:
        """
        Stop the blocked clock once the robot has made progress past the obstacles.

        Progress is Nav2's progress checker's: moving required_movement_radius since the
        clock started (on odometry). Turning in place, heading out without getting anywhere
        and searching are not progress: a robot that cycles between them fails after
        blocked_timeout instead of for ever. Without odometry, a ``free`` path counts.
        """
        if self.blocked_since is None:
            return
        if odometry is None or self.blocked_pose is None:
            if free:
                self.blocked_since = None
            return
        if math.hypot(odometry.x - self.blocked_pose.x, odometry.y - self.blocked_pose.y) >= \
                self.motion.required_movement_radius:
            self.blocked_since = None

    def _blocked(self, why: str, now: float, odometry: Pose | None) -> Decision:
        self.check_progress(odometry, free=False)
        if self.blocked_since is None or now < self.blocked_since:
            self.blocked_since, self.blocked_pose = now, odometry
        waited = now - self.blocked_since
        if waited > self.motion.blocked_timeout:
            return ActionState.FAILED, (0.0, 0.0), f'blocked for {waited:.0f} s: {why}'
        return ActionState.BLOCKED, (0.0, 0.0), f'blocked: {why}'
