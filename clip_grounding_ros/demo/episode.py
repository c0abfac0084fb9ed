"""One simulated episode of the whole ROS pipeline, observed from outside.

Starts sim_node, camera_node, grounding_node and action_node as separate processes (as
`ros2 launch` would; in one process the simulator's thread would be starved by the
GIL), sends a command on `command`, and watches the topics until the robot reports
`reached` or the simulated time runs out. Used by scripts/demo, the closed-loop tests and
bench/bench_closed_loop.py, so all three judge episodes the same way.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from ..core.status import ActionState, ActionStatus, GroundingState, GroundingStatus
from ..resources import find_resource
from ..sim import load_scene

# Each node's module, run as `python -m` (what its console script runs).
NODE_MODULES = {'sim_node': 'clip_grounding_ros.sim.sim_node',
                'camera_node': 'clip_grounding_ros.nodes.camera_node',
                'grounding_node': 'clip_grounding_ros.nodes.grounding_node',
                'action_node': 'clip_grounding_ros.nodes.action_node'}
SUCCESS_MARGIN = 0.15  # m beyond stop_distance still counted as "stopped near it"
STOPPED_SPEED = 0.02   # m/s and rad/s below which the base counts as stopped
FACING_TOLERANCE = 0.25  # rad between the heading and the bearing to a faced object


class Outcome(str, Enum):
    """How an episode ended (success is judged separately)."""

    REACHED = ActionState.REACHED.value    # the action node reported reached
    FACING = ActionState.FACING.value      # ... held facing the target for a second
    STOPPED = ActionState.STOPPED.value    # still after a stop command or a stalled camera
    MOVING = 'moving'                      # still moving after one
    GAVE_UP = 'gave_up'                    # grounding lost or in error, robot still
    TIMEOUT = 'timeout'
    FAILED = 'failed'                      # a node process exited
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


@dataclass
class EpisodeResult:
    spec: EpisodeSpec
    outcome: Outcome
    success: bool
    reason: str
    sim_time: float             # simulated seconds from command to end
    stop_distance: float
    target_objects: list[str]   # objects the command's phrase names in this scene
    final_distance: float | None  # robot to the nearest named object, metres
    closest_object: str | None
    touched: list[str]
    robot_stopped: bool
    path: list[tuple[float, float]]
    action_status: ActionStatus
    grounding_status: GroundingStatus
    first_frame: np.ndarray | None = None
    log_dir: str = ''

    def summary(self) -> dict:
        return {
            'success': self.success, 'outcome': str(self.outcome), 'reason': self.reason,
            'command': self.spec.command, 'scene': self.spec.scene,
            'sim_time': round(self.sim_time, 2), 'stop_distance': self.stop_distance,
            'target_objects': self.target_objects,
            'final_distance': None if self.final_distance is None
            else round(self.final_distance, 3),
            'reached_object': self.closest_object, 'touched': self.touched,
            'robot_stopped': self.robot_stopped,
            'final_action_state': str(self.action_status.state),
            'final_grounding_state': str(self.grounding_status.state),
            'final_grounding_message': self.grounding_status.message,
        }


class NodeProcesses:
    """The four node processes, with their output in ``log_dir/<node>.log``."""

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
        for node, module in NODE_MODULES.items():
            command = [sys.executable, '-m', module, '--ros-args',
                       '--params-file', params]
            for name, value in overrides.get(node, {}).items():
                command += ['-p', f'{name}:={_param_text(value)}']
            log = open(log_dir / f'{node}.log', 'w')  # noqa: SIM115 - closed in stop()
            self.logs.append(log)
            self.processes[node] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

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
        import rclpy
        from geometry_msgs.msg import Twist
        from nav_msgs.msg import Odometry
        from sensor_msgs.msg import Image
        from std_msgs.msg import String

        from ..nodes.common import COMMAND_LATCHED_QOS, LATEST_QOS, STATUS_QOS

        self.node = rclpy.create_node('episode_observer', context=context)
        self.lock = threading.Lock()
        self.action = ActionStatus()
        self.grounding = GroundingStatus()
        self.statuses_seen = False
        self.truth: dict = {}
        self.path: list[tuple[float, float]] = []
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

    def _on_truth(self, msg) -> None:
        truth = json.loads(msg.data)
        with self.lock:
            self.truth = truth

    def _on_odom(self, msg) -> None:
        with self.lock:
            self.sim_time = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
            position = msg.pose.pose.position
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
        """Publish once both nodes listening on `command` have matched (like
        `ros2 topic pub --once`, which waits for a subscription)."""
        from std_msgs.msg import String

        deadline = time.monotonic() + timeout
        while self.command_pub.get_subscription_count() < subscribers:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        self.command_pub.publish(String(data=text))
        return True


def run_episode(spec: EpisodeSpec, progress=None) -> EpisodeResult:
    """Run one episode; ``progress(observer)`` is called about once a second if given."""
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
    processes = NodeProcesses(spec, log_dir)
    try:
        return _observe(spec, scene, observer, processes, log_dir, progress)
    finally:
        processes.stop()
        executor.shutdown()
        observer.node.destroy_node()
        context.try_shutdown()
        spinner.join(timeout=5.0)


def _spin(executor, context) -> None:
    while context.ok():
        try:
            executor.spin_once(timeout_sec=0.05)
        except Exception:  # noqa: BLE001 - shutting down while spinning
            if context.ok():
                raise


def _observe(spec, scene, observer: Observer, processes: NodeProcesses, log_dir: Path,
             progress) -> EpisodeResult:
    stop_distance = _stop_distance(spec)
    targets = [obj.name for obj in scene.objects_named(_target_phrase(spec.command))]

    def result(outcome: Outcome, success: bool, reason: str, start: float) -> EpisodeResult:
        with observer.lock:
            truth, path = dict(observer.truth), list(observer.path)
            speed, now = observer.speed, observer.sim_time
        distances = truth.get('distances', {})
        final = min((distances[n] for n in targets if n in distances), default=None)
        closest = min(distances, key=distances.get) if distances else None
        return EpisodeResult(
            spec, outcome, success, reason, max(0.0, now - start), stop_distance, targets,
            final, closest, truth.get('touched', []),
            abs(speed[0]) < STOPPED_SPEED and abs(speed[1]) < STOPPED_SPEED, path,
            observer.action, observer.grounding, observer.first_frame,
            str(log_dir))

    started = time.monotonic()
    while not (observer.truth and observer.statuses_seen and observer.sim_time > 0):
        dead = [name for name, alive in processes.alive().items() if not alive]
        if dead or time.monotonic() - started > 90.0:
            why = f'{", ".join(dead)} exited' if dead else 'nodes did not come up in 90 s'
            return result(Outcome.FAILED_TO_START, False, f'{why}; logs in {log_dir}', 0.0)
        time.sleep(0.1)
    # grounding_node and action_node listen with two subscriptions each.
    if not observer.send(spec.command, subscribers=4, timeout=30.0):
        return result(Outcome.FAILED_TO_START, False, 'command subscribers not found', 0.0)
    start = observer.sim_time
    event_time = None
    facing_since = still_lost_since = None
    last_progress = 0.0
    while True:
        time.sleep(0.05)
        now = observer.sim_time - start
        if progress and time.monotonic() - last_progress > 1.0:
            last_progress = time.monotonic()
            progress(observer, now)
        if event_time is None and spec.stop_after is not None and now >= spec.stop_after:
            observer.send('stop', subscribers=4, timeout=5.0)
            event_time = now
        if event_time is None and spec.stall_camera_after is not None and \
                now >= spec.stall_camera_after:
            processes.pause('camera_node')
            event_time = now
        moving = abs(observer.speed[0]) >= STOPPED_SPEED or \
            abs(observer.speed[1]) >= STOPPED_SPEED
        if event_time is not None and now - event_time >= spec.settle:
            return result(Outcome.MOVING if moving else Outcome.STOPPED, not moving,
                          observer.action.reason, start)
        state = observer.action.state
        if state == ActionState.REACHED:
            time.sleep(0.3)  # let the last odometry arrive
            return _judge(result(Outcome.REACHED, False, '', start))
        facing_since = _held_since(state == ActionState.FACING, facing_since, now)
        if facing_since is not None and now - facing_since >= 1.0:
            return _judge(result(Outcome.FACING, False, '', start), observer.truth)
        lost = observer.grounding.state in (GroundingState.LOST, GroundingState.ERROR) and \
            not moving
        still_lost_since = _held_since(lost, still_lost_since, now)
        if event_time is None and still_lost_since is not None and \
                now - still_lost_since >= spec.give_up:
            return result(Outcome.GAVE_UP, False, observer.grounding.message, start)
        if now >= spec.timeout:
            reason = f'action {observer.action.state}: {observer.action.reason}'
            return result(Outcome.TIMEOUT, False, reason, start)
        dead = [name for name, alive in processes.alive().items() if not alive]
        if dead:
            return result(Outcome.FAILED, False, f'{", ".join(dead)} exited; logs in {log_dir}',
                          start)


def _held_since(condition: bool, since: float | None, now: float) -> float | None:
    """When an ongoing condition started (``now`` if it just did), or None once it stops."""
    if not condition:
        return None
    return now if since is None else since


def _judge(result: EpisodeResult, truth: dict | None = None) -> EpisodeResult:
    """Success: for an approach, stopped near a named object (and nearer to it than to
    anything else); for face/find, turned toward a named object; never touching anything."""
    problems = []
    if result.outcome == Outcome.FACING:
        return _judge_facing(result, truth or {})
    if result.final_distance is None:
        problems.append('the command names no object of this scene')
    elif result.final_distance > result.stop_distance + SUCCESS_MARGIN:
        problems.append(f'stopped {result.final_distance:.2f} m from the nearest named '
                        f'object (limit {result.stop_distance + SUCCESS_MARGIN:.2f} m)')
    if result.closest_object not in result.target_objects:
        problems.append(f'closest object is {result.closest_object}')
    if result.touched:
        problems.append(f'touched {", ".join(result.touched)}')
    if not result.robot_stopped:
        problems.append('still moving')
    result.success = not problems
    result.reason = '; '.join(problems) if problems else (
        f'reached {result.closest_object} ({result.final_distance:.2f} m)')
    return result


def _judge_facing(result: EpisodeResult, truth: dict) -> EpisodeResult:
    scene = load_scene(result.spec.scene)
    x, y, yaw = truth.get('robot', (0.0, 0.0, 0.0))
    errors = {name: abs(math.remainder(math.atan2(scene.object(name).position[1] - y,
                                                  scene.object(name).position[0] - x) - yaw,
                                       math.tau))
              for name in result.target_objects}
    facing = min(errors, key=errors.get) if errors else None
    problems = []
    if facing is None or errors[facing] > FACING_TOLERANCE:
        problems.append('not facing a named object')
    if result.touched:
        problems.append(f'touched {", ".join(result.touched)}')
    result.success = not problems
    result.closest_object = facing
    result.reason = '; '.join(problems) if problems else (
        f'facing {facing} ({math.degrees(errors[facing]):.0f} deg off)')
    return result


def _stop_distance(spec: EpisodeSpec) -> float:
    import yaml

    params = spec.params_file or str(find_resource('config/sim_demo.yaml'))
    with open(params) as stream:
        sections = {key.removeprefix('/**/'): section
                    for key, section in (yaml.safe_load(stream) or {}).items()}
        values = sections.get('action_node', {}).get('ros__parameters', {})
    from ..core.control import MotionConfig
    return float(spec.parameters.get('action_node:stop_distance',
                                     values.get('stop_distance', MotionConfig.stop_distance)))


def _target_phrase(command: str) -> str:
    from ..core.commands import CommandError, parse_command
    try:
        return parse_command(command).target
    except CommandError:
        return ''


def default_environment() -> None:
    """Keep the episode's DDS traffic on this machine unless the caller chose otherwise."""
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
