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
Going back to an object seen before and now behind the robot: with the memory, and without.

Each episode in scene 'boxes': 'find the X' (the robot turns to face X), 'turn around' (X is
now behind it), then the command measured, in two forms on the same scene and target:
'go back to the X' (the object memory: a turn straight toward it, then the approach) and
'go to the X' (no memory: a search turn until X comes into view, then the approach). Prints
the simulated seconds of the measured command, per target and in the mean, and the ratio
of the two (a baseline measured in the same run).

    .venv/bin/python bench/bench_going_back.py [--targets blue red green] [--speed 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

from clip_grounding_ros.demo.episode import EpisodeSpec, run_episode
from clip_grounding_ros.demo.processes import default_environment

TARGETS = ('blue', 'red', 'green', 'yellow', 'orange')
FORMS = {'memory': 'go back to the {} box', 'search': 'go to the {} box'}


def measure(colour: str, form: str, speed: float) -> tuple[bool, float, str]:
    """Run one conversation; return the measured command's success, seconds and reason."""
    with tempfile.TemporaryDirectory() as log_dir:
        result = run_episode(EpisodeSpec(
            scene='boxes', command=f'find the {colour} box',
            then=('turn around', FORMS[form].format(colour)), realtime_factor=speed,
            timeout=90.0, log_dir=log_dir))
    measured = result.commands[-1] if len(result.commands) == 3 else None
    if measured is None:
        return False, float('nan'), result.reason
    return (measured.success and measured.steps[0].reached == f'{colour}_box',
            measured.sim_time, measured.reason)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--targets', nargs='+', choices=TARGETS, default=list(TARGETS))
    parser.add_argument('--speed', type=float, default=1.0, help='realtime factor')
    args = parser.parse_args()
    default_environment()
    times: dict[str, list[float]] = {form: [] for form in FORMS}
    print(f"{'target':8} {'form':7} {'ok':3} {'sim s':>6}  reason")
    for colour in args.targets:
        for form in FORMS:
            ok, seconds, reason = measure(colour, form, args.speed)
            if ok:
                times[form].append(seconds)
            print(f'{colour:8} {form:7} {"yes" if ok else "NO":3} {seconds:6.1f}  {reason}',
                  flush=True)
    means = {form: statistics.mean(values) if values else float('nan')
             for form, values in times.items()}
    for form, values in times.items():
        print(f'{form}: {len(values)}/{len(args.targets)} reached, mean {means[form]:.1f} s')
    print(f"memory / search: {means['memory'] / means['search']:.2f} of the time")


if __name__ == '__main__':
    main()
