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

"""What every node shares: QoS profiles, message conversions, parameters, status, main()."""

from __future__ import annotations

from collections.abc import Callable
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header, String

from ..core.contract.status import (
    ActionStatus,
    CameraStatus,
    diagnostic,
    GroundingStatus,
    RecentWarnings,
    Severity,
    severity,
)
from ..core.perception.images import decode_compressed, depth_to_metres, to_rgb8
from ..core.world.camera import (
    GeometryError,
    image_region,
    Intrinsics,
    region_camera_matrix,
    scale_camera_matrix,
)
from ..core.world.frames import yaw_from_quaternion

try:
    from rclpy.event_handler import SubscriptionEventCallbacks
except ImportError:  # Humble names the module qos_event
    from rclpy.qos_event import SubscriptionEventCallbacks

# REP-2003: subscribe to sensor data best-effort and keep only the newest sample, so a
# slow consumer never works through a backlog and best-effort drivers (Gazebo) connect.
SENSOR_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                        reliability=ReliabilityPolicy.BEST_EFFORT,
                        durability=DurabilityPolicy.VOLATILE)
# Publishers of sensor-like data stay reliable (REP-2003's system default), which every
# subscriber can match; depth 1 keeps only the newest.
LATEST_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                        reliability=ReliabilityPolicy.RELIABLE)
STATUS_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                        reliability=ReliabilityPolicy.RELIABLE)
COMMAND_LATCHED_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                                 reliability=ReliabilityPolicy.RELIABLE,
                                 durability=DurabilityPolicy.TRANSIENT_LOCAL)
COMMAND_VOLATILE_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                                  reliability=ReliabilityPolicy.RELIABLE)
COMMAND_BEST_EFFORT_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                                     reliability=ReliabilityPolicy.BEST_EFFORT)


class ConfigError(ValueError):
    """A parameter value the node cannot work with."""


# -- messages ---------------------------------------------------------------------------
def now_seconds(node: Node) -> float:
    """Return the node's ROS time in seconds (simulated time under use_sim_time)."""
    return node.get_clock().now().nanoseconds * 1e-9


def stamp_seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def yaw_of(pose) -> float:
    """Return the yaw (rad) of a geometry_msgs/Pose of a planar base."""
    return yaw_from_quaternion(pose.orientation.z, pose.orientation.w)


def image_to_rgb(msg: Image) -> np.ndarray:
    return to_rgb8(msg.data, msg.width, msg.height, msg.encoding, msg.step,
                   bool(msg.is_bigendian))


def compressed_to_rgb(msg: CompressedImage) -> np.ndarray:
    return decode_compressed(msg.data)


def depth_image_to_metres(msg: Image) -> np.ndarray:
    return depth_to_metres(msg.data, msg.width, msg.height, msg.encoding, msg.step,
                           bool(msg.is_bigendian))


def rgb_to_image(rgb: np.ndarray, header: Header) -> Image:
    msg = Image(header=header, height=rgb.shape[0], width=rgb.shape[1], encoding='rgb8',
                is_bigendian=0, step=rgb.shape[1] * 3)
    msg.data = np.ascontiguousarray(rgb, dtype=np.uint8).tobytes()
    return msg


def camera_info_to_intrinsics(msg: CameraInfo) -> Intrinsics:
    """
    Return the intrinsics of the image ``msg`` describes.

    Its region of interest and binning applied. Raises GeometryError for an uncalibrated (all-zero
    K), zero-size or inconsistent camera_info.
    """
    return Intrinsics.from_camera_info(list(msg.k), msg.width, msg.height, msg.binning_x,
                                       msg.binning_y, _roi(msg))


def camera_info_for_image(msg: CameraInfo, width: int, height: int) -> CameraInfo:
    """
    Make a CameraInfo that describes exactly a ``width`` x ``height`` image.

    The image is made from the image ``msg`` describes (its region of interest and binning applied,
    then resized), so a reader needs neither. Distortion and rectification are passed on unchanged.
    Raises GeometryError when ``msg``'s region does not fit its sensor.
    """
    if width < 1 or height < 1:
        raise GeometryError(f'cannot describe a {width}x{height} image')
    (x0, y0, region_width, region_height), (bx, by) = image_region(
        msg.width, msg.height, msg.binning_x, msg.binning_y, _roi(msg))
    sx, sy = width / region_width, height / region_height
    info = CameraInfo(header=msg.header, width=width, height=height,
                      distortion_model=msg.distortion_model, d=msg.d, r=msg.r)
    info.k = scale_camera_matrix(region_camera_matrix(msg.k, x0, y0, bx, by), sx, sy)
    info.p = scale_camera_matrix(region_camera_matrix(msg.p, x0, y0, bx, by), sx, sy)
    return info


def _roi(msg: CameraInfo) -> tuple[int, int, int, int]:
    return msg.roi.x_offset, msg.roi.y_offset, msg.roi.width, msg.roi.height


def intrinsics_to_camera_info(intrinsics: Intrinsics, header: Header) -> CameraInfo:
    fx, fy, cx, cy = intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
    msg = CameraInfo(header=header, width=intrinsics.width, height=intrinsics.height,
                     distortion_model='plumb_bob')
    msg.d = [0.0] * 5
    msg.k = intrinsics.k()
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


class StatusPublisher:
    """
    A node's status topic (a core.contract.status dataclass as JSON), log and /diagnostics.

    The topic repeats the state and why at every tick; the node's log (console, log files,
    /rosout) gets one line when the state changes or a new command or step begins in it, with
    why, at the state's :func:`severity` (a refused command is an error). /diagnostics (the
    absolute topic diagnostic_aggregator and rqt_robot_monitor read, as ROS drivers publish
    it) gets the latest status at DIAGNOSTICS_PERIOD_S, named '<node>: <topic>', with
    ``details`` (model, backend, ...) among its values.
    """

    DIAGNOSTICS_PERIOD_S = 1.0

    def __init__(self, node: Node, topic: str, details: dict[str, str] | None = None):
        self.node, self.details = node, details or {}
        self.publisher = node.create_publisher(String, topic, STATUS_QOS)
        self.diagnostics = node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.name = f"{node.get_fully_qualified_name().lstrip('/')}: {topic}"
        self.logger = node.get_logger()
        self.logged: tuple | None = None  # (state, command_id, step) last logged
        self.lock = threading.Lock()  # grounding_node publishes from two threads
        self.latest: ActionStatus | CameraStatus | GroundingStatus | None = None
        node.create_timer(self.DIAGNOSTICS_PERIOD_S, self._publish_diagnostics)

    def publish(self, status: ActionStatus | CameraStatus | GroundingStatus) -> None:
        self.publisher.publish(String(data=status.to_json()))
        self.latest = status
        state = status.state
        logged = (state, getattr(status, 'command_id', None), getattr(status, 'step', 0))
        with self.lock:
            if logged == self.logged:
                return
            self.logged = logged
        line = f'{state}: {status.reason if isinstance(status, ActionStatus) else status.message}'
        # One call site per severity: rclpy refuses a call site that changes its severity.
        level = severity(state)
        if level == Severity.ERROR:
            self.logger.error(line)
        elif level == Severity.WARN:
            self.logger.warning(line)
        else:
            self.logger.info(line)

    def _publish_diagnostics(self) -> None:
        if self.latest is None:
            return
        level, message, values = diagnostic(self.latest)
        status = DiagnosticStatus(level=bytes([level]), name=self.name, message=message,
                                  hardware_id=self.node.get_name())
        status.values = [KeyValue(key=key, value=value)
                         for key, value in [*values, *self.details.items()]]
        self.diagnostics.publish(DiagnosticArray(
            header=Header(stamp=self.node.get_clock().now().to_msg()), status=[status]))


# -- faults -----------------------------------------------------------------------------
class Faults:
    """
    What went wrong in a node without stopping it, for its status topic.

    :meth:`guard` wraps a subscription or timer callback: an exception while handling one
    message drops that message, is logged and kept in :attr:`warnings`, and the node runs on
    (an exception escaping a callback would end rclpy's spin, and with it the node).
    :meth:`qos_events` reports a publisher whose QoS cannot match a subscription.
    """

    def __init__(self, node: Node, on_warning: Callable[[str], None] | None = None):
        self.node = node
        self.warnings = RecentWarnings()
        self.on_warning = on_warning

    def warn(self, message: str) -> None:
        self.node.get_logger().warning(message, throttle_duration_sec=2.0)
        self.warnings.add(message, time.monotonic())
        if self.on_warning is not None:
            self.on_warning(message)

    def current(self) -> list[str]:
        return self.warnings.current(time.monotonic())

    def guard(self, what: str, callback: Callable, with_info: bool = False) -> Callable:
        """
        Wrap ``callback`` so that it survives its own exceptions.

        ``what`` names it in the report. ``with_info``: a subscription callback that takes
        (message, MessageInfo).
        """
        def run(*args):
            try:
                callback(*args)
            except Exception as error:  # noqa: BLE001 - one bad message never kills a node
                self.warn(f'{what}: dropped after {type(error).__name__}: {error}')
        if with_info:
            return lambda msg, info: run(msg, info)
        return lambda *args: run(*args)

    def qos_events(self, topic: str) -> SubscriptionEventCallbacks:
        def incompatible(event) -> None:
            policy = getattr(event.last_policy_kind, 'name', str(event.last_policy_kind))
            self.warn(f'a publisher on {topic} offers a QoS incompatible with this '
                      f'subscription ({policy}): its messages are not received')
        return SubscriptionEventCallbacks(incompatible_qos=incompatible)

    def subscribe(self, msg_type, topic: str, callback: Callable, qos: QoSProfile):
        """Make a guarded subscription that reports QoS mismatches."""
        return self.node.create_subscription(
            msg_type, topic, self.guard(f'message on {topic}', callback), qos,
            event_callbacks=self.qos_events(topic))
