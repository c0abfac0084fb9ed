"""Command parsing: the phrasings users say, and clear errors for the rest."""

import pytest

from clip_grounding_ros.core.commands import CommandError, parse_command


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
    ('get to the red ball', 'approach', 'red ball'),  # "get to" is longer than "get"
])
def test_intents_and_targets(text, intent, target):
    command = parse_command(text)
    assert (command.intent, command.target, command.text) == (intent, target, text)


@pytest.mark.parametrize('text', ['stop', 'Stop!', 'robot, stop', 'halt', 'STOP NOW',
                                  'please stop moving', 'emergency stop', 'cancel'])
def test_stop_phrasings(text):
    assert parse_command(text).intent == 'stop'


def test_classification_prompts():
    command = parse_command('Classify: a photo of a cat, a photo of a dog or a photo of a bird')
    assert command.intent == 'classify'
    assert command.prompts == ('a photo of a cat', 'a photo of a dog', 'a photo of a bird')
    assert parse_command('what is this: cat | dog').prompts == ('cat', 'dog')


def test_moves_base():
    assert parse_command('go to the box').moves_base
    assert parse_command('pick up the box').moves_base
    assert not parse_command('look at the box').moves_base


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
