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
The grounding_node over real DDS with the tiny random-weight CLIP.

Commands, status, targets, QoS of the command topic and parameter validation.

Random weights: only the weight-independent set-up of ros_helpers (WEIGHT_FREE_GROUNDING
on blue_square_image) may lead to a target; every other test checks plumbing.
"""

import math

from clip_grounding_ros.core.world.camera import CameraMount, locate_box
from clip_grounding_ros.nodes.common import COMMAND_LATCHED_QOS, COMMAND_VOLATILE_QOS, ConfigError
from clip_grounding_ros.nodes.grounding_node import GroundingNode
from geometry_msgs.msg import PoseStamped
import numpy as np
import pytest
from rcl_interfaces.srv import SetParameters
import rclpy
from ros_helpers import (
    BEST_EFFORT_QOS,
    blue_square_image,
    camera_info_msg,
    image_msg,
    SQUARE_BOX,
    square_intrinsics,
    WEIGHT_FREE_GROUNDING,
)
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

STATUS, TARGET = 'grounding/status', 'grounding/target'
MOUNT = {'camera_x': 0.2, 'camera_y': 0.0, 'camera_z': 0.5, 'camera_pitch_deg': 25.0}


class GroundingRig:
    """A grounding node on the tiny model, fed frames and commands by the probe."""

    def __init__(self, ros, model_dir, **params):
        self.ros, probe = ros, ros.probe
        self.node = ros.start(GroundingNode, model=model_dir, device='cpu',
                              allow_download=False, **params)
        ros.connect(probe.record(String, STATUS))
        probe.record(PoseStamped, TARGET)
        self.targets = probe.messages[TARGET]
        self.image_pub = probe.create_publisher(Image, 'grounding/image', BEST_EFFORT_QOS)
        self.info_pub = probe.create_publisher(CameraInfo, 'grounding/camera_info',
                                               BEST_EFFORT_QOS)
        self.command_pub = probe.create_publisher(String, 'command', COMMAND_VOLATILE_QOS)
        self.fed_stamps = []

    def feed(self, rgb: np.ndarray, info: CameraInfo | None = None) -> None:
        """Publish ``rgb`` (and ``info``) at 10 Hz (wall time), each frame stamped now."""
        def publish():
            now = self.ros.probe.get_clock().now().nanoseconds * 1e-9
            msg = image_msg(rgb, 'rgb8', now, 'camera_optical')
            self.fed_stamps.append(msg.header.stamp)
            if info is not None:
                info.header.stamp = msg.header.stamp  # as camera_node sends it
                self.info_pub.publish(info)
            self.image_pub.publish(msg)
        self.ros.probe.create_timer(0.1, publish)

    def command(self, text: str, publisher=None) -> None:
        publisher = publisher or self.command_pub
        self.ros.connect(publisher)
        publisher.publish(String(data=text))

    def statuses(self) -> list[dict]:
        return self.ros.probe.statuses(STATUS)

    def wait_status(self, predicate) -> dict:
        """Return the first status that satisfies ``predicate``, waiting for it if need be."""
        def match():
            return next((s for s in self.statuses() if predicate(s)), None)
        assert self.ros.spin_until(lambda: match() is not None), \
            f'no such status; last: {self.ros.probe.last_status(STATUS)}'
        return match()


@pytest.fixture
def grounding(ros, tiny_model_dir):
    """Return a factory of GroundingRigs with the given parameters."""
    return lambda **params: GroundingRig(ros, tiny_model_dir, **params)


def test_command_before_any_frame_reports_missing_frames(grounding, capfd):
    rig = grounding()
    rig.command('go to the blue box')
    status = rig.wait_status(lambda s: s['state'] == 'error')
    assert 'no camera frames on grounding/image yet' in status['message']
    assert status['command_id'] == 1 and status['found'] is False
    assert not rig.targets
    rig.ros.spin_for(1.5)  # heartbeats repeat the error on the topic, not in the log
    logged = [line for line in capfd.readouterr().err.splitlines() if '[grounding_node]' in line]
    assert [line for line in logged if 'no camera frames' in line and '[ERROR]' in line] == [
        next(line for line in logged if 'error: no camera frames' in line)], logged


@pytest.mark.parametrize('text', ['', 'dance'])
def test_unusable_command_reports_error_with_examples(grounding, text, capfd):
    rig = grounding()
    for _ in range(2):  # each refusal is logged, a second one too
        rig.command(text)
        status = rig.wait_status(lambda s: s['state'] == 'error')
        assert 'try for example' in status['message']
        assert 'go to the blue box' in status['message']
        assert status['command'] == text and status['intent'] is None
    rig.wait_status(lambda s: s['command_id'] == 2)
    logged = capfd.readouterr().err
    assert logged.count('[grounding_node]: error: ') == 2 and 'try for example' in logged
    assert logged.count(f"[grounding_node]: command '{text}' refused") == 2


def test_unknown_object_is_searched_then_lost(grounding):
    # On a simulated clock held still between steps, so load cannot skip 'searching'.
    rig = grounding(strategy='crops', max_crops=2, score_threshold=1.0, lost_timeout=0.5,
                    use_sim_time=True)
    ros = rig.ros
    ros.set_clock(rig.node, 100.0)
    rig.feed(blue_square_image(), camera_info_msg(square_intrinsics()))
    assert ros.spin_until(lambda: rig.node.frame is not None)  # grounded with the command
    rig.command('go to the purple elephant')
    rig.wait_status(lambda s: s['state'] == 'searching' and s['score'] is not None)
    ros.advance_until(rig.node, lambda: rig.statuses()[-1]['state'] == 'lost', step=0.6)

    groundings = [s for s in rig.statuses() if s['score'] is not None]
    states = [s['state'] for s in groundings]
    assert states[0] == 'searching' and states[-1] == 'lost'
    after_command = [s for s in rig.statuses() if s['command_id'] == 1]  # not idle heartbeats
    assert all(s['found'] is False and s['target'] == 'purple elephant' for s in after_command)
    assert 'below the threshold 1.00' in rig.statuses()[-1]['message']
    assert not rig.targets


@pytest.mark.parametrize('info, error', [
    (None, 'no camera_info received on grounding/camera_info'),
    (CameraInfo(width=320, height=240), 'uncalibrated'),
], ids=['missing', 'all-zero-K'])
def test_unusable_camera_info_reports_error_and_no_target(grounding, info, error):
    rig = grounding(**WEIGHT_FREE_GROUNDING)
    rig.feed(blue_square_image(), info)
    rig.command('go to the blue box')
    status = rig.wait_status(lambda s: s['state'] == 'error' and s['score'] is not None)
    assert error in status['message'] and 'cannot place it' in status['message']
    assert status['found'] is False
    assert not rig.targets


def test_found_target_is_published_in_base_frame_with_image_stamp(grounding):
    # Weight-independent (see ros_helpers.WEIGHT_FREE_GROUNDING): the one proposal scored
    # is the blue square and threshold 0 accepts it, whatever the random weights say.
    rig = grounding(base_frame='test_base', **WEIGHT_FREE_GROUNDING, **MOUNT)
    rig.ros.probe.record(Image, 'grounding/debug_image')
    debug_images = rig.ros.probe.messages['grounding/debug_image']
    rig.feed(blue_square_image(), camera_info_msg(square_intrinsics()))
    rig.command('go to the blue box')
    assert rig.ros.spin_until(lambda: rig.targets and debug_images)
    status = rig.wait_status(lambda s: s['state'] == 'tracking')

    target = rig.targets[0]
    assert target.header.frame_id == 'test_base'
    assert target.header.stamp in rig.fed_stamps  # the image's time, not the node's now
    # The camera's frame stays the camera's: in the status and on the debug image.
    assert status['frame_id'] == debug_images[0].header.frame_id == 'camera_optical'
    assert (debug_images[0].width, debug_images[0].height) == (320, 240)
    for field in ('intent', 'target', 'box', 'score', 'distance', 'bearing', 'command_id'):
        assert field in status, field
    assert (status['intent'], status['target'], status['command_id']) == \
        ('approach', 'blue box', 1)
    assert status['found'] is True and status['base_frame'] == 'test_base'
    assert np.allclose(status['box'], SQUARE_BOX, atol=3)
    mount = CameraMount(x=MOUNT['camera_x'], y=MOUNT['camera_y'], z=MOUNT['camera_z'],
                        pitch=math.radians(MOUNT['camera_pitch_deg']))
    expected = locate_box(status['box'], square_intrinsics(), mount)
    position = target.pose.position
    assert position.y > 0  # left of the image centre is +y (REP-103)
    assert (position.x, position.y) == pytest.approx((expected.x, expected.y), abs=0.01)
    assert status['bearing'] > 0 and status['distance'] == pytest.approx(
        math.hypot(position.x, position.y), abs=0.01)


def test_same_frame_is_not_grounded_twice(grounding):
    rig = grounding(image_timeout=30.0, rate_hz=20.0, **WEIGHT_FREE_GROUNDING)
    ros, node = rig.ros, rig.node
    # Each grounding publishes one annotated frame while someone subscribes: a count of them.
    ros.connect(ros.probe.record(Image, 'grounding/debug_image'))
    groundings = ros.probe.messages['grounding/debug_image']
    ros.publish_until(rig.info_pub, camera_info_msg(square_intrinsics(), 50.0),
                      lambda: node.camera_infos.nearest(50.0) is not None)
    frame = image_msg(blue_square_image(), 'rgb8', 50.0)
    ros.publish_until(rig.image_pub, frame, lambda: node.frame is not None)
    rig.command('go to the blue box')
    rig.wait_status(lambda s: s['state'] == 'tracking')
    assert ros.spin_until(lambda: groundings)
    count = len(groundings)
    ros.spin_for(1.0)  # 20 ticks at 20 Hz, all on the same frame
    assert len(groundings) == count

    frame.header.stamp.sec = 51
    info = camera_info_msg(square_intrinsics(), 51.0)
    ros.publish_until(rig.info_pub, info, lambda: node.camera_infos.nearest(51.0) is not None
                      and node.camera_infos.nearest(51.0).header.stamp.sec == 51)
    rig.image_pub.publish(frame)
    assert ros.spin_until(lambda: len(groundings) == count + 1)
    assert groundings[-1].header.stamp.sec == 51
    ros.spin_for(0.5)
    assert len(groundings) == count + 1


def test_each_frame_is_paired_with_the_camera_info_of_its_own_stamp(grounding):
    """
    A frame takes the camera_info stamped like it, not the newest one.

    At one frame per second the next frame's camera_info may arrive before this frame is
    grounded: paired by arrival, the frame would be 1 s from its calibration (past
    max_input_skew) and the target could not be placed.
    """
    rig = grounding(image_timeout=30.0, **WEIGHT_FREE_GROUNDING)
    ros, node = rig.ros, rig.node

    def received(stamp):
        info = node.camera_infos.nearest(stamp)
        return info is not None and info.header.stamp.sec == stamp

    for stamp in (50, 51):
        ros.publish_until(rig.info_pub, camera_info_msg(square_intrinsics(), float(stamp)),
                          lambda stamp=stamp: received(stamp))
    frame = image_msg(blue_square_image(), 'rgb8', 50.0)
    ros.publish_until(rig.image_pub, frame, lambda: node.frame is not None)
    rig.command('go to the blue box')
    status = rig.wait_status(lambda s: s['state'] == 'tracking')
    assert status['image_stamp'] == 50.0 and status['found'], status
    assert not any('camera_info is' in s['message'] for s in rig.statuses())


def test_classification_command_reports_probabilities(grounding):
    rig = grounding()
    rig.feed(blue_square_image())
    rig.command('classify: a cat, a dog')
    status = rig.wait_status(lambda s: s['classification'])
    assert status['state'] == 'classifying' and status['intent'] == 'classify'
    entries = status['classification']
    assert sorted(e['prompt'] for e in entries) == ['a cat', 'a dog']
    assert sum(e['probability'] for e in entries) == pytest.approx(1.0, abs=1e-3)
    assert not rig.targets


@pytest.mark.parametrize('how', ['latched-before-node', 'latched', 'volatile'])
def test_command_is_received_once(ros, tiny_model_dir, how):
    """
    Each command is received and handled once.

    Latched history reaches the node; live messages arrive on both its subscriptions
    when the publisher is latched, and are handled once (command ids count handlings).
    """
    latched = ros.probe.create_publisher(String, 'command', COMMAND_LATCHED_QOS)
    if how == 'latched-before-node':
        latched.publish(String(data='go to the blue box'))
    rig = GroundingRig(ros, tiny_model_dir)
    if how == 'latched':
        ros.connect(latched, count=2)  # the node's transient-local and volatile readers
        rig.command('go to the blue box', latched)
    elif how == 'volatile':
        rig.command('go to the blue box')
    rig.wait_status(lambda s: s['command'] == 'go to the blue box')

    rig.command('go to the red ball')
    second = rig.wait_status(lambda s: s['command'] == 'go to the red ball')
    assert second['command_id'] == 2
    assert {s['command_id'] for s in rig.statuses() if s['command'] == 'go to the blue box'} \
        == {1}


@pytest.mark.parametrize('name, value, message', [
    ('strategy', 'magic', "strategy 'magic' is not one of: crops, dense, hybrid"),
    ('score_threshold', 2.0, r'score_threshold 2.0 is outside its range \[0, 1\]'),
    ('rate_hz', 0.0, r'rate_hz 0.0 is outside its range \[0.01, 100\]'),
])
def test_invalid_parameter_fails_at_construction(ros, tiny_model_dir, name, value, message):
    with pytest.raises(ConfigError, match=message):
        ros.start(GroundingNode, model=tiny_model_dir, device='cpu', **{name: value})


@pytest.mark.parametrize('name, value, message', [
    ('strategy', 'magic', 'magic'),
    ('score_threshold', 2.0, 'score_threshold'),
    ('rate_hz', 0.0, 'rate_hz'),
])
def test_parameter_changes_at_run_time_are_validated(grounding, name, value, message):
    rig = grounding()
    ros = rig.ros
    client = ros.probe.create_client(SetParameters, '/grounding_node/set_parameters')
    assert ros.spin_until(client.service_is_ready)

    def set_parameter(param_name, param_value):
        future = client.call_async(SetParameters.Request(parameters=[
            rclpy.Parameter(param_name, value=param_value).to_parameter_msg()]))
        assert ros.spin_until(future.done)
        return future.result().results[0]

    refused = set_parameter(name, value)
    assert refused.successful is False and message in refused.reason
    rig.command('go to the blue box')
    assert rig.wait_status(lambda s: s['command_id'] == 1)['strategy'] == 'hybrid'

    assert set_parameter('strategy', 'dense').successful
    rig.command('go to the red ball')
    assert rig.wait_status(lambda s: s['command_id'] == 2)['strategy'] == 'dense'
    assert set_parameter('rate_hz', 2.0).successful
    assert rig.node.timer.timer_period_ns == 500_000_000  # the grounding timer follows


def test_missing_model_folder_fails_at_construction(ros, tmp_path):
    folder = tmp_path / 'no_model_here'
    with pytest.raises(ConfigError, match=str(folder)):
        ros.start(GroundingNode, model=str(folder), device='cpu')


def test_detections_carry_the_phrase_score_and_box_in_source_pixels(grounding):
    from vision_msgs.msg import Detection2DArray  # built into the venv by scripts/setup

    rig = grounding(**WEIGHT_FREE_GROUNDING)
    probe = rig.ros.probe
    probe.record(Detection2DArray, 'grounding/detections')
    arrays = probe.messages['grounding/detections']
    rig.feed(blue_square_image(), camera_info_msg(square_intrinsics()))
    rig.command('go to the blue box')
    assert rig.ros.spin_until(lambda: any(a.detections for a in arrays))
    array = next(a for a in arrays if a.detections)
    status = rig.wait_status(lambda s: s['state'] == 'tracking')
    assert array.header.frame_id == 'camera_optical' and array.header.stamp in rig.fed_stamps
    best = array.detections[0]
    assert best.header == array.header
    (hypothesis,) = best.results
    assert hypothesis.hypothesis.class_id == 'blue box'
    assert hypothesis.hypothesis.score == pytest.approx(status['score'], abs=1e-3)
    x1, y1, x2, y2 = SQUARE_BOX
    assert (best.bbox.center.position.x, best.bbox.center.position.y) == pytest.approx(
        ((x1 + x2) / 2, (y1 + y2) / 2), abs=3)
    assert (best.bbox.size_x, best.bbox.size_y) == pytest.approx((x2 - x1, y2 - y1), abs=3)


def test_nothing_found_is_an_empty_detection_array(grounding):
    from vision_msgs.msg import Detection2DArray

    rig = grounding(strategy='crops', max_crops=2, score_threshold=1.0)
    rig.ros.probe.record(Detection2DArray, 'grounding/detections')
    arrays = rig.ros.probe.messages['grounding/detections']
    rig.feed(blue_square_image(), camera_info_msg(square_intrinsics()))
    rig.command('go to the red ball')
    assert rig.ros.spin_until(lambda: arrays)
    assert arrays[0].detections == [] and arrays[0].header.frame_id == 'camera_optical'


def test_without_vision_msgs_the_node_runs_on_and_says_so(tmp_path, tiny_model_dir):
    """
    Without vision_msgs the node runs on and says so.

    Where vision_msgs is not installed (hidden from this interpreter here), no detections
    topic is created, one log line says why, and grounding works as before.
    """
    import subprocess
    import sys

    script = f"""
import sys
sys.modules['vision_msgs'] = None  # as if not installed
import rclpy
from clip_grounding_ros.nodes.grounding_node import GroundingNode
rclpy.init()
node = GroundingNode(parameter_overrides=[rclpy.Parameter('model', value={tiny_model_dir!r}),
                                          rclpy.Parameter('device', value='cpu')])
topics = [name for name, _ in node.get_publisher_names_and_types_by_node(
    'grounding_node', node.get_namespace())]
print('TOPICS', sorted(topics))
node.destroy_node()
rclpy.shutdown()
"""
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'vision_msgs is not installed: grounding/detections is not published' in \
        result.stderr + result.stdout
    topics = result.stdout.split('TOPICS', 1)[1]
    assert '/grounding/status' in topics and '/grounding/detections' not in topics


def test_each_step_begins_when_the_action_node_reports_the_last_one_done(grounding):
    from clip_grounding_ros.core.contract.protocol import StepOutcome
    from clip_grounding_ros.core.contract.status import ActionState, ActionStatus
    from clip_grounding_ros.nodes.common import STATUS_QOS

    rig = grounding(**WEIGHT_FREE_GROUNDING)
    action_pub = rig.ros.probe.create_publisher(String, 'action/status', STATUS_QOS)
    rig.ros.connect(action_pub)
    rig.feed(blue_square_image(), camera_info_msg(square_intrinsics()))
    rig.command('move forward 1 meter, then go to the blue box, then turn left')
    first = rig.wait_status(lambda s: s['command_id'] == 1)
    assert (first['step'], first['steps'], first['intent']) == (0, 3, 'move')
    assert first['motion_distance'] == 1.0 and 'step 1/3' in first['message']

    def report(step, state, reason='done', run_id=first['run_id']):
        outcome = {'reached': StepOutcome.DONE, 'failed': StepOutcome.FAILED}[state]
        action_pub.publish(String(data=ActionStatus(
            state=ActionState(state), reason=reason, run_id=run_id, command_id=1, step=step,
            outcome=outcome).to_json()))
    report(0, 'reached', run_id='another-run')  # from before a restart: not this command
    rig.ros.spin_for(0.5)
    assert rig.statuses()[-1]['step'] == 0
    report(0, 'reached')
    second = rig.wait_status(lambda s: s['step'] == 1)
    assert (second['intent'], second['target']) == ('approach', 'blue box')
    report(1, 'failed', 'blocked for 10 s: no free heading')
    failed = rig.wait_status(lambda s: s['state'] == 'stopped')
    assert failed['step'] == 1
    assert 'step 2/3: failed: blocked for 10 s' in failed['message']
    assert 'the rest of the command is cancelled' in failed['message']
    report(2, 'reached')  # no such step any more: nothing changes
    rig.ros.spin_for(0.5)
    assert rig.statuses()[-1]['step'] == 1


def test_the_worker_grounds_only_the_newest_frame_and_targets_follow_at_camera_rate(
        grounding):
    """
    The worker grounds only the newest frame; targets follow at camera rate.

    Frames at 20 Hz, groundings at 2 Hz: each grounding takes the newest frame (never a
    queue of old ones), and the tracker publishes a target for the frames in between.
    """
    rig = grounding(rate_hz=2.0, **WEIGHT_FREE_GROUNDING)
    rig.ros.probe.record(PoseStamped, TARGET)
    image = blue_square_image()
    info = camera_info_msg(square_intrinsics())
    shift = [0]

    def publish():
        now = rig.ros.probe.get_clock().now().nanoseconds * 1e-9
        shift[0] = (shift[0] + 1) % 6  # the square wobbles a few pixels
        msg = image_msg(np.roll(image, shift[0], axis=1), 'rgb8', now, 'camera_optical')
        rig.fed_stamps.append(msg.header.stamp)
        info.header.stamp = msg.header.stamp
        rig.info_pub.publish(info)
        rig.image_pub.publish(msg)
    rig.ros.probe.create_timer(0.05, publish)
    rig.command('go to the blue box')
    assert rig.ros.spin_until(lambda: len([s for s in rig.statuses()
                                           if s['target_source'] == 'grounded']) >= 3)
    grounded = [s['image_stamp'] for s in rig.statuses() if s['target_source'] == 'grounded']
    assert grounded == sorted(set(grounded))  # each frame once, never an older one
    assert len(rig.fed_stamps) > 3 * len(set(grounded))  # most frames were not grounded...
    tracked = [s for s in rig.statuses() if s['target_source'] == 'tracked']
    assert tracked and len(rig.targets) > 2 * len(set(grounded))  # ...but followed
    assert all(s['grounding_age'] is not None and s['grounding_age'] >= 0 for s in tracked)


def test_diagnostics_carry_the_error_and_the_model(grounding, tiny_model_dir):
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    rig = grounding()
    rig.ros.connect(rig.ros.probe.record(DiagnosticArray, '/diagnostics'))
    arrays = rig.ros.probe.messages['/diagnostics']
    rig.command('go to the blue box')  # no camera frames: an error

    def error():
        return next((s for a in arrays for s in a.status
                     if s.name == 'grounding_node: grounding/status' and
                     s.level == DiagnosticStatus.ERROR), None)
    assert rig.ros.spin_until(lambda: error() is not None), arrays[-1:] if arrays else 'none'
    status = error()
    assert status.message.startswith('error: no camera frames on grounding/image')
    values = {v.key: v.value for v in status.values}
    assert values['state'] == 'error' and values['command'] == 'go to the blue box'
    assert values['model'] == str(tiny_model_dir) and values['backend'] and values['device']
