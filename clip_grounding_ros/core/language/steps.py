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
The steps a command asks for: what the grammar yields and the nodes act on.

A command (:class:`Command`) is one or more steps (:class:`Step`) carried out in order; a
step that grounds an object may carry a referring expression (:class:`Referring`) that says
which of several candidates is meant. Units and frames (REP-103, base_link):
``Step.distance`` is in metres along +x (forward positive, backward negative);
``Step.angle`` is in radians about +z (counter-clockwise, i.e. left, positive).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
import math

from ..contract.parameters import setting, Settings
from ..contract.protocol import Intent, Origin


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

# Turns said by name (amounts said without a number: SpokenAmounts).
TURN_AROUND_RAD = math.pi        # 'turn around'
SPIN_RAD = 2 * math.pi           # 'spin', 'turn all the way around'
# Beyond these a command is refused: a relative move is path-checked (slowed, stopped) but
# not steered around obstacles, so it stays within the few metres a camera sees; two full
# turns cover any reorientation.
MAX_DISTANCE_M = 5.0
MAX_TURN_RAD = 4 * math.pi
MAX_STEPS = 10                   # a longer sequence is more likely misheard than meant
MAX_COMMAND_CHARS = 400          # bounds the parser's work on pasted text

VERB_TEXT = {Intent.APPROACH: 'go to', Intent.FACE: 'look at', Intent.FIND: 'find',
             Intent.PICK: 'pick up', Intent.FOLLOW: 'follow'}
# Examples use words the bundled simulator model knows too, so a suggestion always works.
EXAMPLE = {Intent.APPROACH: 'go to the blue box', Intent.FACE: 'look at the white pillar',
           Intent.FIND: 'find the yellow cube', Intent.PICK: 'pick up the red ball',
           Intent.FOLLOW: 'follow the red ball',
           Intent.STOP: 'stop', Intent.CLASSIFY: 'classify: a red box, a blue ball',
           Intent.MOVE: 'move forward 1 meter', Intent.TURN: 'turn left 90 degrees',
           Intent.RETURN: 'return to the start',
           Intent.RECALL: 'where did you see the red ball?',
           Intent.FORGET: 'forget what you have seen'}
RETURN_TEXT = {Origin.COMMAND: 'come back', Origin.START: 'return to the start'}
REFERRING_EXAMPLE = 'go to the second box from the left'
SEQUENCE_EXAMPLE = 'go to the blue box, then the red ball'
PRONOUN_EXAMPLE = 'find the red ball, then pick it up'
EXAMPLES = (*EXAMPLE.values(), REFERRING_EXAMPLE, SEQUENCE_EXAMPLE)


@dataclass(frozen=True)
class SpokenAmounts(Settings):
    """
    What an amount said without a number means: 'move forward', 'turn left a bit'.

    A bare 'move forward' is a short, safe nudge; a bare 'turn left' a right angle.
    """

    default_move: float = setting(0.5, 'A move said without an amount ("move '
                                  'forward") goes this far (m)', minimum=0.05, maximum=2.0)
    default_turn_deg: float = setting(90.0, 'A turn said without '
                                      'an amount ("turn left") turns this far (deg)',
                                      minimum=5.0, maximum=180.0)
    small_move: float = setting(0.2, 'A move by "a bit", "a little" or '
                                '"slightly" goes this far (m)', minimum=0.02, maximum=1.0)
    small_turn_deg: float = setting(15.0, 'A turn by "a bit", "a '
                                    'little" or "slightly" turns this far (deg)',
                                    minimum=1.0, maximum=90.0)


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
            target=target, reference=self.reference, ordinal=ordinal_text(self.ordinal))


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
    # "the other red box", "no, the other one": not the object chosen before this command.
    other: bool = False
    # Where that object was (filled in by the dialogue): (x, y) positions (m) in the odometry
    # frame (REP-105), or the base frame where frames come without odometry, not to choose.
    excluded: tuple[tuple[float, float], ...] = ()
    # "go back to the X", "the X you saw": go to where the object memory saw it, first.
    remembered: bool = False
    origin: Origin | None = None      # RETURN: back to where which command was given

    @property
    def needs_grounding(self) -> bool:
        """Whether the step names an object to find in the images."""
        return self.intent.grounded

    def describe(self) -> str:
        """Short text for status messages, e.g. 'go to the red box on the left'."""
        if self.intent.grounded:
            target = self.referring.describe(self.target) if self.referring else self.target
            seen = ' you saw' if self.remembered else ''
            return f"{VERB_TEXT[self.intent]} the {'other ' if self.other else ''}{target}{seen}"
        if self.intent == Intent.RETURN:
            return RETURN_TEXT[self.origin]
        if self.intent == Intent.RECALL:
            return f'where did you see the {self.target}' if self.target else 'what have you seen'
        if self.intent == Intent.FORGET:
            return f'forget the {self.target}' if self.target else 'forget what you have seen'
        if self.intent == Intent.MOVE:
            way = 'forward' if self.distance >= 0 else 'backward'
            return f'move {way} {amount_text(Intent.MOVE, abs(self.distance))}'
        if self.intent == Intent.TURN:
            way = 'left' if self.angle >= 0 else 'right'
            return f'turn {way} {amount_text(Intent.TURN, abs(self.angle))}'
        if self.intent == Intent.CLASSIFY:
            return 'classify: ' + ', '.join(self.prompts)
        return str(self.intent)


class FollowUpKind(str, Enum):
    """What a command that refers to the one before asks."""

    REPEAT = 'repeat'          # "again", "do that again", "once more"
    CORRECTION = 'correction'  # "no, the other one", "no, the one on the left"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class FollowUp:
    """
    A command that refers to what was said before: repeat it, or correct its choice.

    A correction may name a new ``target`` ("no, the red box", "the other red box"), new
    ``attributes`` for the same kind of object ('red' in "no, the red one") or a ``referring``
    expression ("no, the one on the left"), which are then chosen among every candidate (the
    one chosen before too: it may be the one described); ``other`` ("the other one", "not that
    one", "the other red box") rejects the objects chosen before.
    """

    kind: FollowUpKind
    target: str = ''
    attributes: str = ''
    referring: Referring | None = None
    other: bool = False


@dataclass(frozen=True)
class Command:
    """
    A parsed command: its steps in order (a stop is one STOP step).

    A follow-up ("again", "no, the other one") has no steps of its own until the dialogue
    resolves it against the command before (:mod:`.dialogue`).
    """

    text: str
    steps: tuple[Step, ...]
    followup: FollowUp | None = None

    @property
    def is_sequence(self) -> bool:
        return len(self.steps) > 1

    @property
    def is_stop(self) -> bool:
        """
        Whether this command stops the robot: the one definition of a stop.

        grounding_node ends the current command on it; action_node acts on it at once, even
        without grounding_node. A stop said anywhere in a sentence ("go to the box, wait")
        stops: the parser makes the whole command one STOP step.
        """
        return bool(self.steps) and self.steps[0].intent == Intent.STOP


def with_attributes(target: str, attributes: str) -> str:
    """
    Give ``target``'s kind of object ``attributes`` instead of its own.

    The kind is the last noun before any 'of': 'blue box' + 'red' -> 'red box',
    'cup of tea' + 'green' -> 'green cup of tea'. Used for "no, the red one" and
    "..., then the red one".
    """
    head, joint, complement = target.partition(' of ')
    return ' '.join(attributes.split() + [f'{head.split()[-1]}{joint}{complement}'])


def amount_text(intent: Intent, value: float) -> str:
    """Say a MOVE distance (metres) or TURN angle (radians) back as text: '1.00 m', '90 deg'."""
    return f'{value:.2f} m' if intent == Intent.MOVE else f'{math.degrees(value):.4g} deg'


def ordinal_text(number: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 22 -> '22nd'."""
    if 10 <= number % 100 <= 20:
        return f'{number}th'
    return f"{number}{({1: 'st', 2: 'nd', 3: 'rd'}).get(number % 10, 'th')}"
