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
- in a pocket (no free heading within max_detour) it follows the path planned to its
  stopping point over the obstacle map (:func:`.planner.plan_path`), for the rest of the
  step: the way it came in is a way out, and steering at the target again would lead back
  in. Where no path is found in the planned area it heads out along the free heading
  nearest the target anywhere around; where that, or the path's heading, can be neither
  driven nor turned to, it reverses along the way it came (driven, so known free),
  path-checked behind it;
- a blocked step must make progress: its planned path to the stopping point (the distance
  moved, for a step without a target) shortened by required_movement_radius within
  blocked_timeout, or it fails (Nav2's progress checker). Progress toward the goal, not
  movement, so heading out and driving back in cannot go on for ever.

Frames: REP-103 base frame, points and goals in metres; times in seconds of ROS time.
"""

from __future__ import annotations

from collections import deque
import math

import numpy as np

from .config import MotionConfig
from .obstacles import check_path, choose_heading, Heading, ObstacleConfig, ObstacleSource
from .planner import plan_path, PlannedPath
from .safety import Action, check_obstacle_data
from .sensing import depth_view, ObstacleMap, points_from_depth, points_from_scan, scan_view
from .velocity import approach_velocity, Decision, face_velocity
from ..contract.status import ActionState
from ..contract.timing import age
from ..world.camera import CameraMount, Intrinsics
from ..world.frames import odom_to_base, Pose

# Where no heading is free for clearance_distance, one free for this share of it is taken
# before the robot counts as in a pocket (half: still over twice the stop zone at full speed).
SHORT_CLEARANCE_RATIO = 0.5
ALIGNED_EXACTLY = 1e-3  # rad: facing a heading closer than this is facing it
TRAIL_SPACING = 0.1     # m between the remembered positions of the way the robot came
TRAIL_LENGTH = 100      # positions remembered (10 m of way)
REVERSE_TO = 0.3        # m: reversing aims at the way it came this far back
REVERSE_SPEED = 0.5     # of max_linear


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
        self.blocked_to_go: float | None = None  # the way to the goal then (m), if any
        self.planning = False                # since a pocket, the step follows planned paths
        self.trail: deque[tuple[float, float]] = deque(maxlen=TRAIL_LENGTH)  # odom (m)

    def configure(self, config: ObstacleConfig, motion: MotionConfig) -> None:
        self.config, self.motion = config, motion

    def uses(self, source: ObstacleSource) -> bool:
        """Whether readings of ``source`` are the obstacle data the robot needs to move."""
        return self.config.obstacle_source == source

    def new_step(self) -> None:
        """Forget the side, the blocked clock, the planning and the way: a new step."""
        self.side, self.blocked_since, self.blocked_pose = 0, None, None
        self.blocked_to_go, self.planning = None, False
        self.trail.clear()

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
        self._extend_trail(odometry)
        remaining = None  # how far an approach still goes before it stops (m)
        heading = None
        planned = None    # the path planned to the goal, when the step follows one
        if target is not None:
            (x, y), distance = target, math.hypot(*target)
            remaining = max(0.0, distance - stop)
            reach = remaining / max(distance, 1e-9)
            goal = (x * reach, y * reach)
            # Roomiest first: with steering_margin, then without, then free for a shorter
            # travel (in clutter no heading may be free for all of clearance_distance; every
            # command is path-checked and the heading chosen again on the next tick).
            if not self.planning:
                heading = (choose_heading(points, goal, config, side=self.side,
                                          margin=config.steering_margin)
                           or choose_heading(points, goal, config, side=self.side)
                           or choose_heading(points, goal, config, side=self.side,
                                             clearance=config.clearance_distance
                                             * SHORT_CLEARANCE_RATIO))
            if heading is None:
                # In a pocket (nothing free within max_detour), or out of one this step.
                why = 'out of a pocket' if self.planning else \
                    f'no free heading within {math.degrees(config.max_detour):.0f} deg of ' \
                    'the target'
                planned = plan_path(points, goal, config)
                if planned is None:
                    why += ' and no path to the target planned'
                # The blocked clock runs from the pocket on: the planned way must shorten
                # by required_movement_radius in each blocked_timeout (check_progress).
                self.planning = True
                blocked = self._blocked(why, now, odometry, _length(planned))
                if blocked[0] == ActionState.FAILED:
                    return blocked
                if planned is None:
                    # The free heading nearest the target anywhere around, else back the way
                    # it came.
                    escape = choose_heading(points, goal, config, max_detour=math.pi)
                    return (escape and self._head_out(escape, points, why)) or \
                        self._reverse(points, odometry, why) or blocked
                bearing = math.atan2(planned.aim[1], planned.aim[0])
                heading = Heading(bearing, math.remainder(bearing - math.atan2(y, x), math.tau),
                                  math.hypot(*planned.aim))
                reason = f'{why}: following a planned path, {planned.length:.1f} m to go'
            if abs(heading.detour) > config.heading_resolution / 2:
                self.side = 1 if heading.detour > 0 else -1
                linear, angular, _ = approach_velocity(distance * math.cos(heading.bearing),
                                                       distance * math.sin(heading.bearing),
                                                       self.motion, stop)
                state = ActionState.APPROACHING if linear > 0 else ActionState.TURNING
                desired = (linear, angular)
                if planned is None:
                    reason = (f'going around an obstacle: heading '
                              f'{math.degrees(heading.detour):+.0f} deg off the target')
        verdict = check_path(points, *desired, config)
        if remaining is not None and planned is None and \
                (self.blocked_since is not None or verdict.action == Action.STOP):
            planned = plan_path(points, goal, config)  # the progress measure only
        to_go = _length(planned)
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
            blocked = self._blocked(verdict.reason, now, odometry, to_go)
            if self.planning and blocked[0] != ActionState.FAILED:
                return self._reverse(points, odometry, f'blocked: {verdict.reason}') or blocked
            return blocked
        self.check_progress(odometry, free=True, to_go=to_go)
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

    def _extend_trail(self, odometry: Pose | None) -> None:
        """Remember the way the robot came (odom frame), every TRAIL_SPACING."""
        if odometry is None:
            return
        here = (odometry.x, odometry.y)
        if not self.trail or math.dist(self.trail[-1], here) >= TRAIL_SPACING:
            self.trail.append(here)

    def _reverse(self, points: np.ndarray, odometry: Pose | None, why: str) -> Decision | None:
        """
        Back up along the way the robot came, path-checked behind it; None where it cannot.

        The way it came was driven, so it is known free; the remembered obstacle points are
        checked too (the camera sees nothing behind). Aims at the remembered position
        REVERSE_TO back; positions reached or ahead of the base are used up.
        """
        if odometry is None:
            return None
        here = (odometry.x, odometry.y)
        while self.trail and (math.dist(self.trail[-1], here) < REVERSE_TO or
                              odom_to_base(self.trail[-1], odometry.xy_yaw)[0] >= 0.0):
            self.trail.pop()
        if not self.trail:
            return None
        x, y = odom_to_base(self.trail[-1], odometry.xy_yaw)
        # Backing up, the rear leads: turn it toward the way back (bearing pi straight behind).
        error = math.remainder(math.atan2(y, x) - math.pi, math.tau)
        limit = self.motion.max_angular
        angular = max(-limit, min(limit, self.motion.k_angular * error))
        linear = -REVERSE_SPEED * self.motion.max_linear
        verdict = check_path(points, linear, angular, self.config)
        if verdict.action == Action.STOP:
            return None
        scale = verdict.scale if verdict.action == Action.SLOW else 1.0
        return ActionState.APPROACHING, (linear * scale, angular * scale), (
            f'{why}: reversing along the way it came')

    def check_progress(self, odometry: Pose | None, free: bool,
                       to_go: float | None = None) -> None:
        """
        Stop the blocked clock once the robot has made progress toward its goal.

        Progress is Nav2's progress checker's, toward the goal: the planned way to the goal
        (``to_go``, m) required_movement_radius shorter than when the clock started; for a
        step without a planned way, moving required_movement_radius (on odometry). Turning
        in place, heading out and driving back in, and searching are not progress: a robot
        that cycles between them fails after blocked_timeout instead of for ever. Without
        odometry, a ``free`` path counts.
        """
        if self.blocked_since is None:
            return
        needed = self.motion.required_movement_radius
        if to_go is not None and self.blocked_to_go is not None:
            if to_go <= self.blocked_to_go - needed:
                self.blocked_since = None
            return
        if odometry is None or self.blocked_pose is None:
            if free:
                self.blocked_since = None
            return
        if math.hypot(odometry.x - self.blocked_pose.x, odometry.y - self.blocked_pose.y) >= \
                needed:
            self.blocked_since = None

    def _blocked(self, why: str, now: float, odometry: Pose | None,
                 to_go: float | None = None) -> Decision:
        self.check_progress(odometry, free=False, to_go=to_go)
        if self.blocked_since is None or now < self.blocked_since:
            self.blocked_since, self.blocked_pose, self.blocked_to_go = now, odometry, to_go
        waited = now - self.blocked_since
        if waited > self.motion.blocked_timeout:
            return ActionState.FAILED, (0.0, 0.0), f'blocked for {waited:.0f} s: {why}'
        return ActionState.BLOCKED, (0.0, 0.0), f'blocked: {why}'


def _length(path: PlannedPath | None) -> float | None:
    return None if path is None else path.length
