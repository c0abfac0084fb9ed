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
Closed-loop episodes of the object memory, coming back and following (simulator, node processes).

Judged from the simulator's ground truth: a return ends within judge.RETURN_TOLERANCE of
where the command was given; going back to a remembered object behind the robot turns to
it and drives there without a search; a grounding_node killed and started again still
knows what it saw; a follow keeps follow_distance from a moving ball.
"""

import math
from pathlib import Path

from clip_grounding_ros.core.motion.config import MotionConfig
from clip_grounding_ros.demo.episode import EpisodeSpec, run_episode
import pytest

pytestmark = pytest.mark.slow
SCENES = Path(__file__).parent / 'scenes'


def test_the_robot_comes_back_to_where_each_command_was_given(tmp_path):
    """
    Each way of coming back ends where it should.

    ', then come back' returns within a command; 'come back' said next to where the command
    before was given; 'return to the start' to where the first was.
    """
    result = run_episode(EpisodeSpec(
        scene='boxes', command='go to the red box',
        then=('turn around, move forward 1 meter, then come back', 'go to the blue box',
              'come back', 'return to the start'),
        realtime_factor=1.0, timeout=60.0, log_dir=str(tmp_path)))
    assert result.success, result.summary()
    returns = [step for step in result.steps if step.intent == 'return']
    assert len(returns) == 3 and all(step.achieved <= 0.15 for step in returns)
    assert math.dist(result.final_pose[:2], result.start_pose[:2]) <= 0.15
    assert result.touched == [] and result.robot_stopped


def test_going_back_to_an_object_seen_before_and_behind_after_a_restart(tmp_path):
    """
    The blue box, seen ahead, is behind after the turn: the robot goes straight to it.

    grounding_node is killed (SIGKILL: nothing saved at shutdown) and started again after the
    blue box was seen: it loads the memory it saved every few seconds.
    """
    result = run_episode(EpisodeSpec(
        scene='boxes', command='find the blue box',
        then=('turn around', 'where did you see the blue box?', 'go back to the blue box'),
        respawn_before=1, realtime_factor=1.0, timeout=60.0, log_dir=str(tmp_path)))
    assert result.success, result.summary()
    assert 'object memory loaded from' in (tmp_path / 'grounding_node.log').read_text()
    find, turn, question, back = result.commands
    assert "I saw a 'blue box'" in question.reason and 'behind' in question.reason
    assert question.action_states == ['idle']  # answered without moving
    assert back.steps[0].reached == 'blue_box'
    assert 'searching' not in back.action_states, back.summary()
    assert result.touched == [] and result.robot_stopped


def test_following_a_moving_ball_keeps_follow_distance_without_contact(tmp_path):
    """The ball rolls round a square for 30 s (test/scenes/moving_ball.yaml) until 'stop'."""
    moving_from, stop_at = 4.0, 40.0  # the ball's start_after; the stop after 30 s behind it
    result = run_episode(EpisodeSpec(
        scene=str(SCENES / 'moving_ball.yaml'), command='follow the red ball',
        then=('stop',), at=(stop_at,), realtime_factor=1.0, timeout=60.0,
        log_dir=str(tmp_path)))
    assert result.touched == [] and result.robot_stopped, result.summary()
    follow, stop = result.commands
    assert 'reached' not in follow.action_states and 'searching' not in follow.action_states
    # Ended by the stop, as a follow ends: judged where the ball was then.
    assert follow.success and follow.steps[0].reached == 'red_ball', result.summary()
    assert stop.success
    start = result.truths[0].time
    # The base origin to the ball's near surface: what follow_distance keeps (a target is
    # the surface the camera sees).
    gaps = [math.dist(truth.robot[:2], truth.positions['red_ball']) - 0.15
            for truth in result.truths
            if start + moving_from + 6.0 <= truth.time <= start + stop_at]
    assert len(gaps) > 20
    assert abs(sum(gaps) / len(gaps) - MotionConfig.follow_distance) <= 0.2, gaps
    # The verdict measured the ball where it was at the stop, not where it was earlier.
    assert abs(follow.steps[0].distance - gaps[-1]) <= 0.3, (follow.steps[0].reason, gaps[-5:])
