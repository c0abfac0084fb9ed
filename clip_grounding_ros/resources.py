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
Finding the package's data files (configs, scenes, the bundled model) wherever it runs.

After `colcon build` they are in the package's share directory; in a source checkout (the
venv used by scripts/demo and the tests) they are next to this package. ``package://``
URIs, as ROS users know them from URDFs, name files in either place.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_NAME = 'clip_grounding_ros'
SOURCE_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_URI = f'package://{PACKAGE_NAME}/'
BUNDLED_MODEL_URI = PACKAGE_URI + 'models/sim_clip'


def share_dirs() -> list[Path]:
    """List the installed share directory (when colcon installed the package), then the source."""
    dirs = []
    try:
        from ament_index_python.packages import get_package_share_directory

        dirs.append(Path(get_package_share_directory(PACKAGE_NAME)))
    # Not installed by colcon, no ROS environment (AMENT_PREFIX_PATH unset raises OSError)
    # or no ament at all: only the source tree is left.
    except (ImportError, LookupError, OSError):
        pass
    dirs.append(SOURCE_ROOT)
    return dirs


def find_resource(relative: str) -> Path | None:
    """Return the first existing ``relative`` path under :func:`share_dirs`, or None."""
    for folder in share_dirs():
        candidate = folder / relative
        if candidate.exists():
            return candidate
    return None


def resolve_model(model: str) -> str:
    """Turn ``package://clip_grounding_ros/...`` into a local path; other values pass through."""
    if not model.startswith(PACKAGE_URI):
        return model
    relative = model[len(PACKAGE_URI):]
    found = find_resource(relative)
    return str(found) if found is not None else str(share_dirs()[0] / relative)
