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
    DEFAULT_DISTANCE_M,
    DEFAULT_TURN_RAD,
    EXAMPLE,
    EXAMPLES,
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
    Step,
    TURN_AROUND_RAD,
)
from ..contract.protocol import Intent  # noqa: E402

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


class _Quantity(NamedTuple):
    value: float
    unit: str   # '' when no unit was said
    text: str


_OBJECT_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")


@v_args(meta=True)
class _Steps(Transformer):
    """Parse tree -> steps; refuses (CommandError) what parses but cannot be done."""

    def __init__(self, text: str, raw: str):
        super().__init__()
        self._text, self._raw = text, raw

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
        return steps if isinstance(steps, tuple) else (steps,)

    def sequence(self, meta, children):
        steps: list[Step] = []
        for item in children:
            before = steps[-1] if steps else None
            if isinstance(item, _Object):  # a bare object: the verb of the step before
                if not before.intent.grounded:
                    raise self._refuse(f"'{item.text}' has no verb and '{before.text}' has "
                                       'no object verb to lend it; say what to do with it',
                                       SEQUENCE_EXAMPLE)
                item = Step(before.intent, item.target, item.referring, text=item.text)
            elif item.needs_grounding and not item.target:  # 'it': the object before
                if before is None or not before.needs_grounding:
                    raise self._refuse(f"'{item.text}' names no object, and none comes before "
                                       'it; say which one', PRONOUN_EXAMPLE)
                item = replace(item, target=before.target, referring=before.referring)
            steps.append(item)
        if all(step.intent == Intent.STOP for step in steps):  # 'stop, stop!' is one stop
            return (Step(Intent.STOP, text=self._said(meta)),)
        if any(step.intent == Intent.STOP for step in steps):
            raise self._refuse('stop cannot be a step of a sequence; say it on its own and '
                               'the robot stops at once', EXAMPLE[Intent.STOP])
        if len(steps) > MAX_STEPS:
            raise self._refuse(f'{len(steps)} steps are more than the {MAX_STEPS} I take in '
                               'one command; split it', SEQUENCE_EXAMPLE)
        return tuple(steps)

    def bare(self, meta, children):
        (item,) = children
        return item._replace(text=self._said(meta))

    def and_bare(self, meta, children):
        raise self._refuse(f"'{self._said(meta)}' has no verb; to go on to another object "
                           "say 'then'", SEQUENCE_EXAMPLE)

    # -- steps ----------------------------------------------------------------------------
    def _grounded(self, intent: Intent, meta, children) -> Step:
        item = next((child for child in children if isinstance(child, _Object)), None)
        if item is None:
            raise self._refuse(f"no object named after '{children[0]}'; say which one",
                               EXAMPLE[intent])
        return Step(intent, item.target, item.referring, text=self._said(meta))

    def approach(self, meta, children):
        return self._grounded(Intent.APPROACH, meta, children)

    def face(self, meta, children):
        return self._grounded(Intent.FACE, meta, children)

    def find(self, meta, children):
        return self._grounded(Intent.FIND, meta, children)

    def pick(self, meta, children):
        return self._grounded(Intent.PICK, meta, children)

    def stop(self, meta, children):
        return Step(Intent.STOP, text=self._said(meta))

    def classify(self, meta, children):
        prompts = tuple(children[1:])
        if len(prompts) < 2:
            raise self._refuse('classification needs at least two prompts',
                               EXAMPLE[Intent.CLASSIFY])
        return Step(Intent.CLASSIFY, prompts=prompts, text=self._said(meta))

    def move(self, meta, children):
        sign = next((child for child in children if isinstance(child, float)), 1.0)
        distance = self._amount(Intent.MOVE, children, DEFAULT_DISTANCE_M)
        return Step(Intent.MOVE, distance=sign * distance, text=self._said(meta))

    def sideways(self, meta, children):
        raise self._refuse('the base drives only forward or backward, not sideways; turn '
                           'first', 'turn left, then move forward 1 meter')

    def _turn(self, meta, children, default: float, needs_side: bool) -> Step:
        sides = [child for child in children if isinstance(child, float)]
        if needs_side and not sides:
            raise self._refuse('turn which way? say left or right', EXAMPLE[Intent.TURN])
        angle = self._amount(Intent.TURN, children, default)
        return Step(Intent.TURN, angle=(sides[0] if sides else 1.0) * angle,
                    text=self._said(meta))

    def turn(self, meta, children):
        return self._turn(meta, children, DEFAULT_TURN_RAD, needs_side=True)

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
        quantity = next((child for child in children if isinstance(child, _Quantity)), None)
        if quantity is None:
            return default
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

    def half(self, meta, children):
        return 0.5

    def quarter(self, meta, children):
        return 0.25

    # -- objects --------------------------------------------------------------------------
    def np(self, meta, children):
        """
        Return the object's words as said, without punctuation.

        For example 'black and white box', without any punctuation between the words: only words
        reach CLIP.
        """
        return ' '.join(_OBJECT_WORD.findall(self._said(meta).lower()))

    def it(self, meta, children):
        return _Object('', None, self._said(meta))

    def plain(self, meta, children):
        (target,) = children
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


def parse_command(text: str) -> Command:
    """Parse a command; raise :class:`CommandError` when it is empty or not understood."""
    if text is None or not str(text).strip():
        raise CommandError('empty command; try for example: ' + '; '.join(EXAMPLES))
    raw = str(text)
    if len(raw) > MAX_COMMAND_CHARS:
        raise CommandError(f'a command of {len(raw)} characters is longer than the '
                           f'{MAX_COMMAND_CHARS} I read; say it in parts, e.g. '
                           f"'{SEQUENCE_EXAMPLE}'")
    normal = raw.replace('\u2019', "'")  # typographic apostrophe; same length, same positions
    parser = _parser()
    try:
        tree = parser.parse(normal)
    except UnexpectedInput as error:
        raise _not_understood(raw, error) from None
    try:
        steps = _Steps(normal, raw).transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, CommandError):
            raise error.orig_exc from None
        raise
    return Command(raw, steps)
