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
The motion parameters of action_node: limits, gains, tolerances, timeouts and the mode.

Speeds in m/s and rad/s, distances in metres, angles in radians, times in seconds of ROS
time. Each field is also a node parameter (contract.parameters.setting).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..contract.parameters import setting, Settings


class MotionMode(str, Enum):
    """Who drives the base to a grounded target."""

    SERVO = 'servo'  # action_node, with cmd_vel
    NAV2 = 'nav2'    # Nav2's planner and controller, to the goal_pose action_node publishes

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class MotionConfig(Settings):
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
    follow_distance: float = setting(1.0, 'A follow step keeps the target this far (m) from '
                                     'the base origin: it drives when farther, turns to keep '
                                     'facing it when nearer', minimum=0.2, maximum=10.0)
    return_tolerance: float = setting(0.1, 'A return ("come back") ends this near (m) the '
                                      'place where the command was given', minimum=0.01,
                                      maximum=2.0)
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
    blocked_timeout: float = setting(10.0, 'A step that makes no progress toward its goal for '
                                     'this long (s, ROS time) while blocked or out of a '
                                     "pocket fails (Nav2's movement_time_allowance)",
                                     minimum=0.1, maximum=3600.0)
    required_movement_radius: float = setting(0.5, 'Progress (m): the planned way to the goal '
                                              'this much shorter (without a goal, moving this '
                                              'far on odometry); restarts blocked_timeout '
                                              "(Nav2's progress checker)", minimum=0.01,
                                              maximum=10.0)
    motion_mode: MotionMode = setting(
        MotionMode.SERVO, "'servo': drive to the target with cmd_vel (this node); 'nav2': "
        "publish the goal (goal_pose, odom frame) for Nav2's planner and controller instead")
    goal_update_distance: float = setting(0.2, 'In nav2 mode, publish a new goal_pose when '
                                          'the goal moves this far (m)', minimum=0.0,
                                          maximum=100.0)
    nav2_goal_tolerance: float = setting(0.25, 'In nav2 mode the step is reached within '
                                         'stop_distance plus this (m) of the target (match '
                                         "Nav2's goal checker)", minimum=0.0, maximum=10.0)

    def problems(self) -> list[str]:
        """Return what is wrong with the values, the rules between them included."""
        problems = super().problems()
        if not problems and self.min_linear > self.max_linear:
            problems.append(f'min_linear {self.min_linear} exceeds max_linear {self.max_linear}')
        if not problems and self.min_angular > self.max_angular:
            problems.append(f'min_angular {self.min_angular} exceeds max_angular '
                            f'{self.max_angular}')
        return problems
