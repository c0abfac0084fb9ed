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
action_node: grounded targets, odometry and obstacles in, safe velocity commands out.

Subscribes `grounding/status` (the current command step), `grounding/target`, `odom`
(nav_msgs/Odometry: moves and turns by an amount, the target memory, searching), the
obstacle source (`camera/depth/image_raw` with `camera/camera_info`, or `scan`) and
`command` (a stop acts at once, even when the grounding node is down). Publishes `cmd_vel`
(Twist, or TwistStamped with twist_stamped:=true) at rate_hz on ROS time while a command
moves the robot, zero for idle_publish_time after it comes to rest, then nothing; in nav2
mode `goal_pose` (PoseStamped in the odometry frame, for Nav2's bt_navigator) instead; and
`action/status` (JSON, see core.contract.status) saying why the robot is (not) moving and
how the step has ended. The behaviour lives in core.motion (the controller, its obstacle
avoidance and the safety rules it applies).

Time: the control loop runs on ROS time. A backward jump of that clock (simulation reset,
bag loop) stops the robot at once and drops everything dated on it; a ROS clock that stops
advancing while the robot moves (no /clock) is caught on the steady clock and stops it too.
"""

from __future__ import annotations

import time

from geometry_msgs.msg import PoseStamped, Twist, TwistStamped
from nav_msgs.msg import Odometry
import numpy as np
from rclpy.clock import Clock, ClockType, JumpThreshold
from rclpy.duration import Duration
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, LaserScan
from std_msgs.msg import String

from .command_intake import CommandIntake
from .common import (
    camera_info_to_intrinsics,
    ConfigError,
    depth_image_to_metres,
    Faults,
    LATEST_QOS,
    now_seconds,
    SENSOR_QOS,
    stamp_seconds,
    STATUS_QOS,
    StatusPublisher,
    yaw_of,
)
from .parameters import declare_parameters, make_configs, watch_parameters
from ..core.contract.parameters import parameter_specs, ParamSpec
from ..core.contract.status import GroundingStatus
from ..core.contract.timing import StampedHistory
from ..core.language.commands import parse_command
from ..core.language.steps import CommandError
from ..core.motion.config import MotionConfig
from ..core.motion.controller import MotionController, MotionOutput
from ..core.motion.obstacles import ObstacleConfig, ObstacleSource
from ..core.world.camera import MountConfig
from ..core.world.frames import quaternion_from_yaw
from ..core.world.memory import AssociationConfig, MemoryConfig

STATUS_PERIOD_S = 0.5  # action/status at least this often (ROS time), and on every change
NODE_PARAMS = (
    ParamSpec('rate_hz', 20.0, 'Rate of cmd_vel messages (ROS time)', minimum=1.0,
              maximum=1000.0, read_only=True),
    ParamSpec('twist_stamped', False, 'Publish geometry_msgs/TwistStamped (Jazzy and later '
              'controllers) instead of Twist', read_only=True),
    ParamSpec('base_frame', 'base_link', 'Expected frame of grounding/target and frame_id of '
              'TwistStamped'),
)
CONFIGS = (MotionConfig, ObstacleConfig, MemoryConfig, AssociationConfig, MountConfig)
PARAMS = tuple(spec for kind in CONFIGS for spec in parameter_specs(kind)) + NODE_PARAMS


def _configure(values: dict) -> tuple:
    """Make the core configurations from parameter values; ConfigError when they do not fit."""
    if not values['base_frame']:
        raise ConfigError('base_frame must not be empty')
    return (*make_configs(values, *CONFIGS), values)


class ActionNode(Node):

    def __init__(self, **kwargs):
        super().__init__('action_node', **kwargs)
        *configs, values = _configure(declare_parameters(self, PARAMS))
        motion, obstacles, memory, association, mount = configs
        self.controller = MotionController(motion, obstacles, memory, association, mount.mount)
        self.base_frame = values['base_frame']
        self.rate_hz = values['rate_hz']
        self.twist_stamped = values['twist_stamped']
        self.faults = Faults(self)
        self.cmd_pub = self.create_publisher(TwistStamped if self.twist_stamped else Twist,
                                             'cmd_vel', 10)
        self.status_pub = StatusPublisher(self, 'action/status')
        faults = self.faults
        faults.subscribe(PoseStamped, 'grounding/target', self._on_target, SENSOR_QOS)
        faults.subscribe(String, 'grounding/status', self._on_status, STATUS_QOS)
        faults.subscribe(Odometry, 'odom', self._on_odometry, SENSOR_QOS)
        # Both obstacle sources are subscribed (unused topics cost nothing), so
        # obstacle_source can change at run time; the controller uses the one it names.
        faults.subscribe(Image, 'camera/depth/image_raw', self._on_depth, SENSOR_QOS)
        faults.subscribe(CameraInfo, 'camera/camera_info', self._on_camera_info, SENSOR_QOS)
        faults.subscribe(LaserScan, 'scan', self._on_scan, SENSOR_QOS)
        self.camera_infos: StampedHistory[CameraInfo] = StampedHistory()  # paired by stamp
        self.odom_frame = 'odom'
        self.goal_pub = self.create_publisher(PoseStamped, 'goal_pose', LATEST_QOS)
        self.published_goal = None
        self.commands = CommandIntake(self, self._on_command, faults)
        self.last_output: MotionOutput | None = None
        self.last_status_time: float | None = None
        self.last_tick_wall = time.monotonic()
        self.create_timer(1.0 / self.rate_hz, faults.guard('control loop', self._control))
        # The steady clock keeps running when ROS time stops: a watchdog for a lost /clock.
        self.create_timer(0.2, faults.guard('clock watchdog', self._watch_clock),
                          clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.jump_handler = self.get_clock().create_jump_callback(
            JumpThreshold(min_forward=None, min_backward=Duration(nanoseconds=-1),
                          on_clock_change=True),
            post_callback=faults.guard('ROS time jump', self._on_time_jump))
        watch_parameters(self, PARAMS, _configure, self._apply)

    def _apply(self, configuration: tuple) -> None:
        *configs, values = configuration
        motion, obstacles, memory, association, mount = configs
        self.controller.configure(motion, obstacles, memory, association, mount.mount)
        self.base_frame = values['base_frame']

    # -- inputs ---------------------------------------------------------------------------
    def _on_command(self, text: str) -> None:
        """Only stop is acted on here (at once); other commands arrive via the status."""
        try:
            command = parse_command(text)
        except CommandError:
            return  # the grounding node reports bad commands
        if command.is_stop:
            self.controller.stop()
            self._control()

    def _on_status(self, msg: String) -> None:
        status = GroundingStatus.from_json(msg.data)  # MessageError: reported by the guard
        self.controller.on_status(status, now_seconds(self))

    def _on_target(self, msg: PoseStamped) -> None:
        if msg.header.frame_id != self.base_frame:
            self.faults.warn(f"target in frame '{msg.header.frame_id}', expected "
                             f"'{self.base_frame}': ignored")
            return
        position = msg.pose.position
        note = self.controller.on_target(position.x, position.y,
                                         stamp_seconds(msg.header.stamp))
        if note:
            self.faults.warn(note)

    def _on_depth(self, msg: Image) -> None:
        if not self.controller.wants_obstacles(ObstacleSource.DEPTH):
            return
        stamp = stamp_seconds(msg.header.stamp)
        camera_info = self.camera_infos.nearest(stamp)
        if camera_info is None:
            self.faults.warn('depth image without camera/camera_info: no obstacle points')
            return
        self.controller.on_depth(depth_image_to_metres(msg),
                                 camera_info_to_intrinsics(camera_info), stamp)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.camera_infos.add(stamp_seconds(msg.header.stamp), msg)

    def _on_scan(self, msg: LaserScan) -> None:
        if not self.controller.wants_obstacles(ObstacleSource.SCAN):
            return
        self.controller.on_scan(np.asarray(msg.ranges, dtype=np.float64), msg.angle_min,
                                msg.angle_max, msg.angle_increment, msg.range_min,
                                msg.range_max, stamp_seconds(msg.header.stamp))

    def _on_odometry(self, msg: Odometry) -> None:
        self.odom_frame = msg.header.frame_id or self.odom_frame
        pose = msg.pose.pose
        refused = self.controller.on_odometry(pose.position.x, pose.position.y, yaw_of(pose),
                                              stamp_seconds(msg.header.stamp))
        if refused:
            self.faults.warn(refused)

    def _on_time_jump(self, jump) -> None:
        """ROS time went back (or its source changed): stop now, do not wait for a tick."""
        why = ('the ROS time source changed' if jump.clock_change else
               f'ROS time jumped by {jump.delta.nanoseconds * 1e-9:+.3f} s')
        self.controller.on_time_jump(why)
        self._publish(self.controller.halt(f'{why}: inputs dropped'), now_seconds(self),
                      force=True)

    def _watch_clock(self) -> None:
        stalled = time.monotonic() - self.last_tick_wall
        if stalled > max(1.0, 5.0 / self.rate_hz) and self.controller.moving():
            self._publish(self.controller.halt(
                f'ROS time has not advanced for {stalled:.1f} s (no /clock?)'),
                now_seconds(self), force=True)

    # -- output ---------------------------------------------------------------------------
    def _control(self) -> None:
        self.last_tick_wall = time.monotonic()
        now = now_seconds(self)
        self._publish(self.controller.step(now), now)

    def _publish(self, output: MotionOutput, now: float, force: bool = False) -> None:
        if output.publish or force:
            self._publish_velocity(output.linear, output.angular)
        goal = self.controller.nav2_goal()
        if goal is not None and goal != self.published_goal:
            self._publish_goal(goal)
        self.published_goal = goal
        last = self.last_output
        changed = last is None or (output.state, output.reason) != (last.state, last.reason)
        if changed or force or self.last_status_time is None or \
                abs(now - self.last_status_time) >= STATUS_PERIOD_S:
            self.status_pub.publish(self.controller.status(output, self.faults.current()))
            self.last_status_time = now
        self.last_output = output

    def _publish_goal(self, goal: tuple[float, float, float]) -> None:
        """goal_pose for Nav2 (nav2 mode): the odometry frame, facing the target."""
        msg = PoseStamped()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.odom_frame
        msg.pose.position.x, msg.pose.position.y = goal[0], goal[1]
        msg.pose.orientation.z, msg.pose.orientation.w = quaternion_from_yaw(goal[2])
        self.goal_pub.publish(msg)

    def _publish_velocity(self, linear: float, angular: float) -> None:
        twist = Twist()
        twist.linear.x, twist.angular.z = float(linear), float(angular)
        if self.twist_stamped:
            msg = TwistStamped(twist=twist)
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.header.frame_id = self.base_frame
            self.cmd_pub.publish(msg)
        else:
            self.cmd_pub.publish(twist)

    def on_shutdown(self) -> None:
        """Stop the robot: a node that goes away leaves it stopped."""
        self.controller.stop()
        self._publish_velocity(0.0, 0.0)
        # The node is destroyed next: a zero lost in transit could not be resent then.
        self.cmd_pub.wait_for_all_acked(Duration(seconds=1.0))


def main(args=None):
    from .process import run_node
    raise SystemExit(run_node(ActionNode, args))


if __name__ == '__main__':
    main()
