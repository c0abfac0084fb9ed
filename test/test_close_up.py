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
An object the robot has come close to stays grounded: it fills 50-90 % of the frame.

The bundled model, the simulator's grounder configuration (config/sim_demo.yaml) and
renders of the simulator camera from poses just short of an object. Before proposals kept
large boxes, a box that filled more than 40 % of the frame had no proposal that covered it
(test_proposals.py checks the same on real photographs).
"""

import os
from pathlib import Path

os.environ.setdefault('MUJOCO_GL', 'osmesa')

from clip_grounding_ros.core.perception.grounding import Grounder, GrounderConfig  # noqa: E402
from clip_grounding_ros.core.perception.model import load_encoder  # noqa: E402
from clip_grounding_ros.core.perception.proposals import box_iou  # noqa: E402
from clip_grounding_ros.resources import BUNDLED_MODEL_URI, resolve_model  # noqa: E402
from clip_grounding_ros.sim import (  # noqa: E402
    CameraSpec,
    load_scene,
    scene_from_dict,
    SimWorld,
)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CAMERA = CameraSpec()
BIG_BOX = scene_from_dict({'name': 'big_box', 'objects': [
    {'name': 'big_box', 'shape': 'box', 'color': 'orange', 'size': [0.3, 0.3, 0.25],
     'position': [2.0, 0.0]}]})


@pytest.fixture(scope='module')
def grounder():
    sections = yaml.safe_load((ROOT / 'config' / 'sim_demo.yaml').read_text())
    values = sections['/**/grounding_node']['ros__parameters']
    config = GrounderConfig(**{name: values[name] for name in (
        'strategy', 'max_crops', 'colour_proposals', 'score_threshold')})
    encoder = load_encoder(resolve_model(BUNDLED_MODEL_URI), device='cpu')
    return Grounder(encoder, config)


def close_up(scene, name: str, gap: float):
    """Render the robot facing ``name`` with its camera ``gap`` m from the object's face."""
    obj = scene.object(name)
    with SimWorld(scene, CAMERA) as world:
        # The camera sits mount_x ahead of the base; the face is half the object's depth short.
        world.set_robot_pose(obj.position[0] - obj.size[0] - gap - CAMERA.mount_x,
                             obj.position[1], 0.0)
        box = np.array([world.visible_objects()[name].box], dtype=np.float64)
        return world.render(), box


@pytest.mark.parametrize('scene_name, name, gap', [
    ('boxes', 'blue_box', 0.05), ('boxes', 'blue_box', 0.2), ('boxes', 'red_box', 0.1),
    ('boxes', 'green_box', 0.15), ('big_box', 'big_box', 0.38), ('big_box', 'big_box', 0.5),
])
def test_an_object_filling_most_of_the_frame_is_grounded(grounder, scene_name, name, gap):
    scene = BIG_BOX if scene_name == 'big_box' else load_scene(scene_name)
    image, truth = close_up(scene, name, gap)
    x1, y1, x2, y2 = truth[0]
    fill = (x2 - x1) * (y2 - y1) / (CAMERA.width * CAMERA.height)
    assert 0.5 <= fill <= 0.9, f'{name} fills {fill:.2f} of the frame: not a close-up'
    obj = scene.object(name)
    result = grounder.ground(image, f'{obj.color} box')
    assert result.found, result.message
    assert box_iou(truth, np.array([result.best.box]))[0, 0] >= 0.5, (result.best, truth)
