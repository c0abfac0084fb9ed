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
launch_testing: sim_demo.launch.py drives the simulated robot to the blue box.

Runs the installed package (`colcon build`, then `colcon test` or `launch_test` or pytest with
the install sourced): FindPackageShare locates the launch file and launch_ros the node
executables. Where launch_testing and launch_ros are not installed (they come with a ROS 2
distribution, not from PyPI), the module is skipped.
"""

import json
import os
import signal
import time
import unittest

import pytest

for _module in ('launch_testing', 'launch_ros', 'launch'):
    pytest.importorskip(_module, reason=f'{_module} is not installed (it comes with ROS 2)')

from clip_grounding_ros.nodes.common import STATUS_QOS  # noqa: E402, I100
from launch import LaunchDescription  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from launch.substitutions import PathJoinSubstitution  # noqa: E402
from launch_ros.substitutions import FindPackageShare  # noqa: E402
import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
import rclpy  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from std_msgs.msg import String  # noqa: E402

COMMAND = 'go to the blue box'
TIMEOUT = 120.0  # wall-clock seconds: model loading plus about 15 simulated seconds of driving


@pytest.mark.launch_test
def generate_test_description():
    # Keep this test's DDS traffic on this machine unless the caller chose otherwise.
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    demo = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution(
            [FindPackageShare('clip_grounding_ros'), 'launch', 'sim_demo.launch.py'])),
        launch_arguments={'scene': 'boxes', 'command': COMMAND,
                          'realtime_factor': '2.0'}.items())
    return LaunchDescription([demo, launch_testing.actions.ReadyToTest()])


class TestReachesTheBlueBox(unittest.TestCase):
    """Active test: runs while the launched nodes are up."""

    @classmethod
    def setUpClass(cls):
        cls.context = rclpy.Context()
        rclpy.init(context=cls.context)
        cls.node = rclpy.create_node('launch_test_observer', context=cls.context)

    @classmethod
    def tearDownClass(cls):
        cls.node.destroy_node()
        cls.context.try_shutdown()

    def test_action_reports_reached_while_grounding_tracks_the_box(self):
        seen = {'action': [], 'grounding': []}
        for topic, key in (('action/status', 'action'), ('grounding/status', 'grounding')):
            self.node.create_subscription(
                String, topic, lambda msg, key=key: seen[key].append(json.loads(msg.data)),
                STATUS_QOS)
        executor = SingleThreadedExecutor(context=self.context)
        executor.add_node(self.node)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and \
                not any(s['state'] == 'reached' for s in seen['action']):
            executor.spin_once(timeout_sec=0.1)
        action_states = [s['state'] for s in seen['action']]
        self.assertIn('reached', action_states,
                      f"no 'reached' in {TIMEOUT:.0f} s; last action status "
                      f"{seen['action'][-1:]}, last grounding status {seen['grounding'][-1:]}")
        tracking = [s for s in seen['grounding'] if s['state'] == 'tracking']
        self.assertTrue(tracking, f"grounding never tracking: {seen['grounding'][-3:]}")
        self.assertEqual(tracking[-1]['command'], COMMAND)
        self.assertEqual(tracking[-1]['target'], 'blue box')


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    """After shutdown: every node exited cleanly on the SIGINT that launch sends."""

    def test_exit_codes(self, proc_info):
        launch_testing.asserts.assertExitCodes(
            proc_info, allowable_exit_codes=[launch_testing.asserts.EXIT_OK, -signal.SIGINT])
