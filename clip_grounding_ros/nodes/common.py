"""What every node shares: QoS profiles, message conversions, parameters, status, main()."""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Sequence

import numpy as np
import rclpy
from rcl_interfaces.msg import ParameterDescriptor, ParameterType, SetParametersResult
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

try:
    from rclpy.event_handler import SubscriptionEventCallbacks
except ImportError:  # Humble names the module qos_event
    from rclpy.qos_event import SubscriptionEventCallbacks
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header, String

from ..core.geometry import Intrinsics
from ..core.images import decode_compressed, depth_to_metres, to_rgb8

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


class ConfigError(ValueError):
    """A parameter value the node cannot work with."""


# -- messages ---------------------------------------------------------------------------
def now_seconds(node: Node) -> float:
    """The node's ROS time in seconds (simulated time under use_sim_time)."""
    return node.get_clock().now().nanoseconds * 1e-9


def stamp_seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


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
    """Raises GeometryError for an uncalibrated (all-zero K) or zero-size camera_info."""
    return Intrinsics.from_k(list(msg.k), msg.width, msg.height)


def intrinsics_to_camera_info(intrinsics: Intrinsics, header: Header) -> CameraInfo:
    fx, fy, cx, cy = intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
    msg = CameraInfo(header=header, width=intrinsics.width, height=intrinsics.height,
                     distortion_model='plumb_bob')
    msg.d = [0.0] * 5
    msg.k = intrinsics.k()
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


def publish_json(publisher, payload: dict) -> None:
    publisher.publish(String(data=json.dumps(payload, separators=(',', ':'))))


# -- parameters -------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One node parameter: its default, the description `ros2 param describe` shows, and
    whether changing it needs a restart (read-only at run time)."""

    name: str
    default: Any
    description: str
    read_only: bool = False


def declare_parameters(node: Node, params: Sequence[Param]) -> None:
    """Declare ``params`` with descriptions; floats accept YAML integers (``rate: 5``)."""
    for param in params:
        is_float = isinstance(param.default, float)
        descriptor = ParameterDescriptor(
            description=param.description, read_only=param.read_only,
            dynamic_typing=is_float,
            type=ParameterType.PARAMETER_NOT_SET if is_float else _type_of(param.default))
        try:
            node.declare_parameter(param.name, param.default, descriptor)
        except Exception as error:  # noqa: BLE001 - rclpy raises several types here
            raise ConfigError(f"parameter '{param.name}': {error}") from None


def _type_of(value: Any) -> int:
    return rclpy.Parameter.Type.from_parameter_value(value).value


def parameter_values(node: Node, params: Sequence[Param],
                     changes: Sequence[rclpy.Parameter] = ()) -> dict[str, Any]:
    """Current values, with pending ``changes`` applied; floats coerced, lists as tuples."""
    values = {p.name: node.get_parameter(p.name).value for p in params}
    values.update({change.name: change.value for change in changes})
    for param in params:
        value = values[param.name]
        if isinstance(param.default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"parameter '{param.name}' must be a number, got {value!r}")
            values[param.name] = float(value)
        elif isinstance(value, list):
            values[param.name] = tuple(value)
    return values


def watch_parameters(node: Node, params: Sequence[Param],
                     apply: Callable[[dict[str, Any]], None]) -> None:
    """Validate and apply parameter changes made at run time (``ros2 param set``).

    ``apply`` raises ValueError for an invalid combination; the change is then refused
    with that message and the node keeps its previous settings.
    """
    names = {p.name for p in params}

    def on_set(changes: list[rclpy.Parameter]) -> SetParametersResult:
        if not any(change.name in names for change in changes):
            return SetParametersResult(successful=True)
        try:
            apply(parameter_values(node, params, changes))
        except ValueError as error:
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)


# -- commands ---------------------------------------------------------------------------
class CommandSubscription:
    """Receives `command` from both latched and plain publishers, each message once.

    A transient-local subscription alone would receive a command latched before the node
    started, but it is incompatible with a volatile publisher such as a plain
    `ros2 topic pub`; a volatile one is compatible with both but misses latched history.
    So both are created, and a message that arrives on both within ``dedupe_s`` seconds
    is delivered once. The window is on the monotonic clock: it is about transport, not
    robot time, and must work before a simulated /clock runs.
    """

    def __init__(self, node: Node, callback: Callable[[str], None], topic: str = 'command',
                 dedupe_s: float = 1.0):
        self._callback = callback
        self._dedupe_s = dedupe_s
        self._last: tuple[str, float] | None = None
        # The latched subscription is incompatible with every volatile publisher by design;
        # rclpy would warn about each one although the volatile subscription serves them.
        quiet = SubscriptionEventCallbacks(incompatible_qos=lambda event: None)
        self.subscriptions = [
            node.create_subscription(String, topic, self._on_message, COMMAND_LATCHED_QOS,
                                     event_callbacks=quiet),
            node.create_subscription(String, topic, self._on_message, COMMAND_VOLATILE_QOS)]

    def _on_message(self, msg: String) -> None:
        now = time.monotonic()
        if self._last is not None and self._last[0] == msg.data and \
                now - self._last[1] < self._dedupe_s:
            return
        self._last = (msg.data, now)
        self._callback(msg.data)


# -- main -------------------------------------------------------------------------------
def run_node(factory: Callable[[], Node], args: list[str] | None = None) -> int:
    """Create and spin a node; shut down cleanly on Ctrl-C or SIGTERM.

    rclpy's own signal handler would invalidate the context before the node could send
    its last messages (the action node's zero velocity), so SIGINT and SIGTERM are turned
    into KeyboardInterrupt here and the node's ``on_shutdown`` runs while ROS still works.
    A ConfigError at start-up is logged as one clear line and exits with status 2.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    # SIGINT too, explicitly: a process started in the background of a script inherits
    # SIGINT ignored, and Python then installs no KeyboardInterrupt handler of its own.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_keyboard_interrupt)
    node = None
    status = 0
    try:
        node = factory()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        # Python runs signal handlers only between bytecodes, and rclpy.spin waits in C with
        # no timeout: a node whose inputs went quiet (sim_node once action_node has exited
        # under `ros2 launch`) would never see the SIGINT. The timeout bounds that delay.
        while True:
            executor.spin_once(timeout_sec=0.2)
    except KeyboardInterrupt:
        pass
    except ConfigError as error:
        rclpy.logging.get_logger('clip_grounding_ros').fatal(f'invalid configuration: {error}')
        status = 2
    finally:
        if node is not None:
            on_shutdown = getattr(node, 'on_shutdown', None)
            if on_shutdown is not None:
                on_shutdown()
            node.destroy_node()
        rclpy.try_shutdown()
    return status


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt

