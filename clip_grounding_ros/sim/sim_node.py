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
sim_node: a MuJoCo world with a differential-drive robot, as a ROS robot would look.

Subscribes `cmd_vel` (Twist, or TwistStamped with twist_stamped:=true); publishes
`camera/image_raw`, `camera/camera_info`, optionally `camera/depth/image_raw` (32FC1) and
`camera/image_raw/compressed` (JPEG), `odom`,
`/clock` (so every other node runs on use_sim_time) and `sim/ground_truth` (JSON: robot
pose, distances to the objects, where the objects are, objects touched) for tests and the
demo. Like a real base controller it stops when cmd_vel goes quiet for cmd_vel_timeout.
"""

from __future__ import annotations

import math
import threading
import time

from geometry_msgs.msg import Twist, TwistStamped
from nav_msgs.msg import Odometry
import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.time import Time as RosTime
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header, String

from .scene import load_scene, SceneError
from .world import CameraSpec, SimWorld
from ..core.contract.messages import GroundTruth
from ..core.contract.parameters import ParamSpec
from ..core.perception.images import encode_compressed
from ..core.world.camera import Intrinsics
from ..core.world.frames import quaternion_from_yaw
from ..nodes.common import (
    ConfigError,
    intrinsics_to_camera_info,
    LATEST_QOS,
    rgb_to_image,
    STATUS_QOS,
)
from ..nodes.parameters import declare_parameters

_CAMERA = CameraSpec()
PARAMS = (
    ParamSpec('scene', 'boxes', "Scene name ('boxes', 'mixed'), path of a scene YAML file, "
              "'random:<seed>' or 'random_textured:<seed>'", read_only=True),
    ParamSpec('realtime_factor', 1.0, 'Simulated seconds per wall-clock second; 0 runs as '
              'fast as possible', minimum=0.0, maximum=100.0, read_only=True),
    ParamSpec('physics_dt', 0.005, 'Physics time step (s)', minimum=0.0001, maximum=0.1,
              read_only=True),
    ParamSpec('clock_rate_hz', 100.0, 'Rate of /clock messages (simulated time)',
              minimum=1.0, maximum=10000.0, read_only=True),
    ParamSpec('camera_rate_hz', 10.0, 'Camera frame rate (simulated time)', minimum=0.1,
              maximum=1000.0, read_only=True),
    ParamSpec('odom_rate_hz', 50.0, 'Odometry rate (simulated time)', minimum=0.1,
              maximum=1000.0, read_only=True),
    ParamSpec('image_width', _CAMERA.width, 'Camera image width (px)', minimum=8,
              maximum=4096, read_only=True),
    ParamSpec('image_height', _CAMERA.height, 'Camera image height (px)', minimum=8,
              maximum=4096, read_only=True),
    ParamSpec('fovy_deg', _CAMERA.fovy_deg, 'Camera vertical field of view (deg)',
              minimum=1.0, maximum=170.0, read_only=True),
    ParamSpec('camera_x', _CAMERA.mount_x, 'Camera position ahead of the base origin (m)',
              minimum=-1.0, maximum=1.0, read_only=True),
    ParamSpec('camera_z', _CAMERA.mount_z, 'Camera height above the floor (m)', minimum=0.05,
              maximum=2.0, read_only=True),
    ParamSpec('camera_pitch_deg', _CAMERA.pitch_deg, 'Camera tilt down from horizontal (deg)',
              minimum=-89.0, maximum=89.0, read_only=True),
    ParamSpec('publish_depth', False, 'Also publish camera/depth/image_raw (32FC1, metres)',
              read_only=True),
    ParamSpec('publish_compressed', False, 'Also publish camera/image_raw/compressed (JPEG, '
              "as image_transport's compressed plugin names it), for a grounding node on "
              'another host', read_only=True),
    ParamSpec('jpeg_quality', 90, 'JPEG quality of camera/image_raw/compressed (1-100)',
              minimum=1, maximum=100, read_only=True),
    ParamSpec('twist_stamped', False, 'Subscribe to TwistStamped instead of Twist on cmd_vel',
              read_only=True),
    ParamSpec('cmd_vel_timeout', 0.5, 'Stop the base when no cmd_vel arrives for this long '
              '(simulated s), as diff_drive_controller does', minimum=0.01, maximum=60.0,
              read_only=True),
    ParamSpec('odom_frame', 'odom', 'Odometry frame', read_only=True),
    ParamSpec('base_frame', 'base_link', 'Robot base frame', read_only=True),
    ParamSpec('camera_frame', 'camera_optical_frame', 'frame_id of camera images',
              read_only=True),
)


class SimNode(Node):

    def __init__(self, **kwargs):
        super().__init__('sim_node', **kwargs)
        self.settings = values = declare_parameters(self, PARAMS)
        self.camera = CameraSpec(width=values['image_width'], height=values['image_height'],
                                 fovy_deg=values['fovy_deg'], mount_x=values['camera_x'],
                                 mount_z=values['camera_z'],
                                 pitch_deg=values['camera_pitch_deg'])
        try:
            self.scene = load_scene(values['scene'])
            self.world = SimWorld(self.scene, self.camera, timestep=values['physics_dt'])
        except (SceneError, ValueError) as error:
            raise ConfigError(str(error)) from None
        fx, fy, cx, cy = self.camera.intrinsics()
        self.intrinsics = Intrinsics(fx, fy, cx, cy, self.camera.width, self.camera.height)
        self.lock = threading.Lock()
        self.last_cmd_time = -math.inf
        self.command = (0.0, 0.0)

        sensor_qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
        self.image_pub = self.create_publisher(Image, 'camera/image_raw', sensor_qos)
        self.info_pub = self.create_publisher(CameraInfo, 'camera/camera_info', sensor_qos)
        self.depth_pub = (self.create_publisher(Image, 'camera/depth/image_raw', sensor_qos)
                          if values['publish_depth'] else None)
        self.compressed_pub = (self.create_publisher(
            CompressedImage, 'camera/image_raw/compressed', sensor_qos)
            if values['publish_compressed'] else None)
        self.odom_pub = self.create_publisher(Odometry, 'odom', 10)
        self.clock_pub = self.create_publisher(Clock, '/clock', 10)
        self.truth_pub = self.create_publisher(String, 'sim/ground_truth', STATUS_QOS)
        self.create_subscription(TwistStamped if values['twist_stamped'] else Twist, 'cmd_vel',
                                 self._on_cmd_vel, LATEST_QOS)
        self.running = True
        self.thread = threading.Thread(target=self._run, name='sim_loop', daemon=True)
        self.thread.start()
        self.get_logger().info(
            f"sim_node: scene '{self.scene.name}' with {len(self.scene.objects)} objects, "
            f"camera {self.camera.width}x{self.camera.height} at {values['camera_rate_hz']} Hz, "
            f"realtime factor {values['realtime_factor']}")

    def _on_cmd_vel(self, msg) -> None:
        twist = msg.twist if isinstance(msg, TwistStamped) else msg
        values = (twist.linear.x, twist.angular.z)
        if not all(math.isfinite(v) for v in values):
            self.get_logger().warning(f'ignoring non-finite cmd_vel {values}')
            return
        with self.lock:
            self.command, self.last_cmd_time = values, self.world.time

    # -- simulation loop (own thread: it is the clock every other node follows) -----------
    def _run(self) -> None:
        settings = self.settings
        dt = settings['physics_dt']
        tick = max(1, round(1.0 / settings['clock_rate_hz'] / dt)) * dt
        camera_period = 1.0 / settings['camera_rate_hz']
        odom_period = 1.0 / settings['odom_rate_hz']
        next_camera = next_odom = next_truth = 0.0
        wall_start = time.monotonic()
        while self.running:
            with self.lock:
                fresh = self.world.time - self.last_cmd_time <= settings['cmd_vel_timeout']
                self.world.set_velocity(*(self.command if fresh else (0.0, 0.0)))
                self.world.step(tick)
                now = self.world.time
                header = Header(stamp=_stamp(now))
                self.clock_pub.publish(Clock(clock=header.stamp))
                if now + 1e-9 >= next_odom:
                    next_odom += odom_period
                    self._publish_odom(header)
                if now + 1e-9 >= next_camera:
                    next_camera += camera_period
                    self._publish_camera(header)
                if now + 1e-9 >= next_truth:
                    next_truth += 0.5
                    self._publish_truth(now)
            if settings['realtime_factor'] > 0:
                delay = wall_start + now / settings['realtime_factor'] - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

    def _publish_camera(self, header: Header) -> None:
        header = Header(stamp=header.stamp, frame_id=self.settings['camera_frame'])
        rgb = self.world.render()
        self.image_pub.publish(rgb_to_image(rgb, header))
        if self.compressed_pub is not None:
            msg = CompressedImage(header=header, format='rgb8; jpeg compressed bgr8')
            msg.data = encode_compressed(rgb, 'jpeg', self.settings['jpeg_quality'])
            self.compressed_pub.publish(msg)
        self.info_pub.publish(intrinsics_to_camera_info(self.intrinsics, header))
        if self.depth_pub is not None:
            depth = self.world.render_depth().astype(np.float32)
            msg = Image(header=header, height=depth.shape[0], width=depth.shape[1],
                        encoding='32FC1', is_bigendian=0, step=depth.shape[1] * 4)
            msg.data = depth.tobytes()
            self.depth_pub.publish(msg)

    def _publish_odom(self, header: Header) -> None:
        x, y, yaw = self.world.robot_pose()
        v, w = self.world.robot_velocity()
        msg = Odometry(header=Header(stamp=header.stamp, frame_id=self.settings['odom_frame']),
                       child_frame_id=self.settings['base_frame'])
        msg.pose.pose.position.x, msg.pose.pose.position.y = x, y
        orientation = msg.pose.pose.orientation
        orientation.z, orientation.w = quaternion_from_yaw(yaw)
        msg.twist.twist.linear.x, msg.twist.twist.angular.z = v, w
        self.odom_pub.publish(msg)

    def _publish_truth(self, now: float) -> None:
        x, y, yaw = self.world.robot_pose()
        self.truth_pub.publish(String(data=GroundTruth(
            time=round(now, 3), scene=self.scene.name,
            robot=[round(x, 4), round(y, 4), round(yaw, 4)],
            distances={obj.name: round(self.world.distance_to_object(obj.name), 4)
                       for obj in self.scene.objects},
            touched=sorted(self.world.touched_objects()),
            positions={obj.name: [round(v, 4) for v in self.world.object_position(obj.name)]
                       for obj in self.scene.objects}).to_json()))

    def on_shutdown(self) -> None:
        self.running = False
        self.thread.join(timeout=5.0)
        self.world.close()


def _stamp(seconds: float):
    return RosTime(nanoseconds=int(round(seconds * 1e9))).to_msg()


def main(args=None):
    from ..nodes.process import run_node
    raise SystemExit(run_node(SimNode, args))


if __name__ == '__main__':
    main()
