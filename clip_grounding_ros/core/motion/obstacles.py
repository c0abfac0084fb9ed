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
Obstacle geometry for the visual servo: the footprint, a path check, a way around.

Two checks on obstacle points (from :mod:`.sensing`), plain numpy and fast enough to run at
camera rate on a CPU:

1. A safety verdict for the velocity about to be sent (:func:`check_path`), in the manner of
   Nav2's collision monitor (stop and slowdown zones, the most restrictive wins; see
   https://docs.nav2.org/configuration/packages/configuring-collision-monitor.html), except
   that the zones are not fixed polygons but the footprint's swept path for the current
   command, as long as the stopping distance at its speed.
2. A way around: the free heading nearest the goal bearing when the straight way to the
   goal is blocked (:func:`choose_heading`, a polar histogram in the manner of VFH+).

The footprint is a disc of radius ``robot_radius`` inflated by ``safety_margin``: throughout,
"free travel" is how far the robot can move before its body comes within ``safety_margin``
of an obstacle point. Point sets are ``(N, 2)`` float arrays of (x, y) in the base frame;
rows that are not finite are ignored (an invalid reading places nothing). Wrong shapes and
non-finite velocities or goals raise ValueError. The obstacle parameters
(:class:`ObstacleConfig`) are all here, sensing's included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
import math

import numpy as np

from .safety import Action, Verdict
from ..contract.parameters import setting, Settings

# An arc whose sagitta over the checked length is below this (m) is checked as a straight
# band: the two regions then differ by less than a millimetre.
STRAIGHT_TOLERANCE = 1e-3


class ObstacleSource(str, Enum):
    """Where the obstacle points come from."""

    DEPTH = 'depth'  # a registered depth image (camera/depth/image_raw) and its camera_info
    SCAN = 'scan'    # a sensor_msgs/LaserScan
    NONE = 'none'    # no obstacle checks

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ObstacleConfig(Settings):
    """Footprint, safety zones and steering: obstacle-avoidance parameters."""

    robot_radius: float = setting(0.2, 'Radius of the circle around the robot footprint (m)',
                                  minimum=0.01, maximum=5.0)
    safety_margin: float = setting(0.1, 'Keep the footprint at least this far from obstacle '
                                   'points (m); closer already, the robot may still turn in '
                                   'place and move in ways that keep its body off them',
                                   minimum=0.0, maximum=2.0)
    obstacle_min_height: float = setting(0.05, 'Points lower than this above the floor (m) '
                                         'are floor, not obstacles', minimum=0.0, maximum=5.0)
    obstacle_max_height: float = setting(0.5, 'Points higher than this above the floor (m) '
                                         'pass over the robot', minimum=0.01, maximum=10.0)
    depth_stride: int = setting(4, 'Use every n-th depth pixel in each direction (1: all)',
                                minimum=1, maximum=64)
    deceleration: float = setting(0.8, 'Braking deceleration assumed for the stopping '
                                  'distance (m/s^2)', minimum=0.01, maximum=100.0)
    reaction_time: float = setting(0.2, 'Time (s) the robot keeps its speed before braking '
                                   '(sensor and control latency)', minimum=0.0, maximum=5.0)
    min_check_distance: float = setting(0.1, 'Shortest stop zone ahead of the footprint (m), '
                                        'whatever the speed', minimum=0.0, maximum=10.0)
    slowdown_distance: float = setting(0.5, 'Length of the slowdown zone beyond the stop zone '
                                       '(m); 0 disables slowing down', minimum=0.0,
                                       maximum=10.0)
    slowdown_ratio: float = setting(0.5, 'Speed factor while an obstacle is in the slowdown '
                                    'zone', minimum=0.01, maximum=1.0)
    obstacle_source: ObstacleSource = setting(
        ObstacleSource.DEPTH, "Obstacle data the robot needs to move: 'depth' "
        "(camera/depth/image_raw), 'scan' (a LaserScan) or 'none' (no obstacle checks)")
    obstacle_timeout: float = setting(0.5, 'Obstacle data older than this (s, ROS time) stops '
                                      'the robot', minimum=0.01, maximum=60.0)
    clearance_distance: float = setting(1.0, 'A heading is free when the footprint can travel '
                                        'this far along it (m), or to the goal',
                                        minimum=0.01, maximum=20.0)
    heading_resolution: float = setting(0.05, 'Angle between the candidate headings (rad)',
                                        minimum=0.005, maximum=0.5)
    max_detour: float = setting(1.2, 'Largest angle (rad) between a chosen heading and the '
                                'goal bearing. Wider than half the camera field of view '
                                'is fine: the robot turns towards such a heading, and so '
                                'sees it, before it drives', minimum=0.0, maximum=3.1416)
    steering_margin: float = setting(0.1, 'Extra clearance (m) beyond safety_margin that a way '
                                     'around keeps where there is room, so the path check '
                                     'does not slow or stop the robot on it', minimum=0.0,
                                     maximum=2.0)
    obstacle_memory: float = setting(20.0, 'Obstacle points that left the sensor view are '
                                     'kept this long (s), in the odom frame (in view, each '
                                     'reading replaces them)', minimum=0.0, maximum=300.0)

    scan_x: float = setting(0.0, 'LaserScan sensor position, metres ahead of the base origin '
                            "(obstacle_source 'scan')", minimum=-10.0, maximum=10.0)
    scan_y: float = setting(0.0, 'LaserScan sensor position, metres left of the base origin',
                            minimum=-10.0, maximum=10.0)
    scan_yaw_deg: float = setting(0.0, 'LaserScan sensor yaw, degrees left of the base x axis',
                                  minimum=-180.0, maximum=180.0)

    def problems(self) -> list[str]:
        """Return what is wrong with the values, the rules between them included."""
        problems = super().problems()
        if not problems and self.obstacle_min_height >= self.obstacle_max_height:
            problems.append(f'obstacle_min_height {self.obstacle_min_height} must be below '
                            f'obstacle_max_height {self.obstacle_max_height}')
        return problems

    @property
    def scan_pose(self) -> tuple[float, float, float]:
        """Return the LaserScan sensor's (x, y, yaw) on the base (m, rad)."""
        return self.scan_x, self.scan_y, math.radians(self.scan_yaw_deg)

    @property
    def inflated_radius(self) -> float:
        """Footprint radius plus the safety margin (m)."""
        return self.robot_radius + self.safety_margin

    def stopping_distance(self, linear: float) -> float:
        """
        Return the length (m) of the stop zone at forward speed ``linear`` (m/s).

        The distance covered during ``reaction_time`` plus the braking distance v^2 / (2
        deceleration), at least ``min_check_distance``. The safety margin comes on top (the
        footprint is inflated).
        """
        speed = abs(linear)
        braking = speed * self.reaction_time + speed * speed / (2.0 * self.deceleration)
        return max(self.min_check_distance, braking)


def usable_points(points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """
    Return ``points`` as a finite (N, 2) float array: rows not finite dropped.

    ValueError for an array not of shape (N, 2).
    """
    array = np.asarray(points, dtype=np.float64)
    if array.size == 0:
        return np.empty((0, 2))
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f'points must be an (N, 2) array of (x, y), got shape {array.shape}')
    return array[np.isfinite(array).all(axis=1)]


# -- path check ----------------------------------------------------------------------------

def _travel_straight(points: np.ndarray, direction: float, radius: float) -> np.ndarray:
    """
    Return the free travel (N,) of a disc moving straight along x before each point.

    A disc of ``radius`` at the origin moving along +x (direction 1) or -x (-1), before it touches
    each point; inf for points it never touches.
    """
    along = direction * points[:, 0]
    lateral_sq = points[:, 1] ** 2
    in_band = (lateral_sq <= radius * radius) & (along > 0)
    reach = np.sqrt(np.maximum(radius * radius - lateral_sq, 0.0))
    return np.where(in_band, np.maximum(along - reach, 0.0), np.inf)


def _travel_on_arc(points: np.ndarray, linear: float, angular: float,
                   radius: float) -> np.ndarray:
    """
    Return the free travel (N,) of a disc moving on an arc before each point.

    Along the arc of constant (linear, angular) of a disc of ``radius`` at the origin, before it
    touches each point; inf for points it never touches.

    The disc centre moves on the circle of radius |rho|, rho = linear / angular, around
    (0, rho). A point at distance d from that centre is touched when the angle between it
    and the disc centre, seen from there, is at most alpha with
    cos(alpha) = (rho^2 + d^2 - radius^2) / (2 |rho| d): first after turning psi - alpha,
    psi being the point's angle ahead of the robot in the direction of motion.
    """
    rho = linear / angular
    turn = math.copysign(1.0, angular)
    dx, dy = points[:, 0], points[:, 1] - rho
    distance = np.hypot(dx, dy)
    start = math.atan2(-rho, 0.0)  # the robot's angle around the centre
    psi = np.mod(turn * (np.arctan2(dy, dx) - start) + math.pi, 2.0 * math.pi) - math.pi
    in_band = np.abs(distance - abs(rho)) <= radius
    with np.errstate(divide='ignore', invalid='ignore'):
        cos_alpha = (rho * rho + distance * distance - radius * radius) / (
            2.0 * abs(rho) * distance)
    cos_alpha = np.clip(np.nan_to_num(cos_alpha, nan=-1.0), -1.0, 1.0)
    alpha = np.arccos(cos_alpha)
    # Inside the footprint now: contact already when the point is not receding (ahead, or
    # where the footprint covers it along the whole circle).
    touching = (np.abs(psi) <= alpha) & ((psi > 0) | (cos_alpha <= -1.0))
    later = abs(rho) * np.mod(psi - alpha, 2.0 * math.pi)
    return np.where(in_band, np.where(touching, 0.0, later), np.inf)


def _travel(points: np.ndarray, linear: float, angular: float, radius: float,
            length: float) -> np.ndarray:
    """
    Return the free travel (N,) of a disc of ``radius`` before each point on a command's path.

    The arc of (``linear``, ``angular``), or a straight line where the arc's sagitta over
    ``length`` is below STRAIGHT_TOLERANCE.
    """
    if abs(angular) * length ** 2 / (2.0 * abs(linear)) < STRAIGHT_TOLERANCE:
        return _travel_straight(points, math.copysign(1.0, linear), radius)
    return _travel_on_arc(points, linear, angular, radius)


def check_path(points: np.ndarray | Sequence[Sequence[float]], linear: float, angular: float,
               config: ObstacleConfig) -> Verdict:
    """
    Safety verdict for driving at (``linear`` m/s, ``angular`` rad/s) among ``points``.

    ``points``: (N, 2) obstacle points (x, y) in the base frame (m). Pass the command about to
    be sent, before any scaling, so the zones do not shrink with the slowdown they cause.

    Moving (``linear`` != 0): the inflated footprint (radius ``robot_radius +
    safety_margin``) is swept along the path of the command, a straight band of width
    2 (robot_radius + safety_margin) or, when turning, the arc (a band whose sagitta over the
    checked length is below STRAIGHT_TOLERANCE is taken as straight). STOP when a point is
    reached within the stopping distance (:meth:`ObstacleConfig.stopping_distance`), SLOW
    (scale ``slowdown_ratio``) within ``slowdown_distance`` beyond it, else FREE. Reversing
    is checked the same way behind the robot, where a forward camera sees nothing.

    Points already inside the safety margin (closer than ``robot_radius + safety_margin``,
    as a robot that brushed past an obstacle can end up) are swept with the bare footprint
    instead: a motion that keeps the body off them is allowed, so the robot can move away
    rather than stay blocked for good by the margin it already broke.

    Turning in place (``linear`` == 0): a disc robot sweeps only its own footprint and comes
    no closer to anything, so STOP only when a point lies within the body (``robot_radius``;
    normally none: the body hides that close range from the camera), else FREE.

    ValueError for non-finite velocities or points not of shape (N, 2).
    """
    if not (math.isfinite(linear) and math.isfinite(angular)):
        raise ValueError(f'velocity ({linear}, {angular}) must be finite')
    usable = usable_points(points)
    radius, body = config.inflated_radius, config.robot_radius
    distance_sq = np.einsum('ij,ij->i', usable, usable)
    if linear == 0.0:
        if np.any(distance_sq <= body * body):
            return Verdict(Action.STOP, 0.0, f'obstacle within the base footprint ({body:.2f} '
                           'm) while turning in place', 0.0)
        return Verdict(Action.FREE, 1.0, 'footprint clear for turning in place')
    stop_length = config.stopping_distance(linear)
    checked_length = stop_length + config.slowdown_distance
    inside = distance_sq <= radius * radius  # within the safety margin already
    travel = np.concatenate([_travel(usable[~inside], linear, angular, radius, checked_length),
                             _travel(usable[inside], linear, angular, body, checked_length)])
    nearest = float(travel.min()) if travel.size else math.inf
    if nearest <= stop_length:
        return Verdict(Action.STOP, 0.0, f'obstacle {nearest:.2f} m ahead in the path '
                       f'(stop zone {stop_length:.2f} m)', nearest)
    if nearest <= checked_length:
        return Verdict(Action.SLOW, config.slowdown_ratio, f'obstacle {nearest:.2f} m ahead '
                       f'in the path: slowing to {config.slowdown_ratio:.0%}', nearest)
    return Verdict(Action.FREE, 1.0, 'path clear')


# -- steering around obstacles ---------------------------------------------------------------

@dataclass(frozen=True)
class Heading:
    """
    A free direction of travel in the base frame.

    ``bearing`` (rad, counter-clockwise from x, in (-pi, pi]); ``detour`` (rad) is bearing
    minus the goal bearing (0: straight at the goal); ``free_distance`` (m) is how far the
    footprint can travel along it before coming within ``safety_margin`` of a point, inf
    when it can travel at least ``clearance_distance``.
    """

    bearing: float
    detour: float
    free_distance: float


def _blocked_half_width(distance: np.ndarray, radius: float, length: float) -> np.ndarray:
    """
    Return the half-width (rad) of the blocked headings around each point's bearing.

    The headings, around the bearing of each point at ``distance`` (m), along which a disc of
    ``radius`` travelling ``length`` > 0 in a straight line from the origin comes closer than
    ``radius`` to it.

    The distance from a point to the swept segment grows with the angle between them, so
    the blocked headings form one interval: up to the tangent angle arcsin(radius / d)
    (VFH+'s enlargement angle) while the tangent point lies within the travel
    (d^2 - radius^2 <= length^2), else up to where the disc at the end of the travel
    touches the point. Points inside the disc now block the half-plane ahead of them.
    """
    d = np.maximum(distance, radius)  # the same values where used; avoids dividing by 0
    tangent = np.arcsin(radius / d)
    end = np.arccos(np.clip((d * d + length * length - radius * radius) / (2.0 * d * length),
                            -1.0, 1.0))
    half = np.where(d * d - radius * radius <= length * length, tangent, end)
    return np.where(distance <= radius, math.pi / 2.0, half)


def choose_heading(points: np.ndarray | Sequence[Sequence[float]], goal: tuple[float, float],
                   config: ObstacleConfig, max_detour: float | None = None,
                   side: int = 0,
                   margin: float = 0.0, clearance: float | None = None) -> Heading | None:
    """
    Return the free heading nearest the bearing of ``goal``, or None when there is none.

    Method: a binary polar histogram as in VFH+ (I. Ulrich, J. Borenstein, "VFH+: Reliable
    Obstacle Avoidance for Fast Mobile Robots", ICRA 1998). Candidate headings lie every
    ``heading_resolution`` rad within ``max_detour`` of the goal bearing
    (``config.max_detour`` when None, at most pi). Each obstacle point blocks the interval
    of headings around its bearing along which the footprint inflated by
    ``safety_margin`` would reach it within the needed travel: ``clearance_distance``, or
    the distance to the goal when that is shorter. The interval is VFH+'s enlargement
    angle arcsin((robot_radius + safety_margin) / d), narrowed for points the travel does
    not reach past (see :func:`_blocked_half_width`); unlike VFH+'s certainty grid it is
    exact for every point, so a chosen heading never passes a point closer than
    ``robot_radius + safety_margin + margin`` within the needed travel (``clearance`` instead
    of ``clearance_distance`` when given: a shorter one finds a way through clutter where no
    heading is free that far). Of the unblocked
    candidates the one with the smallest detour is chosen (VFH+'s cost with only its target
    term); on a tie, the one with the longer free travel, then the left one. ``side``
    commits to one side of the goal bearing, as VFH+'s term against changing direction
    does: with +1 (left) or -1 (right) only the straight heading and those on that side are
    taken while one of them is free, so that a robot passing an obstacle on one side does
    not swing over to the other halfway. Cost: sorting the intervals, O((N + K) log N) for
    N points and K candidates.

    ``points``: (N, 2) obstacle points (x, y), ``goal``: (x, y), both in the base frame (m).
    Directions the sensor does not see (and has not seen within obstacle_memory)
    look free: turn to face a heading before driving along it, and check every command with
    :func:`check_path`. ValueError for a goal, max_detour or margin that is not finite (or
    a negative margin), a clearance that is not positive, a side not in (-1, 0, 1), or points
    not of shape (N, 2).
    """
    if max_detour is None:
        max_detour = config.max_detour
    if clearance is not None and not (math.isfinite(clearance) and clearance > 0):
        raise ValueError(f'clearance {clearance} must be a positive distance (m)')
    if len(goal) != 2 or not all(math.isfinite(v) for v in (*goal, max_detour, margin)):
        raise ValueError(f'goal {goal}, max_detour {max_detour} and margin {margin} must be '
                         'finite')
    if margin < 0 or side not in (-1, 0, 1):
        raise ValueError(f'margin {margin} must be >= 0 and side {side} one of -1, 0, 1')
    usable = usable_points(points)
    radius = config.inflated_radius + margin
    clearance = config.clearance_distance if clearance is None else clearance
    needed = min(clearance, math.hypot(*goal))
    goal_bearing = math.atan2(goal[1], goal[0])
    distance = np.hypot(usable[:, 0], usable[:, 1])
    # Farther points cannot be reached within the needed travel (none when it is 0).
    near = (distance < needed + radius) & (needed > 0.0)
    half = _blocked_half_width(distance[near], radius, needed)
    relative = np.arctan2(usable[near, 1], usable[near, 0]) - goal_bearing
    centre = np.mod(relative + math.pi, 2.0 * math.pi) - math.pi
    starts, ends = centre - half, centre + half
    below, above = starts < -math.pi, ends > math.pi  # intervals across the back: copies
    starts = np.sort(np.concatenate([starts, starts[below] + 2 * math.pi,
                                     starts[above] - 2 * math.pi]))
    ends = np.sort(np.concatenate([ends, ends[below] + 2 * math.pi, ends[above] - 2 * math.pi]))
    steps = int(math.floor(min(abs(max_detour), math.pi) / config.heading_resolution + 1e-9))
    detours = config.heading_resolution * np.arange(-steps, steps + 1)
    # Open intervals containing each detour: those starting before it minus those ended.
    blocking = np.searchsorted(starts, detours, 'left') - np.searchsorted(ends, detours, 'right')
    free_detours = detours[blocking == 0]
    committed = free_detours[side * free_detours >= 0]  # all of them when side is 0
    if committed.size:
        free_detours = committed
    if not free_detours.size:
        return None
    smallest = np.abs(free_detours).min()
    ties = free_detours[np.abs(free_detours) == smallest]  # one, or a left and a right one
    reach = usable[distance <= clearance + radius]
    options = []
    for detour in ties[::-1]:  # left first: it wins equal free travels
        heading = goal_bearing + float(detour)
        cos_h, sin_h = math.cos(heading), math.sin(heading)
        ahead = np.column_stack([cos_h * reach[:, 0] + sin_h * reach[:, 1],
                                 cos_h * reach[:, 1] - sin_h * reach[:, 0]])
        travel = float(_travel_straight(ahead, 1.0, config.inflated_radius)
                       .min(initial=math.inf))
        options.append((travel if travel < clearance else math.inf,
                        float(detour), heading))
    free_distance, detour, heading = max(options, key=lambda option: option[0])
    bearing = math.remainder(heading, 2.0 * math.pi)
    return Heading(math.pi if bearing == -math.pi else bearing, detour, free_distance)
