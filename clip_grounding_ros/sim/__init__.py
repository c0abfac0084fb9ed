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
The simulated world for grounding tests, the demo and training data: MuJoCo.

Scenes of coloured objects (scene.py), optionally textured (textures.py, made in code) and
cluttered, and a camera robot driving among them (world.py), all without ROS; sim_node.py is
the simulator's ROS face (camera, odometry, /clock and ground truth topics), the only module
here that imports rclpy. world.py (and with it MuJoCo and an OpenGL backend) is imported on
first use of one of its names, so code that only needs scene descriptions, such as training on
a GPU machine from already rendered views, does not need MuJoCo installed.
"""

from clip_grounding_ros.sim.scene import (
    add_clutter,
    available_scenes,
    COLOR_WORDS,
    COLORS,
    CONTRAST_CLASSES,
    Light,
    load_scene,
    Motion,
    position_at,
    random_scene,
    ROBOT_RADIUS,
    Scene,
    scene_from_dict,
    scene_to_dict,
    SceneError,
    SceneObject,
    SHAPE_WORDS,
    SHAPES,
)
from clip_grounding_ros.sim.textures import texture_image, TEXTURE_KINDS

_WORLD_NAMES = ('CameraSpec', 'SimWorld', 'VisibleObject', 'build_mjcf', 'camera_pose_in_base',
                'texture_assets')


def __getattr__(name: str):
    if name in _WORLD_NAMES:
        from clip_grounding_ros.sim import world

        return getattr(world, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'COLOR_WORDS',
    'CONTRAST_CLASSES',
    'COLORS',
    'ROBOT_RADIUS',
    'SHAPE_WORDS',
    'SHAPES',
    'TEXTURE_KINDS',
    'CameraSpec',
    'Light',
    'Motion',
    'Scene',
    'SceneError',
    'SceneObject',
    'SimWorld',
    'VisibleObject',
    'add_clutter',
    'available_scenes',
    'build_mjcf',
    'camera_pose_in_base',
    'load_scene',
    'position_at',
    'random_scene',
    'scene_from_dict',
    'scene_to_dict',
    'texture_assets',
    'texture_image',
]
