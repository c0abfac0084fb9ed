#!/usr/bin/env python3

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
Soak: the pipeline fed a 30 frames/s stream for minutes, its memory and latency watched.

camera_node (raw input), grounding_node (the bundled simulator model, config/sim_demo.yaml's
grounding settings) and action_node (obstacle_source none: no depth here) run as separate
processes; this script publishes the frames on camera/image_raw (with camera/camera_info),
stamped with the current time, and 'go to the blue box' on a latched command publisher at
the start. The frames are the simulator's renders of the boxes scene (MuJoCo, MUJOCO_GL
defaults to osmesa), the robot driving toward the blue box, rendered once and cycled; or,
with --image synthetic, a grey frame with a blue square.

First, command -> first target: COMMAND_TRIALS commands sent one at a time (new text each),
each timed from its publication to the first grounding/status of that command that found
the target (grounding/target goes out in the same callback).

Each minute it prints every node's resident memory (VmRSS, MB) and CPU share (% of one
core, from /proc utime + stime), the rates of groundings and of grounding/target messages
(tracked targets between groundings; their ratio is what tracking adds), and two latencies,
p50/p99:
- compute: grounding/status timings_ms.total_ms, the grounder's own time for one frame;
- frame->status: a status's arrival here minus its image_stamp, i.e. camera_node's hand-over,
  the wait for grounding_node's next tick (rate_hz 5), the grounding, and the status's
  delivery.
At the end: each node's memory growth after the warm-up minute (the first), in %.
The clock starts once the first frame has been grounded (start-up is not a minute).
Nothing is asserted; a node that exits ends the run with status 1. All processes use the
package's Fast DDS profile (clip_grounding_ros.dds; 640x480 frames over shared memory) unless
FASTDDS_DEFAULT_PROFILES_FILE is set: set it empty for Fast DDS's defaults, the baseline.

    .venv/bin/python bench/bench_soak.py [--minutes 10] [--fps 30]
        [--width 640] [--height 480] [--image sim|synthetic] [--log-dir DIR]
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import time

from clip_grounding_ros.core.contract.status import ActionStatus, GroundingStatus, TargetSource
import numpy as np

os.environ.setdefault('MUJOCO_GL', 'osmesa')  # before MuJoCo is imported

NODE_MODULES = {'camera_node': 'clip_grounding_ros.nodes.camera_node',
                'grounding_node': 'clip_grounding_ros.nodes.grounding_node',
                'action_node': 'clip_grounding_ros.nodes.action_node'}
COMMAND = 'go to the blue box'
COMMAND_TRIALS = ('approach the blue box', 'go to the blue box', 'drive to the blue box',
                  'head to the blue box', 'move towards the blue box')
VIEWS = 60          # rendered frames, cycled
START_UP_S = 120.0  # for the nodes to come up and ground a first frame
FOVY_DEG = 60.0


def sim_frames(width: int, height: int) -> tuple[list[np.ndarray], tuple[float, ...]]:
    """
    Render the boxes scene on the way toward the blue box; return it and the intrinsics.

    VIEWS renders of the boxes scene on the way from the start toward the blue box, and the
    camera's (fx, fy, cx, cy).
    """
    from clip_grounding_ros.sim.scene import load_scene
    from clip_grounding_ros.sim.world import CameraSpec, SimWorld

    scene = load_scene('boxes')
    camera = CameraSpec(width=width, height=height, fovy_deg=FOVY_DEG)
    start = np.array(scene.robot_start[:2])
    goal = np.array(scene.object('blue_box').position)
    yaw = math.atan2(goal[1] - start[1], goal[0] - start[0])
    frames = []
    with SimWorld(scene, camera) as world:
        for step in range(VIEWS):
            x, y = start + (goal - start) * 0.6 * step / VIEWS  # stops well short of it
            world.set_robot_pose(float(x), float(y), yaw)
            frames.append(world.render().copy())
    return frames, camera.intrinsics()


def synthetic_frames(width: int, height: int) -> tuple[list[np.ndarray], tuple[float, ...]]:
    """One grey frame with a blue square left of the centre, and ideal intrinsics."""
    image = np.full((height, width, 3), 128, np.uint8)
    image[height * 2 // 5:height * 3 // 5, width // 5:width * 2 // 5] = (30, 60, 200)
    fy = (height / 2.0) / math.tan(math.radians(FOVY_DEG) / 2.0)
    return [image], (fy, fy, (width - 1) / 2.0, (height - 1) / 2.0)


def rss_mb(pid: int) -> float:
    with open(f'/proc/{pid}/status') as status:
        line = next(line for line in status if line.startswith('VmRSS:'))
    return int(line.split()[1]) / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time (s) of a process so far."""
    with open(f'/proc/{pid}/stat') as stat:
        fields = stat.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def percentiles(values: list[float]) -> str:
    if not values:
        return '   -- /   -- '
    p50, p99 = np.percentile(values, [50, 99])
    return f'{p50:5.0f} /{p99:5.0f}'


def start_nodes(log_dir: Path) -> dict[str, subprocess.Popen]:
    """Start the three node processes: config/sim_demo.yaml's values on wall time, no depth."""
    from clip_grounding_ros.resources import find_resource

    overrides = {'camera_node': {'input': 'raw'},
                 'grounding_node': {},
                 'action_node': {'obstacle_source': 'none'}}
    params = str(find_resource('config/sim_demo.yaml'))
    processes = {}
    for name, module in NODE_MODULES.items():
        command = [sys.executable, '-m', module, '--ros-args', '--params-file', params,
                   '-p', 'use_sim_time:=false']
        for key, value in overrides[name].items():
            command += ['-p', f'{key}:={value}']
        with open(log_dir / f'{name}.log', 'w') as log:
            processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    return processes


def stop_nodes(processes: dict[str, subprocess.Popen]) -> dict[str, int]:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    codes = {}
    for name, process in processes.items():
        try:
            codes[name] = process.wait(timeout=20.0)
        except subprocess.TimeoutExpired:
            process.kill()
            codes[name] = process.wait()
    return codes


class Feeder:
    """This script's node: frames and camera_info out, the command latched, statuses in."""

    def __init__(self, context, frames: list[np.ndarray], intrinsics: tuple[float, ...],
                 fps: float):
        from clip_grounding_ros.nodes.common import COMMAND_LATCHED_QOS, SENSOR_QOS, STATUS_QOS
        from geometry_msgs.msg import PoseStamped
        import rclpy
        from sensor_msgs.msg import CameraInfo, Image
        from std_msgs.msg import String

        self.node = rclpy.create_node('soak_feeder', context=context)
        height, width = frames[0].shape[:2]
        self.images = []
        for rgb in frames:  # the pixels are converted once, only the stamps change
            image = Image(height=height, width=width, encoding='rgb8', step=width * 3)
            image.header.frame_id = 'camera_optical_frame'
            image.data = rgb.tobytes()
            self.images.append(image)
        fx, fy, cx, cy = intrinsics
        self.info = CameraInfo(width=width, height=height, distortion_model='plumb_bob',
                               d=[0.0] * 5)
        self.info.header.frame_id = 'camera_optical_frame'
        self.info.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
        self.info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        self.info.p = [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
        self.image_pub = self.node.create_publisher(Image, 'camera/image_raw', SENSOR_QOS)
        self.info_pub = self.node.create_publisher(CameraInfo, 'camera/camera_info',
                                                   SENSOR_QOS)
        self.command_pub = self.node.create_publisher(String, 'command', COMMAND_LATCHED_QOS)
        self.command_pub.publish(String(data=COMMAND))
        self.targets = 0
        self.newest_command = 0  # the highest command_id seen, and whether it was found
        self.sent_after = 0  # the highest command_id seen when the last command was sent
        self.newest_found_at: float | None = None
        self.node.create_subscription(PoseStamped, 'grounding/target', self._on_target,
                                      SENSOR_QOS)
        self.published = 0
        self.compute_ms: list[float] = []
        self.frame_to_status_ms: list[float] = []
        self.grounded = 0
        self.grounding_state = self.action_state = ''
        self.node.create_subscription(String, 'grounding/status', self._on_grounding,
                                      STATUS_QOS)
        self.node.create_subscription(String, 'action/status', self._on_action, STATUS_QOS)
        self.node.create_timer(1.0 / fps, self._publish)
        self.last_stamp: float | None = None

    def now(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    def _publish(self) -> None:
        image = self.images[self.published % len(self.images)]
        stamp = self.node.get_clock().now().to_msg()
        image.header.stamp = self.info.header.stamp = stamp
        self.info_pub.publish(self.info)
        self.image_pub.publish(image)
        self.published += 1

    def _on_target(self, msg) -> None:
        self.targets += 1

    def send(self, text: str) -> None:
        from std_msgs.msg import String

        # Statuses of the earlier command (its id is the newest seen so far) do not count.
        self.sent_after, self.newest_found_at = self.newest_command, None
        self.command_pub.publish(String(data=text))

    def _on_grounding(self, msg) -> None:
        status = GroundingStatus.from_json(msg.data)
        self.grounding_state = status.state
        command_id = status.command_id or 0
        if command_id > self.newest_command:
            self.newest_command, self.newest_found_at = command_id, None
        if command_id == self.newest_command > self.sent_after and status.found and \
                self.newest_found_at is None:
            self.newest_found_at = time.monotonic()
        total = status.timings_ms.get('total_ms')
        stamp = status.image_stamp
        if total is None or stamp is None or stamp == self.last_stamp or \
                status.target_source == TargetSource.TRACKED:
            return  # not a grounding, the status of one already counted, or of a tracked frame
        self.last_stamp = stamp
        self.grounded += 1
        self.compute_ms.append(total)
        self.frame_to_status_ms.append((self.now() - stamp) * 1e3)

    def _on_action(self, msg) -> None:
        self.action_state = ActionStatus.from_json(msg.data).state

    def take(self) -> tuple[int, int, int, list[float], list[float]]:
        """Frames published, frames grounded, targets, the latencies since the last take."""
        taken = (self.published, self.grounded, self.targets, self.compute_ms,
                 self.frame_to_status_ms)
        self.published = self.grounded = self.targets = 0
        self.compute_ms, self.frame_to_status_ms = [], []
        return taken


def spin_for(executor, seconds: float, processes: dict[str, subprocess.Popen],
             until=None) -> str:
    """Spin for ``seconds`` (or until ``until()``); the names of nodes that exited, if any."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (until and until()):
        executor.spin_once(timeout_sec=0.01)
        dead = [name for name, process in processes.items() if process.poll() is not None]
        if dead:
            return ', '.join(dead)
    return ''


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--minutes', type=int, default=10)
    parser.add_argument('--fps', type=float, default=30.0)
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--image', choices=('sim', 'synthetic'), default='sim')
    parser.add_argument('--log-dir', default='')
    args = parser.parse_args()
    from clip_grounding_ros.demo.processes import default_environment, exit_on_sigterm
    default_environment()  # a DDS domain of its own, before rclpy reads it
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix='soak_'))
    log_dir.mkdir(parents=True, exist_ok=True)
    render = sim_frames if args.image == 'sim' else synthetic_frames
    frames, intrinsics = render(args.width, args.height)
    from clip_grounding_ros.dds import PROFILE_VARIABLE

    print(f'{len(frames)} {args.image} frames {args.width}x{args.height} at {args.fps:g}/s, '
          f'{args.minutes} min, ROS_DOMAIN_ID {os.environ.get("ROS_DOMAIN_ID", "0")}, '
          f'Fast DDS profile {os.environ[PROFILE_VARIABLE] or "(built-in defaults)"}, '
          f'logs in {log_dir}', flush=True)
    context = rclpy.Context()
    rclpy.init(context=context)
    feeder = Feeder(context, frames, intrinsics, args.fps)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(feeder.node)
    exit_on_sigterm()  # a terminated soak stops its nodes too (the finally below)
    processes = start_nodes(log_dir)
    try:
        started = time.monotonic()
        dead = spin_for(executor, START_UP_S, processes, until=lambda: feeder.grounded > 0)
        if dead or not feeder.grounded:
            print(f'FAILED to start: {dead or "no frame grounded"}; logs in {log_dir}')
            return 1
        print(f'first frame grounded {time.monotonic() - started:.1f} s after start-up',
              flush=True)
        first_target_ms = []
        for text in COMMAND_TRIALS:
            spin_for(executor, 2.0, processes)  # the previous command settles
            sent = time.monotonic()
            feeder.send(text)
            dead = spin_for(executor, 10.0, processes,
                            until=lambda: feeder.newest_found_at is not None)
            if dead or feeder.newest_found_at is None:
                print(f'FAILED: no target for {text!r} within 10 s {dead}; logs in {log_dir}')
                return 1
            first_target_ms.append((feeder.newest_found_at - sent) * 1e3)
        print('command -> first target, ms: ' +
              ', '.join(f'{v:.0f}' for v in first_target_ms) +
              f' (median {np.median(first_target_ms):.0f})', flush=True)
        feeder.take()
        names = list(processes)
        print('minute | ' + ' | '.join(f'{n[:-5]:>9} MB, CPU %' for n in names) +
              ' | frames out/grounded | groundings/s | targets/s | compute ms p50/p99'
              ' | frame->status ms p50/p99 | grounding, action state', flush=True)
        memory = []
        cpu = {name: cpu_seconds(process.pid) for name, process in processes.items()}
        for minute in range(1, args.minutes + 1):
            tick = time.monotonic()
            dead = spin_for(executor, 60.0, processes)
            if dead:
                print(f'FAILED: {dead} exited in minute {minute}; logs in {log_dir}')
                return 1
            elapsed = time.monotonic() - tick
            rss = {name: rss_mb(process.pid) for name, process in processes.items()}
            now_cpu = {name: cpu_seconds(process.pid) for name, process in processes.items()}
            share = {name: 100.0 * (now_cpu[name] - cpu[name]) / elapsed for name in names}
            cpu = now_cpu
            memory.append(rss)
            published, grounded, targets, compute, latency = feeder.take()
            print(f'{minute:6d} | ' + ' | '.join(f'{rss[n]:9.1f}, {share[n]:5.1f}' for n in names)
                  + f' | {published:10d}/{grounded:<8d} | {grounded / elapsed:12.2f} | '
                  f'{targets / elapsed:9.2f} | {percentiles(compute):>18} | '
                  f'{percentiles(latency):>24} | {feeder.grounding_state}, '
                  f'{feeder.action_state}', flush=True)
        if len(memory) > 1:
            growth = {name: 100.0 * (memory[-1][name] - memory[0][name]) / memory[0][name]
                      for name in names}
            print(f'RSS growth from minute 1 to minute {len(memory)}: ' +
                  ', '.join(f'{name} {value:+.2f} %' for name, value in growth.items()))
    finally:
        codes = stop_nodes(processes)
        print(f'exit statuses: {codes}')
        executor.shutdown()
        feeder.node.destroy_node()
        context.try_shutdown()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
