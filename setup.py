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

"""ament_python build of clip_grounding_ros: the Python package, its data and node executables."""

from glob import glob
import os

from setuptools import find_packages, setup

PACKAGE = 'clip_grounding_ros'


def tree(folder):
    """data_files entries installing ``folder`` (recursively) under share/<package>/."""
    entries = {}
    for path in glob(os.path.join(folder, '**', '*'), recursive=True):
        if os.path.isfile(path):
            target = os.path.join('share', PACKAGE, os.path.dirname(path))
            entries.setdefault(target, []).append(path)
    return sorted(entries.items())


setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        *tree('launch'),
        *tree('config'),
        *tree('models'),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='clip_grounding_ros developers',
    maintainer_email='clip-grounding-ros@example.com',
    description='Ground spoken-style commands in camera images with CLIP and drive a robot there.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            f'camera_node = {PACKAGE}.nodes.camera_node:main',
            f'grounding_node = {PACKAGE}.nodes.grounding_node:main',
            f'action_node = {PACKAGE}.nodes.action_node:main',
            f'sim_node = {PACKAGE}.sim.sim_node:main',
        ],
    },
)
