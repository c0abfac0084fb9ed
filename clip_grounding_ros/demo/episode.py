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

Starts sim_node, camera_node, grounding_node and action_node as separate processes
(demo.processes), sends a command on `command` (demo.observer), and watches the topics
until every step of it is done, one fails, or the simulated time runs out; a step ends by
the step protocol's one rule (the action node's ``outcome``). Then judges each step against
the scene's truth (demo.judge). Used by scripts/demo, the closed-loop tests and
bench/bench_closed_loop.py, so all three judge episodes the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
import math
from pathlib import Path
import signal
import tempfile
import threading
import time

import numpy as np

from .judge import (
    judge_approach,
    judge_facing,
    judge_follow,
    judge_motion,
    judge_return,
    meant_objects,
    Pose,
    StepVerdict,
)
from .observer import Observer
from .processes import exit_on_sigterm, NodeProcesses, spin
from ..core.contract.messages import GroundTruth
from ..core.contract.protocol import Intent, Origin, StepOutcome
from ..core.contract.status import (
    ActionState,
    ActionStatus,
    GroundingState,
    GroundingStatus,
)
from ..core.language.commands import parse_command
from ..core.language.dialogue import Dialogue, DialogueConfig
from ..core.language.steps import Command, CommandError, Step
from ..core.motion.controller import same_place
from ..resources import find_resource
from ..sim.scene import load_scene, Scene

STOPPED_SPEED = 0.02   # m/s and rad/s below which the base counts as stopped
FACING_HOLD = 1.0      # s a face or find step must hold facing before it counts as done
GROUNDING_DONE_WAIT_S = 2.0  # wall s for the grounding node to end a finished command


class Outcome(str, Enum):
    """How a command ended (success is judged separately, step by step)."""

    DONE = 'done'                          # every step of the command reported done
    FAILED = ActionState.FAILED.value      # the action node reported a step failed
    STOPPED = ActionState.STOPPED.value    # still after a stop command or a stalled camera
    MOVING = ActionState.MOVING.value      # still moving after one
    GAVE_UP = 'gave_up'                    # grounding lost or in error, robot still
    TIMEOUT = 'timeout'
    CRASHED = 'crashed'                    # a node process exited
    FAILED_TO_START = 'failed_to_start'
    INTERRUPTED = 'interrupted'            # the next command was said before it ended

    def __str__(self) -> str:
        return self.value


@dataclass
class EpisodeSpec:
    """
    What to run: a scene, what is said, and optional disturbances (simulated seconds).

    A conversation is ``command`` then each of ``then`` in order: each ``gap`` s after the one
    before ended, or (``at``) that many seconds after the first command, ended or not.
    """

    scene: str = 'boxes'
    command: str = 'go to the blue box'
    then: tuple[str, ...] = ()           # what is said next, in order
    gap: float = 1.0                     # between one command's end and the next
    at: tuple[float, ...] = ()           # or: when each of `then` is said
    model: str = ''                      # '' keeps the params file's model
    realtime_factor: float = 2.0
    timeout: float = 60.0                # simulated seconds after each command
    stall_camera_after: float | None = None  # freeze the camera process then
    respawn_before: int | None = None    # SIGKILL and restart grounding_node before this
    #                                      command (an index of `commands`)
    settle: float = 3.0                  # after a stall, watch this long
    give_up: float = 5.0                 # end once lost/error with the robot still this long
    params_file: str = ''                # '' = config/sim_demo.yaml
    log_dir: str = ''                    # '' = a temporary folder
    parameters: dict = field(default_factory=dict)  # extra node:name -> value overrides
    # For set-ups beyond one host (test/test_two_hosts.py): extra processes to run beside the
    # nodes (name -> argv; they count as nodes: one that exits ends the episode), and argv
    # to put before a node's or extra process's command (name -> ['ip', 'netns', 'exec', ...]).
    extra_processes: dict = field(default_factory=dict)
    node_prefix: dict = field(default_factory=dict)

    def __post_init__(self):
        self.then = tuple(self.then)
        self.at = tuple(float(t) for t in self.at)
        if self.at and len(self.at) != len(self.then):
            raise ValueError(f'{len(self.at)} times (at) for {len(self.then)} later commands')
        if list(self.at) != sorted(self.at) or any(t < 0 for t in self.at) or self.gap < 0:
            raise ValueError('times (at, gap) must be >= 0 and in order')

    @property
    def commands(self) -> tuple[str, ...]:
        """Everything said, in order."""
        return (self.command, *self.then)

    def overrides(self) -> dict[str, dict]:
        """Return the parameters this spec sets: node -> parameter -> value."""
        overrides = {'sim_node': {'scene': self.scene,
                                  'realtime_factor': float(self.realtime_factor)}}
        if self.model:
            overrides['grounding_node'] = {'model': self.model}
        for key, value in self.parameters.items():
            node, name = key.split(':', 1)
            overrides.setdefault(node, {})[name] = value
        return overrides


@dataclass
class CommandVerdict:
    """One command of an episode judged: how it ended and each of its steps."""

    text: str
    outcome: Outcome
    success: bool
    reason: str
    sim_time: float               # simulated seconds from the command to its end
    steps: list[StepVerdict]
    action_states: list[str] = field(default_factory=list)  # the action node's, sorted

    def summary(self) -> dict:
        return {'command': self.text, 'outcome': str(self.outcome), 'success': self.success,
                'reason': self.reason, 'sim_time': round(self.sim_time, 2),
                'action_states': self.action_states,
                'steps': [step.summary() for step in self.steps]}


@dataclass
class EpisodeResult:
    spec: EpisodeSpec
    outcome: Outcome              # the last command's
    success: bool                 # every command that ran to its end succeeded
    reason: str
    sim_time: float               # simulated seconds from the first command to the end
    stop_distance: float
    commands: list[CommandVerdict]  # each command said, judged
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
    # The nearest the target was (m) when CLIP, not the tracker, placed it; None: never.
    closest_grounding: float | None = None
    truths: list[GroundTruth] = field(default_factory=list)  # the simulator's, in order
    remembered: list[dict] = field(default_factory=list)  # the object memory at the end
    target_stamps_backwards: int = 0  # grounding/target stamps older than the one before

    @property
    def steps(self) -> list[StepVerdict]:
        """Each step of every command, in order."""
        return [step for command in self.commands for step in command.steps]

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
            'scene': self.spec.scene,
            'sim_time': round(self.sim_time, 2), 'stop_distance': self.stop_distance,
            'start_pose': pose(self.start_pose), 'final_pose': pose(self.final_pose),
            'commands': [command.summary() for command in self.commands],
            'touched': self.touched, 'robot_stopped': self.robot_stopped,
            'final_action_state': str(self.action_status.state),
            'final_action_reason': self.action_status.reason,
            'final_grounding_state': str(self.grounding_status.state),
            'final_grounding_message': self.grounding_status.message,
            'grounding_errors': self.grounding_errors,
            'closest_grounding_m': None if self.closest_grounding is None else
            round(self.closest_grounding, 3),
            'remembered_objects': self.remembered,
            'target_stamps_backwards': self.target_stamps_backwards,
            # 1-based: the command before which grounding_node was SIGKILLed and restarted.
            'grounding_node_restarted_before': None if self.spec.respawn_before is None else
            self.spec.respawn_before + 1,
        }


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
    spinner = threading.Thread(target=spin, args=(executor, context), daemon=True)
    spinner.start()
    previous_handler = exit_on_sigterm()
    overrides = spec.overrides()
    # The demo keeps the object memory across a restart of grounding_node (memory_file).
    overrides.setdefault('grounding_node', {}).setdefault(
        'memory_file', str(log_dir / 'object_memory.npz'))
    processes = NodeProcesses(spec.params_file, overrides, log_dir, spec.extra_processes,
                              spec.node_prefix)
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


@dataclass
class _StepRecord:
    """When and where a step began and ended (simulated s, true pose, unwrapped yaw)."""

    start: Pose
    start_turned: float
    start_time: float
    end: Pose | None = None
    end_turned: float = 0.0
    end_time: float = 0.0
    facing_since: float | None = None

    def finish(self, pose: Pose, turned: float, now: float) -> None:
        """Record the step's end, once."""
        if self.end is None:
            self.end, self.end_turned, self.end_time = pose, turned, now


@dataclass
class _Said:
    """One command of the episode under way: its steps as the judge resolves them."""

    text: str
    command: Command | None       # None: the grounding node refuses it too
    after_id: int                 # the last command id before it: its statuses come after
    after_run: str                # of that grounding_node run (a restarted one counts from 1)
    start_time: float
    records: dict[int, _StepRecord] = field(default_factory=dict)

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.command.steps if self.command is not None else ()


class Episode:
    """The watch loop of one episode, then the judgement of each command and step."""

    def __init__(self, spec: EpisodeSpec, scene: Scene, observer: Observer,
                 processes: NodeProcesses, log_dir: Path):
        self.spec, self.scene, self.observer = spec, scene, observer
        self.processes, self.log_dir = processes, log_dir
        self.stop_distance = _action_setting(spec, 'stop_distance')
        self.follow_distance = _action_setting(spec, 'follow_distance')
        # What "again" and "no, the other one" refer to, from the truth: the judge's own
        # dialogue records the object each step reached (world frame), not the pipeline's.
        self.dialogue = Dialogue(DialogueConfig(followup_timeout=3600.0))
        self.verdicts: list[CommandVerdict] = []
        self.start_time = 0.0
        self.start_pose: Pose = (0.0, 0.0, 0.0)
        self.origins: list[Pose] = []  # where each command that moved was given (truth)
        self.start_origin: Pose | None = None  # where the first of them was given
        self.event_time: float | None = None  # when a stop or camera stall was made

    def run(self, progress) -> EpisodeResult:
        observer, spec = self.observer, self.spec
        started = time.monotonic()
        # Frames flowing to grounding_node first: a command before them would run into its
        # image_timeout ('no camera frames') and a safety stop while the simulator starts.
        while not (observer.truth is not None and observer.statuses_seen and
                   observer.sim_time > 0 and observer.frames_published > 0):
            exits = self.processes.exits()
            if exits or time.monotonic() - started > 90.0:
                why = exits or 'nodes did not come up in 90 s'
                return self.result(Outcome.FAILED_TO_START, f'{why}; logs in {self.log_dir}')
            time.sleep(0.1)
        with observer.lock:
            self.start_time, self.start_pose = observer.sim_time, observer.pose
        for index, text in enumerate(spec.commands):
            if index:
                self._wait_until(spec.at[index - 1] if spec.at else self._now() + spec.gap)
            if index == spec.respawn_before:
                self.processes.respawn('grounding_node')
            said = self._say(text)
            if said is None:
                why = self.processes.exits() or 'command subscribers not found in 30 s'
                return self.result(Outcome.FAILED_TO_START, f'{why}; logs in {self.log_dir}')
            last = index == len(spec.commands) - 1
            outcome, reason = self._watch(said, progress,
                                          None if last or not spec.at else spec.at[index])
            self._judge(said, outcome, reason)
            # A person says the next thing after a refusal, a failure or a timeout too.
            if outcome in (Outcome.CRASHED, Outcome.FAILED_TO_START) or \
                    self.event_time is not None:
                break
        verdict = self.verdicts[-1]
        return self.result(verdict.outcome, verdict.reason)

    def _now(self) -> float:
        """Return the simulated seconds since the first command."""
        return self.observer.sim_time - self.start_time

    def _scene_at(self, now: float) -> Scene:
        """Return the scene as it was ``now`` (:meth:`_now`'s seconds): moving objects there."""
        return self.scene.at(self.start_time + now)

    def _wait_until(self, when: float) -> None:
        while self._now() < when and all(self.processes.alive().values()):
            time.sleep(0.05)

    def _say(self, text: str) -> _Said | None:
        """Send ``text``; None when the nodes listening on `command` are not there (or exit)."""
        observer = self.observer
        try:
            command = self.dialogue.resolve(parse_command(text), self._now())
            self.dialogue.record_command(command, self._now())
        except CommandError:
            command = None  # the grounding node refuses it: the episode checks it did
        after_id = max(observer.action.command_id or 0, 0)
        after_run = observer.action.run_id
        # Each of the two nodes listening on `command` has three subscriptions to it.
        if not observer.send(text, subscribers=6, timeout=30.0,
                             given_up=lambda: not all(self.processes.alive().values())):
            return None
        with observer.lock:
            said = _Said(text, command, after_id, after_run, self._now())
            said.records[0] = _StepRecord(observer.pose, observer.turned, said.start_time)
        if said.steps and (said.steps[0].intent.grounded or said.steps[0].intent.by_odometry):
            # As action_node's origins: a command given where the last was replaces it.
            if self.origins and same_place(self.origins[-1], said.records[0].start):
                self.origins.pop()
            self.origins.append(said.records[0].start)
            self.start_origin = self.start_origin or said.records[0].start
        return said

    def _watch(self, said: _Said, progress,
               next_at: float | None) -> tuple[Outcome, str]:
        """Watch one command until it ends, or ``next_at`` (s) when the next one is said."""
        observer, spec = self.observer, self.spec
        stopping = said.command is not None and said.command.is_stop
        still_lost_since = None
        last_progress = 0.0
        while True:
            time.sleep(0.05)
            now = self._now()
            if progress and time.monotonic() - last_progress > 1.0:
                last_progress = time.monotonic()
                progress(observer, now)
            if self.event_time is None and spec.stall_camera_after is not None and \
                    now >= spec.stall_camera_after:
                self.processes.pause('camera_node')
                self.event_time = now
            moving = max(abs(v) for v in observer.speed) >= STOPPED_SPEED
            if self.event_time is not None and now - self.event_time >= spec.settle:
                return Outcome.MOVING if moving else Outcome.STOPPED, observer.action.reason
            action = observer.action
            if stopping and action.state == ActionState.STOPPED and not moving:  # done
                with observer.lock:
                    said.records[0].finish(observer.pose, observer.turned, now)
                return Outcome.DONE, ''
            # A stop acts in the action node at once: its steps are not reported one by one.
            ours = not stopping and action.command_id is not None and \
                (action.command_id > said.after_id or
                 action.run_id != said.after_run and action.command_id > 0)
            if ours and self._track_steps(said, action, now):
                time.sleep(0.3)  # let the last odometry arrive
                self._await_grounding_done(said)
                return Outcome.DONE, ''
            if ours and action.outcome == StepOutcome.FAILED:
                time.sleep(0.3)  # let the last odometry arrive
                return Outcome.FAILED, f'step {action.step + 1} failed: {action.reason}'
            if next_at is not None and now >= next_at:
                if ours and self._following(said, action):  # a follow ends when told to
                    with observer.lock:
                        said.records[action.step].finish(observer.pose, observer.turned, now)
                    return Outcome.DONE, ''
                return Outcome.INTERRUPTED, 'the next command was said before it ended'
            lost = observer.grounding.state in (GroundingState.LOST, GroundingState.ERROR) \
                and not moving
            still_lost_since = _held_since(lost, still_lost_since, now)
            if self.event_time is None and still_lost_since is not None and \
                    now - still_lost_since >= spec.give_up:
                return Outcome.GAVE_UP, observer.grounding.message
            if now - said.start_time >= spec.timeout:
                return Outcome.TIMEOUT, f'action {action.state}: {action.reason}'
            exits = self.processes.exits()
            if exits:
                return Outcome.CRASHED, f'{exits}; logs in {self.log_dir}'

    @staticmethod
    def _following(said: _Said, action: ActionStatus) -> bool:
        """Whether the command's step under way is a follow, still going."""
        steps = said.steps
        return action.step < len(steps) and steps[action.step].intent == Intent.FOLLOW and \
            action.outcome == StepOutcome.ACTIVE and action.step in said.records

    def _await_grounding_done(self, said: _Said) -> None:
        """
        Wait (GROUNDING_DONE_WAIT_S at most) for the grounding node to hear the last step ended.

        It ends the command (idle) when action/status says so, a moment after this episode
        read it; the summary then shows that state rather than the grounding before it. A
        classification stays 'classifying' with its ranking: nothing to wait for.
        """
        if said.steps[-1].intent == Intent.CLASSIFY:
            return
        deadline = time.monotonic() + GROUNDING_DONE_WAIT_S
        while self.observer.grounding.state != GroundingState.IDLE and \
                time.monotonic() < deadline:
            time.sleep(0.05)

    def _track_steps(self, said: _Said, action: ActionStatus, now: float) -> bool:
        """Record where each step began and ended; True once the last one is done."""
        if not said.steps:
            return False
        observer, current = self.observer, action.step
        with observer.lock:
            pose, turned = observer.pose, observer.turned
        for index in range(current):  # a later step began: the earlier ones are done
            said.records.setdefault(index, _StepRecord(pose, turned, now)).finish(
                pose, turned, now)
        record = said.records.setdefault(current, _StepRecord(pose, turned, now))
        step = said.steps[min(current, len(said.steps) - 1)]
        kept = action.outcome == StepOutcome.KEPT
        record.facing_since = _held_since(kept, record.facing_since, now)
        # Classification moves nothing: it is done once a frame has been classified.
        classified = step.intent == Intent.CLASSIFY and bool(observer.grounding.classification)
        # A question to the object memory is answered by the grounding node, which ends it.
        answered = step.intent.answered and observer.grounding.state == GroundingState.IDLE \
            and observer.grounding.command_id == action.command_id
        done = action.outcome == StepOutcome.DONE or classified or answered or (
            record.facing_since is not None and now - record.facing_since >= FACING_HOLD)
        if done:
            record.finish(pose, turned, now)
        return done and current == len(said.steps) - 1

    def _judge(self, said: _Said, outcome: Outcome, reason: str) -> None:
        """Judge each step of ``said``; remember the object each grounded step reached."""
        steps = [self._judge_step(said, i, step) for i, step in enumerate(said.steps)]
        for index, verdict in enumerate(steps):
            if verdict.reached is not None:
                self.dialogue.record_choice(
                    said.command, index,
                    self._scene_at(said.records[index].end_time).object(
                        verdict.reached).position,
                    self._now())
        current = max(said.records, default=0)
        if outcome == Outcome.INTERRUPTED and said.steps and \
                said.steps[current].needs_grounding and steps[current].reached is None:
            self.dialogue.record_choice(said.command, current, self._targeted(), self._now())
        problems = [f'step {v.index + 1}: {v.reason}' for v in steps if not v.success]
        success = outcome == Outcome.DONE and bool(steps) and not problems
        if not reason:
            reason = '; '.join(problems) or '; '.join(v.reason for v in steps)
        with self.observer.lock:
            states = sorted(str(state) for state in self.observer.action_states)
        self.verdicts.append(CommandVerdict(said.text, outcome, success, reason,
                                            self._now() - said.start_time, steps, states))

    def _targeted(self) -> tuple[float, float] | None:
        """Where the object the grounding node targets is (world frame), or None."""
        with self.observer.lock:
            position, (x, y, yaw) = self.observer.grounding.position, self.observer.pose
        if not position:
            return None
        seen = (x + position[0] * math.cos(yaw) - position[1] * math.sin(yaw),
                y + position[0] * math.sin(yaw) + position[1] * math.cos(yaw))
        return min(self._scene_at(self._now()).objects,
                   key=lambda o: o.surface_distance(*seen)).position

    def result(self, outcome: Outcome, reason: str) -> EpisodeResult:
        """
        Make the episode's result; ``outcome`` and ``reason`` are the last command's.

        It succeeds when every command that ran to its end succeeded, nothing was touched
        and the robot is at rest.
        """
        observer = self.observer
        with observer.lock:
            truth, path = observer.truth or GroundTruth(), list(observer.path)
            speed, now, pose = observer.speed, observer.sim_time, observer.pose
            grounding_errors = list(observer.grounding_errors)
            closest_grounding = observer.closest_grounding
            truths, remembered = list(observer.truths), list(observer.remembered)
            target_stamps_backwards = observer.target_stamps_backwards
        touched = list(truth.touched)
        several = len(self.verdicts) > 1
        # A refusal's reason quotes its command already.
        problems = [f"'{v.text}': {v.reason}" if several and not v.reason.startswith(
            f"'{v.text}'") else v.reason for v in self.verdicts
            if not v.success and v.outcome != Outcome.INTERRUPTED]
        if touched:
            problems.append(f'touched {", ".join(touched)}')
        stopped = max(abs(v) for v in speed) < STOPPED_SPEED
        if outcome == Outcome.DONE and not stopped:
            problems.append('still moving')
        success = outcome == Outcome.DONE and not problems
        if self.verdicts:
            reason = '; '.join(problems) or '; '.join(v.reason for v in self.verdicts)
        return EpisodeResult(
            self.spec, outcome, success, reason, max(0.0, now - self.start_time),
            self.stop_distance, self.verdicts, self.start_pose, pose, touched, stopped, path,
            observer.action, observer.grounding, observer.first_frame, str(self.log_dir),
            grounding_errors, closest_grounding, truths, remembered, target_stamps_backwards)

    def _judge_step(self, said: _Said, index: int, step: Step) -> StepVerdict:
        record = said.records.get(index)
        verdict = StepVerdict(index, step.text, str(step.intent),
                              done=record is not None and record.end is not None)
        if record is None:
            verdict.reason = 'never began'
            return verdict
        if step.needs_grounding:  # where the objects were when it was said, and at its end
            verdict.meant = [o.name for o in meant_objects(
                step, self._scene_at(record.start_time), record.start, self._half_fov())]
        if not verdict.done:
            verdict.reason = 'not done'
            return verdict
        scene = self._scene_at(record.end_time)
        if step.intent == Intent.FOLLOW:
            judge_follow(verdict, scene, record.end, self.follow_distance)
        elif step.intent.approaches:
            judge_approach(verdict, scene, record.end, self.stop_distance)
        elif step.intent.faces:
            judge_facing(verdict, scene, record.end)
        elif step.intent == Intent.RETURN:
            judge_return(verdict, self._return_goal(index, step), record.end,
                         'the start' if step.origin == Origin.START else
                         'where the command before was given' if index == 0 else
                         'where the command was given')
        elif step.intent.by_odometry:
            judge_motion(verdict, step, record.start, record.end,
                         record.end_turned - record.start_turned)
        elif step.intent == Intent.CLASSIFY:
            ranked = ', '.join(f"'{c['prompt']}' {c['probability']:.2f}"
                               for c in self.observer.grounding.classification)
            verdict.success, verdict.reason = True, f'classified: {ranked}'
        elif step.intent.answered:
            verdict.success, verdict.reason = True, f'answered: {self.observer.grounding.message}'
        else:
            verdict.success, verdict.reason = True, f'{step.intent} done'
        return verdict

    def _return_goal(self, index: int, step: Step) -> Pose | None:
        """Where a return should end (truth): as action_node's origins, of this episode."""
        if step.origin == Origin.START:
            return self.start_origin
        back = 2 if index == 0 else 1  # 'come back' said first: the previous command's
        return self.origins[-back] if len(self.origins) >= back else None

    def _half_fov(self) -> float:
        """Half the simulated camera's horizontal field of view (rad)."""
        from ..sim.world import CameraSpec  # MuJoCo is the simulator process's, not this one's

        sim, default = _sim_parameters(self.spec), CameraSpec()
        camera = CameraSpec(width=sim.get('image_width', default.width),
                            height=sim.get('image_height', default.height),
                            fovy_deg=sim.get('fovy_deg', default.fovy_deg))
        return math.atan2(camera.width / 2.0, camera.intrinsics()[0])


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


def _action_setting(spec: EpisodeSpec, name: str) -> float:
    """Return action_node's ``name`` (m) as the episode sets it: override, params file, default."""
    from ..core.motion.config import MotionConfig

    values = _params_file_sections(spec).get('action_node', {})
    return float(spec.parameters.get(f'action_node:{name}',
                                     values.get(name, getattr(MotionConfig, name))))
