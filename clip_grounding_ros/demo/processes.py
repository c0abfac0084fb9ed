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
The episode's processes: the simulator and the three nodes, each a process of its own.

As `ros2 launch` would start them (in one process the simulator's thread would be starved by
the GIL), each with its log, on a DDS domain of this process's own.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import threading
import time

from ..dds import use_package_profile
from ..resources import find_resource

# Each node's module, run as `python -m` (what its console script runs).
NODE_MODULES = {'sim_node': 'clip_grounding_ros.sim.sim_node',
                'camera_node': 'clip_grounding_ros.nodes.camera_node',
                'grounding_node': 'clip_grounding_ros.nodes.grounding_node',
                'action_node': 'clip_grounding_ros.nodes.action_node'}


class NodeProcesses:
    """
    The four node processes and any extra ones, with their logs.

    Each node reads ``params_file`` ('' = config/sim_demo.yaml) and its ``overrides`` (node ->
    parameter -> value); ``extra`` processes (name -> argv) count as nodes, and ``prefix``
    (name -> argv) goes before a node's or extra process's command. Their output goes to
    ``log_dir/<name>.log``.
    """

    def __init__(self, params_file: str, overrides: dict[str, dict], log_dir: Path,
                 extra: dict[str, list[str]] | None = None,
                 prefix: dict[str, list[str]] | None = None):
        params = params_file or str(find_resource('config/sim_demo.yaml'))
        extra, prefix = extra or {}, prefix or {}
        self.processes: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, list[str]] = {}
        self.log_dir = log_dir
        self.logs = []
        commands = {}
        for node, module in NODE_MODULES.items():
            command = [sys.executable, '-m', module, '--ros-args',
                       '--params-file', params]
            for name, value in overrides.get(node, {}).items():
                command += ['-p', override_argument(name, value)]
            commands[node] = command
        for name, command in {**commands, **extra}.items():
            self.commands[name] = [*prefix.get(name, []), *command]
            self._start(name, 'w')

    def _start(self, name: str, mode: str) -> None:
        log = open(self.log_dir / f'{name}.log', mode)  # noqa: SIM115 - closed in stop()
        self.logs.append(log)
        self.processes[name] = subprocess.Popen(self.commands[name], stdout=log,
                                                stderr=subprocess.STDOUT)

    def respawn(self, name: str) -> None:
        """Kill a node process (SIGKILL: no shutdown, nothing saved) and start it again."""
        process = self.processes[name]
        process.kill()
        process.wait()
        self._start(name, 'a')

    def alive(self) -> dict[str, bool]:
        return {name: process.poll() is None for name, process in self.processes.items()}

    def exits(self) -> str:
        """Say which processes exited, with their status and last log line; '' if none."""
        said = []
        for name, process in self.processes.items():
            if process.poll() is None:
                continue
            log = self.log_dir / f'{name}.log'
            lines = log.read_text(errors='replace').splitlines() if log.is_file() else []
            last = next((line.strip() for line in reversed(lines) if line.strip()), '')
            said.append(f'{name} exited (status {process.returncode})' +
                        (f': {last}' if last else ''))
        return '; '.join(said)

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


def override_argument(name: str, value) -> str:
    """
    Return the ``-p`` argument ``name:=value``, the value as YAML, as rcl reads it.

    Strings are quoted (JSON is YAML), so that '' or 'true' stay strings ('-p name:=' does not
    parse at all).
    """
    if isinstance(value, bool):
        return f"{name}:={'true' if value else 'false'}"
    if isinstance(value, str):
        return f'{name}:={json.dumps(str(value))}'
    return f'{name}:={value}'


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


def spin(executor, context) -> None:
    while context.ok():
        try:
            executor.spin_once(timeout_sec=0.05)
        except Exception:  # noqa: BLE001 - shutting down while spinning
            if context.ok():
                raise


def default_environment() -> str:
    """
    Keep the episode's DDS traffic on this machine, on a DDS domain of its own.

    The domain is this process's own, unless the caller chose otherwise: two demos (or benchmarks)
    run at once must not hear each other's commands, clocks and robots, so each reserves a
    domain with a lock file that it holds while it runs (:func:`reserve_domain`). Returns the
    domain used (for the user's `ros2 topic echo`: ROS_DOMAIN_ID=<it>). Frames go over shared
    memory, as the launch files have it: the package's Fast DDS profile, unless the caller
    chose one (clip_grounding_ros.dds).
    """
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    use_package_profile()
    if 'ROS_DOMAIN_ID' not in os.environ:
        os.environ['ROS_DOMAIN_ID'] = str(reserve_domain())
    return os.environ['ROS_DOMAIN_ID']


_reserved = []  # the lock files this process holds, open until it exits


def reserve_domain() -> int:
    """
    Reserve a DDS domain no other demo or benchmark on this machine holds; return it.

    Among 1..101 (the domains ROS 2 documents as safe on Linux; 0 is everyone's default),
    starting from one that depends on the process id, the first whose lock file
    (``<tmp>/clip_grounding_ros_domain_<id>.lock``) this process can lock. The lock goes
    when the process exits, however it exits.
    """
    start = os.getpid() % 101
    for offset in range(101):
        domain = 1 + (start + offset) % 101
        lock = open(Path(tempfile.gettempdir()) /  # noqa: SIM115 - held until exit
                    f'clip_grounding_ros_domain_{domain}.lock', 'a')
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        _reserved.append(lock)
        return domain
    raise RuntimeError('every DDS domain 1..101 is held by another demo or benchmark')
