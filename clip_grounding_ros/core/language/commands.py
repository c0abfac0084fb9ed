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
Spoken-style commands to the steps a robot carries out, through an explicit grammar.

"Please go to the red box on the left, then turn right 90 degrees" becomes
``Command(steps=(Step(APPROACH, target='red box', referring=Referring(LEFTMOST)),
Step(TURN, angle=-pi/2)))``.

Why a written grammar (``grammar.GRAMMAR``, parsed by lark's Earley parser): a robot should refuse
what it does not understand rather than guess, and a grammar says exactly what is understood,
as a reviewer can read it. Sentences that parse but cannot be done (no object, an amount past
the limit, a stop inside a sequence, ...) are refused with a message that names the problem
and gives an example that works. Every word the grammar consumes (verbs, polite words,
articles, relation words, ordinals, numbers, units) stays out of ``Step.target`` and
``Referring.reference``: those hold only the object's own words, which is all that CLIP and
the closed-vocabulary gate of the perception see.

The steps and their units are :mod:`.steps`'. Amounts are said in any unit of the grammar and
converted with pint; numbers may be digits or words (text2num).
"""

from __future__ import annotations

from dataclasses import replace
import functools
import itertools
import math
import re
from typing import NamedTuple

import lark
from lark import Lark, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError
import pint

# text2num: maintained (Rust core), strict (refuses 'two five' instead of guessing), handles
# 'one hundred and eighty', 'forty-five' and ordinals ('second' -> '2nd'). word2number is
# unmaintained since 2017 and numerizer rewrites whole sentences loosely ('half a metre' ->
# '1/2 1 metre'); fractions ('half', 'a quarter') are two grammar rules below instead.
from text_to_num import alpha2digit, text2num

if int(lark.__version__.split('.')[0]) < 1:  # lark-parser 0.12 (ROS rosidl) shares `lark`
    raise ImportError(f'lark >= 1.0 is needed, found {lark.__version__}: lark-parser 0.12 '
                      'installs the same `lark` package; install lark 1.x after it')

from .grammar import GRAMMAR  # noqa: E402 - after the lark version check
from .steps import (  # noqa: E402
    amount_text,
    Command,
    CommandError,
    EXAMPLE,
    EXAMPLES,
    FollowUp,
    FollowUpKind,
    MAX_COMMAND_CHARS,
    MAX_DISTANCE_M,
    MAX_STEPS,
    MAX_TURN_RAD,
    ordinal_text,
    PRONOUN_EXAMPLE,
    Referring,
    REFERRING_EXAMPLE,
    Relation,
    SEQUENCE_EXAMPLE,
    SPIN_RAD,
    SpokenAmounts,
    Step,
    TURN_AROUND_RAD,
    with_attributes,
)
from ..contract.protocol import Intent, Origin  # noqa: E402

_AMOUNT_UNIT = {Intent.MOVE: 'meter', Intent.TURN: 'radian'}
_AMOUNT_LIMIT = {Intent.MOVE: MAX_DISTANCE_M, Intent.TURN: MAX_TURN_RAD}
_AMOUNT_KIND = {Intent.MOVE: 'a distance (m, cm, mm, feet, inches, yards)',
                Intent.TURN: 'an angle (degrees, radians, turns)'}
_RELATION_NAMES = frozenset(relation.value for relation in Relation)


@functools.cache
def _parser() -> Lark:
    """Return the Earley parser (built once, on first use): it accepts any context-free grammar."""
    return Lark(GRAMMAR, parser='earley', lexer='basic', ambiguity='resolve',
                propagate_positions=True, g_regex_flags=re.IGNORECASE)


@functools.cache
def _units() -> pint.UnitRegistry:
    """Pint's default registry (loads in about 0.3 s, so on first use)."""
    return pint.UnitRegistry()


class _Object(NamedTuple):
    target: str
    referring: Referring | None
    text: str
    other: bool = False  # "the other red box": not the one chosen before


class _Quantity(NamedTuple):
    value: float
    unit: str   # '' when no unit was said
    text: str
    small: bool = False  # 'a bit', 'a little', 'slightly'


class _Words(NamedTuple):
    """Object words said before 'one': 'red' in 'the red one'."""

    words: str


class _Refinement(NamedTuple):
    """What 'the red one', 'the big one', 'the one on the left' add to an object."""

    words: str
    referring: Referring | None
    text: str


class _Repeat(NamedTuple):
    text: str


_REPAIR = 'repair'  # a self-correction between two steps: the later one replaces the earlier
_SEEN = 'seen'      # 'the box you saw', 'where you saw the box': the object memory's
# Refinement words that choose rather than describe: 'the big one' is the biggest.
_WORD_RELATIONS = {
    'big': Relation.BIGGEST, 'bigger': Relation.BIGGEST, 'large': Relation.BIGGEST,
    'larger': Relation.BIGGEST, 'small': Relation.SMALLEST, 'smaller': Relation.SMALLEST,
    'little': Relation.SMALLEST, 'near': Relation.NEAREST, 'nearer': Relation.NEAREST,
    'close': Relation.NEAREST, 'closer': Relation.NEAREST, 'far': Relation.FARTHEST,
    'farther': Relation.FARTHEST, 'further': Relation.FARTHEST}


_PHRASE_TOKEN = re.compile(r"[^\W_]+(?:['-][^\W_]+)*|,")  # words without punctuation, commas

# What may not be inside the phrase CLIP grounds. Word lists, not a part-of-speech tagger: the
# taggers that work offline need model downloads (spaCy, NLTK data) and tag single imperative
# clauses poorly; the grammar already names every verb and adverb it acts on, so what can slip
# into a phrase are the few closed classes below, a verb after 'and', and adverbs of manner.
_CLAUSE_WORDS = frozenset((
    # pronouns that start a clause ('the box we saw')
    'we', 'he', 'she', 'they', 'us',
    # auxiliaries and modals ('the box was moved')
    'am', 'was', 'were', 'be', 'been', 'being', 'does', 'did', 'has', 'have', 'had',
    'should', 'must', 'might', 'may', 'shall', 'cannot', "can't", "won't", "isn't", "aren't",
    "doesn't", "didn't", "wasn't", "shouldn't", "couldn't", "wouldn't",
    # subordinators and conjunctions other than 'and' ('the box when ready')
    'if', 'when', 'while', 'because', 'unless', 'until', 'till', 'since', 'though',
    'although', 'whenever', 'wherever', 'whether', 'but', 'yet', 'nor', 'than',
    # adverbs said about the action, not the object ('the box already')
    'already', 'later', 'soon'))
# Words that make a phrase name several objects, or one said before: CLIP grounds one
# object from what the phrase describes.
_NOT_ONE_OBJECT = {
    'both': 'names more than one object; one object per step',
    'every': 'names more than one object; one object per step',
    'each': 'names more than one object; one object per step',
    'previous': "refers to what was said before; say 'again' or name the object",
    'former': "refers to what was said before; say 'again' or name the object",
    'latter': "refers to what was said before; say 'again' or name the object",
}
# Comparatives before a noun choose, as their superlatives do: 'the bigger box'.
_COMPARATIVES = {'bigger': Relation.BIGGEST, 'larger': Relation.BIGGEST,
                 'smaller': Relation.SMALLEST, 'closer': Relation.NEAREST,
                 'nearer': Relation.NEAREST, 'farther': Relation.FARTHEST,
                 'further': Relation.FARTHEST}
# Verbs people join to a step with 'and' ('go to the box and dance') that the grammar does not
# know as verbs (those it knows are never object words).
_ACTION_VERBS = frozenset((
    'dance', 'sing', 'jump', 'hop', 'push', 'pull', 'open', 'shut', 'kick',
    'hit', 'wave', 'say', 'tell', 'show', 'sit', 'lie', 'beep', 'honk', 'flash', 'blink',
    'park', 'charge', 'dock', 'explore', 'patrol', 'clean', 'sweep', 'vacuum', 'check',
    'inspect', 'scan', 'rest', 'sleep', 'shake', 'lift', 'drop', 'put', 'place', 'leave',
    'give', 'knock', 'ring', 'call', 'play', 'shout', 'speak', 'talk', 'listen', 'report',
    'photograph', 'record', 'film', 'pause', 'resume', 'continue', 'proceed', 'enter', 'exit',
    'circle', 'orbit', 'avoid', 'dodge', 'hide', 'escape', 'chase', 'greet', 'hug', 'nod',
    'celebrate', 'smile', 'wiggle', 'wag', 'bark', 'sniff', 'lick', 'eat', 'drink', 'carry',
    'throw', 'toss', 'deliver', 'load', 'unload', 'climb', 'crawl', 'skip', 'slide', 'twirl',
    'bow', 'salute', 'stretch', 'shoot', 'send', 'tap', 'press', 'poke', 'bump', 'nudge'))
# Nouns that end in -ly, which otherwise ends an adverb of manner ('go to the box gracefully').
_LY_NOUNS = frozenset((
    'fly', 'butterfly', 'dragonfly', 'firefly', 'housefly', 'jelly', 'belly', 'lily', 'family',
    'ally', 'bully', 'rally', 'holly', 'assembly', 'supply', 'anomaly', 'monopoly', 'dolly',
    'trolly', 'gully', 'doily', 'reply', 'polly', 'molly', 'sly', 'ply', 'folly', 'filly',
    'italy', 'potbelly', 'melancholy'))


def _not_a_noun_phrase(said: list[str]) -> str:
    """
    Say why the words ``said`` (lower case; commas are tokens) are not one object's name, or ''.

    One object's name is attributes and nouns, joined by 'of' ('cup of tea') or by 'and' or a
    comma after single attributes ('black and white box', 'big, red box'); anything else
    would reach CLIP as if it described the object.
    """
    words = ' '.join(said).replace(' ,', ',')
    for word in said:
        if word in _CLAUSE_WORDS:
            return (f"'{word}' in '{words}' starts a clause or says how to act, which is not "
                    'part of an object; name the object only')
        if word in _NOT_ONE_OBJECT:
            return f"'{word}' in '{words}' {_NOT_ONE_OBJECT[word]}"
        if word.startswith('non-'):
            return (f"'{word}' in '{words}' says what the object is not; CLIP finds what a "
                    'phrase describes: say what it is')
    if said[-1].endswith('ly') and said[-1] not in _LY_NOUNS:
        return (f"'{said[-1]}' in '{words}' says how to act, which is not part of an object; "
                'name the object only')
    # Conjuncts: the words between 'and', ',' and 'of'. Before an 'and' or a comma stands one
    # attribute, and the last conjunct of such a chain is attributes and a noun ('white box').
    conjuncts = [list(group) for joint, group in itertools.groupby(
        said, key=lambda w: w in ('and', ',', 'of')) if not joint]
    joints = [word for word in said if word in ('and', ',', 'of')]
    for joint, before, after in zip(joints, conjuncts, conjuncts[1:], strict=False):
        if joint == 'of':
            continue
        if after[0] in _ACTION_VERBS:
            return (f"'{words}' joins an action ('{after[0]}') to the object, and "
                    f"'{after[0]}' is not an action I know; {_ACTIONS_KNOWN}")
        if len(before) > 1 or len(after) < 2 and (joint, after) == (joints[-1], conjuncts[-1]):
            return (f"'{words}' names two objects joined by '{joint}'; one object per step "
                    "(say 'then' between steps)")
    return ''


_ARTICLES = frozenset(('the', 'a', 'an', 'that', 'this', 'those', 'these', 'some', 'my',
                       'your', 'any'))
# A word that stops, wherever it is said: a command not understood but holding one stops.
_HALT = re.compile(r'\b(?:stop(?!\s+sign)|halt|freeze|abort|wait|cancel|hold\s+on|hang\s+on|'
                   r"never\s*mind|don't\s+move|do\s+not\s+move)\b", re.IGNORECASE)
_ACTIONS_KNOWN = ('I go to, look at, find, pick up and follow objects, move, turn, come back, '
                  'stop and classify, and say where I saw things; '
                  "say 'then' between two of them")


# Speech-to-text disfluencies, blanked with spaces of the same length (positions in the text
# stay those of what was said): fillers with their commas, cut-off words, a word said twice.
_FILLER = re.compile(r'\b(?:u+m+|u+h+m*|e+r+m*|e+h+m*|a+h+|h+m+|m{3,}|mhm)\b', re.IGNORECASE)
# Next to these a filler's commas go too ('go to the, um, blue box'); between two other
# words the first comma stays ('the blue box, er, red box' is two objects, not one called
# 'blue box red box').
_FUNCTION_WORDS = frozenset(('the', 'a', 'an', 'to', 'at', 'of', 'for', 'and', 'then', 'no',
                             'that', 'this', 'my', 'your', 'some', 'any', 'towards', 'toward',
                             'near', 'by', 'on', 'in', 'is', 'mean'))
_CUT_OFF = re.compile(r'\b[a-z]+-(?=[\s,]|$)', re.IGNORECASE)
_SAID_TWICE = re.compile(r'\b([a-z]+(?:\'[a-z]+)?)\s*,?\s+(?=\1\b)', re.IGNORECASE)
_SIGNS = frozenset(('minus', 'negative'))


def _counted(word: str) -> bool:
    """Tell a number or a sign: said twice, it is an error to report, not a stutter."""
    try:
        text2num(word, 'en')
    except ValueError:
        return word in _SIGNS
    return True


def _blank(match: re.Match) -> str:
    return ' ' * len(match[0])


def _blank_fillers(text: str) -> str:
    """Blank each filler with the commas around it (one kept between two words)."""
    chars = list(text)
    for match in _FILLER.finditer(text):
        left, right = match.start(), match.end()
        while left > 0 and text[left - 1] in ' ,;':
            left -= 1
        while right < len(text) and text[right] in ' ,;.':
            right += 1
        before = re.search(r'[\w\']*$', text[:left])[0].lower()
        after = re.match(r'[\w\']*', text[right:])[0].lower()
        comma = text.find(',', left, match.start())
        between_words = before and after and not _FILLER.fullmatch(before) and \
            not _FILLER.fullmatch(after) and not after[0].isdigit() and not _counted(after) \
            and not {before, after} & _FUNCTION_WORDS
        for index in range(left, right):
            if not (between_words and index == comma):
                chars[index] = ' '
    return ''.join(chars)


def _without_disfluencies(text: str) -> str:
    """Blank 'um', 'uh', 'er', 'hmm', cut-off words ('bl-') and repeated words ('the the')."""
    text = _blank_fillers(text)
    text = _CUT_OFF.sub(_blank, text)
    return _SAID_TWICE.sub(
        lambda m: m[0] if _counted(m[1].lower()) else _blank(m), text)


@v_args(meta=True)
class _Steps(Transformer):
    """Parse tree -> steps; refuses (CommandError) what parses but cannot be done."""

    def __init__(self, text: str, raw: str, amounts: SpokenAmounts):
        super().__init__()
        self._text, self._raw, self._amounts = text, raw, amounts

    def _said(self, meta) -> str:
        return ' '.join(self._text[meta.start_pos:meta.end_pos].split())

    def _refuse(self, problem: str, example: str) -> CommandError:
        return CommandError(f"'{self._raw}': {problem}, e.g. '{example}'")

    def __default__(self, data, children, meta):
        """Read a rule named after a relation as that relation; any other rule as its words."""
        return Relation(data) if data in _RELATION_NAMES else self._said(meta).lower()

    # -- command and sequence -------------------------------------------------------------
    def start(self, meta, children):
        (steps,) = children
        if isinstance(steps, (_Repeat, FollowUp)):
            return steps
        return steps if isinstance(steps, tuple) else (steps,)

    def repeat(self, meta, children):
        return _Repeat(self._said(meta))

    def correction(self, meta, children):
        """Read 'no, the red one', 'the one on the left'; refuse one that says nothing new."""
        (item,) = children
        if isinstance(item, FollowUp):
            return item
        if not item.words and item.referring is None:
            # 'that one', 'the one': a pointing gesture the robot cannot see.
            raise self._refuse("which one? Say what it looks like, where it is, or 'the "
                               "other one'", 'no, the one on the left')
        return FollowUp(FollowUpKind.CORRECTION, attributes=item.words,
                        referring=item.referring)

    def other(self, meta, children):
        """Read 'the other one', 'not that one', 'the other red box': not the one chosen."""
        target = next((child for child in children if isinstance(child, str)), '')
        return FollowUp(FollowUpKind.CORRECTION, target=target, other=True)

    def restated(self, meta, children):
        """'no, the red box on the left': the object meant instead of the one chosen."""
        (item,) = children
        return FollowUp(FollowUpKind.CORRECTION, target=item.target, referring=item.referring)

    def step_repair(self, meta, children):
        return _REPAIR

    def cancel(self, meta, children):
        return Step(Intent.STOP, text=self._said(meta))

    def sequence(self, meta, children):
        if any(isinstance(item, Step) and item.intent == Intent.STOP for item in children):
            # 'stop, stop!' is one stop, and a stop said anywhere ('go to the box, wait')
            # stops at once: a person who says it means it now, whatever came before.
            return (Step(Intent.STOP, text=self._said(meta)),)
        steps: list[Step] = []
        repairing = False
        for item in children:
            if item is _REPAIR:  # 'X, no, Y': Y replaces X
                repairing = True
                continue
            if repairing:
                steps.pop()
                repairing = False
            before = steps[-1] if steps else None
            if isinstance(item, _Refinement):  # '..., then the red one': the object before
                if before is None or not before.needs_grounding:
                    raise self._refuse(f"'{item.text}' names no object, and none comes before "
                                       'it; say which one', SEQUENCE_EXAMPLE)
                item = _Object(with_attributes(before.target, item.words), item.referring,
                               item.text)
            if isinstance(item, _Object):  # a bare object: the verb of the step before
                if not before.intent.grounded:
                    raise self._refuse(f"'{item.text}' has no verb and '{before.text}' has "
                                       'no object verb to lend it; say what to do with it',
                                       SEQUENCE_EXAMPLE)
                item = Step(before.intent, item.target, item.referring, text=item.text,
                            other=item.other)
            elif item.needs_grounding and not item.target:  # 'it': the object before
                if before is None or not before.needs_grounding:
                    raise self._refuse(f"'{item.text}' names no object, and none comes before "
                                       'it; say which one', PRONOUN_EXAMPLE)
                item = replace(item, target=before.target, referring=before.referring,
                               other=before.other)
            steps.append(item)
        if len(steps) > MAX_STEPS:
            raise self._refuse(f'{len(steps)} steps are more than the {MAX_STEPS} I take in '
                               'one command; split it', SEQUENCE_EXAMPLE)
        following = next((step for step in steps[:-1] if step.intent == Intent.FOLLOW), None)
        if following is not None:
            raise self._refuse(f"'{following.text}' goes on until a stop, so nothing can come "
                               'after it; say it last', 'find the red ball, then follow it')
        return tuple(steps)

    def bare(self, meta, children):
        """Read an object said without a verb: '..., then (to) the ball', '..., then dance'."""
        item = next(child for child in children if isinstance(child, (_Object, _Refinement)))
        said = self._said(meta)
        first = said.split()[0].lower()
        if said == item.text and first in _ACTION_VERBS:  # no article: a verb, not an object
            raise self._refuse(f"'{first}' is not an action I know; {_ACTIONS_KNOWN}",
                               SEQUENCE_EXAMPLE)
        return item._replace(text=said)

    def listed(self, meta, children):
        raise self._refuse(f"', {self._said(meta)}' after a step: another step, or a correction "
                           "of the object? say 'then' for another step, 'no' or 'I mean' to "
                           'correct', SEQUENCE_EXAMPLE)

    def and_bare(self, meta, children):
        raise self._refuse(f"'{self._said(meta)}' has no verb; to go on to another object "
                           "say 'then'", SEQUENCE_EXAMPLE)

    # -- steps ----------------------------------------------------------------------------
    def _grounded(self, intent: Intent, meta, children) -> Step:
        item = next((child for child in children if isinstance(child, _Object)), None)
        if item is None:
            raise self._refuse(f"no object named after '{children[0]}'; say which one",
                               EXAMPLE[intent])
        # 'go back to the box', 'the box you saw': where the memory saw it
        remembered = _SEEN in children or \
            isinstance(children[0], str) and 'back' in children[0].split()
        return Step(intent, item.target, item.referring, text=self._said(meta),
                    other=item.other, remembered=remembered)

    def seen(self, meta, children):
        return _SEEN

    where_seen = seen

    def recall(self, meta, children):
        """Read 'where did you see the red ball?', 'what have you seen?'."""
        item = next((child for child in children if isinstance(child, _Object)), None)
        return Step(Intent.RECALL, item.target if item else '',
                    item.referring if item else None, text=self._said(meta))

    def forget(self, meta, children):
        """Read 'forget what you have seen' (everything) and 'forget the red box' (that)."""
        item = next((child for child in children if isinstance(child, _Object)), None)
        return Step(Intent.FORGET, item.target if item else '', text=self._said(meta))

    def come_back(self, meta, children):
        return Step(Intent.RETURN, origin=Origin.COMMAND, text=self._said(meta))

    def return_start(self, meta, children):
        return Step(Intent.RETURN, origin=Origin.START, text=self._said(meta))

    def approach(self, meta, children):
        return self._grounded(Intent.APPROACH, meta, children)

    def face(self, meta, children):
        return self._grounded(Intent.FACE, meta, children)

    def find(self, meta, children):
        return self._grounded(Intent.FIND, meta, children)

    def pick(self, meta, children):
        return self._grounded(Intent.PICK, meta, children)

    def follow(self, meta, children):
        return self._grounded(Intent.FOLLOW, meta, children)

    def follow_me(self, meta, children):
        """Read 'follow me' as following the person who says it: a person to ground."""
        return Step(Intent.FOLLOW, 'person', text=self._said(meta))

    def stop(self, meta, children):
        return Step(Intent.STOP, text=self._said(meta))

    def classify(self, meta, children):
        prompts = tuple(children[1:])
        if len(prompts) < 2:
            raise self._refuse('classification needs at least two prompts',
                               EXAMPLE[Intent.CLASSIFY])
        return Step(Intent.CLASSIFY, prompts=prompts, text=self._said(meta))

    def closer(self, meta, children):
        """Read 'get closer', 'come a bit closer' as forward by the small amount."""
        return Step(Intent.MOVE, distance=self._amounts.small_move, text=self._said(meta))

    def move(self, meta, children):
        signs = [child for child in children if isinstance(child, float)]
        sign = signs[-1] if signs else 1.0  # 'forward, no, backward': the later one
        distance = self._amount(Intent.MOVE, children, self._amounts.default_move)
        return Step(Intent.MOVE, distance=sign * distance, text=self._said(meta))

    def sideways(self, meta, children):
        raise self._refuse('the base drives only forward or backward, not sideways; turn '
                           'first', 'turn left, then move forward 1 meter')

    def _turn(self, meta, children, default: float, needs_side: bool) -> Step:
        sides = [child for child in children if isinstance(child, float)]
        if needs_side and not sides:
            raise self._refuse('turn which way? say left or right', EXAMPLE[Intent.TURN])
        angle = self._amount(Intent.TURN, children, default)
        # 'left, no, right': the later side
        return Step(Intent.TURN, angle=(sides[-1] if sides else 1.0) * angle,
                    text=self._said(meta))

    def turn(self, meta, children):
        return self._turn(meta, children, math.radians(self._amounts.default_turn_deg),
                          needs_side=True)

    def turn_around(self, meta, children):
        return self._turn(meta, children, TURN_AROUND_RAD, needs_side=False)

    def spin(self, meta, children):
        return self._turn(meta, children, SPIN_RAD, needs_side=False)

    def forward(self, meta, children):
        return 1.0

    def backward(self, meta, children):
        return -1.0

    left = forward    # counter-clockwise is positive (REP-103)
    right = backward

    # -- amounts --------------------------------------------------------------------------
    def _amount(self, intent: Intent, children, default: float) -> float:
        """Get the quantity among ``children`` in metres (MOVE) or radians (TURN), else default."""
        quantities = [child for child in children if isinstance(child, _Quantity)]
        if not quantities:
            return default
        quantity = quantities[-1]  # 'two, I mean three meters': the later one
        if quantity.small:
            return self._amounts.small_move if intent == Intent.MOVE else \
                math.radians(self._amounts.small_turn_deg)
        if not quantity.unit:
            raise self._refuse(f"'{quantity.text}' has no unit; say which", EXAMPLE[intent])
        try:
            value = _units().Quantity(quantity.value, quantity.unit).to(
                _AMOUNT_UNIT[intent]).magnitude
        except pint.DimensionalityError:
            raise self._refuse(f"'{quantity.text}' is not {_AMOUNT_KIND[intent]}",
                               EXAMPLE[intent]) from None
        limit = _AMOUNT_LIMIT[intent]
        if value < 0:
            raise self._refuse(f"'{quantity.text}' is negative; say the amount without a sign "
                               'and the way to go (backward, right)', 'move backward 1 meter')
        if value == 0:
            raise self._refuse(f"'{quantity.text}' is nothing to do", EXAMPLE[intent])
        if value > limit:
            raise self._refuse(
                f"'{quantity.text}' is more than the limit of {amount_text(intent, limit)} "
                'for one step; ask for less', EXAMPLE[intent])
        return float(value)

    def quantity(self, meta, children):
        """Add up a quantity: 'a metre' is one metre; 'one and a half' adds up its parts."""
        numbers = [child for child in children if isinstance(child, float)]
        units = [child for child in children if isinstance(child, str)]
        return _Quantity(sum(numbers) if numbers else 1.0, units[0] if units else '',
                         self._said(meta))

    def count(self, meta, children):
        (number,) = children
        return float(number)

    def number_words(self, meta, children):
        said = self._said(meta).lower()
        try:
            return float(text2num(said, 'en'))
        except ValueError:
            raise self._refuse(f"'{said}' is not a number I understand",
                               EXAMPLE[Intent.MOVE]) from None

    def pi(self, meta, children):
        return math.pi

    def negative(self, meta, children):
        if children[0] < 0:
            raise self._refuse(f"'{self._said(meta)}' has more than one sign",
                               'move backward 1 meter')
        return -children[0]

    def few(self, meta, children):
        """Read 'a few centimetres', 'a few degrees' as three of the unit."""
        units = [child for child in children if isinstance(child, str)]
        return _Quantity(3.0, units[0], self._said(meta))

    def small(self, meta, children):
        return _Quantity(0.0, '', self._said(meta), small=True)

    def half(self, meta, children):
        return 0.5

    def quarter(self, meta, children):
        return 0.25

    # -- objects --------------------------------------------------------------------------
    def np(self, meta, children):
        """
        Return the object's words as said, without punctuation; refuse words of no object.

        For example 'black and white box', without any punctuation between the words: only words
        reach CLIP. What CLIP grounds must be a noun phrase: a verb joined by 'and' ('the blue
        box and dance'), two objects joined by 'and', a clause or an adverb of manner would
        slip into the phrase, and with real CLIP (no vocabulary to refuse them) the robot would
        drive to whatever matches the rest. Every object phrase of every rule comes here.
        """
        said = _PHRASE_TOKEN.findall(self._said(meta).lower())
        problem = _not_a_noun_phrase(said)
        if problem:
            raise self._refuse(problem, SEQUENCE_EXAMPLE)
        return ' '.join(token for token in said if token != ',')

    def words(self, meta, children):
        (words,) = children
        return _Words(words)

    def refinement(self, meta, children):
        """Read 'the red one', 'the big one', 'the one on the left' (said after an object)."""
        said = next((child.words for child in children if isinstance(child, _Words)), '')
        relations = [child for child in children if isinstance(child, Relation)]
        reference = next((child for child in children
                          if isinstance(child, str) and not isinstance(child, Relation)), '')
        choosing = [word for word in said.split() if word in _WORD_RELATIONS]
        relations += [_WORD_RELATIONS[word] for word in choosing]
        if len(relations) > 1:
            raise self._refuse(f"'{self._said(meta)}' chooses two ways at once; say one",
                               REFERRING_EXAMPLE)
        words = ' '.join(word for word in said.split() if word not in _WORD_RELATIONS)
        referring = Referring(relations[0], reference=reference) if relations else None
        return _Refinement(words, referring, self._said(meta))

    def refined(self, meta, children):
        """Join a refinement's words and relation to the object: 'the ball, the red one'."""
        item, refinement = children
        if item.referring is not None and refinement.referring is not None:
            raise self._refuse(f"'{self._said(meta)}' chooses two ways at once; say one",
                               REFERRING_EXAMPLE)
        new = [word for word in refinement.words.split() if word not in item.target.split()]
        target = ' '.join([*new, item.target])
        return _Object(target, item.referring or refinement.referring, self._said(meta))

    def qualified(self, meta, children):
        """Read 'the box that is red': the clause's words describe the object."""
        target, words = children
        return _Object(f'{words} {target}', None, self._said(meta))

    def rerefined(self, meta, children):
        """Read 'the red box, no, the blue one': the correction's words and relation win."""
        item, refinement = children
        target = with_attributes(item.target, refinement.words) if refinement.words \
            else item.target
        return _Object(target, refinement.referring, self._said(meta))

    def repaired(self, meta, children):
        """Keep the later object of 'the blue, no, the red box', as said after the repair."""
        first, item = children
        said = self._said(meta)
        before_item = said[:len(said) - len(item.text)].split()
        if len(first.split()) > 1 and len(item.target.split()) == 1 and \
                before_item[-1].lower() not in _ARTICLES:
            raise self._refuse(f"which words of '{first}' does '{item.target}' replace? say "
                               'the whole object after the correction',
                               'go to the blue box, no, the red box')
        return item._replace(text=said)

    def another(self, meta, children):
        """Mark 'the other red box', 'another cube': not the object chosen before."""
        (item,) = children
        return item._replace(text=self._said(meta), other=True)

    def it(self, meta, children):
        return _Object('', None, self._said(meta))

    def plain(self, meta, children):
        """Read an object's words; a comparative first chooses: 'the bigger box'."""
        (target,) = children
        first, _, rest = target.partition(' ')
        if first in _COMPARATIVES and rest:
            return _Object(rest, Referring(_COMPARATIVES[first]), self._said(meta))
        return _Object(target, None, self._said(meta))

    def described(self, meta, children):
        """Read a relation without a reference: 'the leftmost box', 'the box on the left'."""
        (relation,) = [child for child in children if isinstance(child, Relation)]
        (target,) = [child for child in children if not isinstance(child, Relation)]
        return _Object(target, Referring(relation), self._said(meta))

    def related(self, meta, children):
        target, relation, reference = children
        return _Object(target, Referring(relation, reference=reference), self._said(meta))

    def counted(self, meta, children):
        ordinal, target, side = children
        return _Object(target, Referring(side, ordinal=ordinal), self._said(meta))

    def uncounted(self, meta, children):
        raise self._refuse(f"'{self._said(meta)}': counted from the left or from the right?",
                           REFERRING_EXAMPLE)

    def ordinal(self, meta, children):
        said = self._said(meta).lower()
        match = re.fullmatch(r'(\d+)(st|nd|rd|th)', alpha2digit(said, 'en', threshold=0))
        if not match or int(match[1]) < 1 or ordinal_text(int(match[1])) != match[0]:
            raise self._refuse(f"'{said}' is not an ordinal I understand", REFERRING_EXAMPLE)
        return int(match[1])


def _not_understood(raw: str, error: UnexpectedInput) -> CommandError:
    """Where the parser lost the thread, and what works instead."""
    if isinstance(error, UnexpectedToken) and error.token.type != '$END':
        where = f" (lost at '{raw[error.token.start_pos:]}')"
    elif isinstance(error, UnexpectedCharacters):
        where = f" (lost at '{raw[error.pos_in_stream:]}')"
    else:
        where = ' (it ends too early)'
    return CommandError(f"'{raw}' is not a command I understand{where}; try for example: "
                        + '; '.join(EXAMPLES))


def parse_command(text: str, amounts: SpokenAmounts | None = None) -> Command:
    """
    Parse a command; raise :class:`CommandError` when it is empty or not understood.

    ``amounts`` say what a move or turn without a number means (None: the defaults). A
    follow-up ("again", "no, the other one") comes back with ``followup`` set and no steps:
    :class:`.dialogue.Dialogue` resolves it against what was said before.
    """
    if text is None or not str(text).strip():
        raise CommandError('empty command; try for example: ' + '; '.join(EXAMPLES))
    raw = str(text)
    if len(raw) > MAX_COMMAND_CHARS:
        raise CommandError(f'a command of {len(raw)} characters is longer than the '
                           f'{MAX_COMMAND_CHARS} I read; say it in parts, e.g. '
                           f"'{SEQUENCE_EXAMPLE}'")
    # The typographic apostrophe and disfluencies: same length, so the same positions.
    normal = _without_disfluencies(raw.replace('\u2019', "'"))
    if not normal.strip(' ,;.!?'):
        raise CommandError(f"'{raw}' says nothing to do; try for example: "
                           + '; '.join(EXAMPLES))
    stop = Command(raw, (Step(Intent.STOP, text=' '.join(normal.split())),))
    try:
        tree = _parser().parse(normal)
    except UnexpectedInput as error:
        if _HALT.search(normal):  # 'go to the blue wait box': the stop is heard
            return stop
        raise _not_understood(raw, error) from None
    try:
        said = _Steps(normal, raw, amounts or SpokenAmounts()).transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, CommandError):
            if any(tree.find_pred(lambda t: t.data in ('stop', 'cancel'))):
                return stop  # 'go to the box, then, wait, the ball': refused, but it stops
            raise error.orig_exc from None
        raise
    if isinstance(said, _Repeat):
        return Command(raw, (), FollowUp(FollowUpKind.REPEAT))
    if isinstance(said, FollowUp):
        return Command(raw, (), said)
    return Command(raw, said)
