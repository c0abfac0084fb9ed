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
``grounding/detections`` as vision_msgs/Detection2DArray, where vision_msgs is installed.

vision_msgs is the conventional detection output (RViz and Foxglove show it) and comes with
every ROS 2 distribution, but not with a plain pip install; without it the node runs on and
the JSON status carries the same boxes and scores.
"""

from __future__ import annotations

from rclpy.node import Node
from std_msgs.msg import Header

from ..core.perception.grounding import GroundingResult

try:
    from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose
except ImportError:  # not installed: no detections topic
    Detection2DArray = None


def detection_array(header: Header, result: GroundingResult):
    """
    Make a Detection2DArray of ``result``'s matches.

    The phrase as class_id, its probability as score, the box centre and size in source-image
    pixels, the image's header. Empty when nothing matched, so a consumer can tell "nothing" from
    "no news".
    """
    array = Detection2DArray(header=header)
    for rank, candidate in enumerate(result.matches):
        x1, y1, x2, y2 = candidate.box
        detection = Detection2D(header=header, id=str(rank))
        detection.bbox.center.position.x = (x1 + x2) / 2.0
        detection.bbox.center.position.y = (y1 + y2) / 2.0
        detection.bbox.size_x, detection.bbox.size_y = x2 - x1, y2 - y1
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = result.phrase
        hypothesis.hypothesis.score = float(candidate.score)
        detection.results.append(hypothesis)
        array.detections.append(detection)
    return array


class DetectionPublisher:
    """Publishes Detection2DArray on ``topic`` when vision_msgs can be imported, else nothing."""

    def __init__(self, node: Node, topic: str, qos):
        self.publisher = None
        if Detection2DArray is None:
            node.get_logger().info(f'vision_msgs is not installed: {topic} is not published '
                                   '(grounding/status carries the boxes)')
        else:
            self.publisher = node.create_publisher(Detection2DArray, topic, qos)

    def publish(self, header: Header, result: GroundingResult) -> None:
        if self.publisher is not None:
            self.publisher.publish(detection_array(header, result))
