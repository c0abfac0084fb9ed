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

"""Pairing messages of two topics by stamp (core.contract.timing.StampedHistory)."""

from clip_grounding_ros.core.contract.timing import StampedHistory


def test_the_message_stamped_nearest_is_paired_not_the_newest():
    history = StampedHistory(size=3)
    assert history.nearest(1.0) is None
    for stamp in (50.0, 51.0, 52.0):
        history.add(stamp, f'info {stamp:.0f}')
    assert history.nearest(51.02) == 'info 51'
    assert history.nearest(49.0) == 'info 50'
    assert history.nearest(60.0) == 'info 52'
    assert history.nearest(51.5) == 'info 52'  # a tie: the newer


def test_the_history_is_bounded_and_forgets_all_when_stamps_go_back():
    history = StampedHistory(size=2)
    for stamp in (1.0, 2.0, 3.0):
        history.add(stamp, stamp)
    assert history.nearest(0.0) == 2.0  # 1.0 fell out
    history.add(0.5, 0.5)  # the clock went back (a bag looped, a simulation reset)
    assert history.nearest(3.0) == 0.5
