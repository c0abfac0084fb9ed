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
grounding_node: commands in, grounded targets out.

Subscribes `command` (std_msgs/String), `grounding/image`, `grounding/camera_info`, `odom`
(optional: follows the chosen object by position while the robot moves), `action/status`
(when a step of a command is done, the next begins) and, with use_depth,
`camera/depth/image_raw`. On a command every phrase is encoded once; a worker thread grounds
the newest frame at up to rate_hz, never a queue of old ones, while the callbacks (frames,
commands, heartbeats) go on; between groundings a tracker follows the chosen box on every
frame. Publishes `grounding/target` (PoseStamped in base_frame, stamped with the image
time, at camera rate while tracking), `grounding/status` (JSON, see core.contract.status),
`grounding/detections` (vision_msgs/Detection2DArray, where vision_msgs is installed),
`grounding/debug_image`, `grounding/markers` and `memory/markers` (the object memory, in the
odometry frame). With ``memory_file`` the object memory is saved atomically every
``memory_save_period`` and at shutdown, and loaded again at start when it belongs to the same
odometry session.

The logic is core.perception.pipeline's; this node only translates between ROS messages and it, and
runs the slow grounding off the callback thread.
"""

from __future__ import annotations

from dataclasses import replace
import math
import threading

from geometry_msgs.msg import Point, PoseStamped, Vector3
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import ColorRGBA, Header, String
import torch
from visualization_msgs.msg import Marker, MarkerArray

from .command_intake import CommandIntake
from .common import (
    camera_info_to_intrinsics,
    ConfigError,
    depth_image_to_metres,
    Faults,
    image_to_rgb,
    LATEST_QOS,
    now_seconds,
    rgb_to_image,
    SENSOR_QOS,
    stamp_seconds,
    STATUS_QOS,
    StatusPublisher,
    yaw_of,
)
from .detections import DetectionPublisher
from .parameters import declare_parameters, make_configs, watch_parameters
from ..core.contract.parameters import parameter_specs, ParamSpec
from ..core.contract.status import ActionStatus
from ..core.contract.timing import RateLimiter, StampedHistory
from ..core.language.dialogue import DialogueConfig
from ..core.language.steps import SpokenAmounts
from ..core.perception.choice import EvidenceConfig
from ..core.perception.drawing import annotate, MarkerSpec, memory_markers, target_markers
from ..core.perception.encoder import Backend, DEFAULT_HUB_MODEL, ModelLoadError
from ..core.perception.grounding import Grounder, GrounderConfig, GroundingResult
from ..core.perception.images import ImageError
from ..core.perception.model import load_encoder
from ..core.perception.pipeline import Frame, Perception, PerceptionConfig, PerceptionUpdate
from ..core.perception.proposals import segmentation_available
from ..core.perception.tracking import TrackerConfig
from ..core.world.camera import GeometryError, MountConfig
from ..core.world.frames import Pose, PoseHistory
from ..core.world.memory import AssociationConfig
from ..core.world.objects import ObjectMemoryConfig
from ..resources import resolve_model

HEARTBEAT_S = 1.0       # longest time without a status (the action node watches for it)
TRACKED_STATUS_HZ = 10  # statuses while tracking at camera rate (targets go out every frame)
NODE_PARAMS = (
    ParamSpec('model', DEFAULT_HUB_MODEL, 'CLIP model: a Hugging Face hub id, the path of a '
              'local folder saved with save_pretrained, or package://clip_grounding_ros/... '
              'for the bundled simulator model', read_only=True),
    ParamSpec('device', 'auto', 'Inference device: auto, cpu, cuda or cuda:N', read_only=True),
    ParamSpec('backend', Backend.AUTO, "What runs the model: 'torch', 'openvino' (the export "
              "`python -m clip_grounding_ros.export` wrote into the model folder), or 'auto' "
              '(the export when there is one and the device is the CPU, else torch)',
              read_only=True),
    ParamSpec('fp16', True, 'Use half precision on CUDA (ignored on the CPU)', read_only=True),
    ParamSpec('cpu_threads', 0, 'Threads for inference on the CPU; 0 keeps the library '
              'default. 1 is often fastest when other nodes share a small CPU',
              minimum=0, maximum=256, read_only=True),
    ParamSpec('allow_download', True, 'Download a hub model that is not in the local cache; '
              'false keeps the robot strictly offline', read_only=True),
    ParamSpec('rate_hz', 5.0, 'Most groundings per second; each uses the newest frame',
              minimum=0.01, maximum=100.0),
    ParamSpec('track', True, 'Follow the chosen box on every frame between groundings, so '
              'targets update at camera rate'),
    ParamSpec('use_depth', False, 'Locate targets from camera/depth/image_raw (aligned with '
              'the colour image) instead of the floor-plane projection', read_only=True),
    ParamSpec('publish_debug_image', True, 'Publish the annotated frame on '
              'grounding/debug_image (only while someone subscribes)'),
    ParamSpec('initial_command', '', 'A command to run at start-up, as if published on '
              'command'),
    ParamSpec('memory_file', '', 'Where the object memory is saved (atomically) and loaded '
              'from at start, in the same odometry session; empty: not saved', read_only=True),
    ParamSpec('memory_save_period', 5.0, 'Seconds (ROS time) between saves of a changed object '
              'memory to memory_file, and between memory/markers', minimum=0.5, maximum=3600.0,
              read_only=True),
)
CONFIGS = (GrounderConfig, PerceptionConfig, TrackerConfig, AssociationConfig, SpokenAmounts,
           DialogueConfig, EvidenceConfig, ObjectMemoryConfig, MountConfig)
PARAMS = NODE_PARAMS + tuple(spec for kind in CONFIGS for spec in parameter_specs(kind))


def _configure(values: dict) -> tuple:
    """
    Make the arguments of Perception.configure, and the values, from parameter values.

    ConfigError when they do not fit.
    """
    *configs, mount = make_configs(values, *CONFIGS)
    try:
        configs[1] = replace(configs[1], mount=mount.mount)  # PerceptionConfig
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return *configs, values


class GroundingNode(Node):

    def __init__(self, **kwargs):
        super().__init__('grounding_node', **kwargs)
        values = declare_parameters(self, PARAMS)
        grounder_config, *configs, _ = _configure(values)
        if values['cpu_threads'] > 0:  # before loading: OpenVINO reads it then
            torch.set_num_threads(values['cpu_threads'])
        try:
            encoder = load_encoder(resolve_model(values['model']), device=values['device'],
                                   half=None if values['fp16'] else False,  # None: fp16 on CUDA
                                   allow_download=values['allow_download'],
                                   backend=values['backend'])
        except ModelLoadError as error:
            raise ConfigError(str(error)) from None
        self.perception = Perception(Grounder(encoder, grounder_config), *configs)
        self.perception.warm_up()  # not in the first command's callback: see warm_up
        self.values = values
        # The perception core and the input fields below are shared by the executor's
        # callbacks and the grounding worker: every access holds this lock, except the
        # grounding itself (perception.ground), which only reads.
        self.lock = threading.RLock()
        self.frame: Image | None = None
        self.processed: Image | None = None
        # Paired with each frame by stamp, not by arrival.
        self.camera_infos: StampedHistory[CameraInfo] = StampedHistory()
        self.depths: StampedHistory[Image] = StampedHistory()
        self.poses = PoseHistory()
        self.heartbeat = RateLimiter(1.0 / HEARTBEAT_S)
        self.tracked_status = RateLimiter(TRACKED_STATUS_HZ)

        self.faults = faults = Faults(self)
        faults.subscribe(Image, 'grounding/image', self._on_image, SENSOR_QOS)
        faults.subscribe(CameraInfo, 'grounding/camera_info', self._on_info, SENSOR_QOS)
        faults.subscribe(Odometry, 'odom', self._on_odometry, SENSOR_QOS)
        if values['use_depth']:
            faults.subscribe(Image, 'camera/depth/image_raw', self._on_depth, SENSOR_QOS)
        self.commands = CommandIntake(self, self.handle_command, faults)
        # The action node says when a step is done or failed: the next step begins.
        faults.subscribe(String, 'action/status', self._on_action_status, STATUS_QOS)
        self.target_pub = self.create_publisher(PoseStamped, 'grounding/target', LATEST_QOS)
        self.status_pub = StatusPublisher(self, 'grounding/status', details={
            'model': values['model'], 'backend': str(encoder.backend),
            'device': str(encoder.device)})  # the strategy is a status field (it may change)
        self.detections = DetectionPublisher(self, 'grounding/detections', LATEST_QOS)
        self.debug_pub = self.create_publisher(Image, 'grounding/debug_image', LATEST_QOS)
        self.marker_pub = self.create_publisher(MarkerArray, 'grounding/markers', LATEST_QOS)
        self.memory_pub = self.create_publisher(MarkerArray, 'memory/markers', LATEST_QOS)
        self.odom_frame = ''  # the odometry's frame_id: the memory's frame and session
        self.timer = self.create_timer(1.0 / values['rate_hz'],
                                       faults.guard('grounding', self._tick))
        self.memory_timer = self.create_timer(values['memory_save_period'],
                                              faults.guard('object memory', self._save_memory))
        self.due = threading.Event()       # the timer's go for the worker (rate_hz)
        self.stopping = threading.Event()
        self.worker = threading.Thread(target=self._ground_frames, name='grounding',
                                       daemon=True)
        self.worker.start()
        watch_parameters(self, PARAMS, _configure, self._apply)
        self.get_logger().info(
            f"grounding_node: model '{values['model']}' ({encoder.backend}) on "
            f"{encoder.device}, strategy '{grounder_config.strategy}'")
        if not segmentation_available():
            self.faults.warn('OpenCV has no contrib module cv2.ximgproc: region proposals are '
                             'colour segments and windows only, which miss most real objects '
                             '(install python3-opencv or opencv-contrib-python-headless)')
        if values['initial_command']:
            self.handle_command(values['initial_command'])

    def _apply(self, configuration: tuple) -> None:
        *configs, values = configuration
        with self.lock:
            self.values = values
            self.perception.configure(*configs)
        self.timer.timer_period_ns = round(1e9 / values['rate_hz'])

    # -- inputs -------------------------------------------------------------------------------
    def _on_image(self, msg: Image) -> None:
        now = now_seconds(self)
        with self.lock:
            self.frame = msg
            warning = self.perception.note_frame(stamp_seconds(msg.header.stamp), now)
            if self.values['track'] and self.perception.tracking:
                update = self._track(msg, now)
            else:
                update = None
        if warning:
            self.faults.warn(warning)
        if update is not None:
            self._publish_target(msg.header, update)
            if self.tracked_status.ready(now):
                self._publish_status(update.status)

    def _track(self, msg: Image, now: float) -> PerceptionUpdate | None:
        """Keep the frame for replays and follow the chosen box onto it (under the lock)."""
        try:
            frame = self._frame(msg)
        except (ImageError, GeometryError):
            return None  # the grounding of this frame, if any, reports it
        self.perception.remember_frame(frame)
        try:
            return self.perception.track(frame, now)
        except (ImageError, GeometryError):
            return None

    def _on_info(self, msg: CameraInfo) -> None:
        with self.lock:
            self.camera_infos.add(stamp_seconds(msg.header.stamp), msg)

    def _on_depth(self, msg: Image) -> None:
        with self.lock:
            self.depths.add(stamp_seconds(msg.header.stamp), msg)

    def _on_odometry(self, msg: Odometry) -> None:
        pose = msg.pose.pose
        values = (pose.position.x, pose.position.y, yaw_of(pose),
                  stamp_seconds(msg.header.stamp))
        if all(math.isfinite(v) for v in values):
            with self.lock:
                self.poses.add(Pose(*values))
                warning = self.perception.note_pose(values[:3], values[3])
                if not self.odom_frame and values[3] > 0.0:
                    self.odom_frame = msg.header.frame_id or 'odom'
                    self._load_memory(values[3])
            if warning:
                self.faults.warn(warning)

    # -- the object memory ----------------------------------------------------------------
    def _odometry_session(self) -> str:
        """Name what a saved memory must belong to: this namespace and odometry frame."""
        return f'{self.get_namespace()}|{self.odom_frame}'

    def _load_memory(self, now: float) -> None:
        """Load the saved memory at the first odometry (its frame and the clock are known)."""
        path = self.values['memory_file']
        if not path:
            return
        why = self.perception.load_objects(path, self._odometry_session(), now)
        if why:
            self.faults.warn(f'object memory starts empty: {why}')
        else:
            self.get_logger().info(f'object memory loaded from {path}')

    def _save_memory(self) -> None:
        """Save a changed memory to memory_file; publish it on memory/markers."""
        if not self.odom_frame:
            return  # no odometry yet: nothing seen has a place
        now = now_seconds(self)
        path = self.values['memory_file']
        with self.lock:
            objects = self.perception.changed_objects(now)
            if objects is not None and path:
                self.perception.save_objects(path, self._odometry_session(), now)
        if objects is not None:
            header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.odom_frame)
            self.memory_pub.publish(MarkerArray(
                markers=[Marker(ns='memory', action=Marker.DELETEALL)] +
                [_marker(spec, header, 'memory') for spec in memory_markers(objects)]))

    def _on_action_status(self, msg: String) -> None:
        now = now_seconds(self)
        with self.lock:
            changed = self.perception.on_step_outcome(ActionStatus.from_json(msg.data), now)
            if changed:
                self.processed = None
        if changed:
            self._clear_markers()
            self._publish_status()
            self.due.set()

    def handle_command(self, text: str) -> None:
        now = now_seconds(self)
        with self.lock:
            self._check_clock(now)
            command = self.perception.on_command(text, now)
            if command is not None:
                self.processed = None  # the next frame is grounded whatever its stamp
        if command is None:  # the error state's line (StatusPublisher) says why
            self.get_logger().info(f"command '{text}' refused")
        else:
            self.get_logger().info(f"command '{text}' -> " +
                                   '; '.join(step.describe() for step in command.steps))
        self._clear_markers()
        self._publish_status()
        self._save_memory()  # 'forget ...' changed it: saved and shown at once
        self.due.set()  # act on the newest frame now rather than at the next tick

    # -- processing ---------------------------------------------------------------------------
    def _check_clock(self, now: float) -> None:
        warning = self.perception.check_clock(now)
        if warning:
            self.faults.warn(warning)

    def _tick(self) -> None:
        """Heartbeat and input checks at rate_hz; each tick lets the worker ground once."""
        now = now_seconds(self)
        with self.lock:
            self._check_clock(now)
            perception = self.perception
            if perception.wants_frames and not perception.check_frames(now):
                status = perception.status(now)
            else:
                if perception.wants_frames:
                    self.due.set()
                # At least every HEARTBEAT_S (groundings publish too): the action node tells
                # a quiet but working node from one that is gone.
                status = perception.status(now) if self.heartbeat.ready(now) else None
        if status is not None:
            self._publish_status(status)  # still alive, still saying why

    def _ground_frames(self) -> None:
        """Ground the newest frame not yet grounded, each time the timer says (the worker)."""
        guarded = self.faults.guard('grounding worker', self._ground_newest)
        while not self.stopping.is_set():
            if self.due.wait(timeout=0.2):
                self.due.clear()
                guarded()

    def _ground_newest(self) -> None:
        with self.lock:
            perception = self.perception
            msg = self.frame
            if msg is None or msg is self.processed or not perception.wants_frames:
                return
            self.processed = msg
            try:
                frame = self._frame(msg)
            except (ImageError, GeometryError) as error:
                status = perception.on_unusable_frame(error)
                frame = None
        if frame is None:
            self._publish_status(status)
            return
        grounding = perception.ground(frame, now_seconds(self))  # the slow part, unlocked
        now = now_seconds(self)
        with self.lock:
            update = perception.apply(frame, grounding, now)
        if update is None:
            return  # the command or step changed meanwhile
        for warning in update.warnings:
            self.faults.warn(warning)
        if update.target is not None:
            self._publish_target(msg.header, update)
        elif update.result is not None and not update.status.found:
            self._clear_markers()
        if update.result is not None:
            self.detections.publish(msg.header, update.result)
            self._publish_debug_image(frame.rgb, update.result, msg.header)
        self._publish_status(update.status)

    def _frame(self, msg: Image) -> Frame:
        """
        Make the core's view of a frame, with the stamp of each part.

        The core's view of a frame: pixels, calibration, depth (when used) and the robot's
        pose in odom when it was taken, with the stamps of each so the core can tell whether
        they belong together.
        """
        inputs = {}
        stamp = stamp_seconds(msg.header.stamp)
        camera_info, depth = self.camera_infos.nearest(stamp), self.depths.nearest(stamp)
        if camera_info is not None:
            inputs['intrinsics_stamp'] = stamp_seconds(camera_info.header.stamp)
            try:
                inputs['intrinsics'] = camera_info_to_intrinsics(camera_info)
            except GeometryError as error:  # reported if a target needs placing
                inputs['calibration_problem'] = str(error)
        missing = []
        if depth is not None:
            inputs['depth'] = depth_image_to_metres(depth)
            inputs['depth_stamp'] = stamp_seconds(depth.header.stamp)
        elif self.values['use_depth']:
            missing.append('no depth image received on camera/depth/image_raw')
        pose = self.poses.at(stamp)
        if pose is not None:
            inputs['pose'] = pose.xy_yaw
        elif self.poses.poses:  # odometry is used here, but not yet at this frame's stamp
            missing.append("no odometry at the frame's stamp")
        return Frame(image_to_rgb(msg), stamp, msg.header.frame_id, missing=tuple(missing),
                     **inputs)

    # -- outputs ------------------------------------------------------------------------------
    def _publish_target(self, image_header: Header, update: PerceptionUpdate) -> None:
        point, base_frame = update.target, self.perception.base_frame()
        msg = PoseStamped()
        msg.header.stamp = image_header.stamp
        msg.header.frame_id = base_frame
        msg.pose.position = Point(x=point.x, y=point.y, z=point.z)
        msg.pose.orientation.w = 1.0
        self.target_pub.publish(msg)
        label = f'{update.status.target} {update.status.score or 0.0:.2f}'
        # A new header: the image's header is the camera's, the markers are in the base frame.
        header = Header(stamp=image_header.stamp, frame_id=base_frame)
        self.marker_pub.publish(MarkerArray(
            markers=[_marker(spec, header) for spec in target_markers(point, label)]))

    def _publish_status(self, status=None) -> None:
        now = now_seconds(self)
        with self.lock:
            self.heartbeat.last = now
            status = status or self.perception.status(now)
        status.warnings = self.faults.current()
        self.status_pub.publish(status)

    def _publish_debug_image(self, rgb, result: GroundingResult, header: Header) -> None:
        if not self.values['publish_debug_image']:
            return
        if self.debug_pub.get_subscription_count() == 0:
            return  # drawing costs time; nobody is looking
        self.debug_pub.publish(rgb_to_image(annotate(rgb, result), header))

    def _clear_markers(self) -> None:
        self.marker_pub.publish(MarkerArray(markers=[Marker(ns='grounding',
                                                            action=Marker.DELETEALL)]))

    def on_shutdown(self) -> None:
        """Let the worker finish its grounding (it publishes nothing after this); save."""
        self.stopping.set()
        self.worker.join(timeout=5.0)
        self._save_memory()


def _marker(spec: MarkerSpec, header: Header, namespace: str = 'grounding') -> Marker:
    kind = {'sphere': Marker.SPHERE, 'text': Marker.TEXT_VIEW_FACING}[spec.kind]
    scale = Vector3(x=spec.scale, y=spec.scale, z=spec.scale) if spec.kind == 'sphere' \
        else Vector3(z=spec.scale)
    marker = Marker(header=header, ns=namespace, id=spec.marker_id, type=kind,
                    action=Marker.ADD, scale=scale, color=ColorRGBA(
                        r=spec.rgba[0], g=spec.rgba[1], b=spec.rgba[2], a=spec.rgba[3]),
                    text=spec.text)
    marker.pose.position = Point(x=spec.position[0], y=spec.position[1], z=spec.position[2])
    marker.pose.orientation.w = 1.0
    return marker


def main(args=None):
    from .process import run_node
    raise SystemExit(run_node(GroundingNode, args))


if __name__ == '__main__':
    main()
