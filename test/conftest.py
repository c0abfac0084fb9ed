"""Shared fixtures: a tiny randomly initialised CLIP model saved in the Hugging Face layout,
and a ROS context for the node tests.

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
    from clip_grounding_ros.training.factory import TINY, build_clip, build_tokenizer

    folder = tmp_path_factory.mktemp('tiny_clip')
    model, processor = build_clip(TINY, build_tokenizer(CORPUS * 3, TINY.vocab_size))
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope='session')
def tiny_encoder(tiny_model_dir):
    from clip_grounding_ros.core.model import load_encoder

    return load_encoder(tiny_model_dir, device='cpu')


@pytest.fixture
def ros():
    """A fresh rclpy Context with a probe node; every node in it is destroyed afterwards."""
    from ros_helpers import RosHarness

    harness = RosHarness()
    yield harness
    harness.close()
