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
Command parsing: the phrasings users say, the data model, and clear errors for the rest.

The large corpus of phrasings and refusals is in test_command_corpus.py.
"""

import dataclasses
import math

from clip_grounding_ros.core.contract.protocol import Intent
from clip_grounding_ros.core.language.commands import parse_command
from clip_grounding_ros.core.language.steps import (
    Command,
    CommandError,
    EXAMPLES,
    MAX_DISTANCE_M,
    MAX_TURN_RAD,
    Referring,
    Relation,
    Step,
)
import pytest


@pytest.mark.parametrize('text, intent, target', [
    ('go to the blue box', 'approach', 'blue box'),
    ('Please drive to the red ball!', 'approach', 'red ball'),
    ('move towards the green cylinder', 'approach', 'green cylinder'),
    ('Hey robot, navigate to a purple crate please.', 'approach', 'purple crate'),
    ('approach the orange can', 'approach', 'orange can'),
    ('find the yellow cube', 'find', 'yellow cube'),
    ('where is the white ball?', 'find', 'white ball'),
    ('look at the person', 'face', 'person'),
    ('turn towards the  Blue   Box', 'face', 'blue box'),
    ('pick up the red apple', 'pick', 'red apple'),
    ('grab the black tube', 'pick', 'black tube'),
    ('get to the red ball', 'approach', 'red ball'),  # "get to" is approach, "get" is pick
])
def test_intents_and_targets(text, intent, target):
    command = parse_command(text)
    (step,) = command.steps
    assert (step.intent, step.target, command.text) == (intent, target, text)
    assert step.referring is None and not command.is_sequence


@pytest.mark.parametrize('text', ['stop', 'Stop!', 'robot, stop', 'halt', 'STOP NOW',
                                  'please stop moving', 'emergency stop', 'cancel'])
def test_stop_phrasings(text):
    (step,) = parse_command(text).steps
    assert step.intent == 'stop'


def test_classification_prompts():
    command = parse_command('Classify: a photo of a cat, a photo of a dog or a photo of a bird')
    (step,) = command.steps
    assert step.intent == 'classify'
    assert step.prompts == ('a photo of a cat', 'a photo of a dog', 'a photo of a bird')
    assert parse_command('what is this: cat | dog').steps[0].prompts == ('cat', 'dog')


def test_a_stop_is_a_command_of_its_own():
    assert parse_command('stop').is_stop and parse_command('halt, stop!').is_stop
    assert parse_command("don't move").is_stop
    assert not parse_command('go to the box').is_stop
    assert not parse_command('move forward 1 meter').is_stop


def test_needs_grounding_only_for_steps_with_an_object():
    grounded = {text: parse_command(text).steps[0].needs_grounding for text in (
        'go to the box', 'look at the box', 'find the box', 'pick up the box', 'stop',
        'classify: cat, dog', 'move forward', 'turn left')}
    assert grounded == {'go to the box': True, 'look at the box': True, 'find the box': True,
                        'pick up the box': True, 'stop': False, 'classify: cat, dog': False,
                        'move forward': False, 'turn left': False}


def test_relative_motion_follows_rep103_signs_and_units():
    """Forward and left are positive; metres and radians whatever unit was said."""
    assert parse_command('move forward 2 feet').steps[0].distance == pytest.approx(0.6096)
    assert parse_command('back up 50 cm').steps[0].distance == pytest.approx(-0.5)
    assert parse_command('turn left 90 degrees').steps[0].angle == pytest.approx(math.pi / 2)
    assert parse_command('rotate 30 degrees clockwise').steps[0].angle == pytest.approx(
        -math.pi / 6)


def test_defaults_and_limits():
    assert parse_command('move forward').steps[0].distance == 0.5
    assert parse_command('go back').steps[0].distance == -0.5
    assert parse_command('turn right').steps[0].angle == pytest.approx(-math.pi / 2)
    assert parse_command('turn around').steps[0].angle == pytest.approx(math.pi)
    assert parse_command('spin').steps[0].angle == pytest.approx(2 * math.pi)
    assert parse_command('turn all the way around').steps[0].angle == pytest.approx(2 * math.pi)
    assert (MAX_DISTANCE_M, MAX_TURN_RAD) == (5.0, pytest.approx(4 * math.pi))
    assert parse_command('move forward 5 m').steps[0].distance == MAX_DISTANCE_M
    assert parse_command('turn left 720 degrees').steps[0].angle == pytest.approx(MAX_TURN_RAD)
    with pytest.raises(CommandError, match='limit of 5.00 m'):
        parse_command('move forward 5.5 m')
    with pytest.raises(CommandError, match='limit of 720 deg'):
        parse_command('turn left 721 degrees')


def test_referring_expression_keeps_only_object_words_in_target():
    (step,) = parse_command('please go to the second red box from the left').steps
    assert step.target == 'red box'
    assert step.referring == Referring(Relation.ORDINAL_LEFT, ordinal=2)
    (step,) = parse_command('look at the person to the left of the red car').steps
    assert (step.target, step.referring) == ('person', Referring(Relation.LEFT_OF, 'red car'))


def test_sequence_steps_in_order_with_their_own_words():
    command = parse_command('Go to the blue box, then the red ball and then turn left')
    assert command.is_sequence
    assert [(s.intent, s.target, s.text) for s in command.steps] == [
        (Intent.APPROACH, 'blue box', 'Go to the blue box'),
        (Intent.APPROACH, 'red ball', 'the red ball'),
        (Intent.TURN, '', 'turn left')]
    assert command.text == 'Go to the blue box, then the red ball and then turn left'


@pytest.mark.parametrize('text, description', [
    ('go to the red box on the left', 'go to the red box on the left'),
    ('drive to the leftmost crate', 'go to the crate on the left'),
    ('go to the right-hand red block', 'go to the red block on the right'),
    ('go to the left hand box', 'go to the box on the left'),
    ('approach the box on the right-hand side', 'go to the box on the right'),
    ('pick up the largest box', 'pick up the biggest box'),
    ('find the closest chair', 'find the nearest chair'),
    ('look at the dog next to the sofa', 'look at the dog next to the sofa'),
    ('go to the ball in front of the door', 'go to the ball in front of the door'),
    ('go to the third box from the right', 'go to the 3rd box from the right'),
    ('go to the 22nd box from the left', 'go to the 22nd box from the left'),
    ('go to the tenth box from the left', 'go to the 10th box from the left'),
    ('move forward 1 meter', 'move forward 1.00 m'),
    ('back up half a metre', 'move backward 0.50 m'),
    ('turn left', 'turn left 90 deg'),
    ('rotate 45 degrees clockwise', 'turn right 45 deg'),
    ('classify: cat, dog', 'classify: cat, dog'),
    ('halt', 'stop'),
])
def test_describe(text, description):
    assert parse_command(text).steps[0].describe() == description


def test_steps_and_commands_are_immutable_values():
    step = Step(Intent.MOVE, distance=1.0, text='move forward 1 meter')
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.distance = 2.0
    assert Command('move forward 1 meter', (step,)) == parse_command('move forward 1 meter')


def test_examples_all_parse_one_per_kind():
    kinds = {parse_command(text).steps[0].intent for text in EXAMPLES}
    assert kinds == set(Intent)
    assert any(parse_command(text).steps[0].referring for text in EXAMPLES)
    assert any(parse_command(text).is_sequence for text in EXAMPLES)


@pytest.mark.parametrize('text, message', [
    ('', 'empty command'),
    ('   ', 'empty command'),
    (None, 'empty command'),
    ('dance', 'not a command I understand'),
    ('blue box', 'not a command I understand'),
    ('go to the', "no object named after 'go to'"),
    ('please look at', 'say which one'),
    ('classify: cat', 'at least two prompts'),
])
def test_errors_explain_what_works(text, message):
    with pytest.raises(CommandError, match=message) as error:
        parse_command(text)
    assert 'e.g.' in str(error.value) or 'for example' in str(error.value)


@pytest.mark.parametrize('text, problem', [
    ('turn left minus minus 90 degrees', 'more than one sign'),
    ('move forward minus 1 meter', 'is negative'),
])
def test_signed_amounts_are_refused(text, problem):
    with pytest.raises(CommandError, match=problem):
        parse_command(text)


@pytest.mark.parametrize('text, target', [
    ('go to the red "ball"', 'red ball'),
    ('go to the red...ball', 'red ball'),
    ('go to the black and white box!', 'black and white box'),
])
def test_punctuation_never_reaches_the_phrase_clip_grounds(text, target):
    assert parse_command(text).steps[0].target == target
