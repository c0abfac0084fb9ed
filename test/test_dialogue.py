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

"""The dialogue: what "again" and "no, the other one" mean after what was said and chosen."""

import math

from clip_grounding_ros.core.contract.protocol import Intent
from clip_grounding_ros.core.language.commands import parse_command
from clip_grounding_ros.core.language.dialogue import Dialogue, DialogueConfig
from clip_grounding_ros.core.language.steps import (
    CommandError,
    EXAMPLES,
    Referring,
    Relation,
)
import pytest


def said(dialogue: Dialogue, text: str, now: float = 0.0):
    """Say ``text``: resolved, then recorded as the pipeline does."""
    command = dialogue.resolve(parse_command(text), now)
    dialogue.record_command(command, now)
    return command


def refusal(dialogue: Dialogue, text: str, now: float = 0.0) -> str:
    with pytest.raises(CommandError) as error:
        dialogue.resolve(parse_command(text), now)
    message = str(error.value)
    assert message.startswith(f"'{text}'")
    assert any(f"'{example}'" in message for example in EXAMPLES), message
    return message


@pytest.mark.parametrize('text', ['again', 'do that again', 'once more', 'repeat'])
def test_a_repetition_is_the_last_command_again(text):
    dialogue = Dialogue()
    first = said(dialogue, 'turn left 30 degrees, then move forward 1 meter', 1.0)
    again = said(dialogue, text, 5.0)
    assert again.steps == first.steps and again.text == text and again.followup is None
    assert said(dialogue, 'again', 9.0).steps == first.steps  # a repetition repeats too


def test_a_repetition_with_nothing_said_before_is_refused():
    assert 'nothing to repeat' in refusal(Dialogue(), 'do that again')


@pytest.mark.parametrize('text', ['no, the other one', 'not that one', 'the wrong one',
                                  'the other one'])
def test_the_other_one_goes_on_with_the_same_step_rejecting_the_chosen_object(text):
    dialogue = Dialogue()
    first = said(dialogue, 'find the red box, then turn left', 1.0)
    dialogue.record_choice(first, 0, (2.0, 0.5), 2.0)
    corrected = said(dialogue, text, 3.0)
    step, turn = corrected.steps
    assert (step.intent, step.target, step.referring) == (Intent.FIND, 'red box', None)
    assert step.other and step.excluded == ((2.0, 0.5),) and step.text == text
    assert turn == first.steps[1]  # the rest of the command goes on after it


@pytest.mark.parametrize('text, target, referring, rejects', [
    ('no, the red one', 'red box', None, False),               # attributes: the same noun
    ('no, the one on the left', 'blue box', Referring(Relation.LEFTMOST), False),
    ('the big one', 'blue box', Referring(Relation.BIGGEST), False),
    ('no, the green ball', 'green ball', None, False),
    ('no, the red box next to the ball', 'red box', Referring(Relation.NEXT_TO, 'ball'),
     False),
    ('the other cube', 'cube', None, True),
    ('not that one', 'blue box', None, True),
])
def test_a_correction_says_what_is_meant_instead(text, target, referring, rejects):
    """
    A correction describes what is meant; only 'the other ...' rejects the chosen object.

    "no, the one on the left" is chosen among every candidate: the object chosen before may
    be the one on the left, and then the robot goes on to it rather than away from it.
    """
    dialogue = Dialogue()
    first = said(dialogue, 'go to the blue box', 1.0)
    dialogue.record_choice(first, 0, (3.0, -1.0), 2.0)
    (step,) = said(dialogue, text, 3.0).steps
    assert (step.intent, step.target, step.referring) == (Intent.APPROACH, target, referring)
    assert step.excluded == (((3.0, -1.0),) if rejects else ())


def test_the_other_one_said_again_rejects_each_object_chosen_in_turn():
    dialogue = Dialogue()
    first = said(dialogue, 'go to the red box', 1.0)
    dialogue.record_choice(first, 0, (1.0, 0.0), 2.0)
    second = said(dialogue, 'no, the other one', 3.0)
    dialogue.record_choice(second, 0, (2.0, 0.0), 4.0)
    (third,) = said(dialogue, 'no, the other one', 5.0).steps
    assert third.excluded == ((1.0, 0.0), (2.0, 0.0)) and third.target == 'red box'


def test_attributes_replace_those_of_the_kind_of_object_before():
    dialogue = Dialogue()
    first = said(dialogue, 'go to the cup of tea', 1.0)
    dialogue.record_choice(first, 0, (1.0, 0.0), 2.0)
    assert said(dialogue, 'no, the green one', 3.0).steps[0].target == 'green cup of tea'


def test_the_other_object_in_a_new_command_rejects_the_one_chosen_before():
    dialogue = Dialogue()
    first = said(dialogue, 'go to the red box', 1.0)
    dialogue.record_choice(first, 0, (2.0, 0.5), 2.0)
    look, pick = said(dialogue, 'look at the other red box, then pick it up', 3.0).steps
    assert look.excluded == pick.excluded == ((2.0, 0.5),)
    assert look.describe() == 'look at the other red box'


@pytest.mark.parametrize('text', ['no, the other one', 'the red one', 'go to the other box',
                                  'not that one'])
def test_a_correction_with_nothing_chosen_is_refused(text):
    dialogue = Dialogue()
    said(dialogue, 'go to the blue box', 1.0)  # said, but nothing was chosen yet
    dialogue.record_choice(dialogue.command, 0, None, 2.0)  # seen but not placed: no choice
    assert 'no object chosen before' in refusal(dialogue, text, 3.0)


def test_what_was_said_and_chosen_is_forgotten_after_the_timeout():
    dialogue = Dialogue(DialogueConfig(followup_timeout=10.0))
    first = said(dialogue, 'go to the blue box', 0.0)
    dialogue.record_choice(first, 0, (1.0, 1.0), 5.0)
    assert said(dialogue, 'again', 10.0).steps == first.steps  # the command's 10 s
    assert said(dialogue, 'no, the other one', 15.0).steps[0].excluded == ((1.0, 1.0),)
    assert 'none in the last 10 s' in refusal(dialogue, 'not that one', 15.1)
    assert 'nothing to repeat' in refusal(dialogue, 'once more', 25.1)


def test_a_clock_that_went_back_dates_nothing_said_before():
    dialogue = Dialogue()
    first = said(dialogue, 'go to the blue box', 100.0)
    dialogue.record_choice(first, 0, (1.0, 1.0), 100.0)
    assert 'nothing to repeat' in refusal(dialogue, 'again', 50.0)
    said(dialogue, 'turn left', 1.0)
    dialogue.reset()
    assert 'nothing to repeat' in refusal(dialogue, 'again', 2.0)


def test_a_plain_command_passes_through_unchanged():
    dialogue = Dialogue()
    command = parse_command('go to the blue box, then turn right 45 degrees')
    assert dialogue.resolve(command, 0.0) is command
    assert command.steps[1].angle == pytest.approx(-math.pi / 4)


@pytest.mark.parametrize('timeout', [0.0, -1.0, 4000.0, math.nan])
def test_a_followup_timeout_out_of_range_is_refused(timeout):
    with pytest.raises(ValueError, match='followup_timeout'):
        DialogueConfig(followup_timeout=timeout)
