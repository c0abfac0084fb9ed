"""action_node: grounded targets in, safe velocity commands out.

Subscribes `grounding/target`, `grounding/status` and `command` (to stop at once, even when
the grounding node is down); publishes `cmd_vel` (Twist, or TwistStamped with
twist_stamped:=true) at rate_hz on ROS time and a JSON status on `action/status` that
says why the robot is (not) moving. The control law lives in core.control.
"""

from __future__ import annotations

import json
from dataclasses import fields

from geometry_msgs.msg import PoseStamped, Twist, TwistStamped
from rclpy.duration import Duration
from rclpy.node import Node
from std_msgs.msg import String

from ..core.commands import STOP, CommandError, parse_command
from ..core.control import MotionConfig, MotionController
from .common import (SENSOR_QOS, STATUS_QOS, CommandSubscription, ConfigError, Param,
                     declare_parameters, now_seconds, parameter_values, publish_json,
                     stamp_seconds, watch_parameters)

_DEFAULTS = MotionConfig()
_DESCRIPTIONS = {
    'max_linear': 'Speed limit (m/s)',
    'max_angular': 'Turn rate limit (rad/s)',
    'max_linear_accel': 'Linear acceleration limit (m/s^2)',
    'max_angular_accel': 'Angular acceleration limit (rad/s^2)',
    'k_linear': 'Forward speed per metre still to go (1/s)',
    'min_linear': 'Slowest forward speed while approaching (m/s), so the robot arrives',
    'k_angular': 'Turn rate per radian of bearing (1/s)',
    'stop_distance': 'Stop when the target point is this close to the base origin (m)',
    'align_angle': 'Beyond this bearing (rad) turn in place before driving',
    'face_tolerance': 'Facing intents hold still within this bearing (rad)',
    'target_timeout': 'Targets older than this (s, ROS time) stop the robot',
    'status_timeout': 'No grounding status for this long (s, ROS time) stops the robot',
    'search_enabled': 'Rotate in place to re-acquire a lost target',
    'search_angular': 'Turn rate while searching (rad/s)',
    'search_duration': 'Give up searching after this long (s)',
}
PARAMS = tuple(Param(f.name, getattr(_DEFAULTS, f.name), _DESCRIPTIONS[f.name])
               for f in fields(MotionConfig)) + (
    Param('rate_hz', 20.0, 'Rate of cmd_vel messages (ROS time)', read_only=True),
    Param('twist_stamped', False, 'Publish geometry_msgs/TwistStamped (Jazzy and later '
          'controllers) instead of Twist', read_only=True),
    Param('base_frame', 'base_link', 'Expected frame of grounding/target and frame_id of '
          'TwistStamped'),
)


class ActionNode(Node):
    def __init__(self, **kwargs):
        super().__init__('action_node', **kwargs)
        declare_parameters(self, PARAMS)
        values = parameter_values(self, PARAMS)
        self.controller = MotionController(self._motion_config(values))
        self.base_frame = values['base_frame']
        watch_parameters(self, PARAMS, self._apply)
        self.twist_stamped = values['twist_stamped']
        self.cmd_pub = self.create_publisher(TwistStamped if self.twist_stamped else Twist,
                                             'cmd_vel', 10)
        self.status_pub = self.create_publisher(String, 'action/status', STATUS_QOS)
        self.create_subscription(PoseStamped, 'grounding/target', self._on_target, SENSOR_QOS)
        self.create_subscription(String, 'grounding/status', self._on_status, STATUS_QOS)
        self.commands = CommandSubscription(self, self._on_command)
        self.last_state = None
        self.last_status_time = None
        self.frame_warning = ''
        self.create_timer(1.0 / values['rate_hz'], self._control)

    @staticmethod
    def _motion_config(values: dict) -> MotionConfig:
        if values['rate_hz'] <= 0:
            raise ConfigError(f"rate_hz must be > 0, got {values['rate_hz']}")
        try:
            return MotionConfig(**{f.name: values[f.name] for f in fields(MotionConfig)})
        except ValueError as error:
            raise ConfigError(str(error)) from None

    def _apply(self, values: dict) -> None:
        self.controller.config = self._motion_config(values)
        self.base_frame = values['base_frame']

    # -- inputs ---------------------------------------------------------------------------
    def _on_command(self, text: str) -> None:
        """Only stop is acted on here (at once); other commands arrive via the status."""
        try:
            if parse_command(text).intent == STOP:
                self.controller.stop()
                self._control()
        except CommandError:
            pass  # the grounding node reports bad commands

    def _on_status(self, msg: String) -> None:
        try:
            status = json.loads(msg.data)
            state, intent = str(status['state']), str(status.get('intent') or '')
        except (ValueError, KeyError, TypeError):
            self.get_logger().warning(f'unreadable grounding status: {msg.data[:80]!r}',
                                   throttle_duration_sec=5.0)
            return
        now = now_seconds(self)
        if intent:
            self.controller.on_command(intent, status.get('command_id'), now)
        elif state == 'error':
            self.controller.on_command('', status.get('command_id'), now)
        self.controller.on_perception(state, str(status.get('message', '')), now)

    def _on_target(self, msg: PoseStamped) -> None:
        if msg.header.frame_id != self.base_frame:
            self.frame_warning = (f"target in frame '{msg.header.frame_id}', expected "
                                  f"'{self.base_frame}': ignored")
            self.get_logger().warning(self.frame_warning, throttle_duration_sec=5.0)
            return
        self.frame_warning = ''
        self.controller.on_target(msg.pose.position.x, msg.pose.position.y,
                                  stamp_seconds(msg.header.stamp))

    # -- output ---------------------------------------------------------------------------
    def _control(self) -> None:
        now = now_seconds(self)
        output = self.controller.step(now)
        self._publish_velocity(output.linear, output.angular)
        if output.state != self.last_state or self.last_status_time is None or \
                now - self.last_status_time >= 0.5:
            target = self.controller.target
            publish_json(self.status_pub, {
                'state': output.state, 'reason': output.reason,
                'linear': round(output.linear, 4), 'angular': round(output.angular, 4),
                'intent': self.controller.intent or '', 'command_id': self.controller.command_id,
                'target': None if target is None else [round(target.x, 3), round(target.y, 3)],
                'warning': self.frame_warning})
            self.last_state, self.last_status_time = output.state, now

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
        """A node that goes away leaves the robot stopped."""
        self.controller.stop()
        self._publish_velocity(0.0, 0.0)
        # The node is destroyed next: a zero lost in transit could not be resent then.
        self.cmd_pub.wait_for_all_acked(Duration(seconds=1.0))


def main(args=None):
    from .common import run_node
    raise SystemExit(run_node(ActionNode, args))


if __name__ == '__main__':
    main()
