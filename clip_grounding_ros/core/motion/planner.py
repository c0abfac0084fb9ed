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
A way out of a pocket: the cheapest path over a grid of the obstacle points to the goal.

Where no heading toward the goal is free (:func:`.obstacles.choose_heading` finds none within
max_detour) the robot follows a path planned over the obstacle points it sees and remembers,
as Nav2's planner server does over its costmap: a grid of RESOLUTION cells around the robot
and its goal, each cell's cost from its distance to the nearest obstacle point (impassable
within robot_radius, dear within the safety margin, which the path crosses only to get out
of it, dearer than open floor within steering_margin beyond it), and the cheapest path by
scikit-image's minimum-cost-path search (``skimage.graph.MCP_Geometric``: Dijkstra on the
grid, a diagonal step costing sqrt 2 of a straight one). Cells no sensor has seen count as
free: the path is planned again each tick, with what the robot sees on the way.

The path's length is also the progress measure (:class:`.avoidance.ObstacleAvoidance`): a
robot whose way to the goal does not get shorter is not getting anywhere, whatever it drives.

Frames: the base frame (REP-103), metres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math

import numpy as np
from scipy.ndimage import distance_transform_edt
from skimage.graph import MCP_Geometric

from .obstacles import ObstacleConfig, usable_points

RESOLUTION = 0.05      # m: grid cell side
BORDER = 1.5           # m of grid beyond the robot and the goal, for ways around
GOAL_TOLERANCE = 0.2   # m: a path may end this near the goal (it can lie in the target's margin)
MARGIN_COST = 25.0     # per cell within the safety margin (open floor: 1)
CLOSE_COST = 3.0       # per cell within steering_margin beyond the safety margin
LOOKAHEAD = 1.0        # m along the path: the farthest point the robot steers at


@dataclass(frozen=True)
class PlannedPath:
    """
    A path from the base to the goal, planned over the obstacle points.

    ``waypoints``: (N, 2) cell centres in the base frame (m), from the robot's cell to one
    within GOAL_TOLERANCE of the goal; ``length``: metres along them; ``aim``: the point
    (base frame, m) to steer at, the farthest along the first LOOKAHEAD metres that a
    straight line reaches without crossing a dearer cell than where the robot is.
    """

    waypoints: np.ndarray
    length: float
    aim: tuple[float, float]


def plan_path(points: np.ndarray | Sequence[Sequence[float]], goal: tuple[float, float],
              config: ObstacleConfig) -> PlannedPath | None:
    """
    Return the cheapest path from the base to ``goal`` among ``points``, or None.

    ``points``: (N, 2) obstacle points (x, y) in the base frame (m), as for
    :func:`.obstacles.check_path`; ``goal``: (x, y) in the base frame (m). None when no cell
    near the goal can be reached (walled in, or an obstacle point within the robot's body).
    ValueError for a goal that is not finite or points not of shape (N, 2).
    """
    goal_xy = np.asarray(goal, dtype=np.float64)
    if goal_xy.shape != (2,) or not np.isfinite(goal_xy).all():
        raise ValueError(f'goal {goal} must be a finite (x, y)')
    usable = usable_points(points)
    low = np.minimum(goal_xy, 0.0) - BORDER
    shape = tuple(np.ceil((np.maximum(goal_xy, 0.0) + BORDER - low) / RESOLUTION)
                  .astype(int) + 1)
    costs = _costs(usable, low, shape, config)
    start = _cell((0.0, 0.0), low)
    if not np.isfinite(costs[start]):
        return None
    centres = low + np.stack(np.indices(shape), axis=-1) * RESOLUTION
    near_goal = (np.hypot(*(centres - goal_xy).transpose(2, 0, 1)) <= GOAL_TOLERANCE) & \
        np.isfinite(costs)
    ends = np.argwhere(near_goal)
    if not len(ends):
        return None
    search = MCP_Geometric(costs, fully_connected=True)
    cumulative, _ = search.find_costs([start], [tuple(end) for end in ends],
                                      find_all_ends=False)
    reached = cumulative[tuple(ends.T)]
    if not np.isfinite(reached).any():
        return None
    cells = np.asarray(search.traceback(tuple(ends[int(np.argmin(reached))])))
    waypoints = low + cells * RESOLUTION
    steps = np.hypot(*np.diff(waypoints, axis=0).T)
    return PlannedPath(waypoints, float(steps.sum()),
                       _aim(waypoints, np.cumsum(steps), costs, low, costs[start]))


def _cell(xy, low: np.ndarray) -> tuple[int, int]:
    index = np.floor((np.asarray(xy) - low) / RESOLUTION + 0.5).astype(int)
    return int(index[0]), int(index[1])


def _costs(points: np.ndarray, low: np.ndarray, shape: tuple[int, int],
           config: ObstacleConfig) -> np.ndarray:
    """Each cell's cost from its distance to the nearest point (module notes)."""
    costs = np.ones(shape)
    cells = np.floor((points - low) / RESOLUTION + 0.5).astype(int)
    cells = cells[((cells >= 0) & (cells < shape)).all(axis=1)]
    if not len(cells):
        return costs
    occupied = np.zeros(shape, dtype=bool)
    occupied[tuple(cells.T)] = True
    clearance = distance_transform_edt(~occupied) * RESOLUTION
    costs[clearance < config.inflated_radius + config.steering_margin] = CLOSE_COST
    costs[clearance < config.inflated_radius] = MARGIN_COST
    costs[clearance < config.robot_radius] = np.inf
    return costs


def _aim(waypoints: np.ndarray, along: np.ndarray, costs: np.ndarray, low: np.ndarray,
         start_cost: float) -> tuple[float, float]:
    """Return the farthest waypoint within LOOKAHEAD a straight line reaches (PlannedPath.aim)."""
    allowed = max(start_cost, CLOSE_COST)
    aim = waypoints[-1] if len(waypoints) < 2 else waypoints[1]
    for index in range(1, len(waypoints)):
        if along[index - 1] > LOOKAHEAD:
            break
        point = waypoints[index]
        samples = np.linspace(0.0, 1.0, max(2, int(math.hypot(*point) / RESOLUTION) * 2))
        line = np.outer(samples, point)
        cells = np.floor((line - low) / RESOLUTION + 0.5).astype(int)
        if costs[tuple(cells.T)].max() > allowed:
            break
        aim = point
    return float(aim[0]), float(aim[1])
