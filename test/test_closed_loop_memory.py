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
Closed-loop episodes of the object memory and of coming back (simulator, three node processes).

Judged from the simulator's ground truth: a return ends within judge.RETURN_TOLERANCE of
where the command was given; going back to a remembered object behind the robot turns to
it and drives there without a search.
"""

from clip_grounding_ros.demo.episode import EpisodeSpec, run_episode
import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize('command, then', [
    ('go to the blue box and come back', ()),             # within one command
    ('go to the red box, then return to the start', ()),  # the first command's place
    ('go to the green box', ('come back',)),              # said next: the command before's
])
def test_the_robot_comes_back_to_where_the_command_was_given(command, then, tmp_path):
    result = run_episode(EpisodeSpec(scene='boxes', command=command, then=then,
                                     realtime_factor=1.0, timeout=60.0, log_dir=str(tmp_path)))
    assert result.success, result.summary()
    returned = result.steps[-1]
    assert returned.intent == 'return' and returned.achieved <= 0.15, result.summary()
    assert result.touched == [] and result.robot_stopped


def test_going_back_to_an_object_seen_before_turns_to_it_without_a_search(tmp_path):
    """The blue box, seen ahead, is behind after the turn: the robot goes straight to it."""
    result = run_episode(EpisodeSpec(
        scene='boxes', command='find the blue box',
        then=('turn around', 'where did you see the blue box?', 'go back to the blue box'),
        realtime_factor=1.0, timeout=60.0, log_dir=str(tmp_path)))
    assert result.success, result.summary()
    find, turn, question, back = result.commands
    assert "I saw a 'blue box'" in question.reason and 'behind' in question.reason
    assert question.action_states == ['idle']  # answered without moving
    assert back.steps[0].reached == 'blue_box'
    assert 'searching' not in back.action_states, back.summary()
    assert result.touched == [] and result.robot_stopped
