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
start: _opening* (classify _closings | sequence | repeat _closings | correction _closings)
     | _opening* cancel _closings | _opening* (recall | forget) _closings
_opening: _lead | (_no | _cancel) ","?   // "no, go to the red ball", "never mind, turn left"
_lead: (_filler | "first" | ("go" | "come") "and" | "and" | "and"? "then") ","?
_filler: "hey" | "ok" | "okay" | "robot" | "please" | "kindly" | "now" | "so" | "well"
       | "just" | "alright" | "all" "right"
       | ("could" | "can" | "would" | "will") "you"
       | "i" ("want" | "need") "you" "to" | ("i'd" | "i" "would") "like" "you" "to"
       | "let's" | "let" "us"
cancel: _cancel                     // "never mind": a stop
_cancel: "never" "mind" | "nevermind" | "forget" ("it" | "that")
// Manner and order words are taken and not acted on: speed comes from the parameters.
_closings: (","? _closing)*
_closing: "please" | "for" "me" | "thanks" | "thank" "you" | "now" | "right" "now"
        | "quickly" | "slowly" | "carefully" | "gently" | "safely" | "quietly" | "again"
        | "once" "more" | "one" "more" "time" | "fast" | "immediately" | "asap"
        | ("right" | "straight") "away" | "at" "once" | "instead" | "too" | "also"
        | "as" "well" | "first" | "anyway" | "alright" | "all" "right" | "ok" | "okay"

// -- what was said before: "again", "do that again"; "no, the other one" --------------------
repeat: ("do" ("that" | "it" | "this") | "repeat" ("that" | "it")?) ("again" | "once" "more")?
      | "repeat" "the" "last" "command" | "again" | "once" "more" | "one" "more" "time"
      | "same" "again" | "try" ("that" | "it")? "again"
correction: _no? (other | _det? refinement)
          | _no? "not" ("that" | "this" | "the") (words? "one" | np)? -> other
          | ((_its | "you" "chose")? _det)? "wrong" ("one" | np)? -> other
          | _no _toward? _det? object -> restated       // "no, the red box on the left"
_its: "that's" | "that" "is" | "it's" | "it" "is"
_no: ("no" | "nope") ","?
other: _det? _other (np | "one")?         // "the other one", "the other red box"
_other: "other" | "another" | "different"

// -- sequences: "X, then Y", "X and then Y", "first X, after that Y", "X and <verb> Y" -----
sequence: _step (_link _step | _then bare | _comma listed | and_bare | step_repair _step
                | stop)*      // a stop said without a comma or 'then': "go to the box wait"
step_repair: _repair                // "turn left, no, go to the box": the later step wins
_step: _action _closings
_action: approach | face | find | pick | follow | move | turn | turn_around | spin | sideways
       | stop
       | come_back | return_start
_link: (_then | _comma | _and) _lead*
_then: _comma? _then_word ","?
_then_word: "and"? ("then" | "after" "that" | "afterwards" | "finally")
_and: _comma? "and"
_comma: "," | ";"
bare: _toward? _det? (object | refinement)  // the verb before: "..., then (to) the (red) ball"
listed: (_toward _det? | _det) object      // refused: a list or a correction? "X, the Y"
and_bare.-1: _and _det? object      // refused: say "then"

// -- stop ---------------------------------------------------------------------------------
stop: _halt+                        // "stop stop stop" is one stop
_halt: ("emergency" | "e")? "stop" _stop_object? | "halt" | "freeze" | "abort"
     | "cancel" _stop_object? | "stay" ("there" | "here" | "put")?
     | ("stand" | "hold" | "keep") "still" | ("don't" | "do" "not") "move"
     | "wait" ("a" ("second" | "sec" | "moment" | "minute"))? | "hold" ("on" | "it")
     | "hang" "on"
     | ("don't" | "do" "not") (approach | face | find | pick | move | turn | turn_around
                              | spin)    // "don't go to the blue box": a stop
_stop_object: "moving" | "it" | "that" | "everything" | "there" | "right" "there" | "here"
            | "immediately" | "all" | "the" "robot"

// -- steps that ground an object ("it": the object of the step before) --------------------
_what: _det? object? seen? | it
it: "it" | "them"
approach: approach_verb _what | approach_verb where_seen _det? object
approach_verb: _go "on"? ("right" | "straight")? ("over" | "up" | "back" | "across")? _toward
             | "head" "for" | "approach" | "reach" | ("take" | "bring") "me" "to"
             | "make" "your" "way" ("over" | "back" | "across")? _toward
_toward: "to" | "towards" | "toward" | "near"
_go: "go" | "drive" | "move" | "navigate" | "head" | "come" | "walk" | "run" | "get" | "roll"
face: face_verb _what
face_verb: ("look" | "point" | "stare") ("at" | "towards" | "toward") | "point" "to"
         | "turn" ("to" | "towards" | "toward") | "face" | "watch" | "track"
find: find_verb _what
find_verb: "find" | ("search" | "look" | "hunt") "around"? "for" | "locate"
         | "where" ("is" | "are") | "where's" | "seek" | "see" | "spot" | "do" "you" "see"
pick: pick_verb _what | "pick" (_det? object | it) "up"
follow: follow_verb _what | follow_verb ("me" | "us") -> follow_me
follow_verb: "follow" | "keep" "following" | "go" "after" | "stay" "with" | "tail"
pick_verb: "pick" "up"? | "grab" | "grasp" | "fetch" | "get" | "collect" | "take"
         | "bring" "me"

// -- what the robot has seen: the object memory --------------------------------------------
// "the red ball you saw", "go to where you saw the red ball": where the memory saw it
seen.2: ","? ("that" | "which")? _you_saw ("earlier" | "before" | "last" "time"
      | "a" "while" "ago" | "just" "now")?
where_seen.2: "where" _you_saw
_you_saw: "you" _saw | "you've" ("last" | "first")? "seen"   // (WORD reads "you've" as one)
_saw: ("last" | "first")? ("saw" | "spotted" | "noticed") | ("have" | "had") "seen"
recall: "where" ("did" | "have" | "had") "you" ("last" | "first")? _see_verb _det? object
      | "what" ("have" | "did") "you" _see_verb ("so" "far")? | "what" "do" "you" "remember"
      | "where" "was" _det? object
      | ("have" | "did") "you" _see_verb _det? object ("anywhere" | "before" | "earlier")?
      | ("have" | "did") "you" _see_verb ("anything" | "something") ("so" "far")?
_see_verb: "seen" | "see" | "spotted" | "spot" | "noticed" | "notice"
forget: "forget" ("what" _you_saw | "everything" _you_saw? | "all" _you_saw
      | "all" "of" "it" | "the" "objects" _you_saw?) | "clear" _det? "memory"
      | "forget" _det? object _you_saw?              // "forget the red box": that one only
// "come back", "return to the start": to where a command was given (odometry)
// ("go back", "drive back": a move backward; with 'here' or 'to me' a return)
come_back: ("come" | "get") "back" _here? | "return" _here? | _come "back" _here
_here: "here" | "to" "me" | "to" "where" "you" "were"
return_start.2: (_come "back" | "return") "to" (_det? _start | "where" "you" ("started"
              | "began" | "set" "off" | "were" "at" "first"))
_come: "come" | "go" | "get" | "head" | "drive" | "walk" | "run" | "roll" | "make" "your" "way"
_start: "start" | "beginning" | "starting" ("point" | "position" | "place" | "pose")
      | "origin"

// -- relative motion on odometry ----------------------------------------------------------
move: _move_verb? (forward | backward) _amount? | _move_verb _amount (forward | backward)?
    | ("get" | "come" | "move" | "go") small? "closer" -> closer
sideways: _move_verb (_side | "sideways") _amount?        // refused: the base cannot strafe
_move_verb: "move" | "go" | "drive" | "step" | "roll" | "walk" | "head" | "run" | "travel"
forward: "forward" | "forwards" | "ahead" | "straight" "ahead"?
backward: "back" "up"? | "backward" | "backwards" | "back" "off" | "reverse" | "in" "reverse"
        | "retreat"
turn: _turn_verb _side _amount? | (_turn_verb | "make" | "do") _amount _side?
turn_around: _turn_verb "around" _side?
spin: ("spin" "around"? | _turn_verb "all" "the" "way" "around") _side?
_turn_verb: "turn" | "rotate" | "pivot"
_side: left | right | (left | right) _repair (left | right)
left: (("to" | "towards") _det?)? "left" | "counterclockwise" | "anticlockwise"
    | "counter" "clockwise"
right: (("to" | "towards") _det?)? "right" | "clockwise"
_amount: ("by" | "for" | "about")? (quantity | quantity _repair quantity) | "just"? small

// -- amounts: "1.5 m", "two meters", "half a metre", "one and a half feet", "a quarter turn"
quantity: count unit? | count "and" "a" fraction unit
        | "a"? fraction ("of"? ("a" | "an"))? unit | ("a" | "an") unit
        | "a" "few" unit -> few
count: NUMBER | number_words | "pi" -> pi | ("minus" | "negative") count -> negative
number_words: _number_word+ ("and" _number_word+)?
_number_word: "zero" | "one" | "two" | "three" | "four" | "five" | "six" | "seven" | "eight"
            | "nine" | "ten" | "eleven" | "twelve" | "thirteen" | "fourteen" | "fifteen"
            | "sixteen" | "seventeen" | "eighteen" | "nineteen" | "twenty" | "thirty"
            | "forty" | "fifty" | "sixty" | "seventy" | "eighty" | "ninety" | "hundred"
            | "thousand"
fraction: "half" -> half | "quarter" -> quarter
small: "a" "tiny"? ("bit" | "little" "bit"? | "touch") | "slightly"
unit: "m" | "meter" | "meters" | "metre" | "metres" | "cm" | "centimeter" | "centimeters"
    | "centimetre" | "centimetres" | "mm" | "millimeter" | "millimeters" | "millimetre"
    | "millimetres" | "ft" | "foot" | "feet" | "in" | "inch" | "inches" | "yard" | "yards"
    | "deg" | "degree" | "degrees" | "°" | "rad" | "radian" | "radians" | "turn" | "turns"
    | "revolution" | "revolutions"

// -- objects and referring expressions ----------------------------------------------------
?object: np -> plain
      | superlative np -> described
      | np _which? location -> described
      | np _which (_det? superlative ("one")? _to_me?) -> described
      | np _which? relation _det? np -> related
      | ordinal np from_side -> counted
      | object "," _det? refinement -> refined
      | np _which np -> qualified                  // "the box that is red"
      | repaired
      | object _repair _det? refinement -> rerefined   // "the red box, no, the blue one"
      | _other object -> another        // not the one chosen before: "the other red box"
      | uncounted
_which: ","? ("that" | "which" | "who") ("is" | "are") | ","? ("that's" | "which's")
_to_me: "to" ("me" | "you" | "the" "robot") | "away"
refinement: superlative? words? "one" (_which? location | _which? relation _det? np
                                     | _which _det? superlative _to_me?)?
words: np                           // 'red' in 'the red one'
repaired.1: _det? np _repair _det? object   // "the blue, no, the red box": the later one
_repair: ","? ("no" | "i" "mean" | "i" "meant" | "sorry" | "or" "rather" | "rather"
              | "no" "wait" | "actually" | "correction") ","?
uncounted.-2: ordinal np            // refused: from which side? ("first aid kit" is an object)
np: _nword+ (("and" | "of" | ",") _nword+)*   // "black and white box", "big, red box"
_nword: WORD | noun_word
noun_word.-1: "can" | "stop" | "face" | "watch" | "track" | "point" | "head" | "robot"
            | "front" | "back" | "side" | "hand" | "middle" | "center" | "centre" | "reverse"
            | "drive" | "roll" | "step" | "foot" | "yard" | "quarter" | "counter" | "stand"
            | "travel" | "first" | "see" | "spot" | "touch" | "bit" | "way" | "little"
            | "tiny" | "fast" | "well" | "mind" | "closer"
            | "clear" | "memory" | "objects" | "origin" | "place" | "pose" | "position"
            | "saw" | "set" | "spotted" | "start" | "starting" | "beginning" | "far"
            | "notice" | "while" | "have" | "had" | "did" | "were" | "before" | "earlier"
            | "was" | "anywhere" | "anything" | "something"
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
    | "any"

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
