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
The target memory in the odometry frame.

Prediction as the robot moves, expiry, association of new sightings, time going back and invalid
input.
"""

import math

from clip_grounding_ros.core.contract.parameters import parameter_specs
from clip_grounding_ros.core.world.frames import base_to_odom, odom_to_base
from clip_grounding_ros.core.world.memory import AssociationConfig, MemoryConfig, TargetMemory
import pytest

CONFIG = MemoryConfig(memory_max_age=3.0, memory_max_travel=1.5)
GATE = AssociationConfig(association_gate=0.5)


def remembered(target=(2.0, 0.0), pose=(0.0, 0.0, 0.0), stamp=10.0) -> TargetMemory:
    memory = TargetMemory(CONFIG, GATE)
    memory.observe(target, pose, stamp)
    return memory


def test_settings_have_descriptions_and_finite_ranges():
    for spec in parameter_specs(MemoryConfig) + parameter_specs(AssociationConfig):
        assert spec.description and math.isfinite(spec.minimum) and math.isfinite(spec.maximum)
        assert spec.minimum <= spec.default <= spec.maximum
    with pytest.raises(ValueError, match='association_gate 0.0 is outside'):
        AssociationConfig(association_gate=0.0)


def test_frame_changes_are_inverse():
    pose = (1.3, -0.4, 2.5)
    odom = base_to_odom((0.7, 0.2), pose)
    assert odom_to_base(odom, pose) == pytest.approx((0.7, 0.2), abs=1e-12)


def test_prediction_follows_the_robot_driving_and_turning():
    memory = remembered((2.0, 0.5), (1.0, 1.0, math.pi / 2), 10.0)  # target at (0.5, 3.0) in odom
    assert memory.predict((1.0, 1.0, math.pi / 2), 10.1) == pytest.approx((2.0, 0.5), abs=1e-6)
    # Drove 1 m along +y (its heading): the target is 1 m closer.
    assert memory.predict((1.0, 2.0, math.pi / 2), 10.5) == pytest.approx((1.0, 0.5), abs=1e-6)
    # Turned left by 90 degrees in place: the target, ahead and left, is now to the right.
    assert memory.predict((1.0, 2.0, math.pi), 10.7) == pytest.approx((0.5, -1.0), abs=1e-6)
    x, y = memory.predict((0.8, 2.1, -2.8), 10.9)  # any pose: the odom point is fixed
    assert base_to_odom((x, y), (0.8, 2.1, -2.8)) == pytest.approx((0.5, 3.0), abs=1e-6)
    assert memory.age(11.0) == pytest.approx(1.0)
    assert memory.travelled == pytest.approx(1.0 + math.hypot(0.2, 0.1))


def test_memory_expires_after_max_age():
    memory = remembered(stamp=10.0)
    assert memory.predict((0.0, 0.0, 0.0), 13.0) is not None
    assert memory.predict((0.0, 0.0, 0.0), 13.01) is None
    assert 'expired' in memory.reason and '3.01 s' in memory.reason
    assert memory.age(13.5) is None
    # Still empty later: an expired sighting does not come back.
    assert memory.predict((0.0, 0.0, 0.0), 13.6) is None


def test_memory_expires_after_max_travel_along_the_way():
    memory = remembered(stamp=10.0)
    for step in range(1, 7):  # 0.25 m per call: 1.5 m in all, the limit
        assert memory.predict((0.25 * step, 0.0, 0.0), 10.0 + 0.1 * step) is not None
    assert memory.predict((1.5, 0.01, 0.0), 10.7) is None
    assert 'travelled 1.51 m' in memory.reason
    # Back and forth counts too: the way, not the displacement.
    shuttle = remembered(stamp=10.0)
    for step in range(9):  # 1.6 m of way, never more than 0.2 m away
        pose = (0.2 * (step % 2), 0.0, 0.0)
        result = shuttle.predict(pose, 10.0 + 0.1 * step)
    assert result is None and shuttle.travelled == 0.0


def test_odometry_jump_expires_the_memory():
    memory = remembered(stamp=10.0)
    memory.predict((0.1, 0.0, 0.0), 10.1)
    assert memory.predict((-4.0, 7.0, 0.0), 10.2) is None  # an odometry reset


def test_a_new_sighting_renews_age_and_travel():
    memory = remembered(stamp=10.0)
    memory.predict((1.0, 0.0, 0.0), 12.0)
    memory.observe((1.1, 0.05), (1.0, 0.0, 0.0), 12.5)
    assert memory.travelled == 0.0 and memory.reason == ''
    assert memory.predict((1.0, 0.0, 0.0), 15.0) == pytest.approx((1.1, 0.05), abs=1e-6)
    # The image is older than the control clock: that is normal, not time going back.
    memory.observe((1.0, 0.0), (1.1, 0.0, 0.0), 14.8)
    assert memory.predict((1.1, 0.0, 0.0), 15.1) == pytest.approx((1.0, 0.0), abs=1e-6)


def test_sightings_near_the_remembered_target_are_the_same_object():
    memory = remembered((2.0, 0.0), (0.0, 0.0, 0.0), 10.0)
    # After driving 1 m and turning, the same object, measured a little off.
    pose = (1.0, 0.0, 0.3)
    seen = odom_to_base((2.1, 0.2), pose)
    match = memory.match(seen, pose, 10.5)
    assert match.accepted and match.distance == pytest.approx(math.hypot(0.1, 0.2))
    assert 'the same object' in match.reason
    # A neighbour 1 m to the side is another object: refused, and the memory is kept.
    neighbour = odom_to_base((2.0, 1.0), pose)
    refused = memory.match(neighbour, pose, 10.5)
    assert not refused.accepted and refused.distance == pytest.approx(1.0)
    assert 'another object' in refused.reason and '(gate 0.50 m)' in refused.reason
    assert memory.target_odom == pytest.approx((2.0, 0.0))


def test_anything_is_accepted_when_nothing_is_remembered():
    empty = TargetMemory(CONFIG, GATE)
    match = empty.match((5.0, 5.0), (0.0, 0.0, 0.0), 1.0)
    assert match.accepted and match.distance is None and 'no target seen yet' in match.reason
    stale = remembered(stamp=10.0)
    late = stale.match((5.0, 5.0), (0.0, 0.0, 0.0), 13.5)  # 3.5 s after the last sighting
    assert late.accepted and 'expired' in late.reason


def test_reset_forgets_the_target():
    memory = remembered()
    memory.reset()
    assert memory.predict((0.0, 0.0, 0.0), 10.5) is None and memory.reason == 'memory reset'
    assert memory.match((9.0, 9.0), (0.0, 0.0, 0.0), 10.5).accepted


def test_time_going_back_clears_the_memory():
    # The control clock jumps back (a simulation reset).
    memory = remembered(stamp=10.0)
    assert memory.predict((0.0, 0.0, 0.0), 10.5) is not None
    assert memory.predict((0.0, 0.0, 0.0), 10.2) is None
    assert 'time went back' in memory.reason
    # After the jump the new clock is used: a sighting on it is remembered.
    memory.observe((1.0, 0.0), (0.0, 0.0, 0.0), 10.3)
    assert memory.predict((0.0, 0.0, 0.0), 10.4) == pytest.approx((1.0, 0.0))
    # Now earlier than the remembered sighting (a bag loop that restarted).
    looped = remembered(stamp=10.0)
    assert looped.age(9.0) is None and 'time went back' in looped.reason
    # A sighting stamped before the last one: undatable, the old one is dropped.
    back = remembered((2.0, 0.0), stamp=10.0)
    assert back.predict((0.0, 0.0, 0.0), 10.5) is not None
    match = back.match((5.0, 5.0), (0.0, 0.0, 0.0), 2.0)
    assert match.accepted and 'time went back' in match.reason
    back.observe((5.0, 5.0), (0.0, 0.0, 0.0), 2.0)
    assert back.predict((0.0, 0.0, 0.0), 2.1) == pytest.approx((5.0, 5.0))


@pytest.mark.parametrize('bad', [math.nan, math.inf, -math.inf])
def test_non_finite_input_is_refused_and_never_stored(bad):
    memory = TargetMemory(CONFIG, GATE)
    with pytest.raises(ValueError, match='target_base must be finite'):
        memory.observe((bad, 0.0), (0.0, 0.0, 0.0), 1.0)
    with pytest.raises(ValueError, match='robot_pose_odom must be finite'):
        memory.observe((1.0, 0.0), (0.0, 0.0, bad), 1.0)
    with pytest.raises(ValueError, match='stamp must be finite'):
        memory.observe((1.0, 0.0), (0.0, 0.0, 0.0), bad)
    assert memory.target_odom is None and memory.stamp is None
    kept = remembered(stamp=10.0)
    with pytest.raises(ValueError, match='now must be finite'):
        kept.predict((0.0, 0.0, 0.0), bad)
    with pytest.raises(ValueError, match='robot_pose_odom must be finite'):
        kept.predict((bad, 0.0, 0.0), 10.1)
    with pytest.raises(ValueError, match='target_base must be finite'):
        kept.match((0.0, bad), (0.0, 0.0, 0.0), 10.1)
    with pytest.raises(ValueError, match='now must be finite'):
        kept.age(bad)
    assert kept.predict((0.0, 0.0, 0.0), 10.2) == pytest.approx((2.0, 0.0))
    assert kept.travelled == 0.0


def test_wrong_sizes_are_refused():
    with pytest.raises(ValueError, match='robot_pose_odom must have 3 values'):
        TargetMemory(CONFIG, GATE).observe((1.0, 0.0), (0.0, 0.0), 1.0)
