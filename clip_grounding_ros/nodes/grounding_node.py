"""grounding_node: commands in, grounded targets out.

Subscribes `command` (std_msgs/String), `grounding/image`, `grounding/camera_info` and,
with use_depth, `camera/depth/image_raw`. On a command it parses it, encodes the phrase
once, and grounds it in the newest frame at up to rate_hz, never queueing old frames.
Publishes `grounding/target` (PoseStamped in base_frame, stamped with the image time),
`grounding/status` (one JSON object), `grounding/debug_image` and `grounding/markers`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from geometry_msgs.msg import Point, PoseStamped, Vector3
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import ColorRGBA, Header, String
from visualization_msgs.msg import Marker, MarkerArray

from ..core.commands import CommandError, parse_command
from ..core.geometry import CameraMount, GeometryError, TargetPoint, locate_box
from ..core.grounding import Grounder, GrounderConfig, GroundingResult, UnknownWordsError
from ..core.images import ImageError
from ..core.model import DEFAULT_HUB_MODEL, ModelLoadError, load_encoder
from ..core.session import CLASSIFYING, GroundingSession
from .common import (LATEST_QOS, SENSOR_QOS, STATUS_QOS, CommandSubscription, ConfigError,
                     Param, camera_info_to_intrinsics, declare_parameters,
                     depth_image_to_metres, image_to_rgb, now_seconds, parameter_values,
                     publish_json, rgb_to_image, stamp_seconds, watch_parameters)
from ..resources import resolve_model

_DEFAULTS = GrounderConfig()
HEARTBEAT_S = 1.0  # status period while nothing is being grounded (the action node watches)
PARAMS = (
    Param('model', DEFAULT_HUB_MODEL, 'CLIP model: a Hugging Face hub id, the path of a '
          'local folder saved with save_pretrained, or package://clip_grounding_ros/... for '
          'the bundled simulator model', read_only=True),
    Param('device', 'auto', 'Inference device: auto, cpu, cuda or cuda:N', read_only=True),
    Param('fp16', True, 'Use half precision on CUDA (ignored on the CPU)', read_only=True),
    Param('cpu_threads', 0, 'Threads for inference on the CPU; 0 keeps the library default. '
          '1 is often fastest when other nodes share a small CPU', read_only=True),
    Param('allow_download', True, 'Download a hub model that is not in the local cache; '
          'false keeps the robot strictly offline', read_only=True),
    Param('strategy', _DEFAULTS.strategy, 'Region strategy: crops (score proposals), dense '
          '(one-pass patch map) or hybrid (map ranks proposals, crops re-rank the best)'),
    Param('score_threshold', _DEFAULTS.score_threshold, 'Minimum probability that a region '
          'shows the phrase rather than a background prompt; below it nothing matches'),
    Param('background_prompts', list(_DEFAULTS.background_prompts), 'Prompts the phrase '
          'competes with in each region ("nothing here matches" when they win)'),
    Param('prompt_templates', list(_DEFAULTS.prompt_templates), "Templates with '{}' for "
          'the phrase; the embeddings of all templates are averaged'),
    Param('max_crops', _DEFAULTS.max_crops, 'Most proposals scored per frame (crops strategy)'),
    Param('hybrid_crops', _DEFAULTS.hybrid_crops, 'Proposals re-ranked by crops (hybrid)'),
    Param('crop_context', _DEFAULTS.crop_context, 'Context margin around each crop, '
          'fraction of the box size on each side'),
    Param('dense_short_side', _DEFAULTS.dense_short_side, 'Short side (px) of the dense '
          "pass' input; 0 uses the model's input size"),
    Param('rate_hz', 5.0, 'Most groundings per second; each uses the newest frame'),
    Param('lost_timeout', 2.0, 'Seconds (ROS time) without a match before the state '
          'becomes lost'),
    Param('image_timeout', 2.0, 'Seconds (ROS time) without a frame before an error is '
          'reported'),
    Param('camera_x', 0.15, 'Camera optical centre, metres ahead of the base origin'),
    Param('camera_y', 0.0, 'Camera optical centre, metres left of the base origin'),
    Param('camera_z', 0.35, 'Camera optical centre height above the floor (m)'),
    Param('camera_pitch_deg', 20.0, 'Camera tilt, degrees down from horizontal'),
    Param('camera_yaw_deg', 0.0, 'Camera yaw, degrees left of the base x axis'),
    Param('base_frame', 'base_link', 'Frame of grounding/target (REP-103: x forward, y left, '
          'z up, z = 0 on the floor)'),
    Param('use_depth', False, 'Locate targets from camera/depth/image_raw (aligned with '
          'the colour image) instead of the floor-plane projection', read_only=True),
    Param('publish_debug_image', True, 'Publish the annotated frame on '
          'grounding/debug_image (only while someone subscribes)'),
    Param('initial_command', '', 'A command to run at start-up, as if published on command'),
)


class GroundingNode(Node):
    def __init__(self, **kwargs):
        super().__init__('grounding_node', **kwargs)
        declare_parameters(self, PARAMS)
        values = parameter_values(self, PARAMS)
        self._apply(values)
        watch_parameters(self, PARAMS, self._apply)
        try:
            encoder = load_encoder(resolve_model(values['model']), device=values['device'],
                                   half=None if values['fp16'] else False,  # None: fp16 on CUDA
                                   allow_download=values['allow_download'])
        except ModelLoadError as error:
            raise ConfigError(str(error)) from None
        if values['cpu_threads'] > 0:
            torch.set_num_threads(values['cpu_threads'])
        self.grounder = Grounder(encoder, self.grounder_config)
        self.session = GroundingSession(lost_timeout=values['lost_timeout'])
        self.frame: Image | None = None
        self.frame_received: float | None = None
        self.processed_stamp = None
        self.camera_info: CameraInfo | None = None
        self.depth: Image | None = None
        self.last_result: GroundingResult | None = None
        self.last_point: TargetPoint | None = None
        self.classification: list[tuple[str, float]] = []
        self.last_status_time = -float('inf')
        self.last_command_text = ''

        self.create_subscription(Image, 'grounding/image', self._on_image, SENSOR_QOS)
        self.create_subscription(CameraInfo, 'grounding/camera_info', self._on_info, SENSOR_QOS)
        if values['use_depth']:
            self.create_subscription(Image, 'camera/depth/image_raw', self._on_depth, SENSOR_QOS)
        self.commands = CommandSubscription(self, self.handle_command)
        self.target_pub = self.create_publisher(PoseStamped, 'grounding/target', LATEST_QOS)
        self.status_pub = self.create_publisher(String, 'grounding/status', STATUS_QOS)
        self.debug_pub = self.create_publisher(Image, 'grounding/debug_image', LATEST_QOS)
        self.marker_pub = self.create_publisher(MarkerArray, 'grounding/markers', LATEST_QOS)
        self.timer = self.create_timer(1.0 / values['rate_hz'], self._tick)
        self.get_logger().info(
            f"grounding_node: model '{values['model']}' on {encoder.device}, strategy "
            f"'{self.grounder_config.strategy}'")
        if values['initial_command']:
            self.handle_command(values['initial_command'])

    # -- parameters -------------------------------------------------------------------------
    def _apply(self, values: dict) -> None:
        if values['rate_hz'] <= 0:
            raise ConfigError(f"rate_hz must be > 0, got {values['rate_hz']}")
        for name in ('lost_timeout', 'image_timeout'):
            if values[name] <= 0:
                raise ConfigError(f'{name} must be > 0, got {values[name]}')
        if not values['base_frame']:
            raise ConfigError('base_frame must not be empty')
        if values['cpu_threads'] < 0:
            raise ConfigError(f"cpu_threads must be >= 0, got {values['cpu_threads']}")
        try:  # core validation raises ValueError; run_node reports only ConfigError cleanly
            config = GrounderConfig(
                strategy=values['strategy'], score_threshold=values['score_threshold'],
                background_prompts=values['background_prompts'],
                prompt_templates=values['prompt_templates'], max_crops=values['max_crops'],
                hybrid_crops=values['hybrid_crops'], crop_context=values['crop_context'],
                dense_short_side=values['dense_short_side'])
            mount = CameraMount(x=values['camera_x'], y=values['camera_y'],
                                z=values['camera_z'],
                                pitch=math.radians(values['camera_pitch_deg']),
                                yaw=math.radians(values['camera_yaw_deg']))
        except ValueError as error:
            raise ConfigError(str(error)) from None
        self.grounder_config, self.mount, self.settings = config, mount, values
        if hasattr(self, 'grounder'):
            self.grounder.config = config
            self.session.lost_timeout = values['lost_timeout']
            self.timer.timer_period_ns = round(1e9 / values['rate_hz'])

    # -- inputs -------------------------------------------------------------------------------
    def _on_image(self, msg: Image) -> None:
        self.frame, self.frame_received = msg, now_seconds(self)

    def _on_info(self, msg: CameraInfo) -> None:
        self.camera_info = msg

    def _on_depth(self, msg: Image) -> None:
        self.depth = msg

    def handle_command(self, text: str) -> None:
        try:
            command = parse_command(text)
            if command.target:
                self.grounder.phrase_embedding(command.target)  # encoded once, here
        except (CommandError, UnknownWordsError) as error:
            self.session.on_bad_command(str(error))
            self.get_logger().warning(str(error))
            self._publish_status(text=text)
            return
        self.session.on_command(command, now_seconds(self))
        self.last_result, self.last_point, self.classification = None, None, []
        self.get_logger().info(f"command '{text}' -> {command.intent} '{command.target}'")
        if not self.session.grounding:
            self._clear_markers()
        self._publish_status()
        self._tick()  # act on the newest frame now rather than at the next tick

    # -- processing ---------------------------------------------------------------------------
    def _tick(self) -> None:
        now = now_seconds(self)
        if not (self.session.grounding or self.session.classifying):
            if now - self.last_status_time >= HEARTBEAT_S:
                self._publish_status()  # idle, stopped or error: still alive, still saying why
            return
        # A node that just started gets image_timeout to receive its first frame.
        last_frame = self.session.command_time if self.frame is None else self.frame_received
        if now - last_frame > self.settings['image_timeout']:
            waited = 'yet' if self.frame is None else f'for {now - last_frame:.1f} s'
            self.session.on_error(f'no camera frames on grounding/image {waited}')
            self._publish_status()
            return
        if self.frame is None:
            return
        frame = self.frame
        if self.processed_stamp == frame.header.stamp:
            return  # already grounded this frame: never spend time on an old one
        self.processed_stamp = frame.header.stamp
        try:
            rgb = image_to_rgb(frame)
        except ImageError as error:
            self.session.on_error(f'unusable frame: {error}')
            self._publish_status()
            return
        if self.session.classifying:
            self.classification = self.grounder.classify(rgb, self.session.command.prompts)
            best, probability = self.classification[0]
            # Also leaves an earlier error (no frames yet): this frame was classified.
            self.session.state = CLASSIFYING
            self.session.message = f"best match '{best}' ({probability:.2f})"
            self._publish_status(frame)
            return
        self._ground(rgb, frame, now)

    def _ground(self, rgb: np.ndarray, frame: Image, now: float) -> None:
        result = self.grounder.ground(rgb, self.session.command.target)
        self.last_result, self.last_point = result, None
        if not result.found:
            self.session.on_result(False, result.message, now)
            self._clear_markers()
        else:
            try:
                self.last_point = self._locate(result, rgb.shape)
            except (GeometryError, ImageError) as error:
                self.session.on_error(f"found '{result.phrase}' but cannot place it: {error}")
            else:
                if self.last_point is None:
                    self.session.on_error(f"found '{result.phrase}' but its base is above the "
                                          'horizon: check camera_z and camera_pitch_deg')
                else:
                    self.session.on_result(True, result.message, now)
                    self._publish_target(frame)
        self._publish_status(frame)
        self._publish_debug_image(rgb, result, frame)

    def _locate(self, result: GroundingResult, shape) -> TargetPoint | None:
        if self.camera_info is None:
            raise GeometryError('no camera_info received on grounding/camera_info')
        intrinsics = camera_info_to_intrinsics(self.camera_info)
        if (intrinsics.width, intrinsics.height) != (shape[1], shape[0]):
            intrinsics = intrinsics.scaled(shape[1], shape[0])
        depth = depth_image_to_metres(self.depth) if self.depth is not None else None
        return locate_box(result.best.box, intrinsics, self.mount, depth)

    # -- outputs ------------------------------------------------------------------------------
    def _publish_target(self, frame: Image) -> None:
        point = self.last_point
        msg = PoseStamped()
        msg.header.stamp = frame.header.stamp
        msg.header.frame_id = self.settings['base_frame']
        msg.pose.position = Point(x=point.x, y=point.y, z=point.z)
        msg.pose.orientation.w = 1.0
        self.target_pub.publish(msg)
        self._publish_markers(frame)

    def _publish_status(self, frame: Image | None = None, text: str | None = None) -> None:
        self.last_status_time = now_seconds(self)
        if text is not None:
            self.last_command_text = text
        session, command, result = self.session, self.session.command, self.last_result
        status = {
            'state': session.state, 'message': session.message, 'command_id': session.command_id,
            'command': command.text if command else self.last_command_text,
            'intent': command.intent if command else '',
            'target': command.target if command else '',
            'strategy': self.grounder_config.strategy,
            'found': bool(result and result.found and self.last_point is not None),
        }
        if frame is not None:
            status['image_stamp'] = round(stamp_seconds(frame.header.stamp), 6)
            status['frame_id'] = frame.header.frame_id
        if result is not None and result.best is not None:
            status['score'] = round(result.best.score, 4)
            status['box'] = [round(v, 1) for v in result.best.box]
            status['candidates'] = [c.as_dict() for c in result.candidates]
            status['timings_ms'] = {k: round(v, 1) for k, v in result.timings_ms.items()}
        if self.last_point is not None:
            point = self.last_point
            status.update(distance=round(point.distance, 3),
                          bearing=round(point.bearing, 4),
                          position=[round(point.x, 3), round(point.y, 3), round(point.z, 3)],
                          position_source=point.source,
                          base_frame=self.settings['base_frame'])
        if self.classification:
            status['classification'] = [{'prompt': p, 'probability': round(q, 4)}
                                        for p, q in self.classification]
        publish_json(self.status_pub, status)

    def _publish_debug_image(self, rgb: np.ndarray, result: GroundingResult,
                             frame: Image) -> None:
        if not self.settings['publish_debug_image']:
            return
        if self.debug_pub.get_subscription_count() == 0:
            return  # drawing costs time; nobody is looking
        self.debug_pub.publish(rgb_to_image(annotate(rgb, result), frame.header))

    def _publish_markers(self, frame: Image) -> None:
        point, result = self.last_point, self.last_result
        # A new header: assigning frame_id to frame.header would relabel the camera frame
        # itself (the status' frame_id and the debug image's header) as the base frame.
        header = Header(stamp=frame.header.stamp, frame_id=self.settings['base_frame'])
        sphere = Marker(header=header, ns='grounding', id=0, type=Marker.SPHERE,
                        action=Marker.ADD, scale=Vector3(x=0.2, y=0.2, z=0.2),
                        color=ColorRGBA(r=0.1, g=0.9, b=0.2, a=0.8))
        sphere.pose.position = Point(x=point.x, y=point.y, z=point.z)
        sphere.pose.orientation.w = 1.0
        label = Marker(header=header, ns='grounding', id=1, type=Marker.TEXT_VIEW_FACING,
                       action=Marker.ADD, scale=Vector3(z=0.15),
                       color=ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0),
                       text=f'{result.phrase} {result.best.score:.2f}')
        label.pose.position = Point(x=point.x, y=point.y, z=point.z + 0.3)
        label.pose.orientation.w = 1.0
        self.marker_pub.publish(MarkerArray(markers=[sphere, label]))

    def _clear_markers(self) -> None:
        self.marker_pub.publish(MarkerArray(markers=[Marker(ns='grounding',
                                                            action=Marker.DELETEALL)]))


def annotate(rgb: np.ndarray, result: GroundingResult) -> np.ndarray:
    """The frame with the candidates drawn: the answer thick (green when found, red when
    below the threshold), runners-up thin grey, each with its score."""
    image = np.ascontiguousarray(rgb.copy())
    for rank, candidate in reversed(list(enumerate(result.candidates))):
        x1, y1, x2, y2 = (int(round(v)) for v in candidate.box)
        if rank == 0:
            colour, thickness = ((40, 220, 60) if result.found else (230, 40, 40)), 2
            text = f'{result.phrase} {candidate.score:.2f}'
        else:
            colour, thickness, text = (170, 170, 170), 1, f'{candidate.score:.2f}'
        cv2.rectangle(image, (x1, y1), (x2 - 1, y2 - 1), colour, thickness)
        cv2.putText(image, text, (x1 + 2, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    colour, 1, cv2.LINE_AA)
    return image


def main(args=None):
    from .common import run_node
    raise SystemExit(run_node(GroundingNode, args))


if __name__ == '__main__':
    main()
