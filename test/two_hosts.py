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
The simulated robot with its grounding node on another host, across a real network link.

Two network namespaces joined by a veth (test/netns.py) stand for the robot and a
workstation. On the robot: sim_node (publishing JPEG frames too, as a camera driver's
image_transport does) and action_node. On the workstation: camera_node, taking the robot's
frames across the link (``input`` raw or compressed) and handing them to grounding_node
locally, so only one image stream crosses; grounding/target and grounding/status come back.

The episode (clip_grounding_ros.demo.episode) runs inside the robot namespace, in a process
of its own (``python test/two_hosts.py episode ...``; this process stays in the machine's
namespace). Its observer sends the command and judges from the simulator's ground truth,
topics local to the robot, so what crosses the link is what the pipeline exchanges. It
samples the robot's veth counters once a second. A probe on the workstation
(``... probe``) records camera_node's counters and the frames grounding_node grounded.

Used by test/test_two_hosts.py and bench/bench_two_hosts.py.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

from netns import Host, NetnsPair

FRAMES = ('raw', 'compressed')
HERE = Path(__file__).resolve()
WORKSTATION_PROCESSES = ('camera_node', 'grounding_node', 'probe')
DRIVER_TIMEOUT = 300.0  # s of wall time for start-up, the episode and shutdown
SHUTDOWN_GRACE = 20.0   # s for the episode process to stop its nodes after a Ctrl-C


def link_environment(log_dir: Path) -> dict[str, str]:
    """
    Environment of every process of the set-up: DDS discovery and data over UDP.

    - FASTDDS_BUILTIN_TRANSPORTS=UDPv4: Fast DDS otherwise also offers shared memory,
      which processes of one machine share across network namespaces (/dev/shm). Fast DDS
      3.2 does not use it between these namespaces (its shared-memory locators carry a hash
      of the IPv4 addresses in sight, which differ), but that is a detail of one version,
      and the test must cross the link whatever it is. The sockets get 4 MB buffers (as
      far as the kernel's net.core.rmem_max/wmem_max allow), as DDS tuning guides advise
      for large samples: a raw frame (230 kB, four 64 kB datagrams) overflows the default
      208 kB receive buffer of a busy subscriber; a third of the frames were lost so here.
    - ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET: multicast discovery over the link (the
      LOCALHOST range of the other tests would never find the other namespace).
    - A ROS_DOMAIN_ID of this process's own (1-100 are conftest's).
    """
    environment = dict(os.environ)
    for name in ('ROS_LOCALHOST_ONLY', 'ROS_STATIC_PEERS'):  # either overrides the range
        environment.pop(name, None)
    environment.update(ROS_AUTOMATIC_DISCOVERY_RANGE='SUBNET',
                       FASTDDS_BUILTIN_TRANSPORTS='UDPv4?sockets_size=4MB',
                       ROS_DOMAIN_ID=str(101 + os.getpid() % 100),
                       ROS_LOG_DIR=str(log_dir), PYTHONUNBUFFERED='1')
    return environment


@dataclass
class TwoHostRun:
    """One episode across the link and what was measured."""

    frames: str                 # 'raw' or 'compressed' on the link
    summary: dict               # EpisodeResult.summary()
    samples: list[dict]         # after the command, ~1/s: sim_time, wall, robot end rx/tx
    link: dict[str, dict]       # per host: bytes its veth end received/sent in the run
    camera: list[dict]          # camera_node's statuses on the workstation, with 'wall'
    grounded: list[dict]        # grounding_node's statuses: wall, image_stamp
    wall_time: float            # s, the episode process from start to exit
    log_dir: str

    def rates(self) -> dict[str, float]:
        """
        Compute the link and node rates after the command, per wall second.

        Rates between the first and last sample after the command (start-up discovery
        excluded), per wall second: bytes each way on the link, frames camera_node received
        from across it, distinct frames grounding_node grounded.
        """
        first, last = self.samples[0], self.samples[-1]
        wall = last['wall'] - first['wall']

        def inside(record: dict) -> bool:
            return first['wall'] <= record['wall'] <= last['wall']

        camera = [status for status in self.camera if inside(status)]
        stamps = {status['image_stamp'] for status in self.grounded
                  if inside(status) and status['image_stamp'] is not None}
        return {
            'sim_seconds': last['sim_time'] - first['sim_time'], 'wall_seconds': wall,
            'robot_to_ws_bytes_per_s': (last['tx'] - first['tx']) / wall,
            'ws_to_robot_bytes_per_s': (last['rx'] - first['rx']) / wall,
            'frames_arrived_per_s': (camera[-1]['received'] - camera[0]['received']) /
            (camera[-1]['wall'] - camera[0]['wall']) if len(camera) > 1 else 0.0,
            'frames_grounded_per_s': len(stamps) / wall,
        }


def run_two_hosts(pair: NetnsPair, frames: str, log_dir: Path, **episode) -> TwoHostRun:
    """
    Run one episode with ``frames`` crossing from pair['robot'] to pair['ws'].

    ``episode``: EpisodeSpec fields (scene, command, realtime_factor, timeout, ...).
    """
    if frames not in FRAMES:
        raise ValueError(f"frames must be one of {FRAMES}, got '{frames}'")
    robot, ws = pair['robot'], pair['ws']
    log_dir.mkdir(parents=True, exist_ok=True)
    python = [sys.executable, str(HERE)]
    extra = {'probe': [*python, 'probe', '--ros-args', '-p',
                       f'output:={log_dir / "probe.json"}']}
    spec = {**episode, 'log_dir': str(log_dir), 'extra_processes': extra,
            'node_prefix': {name: ws.command([]) for name in WORKSTATION_PROCESSES},
            # Debug images would come back across the link to the observer, and raw depth
            # (32FC1, 307 kB a frame) would cross it: across hosts, targets go on the floor.
            'parameters': {**episode.get('parameters', {}), 'camera_node:input': frames,
                           'sim_node:publish_compressed': frames == 'compressed',
                           'grounding_node:publish_debug_image': False,
                           'grounding_node:use_depth': False}}
    (log_dir / 'spec.json').write_text(json.dumps(spec, indent=1))
    result_file = log_dir / 'result.json'
    before = {role: host.link_bytes() for role, host in pair.hosts.items()}
    started = time.monotonic()
    with open(log_dir / 'episode.log', 'w') as log:
        driver = subprocess.Popen(
            robot.command([*python, 'episode', str(log_dir / 'spec.json'), str(result_file),
                           json.dumps(dataclasses.asdict(robot))]),
            env=link_environment(log_dir), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: the nodes, to end them all
        try:
            driver.wait(timeout=DRIVER_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f'the episode took over {DRIVER_TIMEOUT:.0f} s; logs in '
                               f'{log_dir}') from None
        finally:
            _end(driver)
    wall_time = time.monotonic() - started
    after = {role: host.link_bytes() for role, host in pair.hosts.items()}
    if not result_file.exists():
        tail = (log_dir / 'episode.log').read_text()[-2000:]
        raise RuntimeError(f'episode process exited {driver.returncode} without a result; '
                           f'logs in {log_dir}:\n{tail}')
    result = json.loads(result_file.read_text())
    probe = json.loads((log_dir / 'probe.json').read_text())
    return TwoHostRun(
        frames, result['summary'], result['samples'],
        {role: {key: after[role][key] - before[role][key] for key in ('rx', 'tx')}
         for role in after},
        probe['camera'], probe['grounded'], wall_time, str(log_dir))


def _end(driver: subprocess.Popen) -> None:
    """
    End the episode process, and whatever of its process group is left.

    Ctrl-C the episode process (which stops its nodes) if it is still running, and kill
    whatever of its process group is left after a failure: nothing may keep the namespaces
    alive.
    """
    if driver.poll() is None:
        os.killpg(driver.pid, signal.SIGINT)
        try:
            driver.wait(timeout=SHUTDOWN_GRACE)
        except subprocess.TimeoutExpired:
            driver.kill()
            driver.wait()
    if driver.returncode != 0:
        try:
            os.killpg(driver.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# -- inside the namespaces ---------------------------------------------------------------
def episode_main(spec_file: str, result_file: str, host: str) -> int:
    """Run the episode in the robot namespace; write the summary and the link samples."""
    from clip_grounding_ros.demo.episode import EpisodeSpec, run_episode

    robot = Host(**json.loads(host))
    samples = []

    def sample(observer, now: float) -> None:
        samples.append({'sim_time': now, 'wall': time.time(), **robot.link_bytes()})

    result = run_episode(EpisodeSpec(**json.loads(Path(spec_file).read_text())),
                         progress=sample)
    Path(result_file).write_text(json.dumps({'summary': result.summary(),
                                             'samples': samples}, indent=1))
    print(json.dumps(result.summary()))
    return 0


def probe_main() -> int:
    """
    Record the workstation nodes' statuses and write them to ``output`` on exit.

    On the workstation: records camera_node's and grounding_node's statuses there
    (so none of this crosses the link) and writes them to the ``output`` file on exit.
    """
    from clip_grounding_ros.nodes.common import STATUS_QOS
    from clip_grounding_ros.nodes.process import run_node
    from rclpy.node import Node
    from std_msgs.msg import String

    class Probe(Node):

        def __init__(self):
            super().__init__('two_hosts_probe')
            self.output = self.declare_parameter('output', '').value
            self.records = {'camera': [], 'grounded': []}
            self.create_subscription(String, 'grounding/camera_status', self._on_camera,
                                     STATUS_QOS)
            self.create_subscription(String, 'grounding/status', self._on_grounding,
                                     STATUS_QOS)

        def _on_camera(self, msg) -> None:
            self.records['camera'].append({'wall': time.time(), **json.loads(msg.data)})

        def _on_grounding(self, msg) -> None:
            stamp = json.loads(msg.data).get('image_stamp')
            self.records['grounded'].append({'wall': time.time(), 'image_stamp': stamp})

        def on_shutdown(self) -> None:
            Path(self.output).write_text(json.dumps(self.records))

    return run_node(Probe)


if __name__ == '__main__':
    role, *arguments = sys.argv[1:]
    if role == 'episode':
        signal.signal(signal.SIGINT, signal.default_int_handler)  # stop the nodes on Ctrl-C
        raise SystemExit(episode_main(*arguments))
    if role == 'probe':
        raise SystemExit(probe_main())
    raise SystemExit(f'usage: {sys.argv[0]} episode SPEC RESULT HOST | probe --ros-args ...')
