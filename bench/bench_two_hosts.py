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
Measure the network traffic a remote grounding node causes, raw and JPEG-compressed.

Bytes per second on the network link between the robot and a remote grounding node, for
raw and for JPEG-compressed camera frames.

The set-up of test/test_two_hosts.py (two network namespaces joined by a veth; root and
iproute2 needed): sim_node and action_node on the robot, camera_node and grounding_node
on the workstation. Raw: camera_node subscribes the simulator's camera/image_raw across the
link. Compressed: sim_node also publishes camera/image_raw/compressed (JPEG, as a camera
driver's image_transport does) and camera_node takes that. Each runs the demo's command for up to
``--seconds`` simulated seconds (less when the robot arrives first) and reports, from the
veth's own counters, bytes per second each way, and the frames per second that reached
camera_node on the workstation and that grounding_node grounded.

    sudo .venv/bin/python bench/bench_two_hosts.py [--seconds 10] [--speed 1.0]
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys
import tempfile

# The set-up lives with the test that checks it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'test'))
from netns import NetnsPair, NetnsUnavailable  # noqa: E402
from two_hosts import FRAMES, run_two_hosts  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--seconds', type=float, default=10.0,
                        help='simulated seconds after the command (at most)')
    parser.add_argument('--speed', type=float, default=1.0, help='realtime factor')
    parser.add_argument('--scene', default='boxes')
    parser.add_argument('--command', default='go to the blue box')
    args = parser.parse_args()
    rates = {}
    for frames in FRAMES:
        log_dir = Path(tempfile.mkdtemp(prefix=f'two_hosts_{frames}_'))
        try:
            with NetnsPair('robot', 'ws') as pair:
                run = run_two_hosts(pair, frames, log_dir, scene=args.scene,
                                    command=args.command, realtime_factor=args.speed,
                                    timeout=args.seconds)
        except NetnsUnavailable as error:
            print(f'cannot run: {error}', file=sys.stderr)
            return 2
        rates[frames] = rate = run.rates()
        print(f"{frames:10s} {rate['robot_to_ws_bytes_per_s'] / 1e3:8.1f} kB/s robot->ws "
              f"{rate['ws_to_robot_bytes_per_s'] / 1e3:6.1f} kB/s ws->robot  "
              f"frames arrived {rate['frames_arrived_per_s']:4.1f}/s, grounded "
              f"{rate['frames_grounded_per_s']:3.1f}/s  over {rate['sim_seconds']:.1f} "
              f"simulated s ({rate['wall_seconds']:.1f} s wall); episode "
              f"{run.summary['outcome']}; logs {log_dir}", flush=True)
    ratio = (rates['compressed']['robot_to_ws_bytes_per_s'] /
             rates['raw']['robot_to_ws_bytes_per_s'])
    print(f'compressed/raw robot->ws bytes per second: {ratio:.3f}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
