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
action_node over real DDS, driven by a fake grounding node (status + target) in the test.

Tests that must tell "stopped at once" from "stopped at the next control tick" run the node
on a simulated clock held still: its timer cannot fire, so any message comes from the event.
"""

from clip_grounding_ros.core.contract.status import GroundingState, GroundingStatus
from clip_grounding_ros.nodes.action_node import ActionNode
from clip_grounding_ros.nodes.common import COMMAND_VOLATILE_QOS
from geometry_msgs.msg import PoseStamped, Twist, TwistStamped
import pytest
from rclpy.duration import Duration
from ros_helpers import BEST_EFFORT_QOS, RELIABLE_QOS, stamp
from std_msgs.msg import String

STATUS = 'action/status'
START = 100.0  # s of simulated time


class ActionRig:
    """An action node and a fake grounding node that says what the attributes say."""

    state, intent, message = 'tracking', 'approach', 'fake grounding'
    target: tuple[float, float] | None = (3.0, 0.0)
    frame = 'base_link'
    age = 0.0                         # s subtracted from the node's now for target stamps
    fixed_stamp: float | None = None  # or this stamp on every target
    send_status = send_target = True

    def __init__(self, ros, **params):
        self.ros, probe = ros, ros.probe
        params.setdefault('obstacle_source', 'none')  # obstacle tests set their own
        self.node = ros.start(ActionNode, **params)
        self.stamped = params.get('twist_stamped', False)
        ros.connect(probe.record(TwistStamped if self.stamped else Twist, 'cmd_vel'))
        ros.connect(probe.record(String, STATUS))
        self.cmd = probe.messages['cmd_vel']
        self.status_pub = probe.create_publisher(String, 'grounding/status', RELIABLE_QOS)
        self.target_pub = probe.create_publisher(PoseStamped, 'grounding/target',
                                                 BEST_EFFORT_QOS)
        self.command_pub = probe.create_publisher(String, 'command', COMMAND_VOLATILE_QOS)
        if params.get('use_sim_time'):
            ros.set_clock(self.node, START)
        probe.create_timer(0.1, self._publish)  # wall time, like the grounding node's camera

    def _publish(self) -> None:
        if self.send_status:
            self.status_pub.publish(String(data=GroundingStatus(
                state=GroundingState(self.state), intent=self.intent, command_id=1,
                message=self.message, found=self.state == 'tracking').to_json()))
        if self.send_target and self.target is not None:
            msg = PoseStamped()
            now = self.node.get_clock().now() - Duration(seconds=self.age)
            msg.header.stamp = now.to_msg() if self.fixed_stamp is None else \
                stamp(self.fixed_stamp)
            msg.header.frame_id = self.frame
            msg.pose.position.x, msg.pose.position.y = self.target
            msg.pose.orientation.w = 1.0
            self.target_pub.publish(msg)

    def velocity(self, index: int = -1) -> tuple[float, float]:
        if not self.cmd:
            return 0.0, 0.0
        twist = self.cmd[index].twist if self.stamped else self.cmd[index]
        return twist.linear.x, twist.angular.z

    def status(self) -> dict:
        return self.ros.probe.last_status(STATUS)

    def wait(self, predicate, message: str = '') -> None:
        assert self.ros.spin_until(predicate), f'{message}: {self.velocity()} {self.status()}'

    def wait_moving(self) -> None:
        self.wait(lambda: self.velocity() != (0.0, 0.0), 'never moved')

    def stopped(self, state: str, reason: str = '') -> bool:
        status = self.status()
        return self.velocity() == (0.0, 0.0) and status.get('state') == state and \
            reason in status.get('reason', '')

    def wait_stopped(self, state: str, reason: str = '') -> None:
        self.wait(lambda: self.stopped(state, reason), f'not stopped ({state}, {reason})')

    def send_command(self, text: str) -> None:
        self.ros.connect(self.command_pub)
        self.command_pub.publish(String(data=text))


@pytest.mark.parametrize('target, linear_sign, angular_sign, state', [
    ((1.0, 1.5), 0, 1, 'turning'),
    ((1.0, -1.5), 0, -1, 'turning'),
    ((3.0, 0.0), 1, 0, 'approaching'),
], ids=['left', 'right', 'ahead-far'])
def test_fresh_target_drives_toward_it(ros, target, linear_sign, angular_sign, state):
    rig = ActionRig(ros)
    rig.target = target

    def signs():
        linear, angular = rig.velocity()
        return (linear > 0) - (linear < 0), (angular > 0) - (angular < 0)
    rig.wait(lambda: signs() == (linear_sign, angular_sign) and rig.status()['state'] == state,
             'wrong direction')


@pytest.mark.parametrize('change, state, reason', [
    ({'target': (0.4, 0.0)}, 'reached', 'target reached'),
    ({'age': 5.0}, 'holding', 'old (timeout 1.00 s)'),
    ({'send_status': False}, 'holding', 'no status from the grounding node'),
    ({'state': 'lost', 'message': 'target lost'}, 'stopped', 'target lost'),
    ({'state': 'error', 'message': 'camera gone'}, 'stopped', 'grounding error: camera gone'),
], ids=['within-stop-distance', 'stale-target', 'status-silent', 'lost', 'error'])
def test_unsafe_situation_stops_the_robot(ros, change, state, reason, capfd):
    rig = ActionRig(ros, status_timeout=1.0, search_enabled=False)
    rig.wait_moving()
    for name, value in change.items():
        setattr(rig, name, value)
    rig.wait_stopped(state, reason)
    # Each change of state is logged once, with why, while the status repeats it.
    rig.ros.spin_for(1.2)
    logged = capfd.readouterr().err
    said = [line for line in logged.splitlines()
            if f'[action_node]: {state}: ' in line and reason in line]
    assert len(said) == 1, logged


def test_lost_target_is_searched_by_turning_in_place(ros):
    rig = ActionRig(ros)
    rig.target = (2.0, -0.5)  # seen on the right
    rig.wait_moving()
    rig.state, rig.message, rig.send_target = 'lost', 'no blue box in view', False
    rig.wait(lambda: rig.status()['state'] == 'searching' and rig.velocity()[0] == 0.0 and
             rig.velocity()[1] < 0, 'not searching to the right')


def test_stop_command_stops_at_once_without_grounding_status(ros):
    rig = ActionRig(ros, use_sim_time=True, status_timeout=30.0, target_timeout=30.0)
    ros.advance_until(rig.node, lambda: rig.velocity() != (0.0, 0.0))
    rig.send_status = rig.send_target = False  # the grounding node is gone
    rig.send_command('stop')
    rig.wait_stopped('stopped', 'stop command')  # clock held still: no control tick did this


def test_target_timeout_runs_on_the_simulated_clock(ros):
    rig = ActionRig(ros, use_sim_time=True, target_timeout=0.5)
    ros.advance_until(rig.node, lambda: rig.velocity()[0] > 0)
    seen = rig.fixed_stamp = rig.node.get_clock().now().nanoseconds * 1e-9  # ages from now
    ros.spin_for(1.0)  # more wall time than target_timeout: irrelevant on simulated time
    sent = len(rig.cmd)
    reached = ros.advance_until(rig.node, lambda: len(rig.cmd) > sent)  # one control tick
    assert reached < seen + 0.5 and rig.velocity()[0] > 0

    reached = ros.advance_until(rig.node, lambda: rig.stopped('holding', 'old'), step=0.6)
    assert reached > seen + 0.5


def test_target_in_another_frame_is_ignored_with_a_warning(ros):
    rig = ActionRig(ros)
    rig.frame = 'camera_optical_frame'
    rig.wait(lambda: any('ignored' in w for w in rig.status().get('warnings', [])),
             'no warning')
    sent = len(rig.cmd)
    rig.wait(lambda: len(rig.cmd) >= sent + 10, 'no control ticks')
    assert all(rig.velocity(i) == (0.0, 0.0) for i in range(len(rig.cmd)))
    status = rig.status()
    assert any("'camera_optical_frame', expected 'base_link'" in w for w in status['warnings'])
    assert status['state'] == 'holding' and status['target'] is None


def test_twist_stamped_carries_the_base_frame(ros):
    rig = ActionRig(ros, twist_stamped=True, base_frame='robot_base')
    rig.frame, rig.target = 'robot_base', (1.0, 1.5)
    rig.wait(lambda: rig.velocity()[1] > 0, 'no turn')
    msg = rig.cmd[-1]
    assert msg.header.frame_id == 'robot_base' and msg.header.stamp.sec > 0


def test_on_shutdown_publishes_zero_velocity(ros):
    rig = ActionRig(ros, use_sim_time=True)
    ros.advance_until(rig.node, lambda: rig.velocity() != (0.0, 0.0))
    sent = len(rig.cmd)
    rig.node.on_shutdown()  # the clock is held still: only on_shutdown can publish
    rig.wait(lambda: len(rig.cmd) > sent and rig.velocity() == (0.0, 0.0), 'no zero on shutdown')


def test_diagnostics_say_the_state_its_level_and_why_once_a_second(ros):
    """/diagnostics: OK while approaching, WARN while holding on a stale target, with why."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    rig = ActionRig(ros, search_enabled=False)
    ros.connect(ros.probe.record(DiagnosticArray, '/diagnostics'))
    arrays = ros.probe.messages['/diagnostics']

    def latest(state: str):
        ours = [s for a in arrays for s in a.status if s.name == 'action_node: action/status']
        return next((s for s in reversed(ours) if s.message.startswith(f'{state}: ')), None)
    rig.wait(lambda: latest('approaching') is not None, 'no diagnostics while approaching')
    approaching = latest('approaching')
    assert approaching.level == DiagnosticStatus.OK, approaching.values
    assert approaching.hardware_id == 'action_node'
    values = {v.key: v.value for v in approaching.values}
    assert values['state'] == 'approaching' and float(values['linear']) > 0.0
    rig.age = 5.0  # the targets grow old: the robot holds, and says why
    rig.wait(lambda: latest('holding') is not None, 'no diagnostics while holding')
    holding = latest('holding')
    assert holding.level == DiagnosticStatus.WARN and 'old (timeout' in holding.message
