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
The sim_node in-process over real DDS.

Alone and as fast as possible (realtime_factor 0): what it publishes, and the base answering
cmd_vel like a real base controller.
"""


from clip_grounding_ros.core.contract.messages import GroundTruth
from clip_grounding_ros.nodes.common import stamp_seconds
from clip_grounding_ros.sim import CameraSpec, load_scene
from clip_grounding_ros.sim.sim_node import SimNode
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
import pytest
from ros_helpers import RELIABLE_QOS
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

TOPICS = {'/clock': Clock, 'camera/image_raw': Image, 'camera/camera_info': CameraInfo,
          'odom': Odometry, 'sim/ground_truth': String}


class SimRig:
    """A sim node on the 'boxes' scene with the probe recording its outputs."""

    def __init__(self, ros, realtime_factor: float):
        self.ros, self.probe = ros, ros.probe
        self.node = ros.start(SimNode, realtime_factor=realtime_factor)
        for topic, msg_type in TOPICS.items():
            self.probe.record(msg_type, topic, keep=20)  # fast streams: keep the newest
        self.cmd_pub = self.probe.create_publisher(Twist, 'cmd_vel', RELIABLE_QOS)

    def latest(self, topic: str):
        assert self.ros.spin_until(lambda: len(self.probe.messages[topic]) > 0), topic
        return self.probe.messages[topic][-1]

    def odom(self) -> tuple[float, float]:
        """(x, forward speed) of the newest odometry."""
        msg = self.latest('odom')
        return msg.pose.pose.position.x, msg.twist.twist.linear.x

    def sim_time(self) -> float:
        return stamp_seconds(self.latest('/clock').clock)


def test_publishes_clock_camera_odometry_and_ground_truth(ros):
    sim = SimRig(ros, realtime_factor=0.0)  # as fast as possible
    start = sim.sim_time()
    assert sim.ros.spin_until(lambda: sim.sim_time() > start)  # the clock runs

    image, info = sim.latest('camera/image_raw'), sim.latest('camera/camera_info')
    assert (image.encoding, image.width, image.height, image.step) == ('rgb8', 320, 240, 960)
    assert image.header.frame_id == info.header.frame_id == 'camera_optical_frame'
    fx, fy, cx, cy = CameraSpec().intrinsics()
    assert (info.width, info.height) == (320, 240)
    assert (info.k[0], info.k[4], info.k[2], info.k[5]) == pytest.approx((fx, fy, cx, cy))
    assert sim.ros.spin_until(lambda: any(
        i.header.stamp == info.header.stamp for i in sim.probe.messages['camera/image_raw']))

    odom = sim.latest('odom')
    assert (odom.header.frame_id, odom.child_frame_id) == ('odom', 'base_link')
    truth = GroundTruth.from_json(sim.latest('sim/ground_truth').data)
    assert truth.scene == 'boxes' and len(truth.robot) == 3 and truth.touched == []
    assert set(truth.distances) == {obj.name for obj in load_scene('boxes').objects}


def test_cmd_vel_moves_the_base_until_commands_stop(ros):
    # Real time: as fast as possible, a loaded machine could leave a command unread in the
    # node's queue (spun by this test) for seconds of simulated time, then move again.
    sim = SimRig(ros, realtime_factor=1.0)
    x0, _ = sim.odom()
    command = Twist()
    command.linear.x = 0.3
    timer = sim.probe.create_timer(0.02, lambda: sim.cmd_pub.publish(command))
    assert ros.spin_until(lambda: sim.odom()[0] > x0 + 0.1), f'odom {sim.odom()}'
    # Commands may pause on a loaded machine and the base time out between two of them,
    # so wait for a moment at full speed rather than expecting it at every moment.
    assert ros.spin_until(lambda: abs(sim.odom()[1] - 0.3) < 0.05), f'odom {sim.odom()}'

    timer.cancel()  # commands stop: cmd_vel_timeout (0.5 s of sim time) stops the base
    settled = sim.sim_time() + 2.0  # the last commands in flight are handled and time out
    assert ros.spin_until(lambda: sim.sim_time() > settled)
    x_stopped, later = sim.odom()[0], sim.sim_time() + 1.0
    assert ros.spin_until(lambda: sim.sim_time() > later)
    assert sim.odom() == pytest.approx((x_stopped, 0.0), abs=0.01)
