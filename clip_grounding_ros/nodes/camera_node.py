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
camera_node: camera topics or a local source in, newest rgb8 frames out.

Subscribes `camera/image_raw` (or `camera/image_raw/compressed`) and `camera/camera_info`
with sensor-data QoS, or reads a local OpenCV source; publishes `grounding/image` (rgb8,
the original header) and `grounding/camera_info` (scaled to the published size), and a
JSON status on `grounding/camera_status` (see core.contract.status).

The published CameraInfo describes exactly the published image: the camera's region of
interest and binning applied, then any resize. A message that cannot be used (a bad
encoding, an odd size, a camera_info too old for the frame) is dropped and reported on the
status; the node runs on.
"""

from __future__ import annotations

import cv2
import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from .common import (
    camera_info_for_image,
    compressed_to_rgb,
    ConfigError,
    Faults,
    image_to_rgb,
    intrinsics_to_camera_info,
    LATEST_QOS,
    now_seconds,
    rgb_to_image,
    SENSOR_QOS,
    stamp_seconds,
    StatusPublisher,
)
from .parameters import declare_parameters, watch_parameters
from ..core.contract.parameters import ParamSpec
from ..core.contract.status import CameraState, CameraStatus
from ..core.contract.timing import RateLimiter
from ..core.perception.images import ImageError
from ..core.perception.sources import FrameInput, FrameSource, SourceError
from ..core.world.camera import GeometryError, Intrinsics

PARAMS = (
    ParamSpec('input', FrameInput.RAW, "Frame source: 'raw' (sensor_msgs/Image on "
              "camera/image_raw), 'compressed' (sensor_msgs/CompressedImage on "
              "camera/image_raw/compressed) or 'opencv' (the local source named by "
              'opencv_source)', read_only=True),
    ParamSpec('opencv_source', '0', "Local source for input 'opencv': a device index ('0'), "
              'a video file or a folder of images', read_only=True),
    ParamSpec('opencv_rate_hz', 15.0, 'Frames per second read from the local source',
              minimum=0.1, maximum=1000.0, read_only=True),
    ParamSpec('opencv_loop', True, 'Restart a video or folder at its end'),
    ParamSpec('opencv_hfov_deg', 60.0, 'Horizontal field of view (deg) for the CameraInfo '
              'published with a local source, which has no calibration',
              minimum=1.0, maximum=178.0),
    ParamSpec('frame_id', 'camera_optical_frame', 'frame_id stamped on frames from a local '
              'source'),
    ParamSpec('max_width', 0, 'Frames wider than this are resized (aspect kept) before '
              'publishing; 0 keeps the original size', minimum=0, maximum=16384),
    ParamSpec('max_rate_hz', 0.0, 'Forward at most this many frames per second (ROS time); '
              '0 forwards every frame', minimum=0.0, maximum=1000.0),
    ParamSpec('camera_info_max_age', 1.0, 'camera_info stamped further than this (s) from a '
              'frame is not forwarded with it; 0 accepts any age (a calibration published '
              'once)', minimum=0.0, maximum=3600.0),
)


class CameraNode(Node):

    def __init__(self, **kwargs):
        super().__init__('camera_node', **kwargs)
        self._settings = declare_parameters(self, PARAMS)
        self.faults = Faults(self)
        self.image_pub = self.create_publisher(Image, 'grounding/image', LATEST_QOS)
        self.info_pub = self.create_publisher(CameraInfo, 'grounding/camera_info', LATEST_QOS)
        self.status_pub = StatusPublisher(self, 'grounding/camera_status')
        self.camera_info: CameraInfo | None = None
        self.counts = {'received': 0, 'published': 0, 'rate_limited': 0, 'errors': 0}
        self.last_error = ''
        self.rate = RateLimiter(self._settings['max_rate_hz'])
        self.source: FrameSource | None = None
        mode = self._settings['input']
        if mode == FrameInput.OPENCV:
            try:
                self.source = FrameSource(self._settings['opencv_source'],
                                          self._settings['opencv_loop'])
            except SourceError as error:
                raise ConfigError(str(error)) from None
            self.create_timer(1.0 / self._settings['opencv_rate_hz'],
                              self.faults.guard('local source', self._read_local))
        else:
            self.faults.subscribe(CameraInfo, 'camera/camera_info', self._on_info, SENSOR_QOS)
            if mode == FrameInput.RAW:
                self.faults.subscribe(Image, 'camera/image_raw', self._on_image, SENSOR_QOS)
            else:
                self.faults.subscribe(CompressedImage, 'camera/image_raw/compressed',
                                      self._on_compressed, SENSOR_QOS)
        self.create_timer(1.0, self.faults.guard('status', self._publish_status))
        watch_parameters(self, PARAMS, lambda values: values, self._apply)
        self.get_logger().info(f"camera_node: input '{mode}'")

    def _apply(self, values: dict) -> None:
        self._settings = values
        self.rate.rate_hz = values['max_rate_hz']
        if self.source is not None:
            self.source.loop = values['opencv_loop']  # a run-time change applies at the end

    # -- inputs ---------------------------------------------------------------------------
    def _on_info(self, msg: CameraInfo) -> None:
        self.camera_info = msg

    def _on_image(self, msg: Image) -> None:
        self._forward(msg.header, lambda: image_to_rgb(msg))

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._forward(msg.header, lambda: compressed_to_rgb(msg))

    def _read_local(self) -> None:
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self._settings['frame_id'])
        try:
            frame = self.source.read()
        except SourceError as error:
            self._report_error(str(error))
            return
        if frame is None:
            return
        self._forward(header, lambda: frame, local=True)

    # -- output -----------------------------------------------------------------------------
    def _forward(self, header: Header, decode, local: bool = False) -> None:
        self.counts['received'] += 1
        if not self.rate.ready(now_seconds(self)):
            self.counts['rate_limited'] += 1
            return
        try:
            rgb = self._resize(decode())
        except ImageError as error:
            self._report_error(f'frame stamped {stamp_seconds(header.stamp):.3f} dropped: {error}')
            return
        # The calibration first: a frame arrives with its camera_info already there.
        info = self._camera_info_for(rgb, header, local)
        if info is not None:
            self.info_pub.publish(info)
        self.image_pub.publish(rgb_to_image(rgb, header))
        self.counts['published'] += 1

    def _resize(self, rgb: np.ndarray) -> np.ndarray:
        max_width = self._settings['max_width']
        if max_width <= 0 or rgb.shape[1] <= max_width:
            return rgb
        height = max(1, round(rgb.shape[0] * max_width / rgb.shape[1]))
        return cv2.resize(rgb, (max_width, height), interpolation=cv2.INTER_AREA)

    def _camera_info_for(self, rgb: np.ndarray, header: Header, local: bool):
        """
        Make the CameraInfo of the published frame (stamped like it), or None.

        None, with the reason reported, when the camera's is missing, too old for the frame or
        inconsistent.
        """
        height, width = rgb.shape[:2]
        if local:
            intrinsics = Intrinsics.from_fov(width, height, self._settings['opencv_hfov_deg'])
            return intrinsics_to_camera_info(intrinsics, header)
        if self.camera_info is None:
            return None
        skew = stamp_seconds(header.stamp) - stamp_seconds(self.camera_info.header.stamp)
        limit = self._settings['camera_info_max_age']
        if limit > 0 and not abs(skew) <= limit:
            self.faults.warn(f'camera_info is {abs(skew):.2f} s from the frame (limit '
                             f'{limit:.2f} s): not forwarded')
            return None
        try:
            info = camera_info_for_image(self.camera_info, width, height)
        except GeometryError as error:
            self._report_error(f'camera_info not forwarded: {error}')
            return None
        info.header = header  # same stamp and frame as the image it describes
        return info

    def _report_error(self, message: str) -> None:
        self.counts['errors'] += 1
        self.last_error = message
        self.faults.warn(message)
        self._publish_status()

    def _publish_status(self) -> None:
        if self.counts['published']:
            state = CameraState.STREAMING
        elif self.counts['errors']:
            state = CameraState.ERROR
        else:
            state = CameraState.WAITING
        waiting_for_info = self._settings['input'] != FrameInput.OPENCV and \
            self.camera_info is None
        self.status_pub.publish(CameraStatus(
            state=state, input=str(self._settings['input']), **self.counts,
            last_error=self.last_error,
            message='no camera_info received on camera/camera_info' if waiting_for_info
            else self.last_error or str(state), warnings=self.faults.current()))

    def on_shutdown(self) -> None:
        if self.source is not None:
            self.source.close()


def main(args=None):
    from .process import run_node
    raise SystemExit(run_node(CameraNode, args))


if __name__ == '__main__':
    main()
