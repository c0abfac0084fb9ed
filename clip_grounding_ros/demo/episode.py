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
One simulated episode of the whole ROS pipeline, observed from outside.

Starts sim_node, camera_node, grounding_node and action_node as separate processes (as
`ros2 launch` would; in one process the simulator's thread would be starved by the
GIL), sends a command on `command`, and watches the topics until every step of it is done,
one fails, or the simulated time runs out; then judges each step against the scene's truth
(demo.judge). Used by scripts/demo, the closed-loop tests and bench/bench_closed_loop.py,
so all three judge episodes the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
import json
import math
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from .judge import judge_approach, judge_facing, judge_motion, meant_objects, Pose, StepVerdict
from ..core.commands import CommandError, Intent, parse_command, Step
from ..core.status import (
    ActionState,
    ActionStatus,
    CameraStatus,
    GroundingState,
    GroundingStatus,
)
from ..dds import use_package_profile
from ..resources import find_resource
from ..sim import load_scene, Scene

# Each node's module, run as `python -m` (what its console script runs).
NODE_MODULES = {'sim_node': 'clip_grounding_ros.sim.sim_node',
                'camera_node': 'clip_grounding_ros.nodes.camera_node',
                'grounding_node': 'clip_grounding_ros.nodes.grounding_node',
                'action_node': 'clip_grounding_ros.nodes.action_node'}
STOPPED_SPEED = 0.02   # m/s and rad/s below which the base counts as stopped
FACING_HOLD = 1.0      # s a face or find step must hold facing before it counts as done
GROUNDING_DONE_WAIT_S = 2.0  # wall s for the grounding node to end a finished command


class Outcome(str, Enum):
    """How an episode ended (success is judged separately, step by step)."""

    DONE = 'done'                          # every step of the command reported done
    FAILED = ActionState.FAILED.value      # the action node reported a step failed
    STOPPED = ActionState.STOPPED.value    # still after a stop command or a stalled camera
    MOVING = ActionState.MOVING.value      # still moving after one
    GAVE_UP = 'gave_up'                    # grounding lost or in error, robot still
    TIMEOUT = 'timeout'
    CRASHED = 'crashed'                    # a node process exited
    FAILED_TO_START = 'failed_to_start'

    def __str__(self) -> str:
        return self.value


@dataclass
class EpisodeSpec:
    """What to run: a scene, a command, and optional disturbances (simulated seconds)."""

    scene: str = 'boxes'
    command: str = 'go to the blue box'
    model: str = ''                      # '' keeps the params file's model
    realtime_factor: float = 2.0
    timeout: float = 60.0                # simulated seconds after the command
    stop_after: float | None = None      # send "stop" this long after the command
    stall_camera_after: float | None = None  # freeze the camera process then
    settle: float = 3.0                  # after a stop or stall, watch this long
    give_up: float = 5.0                 # end once lost/error with the robot still this long
    params_file: str = ''                # '' = config/sim_demo.yaml
    log_dir: str = ''                    # '' = a temporary folder
    parameters: dict = field(default_factory=dict)  # extra node:name -> value overrides
    # For set-ups beyond one host (test/test_two_hosts.py): extra processes to run beside the
    # nodes (name -> argv; they count as nodes: one that exits ends the episode), and argv
    # to put before a node's or extra process's command (name -> ['ip', 'netns', 'exec', ...]).
    extra_processes: dict = field(default_factory=dict)
    node_prefix: dict = field(default_factory=dict)


@dataclass
class EpisodeResult:
    spec: EpisodeSpec
    outcome: Outcome
    success: bool
    reason: str
    sim_time: float               # simulated seconds from command to end
    stop_distance: float
    steps: list[StepVerdict]      # each step of the command, judged
    start_pose: Pose              # world frame: x, y (m), yaw (rad)
    final_pose: Pose
    touched: list[str]
    robot_stopped: bool
    path: list[tuple[float, float]]
    action_status: ActionStatus
    grounding_status: GroundingStatus
    first_frame: np.ndarray | None = None
    log_dir: str = ''
    grounding_errors: list[str] = field(default_factory=list)  # 'error' messages, command on

    @property
    def meant_objects(self) -> list[str]:
        """Return the objects the command's steps name (what the demo rings)."""
        return [name for step in self.steps for name in step.meant]

    def summary(self) -> dict:
        def pose(p):
            return {'x': round(p[0], 3), 'y': round(p[1], 3),
                    'yaw_deg': round(math.degrees(p[2]), 1)}
        return {
            'success': self.success, 'outcome': str(self.outcome), 'reason': self.reason,
            'command': self.spec.command, 'scene': self.spec.scene,
            'sim_time': round(self.sim_time, 2), 'stop_distance': self.stop_distance,
            'start_pose': pose(self.start_pose), 'final_pose': pose(self.final_pose),
            'steps': [step.summary() for step in self.steps],
            'touched': self.touched, 'robot_stopped': self.robot_stopped,
            'final_action_state': str(self.action_status.state),
            'final_action_reason': self.action_status.reason,
            'final_grounding_state': str(self.grounding_status.state),
            'final_grounding_message': self.grounding_status.message,
            'grounding_errors': self.grounding_errors,
        }


class NodeProcesses:
    """
    The four node processes and the spec's extra ones, with their logs.

    Their output goes to ``log_dir/<name>.log``.
    """

    def __init__(self, spec: EpisodeSpec, log_dir: Path):
        params = spec.params_file or str(find_resource('config/sim_demo.yaml'))
        overrides = {'sim_node': {'scene': spec.scene,
                                  'realtime_factor': float(spec.realtime_factor)}}
        if spec.model:
            overrides['grounding_node'] = {'model': spec.model}
        for key, value in spec.parameters.items():
            node, name = key.split(':', 1)
            overrides.setdefault(node, {})[name] = value
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs = []
        commands = {}
        for node, module in NODE_MODULES.items():
            command = [sys.executable, '-m', module, '--ros-args',
                       '--params-file', params]
            for name, value in overrides.get(node, {}).items():
                command += ['-p', f'{name}:={_param_text(value)}']
            commands[node] = command
        for name, command in {**commands, **spec.extra_processes}.items():
            log = open(log_dir / f'{name}.log', 'w')  # noqa: SIM115 - closed in stop()
            self.logs.append(log)
            self.processes[name] = subprocess.Popen([*spec.node_prefix.get(name, []), *command],
                                                    stdout=log, stderr=subprocess.STDOUT)

    def alive(self) -> dict[str, bool]:
        return {name: process.poll() is None for name, process in self.processes.items()}

    def pause(self, node: str) -> None:
        self.processes[node].send_signal(signal.SIGSTOP)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10.0
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()


def _param_text(value) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


class Observer:
    """A node in this process that sends the command and records what the pipeline does."""

    def __init__(self, context):
        from geometry_msgs.msg import Twist
        from nav_msgs.msg import Odometry
        import rclpy
        from sensor_msgs.msg import Image
        from std_msgs.msg import String

        from ..nodes.common import COMMAND_LATCHED_QOS, LATEST_QOS, STATUS_QOS

        self.node = rclpy.create_node('episode_observer', context=context)
        self.lock = threading.Lock()
        self.action = ActionStatus()
        self.grounding = GroundingStatus()
        self.statuses_seen = False
        self.frames_published = 0  # by camera_node to grounding_node (camera status)
        self.grounding_errors: list[str] = []  # distinct 'error' messages since the command
        self.truth: dict = {}
        self.path: list[tuple[float, float]] = []
        self.pose: Pose = (0.0, 0.0, 0.0)
        self.turned = 0.0   # yaw unwrapped since the start (rad), for turns of any size
        self.sim_time = 0.0
        self.speed = (0.0, 0.0)
        self.first_frame: np.ndarray | None = None
        self.last_cmd: tuple[float, float] | None = None
        # Transient-local: it matches both of each node's command subscriptions (latched and
        # volatile), which receive every message once between them.
        self.command_pub = self.node.create_publisher(String, 'command', COMMAND_LATCHED_QOS)
        self.node.create_subscription(String, 'action/status', self._on_action, STATUS_QOS)
        self.node.create_subscription(String, 'grounding/status', self._on_grounding,
                                      STATUS_QOS)
        self.node.create_subscription(String, 'sim/ground_truth', self._on_truth, STATUS_QOS)
        self.node.create_subscription(String, 'grounding/camera_status', self._on_camera,
                                      STATUS_QOS)
        self.node.create_subscription(Odometry, 'odom', self._on_odom, 10)
        self.node.create_subscription(Image, 'grounding/debug_image', self._on_frame, LATEST_QOS)
        self.node.create_subscription(Twist, 'cmd_vel', self._on_cmd, 10)

    def _on_action(self, msg) -> None:
        status = ActionStatus.from_json(msg.data)
        with self.lock:
            self.action, self.statuses_seen = status, True

    def _on_grounding(self, msg) -> None:
        status = GroundingStatus.from_json(msg.data)
        with self.lock:
            self.grounding = status
            if status.state == GroundingState.ERROR and \
                    status.message not in self.grounding_errors:
                self.grounding_errors.append(status.message)

    def _on_camera(self, msg) -> None:
        status = CameraStatus.from_json(msg.data)
        with self.lock:
            self.frames_published = status.published

    def _on_truth(self, msg) -> None:
        truth = json.loads(msg.data)
        with self.lock:
            self.truth = truth

    def _on_odom(self, msg) -> None:
        """Record the simulator's odometry, which is its true pose (world frame)."""
        with self.lock:
            self.sim_time = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
            position, orientation = msg.pose.pose.position, msg.pose.pose.orientation
            yaw = 2.0 * math.atan2(orientation.z, orientation.w)
            self.turned += math.remainder(yaw - self.pose[2], math.tau) if self.path else 0.0
            self.pose = (position.x, position.y, yaw)
            if not self.path or math.dist(self.path[-1], (position.x, position.y)) > 0.02:
                self.path.append((position.x, position.y))
            self.speed = (msg.twist.twist.linear.x, msg.twist.twist.angular.z)

    def _on_frame(self, msg) -> None:
        if self.first_frame is None and self.grounding.found:
            from ..nodes.common import image_to_rgb
            self.first_frame = image_to_rgb(msg)

    def _on_cmd(self, msg) -> None:
        self.last_cmd = (msg.linear.x, msg.angular.z)

    def send(self, text: str, subscribers: int, timeout: float) -> bool:
        """
        Publish once both nodes listening on `command` have matched.

        Like `ros2 topic pub --once`, which waits for a subscription.
        """
        from std_msgs.msg import String

        deadline = time.monotonic() + timeout
        while self.command_pub.get_subscription_count() < subscribers:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        with self.lock:
            self.grounding_errors = []  # the command's, not those of the nodes' start-up
        self.command_pub.publish(String(data=text))
        return True


def run_episode(spec: EpisodeSpec, progress=None) -> EpisodeResult:
    """Run one episode; ``progress(observer, now)`` is called about once a second if given."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    scene = load_scene(spec.scene)
    log_dir = Path(spec.log_dir or tempfile.mkdtemp(prefix='episode_'))
    log_dir.mkdir(parents=True, exist_ok=True)
    context = rclpy.Context()
    rclpy.init(context=context)
    observer = Observer(context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(observer.node)
    spinner = threading.Thread(target=_spin, args=(executor, context), daemon=True)
    spinner.start()
    previous_handler = exit_on_sigterm()
    processes = NodeProcesses(spec, log_dir)
    try:
        return Episode(spec, scene, observer, processes, log_dir).run(progress)
    finally:
        processes.stop()
        executor.shutdown()
        observer.node.destroy_node()
        context.try_shutdown()
        spinner.join(timeout=5.0)
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)


def exit_on_sigterm():
    """
    Make SIGTERM unwind the episode as Ctrl-C does, so its node processes are stopped.

    Python's default SIGTERM action ends the process at once, and the simulator and the
    nodes it started would run on (pkill, a CI job's timeout, a supervisor). Returns the
    previous handler; None off the main thread, where signals cannot be handled.
    """
    if threading.current_thread() is not threading.main_thread():
        return None

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, terminate)


def _spin(executor, context) -> None:
    while context.ok():
        try:
            executor.spin_once(timeout_sec=0.05)
        except Exception:  # noqa: BLE001 - shutting down while spinning
            if context.ok():
                raise


@dataclass
class _StepRecord:
    """When and where a step began and ended (simulated s, true pose, unwrapped yaw)."""

    start: Pose
    start_turned: float
    end: Pose | None = None
    end_turned: float = 0.0
    facing_since: float | None = None


class Episode:
    """The watch loop of one episode, then the judgement of each step."""

    def __init__(self, spec: EpisodeSpec, scene: Scene, observer: Observer,
                 processes: NodeProcesses, log_dir: Path):
        self.spec, self.scene, self.observer = spec, scene, observer
        self.processes, self.log_dir = processes, log_dir
        self.stop_distance = _stop_distance(spec)
        try:
            self.steps: tuple[Step, ...] = parse_command(spec.command).steps
        except CommandError:
            self.steps = ()  # the grounding node refuses it: the episode checks it did
        self.records: dict[int, _StepRecord] = {}
        self.start_time = 0.0
        self.start_pose: Pose = (0.0, 0.0, 0.0)

    def run(self, progress) -> EpisodeResult:
        observer, spec = self.observer, self.spec
        started = time.monotonic()
        # Frames flowing to grounding_node first: a command before them would run into its
        # image_timeout ('no camera frames') and a safety stop while the simulator starts.
        while not (observer.truth and observer.statuses_seen and observer.sim_time > 0 and
                   observer.frames_published > 0):
            dead = [name for name, alive in self.processes.alive().items() if not alive]
            if dead or time.monotonic() - started > 90.0:
                why = f'{", ".join(dead)} exited' if dead else 'nodes did not come up in 90 s'
                return self.result(Outcome.FAILED_TO_START, f'{why}; logs in {self.log_dir}')
            time.sleep(0.1)
        # Each of the two nodes listening on `command` has three subscriptions to it.
        if not observer.send(spec.command, subscribers=6, timeout=30.0):
            return self.result(Outcome.FAILED_TO_START, 'command subscribers not found')
        with observer.lock:
            self.start_time, self.start_pose = observer.sim_time, observer.pose
            self.records[0] = _StepRecord(observer.pose, observer.turned)
        return self._watch(progress)

    def _watch(self, progress) -> EpisodeResult:
        observer, spec = self.observer, self.spec
        event_time = still_lost_since = None
        last_progress = 0.0
        while True:
            time.sleep(0.05)
            now = observer.sim_time - self.start_time
            if progress and time.monotonic() - last_progress > 1.0:
                last_progress = time.monotonic()
                progress(observer, now)
            if event_time is None and spec.stop_after is not None and now >= spec.stop_after:
                observer.send('stop', subscribers=6, timeout=5.0)
                event_time = now
            if event_time is None and spec.stall_camera_after is not None and \
                    now >= spec.stall_camera_after:
                self.processes.pause('camera_node')
                event_time = now
            moving = max(abs(v) for v in observer.speed) >= STOPPED_SPEED
            if event_time is not None and now - event_time >= spec.settle:
                return self.result(Outcome.MOVING if moving else Outcome.STOPPED,
                                   observer.action.reason)
            action = observer.action
            if self._track_steps(action, now):
                time.sleep(0.3)  # let the last odometry arrive
                self._await_grounding_done()
                return self.result(Outcome.DONE, '')
            if action.state == ActionState.FAILED:
                time.sleep(0.3)  # let the last odometry arrive
                return self.result(Outcome.FAILED, f'step {action.step + 1} failed: '
                                   f'{action.reason}')
            lost = observer.grounding.state in (GroundingState.LOST, GroundingState.ERROR) \
                and not moving
            still_lost_since = _held_since(lost, still_lost_since, now)
            if event_time is None and still_lost_since is not None and \
                    now - still_lost_since >= spec.give_up:
                return self.result(Outcome.GAVE_UP, observer.grounding.message)
            if now >= spec.timeout:
                return self.result(Outcome.TIMEOUT, f'action {action.state}: {action.reason}')
            dead = [name for name, alive in self.processes.alive().items() if not alive]
            if dead:
                return self.result(Outcome.CRASHED, f'{", ".join(dead)} exited; logs in '
                                   f'{self.log_dir}')

    def _await_grounding_done(self) -> None:
        """
        Wait (GROUNDING_DONE_WAIT_S at most) for the grounding node to hear the last step ended.

        It ends the command (idle) when action/status says so, a moment after this episode
        read it; the summary then shows that state rather than the grounding before it. A
        classification stays 'classifying' with its ranking: nothing to wait for.
        """
        if self.steps[-1].intent == Intent.CLASSIFY:
            return
        deadline = time.monotonic() + GROUNDING_DONE_WAIT_S
        while self.observer.grounding.state != GroundingState.IDLE and \
                time.monotonic() < deadline:
            time.sleep(0.05)

    def _track_steps(self, action: ActionStatus, now: float) -> bool:
        """Record where each step began and ended; True once the last one is done."""
        if not self.steps or action.command_id is None or action.command_id < 1:
            return False
        observer, current = self.observer, action.step
        with observer.lock:
            pose, turned = observer.pose, observer.turned
        for index in range(current):  # a later step began: the earlier ones are done
            record = self.records.setdefault(index, _StepRecord(pose, turned))
            if record.end is None:
                record.end, record.end_turned = pose, turned
        record = self.records.setdefault(current, _StepRecord(pose, turned))
        step = self.steps[min(current, len(self.steps) - 1)]
        facing = step.intent in (Intent.FACE, Intent.FIND) and action.state == ActionState.FACING
        record.facing_since = _held_since(facing, record.facing_since, now)
        # Classification moves nothing: it is done once a frame has been classified.
        classified = step.intent == Intent.CLASSIFY and bool(observer.grounding.classification)
        done = action.state == ActionState.REACHED or classified or (
            record.facing_since is not None and now - record.facing_since >= FACING_HOLD)
        if done and record.end is None:
            record.end, record.end_turned = pose, turned
        return done and current == len(self.steps) - 1

    def result(self, outcome: Outcome, reason: str) -> EpisodeResult:
        observer = self.observer
        with observer.lock:
            truth, path = dict(observer.truth), list(observer.path)
            speed, now, pose = observer.speed, observer.sim_time, observer.pose
            grounding_errors = list(observer.grounding_errors)
        verdicts = [self._judge_step(i, step) for i, step in enumerate(self.steps)]
        touched = truth.get('touched', [])
        problems = [f'step {v.index + 1}: {v.reason}' for v in verdicts if not v.success]
        if touched:
            problems.append(f'touched {", ".join(touched)}')
        if outcome == Outcome.DONE and not max(abs(v) for v in speed) < STOPPED_SPEED:
            problems.append('still moving')
        success = outcome == Outcome.DONE and bool(verdicts) and not problems
        if not reason:
            reason = '; '.join(problems) or '; '.join(v.reason for v in verdicts)
        return EpisodeResult(
            self.spec, outcome, success, reason, max(0.0, now - self.start_time),
            self.stop_distance, verdicts, self.start_pose, pose, touched,
            max(abs(v) for v in speed) < STOPPED_SPEED, path, observer.action,
            observer.grounding, observer.first_frame, str(self.log_dir), grounding_errors)

    def _judge_step(self, index: int, step: Step) -> StepVerdict:
        record = self.records.get(index)
        verdict = StepVerdict(index, step.text, str(step.intent),
                              done=record is not None and record.end is not None)
        if record is None:
            verdict.reason = 'never began'
            return verdict
        if step.needs_grounding:
            verdict.meant = [o.name for o in meant_objects(step, self.scene, record.start,
                                                           self._half_fov())]
        if not verdict.done:
            verdict.reason = 'not done'
            return verdict
        if step.intent in (Intent.APPROACH, Intent.PICK):
            judge_approach(verdict, self.scene, record.end, self.stop_distance)
        elif step.intent in (Intent.FACE, Intent.FIND):
            judge_facing(verdict, self.scene, record.end)
        elif step.intent in (Intent.MOVE, Intent.TURN):
            judge_motion(verdict, step, record.start, record.end,
                         record.end_turned - record.start_turned)
        elif step.intent == Intent.CLASSIFY:
            ranked = ', '.join(f"'{c['prompt']}' {c['probability']:.2f}"
                               for c in self.observer.grounding.classification)
            verdict.success, verdict.reason = True, f'classified: {ranked}'
        else:
            verdict.success, verdict.reason = True, f'{step.intent} done'
        return verdict

    def _half_fov(self) -> float:
        """Half the simulated camera's horizontal field of view (rad)."""
        sim = _sim_parameters(self.spec)
        width, height = sim.get('image_width', 320), sim.get('image_height', 240)
        half_vertical = math.radians(sim.get('fovy_deg', 60.0)) / 2
        return math.atan(math.tan(half_vertical) * width / height)


def _held_since(condition: bool, since: float | None, now: float) -> float | None:
    """When an ongoing condition started (``now`` if it just did), or None once it stops."""
    if not condition:
        return None
    return now if since is None else since


def _params_file_sections(spec: EpisodeSpec) -> dict:
    import yaml

    params = spec.params_file or str(find_resource('config/sim_demo.yaml'))
    with open(params) as stream:
        return {key.removeprefix('/**/'): section.get('ros__parameters', {})
                for key, section in (yaml.safe_load(stream) or {}).items()}


def _sim_parameters(spec: EpisodeSpec) -> dict:
    return _params_file_sections(spec).get('sim_node', {})


def _stop_distance(spec: EpisodeSpec) -> float:
    from ..core.control import MotionConfig

    values = _params_file_sections(spec).get('action_node', {})
    return float(spec.parameters.get('action_node:stop_distance',
                                     values.get('stop_distance', MotionConfig.stop_distance)))


def default_environment() -> str:
    """
    Keep the episode's DDS traffic on this machine, on a DDS domain of its own.

    The domain is this process's own, unless the caller chose otherwise: two demos (or benchmarks)
    run at once must not hear each other's commands, clocks and robots. Returns the domain used
    (for the user's `ros2 topic echo`: ROS_DOMAIN_ID=<it>). Frames go over shared memory, as
    the launch files have it: the package's Fast DDS profile, unless the caller chose one
    (clip_grounding_ros.dds).
    """
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    use_package_profile()
    # 1..101: the domains ROS 2 documents as safe on Linux (0 is everyone's default).
    return os.environ.setdefault('ROS_DOMAIN_ID', str(1 + os.getpid() % 101))
