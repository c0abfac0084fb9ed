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
The object memory in grounding and motion: what is remembered, answered, gone back to.

Perception (core.perception.pipeline with core.perception.recall) with the bundled simulator
model, whose text and crop embeddings share one space: a region's embedding is the model's
own embedding of what it shows. The action side's return ('come back') and its refusal to
end an approach on an unconfirmed remembered target are MotionController's.
"""

from dataclasses import replace
import math

from clip_grounding_ros.core.contract.protocol import Intent, Origin, Task
from clip_grounding_ros.core.contract.status import ActionState, GroundingState, TargetSource
from clip_grounding_ros.core.motion.config import MotionConfig
from clip_grounding_ros.core.motion.controller import MotionController
from clip_grounding_ros.core.motion.obstacles import ObstacleConfig
from clip_grounding_ros.core.perception.choice import EvidenceConfig
from clip_grounding_ros.core.perception.grounding import (
    Candidate,
    Grounder,
    GrounderConfig,
    GroundingResult,
)
from clip_grounding_ros.core.perception.model import load_encoder
from clip_grounding_ros.core.perception.pipeline import Frame, FrameGrounding, Perception
from clip_grounding_ros.core.world.camera import Intrinsics
from clip_grounding_ros.resources import resolve_model
import numpy as np
import pytest
from test_perception import box_at

INTRINSICS = Intrinsics.from_fov(320, 240, 60.0)


@pytest.fixture(scope='module')
def grounder():
    """Make the bundled model's grounder, with its own words for 'an object' (sim_demo.yaml)."""
    config = GrounderConfig(object_prompts=('a photo of a box.', 'a photo of a sphere.',
                                            'a photo of a cylinder.'))
    return Grounder(load_encoder(resolve_model('package://clip_grounding_ros/models/sim_clip'),
                                 device='cpu'), config)


@pytest.fixture
def perception(grounder):
    return Perception(grounder, evidence=EvidenceConfig(commit_groundings=1))


def seen(grounder, phrase: str, box, score: float) -> Candidate:
    """Make a region showing ``phrase``: the model's embedding of it (what a crop gives)."""
    embedding = grounder.phrase_embedding(phrase).numpy().astype(np.float32)
    return Candidate(box, score, embedding)


def ground(perception, pose, stamp, phrase, *candidates):
    """Apply one grounding of a frame taken at ``pose`` (odom) to the current step."""
    found = bool(candidates) and candidates[0].score >= 0.5
    result = GroundingResult(phrase, 'crops', found, list(candidates), 0.5, (320, 240))
    frame = Frame(np.zeros((240, 320, 3), np.uint8), stamp, 'camera', INTRINSICS, pose=pose)
    session = perception.session
    return perception.apply(frame, FrameGrounding(session.command_id, session.step_index,
                                                  result), stamp)


@pytest.mark.parametrize('strategy, embedded', [('crops', True), ('dense', False)])
def test_crop_scored_regions_carry_the_embedding_the_memory_keeps(
        grounder, strategy, embedded):
    image = np.full((240, 320, 3), 200, np.uint8)
    image[100:180, 120:200] = (220, 30, 30)
    result = Grounder(grounder.encoder, replace(grounder.config, strategy=strategy)).ground(
        image, 'red box')
    assert result.candidates
    for candidate in result.candidates:
        assert (candidate.embedding is not None) == embedded
        if embedded:  # the stored embedding scores as the live grounding did
            assert grounder.score_embeddings(candidate.embedding[None], 'red box')[0] == \
                pytest.approx(candidate.score, abs=1e-5)


def test_walls_and_floor_are_not_remembered_as_objects(perception, grounder):
    """A region that looks like the background (here: exactly like a wall) is not kept."""
    assert perception.on_command('go to the red box', 1.0) is not None
    wall = grounder.encoder.encode_text(['a photo of a wall.'])[0].numpy()
    ground(perception, (0.0, 0.0, 0.0), 1.0, 'red box',
           seen(grounder, 'red box', box_at(2.0, 0.0), 0.9),
           Candidate(box_at(2.0, 1.0), 0.1, wall))
    (remembered,) = perception.objects.objects(1.0)
    assert remembered.position == pytest.approx((2.0, 0.0), abs=0.05)


def remember_red_box(perception, grounder):
    """Let the robot at (1, 0), facing +x, see a red box 2 m ahead: at (3, 0) in odom."""
    assert perception.on_command('go to the red box', 1.0) is not None
    ground(perception, (1.0, 0.0, 0.0), 1.0, 'red box',
           seen(grounder, 'red box', box_at(2.0, 0.0), 0.9))
    perception.note_pose((1.0, 0.0, 0.0), 1.0)


def test_a_grounded_region_is_remembered_in_odom_and_answered_without_motion(
        perception, grounder):
    remember_red_box(perception, grounder)
    (remembered,) = perception.objects.objects(2.0)
    assert remembered.label == 'red box'
    assert remembered.position == pytest.approx((3.0, 0.0), abs=0.05)
    perception.note_pose((1.0, 0.0, math.pi), 5.0)  # turned around since
    assert perception.on_command('where did you see the red box?', 11.0) is not None
    status = perception.status(11.0)
    assert status.state == GroundingState.IDLE and not perception.wants_frames
    assert "I saw a 'red box' 2.0 m away, behind, 10 s ago" in status.message
    (entry,) = status.remembered
    assert entry['position'] == pytest.approx([3.0, 0.0], abs=0.05)
    assert entry['distance'] == pytest.approx(2.0, abs=0.05)
    assert perception.on_command('what have you seen?', 12.0) is not None
    assert 'I remember 1 object, 1 of them named: a red box' in perception.message()
    assert perception.on_command('where did you see the blue ball', 12.0) is not None
    assert "I have not seen a 'blue ball' (1 object remembered)" in perception.message()
    assert perception.on_command('have you seen an orange ball?', 12.0) is not None
    assert "I have not seen an 'orange ball'" in perception.message()
    assert perception.on_command('forget what you have seen', 13.0) is not None
    assert 'forgot the 1 object I' in perception.message() and len(perception.objects) == 0


def test_an_object_seen_in_two_places_is_answered_where_it_was_seen_last(perception, grounder):
    """A moving red box leaves two places; the later one wins though it matched a bit worse."""
    remember_red_box(perception, grounder)  # at (3, 0), t=1
    box = grounder.phrase_embedding('red box').numpy()
    other = grounder.phrase_embedding('blue box').numpy()
    blurred = 0.5 * box + 0.5 * other  # the same box, a crop that shows it less well
    blurred = (blurred / np.linalg.norm(blurred)).astype(np.float32)
    ground(perception, (1.0, 0.0, 0.0), 5.0, 'red box',
           Candidate(box_at(2.0, 1.5), 0.9, blurred))  # at (3, 1.5) in odom, t=5
    scores = grounder.score_embeddings(np.stack([box, blurred]), 'red box')
    assert scores[0] - 0.1 < scores[1] < scores[0]  # worse, yet within RECENT_MARGIN
    assert perception.on_command('where did you see the red box?', 6.0) is not None
    first, earlier = perception.status(6.0).remembered
    assert first['position'] == pytest.approx([3.0, 1.5], abs=0.05) and first['age'] == 1.0
    assert earlier['position'] == pytest.approx([3.0, 0.0], abs=0.05)
    assert '(1 more remembered that match)' in perception.message()


def test_forgetting_one_object_keeps_the_others(perception, grounder):
    remember_red_box(perception, grounder)
    assert perception.on_command('forget the blue ball', 3.0) is not None  # nothing like it
    assert "forgot 0 objects like a 'blue ball'; 1 object remembered" in perception.message()
    assert perception.on_command('please forget the red box you saw', 4.0) is not None
    assert "forgot 1 object like a 'red box'; 0 objects remembered" in perception.message()
    assert perception.status(4.0).state == GroundingState.IDLE and not perception.wants_frames


def test_going_back_drives_to_where_it_was_seen_until_live_grounding_confirms_it(
        perception, grounder):
    remember_red_box(perception, grounder)
    perception.note_pose((1.0, 0.0, math.pi), 5.0)
    choice = perception.status().choice_id
    assert perception.on_command('go back to the red box', 5.0) is not None
    assert 'I saw one 2.0 m away, behind' in perception.message()
    # Facing away: nothing in view, the remembered place is the target (behind: x < 0).
    update = ground(perception, (1.0, 0.0, math.pi), 5.2, 'red box')
    assert (update.target.x, update.target.y) == pytest.approx((-2.0, 0.0), abs=0.05)
    status = update.status
    assert status.target_source == TargetSource.REMEMBERED and status.found
    assert status.state == GroundingState.TRACKING and status.choice_id != choice
    assert "going to where I saw the 'red box'" in status.message
    # Turned toward it: live grounding finds it and takes over.
    update = ground(perception, (1.0, 0.0, 0.0), 7.0, 'red box',
                    seen(grounder, 'red box', box_at(2.0, 0.0), 0.9))
    assert update.status.target_source == TargetSource.GROUNDED
    assert perception.recalled is None


def test_a_remembered_object_in_view_but_not_found_is_forgotten_and_searched_for(
        perception, grounder):
    remember_red_box(perception, grounder)
    assert perception.on_command('go back to the red box', 10.0) is not None
    for stamp in (10.2, 10.4):
        update = ground(perception, (1.0, 0.0, 0.0), stamp, 'red box')
        assert update.status.target_source == TargetSource.REMEMBERED
    update = ground(perception, (1.0, 0.0, 0.0), 12.6, 'red box')  # the third miss in view
    assert update.target is None and update.status.state == GroundingState.LOST
    assert "the 'red box' is not where I saw it" in update.status.message
    assert perception.objects.objects(12.6) == []


def test_find_looks_in_the_memory_first(perception, grounder):
    remember_red_box(perception, grounder)
    assert perception.on_command('where is the red box', 3.0) is not None
    assert perception.recalled is not None and 'I saw one' in perception.message()


@pytest.mark.parametrize('text', ['go back to the green ball', 'go to the green ball you saw',
                                  'go to where you saw the green ball',
                                  'find the green ball you saw earlier',
                                  'go to the red box, then go back to the green ball'])
def test_going_back_to_what_was_never_seen_is_refused_before_anything_moves(
        perception, grounder, text):
    remember_red_box(perception, grounder)
    assert perception.on_command(text, 4.0) is None
    status = perception.status()
    assert status.state == GroundingState.ERROR and perception.recalled is None
    assert "I have not seen a 'green ball' (1 object remembered): say 'find the green " \
        "ball'" in status.message


@pytest.mark.parametrize('forgets, why', [
    (lambda p: p.note_pose((40.0, 0.0, 0.0), 2.2), 'odometry jumped'),
    (lambda p: p.check_clock(0.5), 'back'),
])
def test_the_memory_is_cleared_by_an_odometry_reset_and_by_time_going_back(
        perception, grounder, forgets, why):
    remember_red_box(perception, grounder)
    perception.check_clock(2.0)
    assert len(perception.objects) == 1
    assert why in forgets(perception)
    assert len(perception.objects) == 0


# -- the action side -------------------------------------------------------------------------
CONFIG = MotionConfig()


def controller():
    return MotionController(CONFIG, ObstacleConfig(obstacle_source='none'))


def drive(control, task, start, seconds, odometry_at):
    """Run ``task`` from ``start`` (s) at 20 Hz on a kinematic base; return the last output."""
    control.on_task(task, start)
    pose, output = odometry_at, None
    for tick in range(int(seconds * 20)):
        now = start + tick / 20
        control.on_perception(GroundingState.IDLE, task.intent.value, now)
        control.on_odometry(*pose, stamp=now)
        output = control.step(now)
        x, y, yaw = pose
        pose = (x + output.linear * math.cos(yaw) / 20, y + output.linear * math.sin(yaw) / 20,
                yaw + output.angular / 20)
        if output.state in (ActionState.REACHED, ActionState.FAILED):
            break
    return output, pose


@pytest.mark.parametrize('said_first', [True, False])
def test_come_back_drives_to_where_the_command_was_given(said_first):
    """'X and come back': this command's place; 'come back' said next: the one before's."""
    control = controller()
    control.on_odometry(0.0, 0.0, 0.0, stamp=0.0)
    output, pose = drive(control, Task(1, 0, Intent.MOVE, distance=1.5), 0.0, 10.0,
                         (0.0, 0.0, 0.0))
    assert output.state == ActionState.REACHED
    back = Task(2, 0, Intent.RETURN, origin=Origin.COMMAND) if said_first else \
        Task(1, 1, Intent.RETURN, origin=Origin.COMMAND)
    output, pose = drive(control, back, 10.0, 30.0, pose)
    assert output.state == ActionState.REACHED and 'back at where the command was given' \
        in output.reason
    assert math.hypot(pose[0], pose[1]) <= CONFIG.return_tolerance + 0.02


def test_come_back_after_a_turn_in_place_goes_to_where_the_robot_came_from():
    """'move forward', 'turn left', 'come back': the turn was given where the move ended."""
    control = controller()
    control.on_odometry(0.0, 0.0, 0.0, stamp=0.0)
    _, pose = drive(control, Task(1, 0, Intent.MOVE, distance=1.5), 0.0, 10.0, (0.0, 0.0, 0.0))
    output, pose = drive(control, Task(2, 0, Intent.TURN, angle=math.pi / 2), 10.0, 10.0, pose)
    assert output.state == ActionState.REACHED
    output, pose = drive(control, Task(3, 0, Intent.RETURN, origin=Origin.COMMAND), 20.0, 30.0,
                         pose)
    assert output.state == ActionState.REACHED
    assert math.hypot(pose[0], pose[1]) <= CONFIG.return_tolerance + 0.02


def test_return_to_the_start_is_the_first_command_given_and_fails_without_one():
    control = controller()
    output, _ = drive(control, Task(1, 0, Intent.RETURN, run_id='a', origin=Origin.COMMAND),
                      0.0, 1.0, (0.0, 0.0, 0.0))
    assert output.state == ActionState.FAILED and 'no pose to come back to' in output.reason
    _, pose = drive(control, Task(2, 0, Intent.MOVE, distance=1.0, run_id='a'), 1.0, 8.0,
                    (0.0, 0.0, 0.0))
    # grounding_node restarted (a new run, ids from 1): the start is action_node's, kept.
    _, pose = drive(control, Task(1, 0, Intent.MOVE, distance=1.0, run_id='b'), 9.0, 8.0, pose)
    output, pose = drive(control, Task(2, 0, Intent.RETURN, run_id='b', origin=Origin.START),
                         17.0, 30.0, pose)
    assert output.state == ActionState.REACHED and 'back at the start' in output.reason
    # The first command of the run was the return that failed, given at the origin.
    assert math.dist(pose[:2], (0.0, 0.0)) <= CONFIG.return_tolerance + 0.02


@pytest.mark.parametrize('intent, ended', [(Intent.APPROACH, ActionState.REACHED),
                                           (Intent.FIND, ActionState.FACING)])
def test_a_step_never_ends_at_a_remembered_target_it_has_not_confirmed(intent, ended):
    control = controller()
    control.on_task(Task(1, 0, intent), 0.0)
    control.on_odometry(0.0, 0.0, 0.0, stamp=0.0)
    control.on_perception(GroundingState.TRACKING, 'going to where I saw it', 0.0,
                          remembered=True)
    control.on_target(CONFIG.stop_distance - 0.1, 0.0, stamp=0.0)
    output = control.step(0.0)
    assert output.state == ActionState.HOLDING and 'confirmed in view' in output.reason
    control.on_perception(GroundingState.TRACKING, 'found', 0.1)
    assert control.step(0.1).state == ended
