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

"""camera_node over real DDS: each input mode, resizing, rate limiting, bad frames and QoS."""

from itertools import pairwise
import json
import shutil

from clip_grounding_ros.core.world.camera import Intrinsics
from clip_grounding_ros.nodes.camera_node import CameraNode
from clip_grounding_ros.nodes.common import ConfigError
import cv2
import numpy as np
import pytest
import rclpy
from real_photos import LABELS, photo_path
from ros_helpers import (
    BEST_EFFORT_QOS,
    camera_info_msg,
    compressed_msg,
    image_msg,
    pixels,
    RELIABLE_QOS,
    stamp,
)
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import String

RGB = np.random.default_rng(3).integers(0, 256, (30, 40, 3), dtype=np.uint8)
GREY = RGB[..., 1].copy()
GREY[0, 0], GREY[0, 1] = 0, 255  # full range, so mono16 scaled by its peak maps back exactly
INTRINSICS = Intrinsics(50.0, 52.0, 19.5, 14.5, 40, 30)
STATUS = 'grounding/camera_status'


class CameraRig:
    """A camera node wired to the probe: best-effort inputs, recorded outputs."""

    def __init__(self, ros, **params):
        self.ros, probe = ros, ros.probe
        self.node = ros.start(CameraNode, **params)
        for msg_type, topic in ((Image, 'grounding/image'), (CameraInfo, 'grounding/camera_info'),
                                (String, STATUS)):
            ros.connect(probe.record(msg_type, topic))
        self.images = probe.messages['grounding/image']
        self.infos = probe.messages['grounding/camera_info']
        self.raw_pub = probe.create_publisher(Image, 'camera/image_raw', BEST_EFFORT_QOS)
        self.compressed_pub = probe.create_publisher(
            CompressedImage, 'camera/image_raw/compressed', BEST_EFFORT_QOS)
        self.info_pub = probe.create_publisher(CameraInfo, 'camera/camera_info', BEST_EFFORT_QOS)

    def send_info(self, info: CameraInfo) -> None:
        assert self.ros.publish_until(self.info_pub, info, lambda: self.node.camera_info == info)

    def send(self, msg, publisher=None) -> None:
        """Publish one frame and wait until the node has taken it (forwarded or not)."""
        if publisher is None:
            publisher = self.compressed_pub if isinstance(msg, CompressedImage) else self.raw_pub
        self.ros.connect(publisher)
        received = self.node.counts['received']
        publisher.publish(msg)
        assert self.ros.spin_until(lambda: self.node.counts['received'] > received)

    def wait_images(self, count: int) -> None:
        assert self.ros.spin_until(lambda: len(self.images) >= count), \
            f'{len(self.images)} of {count} frames on grounding/image'

    def wait_infos(self, count: int) -> None:
        assert self.ros.spin_until(lambda: len(self.infos) >= count)


def _alpha(rgb, value):
    return np.dstack([rgb, np.full(rgb.shape[:2], value, np.uint8)])


@pytest.mark.parametrize('encoding, source, pad', [
    ('rgb8', RGB, 0),
    ('bgr8', RGB[..., ::-1], 0),
    ('rgba8', _alpha(RGB, 255), 0),
    ('bgra8', _alpha(RGB[..., ::-1], 0), 0),
    ('mono8', GREY, 0),
    ('mono16', GREY.astype(np.uint16) * 257, 0),
    ('rgb8', RGB, 6),
], ids=['rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8', 'mono16', 'rgb8-padded-step'])
def test_raw_frames_are_forwarded_as_rgb8_with_header_and_camera_info(ros, encoding, source,
                                                                      pad):
    rig = CameraRig(ros)
    rig.send_info(camera_info_msg(INTRINSICS, 12.2, 'camera_info_frame'))
    rig.send(image_msg(source, encoding, 12.25, 'camera_optical', pad))
    rig.wait_images(1)
    rig.wait_infos(1)

    out, info = rig.images[0], rig.infos[0]
    assert (out.encoding, out.width, out.height, out.step) == ('rgb8', 40, 30, 120)
    expected = np.repeat(GREY[..., None], 3, axis=2) if encoding.startswith('mono') else RGB
    np.testing.assert_allclose(pixels(out), expected, atol=1 if encoding == 'mono16' else 0)
    assert out.header.stamp == stamp(12.25) and out.header.frame_id == 'camera_optical'
    assert info.header == out.header  # the image's stamp, not the camera_info's own
    assert (info.width, info.height) == (40, 30)
    assert list(info.k) == pytest.approx(INTRINSICS.k())


def test_max_width_resizes_and_scales_camera_info(ros):
    rig = CameraRig(ros, max_width=20)
    rig.send_info(camera_info_msg(INTRINSICS, 3.0))
    rig.send(image_msg(RGB, 'rgb8', 3.0))
    rig.wait_images(1)
    rig.wait_infos(1)

    out, info = rig.images[0], rig.infos[0]
    assert (out.width, out.height, info.width, info.height) == (20, 15, 20, 15)
    blocks = RGB.reshape(15, 2, 20, 2, 3).astype(float).mean(axis=(1, 3))
    np.testing.assert_allclose(pixels(out), blocks, atol=1)  # a true downscale, not a crop
    # Halving scales focal lengths by 0.5 and moves the principal point with the pixel
    # edges (scale_camera_matrix): c' = (c + 0.5) * 0.5 - 0.5.
    fx, cx, fy, cy = info.k[0], info.k[2], info.k[4], info.k[5]
    assert (fx, fy) == pytest.approx((25.0, 26.0))
    assert (cx, cy) == pytest.approx(((19.5 + 0.5) * 0.5 - 0.5, (14.5 + 0.5) * 0.5 - 0.5))
    assert (info.p[0], info.p[2]) == pytest.approx((fx, cx))


def test_max_rate_hz_drops_frames_on_ros_time(ros):
    """With a simulated clock the rate limit is exact: 2 Hz lets through every 0.5 s."""
    rig = CameraRig(ros, max_rate_hz=2.0, use_sim_time=True)
    offsets = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2)
    for offset in offsets:
        ros.set_clock(rig.node, 100.0 + offset)
        rig.send(image_msg(RGB, 'rgb8', 100.0 + offset))
    rig.wait_images(3)
    ros.set_clock(rig.node, 103.0)  # the 1 s status timer runs on ROS time too
    assert ros.spin_until(lambda: ros.probe.last_status(STATUS).get('received') == 7)

    assert [img.header.stamp for img in rig.images] == [stamp(100.0), stamp(100.6),
                                                        stamp(101.2)]
    status = ros.probe.last_status(STATUS)
    assert (status['published'], status['rate_limited']) == (3, 4)


def test_compressed_jpeg_input(ros):
    rig = CameraRig(ros, input='compressed')
    rgb = np.full((48, 64, 3), 90, np.uint8)  # smooth ramps: what JPEG keeps well
    rgb[..., 0] = np.linspace(0, 255, 64)[None, :]
    rgb[..., 1] = np.linspace(0, 255, 48)[:, None]
    rig.send_info(camera_info_msg(Intrinsics.from_fov(64, 48, 60.0), 7.5))
    rig.send(compressed_msg(rgb, 7.5, 'jpeg_camera'))
    rig.wait_images(1)
    rig.wait_infos(1)

    out = rig.images[0]
    assert (out.encoding, out.width, out.height) == ('rgb8', 64, 48)
    assert np.abs(pixels(out).astype(int) - rgb).mean() < 3  # JPEG is lossy, not wrong
    assert out.header.stamp == stamp(7.5) and out.header.frame_id == 'jpeg_camera'
    assert rig.infos[0].header == out.header


COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


def _write_frames(folder) -> str:
    for index, colour in enumerate(COLOURS):
        cv2.imwrite(str(folder / f'frame_{index}.png'),
                    np.full((24, 32, 3), colour[::-1], np.uint8))  # OpenCV writes BGR
    return str(folder)


def test_opencv_folder_source_publishes_frames_and_its_own_camera_info(ros, tmp_path):
    rig = CameraRig(ros, input='opencv', opencv_source=_write_frames(tmp_path),
                    opencv_rate_hz=20.0, opencv_hfov_deg=90.0, frame_id='desk_camera')
    rig.wait_images(4)  # the folder loops; the first frames may precede the probe's match
    rig.wait_infos(4)

    seen = [COLOURS.index(tuple(int(v) for v in pixels(img)[12, 16])) for img in rig.images]
    assert all(later == (earlier + 1) % 3 for earlier, later in pairwise(seen)), seen
    assert {img.header.frame_id for img in rig.images} == {'desk_camera'}
    info = rig.infos[-1]
    assert info.header.stamp in [img.header.stamp for img in rig.images]
    # 90 deg across 32 px: fx = 16 / tan(45 deg); principal point at the pixel-centre middle.
    assert (info.width, info.height) == (32, 24)
    assert (info.k[0], info.k[4], info.k[2], info.k[5]) == pytest.approx((16, 16, 15.5, 11.5))


def test_opencv_folder_of_real_photographs_publishes_each_as_it_is(ros, tmp_path, photos):
    """Photographs of several sizes, PNG and JPEG, as a folder source: each one, unchanged."""
    entries = json.loads(LABELS.read_text())['photos'][:4]
    for index, entry in enumerate(entries):
        source = photo_path(entry)
        shutil.copy(source, tmp_path / f'{index}_{entry["id"]}{source.suffix}')
    rig = CameraRig(ros, input='opencv', opencv_source=str(tmp_path), opencv_rate_hz=20.0)
    sizes = {tuple(photo.rgb.shape[1::-1]) for photo in photos[:4]}
    assert rig.ros.spin_until(lambda: {(i.width, i.height) for i in rig.images} >= sizes)
    published = {(img.width, img.height): pixels(img) for img in rig.images}
    for photo in photos[:4]:
        assert np.array_equal(published[photo.rgb.shape[1::-1]], photo.rgb), photo.id


def test_opencv_loop_can_be_switched_off_at_run_time(ros, tmp_path):
    rig = CameraRig(ros, input='opencv', opencv_source=_write_frames(tmp_path),
                    opencv_rate_hz=20.0)
    rig.wait_images(1)
    assert rig.node.set_parameters([rclpy.Parameter('opencv_loop', value=False)])[0].successful
    before = len(rig.images)
    ros.spin_for(1.0)  # about 20 reads: a looping folder would give that many frames
    assert len(rig.images) - before <= 3  # the rest of the folder at most


def test_opencv_missing_source_fails_at_construction(ros, tmp_path):
    with pytest.raises(ConfigError, match='missing'):
        ros.start(CameraNode, input='opencv', opencv_source=str(tmp_path / 'missing'))


@pytest.mark.parametrize('params, message', [
    ({'input': 'magic'}, "input 'magic' is not one of: raw, compressed, opencv"),
    ({'opencv_hfov_deg': 200.0}, r'opencv_hfov_deg 200.0 is outside its range \[1, 178\]'),
    ({'max_width': -1}, r'max_width -1 is outside its range \[0, 16384\]'),
])
def test_invalid_parameter_fails_at_construction(ros, params, message):
    with pytest.raises(ConfigError, match=message):
        ros.start(CameraNode, **params)


def _truncated():
    msg = image_msg(RGB, 'rgb8', 5.0)
    msg.data = bytes(msg.data)[:1000]
    return msg


def _unsupported():
    msg = image_msg(RGB, 'rgb8', 5.0)
    msg.encoding = '32FC3'
    return msg


def _zero_size():
    msg = image_msg(RGB, 'rgb8', 5.0)
    msg.width = msg.height = msg.step = 0
    msg.data = b''
    return msg


@pytest.mark.parametrize('bad_frame, error', [
    (_truncated, 'image data has 1000 bytes'),
    (_unsupported, "unsupported image encoding '32FC3'"),
    (_zero_size, 'zero size'),
], ids=['corrupt-length', 'unsupported-encoding', 'zero-size'])
def test_bad_frame_is_reported_dropped_and_survived(ros, bad_frame, error):
    rig = CameraRig(ros)
    rig.send(bad_frame())
    assert ros.spin_until(lambda: ros.probe.last_status(STATUS).get('state') == 'error')
    status = ros.probe.last_status(STATUS)
    assert error in status['last_error'] and 'stamped 5.000' in status['last_error']
    assert status['errors'] == 1 and status['published'] == 0

    rig.send(image_msg(RGB, 'rgb8', 6.0))
    rig.wait_images(1)
    assert [img.header.stamp for img in rig.images] == [stamp(6.0)]  # nothing for the bad one


def test_best_effort_and_reliable_publishers_both_feed_the_camera(ros):
    rig = CameraRig(ros)
    reliable = ros.probe.create_publisher(Image, 'camera/image_raw', RELIABLE_QOS)
    rig.send(image_msg(RGB, 'rgb8', 1.0), rig.raw_pub)
    rig.send(image_msg(RGB, 'rgb8', 2.0), reliable)
    rig.wait_images(2)
    assert [img.header.stamp for img in rig.images] == [stamp(1.0), stamp(2.0)]


def test_camera_info_too_old_for_the_frame_is_not_forwarded_and_says_why(ros):
    rig = CameraRig(ros)
    rig.send_info(camera_info_msg(INTRINSICS, 1.0))
    rig.send(image_msg(RGB, 'rgb8', 12.25))
    rig.wait_images(1)
    assert ros.spin_until(lambda: any('camera_info is 11.25 s from the frame' in w
                                      for w in ros.probe.last_status(STATUS).get('warnings', [])))
    assert not rig.infos
    rig.node.set_parameters([rclpy.Parameter('camera_info_max_age', value=0.0)])  # any age
    rig.send(image_msg(RGB, 'rgb8', 13.0))
    rig.wait_infos(1)


def test_region_of_interest_and_binning_are_applied_to_the_published_camera_info(ros):
    """
    A camera streaming a binned region of its sensor publishes matching CameraInfo.

    A camera that streams a 640x400 region of its 1280x800 sensor (image_geometry's
    convention): the published CameraInfo describes the 20x10 image actually sent.
    """
    rig = CameraRig(ros)
    full = camera_info_msg(Intrinsics(1000.0, 1000.0, 640.0, 400.0, 1280, 800), 5.0)
    full.roi.x_offset, full.roi.y_offset, full.roi.width, full.roi.height = 320, 200, 640, 400
    full.binning_x = full.binning_y = 32  # 640x400 binned to 20x12 (integer division)
    rig.send_info(full)
    small = np.zeros((12, 20, 3), np.uint8)
    rig.send(image_msg(small, 'rgb8', 5.0))
    rig.wait_infos(1)
    info = rig.infos[0]
    assert (info.width, info.height, info.binning_x, info.roi.width) == (20, 12, 0, 0)
    assert list(info.k) == pytest.approx([1000 / 32, 0, (640 - 320) / 32,
                                          0, 1000 / 32, (400 - 200) / 32, 0, 0, 1])


@pytest.mark.parametrize('width', [3, 1])
def test_odd_width_yuv_frame_is_dropped_reported_and_survived(ros, width):
    rig = CameraRig(ros)
    rig.send(image_msg(np.zeros((2, width, 2), np.uint8), 'uyvy', 4.0))
    assert ros.spin_until(lambda: ros.probe.last_status(STATUS).get('errors', 0) >= 1 or
                          ros.probe.last_status(STATUS).get('warnings'))
    rig.send(image_msg(RGB, 'rgb8', 6.0))
    rig.wait_images(1)


def test_rate_limit_restarts_when_ros_time_goes_back(ros):
    rig = CameraRig(ros, max_rate_hz=1.0, use_sim_time=True)
    ros.set_clock(rig.node, 500.0)
    rig.send(image_msg(RGB, 'rgb8', 500.0))
    ros.set_clock(rig.node, 2.0)  # a simulation reset
    rig.send(image_msg(RGB, 'rgb8', 2.0))
    rig.wait_images(2)  # not blocked until time catches up with 501 s


def test_diagnostics_turn_from_error_to_streaming_once_frames_flow(ros):
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    rig = CameraRig(ros)
    ros.connect(ros.probe.record(DiagnosticArray, '/diagnostics'))
    arrays = ros.probe.messages['/diagnostics']

    def latest():
        ours = [s for a in arrays for s in a.status
                if s.name == 'camera_node: grounding/camera_status']
        return ours[-1] if ours else None
    rig.send(_truncated())
    assert ros.spin_until(lambda: latest() is not None and
                          latest().level == DiagnosticStatus.ERROR)
    dropped = {v.key: v.value for v in latest().values}['warning_1']
    assert 'image data has 1000 bytes' in dropped
    rig.send(image_msg(RGB, 'rgb8', 6.0))
    rig.wait_images(1)
    # Streaming now: a warning while the dropped frame is among its recent (10 s) warnings.
    assert ros.spin_until(lambda: latest().message.startswith('streaming'))
    values = {v.key: v.value for v in latest().values}
    assert values['published'] == '1' and values['errors'] == '1'
    assert latest().level == DiagnosticStatus.WARN and values['warning_1'] == dropped
