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
Shared fixtures: a tiny random CLIP model and a ROS context.

The model is randomly initialised and saved in the Hugging Face layout; the ROS context is for the
node tests.

The model is loaded through exactly the code path a real model uses (``load_encoder`` on a
folder). Its weights are random: tests that use it check plumbing, never semantics.
"""

import os

import pytest

os.environ.setdefault('HF_HUB_DISABLE_TELEMETRY', '1')
# Node tests use real DDS: a domain of their own (per pytest process, inherited by the node
# subprocesses) on loopback only, so parallel runs on this machine, or a robot on the
# network, never hear them. Set before any rclpy.init.
os.environ['ROS_DOMAIN_ID'] = str(os.getpid() % 100 + 1)
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'

CORPUS = ['a photo of a blue box.', 'a photo of a red ball.', 'go to the green cylinder',
          'a photo of the floor.', 'a photo of a wall.', 'a photo of an empty room.',
          'a cat', 'a dog', 'a bird']


@pytest.fixture(scope='session')
def tiny_model_dir(tmp_path_factory):
    from clip_grounding_ros.training.factory import build_clip, build_tokenizer, TINY

    folder = tmp_path_factory.mktemp('tiny_clip')
    model, processor = build_clip(TINY, build_tokenizer(CORPUS * 3, TINY.vocab_size))
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope='session')
def tiny_encoder(tiny_model_dir):
    from clip_grounding_ros.core.perception.model import load_encoder

    return load_encoder(tiny_model_dir, device='cpu')


@pytest.fixture
def ros():
    """Make a fresh rclpy Context with a probe node; every node in it is destroyed afterwards."""
    from ros_helpers import RosHarness

    harness = RosHarness()
    yield harness
    harness.close()


@pytest.fixture(scope='session')
def photos():
    """Load the labelled real photographs (test/real_photos.py)."""
    from real_photos import load_photos, PhotosUnavailable

    try:
        return load_photos()
    except PhotosUnavailable as error:
        if os.environ.get('ROS_DISTRO'):  # scripts/setup pins them only without a ROS 2
            pytest.skip(f'real photographs unavailable under a sourced ROS 2: {error}')
        raise
