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
The nodes as separate processes over DDS on loopback.

As on a robot whose grounding node runs on another machine: JPEG frames in, a turn toward the
target out, a clean Ctrl-C.

The test process plays the camera driver (CompressedImage + CameraInfo) and the operator
(a latched command), and observes grounding/status and cmd_vel. The scene is the
weight-independent one of ros_helpers, so the tiny random model still finds the square.
"""

import re

from clip_grounding_ros.nodes.common import COMMAND_LATCHED_QOS, stamp_seconds
from geometry_msgs.msg import Twist
import numpy as np
import pytest
from ros_helpers import (
    BEST_EFFORT_QOS,
    blue_square_image,
    camera_info_msg,
    compressed_msg,
    NodeProcess,
    RosHarness,
    SQUARE_BOX,
    square_intrinsics,
    TIMEOUT,
    WEIGHT_FREE_GROUNDING,
)
from sensor_msgs.msg import CameraInfo, CompressedImage
from std_msgs.msg import String

STATUS = 'grounding/status'


class Pipeline:
    """
    The camera, grounding and action node processes, fed and watched by a probe.

    camera_node (compressed input), grounding_node and action_node processes, fed and
    watched by a probe in this process; optionally all under ``namespace`` (``__ns`` remap),
    fed ``image`` and, when ``command`` is given, told it on a latched publisher.
    """

    def __init__(self, namespace: str = '', image: np.ndarray | None = None,
                 command: str | None = 'go to the blue box', ros: RosHarness | None = None):
        self.ros = ros or RosHarness()
        self.namespace = namespace
        self.image = blue_square_image() if image is None else image
        self.processes: list[NodeProcess] = []
        probe = self.ros.probe
        self.status_topic, cmd_topic = self.topic(STATUS), self.topic('cmd_vel')
        probe.record(String, self.status_topic)
        probe.record(Twist, cmd_topic)
        self.cmd = probe.messages[cmd_topic]
        self.image_pub = probe.create_publisher(
            CompressedImage, self.topic('camera/image_raw/compressed'), BEST_EFFORT_QOS)
        self.info_pub = probe.create_publisher(CameraInfo, self.topic('camera/camera_info'),
                                               BEST_EFFORT_QOS)
        self.fed_stamps = []
        probe.create_timer(0.2, self._publish_frame)
        self.command_pub = probe.create_publisher(String, self.topic('command'),
                                                  COMMAND_LATCHED_QOS)
        if command is not None:
            self.command_pub.publish(String(data=command))  # latched for late joiners

    def topic(self, name: str) -> str:
        return f'/{self.namespace}/{name}' if self.namespace else name

    def start(self, model_dir: str, log_dir) -> None:
        """Start the node processes, added one by one so that close() stops all that started."""
        remap = ['-r', f'__ns:=/{self.namespace}'] if self.namespace else []
        self.processes.append(NodeProcess('camera_node', log_dir, remap, input='compressed'))
        # A generous target_timeout: the processes share two loaded cores here.
        self.processes.append(NodeProcess('action_node', log_dir, remap, target_timeout=5.0,
                                          obstacle_source='none'))  # a camera without depth
        self.processes.append(NodeProcess('grounding_node', log_dir, remap, model=model_dir,
                                          device='cpu', allow_download=False,
                                          **WEIGHT_FREE_GROUNDING))

    def _publish_frame(self) -> None:
        now = self.ros.probe.get_clock().now().nanoseconds * 1e-9
        image = compressed_msg(self.image, now, 'front_camera')
        self.fed_stamps.append(image.header.stamp)
        self.info_pub.publish(camera_info_msg(square_intrinsics(), now, 'front_camera'))
        self.image_pub.publish(image)

    def statuses(self) -> list[dict]:
        return self.ros.probe.statuses(self.status_topic)

    def angular(self) -> float:
        return self.cmd[-1].angular.z if self.cmd else 0.0

    def wait_turning(self, direction: float = 1.0) -> None:
        """Until the robot turns toward ``direction`` (+1 left, -1 right)."""
        assert self.ros.spin_until(lambda: self.angular() * direction > 0, timeout=45.0), \
            f'no turn; grounding status: {self.ros.probe.last_status(self.status_topic)}; ' + \
            ' '.join(p.stderr()[-500:] for p in self.processes)

    def wait_turning_left(self) -> None:
        self.wait_turning(1.0)

    def close(self, ros: bool = True) -> None:
        for process in self.processes:
            process.interrupt()  # all first, then wait for each
        for process in self.processes:
            process.stop()
        if ros:
            self.ros.close()


@pytest.fixture(scope='module')
def pipeline(tiny_model_dir, tmp_path_factory):
    running = Pipeline()
    try:
        running.start(tiny_model_dir, tmp_path_factory.mktemp('node_logs'))
        yield running
    finally:
        running.close()


def test_command_is_grounded_across_processes_and_turns_toward_target(pipeline):
    pipeline.wait_turning_left()  # the square is left of the image centre: +angular.z
    status = next(s for s in reversed(pipeline.statuses()) if s['state'] == 'tracking')
    assert status['found'] is True and status['target'] == 'blue box'
    # The frame went test -> camera_node (JPEG decoded) -> grounding_node with its header.
    assert status['frame_id'] == 'front_camera' and status['image_stamp'] in \
        [round(stamp_seconds(s), 6) for s in pipeline.fed_stamps]
    assert np.allclose(status['box'], SQUARE_BOX, atol=8)  # JPEG blurs the edges a little
    assert status['position'][1] > 0 and status['bearing'] > 0


def test_nodes_exit_cleanly_on_sigint_leaving_the_robot_stopped(pipeline):
    pipeline.wait_turning_left()
    for process in pipeline.processes:
        process.interrupt()  # all at once, as Ctrl-C in a launch terminal
    ros = pipeline.ros
    assert ros.spin_until(lambda: all(p.exited() for p in pipeline.processes)), \
        {p.name: p.stderr()[-800:] for p in pipeline.processes if not p.exited()}
    ros.spin_for(0.5)  # messages sent just before the exit
    for process in pipeline.processes:
        assert (process.name, process.process.returncode) == (process.name, 0)
        assert 'Traceback' not in process.stderr(), process.stderr()
    last = pipeline.cmd[-1]
    assert (last.linear.x, last.angular.z) == (0.0, 0.0)


def test_two_namespaced_pipelines_side_by_side_do_not_hear_each_other(tiny_model_dir,
                                                                      tmp_path):
    """
    Two namespaced pipelines side by side do not hear each other.

    Two robots' pipelines (separate processes, __ns remaps) on one DDS domain: each acts
    on its own command and camera only.
    """
    robot1 = Pipeline('robot1')
    robot2 = Pipeline('robot2', image=np.ascontiguousarray(blue_square_image()[:, ::-1]),
                      command=None, ros=robot1.ros)  # square on the right; no command yet
    try:
        for robot in (robot1, robot2):
            (tmp_path / robot.namespace).mkdir()
            robot.start(tiny_model_dir, tmp_path / robot.namespace)
        robot1.wait_turning(+1.0)
        ros = robot1.ros
        assert ros.spin_until(lambda: robot2.statuses())
        assert all(s['command_id'] == 0 and s['state'] == 'idle' for s in robot2.statuses())
        assert all(c.angular.z == 0.0 and c.linear.x == 0.0 for c in robot2.cmd)

        robot2.command_pub.publish(String(data='look at the blue box'))
        robot2.wait_turning(-1.0)
        assert robot2.statuses()[-1]['intent'] == 'face'
        assert {s['command_id'] for s in robot1.statuses()} == {1}
        assert all(s['frame_id'] in (None, 'front_camera') for s in robot2.statuses())
        assert robot1.angular() > 0  # still turning toward its own square
    finally:
        robot2.close(ros=False)
        robot1.close()


@pytest.mark.parametrize('node, arguments, message', [
    ('camera_node', ['-p', 'opencv_hfov_deg:=200.0'],
     r'opencv_hfov_deg 200.0 is outside its range \[1, 178\]'),
    ('action_node', ['-p', 'max_linear:=fast'], "max_linear must be of type float, got 'fast'"),
    ('action_node', ['--params-file', '/nonexistent/params.yaml'],
     "params file '/nonexistent/params.yaml' cannot be read: No such file or directory"),
    ('action_node', ['--params-file', 'BROKEN_YAML'], 'is not valid YAML'),
    ('camera_node', ['--no-such-ros-argument'], 'unknown ROS arguments'),
    ('grounding_node', ['-p', 'model:=/nonexistent/model'],
     "model folder '/nonexistent/model' not found"),
], ids=['out-of-range', 'wrong-type', 'missing-params-file', 'broken-params-file',
        'unknown-argument', 'missing-model'])
def test_start_up_failure_exits_with_status_2_and_one_clear_line(tmp_path, node, arguments,
                                                                 message):
    broken = tmp_path / 'broken.yaml'
    broken.write_text('/**/action_node:\n  ros__parameters:\n    max_linear: [1,\n')
    arguments = [str(broken) if a == 'BROKEN_YAML' else a for a in arguments]
    process = NodeProcess(node, tmp_path, ros_arguments=arguments)
    try:
        assert process.process.wait(TIMEOUT) == 2
    finally:
        process.stop()
    lines = [line for line in process.stderr().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert re.search(f'\\[{node}\\]: invalid configuration: .*{message}', lines[0]), lines[0]
