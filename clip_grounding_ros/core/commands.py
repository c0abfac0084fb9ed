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

Why a written grammar (``_GRAMMAR``, parsed by lark's Earley parser): a robot should refuse
what it does not understand rather than guess, and a grammar says exactly what is understood,
as a reviewer can read it. Sentences that parse but cannot be done (no object, an amount past
the limit, a stop inside a sequence, ...) are refused with a message that names the problem
and gives an example that works. Every word the grammar consumes (verbs, polite words,
articles, relation words, ordinals, numbers, units) stays out of ``Step.target`` and
``Referring.reference``: those hold only the object's own words, which is all that CLIP and
the closed-vocabulary gate of the perception see.

Units and frames (REP-103, base_link): ``Step.distance`` is in metres along +x (forward
positive, backward negative); ``Step.angle`` is in radians about +z (counter-clockwise, i.e.
left, positive). Amounts are said in any unit of the grammar and converted with pint; numbers
may be digits or words (text2num).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
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


class Intent(str, Enum):
    """What one step asks for."""

    APPROACH = 'approach'  # drive to the target and stop short of it
    FACE = 'face'          # turn in place toward the target
    FIND = 'find'          # turn toward the target once it is found
    PICK = 'pick'          # approach (grasping needs an arm; not part of this package)
    STOP = 'stop'
    CLASSIFY = 'classify'  # zero-shot classification of each frame
    MOVE = 'move'          # relative translation on odometry: forward (+) / backward (-)
    TURN = 'turn'          # relative rotation on odometry: left (+, counter-clockwise) / right (-)

    def __str__(self) -> str:
        return self.value


class Relation(str, Enum):
    """
    How a referring expression picks one of several grounded candidates.

    Left, right, front and behind are from the robot's point of view (its camera).
    """

    LEFTMOST = 'leftmost'        # 'the box on the left', 'the leftmost box'
    RIGHTMOST = 'rightmost'
    MIDDLE = 'middle'            # 'the box in the middle'
    NEAREST = 'nearest'          # nearest / closest
    FARTHEST = 'farthest'        # farthest / furthest
    BIGGEST = 'biggest'          # biggest / largest
    SMALLEST = 'smallest'
    NEXT_TO = 'next_to'          # relative to Referring.reference: 'the box next to the ball'
    LEFT_OF = 'left_of'
    RIGHT_OF = 'right_of'
    IN_FRONT_OF = 'in_front_of'  # between the reference and the robot
    BEHIND = 'behind'
    ORDINAL_LEFT = 'ordinal_left'    # 'the second box from the left' (Referring.ordinal = 2)
    ORDINAL_RIGHT = 'ordinal_right'

    def __str__(self) -> str:
        return self.value


# How each relation reads in Step.describe(); {ordinal} is '2nd', '3rd', ...
_RELATION_TEXT = {
    Relation.LEFTMOST: '{target} on the left', Relation.RIGHTMOST: '{target} on the right',
    Relation.MIDDLE: '{target} in the middle', Relation.NEAREST: 'nearest {target}',
    Relation.FARTHEST: 'farthest {target}', Relation.BIGGEST: 'biggest {target}',
    Relation.SMALLEST: 'smallest {target}', Relation.NEXT_TO: '{target} next to the {reference}',
    Relation.LEFT_OF: '{target} left of the {reference}',
    Relation.RIGHT_OF: '{target} right of the {reference}',
    Relation.IN_FRONT_OF: '{target} in front of the {reference}',
    Relation.BEHIND: '{target} behind the {reference}',
    Relation.ORDINAL_LEFT: '{ordinal} {target} from the left',
    Relation.ORDINAL_RIGHT: '{ordinal} {target} from the right',
}

# Amounts. A bare 'move forward' is a short, safe nudge; a bare 'turn left' a right angle.
DEFAULT_DISTANCE_M = 0.5
DEFAULT_TURN_RAD = math.pi / 2
TURN_AROUND_RAD = math.pi        # 'turn around'
SPIN_RAD = 2 * math.pi           # 'spin', 'turn all the way around'
# Beyond these a command is refused: a relative move is path-checked (slowed, stopped) but
# not steered around obstacles, so it stays within the few metres a camera sees; two full
# turns cover any reorientation.
MAX_DISTANCE_M = 5.0
MAX_TURN_RAD = 4 * math.pi
MAX_STEPS = 10                   # a longer sequence is more likely misheard than meant
MAX_COMMAND_CHARS = 400          # bounds the parser's work on pasted text

_GROUNDED = (Intent.APPROACH, Intent.FACE, Intent.FIND, Intent.PICK)
_VERB_TEXT = {Intent.APPROACH: 'go to', Intent.FACE: 'look at', Intent.FIND: 'find',
              Intent.PICK: 'pick up'}
# Examples use words the bundled simulator model knows too, so a suggestion always works.
_EXAMPLE = {Intent.APPROACH: 'go to the blue box', Intent.FACE: 'look at the white pillar',
            Intent.FIND: 'find the yellow cube', Intent.PICK: 'pick up the red ball',
            Intent.STOP: 'stop', Intent.CLASSIFY: 'classify: a red box, a blue ball',
            Intent.MOVE: 'move forward 1 meter', Intent.TURN: 'turn left 90 degrees'}
_REFERRING_EXAMPLE = 'go to the second box from the left'
_SEQUENCE_EXAMPLE = 'go to the blue box, then the red ball'
_PRONOUN_EXAMPLE = 'find the red ball, then pick it up'
EXAMPLES = (*_EXAMPLE.values(), _REFERRING_EXAMPLE, _SEQUENCE_EXAMPLE)

# The grammar, case-insensitive, over words (WORD: any word the grammar does not name).
# Rule names that are Relation values stand for that relation; aliases (-> name) name what an
# alternative means. Priorities resolve the few real ambiguities: a noun_word (a grammar word
# that may also name an object, 'stop sign') loses to its grammar reading; 'and' followed by
# a bare object joins words of one object ('black and white box') before it is refused; an
# ordinal without a side ('the second box', refused) loses to a noun ('the first aid kit').
_GRAMMAR = r"""
start: _lead* (classify _closings | sequence)
_lead: (_filler | "first") ","?
_filler: "hey" | "ok" | "okay" | "robot" | "please" | "kindly" | "now"
       | ("could" | "can" | "would" | "will") "you"
       | "i" ("want" | "need") "you" "to" | ("i'd" | "i" "would") "like" "you" "to"
       | "let's" | "let" "us"
_closings: (","? _closing)*
_closing: "please" | "for" "me" | "thanks" | "thank" "you" | "now" | "right" "now"
        | "quickly" | "slowly"

// -- sequences: "X, then Y", "X and then Y", "first X, after that Y", "X and <verb> Y" -----
sequence: _step (_link _step | _then bare | and_bare)*
_step: _action _closings
_action: approach | face | find | pick | move | turn | turn_around | spin | sideways | stop
_link: (_then | _and) _lead*
_then: _comma? _then_word ","? | _comma
_then_word: "and"? ("then" | "after" "that" | "afterwards" | "finally")
_and: _comma? "and"
_comma: "," | ";"
bare: _det? object                  // the verb of the step before: "..., then the red ball"
and_bare.-1: _and _det? object      // refused: say "then"

// -- stop ---------------------------------------------------------------------------------
stop: _halt+                        // "stop stop stop" is one stop
_halt: ("emergency" | "e")? "stop" _stop_object? | "halt" | "freeze" | "abort"
     | "cancel" _stop_object? | "stay" ("there" | "here" | "put")?
     | ("stand" | "hold" | "keep") "still" | ("don't" | "do" "not") "move"
_stop_object: "moving" | "it" | "that" | "everything" | "there" | "right" "there" | "here"
            | "immediately" | "all" | "the" "robot"

// -- steps that ground an object ("it": the object of the step before) --------------------
_what: _det? object? | it
it: "it" | "them"
approach: approach_verb _what
approach_verb: _go ("right" | "straight")? ("over" | "up" | "back")? _toward
             | "head" "for" | "approach" | "reach" | ("take" | "bring") "me" "to"
_toward: "to" | "towards" | "toward" | "near"
_go: "go" | "drive" | "move" | "navigate" | "head" | "come" | "walk" | "run" | "get" | "roll"
face: face_verb _what
face_verb: ("look" | "point" | "stare") ("at" | "towards" | "toward") | "point" "to"
         | "turn" ("to" | "towards" | "toward") | "face" | "watch" | "track"
find: find_verb _what
find_verb: "find" | ("search" | "look" | "hunt") "around"? "for" | "locate"
         | "where" ("is" | "are") | "where's" | "seek"
pick: pick_verb _what | "pick" (_det? object | it) "up"
pick_verb: "pick" "up"? | "grab" | "grasp" | "fetch" | "get" | "collect" | "take"
         | "bring" "me"

// -- relative motion on odometry ----------------------------------------------------------
move: _move_verb? (forward | backward) _amount? | _move_verb _amount (forward | backward)?
sideways: _move_verb (_side | "sideways") _amount?        // refused: the base cannot strafe
_move_verb: "move" | "go" | "drive" | "step" | "roll" | "walk" | "head" | "run" | "travel"
forward: "forward" | "forwards" | "ahead" | "straight" "ahead"?
backward: "back" "up"? | "backward" | "backwards" | "back" "off" | "reverse" | "in" "reverse"
        | "retreat"
turn: _turn_verb _side _amount? | (_turn_verb | "make" | "do") _amount _side?
turn_around: _turn_verb "around" _side?
spin: ("spin" "around"? | _turn_verb "all" "the" "way" "around") _side?
_turn_verb: "turn" | "rotate" | "pivot"
_side: left | right
left: (("to" | "towards") _det?)? "left" | "counterclockwise" | "anticlockwise"
    | "counter" "clockwise"
right: (("to" | "towards") _det?)? "right" | "clockwise"
_amount: ("by" | "for" | "about")? quantity

// -- amounts: "1.5 m", "two meters", "half a metre", "one and a half feet", "a quarter turn"
quantity: count unit? | count "and" "a" fraction unit
        | "a"? fraction ("of"? ("a" | "an"))? unit | ("a" | "an") unit
count: NUMBER | number_words | "pi" -> pi | ("minus" | "negative") count -> negative
number_words: _number_word+ ("and" _number_word+)?
_number_word: "zero" | "one" | "two" | "three" | "four" | "five" | "six" | "seven" | "eight"
            | "nine" | "ten" | "eleven" | "twelve" | "thirteen" | "fourteen" | "fifteen"
            | "sixteen" | "seventeen" | "eighteen" | "nineteen" | "twenty" | "thirty"
            | "forty" | "fifty" | "sixty" | "seventy" | "eighty" | "ninety" | "hundred"
            | "thousand"
fraction: "half" -> half | "quarter" -> quarter
unit: "m" | "meter" | "meters" | "metre" | "metres" | "cm" | "centimeter" | "centimeters"
    | "centimetre" | "centimetres" | "mm" | "millimeter" | "millimeters" | "millimetre"
    | "millimetres" | "ft" | "foot" | "feet" | "in" | "inch" | "inches" | "yard" | "yards"
    | "deg" | "degree" | "degrees" | "°" | "rad" | "radian" | "radians" | "turn" | "turns"
    | "revolution" | "revolutions"

// -- objects and referring expressions ----------------------------------------------------
object: np -> plain
      | superlative np -> described
      | np location -> described
      | np relation _det? np -> related
      | ordinal np from_side -> counted
      | uncounted
uncounted.-2: ordinal np            // refused: from which side? ("first aid kit" is an object)
np: _nword+ (("and" | "of") _nword+)*
_nword: WORD | noun_word
noun_word.-1: "can" | "stop" | "face" | "watch" | "track" | "point" | "head" | "robot"
            | "front" | "back" | "side" | "hand" | "middle" | "center" | "centre" | "reverse"
            | "drive" | "roll" | "step" | "foot" | "yard" | "quarter" | "counter" | "stand"
            | "travel" | "first"
superlative: ("leftmost" | "left" ("most" | "hand")?) -> leftmost
           | ("rightmost" | "right" ("most" | "hand")?) -> rightmost
           | ("middle" | "center" | "centre" | "central") -> middle
           | ("nearest" | "closest") -> nearest
           | ("farthest" | "furthest") -> farthest
           | ("biggest" | "largest") -> biggest
           | ("smallest" | "tiniest") -> smallest
location: ("on" | "at" | "to") _det? "left" ("side" | "hand" "side")? -> leftmost
        | ("on" | "at" | "to") _det? "right" ("side" | "hand" "side")? -> rightmost
        | ("in" | "at") _det? ("middle" | "center" | "centre") -> middle
relation: ("next" "to" | "near" "to"? | "beside" | "by" | "close" "to") -> next_to
        | (("to" | "on") _det?)? "left" "of" -> left_of
        | (("to" | "on") _det?)? "right" "of" -> right_of
        | "in" "front" "of" -> in_front_of
        | ("behind" | "in" "back" "of") -> behind
ordinal: "first" | "second" | "third" | "fourth" | "fifth" | "sixth" | "seventh" | "eighth"
       | "ninth" | "tenth" | ORDINAL
from_side: "from" _det? "left" -> ordinal_left | "from" _det? "right" -> ordinal_right
_det: "the" | "a" | "an" | "that" | "this" | "those" | "these" | "some" | "my" | "your"

// -- classification: "classify: a cat, a dog or a bird" -----------------------------------
classify: classify_verb ":"? (prompt (_or prompt)*)?
classify_verb: "classify" | ("what" "is" | "what's") ("this" | "it") | "is" ("this" | "it")
             | "which" "one"? "is" ("this" | "it") | "recognise" | "recognize"
prompt: _pword+
_pword: WORD | NUMBER | noun_word | _det | "of" | "and" | "with" | "in" | "on" | "at" | "to"
      | "from" | "near" | "by" | "behind" | "left" | "right"
_or: "," "or"? | ";" | "|" | "/" | "or"

// -- words ---------------------------------------------------------------------------------
WORD: /[a-z][a-z0-9]*('[a-z]+)?/
NUMBER.2: /[-+]?(\d+(\.\d*)?|\.\d+)/
ORDINAL.3: /\d+(st|nd|rd|th)\b/
%ignore /\s+/
%ignore /[!?."'`\u2018\u201c\u201d\u2014]/    // (NUMBER goes first, so ".5" stays a number)
%ignore /(?<=[a-z])-(?=[a-z])/      // "forty-five", "t-shirt", "e-stop", "counter-clockwise"
"""


class CommandError(ValueError):
    """The command was empty or not understood; the message suggests what works."""


@dataclass(frozen=True)
class Referring:
    """Which of several grounded candidates the command means."""

    relation: Relation
    reference: str = ''   # object phrase for NEXT_TO..BEHIND, e.g. 'red ball'
    ordinal: int = 0      # 1-based, for ORDINAL_LEFT / ORDINAL_RIGHT

    def describe(self, target: str) -> str:
        """
        Describe the target with this relation.

        For example 'red box on the left' or '2nd box from the left'.
        """
        return _RELATION_TEXT[self.relation].format(
            target=target, reference=self.reference, ordinal=_ordinal_text(self.ordinal))


@dataclass(frozen=True)
class Step:
    """
    One thing to do; a command is one or more steps, carried out in order.

    ``distance`` is in metres along the base's +x (forward positive), ``angle`` in radians
    about +z (left, counter-clockwise, positive), both relative to the pose when the step
    starts (REP-103).
    """

    intent: Intent
    target: str = ''                  # the noun phrase CLIP grounds, e.g. 'red box'
    referring: Referring | None = None
    distance: float = 0.0             # metres, MOVE
    angle: float = 0.0                # radians, TURN
    prompts: tuple[str, ...] = ()     # CLASSIFY
    text: str = ''                    # the words of this step as said (apostrophes straight)

    @property
    def moves_base(self) -> bool:
        """
        Whether the step sends the base somewhere (to a target, or by an amount).

        FACE and FIND also turn the base, but only to keep what they see in view.
        """
        return self.intent in (Intent.APPROACH, Intent.PICK, Intent.MOVE, Intent.TURN)

    @property
    def needs_grounding(self) -> bool:
        """Whether the step names an object to find in the images."""
        return self.intent in _GROUNDED

    def describe(self) -> str:
        """Short text for status messages, e.g. 'go to the red box on the left'."""
        if self.intent in _GROUNDED:
            target = self.referring.describe(self.target) if self.referring else self.target
            return f'{_VERB_TEXT[self.intent]} the {target}'
        if self.intent == Intent.MOVE:
            way = 'forward' if self.distance >= 0 else 'backward'
            return f'move {way} {_amount_text(Intent.MOVE, abs(self.distance))}'
        if self.intent == Intent.TURN:
            way = 'left' if self.angle >= 0 else 'right'
            return f'turn {way} {_amount_text(Intent.TURN, abs(self.angle))}'
        if self.intent == Intent.CLASSIFY:
            return 'classify: ' + ', '.join(self.prompts)
        return str(self.intent)


@dataclass(frozen=True)
class Command:
    """A parsed command: its steps in order (a stop is one STOP step)."""

    text: str
    steps: tuple[Step, ...]

    @property
    def is_sequence(self) -> bool:
        return len(self.steps) > 1


def _amount_text(intent: Intent, value: float) -> str:
    """Say a MOVE distance (metres) or TURN angle (radians) back as text: '1.00 m', '90 deg'."""
    return f'{value:.2f} m' if intent == Intent.MOVE else f'{math.degrees(value):.4g} deg'


def _ordinal_text(number: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 22 -> '22nd'."""
    if 10 <= number % 100 <= 20:
        return f'{number}th'
    return f"{number}{({1: 'st', 2: 'nd', 3: 'rd'}).get(number % 10, 'th')}"


_AMOUNT_UNIT = {Intent.MOVE: 'meter', Intent.TURN: 'radian'}
_AMOUNT_LIMIT = {Intent.MOVE: MAX_DISTANCE_M, Intent.TURN: MAX_TURN_RAD}
_AMOUNT_KIND = {Intent.MOVE: 'a distance (m, cm, mm, feet, inches, yards)',
                Intent.TURN: 'an angle (degrees, radians, turns)'}
_RELATION_NAMES = frozenset(relation.value for relation in Relation)


@functools.cache
def _parser() -> Lark:
    """Return the Earley parser (built once, on first use): it accepts any context-free grammar."""
    return Lark(_GRAMMAR, parser='earley', lexer='basic', ambiguity='resolve',
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
                if before.intent not in _GROUNDED:
                    raise self._refuse(f"'{item.text}' has no verb and '{before.text}' has "
                                       'no object verb to lend it; say what to do with it',
                                       _SEQUENCE_EXAMPLE)
                item = Step(before.intent, item.target, item.referring, text=item.text)
            elif item.needs_grounding and not item.target:  # 'it': the object before
                if before is None or not before.needs_grounding:
                    raise self._refuse(f"'{item.text}' names no object, and none comes before "
                                       'it; say which one', _PRONOUN_EXAMPLE)
                item = replace(item, target=before.target, referring=before.referring)
            steps.append(item)
        if all(step.intent == Intent.STOP for step in steps):  # 'stop, stop!' is one stop
            return (Step(Intent.STOP, text=self._said(meta)),)
        if any(step.intent == Intent.STOP for step in steps):
            raise self._refuse('stop cannot be a step of a sequence; say it on its own and '
                               'the robot stops at once', _EXAMPLE[Intent.STOP])
        if len(steps) > MAX_STEPS:
            raise self._refuse(f'{len(steps)} steps are more than the {MAX_STEPS} I take in '
                               'one command; split it', _SEQUENCE_EXAMPLE)
        return tuple(steps)

    def bare(self, meta, children):
        (item,) = children
        return item._replace(text=self._said(meta))

    def and_bare(self, meta, children):
        raise self._refuse(f"'{self._said(meta)}' has no verb; to go on to another object "
                           "say 'then'", _SEQUENCE_EXAMPLE)

    # -- steps ----------------------------------------------------------------------------
    def _grounded(self, intent: Intent, meta, children) -> Step:
        item = next((child for child in children if isinstance(child, _Object)), None)
        if item is None:
            raise self._refuse(f"no object named after '{children[0]}'; say which one",
                               _EXAMPLE[intent])
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
                               _EXAMPLE[Intent.CLASSIFY])
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
            raise self._refuse('turn which way? say left or right', _EXAMPLE[Intent.TURN])
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
            raise self._refuse(f"'{quantity.text}' has no unit; say which", _EXAMPLE[intent])
        try:
            value = _units().Quantity(quantity.value, quantity.unit).to(
                _AMOUNT_UNIT[intent]).magnitude
        except pint.DimensionalityError:
            raise self._refuse(f"'{quantity.text}' is not {_AMOUNT_KIND[intent]}",
                               _EXAMPLE[intent]) from None
        limit = _AMOUNT_LIMIT[intent]
        if value < 0:
            raise self._refuse(f"'{quantity.text}' is negative; say the amount without a sign "
                               'and the way to go (backward, right)', 'move backward 1 meter')
        if value == 0:
            raise self._refuse(f"'{quantity.text}' is nothing to do", _EXAMPLE[intent])
        if value > limit:
            raise self._refuse(
                f"'{quantity.text}' is more than the limit of {_amount_text(intent, limit)} "
                'for one step; ask for less', _EXAMPLE[intent])
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
                               _EXAMPLE[Intent.MOVE]) from None

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
                           _REFERRING_EXAMPLE)

    def ordinal(self, meta, children):
        said = self._said(meta).lower()
        match = re.fullmatch(r'(\d+)(st|nd|rd|th)', alpha2digit(said, 'en', threshold=0))
        if not match or int(match[1]) < 1 or _ordinal_text(int(match[1])) != match[0]:
            raise self._refuse(f"'{said}' is not an ordinal I understand", _REFERRING_EXAMPLE)
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
                           f"'{_SEQUENCE_EXAMPLE}'")
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
