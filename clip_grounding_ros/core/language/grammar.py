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

"""The command grammar (lark, Earley): every sentence the robot understands, as rules."""

# The grammar, case-insensitive, over words (WORD: any word the grammar does not name).
# Rule names that are Relation values stand for that relation; aliases (-> name) name what an
# alternative means. Priorities resolve the few real ambiguities: a noun_word (a grammar word
# that may also name an object, 'stop sign') loses to its grammar reading; 'and' followed by
# a bare object joins words of one object ('black and white box') before it is refused; an
# ordinal without a side ('the second box', refused) loses to a noun ('the first aid kit').
GRAMMAR = r"""
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
