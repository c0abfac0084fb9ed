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
`colcon build` of the package into a temporary workspace, as on a robot.

Uses the colcon next to this interpreter (the venv's). Notes on running it from a test:
- colcon's ament_python build imports ament_package; it is importable in the venv (PyPI
  ros-ament-package), so no ROS environment has to be sourced.
- --build-base, --install-base and colcon's --log-base all point into the temporary folder,
  so nothing is written into the source tree (the egg-info goes to the build base).
- No --symlink-install: that mode runs `setup.py develop`, whose install layout links back
  into the source tree, so it would not show what a normal install ships.
- The installed package is used the way the generated setup scripts arrange it, without
  sourcing them: AMENT_PREFIX_PATH and PYTHONPATH point into the install.
"""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys
import sysconfig

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = 'clip_grounding_ros'
COLCON = Path(sys.executable).with_name('colcon')
EXECUTABLES = ('camera_node', 'grounding_node', 'action_node', 'sim_node')


@pytest.fixture(scope='module')
def install(tmp_path_factory) -> Path:
    """Install the package in a fresh isolated install; return its prefix (install/<package>)."""
    workspace = tmp_path_factory.mktemp('colcon_ws')
    result = subprocess.run(
        [str(COLCON), '--log-base', str(workspace / 'log'), 'build',
         '--base-paths', str(ROOT), '--build-base', str(workspace / 'build'),
         '--install-base', str(workspace / 'install'), '--event-handlers', 'console_direct-'],
        cwd=workspace, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return workspace / 'install' / PACKAGE


def installed_environment(prefix: Path) -> dict[str, str]:
    """Return what `source install/setup.bash` would add for this package."""
    site = Path(sysconfig.get_path('purelib', vars={'base': str(prefix)}))
    environment = dict(os.environ)
    environment['AMENT_PREFIX_PATH'] = str(prefix)
    environment['PYTHONPATH'] = os.pathsep.join(
        filter(None, [str(site), os.environ.get('PYTHONPATH')]))
    return environment


def test_share_directory_holds_package_xml_launch_config_and_model(install):
    share = install / 'share' / PACKAGE
    expected = ['package.xml', 'config/grounding.yaml', 'config/sim_demo.yaml',
                *(p.relative_to(ROOT) for p in (ROOT / 'launch').glob('*.launch.py')),
                *(p.relative_to(ROOT) for p in (ROOT / 'config' / 'scenes').glob('*.yaml')),
                *(p.relative_to(ROOT) for p in (ROOT / 'config' / 'gazebo').iterdir()),
                *(p.relative_to(ROOT) for p in (ROOT / 'models' / 'sim_clip').rglob('*')
                  if p.is_file())]  # the OpenVINO export in openvino/ too
    assert len(expected) > 12  # the globs found the launch files, scenes, Gazebo and model
    missing = [str(path) for path in expected if not (share / path).is_file()]
    assert not missing, f'not installed: {missing}'
    marker = install / 'share' / 'ament_index' / 'resource_index' / 'packages' / PACKAGE
    assert marker.is_file()  # what ament_index (FindPackageShare, ros2 pkg) looks for


def test_node_executables_are_installed_where_ros2_run_looks(install):
    for name in EXECUTABLES:
        path = install / 'lib' / PACKAGE / name
        assert path.is_file() and os.access(path, os.X_OK), path


def test_installed_package_resolves_resources_from_its_share_directory(install):
    script = ('from clip_grounding_ros.resources import find_resource, resolve_model\n'
              'import clip_grounding_ros\n'
              "print(find_resource('config/sim_demo.yaml'))\n"
              "print(resolve_model('package://clip_grounding_ros/models/sim_clip'))\n"
              'print(clip_grounding_ros.__file__)\n')
    result = subprocess.run([sys.executable, '-c', script], env=installed_environment(install),
                            cwd=install, capture_output=True, text=True, timeout=60, check=True)
    config, model, module = result.stdout.split()
    share = install / 'share' / PACKAGE
    assert Path(config) == share / 'config' / 'sim_demo.yaml'
    assert Path(model) == share / 'models' / 'sim_clip'
    assert Path(module).is_relative_to(install)  # the installed copy, not the source tree
