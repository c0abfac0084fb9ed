"""The nodes as separate processes over DDS on loopback, as on a robot whose grounding node
runs on another machine: JPEG frames in, a turn toward the target out, a clean Ctrl-C.

The test process plays the camera driver (CompressedImage + CameraInfo) and the operator
(a latched command), and observes grounding/status and cmd_vel. The scene is the
weight-independent one of ros_helpers, so the tiny random model still finds the square.
"""

import numpy as np
import pytest
from geometry_msgs.msg import Twist
from sensor_msgs.msg import CameraInfo, CompressedImage
from std_msgs.msg import String

from clip_grounding_ros.nodes.common import COMMAND_LATCHED_QOS, stamp_seconds
from ros_helpers import (BEST_EFFORT_QOS, SQUARE_BOX, TIMEOUT, WEIGHT_FREE_GROUNDING,
                         NodeProcess, RosHarness, blue_square_image, camera_info_msg,
                         compressed_msg, square_intrinsics)

STATUS = 'grounding/status'


class Pipeline:
    """camera_node (compressed input), grounding_node and action_node processes, fed and
    watched by a probe in this process."""

    def __init__(self):
        self.ros = RosHarness()
        self.processes: list[NodeProcess] = []
        probe = self.ros.probe
        probe.record(String, STATUS)
        probe.record(Twist, 'cmd_vel')
        self.cmd = probe.messages['cmd_vel']
        self.image_pub = probe.create_publisher(CompressedImage, 'camera/image_raw/compressed',
                                                BEST_EFFORT_QOS)
        self.info_pub = probe.create_publisher(CameraInfo, 'camera/camera_info', BEST_EFFORT_QOS)
        self.fed_stamps = []
        probe.create_timer(0.2, self._publish_frame)
        command = probe.create_publisher(String, 'command', COMMAND_LATCHED_QOS)
        command.publish(String(data='go to the blue box'))  # latched for late joiners

    def start(self, model_dir: str, log_dir) -> None:
        """The node processes, added one by one so that close() stops all that started."""
        self.processes.append(NodeProcess('camera_node', log_dir, input='compressed'))
        # A generous target_timeout: three processes share two loaded cores here.
        self.processes.append(NodeProcess('action_node', log_dir, target_timeout=5.0))
        self.processes.append(NodeProcess('grounding_node', log_dir, model=model_dir,
                                          device='cpu', allow_download=False,
                                          **WEIGHT_FREE_GROUNDING))

    def _publish_frame(self) -> None:
        now = self.ros.probe.get_clock().now().nanoseconds * 1e-9
        image = compressed_msg(blue_square_image(), now, 'front_camera')
        self.fed_stamps.append(image.header.stamp)
        self.info_pub.publish(camera_info_msg(square_intrinsics(), now, 'front_camera'))
        self.image_pub.publish(image)

    def angular(self) -> float:
        return self.cmd[-1].angular.z if self.cmd else 0.0

    def wait_turning_left(self) -> None:
        assert self.ros.spin_until(lambda: self.angular() > 0, timeout=45.0), \
            f'no turn; grounding status: {self.ros.probe.last_status(STATUS)}; ' + \
            ' '.join(p.stderr()[-500:] for p in self.processes)

    def close(self) -> None:
        for process in self.processes:
            process.interrupt()  # all first, then wait for each
        for process in self.processes:
            process.stop()
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
    status = next(s for s in reversed(pipeline.ros.probe.statuses(STATUS))
                  if s['state'] == 'tracking')
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


def test_invalid_configuration_exits_with_status_2_and_one_clear_line(tmp_path):
    camera = NodeProcess('camera_node', tmp_path, opencv_hfov_deg=200.0)
    try:
        assert camera.process.wait(TIMEOUT) == 2
    finally:
        camera.stop()
    assert 'invalid configuration: field of view 200.0 deg is out of range' in camera.stderr()
    assert 'Traceback' not in camera.stderr()
