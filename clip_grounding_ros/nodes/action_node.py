"""action_node: grounded targets in, safe velocity commands out.

Subscribes `grounding/target`, `grounding/status` and `command` (to stop at once, even when
the grounding node is down); publishes `cmd_vel` (Twist, or TwistStamped with
twist_stamped:=true) at rate_hz on ROS time and a JSON status on `action/status` that
says why the robot is (not) moving. The control law lives in core.control.
"""

from __future__ import annotations

from geometry_msgs.msg import PoseStamped, Twist, TwistStamped
from rclpy.duration import Duration
from rclpy.node import Node
from std_msgs.msg import String

from ..core.commands import CommandError, Intent, parse_command
from ..core.control import MotionConfig, MotionController
from ..core.status import ActionStatus, GroundingState, GroundingStatus, StatusError
from ..core.parameters import ParamSpec, parameter_specs
from .common import (SENSOR_QOS, STATUS_QOS, CommandSubscription, ConfigError,
                     declare_parameters, now_seconds, publish_status, stamp_seconds,
                     watch_parameters)

NODE_PARAMS = (
    ParamSpec('rate_hz', 20.0, 'Rate of cmd_vel messages (ROS time)', minimum=1.0,
              maximum=1000.0, read_only=True),
    ParamSpec('twist_stamped', False, 'Publish geometry_msgs/TwistStamped (Jazzy and later '
              'controllers) instead of Twist', read_only=True),
    ParamSpec('base_frame', 'base_link', 'Expected frame of grounding/target and frame_id of '
              'TwistStamped'),
)
MOTION_PARAMS = parameter_specs(MotionConfig)
PARAMS = MOTION_PARAMS + NODE_PARAMS


def _configure(values: dict) -> tuple[MotionConfig, dict]:
    """The motion configuration from parameter values; ConfigError when they do not fit."""
    if not values['base_frame']:
        raise ConfigError('base_frame must not be empty')
    try:
        return MotionConfig(**{p.name: values[p.name] for p in MOTION_PARAMS}), values
    except ValueError as error:
        raise ConfigError(str(error)) from None


class ActionNode(Node):
    def __init__(self, **kwargs):
        super().__init__('action_node', **kwargs)
        config, values = _configure(declare_parameters(self, PARAMS))
        self.controller = MotionController(config)
        self.base_frame = values['base_frame']
        watch_parameters(self, PARAMS, _configure, self._apply)
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

    def _apply(self, configuration: tuple[MotionConfig, dict]) -> None:
        self.controller.config, values = configuration
        self.base_frame = values['base_frame']

    # -- inputs ---------------------------------------------------------------------------
    def _on_command(self, text: str) -> None:
        """Only stop is acted on here (at once); other commands arrive via the status."""
        try:
            if parse_command(text).intent == Intent.STOP:
                self.controller.stop()
                self._control()
        except CommandError:
            pass  # the grounding node reports bad commands

    def _on_status(self, msg: String) -> None:
        try:
            status = GroundingStatus.from_json(msg.data)
            intent = Intent(status.intent) if status.intent else None
        except (StatusError, ValueError) as error:
            self.get_logger().warning(f'unreadable grounding status ({error}): '
                                      f'{msg.data[:80]!r}', throttle_duration_sec=5.0)
            return
        now = now_seconds(self)
        if intent is not None or status.state == GroundingState.ERROR:
            self.controller.on_command(intent, status.command_id, now)
        self.controller.on_perception(status.state, status.message, now)

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
            publish_status(self.status_pub, ActionStatus(
                state=output.state, reason=output.reason, linear=round(output.linear, 4),
                angular=round(output.angular, 4), intent=str(self.controller.intent or ''),
                command_id=self.controller.command_id,
                target=None if target is None else [round(target.x, 3), round(target.y, 3)],
                warning=self.frame_warning))
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
