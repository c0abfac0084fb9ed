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
The grounding_node's logic without ROS (core.perception.pipeline).

Which object a step means, how it is followed, and tracking between groundings.

The groundings are made by hand (boxes where objects at known floor positions appear in an
ideal camera) and applied with Perception.apply, so the rules are checked exactly, whatever
the model weights.
"""

import math

from clip_grounding_ros.core.language.steps import EXAMPLES
from clip_grounding_ros.core.perception.choice import EvidenceConfig
from clip_grounding_ros.core.perception.grounding import Candidate, Grounder, GroundingResult
from clip_grounding_ros.core.perception.pipeline import (
    Frame,
    FrameGrounding,
    Perception,
    PerceptionConfig,
)
from clip_grounding_ros.core.world.camera import CameraMount, Intrinsics
import cv2
import numpy as np
import pytest

INTRINSICS = Intrinsics.from_fov(320, 240, 60.0)
MOUNT = PerceptionConfig().mount


def box_at(x: float, y: float, mount: CameraMount = MOUNT, half_width: float = 12.0,
           height: float = 24.0) -> tuple[float, float, float, float]:
    """
    Return the box of an object standing at the floor point (x, y).

    The box whose bottom edge centre is where the floor point (x, y) (base frame, m)
    appears in the ideal camera: what grounding returns for an object standing there.
    """
    optical = mount.rotation().T @ (np.array([x, y, 0.0]) - mount.origin())
    u = INTRINSICS.fx * optical[0] / optical[2] + INTRINSICS.cx + 0.5
    v = INTRINSICS.fy * optical[1] / optical[2] + INTRINSICS.cy + 0.5
    return (u - half_width, v - height, u + half_width, v)


def result(phrase: str, *candidates: tuple[tuple, float]) -> GroundingResult:
    ordered = sorted((Candidate(box, score) for box, score in candidates),
                     key=lambda c: -c.score)
    return GroundingResult(phrase, 'crops', bool(ordered) and ordered[0].score >= 0.5,
                           ordered, 0.5, (320, 240))


def frame(stamp: float, pose=None, rgb=None) -> Frame:
    rgb = np.zeros((240, 320, 3), np.uint8) if rgb is None else rgb
    return Frame(rgb, stamp, 'camera', INTRINSICS, pose=pose)


@pytest.fixture
def perception(tiny_encoder):
    """Perception that commits at the first match: the rules of choosing, one frame each."""
    return Perception(Grounder(tiny_encoder), evidence=EvidenceConfig(commit_groundings=1))


def command(perception, text: str, now: float = 0.0):
    assert perception.on_command(text, now) is not None, perception.session.message
    return perception.session.command_id


def test_several_matches_without_a_relation_take_the_nearest_and_say_so(perception):
    command_id = command(perception, 'go to the red box')
    near, far = box_at(1.5, -0.4), box_at(3.0, 0.5)
    update = perception.apply(frame(1.0), FrameGrounding(command_id, 0, result(
        'red box', (far, 0.9), (near, 0.7))), 1.0)
    status = update.status
    assert update.target.x == pytest.approx(1.5, abs=0.02)
    assert status.box == [round(v, 1) for v in near] and status.score == 0.7
    assert '2 matches' in status.choice and 'nearest' in status.choice
    assert "say 'the one on the left' to choose" in status.choice


def test_the_one_on_the_left_is_chosen_even_when_another_scores_higher(perception):
    command_id = command(perception, 'go to the red box on the left')
    left, right = box_at(2.0, 0.6), box_at(1.5, -0.3)
    update = perception.apply(frame(1.0), FrameGrounding(command_id, 0, result(
        'red box', (right, 0.95), (left, 0.6))), 1.0)
    assert update.target.y == pytest.approx(0.6, abs=0.02)
    assert 'left' in update.status.choice


def test_the_choice_is_kept_as_the_robot_turns_instead_of_re_evaluating_left(perception):
    """
    The choice is kept as the robot turns, instead of re-evaluating 'left'.

    After turning left 0.6 rad toward the chosen box, the other box is now further left
    in the image: "the one on the left" would pick it, the association keeps the first.
    """
    command_id = command(perception, 'go to the red box on the left')
    a, b = (2.0, 0.6), (2.5, 1.6)  # odom positions; robot at the origin, facing +x
    pose0, pose1 = (0.0, 0.0, 0.0), (0.0, 0.0, 0.6)

    def seen(point, pose):  # base-frame position of an odom point from a pose
        dx, dy = point[0] - pose[0], point[1] - pose[1]
        c, s = math.cos(pose[2]), math.sin(pose[2])
        return c * dx + s * dy, -s * dx + c * dy

    first = perception.apply(frame(1.0, pose0), FrameGrounding(command_id, 0, result(
        'red box', (box_at(*seen(a, pose0)), 0.9))), 1.0)
    assert first.target.y == pytest.approx(0.6, abs=0.02)
    second = perception.apply(frame(1.5, pose1), FrameGrounding(command_id, 0, result(
        'red box', (box_at(*seen(a, pose1)), 0.8), (box_at(*seen(b, pose1)), 0.9))), 1.5)
    assert (second.target.x, second.target.y) == pytest.approx(seen(a, pose1), abs=0.03)


def test_a_neighbour_is_not_taken_for_the_chosen_object_when_it_is_out_of_view(perception):
    command_id = command(perception, 'go to the blue box')
    perception.apply(frame(1.0, (0.0, 0.0, 0.0)), FrameGrounding(command_id, 0, result(
        'blue box', (box_at(2.0, 0.0), 0.9))), 1.0)
    update = perception.apply(frame(1.2, (0.0, 0.0, 0.0)), FrameGrounding(command_id, 0, result(
        'blue box', (box_at(2.0, 1.2), 0.8))), 1.2)  # only a neighbour 1.2 m to the side
    assert update.target is None and update.status.found is False
    assert "the chosen 'blue box' is not in view" in update.status.message
    assert update.status.state == 'tracking'  # a brief miss, within lost_timeout


@pytest.mark.parametrize('text, taken', [('go to the blue box', True),
                                         ('go to the blue box on the left', False)])
def test_once_lost_the_next_match_is_chosen_afresh_unless_a_relation_chose(perception, text,
                                                                           taken):
    """A first sighting placed wrongly (e.g. on an occluder's depth) must not lock the step."""
    command_id = command(perception, text)
    pose = (0.0, 0.0, 0.0)
    perception.apply(frame(1.0, pose), FrameGrounding(command_id, 0, result(
        'blue box', (box_at(2.0, 0.0), 0.9))), 1.0)
    nothing = perception.apply(frame(3.5, pose), FrameGrounding(command_id, 0, result('blue box')),
                               3.5)
    assert nothing.status.state == 'lost'
    update = perception.apply(frame(4.0, pose), FrameGrounding(command_id, 0, result(
        'blue box', (box_at(3.0, 0.8), 0.8))), 4.0)  # 1.1 m from where it was remembered
    assert (update.target is not None) is taken
    if taken:
        assert update.target.y == pytest.approx(0.8, abs=0.02)
        assert update.status.choice.startswith('chosen again after it was lost')
    else:
        assert "the chosen 'blue box' is not in view" in update.status.message


def test_once_lost_a_relation_to_another_object_is_resolved_again(perception):
    """
    A relation to another object is resolved again once the chosen object is lost.

    Seen in the simulator ("go to the box behind the yellow box"): the first grounding, on a
    frame before the first depth image and odometry, placed the blue box on the floor plane
    at 4.0 m; every later grounding, with depth, put it at 3.1 m, beyond the association gate,
    so the step searched a full turn and failed.
    """
    command_id = command(perception, 'go to the box behind the yellow box')
    pose = (0.0, 0.0, 0.0)
    yellow = result('yellow box', (box_at(1.5, 0.0), 0.95))

    def ground(stamp, distance):
        boxes = result('box', (box_at(1.5, 0.0), 0.95), (box_at(distance, 0.0, height=10.0), 0.9))
        return perception.apply(frame(stamp, pose), FrameGrounding(command_id, 0, boxes, yellow),
                                stamp)
    assert ground(1.0, 4.0).target.x == pytest.approx(4.0, abs=0.05)  # placed too far
    missed = ground(3.5, 3.1)  # 0.9 m from where it was remembered: not associated
    assert missed.target is None and missed.status.state == 'lost'
    update = ground(4.0, 3.1)
    assert update.target.x == pytest.approx(3.1, abs=0.05)
    assert update.status.choice.startswith('chosen again after it was lost: ')
    assert 'behind the yellow box' in update.status.choice


def test_a_relation_to_a_reference_object_grounds_both_phrases(perception):
    command_id = command(perception, 'go to the box next to the red ball')
    ball = box_at(2.0, -0.8)
    boxes = result('box', (box_at(2.1, 0.9), 0.9), (box_at(2.0, -0.4), 0.7))
    update = perception.apply(frame(1.0), FrameGrounding(
        command_id, 0, boxes, result('red ball', (ball, 0.9))), 1.0)
    assert update.target.y == pytest.approx(-0.4, abs=0.02)
    assert 'next to' in update.status.choice


def test_a_relation_whose_reference_is_not_in_view_is_not_found_and_says_why(perception):
    command_id = command(perception, 'go to the box next to the red ball')
    update = perception.apply(frame(1.0), FrameGrounding(command_id, 0, result(
        'box', (box_at(2.0, 0.0), 0.9)), result('red ball')), 1.0)
    assert update.target is None and "no 'red ball' in view" in update.status.message


def test_a_grounding_for_an_earlier_command_is_dropped(perception):
    old = command(perception, 'go to the blue box')
    command(perception, 'go to the red box')
    assert perception.apply(frame(1.0), FrameGrounding(old, 0, result(
        'blue box', (box_at(2.0, 0.0), 0.9))), 1.0) is None


def _textured(shift: int = 0) -> np.ndarray:
    """Make a frame with a textured square (so the tracker has points), moved ``shift`` px."""
    rgb = np.full((240, 320, 3), 90, np.uint8)
    rng = np.random.default_rng(3)
    patch = cv2.resize(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8), (40, 40),
                       interpolation=cv2.INTER_NEAREST)
    x, y = 140 + shift, 150
    rgb[y:y + 40, x:x + 40] = patch
    return rgb


def test_the_tracker_follows_the_chosen_box_between_groundings(perception):
    command_id = command(perception, 'go to the blue box')
    grounded = perception.apply(frame(1.0, rgb=_textured()), FrameGrounding(command_id, 0, result(
        'blue box', ((140, 150, 180, 190), 0.9))), 1.0)
    assert grounded.status.target_source == 'grounded'
    tracked = perception.track(frame(1.1, rgb=_textured(shift=4)), 1.1)
    assert tracked is not None and tracked.status.target_source == 'tracked'
    assert tracked.status.grounding_age == pytest.approx(0.1, abs=1e-6)
    assert tracked.target.y < grounded.target.y  # moved right in the image: +y is left
    assert perception.track(frame(1.2, rgb=np.full((240, 320, 3), 90, np.uint8)), 1.2) is None
    assert not perception.tracker.active  # a uniform frame: the track is dropped
    missed = perception.apply(frame(1.3, rgb=_textured()), FrameGrounding(command_id, 0, result(
        'blue box')), 1.3)
    assert not missed.status.found and missed.status.target_source is None  # no target at all


def test_target_stamps_never_go_backwards_between_the_tracker_and_groundings(perception):
    """
    A grounding of a frame older than one already tracked updates the status, gives no target.

    The tracker follows the chosen box onto every new frame while CLIP grounds an older one:
    grounding/target takes only targets newer than the last it took; time going back restarts.
    """
    command_id = command(perception, 'go to the blue box')
    box = ((140, 150, 180, 190), 0.9)

    def grounded(stamp: float):
        return perception.apply(frame(stamp, rgb=_textured()),
                                FrameGrounding(command_id, 0, result('blue box', box)), stamp)

    def tracked(stamp: float, shift: int):
        return perception.track(frame(stamp, rgb=_textured(shift)), stamp)

    given = [(1.0, grounded(1.0)), (1.1, tracked(1.1, 2)), (1.2, tracked(1.2, 4))]
    late = grounded(1.15)  # CLIP's answer for a frame the tracker has moved past
    assert late.target is None
    assert late.status.found and late.status.target_source == 'grounded'
    given += [(1.3, tracked(1.3, 2)), (1.4, grounded(1.4))]
    assert all(update is not None and update.target is not None for _, update in given)
    perception.check_clock(1.4)
    assert perception.check_clock(0.5)  # ROS time went back (a replayed bag restarts)
    assert grounded(0.6).target is not None


def test_the_last_step_reached_ends_the_command_idle_and_stops_grounding(perception):
    from clip_grounding_ros.core.contract.protocol import StepOutcome
    from clip_grounding_ros.core.contract.status import ActionState, ActionStatus

    command_id = command(perception, 'go to the blue box')
    perception.apply(frame(1.0), FrameGrounding(command_id, 0, result(
        'blue box', (box_at(2.0, 0.0), 0.9))), 1.0)
    assert not perception.on_step_outcome(ActionStatus(  # another run's command 1
        state=ActionState.REACHED, reason='target reached', run_id='restarted',
        command_id=command_id, outcome=StepOutcome.DONE), 2.0)
    assert not perception.on_step_outcome(ActionStatus(  # the state alone says nothing
        state=ActionState.REACHED, reason='target reached', run_id=perception.run_id,
        command_id=command_id), 2.0)
    assert perception.on_step_outcome(ActionStatus(
        state=ActionState.REACHED, reason='target reached', run_id=perception.run_id,
        command_id=command_id, outcome=StepOutcome.DONE), 2.0)
    status = perception.status()
    assert (status.state, status.message) == ('idle', 'done: target reached')
    assert not perception.wants_frames
    # A grounding still in flight when the command ended answers nothing any more.
    assert perception.apply(frame(2.1), FrameGrounding(command_id, 0, result(
        'blue box', (box_at(1.0, 0.0), 0.9))), 2.1) is None
    assert perception.status().state == 'idle'
    assert not perception.on_step_outcome(ActionStatus(  # an old step's news changes nothing
        state=ActionState.FAILED, reason='late', run_id=perception.run_id,
        command_id=command_id, outcome=StepOutcome.FAILED), 2.5)


@pytest.mark.parametrize('text, word', [('go to the piano', 'piano'),
                                        ('classify: a cat, a dog', 'cat'),
                                        ('go to the red box, then the green sofa', 'sofa'),
                                        ('go to the box next to the piano', 'piano')])
def test_words_a_closed_vocabulary_model_cannot_read_refuse_the_whole_command(text, word):
    from clip_grounding_ros.core.perception.model import load_encoder
    from clip_grounding_ros.resources import BUNDLED_MODEL_URI, resolve_model

    perception = Perception(Grounder(load_encoder(resolve_model(BUNDLED_MODEL_URI),
                                                  device='cpu', backend='torch')))
    assert perception.on_command(text, 0.0) is None
    assert perception.session.state.value == 'error'
    assert f"does not know '{word}'" in perception.session.message


@pytest.mark.parametrize('example', [*EXAMPLES, 'find the red ball, then pick it up'])
def test_every_example_a_refusal_suggests_works_with_the_bundled_model(example):
    from clip_grounding_ros.core.perception.model import load_encoder
    from clip_grounding_ros.resources import BUNDLED_MODEL_URI, resolve_model

    perception = Perception(Grounder(load_encoder(resolve_model(BUNDLED_MODEL_URI),
                                                  device='cpu', backend='torch')))
    assert perception.on_command(example, 0.0) is not None, perception.session.message


# -- what was said before: corrections and repetitions ------------------------------------

def test_no_the_other_one_chooses_the_other_of_the_same_matches(perception):
    """After 'go to the red box' chose the nearer box, 'no, the other one' takes the farther."""
    near, far = (1.5, -0.4), (3.0, 0.5)
    pose = (0.0, 0.0, 0.0)
    command_id = command(perception, 'go to the red box', 0.0)
    first = perception.apply(frame(1.0, pose), FrameGrounding(command_id, 0, result(
        'red box', (box_at(*far), 0.9), (box_at(*near), 0.7))), 1.0)
    assert first.target.x == pytest.approx(near[0], abs=0.02)
    command_id = command(perception, 'no, the other one', 2.0)
    assert perception.session.step.describe() == 'go to the other red box'
    second = perception.apply(frame(3.0, pose), FrameGrounding(command_id, 0, result(
        'red box', (box_at(*far), 0.9), (box_at(*near), 0.7))), 3.0)
    assert (second.target.x, second.target.y) == pytest.approx(far, abs=0.03)
    # The rejected one stays rejected as the robot drives: the choice follows the other.
    moved = (1.0, 0.2, 0.2)
    dx, dy = far[0] - moved[0], far[1] - moved[1]
    seen = (math.cos(moved[2]) * dx + math.sin(moved[2]) * dy,
            -math.sin(moved[2]) * dx + math.cos(moved[2]) * dy)
    third = perception.apply(frame(4.0, moved), FrameGrounding(command_id, 0, result(
        'red box', (box_at(*seen), 0.9))), 4.0)
    assert (third.target.x, third.target.y) == pytest.approx(seen, abs=0.03)


def test_when_only_the_rejected_object_is_in_view_it_is_not_taken(perception):
    command_id = command(perception, 'go to the red box', 0.0)
    perception.apply(frame(1.0, (0.0, 0.0, 0.0)), FrameGrounding(command_id, 0, result(
        'red box', (box_at(2.0, 0.3), 0.9))), 1.0)
    command_id = command(perception, 'not that one', 2.0)
    update = perception.apply(frame(3.0, (0.0, 0.0, 0.0)), FrameGrounding(command_id, 0, result(
        'red box', (box_at(2.0, 0.3), 0.9))), 3.0)
    assert update.target is None and not update.status.found
    assert 'only' in update.status.message and 'chosen before' in update.status.message
    # Turned away, nothing matches: the failure says what was seen, not only the best score.
    gone = perception.apply(frame(4.0, (0.0, 0.0, 3.0)), FrameGrounding(command_id, 0, result(
        'red box', (box_at(2.0, 0.3), 0.2))), 4.0)
    assert "no other 'red box' than the one chosen before seen yet" in gone.status.message


def test_again_repeats_the_last_command_and_a_time_jump_forgets_it(perception):
    command(perception, 'turn left 45 degrees', 0.0)
    command(perception, 'again', 1.0)
    assert perception.session.step.angle == pytest.approx(math.pi / 4)
    assert perception.session.command.text == 'again'
    perception.check_clock(5.0)
    assert 'forgotten' in perception.check_clock(1.0)  # ROS time went back
    assert perception.on_command('again', 2.0) is None
    assert 'nothing to repeat' in perception.session.message


def test_frames_taken_in_before_the_first_clock_are_not_taken_for_a_camera_gap(perception):
    """
    Sim time: frames arrive while ROS time is still 0, then /clock jumps it to 7 s.

    Measured in the demo (8 of 20 default runs): 'no camera frames on grounding/image for
    7.1 s' right after the command, though frames had come all along, dated 0.
    """
    perception.check_clock(0.0)
    perception.note_frame(6.9, 0.0)           # a frame, ROS time not started yet
    command(perception, 'go to the blue box', 0.0)
    perception.check_clock(7.1)               # the first /clock
    assert perception.check_frames(7.1), perception.session.message
    assert not perception.check_frames(9.2)  # no frame since: image_timeout (2 s) passed


def test_small_amounts_follow_the_parameters(tiny_encoder):
    from clip_grounding_ros.core.language.dialogue import DialogueConfig
    from clip_grounding_ros.core.language.steps import SpokenAmounts
    from clip_grounding_ros.core.perception.tracking import TrackerConfig
    from clip_grounding_ros.core.world.memory import AssociationConfig

    perception = Perception(Grounder(tiny_encoder), PerceptionConfig(), TrackerConfig(),
                            AssociationConfig(), SpokenAmounts(small_move=0.1,
                                                               small_turn_deg=5.0),
                            DialogueConfig())
    command(perception, 'move forward a bit')
    assert perception.session.step.distance == pytest.approx(0.1)
    command(perception, 'turn right a little')
    assert perception.session.step.angle == pytest.approx(-math.radians(5.0))


# -- the start of a step: inputs on separate topics arrive at their own pace ----------------

def test_a_frame_without_its_inputs_waits_while_the_step_starts_then_is_an_error(perception):
    """For image_timeout after a step begins, a frame lacking an input is not grounded."""
    command(perception, 'go to the blue box', 0.0)
    bare = Frame(np.zeros((240, 320, 3), np.uint8), 0.5, 'camera')  # no camera_info yet
    update = perception.process(bare, 0.5)
    assert update.status.state == 'searching' and update.target is None
    assert update.status.message == ('waiting for the inputs of a frame: no camera_info '
                                     'received on grounding/camera_info')
    late = Frame(np.zeros((240, 320, 3), np.uint8), 1.0, 'camera', INTRINSICS,
                 intrinsics_stamp=0.2, missing=("no odometry at the frame's stamp",))
    message = perception.process(late, 1.0).status.message
    assert message == ('waiting for the inputs of a frame: no camera_info within 0.50 s of the '
                       "frame (the nearest is 0.80 s from it); no odometry at the frame's "
                       'stamp')
    after = perception.process(bare, 2.5)  # image_timeout (2 s) later: an error, as ever
    assert after.status.state == 'error' and 'no camera_info received' in after.status.message


def test_warm_up_builds_the_parser_and_runs_the_model_before_any_command(perception):
    from clip_grounding_ros.core.language import commands

    commands._parser.cache_clear()
    perception.warm_up()
    assert commands._parser.cache_info().currsize == 1
    assert perception.session.command is None and perception.status().state == 'idle'


# -- evidence before commitment ----------------------------------------------------------

@pytest.fixture
def cautious(tiny_encoder):
    """Perception with the default evidence: 3 groundings at one place, mean score 0.6."""
    return Perception(Grounder(tiny_encoder))


def ground_in_turn(perception, command_id, phrase, frames):
    """Apply hand-made groundings, one per 0.2 s: [(stamp offset, candidates...), ...]."""
    return [perception.apply(frame(1.0 + 0.2 * k), FrameGrounding(command_id, 0, result(
        phrase, *candidates)), 1.0 + 0.2 * k) for k, candidates in enumerate(frames)]


def test_a_score_flickering_around_the_threshold_is_never_committed_to(cautious):
    """The measured case: 0.33, 0.61, 0.28, 0.73, ... for a red box said to be a purple crate."""
    command_id = command(cautious, 'go to the purple crate')
    red_box = box_at(2.5, 0.2)
    updates = ground_in_turn(cautious, command_id, 'purple crate', [
        [(red_box, score)] for score in (0.33, 0.61, 0.28, 0.73, 0.65, 0.48, 0.29, 0.57)])
    assert all(u.target is None and not u.status.found for u in updates)
    assert 'waiting for agreeing groundings' in updates[-1].status.message
    assert cautious.status().choice_id == 0


def test_agreeing_groundings_commit_at_the_third_and_the_choice_gets_an_id(cautious):
    command_id = command(cautious, 'go to the blue box')
    blue = box_at(2.0, -0.3)
    first, second, third = ground_in_turn(cautious, command_id, 'blue box',
                                          [[(blue, 0.95)]] * 3)
    assert first.target is None and second.target is None
    assert 'matched 2 of the 3 times in a row needed at one place, mean score 0.95' in \
        second.status.message
    assert third.target.x == pytest.approx(2.0, abs=0.02) and third.status.found
    assert third.status.choice_id == 1


def test_evidence_older_than_the_window_does_not_count(cautious):
    command_id = command(cautious, 'go to the blue box')
    blue = box_at(2.0, -0.3)
    for stamp in (1.0, 3.0, 5.0):  # 2 s apart: only two within any 3 s window
        update = cautious.apply(frame(stamp), FrameGrounding(command_id, 0, result(
            'blue box', (blue, 0.95))), stamp)
    assert update.target is None and 'matched 2 of the 3' in update.status.message


def test_a_steady_object_is_chosen_over_a_flickering_better_scored_one(cautious):
    """The nearer box flickers (0.9, 0.2, 0.9, 0.2); the farther scores 0.8 every time."""
    command_id = command(cautious, 'go to the red box')
    near, far = box_at(1.5, 0.4), box_at(3.0, -0.5)
    updates = ground_in_turn(cautious, command_id, 'red box', [
        [(near, 0.9), (far, 0.8)], [(far, 0.8), (near, 0.2)], [(near, 0.9), (far, 0.8)],
        [(far, 0.8), (near, 0.2)]])
    chosen = next(u for u in updates if u.target is not None)
    assert chosen.target.x == pytest.approx(3.0, abs=0.05)


def test_nothing_found_says_the_best_score_seen_in_the_step(cautious):
    command_id = command(cautious, 'go to the blue box')
    ground_in_turn(cautious, command_id, 'blue box', [[(box_at(2.0, 0.0), 0.41)]])
    update = cautious.apply(frame(2.0), FrameGrounding(command_id, 0, result(
        'blue box', (box_at(2.0, 0.0), 0.12))), 2.0)
    assert update.status.message.endswith('(best this step 0.41)')


def test_an_object_s_parts_scored_low_are_no_evidence_against_it(cautious):
    """A face of the box scored 0.05 beside the whole box at 0.99: one place, one score."""
    command_id = command(cautious, 'go to the blue box')
    whole, face = box_at(2.0, 0.0), box_at(2.05, 0.02, half_width=5.0, height=8.0)
    updates = ground_in_turn(cautious, command_id, 'blue box',
                             [[(whole, 0.99), (face, 0.05)]] * 3)
    assert updates[-1].target is not None


def test_placements_uncertain_in_range_agree_when_the_direction_does(cautious):
    """A base hidden by an obstacle: the floor-plane range jumps, the direction holds."""
    command_id = command(cautious, 'go to the blue box')
    updates = ground_in_turn(cautious, command_id, 'blue box', [
        [(box_at(2.4 * math.cos(0.2), 2.4 * math.sin(0.2)), 0.95)],
        [(box_at(3.2 * math.cos(0.22), 3.2 * math.sin(0.22)), 0.95)],
        [(box_at(2.7 * math.cos(0.21), 2.7 * math.sin(0.21)), 0.95)]])
    assert updates[-1].target is not None
