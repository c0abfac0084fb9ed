"""grounding_node: commands in, grounded targets out.

Subscribes `command` (std_msgs/String), `grounding/image`, `grounding/camera_info`,
`action/status` (when a step of a command is done, the next begins) and, with use_depth,
`camera/depth/image_raw`. On a command the phrase is encoded once; the newest
frame is grounded at up to rate_hz, never a queue of old ones. Publishes `grounding/target`
(PoseStamped in base_frame, stamped with the image time), `grounding/status` (JSON, see
core.status), `grounding/detections` (vision_msgs/Detection2DArray, where vision_msgs is
installed), `grounding/debug_image` and `grounding/markers`.

The logic is core.perception's; this node only translates between ROS messages and it.
"""

from __future__ import annotations

import torch
from geometry_msgs.msg import Point, PoseStamped, Vector3
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import ColorRGBA, Header, String
from visualization_msgs.msg import Marker, MarkerArray

from ..core.drawing import MarkerSpec, annotate, target_markers
from ..core.geometry import GeometryError, MountSettings
from ..core.grounding import Grounder, GrounderConfig, GroundingResult
from ..core.images import ImageError
from ..core.model import DEFAULT_HUB_MODEL, ModelLoadError, load_encoder
from ..core.parameters import ParamSpec, parameter_specs
from ..core.perception import Frame, Perception, PerceptionSettings
from ..core.status import ActionStatus
from ..resources import resolve_model
from ..core.timing import RateLimiter
from .common import (LATEST_QOS, SENSOR_QOS, STATUS_QOS, CommandIntake, ConfigError, Faults,
                     camera_info_to_intrinsics, declare_parameters, depth_image_to_metres,
                     image_to_rgb, now_seconds, publish_status, rgb_to_image, stamp_seconds,
                     watch_parameters)
from .detections import DetectionPublisher

HEARTBEAT_S = 1.0  # status period while nothing is being grounded (the action node watches)
NODE_PARAMS = (
    ParamSpec('model', DEFAULT_HUB_MODEL, 'CLIP model: a Hugging Face hub id, the path of a '
              'local folder saved with save_pretrained, or package://clip_grounding_ros/... '
              'for the bundled simulator model', read_only=True),
    ParamSpec('device', 'auto', 'Inference device: auto, cpu, cuda or cuda:N', read_only=True),
    ParamSpec('fp16', True, 'Use half precision on CUDA (ignored on the CPU)', read_only=True),
    ParamSpec('cpu_threads', 0, 'Threads for inference on the CPU; 0 keeps the library '
              'default. 1 is often fastest when other nodes share a small CPU',
              minimum=0, maximum=256, read_only=True),
    ParamSpec('allow_download', True, 'Download a hub model that is not in the local cache; '
              'false keeps the robot strictly offline', read_only=True),
    ParamSpec('rate_hz', 5.0, 'Most groundings per second; each uses the newest frame',
              minimum=0.01, maximum=100.0),
    ParamSpec('use_depth', False, 'Locate targets from camera/depth/image_raw (aligned with '
              'the colour image) instead of the floor-plane projection', read_only=True),
    ParamSpec('publish_debug_image', True, 'Publish the annotated frame on '
              'grounding/debug_image (only while someone subscribes)'),
    ParamSpec('initial_command', '', 'A command to run at start-up, as if published on '
              'command'),
)
GROUNDER_PARAMS = parameter_specs(GrounderConfig)
PERCEPTION_PARAMS = parameter_specs(PerceptionSettings)
MOUNT_PARAMS = parameter_specs(MountSettings)
PARAMS = NODE_PARAMS + GROUNDER_PARAMS + PERCEPTION_PARAMS + MOUNT_PARAMS


def _configure(values: dict) -> tuple[GrounderConfig, PerceptionSettings, dict]:
    """The core configurations from parameter values; ConfigError when they do not fit."""
    try:
        mount = MountSettings(**{p.name: values[p.name] for p in MOUNT_PARAMS}).mount
        return (GrounderConfig(**{p.name: values[p.name] for p in GROUNDER_PARAMS}),
                PerceptionSettings(**{p.name: values[p.name] for p in PERCEPTION_PARAMS},
                                   mount=mount), values)
    except ValueError as error:
        raise ConfigError(str(error)) from None


class GroundingNode(Node):
    def __init__(self, **kwargs):
        super().__init__('grounding_node', **kwargs)
        values = declare_parameters(self, PARAMS)
        grounder_config, settings, _ = _configure(values)
        try:
            encoder = load_encoder(resolve_model(values['model']), device=values['device'],
                                   half=None if values['fp16'] else False,  # None: fp16 on CUDA
                                   allow_download=values['allow_download'])
        except ModelLoadError as error:
            raise ConfigError(str(error)) from None
        if values['cpu_threads'] > 0:
            torch.set_num_threads(values['cpu_threads'])
        self.perception = Perception(Grounder(encoder, grounder_config), settings)
        self.values = values
        self.frame: Image | None = None
        self.processed: Image | None = None
        self.camera_info: CameraInfo | None = None
        self.depth: Image | None = None
        self.heartbeat = RateLimiter(1.0 / HEARTBEAT_S)

        self.faults = faults = Faults(self)
        faults.subscribe(Image, 'grounding/image', self._on_image, SENSOR_QOS)
        faults.subscribe(CameraInfo, 'grounding/camera_info', self._on_info, SENSOR_QOS)
        if values['use_depth']:
            faults.subscribe(Image, 'camera/depth/image_raw', self._on_depth, SENSOR_QOS)
        self.commands = CommandIntake(self, self.handle_command, faults)
        # The action node says when a step is done or failed: the next step begins.
        faults.subscribe(String, 'action/status', self._on_action_status, STATUS_QOS)
        self.target_pub = self.create_publisher(PoseStamped, 'grounding/target', LATEST_QOS)
        self.status_pub = self.create_publisher(String, 'grounding/status', STATUS_QOS)
        self.detections = DetectionPublisher(self, 'grounding/detections', LATEST_QOS)
        self.debug_pub = self.create_publisher(Image, 'grounding/debug_image', LATEST_QOS)
        self.marker_pub = self.create_publisher(MarkerArray, 'grounding/markers', LATEST_QOS)
        self.timer = self.create_timer(1.0 / values['rate_hz'],
                                       faults.guard('grounding', self._tick))
        watch_parameters(self, PARAMS, _configure, self._apply)
        self.get_logger().info(
            f"grounding_node: model '{values['model']}' on {encoder.device}, strategy "
            f"'{grounder_config.strategy}'")
        if values['initial_command']:
            self.handle_command(values['initial_command'])

    def _apply(self, configuration: tuple[GrounderConfig, PerceptionSettings, dict]) -> None:
        grounder_config, settings, self.values = configuration
        self.perception.grounder.config = grounder_config
        self.perception.configure(settings)
        self.timer.timer_period_ns = round(1e9 / self.values['rate_hz'])

    # -- inputs -------------------------------------------------------------------------------
    def _on_image(self, msg: Image) -> None:
        self.frame = msg
        warning = self.perception.note_frame(stamp_seconds(msg.header.stamp), now_seconds(self))
        if warning:
            self.faults.warn(warning)

    def _on_info(self, msg: CameraInfo) -> None:
        self.camera_info = msg

    def _on_depth(self, msg: Image) -> None:
        self.depth = msg

    def _on_action_status(self, msg: String) -> None:
        now = now_seconds(self)
        if self.perception.on_step_outcome(ActionStatus.from_json(msg.data), now):
            self.processed = None
            self._clear_markers()
            self._publish_status()
            self._tick()

    def handle_command(self, text: str) -> None:
        now = now_seconds(self)
        self._check_clock(now)
        command = self.perception.on_command(text, now)
        if command is None:
            self.get_logger().warning(self.perception.session.message)
        else:
            self.get_logger().info(f"command '{text}' -> " +
                                   '; '.join(step.describe() for step in command.steps))
            self.processed = None  # the next frame is grounded whatever its stamp
        self._clear_markers()
        self._publish_status()
        self._tick()  # act on the newest frame now rather than at the next tick

    # -- processing ---------------------------------------------------------------------------
    def _check_clock(self, now: float) -> None:
        warning = self.perception.check_clock(now)
        if warning:
            self.faults.warn(warning)

    def _tick(self) -> None:
        now = now_seconds(self)
        self._check_clock(now)
        perception = self.perception
        if not perception.wants_frames:
            if self.heartbeat.ready(now):
                self._publish_status()  # idle, stopped or error: still alive, still saying why
            return
        if not perception.check_frames(now):
            self._publish_status()
            return
        if self.frame is None or self.frame is self.processed:
            return  # never spend time on a frame already grounded
        self.processed = frame_msg = self.frame
        try:
            frame = self._frame(frame_msg)
        except (ImageError, GeometryError) as error:
            self._publish_status(perception.on_unusable_frame(error))
            return
        update = perception.process(frame, now)
        for warning in update.warnings:
            self.faults.warn(warning)
        if update.target is not None:
            self._publish_target(frame_msg.header, update)
        elif update.result is not None:
            self._clear_markers()
        if update.result is not None:
            self.detections.publish(frame_msg.header, update.result)
            self._publish_debug_image(frame.rgb, update.result, frame_msg.header)
        self._publish_status(update.status)

    def _frame(self, msg: Image) -> Frame:
        """The core's view of a frame: pixels, calibration and depth (when used), with the
        stamps of each, so the core can tell whether they belong together."""
        inputs = {}
        if self.camera_info is not None:
            inputs['intrinsics_stamp'] = stamp_seconds(self.camera_info.header.stamp)
            try:
                inputs['intrinsics'] = camera_info_to_intrinsics(self.camera_info)
            except GeometryError as error:  # reported if a target needs placing
                inputs['calibration_problem'] = str(error)
        if self.depth is not None:
            inputs['depth'] = depth_image_to_metres(self.depth)
            inputs['depth_stamp'] = stamp_seconds(self.depth.header.stamp)
        return Frame(image_to_rgb(msg), stamp_seconds(msg.header.stamp), msg.header.frame_id,
                     **inputs)

    # -- outputs ------------------------------------------------------------------------------
    def _publish_target(self, image_header: Header, update) -> None:
        point = update.target
        msg = PoseStamped()
        msg.header.stamp = image_header.stamp
        msg.header.frame_id = self.perception.settings.base_frame
        msg.pose.position = Point(x=point.x, y=point.y, z=point.z)
        msg.pose.orientation.w = 1.0
        self.target_pub.publish(msg)
        label = f'{update.result.phrase} {update.result.best.score:.2f}'
        # A new header: the image's header is the camera's, the markers are in the base frame.
        header = Header(stamp=image_header.stamp, frame_id=self.perception.settings.base_frame)
        self.marker_pub.publish(MarkerArray(
            markers=[_marker(spec, header) for spec in target_markers(point, label)]))

    def _publish_status(self, status=None) -> None:
        self.heartbeat.last = now_seconds(self)
        status = status or self.perception.status()
        status.warnings = self.faults.current()
        publish_status(self.status_pub, status)

    def _publish_debug_image(self, rgb, result: GroundingResult, header: Header) -> None:
        if not self.values['publish_debug_image']:
            return
        if self.debug_pub.get_subscription_count() == 0:
            return  # drawing costs time; nobody is looking
        self.debug_pub.publish(rgb_to_image(annotate(rgb, result), header))

    def _clear_markers(self) -> None:
        self.marker_pub.publish(MarkerArray(markers=[Marker(ns='grounding',
                                                            action=Marker.DELETEALL)]))


def _marker(spec: MarkerSpec, header: Header) -> Marker:
    kind = {'sphere': Marker.SPHERE, 'text': Marker.TEXT_VIEW_FACING}[spec.kind]
    scale = Vector3(x=spec.scale, y=spec.scale, z=spec.scale) if spec.kind == 'sphere' \
        else Vector3(z=spec.scale)
    marker = Marker(header=header, ns='grounding', id=spec.marker_id, type=kind,
                    action=Marker.ADD, scale=scale, color=ColorRGBA(
                        r=spec.rgba[0], g=spec.rgba[1], b=spec.rgba[2], a=spec.rgba[3]),
                    text=spec.text)
    marker.pose.position = Point(x=spec.position[0], y=spec.position[1], z=spec.position[2])
    marker.pose.orientation.w = 1.0
    return marker


def main(args=None):
    from .common import run_node
    raise SystemExit(run_node(GroundingNode, args))


if __name__ == '__main__':
    main()
