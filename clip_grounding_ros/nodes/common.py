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

from collections import OrderedDict
from collections.abc import Callable, Sequence
import json
import math
import re
import signal
import sys
import threading
import time
import traceback
from typing import Any

import numpy as np
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
    SetParametersResult,
)
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header, String
import yaml

from ..core.geometry import (
    GeometryError,
    image_region,
    Intrinsics,
    region_camera_matrix,
    scale_camera_matrix,
)
from ..core.images import decode_compressed, depth_to_metres, to_rgb8
from ..core.parameters import ParamSpec
from ..core.status import dumps_strict, RecentWarnings

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


def publish_status(publisher, status) -> None:
    """Publish a core.status dataclass as its strict JSON."""
    publisher.publish(String(data=status.to_json()))


# -- parameters -------------------------------------------------------------------------
def parameter_descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """Make the ROS descriptor of ``spec``: fixed type, description, range, read-only."""
    descriptor = ParameterDescriptor(
        name=spec.name, type=_PARAMETER_TYPES[spec.kind] if spec.kind is not tuple else
        _array_type(spec.default), description=spec.description, read_only=spec.read_only,
        additional_constraints=spec.constraints)
    if spec.kind is float and (spec.minimum is not None or spec.maximum is not None):
        descriptor.floating_point_range = [FloatingPointRange(
            from_value=float(-math.inf if spec.minimum is None else spec.minimum),
            to_value=float(math.inf if spec.maximum is None else spec.maximum), step=0.0)]
    elif spec.kind is int and (spec.minimum is not None or spec.maximum is not None):
        descriptor.integer_range = [IntegerRange(
            from_value=int(-2**63 if spec.minimum is None else spec.minimum),
            to_value=int(2**63 - 1 if spec.maximum is None else spec.maximum), step=1)]
    return descriptor


_PARAMETER_TYPES = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
                    float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}


def _array_type(default) -> int:
    return rclpy.Parameter.Type.from_parameter_value(list(default) or ['']).value


def declare_parameters(node: Node, specs: Sequence[ParamSpec]) -> dict[str, Any]:
    """
    Declare ``specs`` with their descriptors and return the values, coerced to their types.

    Types are fixed. A params file or ``-p`` giving an integer for a float parameter
    (``rate_hz: 5``) is taken as that float: rclpy offers no public way to read an override
    before declaring it, so its table of overrides is coerced here; a value of another
    type, out of range or not among its choices is a ConfigError naming the parameter and
    what it accepts.
    """
    overrides = getattr(node, '_parameter_overrides', {})
    for spec in specs:
        given = overrides.get(spec.name)
        if given is not None:
            problems = spec.problems(given.value)
            if problems:
                raise ConfigError('; '.join(problems))
            if spec.kind is float and given.type_ == rclpy.Parameter.Type.INTEGER:
                overrides[spec.name] = rclpy.Parameter(spec.name, value=float(given.value))
        default = list(spec.default) if spec.kind is tuple else spec.default
        try:
            node.declare_parameter(spec.name, default, parameter_descriptor(spec))
        except Exception as error:  # noqa: BLE001 - rclpy raises several types here
            constraint = f' ({spec.constraints})' if spec.constraints else ''
            raise ConfigError(f"parameter '{spec.name}'{constraint}: {error}") from None
    return parameter_values(node, specs)


def parameter_values(node: Node, specs: Sequence[ParamSpec],
                     changes: Sequence[rclpy.Parameter] = ()) -> dict[str, Any]:
    """Return the current values, with pending ``changes`` applied; arrays as tuples."""
    values = {spec.name: node.get_parameter(spec.name).value for spec in specs}
    values.update({change.name: change.value for change in changes if change.name in values})
    for spec in specs:
        problems = spec.problems(values[spec.name])
        if problems:
            raise ConfigError('; '.join(problems))
        values[spec.name] = spec.coerce(values[spec.name])
    return values


def watch_parameters(node: Node, specs: Sequence[ParamSpec],
                     configure: Callable[[dict[str, Any]], Any],
                     apply: Callable[[Any], None]) -> None:
    """
    Validate and apply parameter changes made at run time (``ros2 param set``).

    Two steps, as ROS 2 intends: the set callback validates (``configure`` builds the new
    configuration from all values, raising ValueError for an invalid one, which refuses the
    change with that message); the post-set callback applies it once the values are stored
    (Humble has no post-set callbacks: there it is applied in the set callback). An integer
    set on a float parameter is converted in the pre-set callback (Iron and later), so its
    type never changes.
    """
    names = {spec.name for spec in specs}
    floats = {spec.name for spec in specs if spec.kind is float}
    pending = []

    def to_float(changes: list[rclpy.Parameter]) -> list[rclpy.Parameter]:
        return [rclpy.Parameter(c.name, value=float(c.value))
                if c.name in floats and c.type_ == rclpy.Parameter.Type.INTEGER else c
                for c in changes]

    def on_set(changes: list[rclpy.Parameter]) -> SetParametersResult:
        if not any(change.name in names for change in changes):
            return SetParametersResult(successful=True)
        try:
            configuration = configure(parameter_values(node, specs, to_float(changes)))
        except ValueError as error:
            return SetParametersResult(successful=False, reason=str(error))
        if post_set_available:
            pending.append(configuration)
        else:
            apply(configuration)
        return SetParametersResult(successful=True)

    def on_post_set(changes: list[rclpy.Parameter]) -> None:
        while pending:
            apply(pending.pop(0))

    post_set_available = hasattr(node, 'add_post_set_parameters_callback')
    if hasattr(node, 'add_pre_set_parameters_callback'):
        node.add_pre_set_parameters_callback(to_float)
    node.add_on_set_parameters_callback(on_set)
    if post_set_available:
        node.add_post_set_parameters_callback(on_post_set)


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


# -- commands ---------------------------------------------------------------------------
# Subscriptions on `command`: latched history (reliable, transient local), reliable live
# messages, and best-effort publishers (which no reliable subscription matches). Together
# they match every common publisher QoS; a message that arrives on several is handled once.
COMMAND_QOS = (COMMAND_LATCHED_QOS, COMMAND_VOLATILE_QOS, COMMAND_BEST_EFFORT_QOS)
RELAY_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                       reliability=ReliabilityPolicy.RELIABLE)
MAX_PUBLISHERS = 256  # command publishers remembered (each `ros2 topic pub` is a new one)


class CommandIntake:
    """
    Receives `command` however it is published, each message once, and relays it.

    It relays it to the node's peers on `command/relay`.

    ``ros2 topic pub --once`` waits for ONE matched subscription, publishes and exits: when
    action_node's subscription matched first, grounding_node never heard the command. So
    every node that receives a command directly republishes it, with the original
    publication's identity, on `command/relay` (reliable, between nodes that have long
    since discovered each other); a node hears each command directly, relayed, or both, and
    acts on it once. The identity is the publisher's GID and sequence number (rclpy's
    MessageInfo, Iron and later), which also orders a publisher's commands: one older than a
    command already acted on (overtaken on another path) is dropped, so the last command of a
    burst wins. Without MessageInfo the same text within ``dedupe_s`` seconds (monotonic:
    transport, not robot time) counts as the same message.
    """

    def __init__(self, node: Node, callback: Callable[[str], None], faults: Faults,
                 topic: str = 'command', dedupe_s: float = 1.0):
        self.node, self.callback, self.faults = node, callback, faults
        self.dedupe_s = dedupe_s
        # Per publisher (GID): the highest sequence number acted on. A copy arriving later by
        # another subscription or the relay, or an older command overtaken by a newer one,
        # is at or below it: the newest command always wins.
        self.newest: OrderedDict[str, int] = OrderedDict()
        self.last_text: tuple[str, float] | None = None
        with_info = _message_info_supported()
        on_command = self._on_command if with_info else (lambda msg: self._on_command(msg, None))
        guarded = faults.guard(f'command on {topic}', on_command, with_info=with_info)
        # Together they match any publisher: an incompatible-QoS event on one of them (the
        # latched one and every volatile publisher, the reliable ones and a best-effort
        # publisher) means another serves it, not that a command is lost.
        quiet = SubscriptionEventCallbacks(incompatible_qos=lambda event: None)
        self.subscriptions = [node.create_subscription(String, topic, guarded, qos,
                                                       event_callbacks=quiet)
                              for qos in COMMAND_QOS]
        self.relay_pub = node.create_publisher(String, f'{topic}/relay', RELAY_QOS)
        self.subscriptions.append(faults.subscribe(String, f'{topic}/relay', self._on_relay,
                                                   RELAY_QOS))

    def _on_command(self, msg: String, info) -> None:
        key = _publication_key(info)
        if self._deliver(msg.data, key):
            self.relay_pub.publish(String(data=dumps_strict({'key': key, 'text': msg.data})))

    def _on_relay(self, msg: String) -> None:
        payload = json.loads(msg.data)
        key = payload.get('key')
        self._deliver(str(payload['text']), None if key is None else str(key))

    def _deliver(self, text: str, key: str | None) -> bool:
        """
        Act on a command once, and never on one older than one already acted on.

        Older than a command of the same publisher already acted on. False when it was not acted
        on.
        """
        now = time.monotonic()
        if key is not None:
            publisher, _, sequence = key.rpartition(':')
            if int(sequence) <= self.newest.get(publisher, -1):
                return False
            self.newest[publisher] = int(sequence)
            self.newest.move_to_end(publisher)
            while len(self.newest) > MAX_PUBLISHERS:
                self.newest.popitem(last=False)
        else:  # no publication identity: the same text just now is the same message
            last = self.last_text
            if last is not None and last[0] == text and now - last[1] < self.dedupe_s:
                return False
        self.last_text = (text, now)
        self.callback(text)
        return True


def _message_info_supported() -> bool:
    """Whether subscription callbacks may take (message, MessageInfo) (rclpy Iron+)."""
    try:
        from rclpy.subscription import MessageInfo  # noqa: F401
    except ImportError:
        return False
    return True


def _publication_key(info) -> str | None:
    """Return publisher GID and sequence number: the same for every copy of one publication."""
    if not info or not info.get('publisher_gid') or info.get('publication_sequence_number') \
            is None:
        return None
    return f"{bytes(info['publisher_gid']['data']).hex()}:{info['publication_sequence_number']}"


# -- main -------------------------------------------------------------------------------
CONFIG_ERROR_EXIT = 2  # launch_support.CONFIG_ERROR_EXIT: launch does not restart these


def run_node(factory: Callable[[], Node], args: list[str] | None = None) -> int:
    """
    Create and spin a node; shut down cleanly on Ctrl-C or SIGTERM.

    rclpy's own signal handler would invalidate the context before the node could send
    its last messages (the action node's zero velocity), so SIGINT and SIGTERM are turned
    into KeyboardInterrupt here and the node's ``on_shutdown`` runs while ROS still works.
    Every start-up failure (a missing or unreadable params file, unknown ROS arguments, an
    invalid parameter, a model that does not load) is logged as one line and exits with
    status 2; the traceback, if any, is logged at debug level.
    """
    # The logger of the node-to-be ('GroundingNode' -> grounding_node): it does not exist yet.
    logger = rclpy.logging.get_logger(re.sub(r'(?<!^)(?=[A-Z])', '_', factory.__name__).lower())
    try:
        check_params_files(sys.argv[1:] if args is None else args)
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    except Exception as error:  # noqa: BLE001 - rcl raises several types here
        logger.fatal(f'invalid configuration: {_one_line(error)}')
        return CONFIG_ERROR_EXIT
    # SIGINT too, explicitly: a process started in the background of a script inherits
    # SIGINT ignored, and Python then installs no KeyboardInterrupt handler of its own.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_keyboard_interrupt)
    node = None
    status = 0
    try:
        try:
            node = factory()
        except ConfigError as error:
            logger.fatal(f'invalid configuration: {_one_line(error)}')
            return CONFIG_ERROR_EXIT
        except Exception as error:  # noqa: BLE001 - any start-up failure, one clear line
            logger.debug(traceback.format_exc())
            logger.fatal(f'start-up failed: {type(error).__name__}: {_one_line(error)}')
            return CONFIG_ERROR_EXIT
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        # Python runs signal handlers only between bytecodes, and rclpy.spin waits in C with
        # no timeout: a node whose inputs went quiet (sim_node once action_node has exited
        # under `ros2 launch`) would never see the SIGINT. The timeout bounds that delay.
        while True:
            try:
                executor.spin_once(timeout_sec=0.2)
            except RuntimeError:
                # The interrupt raised inside rclpy's C++ message conversion arrives as a
                # RuntimeError ("Unable to convert call argument"): still a Ctrl-C.
                if not _interrupted.is_set():
                    raise
                break
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C (a terminal sends it to the whole group, launch escalates) must not
        # interrupt the shutdown that leaves the robot stopped.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        if node is not None:
            on_shutdown = getattr(node, 'on_shutdown', None)
            if on_shutdown is not None:
                on_shutdown()
            node.destroy_node()
        rclpy.try_shutdown()
    return status


def check_params_files(args: Sequence[str]) -> None:
    """
    Raise ConfigError naming a ``--params-file`` that is missing or not YAML.

    Before rcl reads it (rcl's own error is a multi-line trace with C source locations).
    """
    for flag, path in zip(args, args[1:], strict=False):
        if flag != '--params-file':
            continue
        try:
            with open(path) as stream:
                yaml.safe_load(stream)
        except OSError as error:
            raise ConfigError(f"params file '{path}' cannot be read: {error.strerror}") from None
        except yaml.YAMLError as error:
            raise ConfigError(f"params file '{path}' is not valid YAML: "
                              f'{_one_line(error)}') from None


def _one_line(error: BaseException) -> str:
    """Put the error's message on one line, without rcl's C source locations."""
    text = ' '.join(str(error).split()) or type(error).__name__
    if type(error).__name__ == 'UnknownROSArgsError':
        text = f'unknown ROS arguments {text}'
    return re.sub(r', at /\S+:\d+', '', text)


_interrupted = threading.Event()


def _raise_keyboard_interrupt(signum, frame):
    _interrupted.set()
    raise KeyboardInterrupt
