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
The package's Fast DDS profile (config/fastdds.xml): camera frames over shared memory.

Fast DDS's shared-memory segment is 512 KB by default; a frame larger than that (640x480 RGB
is 900 KB) goes over UDP in fragments, and a best-effort subscriber loses every frame one
fragment of which is dropped. The profile enlarges the segment; the launch files
(launch_support.large_frames_transport), the demo and the benchmarks use it unless the user
chose a profile. bench/bench_transport.py measures the difference.
"""

from __future__ import annotations

import os

from .resources import find_resource

# Fast DDS reads its default participant profile from the XML file this variable names.
PROFILE_VARIABLE = 'FASTDDS_DEFAULT_PROFILES_FILE'
PROFILE_RESOURCE = 'config/fastdds.xml'


def profile_path() -> str:
    """Return the path of config/fastdds.xml (installed share directory or source tree)."""
    path = find_resource(PROFILE_RESOURCE)
    if path is None:
        raise FileNotFoundError(f'{PROFILE_RESOURCE} is missing from the package')
    return str(path)


def use_package_profile() -> str:
    """
    Make this process and its children use the package's profile, unless one is chosen.

    Call before rclpy creates a context. Returns the profile in effect (the user's when
    PROFILE_VARIABLE was already set).
    """
    return os.environ.setdefault(PROFILE_VARIABLE, profile_path())
