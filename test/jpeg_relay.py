"""STAND-IN, test code only: JPEG-compress the simulator's raw frames, as image_transport's
republisher does on a robot (``ros2 run image_transport republish raw compressed``).

image_transport is not installable here, and no node of the package publishes compressed
frames yet, so test/test_two_hosts.py and bench/bench_two_hosts.py run this on the robot
side of the link. It is meant to be replaced by a compressed output of camera_node (see
the report of issue 12 item 4), or by the republisher where image_transport exists.

Subscribes `camera/image_raw` (sensor-data QoS, newest frame only) and publishes
`camera/image_raw/compressed` (sensor_msgs/CompressedImage, JPEG, the frame's header, the
format string compressed_image_transport writes). On exit writes its counts to the file
named by the ``stats_file`` parameter, for the tests to relate link bytes to frames.

    python test/jpeg_relay.py --ros-args -p stats_file:=relay.json [-p jpeg_quality:=90]
"""

from __future__ import annotations

import json

from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image

from clip_grounding_ros.core.images import encode_compressed
from clip_grounding_ros.nodes.common import LATEST_QOS, SENSOR_QOS, image_to_rgb, run_node


class JpegRelay(Node):
    def __init__(self):
        super().__init__('jpeg_relay')
        self.stats_file = self.declare_parameter('stats_file', '').value
        self.quality = self.declare_parameter('jpeg_quality', 90).value
        self.publisher = self.create_publisher(CompressedImage, 'camera/image_raw/compressed',
                                               LATEST_QOS)
        self.create_subscription(Image, 'camera/image_raw', self._on_image, SENSOR_QOS)
        self.stats = {'frames': 0, 'jpeg_bytes': 0, 'min_jpeg_bytes': None, 'raw_bytes': 0}

    def _on_image(self, msg: Image) -> None:
        data = encode_compressed(image_to_rgb(msg), 'jpeg', self.quality)
        self.publisher.publish(CompressedImage(header=msg.header,
                                               format='rgb8; jpeg compressed bgr8', data=data))
        stats = self.stats
        stats['frames'] += 1
        stats['jpeg_bytes'] += len(data)
        stats['raw_bytes'] += len(msg.data)
        stats['min_jpeg_bytes'] = min(len(data), stats['min_jpeg_bytes'] or len(data))

    def on_shutdown(self) -> None:
        if self.stats_file:
            with open(self.stats_file, 'w') as stream:
                json.dump(self.stats, stream)


if __name__ == '__main__':
    raise SystemExit(run_node(JpegRelay))
