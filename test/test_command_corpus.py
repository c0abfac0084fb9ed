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
A corpus of spoken commands with their expected parses, and of commands to refuse.

Each parse lists its steps; a step is written as
    ('approach', 'red box')                      intent and target
    ('approach', 'red box', 'leftmost')          ... with a relation
    ('approach', 'box', 'next_to', 'red ball')   ... with a reference object
    ('approach', 'box', 'ordinal_left', 2)       ... with an ordinal
    ('move', -0.5)                               metres, forward positive
    ('turn', 90)                                 DEGREES here for readability, left positive
    ('classify', 'cat', 'dog')                   prompts
    ('approach', 'red box', SEEN)                where the object memory saw it
    ('return', 'command') / ('return', 'start')  back to where a command was given
    ('recall', 'red ball') / ('recall', '')      where it was seen / what was seen
    ('stop',) / ('forget',) / ('forget', 'red box')   everything / what is like a red box
Each refusal gives a fragment its message must contain; every refusal must also suggest
examples, and each suggested example must itself parse.
"""

import math
import re

from clip_grounding_ros.core.contract.protocol import Intent
from clip_grounding_ros.core.language.commands import parse_command
from clip_grounding_ros.core.language.steps import CommandError, Referring, Relation
import pytest

SEEN = 'seen'  # marks a step to the remembered object (Step.remembered)
TEN_THINGS = ('cup', 'mug', 'pen', 'cat', 'dog', 'fox', 'owl', 'box', 'hat', 'key')

PARSES = [
    # -- approach: verbs, particles, politeness, missing articles --------------------------
    ('go to the blue box', [('approach', 'blue box')]),
    ('Please drive to the red ball!', [('approach', 'red ball')]),
    ('move towards the green cylinder', [('approach', 'green cylinder')]),
    ('Hey robot, navigate to a purple crate please.', [('approach', 'purple crate')]),
    ('approach the orange can', [('approach', 'orange can')]),
    ('get to the red ball', [('approach', 'red ball')]),
    ('go toward the chair', [('approach', 'chair')]),
    ('go near the table', [('approach', 'table')]),
    ('drive toward the white door', [('approach', 'white door')]),
    ('head to the kitchen table', [('approach', 'kitchen table')]),
    ('head towards the exit sign', [('approach', 'exit sign')]),
    ('head for the exit', [('approach', 'exit')]),
    ('come to the sofa', [('approach', 'sofa')]),
    ('walk to the window', [('approach', 'window')]),
    ('run to the fridge', [('approach', 'fridge')]),
    ('reach the green cone', [('approach', 'green cone')]),
    ('take me to the kitchen', [('approach', 'kitchen')]),
    ('bring me to the charging dock', [('approach', 'charging dock')]),
    ('go over to the red box', [('approach', 'red box')]),
    ('go up to the person', [('approach', 'person')]),
    ('walk up to the counter', [('approach', 'counter')]),
    ('go to the first aid kit', [('approach', 'first aid kit')]),
    ('go to the tv stand', [('approach', 'tv stand')]),
    ('go right over to the green cylinder', [('approach', 'green cylinder')]),
    ('come over to the desk', [('approach', 'desk')]),
    ('go back to the start line', [('approach', 'start line', SEEN)]),
    ('go straight to the door', [('approach', 'door')]),
    ('go to blue box', [('approach', 'blue box')]),
    ('go to a red box', [('approach', 'red box')]),
    ('go to that box', [('approach', 'box')]),
    ('go to my backpack', [('approach', 'backpack')]),
    ('Could you please go over to the red box for me, thanks', [('approach', 'red box')]),
    ("I'd like you to go right over to the green cylinder", [('approach', 'green cylinder')]),
    ('I want you to go to the yellow ball', [('approach', 'yellow ball')]),
    ('I would like you to drive to the garage door', [('approach', 'garage door')]),
    ("let's walk up to the person", [('approach', 'person')]),
    ('let us go to the lab bench', [('approach', 'lab bench')]),
    ('can you go to the printer', [('approach', 'printer')]),
    ('would you drive to the blue bin please', [('approach', 'blue bin')]),
    ('will you go to the plant', [('approach', 'plant')]),
    ('kindly go to the mailbox', [('approach', 'mailbox')]),
    ('ok robot, go to the blue box', [('approach', 'blue box')]),
    ('okay robot go to the blue box', [('approach', 'blue box')]),
    ('robot, go to the chair.', [('approach', 'chair')]),
    ('now go to the box', [('approach', 'box')]),
    ('go to the box now', [('approach', 'box')]),
    ('go to the box right now', [('approach', 'box')]),
    ('go to the box quickly', [('approach', 'box')]),
    ('go to the box slowly please', [('approach', 'box')]),
    ('GO TO THE BLUE BOX', [('approach', 'blue box')]),
    ('go   to  the   blue    box', [('approach', 'blue box')]),
    ('Go to the Red Box.', [('approach', 'red box')]),
    ('go to the box?', [('approach', 'box')]),
    ('go to the red box, please', [('approach', 'red box')]),
    ('go to the box, thank you', [('approach', 'box')]),
    ('go to the ball for me', [('approach', 'ball')]),
    # object words that the grammar also uses, and joined object words
    ('go to the black and white box', [('approach', 'black and white box')]),
    ('go to the cup of coffee', [('approach', 'cup of coffee')]),
    ('go to the stop sign', [('approach', 'stop sign')]),
    ('go to the t-shirt', [('approach', 't-shirt')]),
    ('go to the robot', [('approach', 'robot')]),
    ('approach the front door', [('approach', 'front door')]),
    ('go to the back door', [('approach', 'back door')]),
    ('go to the soda can', [('approach', 'soda can')]),
    ('go to the USB drive', [('approach', 'usb drive')]),
    ('go to the bottom step', [('approach', 'bottom step')]),
    # -- face ------------------------------------------------------------------------------
    ('look at the person', [('face', 'person')]),
    ('turn towards the  Blue   Box', [('face', 'blue box')]),
    ('turn to the red ball', [('face', 'red ball')]),
    ('turn toward the lamp', [('face', 'lamp')]),
    ('face the window', [('face', 'window')]),
    ('look towards the door', [('face', 'door')]),
    ('look toward the tv', [('face', 'tv')]),
    ('point at the lamp', [('face', 'lamp')]),
    ('point to the clock', [('face', 'clock')]),
    ('stare at the painting', [('face', 'painting')]),
    ('watch the door', [('face', 'door')]),
    ('track the person', [('face', 'person')]),
    ('please look at the dog', [('face', 'dog')]),
    ('look at the face', [('face', 'face')]),
    ('can you face the red chair', [('face', 'red chair')]),
    ('look at the watch', [('face', 'watch')]),
    # -- find ------------------------------------------------------------------------------
    ('find the yellow cube', [('find', 'yellow cube')]),
    ('where is the white ball?', [('find', 'white ball')]),
    ("where's the white ball", [('find', 'white ball')]),
    ('where\u2019s the cat', [('find', 'cat')]),
    ('where are the keys', [('find', 'keys')]),
    ('search for the keys', [('find', 'keys')]),
    ('look for my phone', [('find', 'phone')]),
    ('look around for the remote', [('find', 'remote')]),
    ('hunt for the red sock', [('find', 'red sock')]),
    ('locate the fire extinguisher', [('find', 'fire extinguisher')]),
    ('seek the blue bottle', [('find', 'blue bottle')]),
    ('please find a green apple', [('find', 'green apple')]),
    ('find blue box', [('find', 'blue box')]),
    ('Find the RED Ball', [('find', 'red ball')]),
    ('find the track', [('find', 'track')]),
    # -- pick ------------------------------------------------------------------------------
    ('pick up the red apple', [('pick', 'red apple')]),
    ('grab the black tube', [('pick', 'black tube')]),
    ('pick the banana', [('pick', 'banana')]),
    ('pick the red apple up', [('pick', 'red apple')]),
    ('can you pick the red apple up', [('pick', 'red apple')]),
    ('grasp the cup', [('pick', 'cup')]),
    ('fetch the newspaper', [('pick', 'newspaper')]),
    ('get the red ball', [('pick', 'red ball')]),
    ('collect the toy car', [('pick', 'toy car')]),
    ('take the blue marker', [('pick', 'blue marker')]),
    ('bring me the red apple', [('pick', 'red apple')]),
    ('pick up the quarter', [('pick', 'quarter')]),
    # -- stop ------------------------------------------------------------------------------
    ('stop', [('stop',)]),
    ('Stop!', [('stop',)]),
    ('robot, stop', [('stop',)]),
    ('halt', [('stop',)]),
    ('STOP NOW', [('stop',)]),
    ('please stop moving', [('stop',)]),
    ('emergency stop', [('stop',)]),
    ('cancel', [('stop',)]),
    ('e-stop', [('stop',)]),
    ('freeze', [('stop',)]),
    ('abort', [('stop',)]),
    ('stand still', [('stop',)]),
    ("don't move", [('stop',)]),
    ('do not move', [('stop',)]),
    ('stop it', [('stop',)]),
    ('stop everything', [('stop',)]),
    ('stop right there', [('stop',)]),
    ('stay there', [('stop',)]),
    ('hold still', [('stop',)]),
    ('cancel that', [('stop',)]),
    ('stop the robot', [('stop',)]),
    ('stop immediately', [('stop',)]),
    ('stop, stop!', [('stop',)]),
    ('stop stop stop', [('stop',)]),
    ('hey robot, stop now please', [('stop',)]),
    # -- classify --------------------------------------------------------------------------
    ('Classify: a photo of a cat, a photo of a dog or a photo of a bird',
     [('classify', 'a photo of a cat', 'a photo of a dog', 'a photo of a bird')]),
    ('what is this: cat | dog', [('classify', 'cat', 'dog')]),
    ('classify: cat, dog, bird', [('classify', 'cat', 'dog', 'bird')]),
    ('classify cat or dog', [('classify', 'cat', 'dog')]),
    ('is this a cat or a dog', [('classify', 'a cat', 'a dog')]),
    ('what is it: apple; banana; orange', [('classify', 'apple', 'banana', 'orange')]),
    ("what's this: a mug / a glass", [('classify', 'a mug', 'a glass')]),
    ('which one is it: red, green, blue', [('classify', 'red', 'green', 'blue')]),
    ('recognise: a person, a chair', [('classify', 'a person', 'a chair')]),
    ('recognize a stop sign or a traffic light',
     [('classify', 'a stop sign', 'a traffic light')]),
    ('please classify: a cat, a dog, thanks', [('classify', 'a cat', 'a dog')]),
    ('classify: a black and white cat, a tabby cat',
     [('classify', 'a black and white cat', 'a tabby cat')]),
    ('classify: 1 finger, 2 fingers', [('classify', '1 finger', '2 fingers')]),
    # -- move: units, numbers as words, defaults, directions -------------------------------
    ('move forward 1 meter', [('move', 1.0)]),
    ('move forward 1.5 m', [('move', 1.5)]),
    ('move forward two meters', [('move', 2.0)]),
    ('move forward 50 cm', [('move', 0.5)]),
    ('move forward 3 feet', [('move', 0.9144)]),
    ('move forward 1 foot', [('move', 0.3048)]),
    ('move forward 12 inches', [('move', 0.3048)]),
    ('go forward 30 inches', [('move', 0.762)]),
    ('go forward 3 in', [('move', 0.0762)]),
    ('move forward 250 mm', [('move', 0.25)]),
    ('move forward 1 yard', [('move', 0.9144)]),
    ('move forward 1m', [('move', 1.0)]),
    ('move forward 50cm', [('move', 0.5)]),
    ('move forward .5 m', [('move', 0.5)]),
    ('move forward', [('move', 0.5)]),
    ('go forward', [('move', 0.5)]),
    ('step forward', [('move', 0.5)]),
    ('drive forward 2 metres', [('move', 2.0)]),
    ('move ahead 1 m', [('move', 1.0)]),
    ('go straight ahead 2 m', [('move', 2.0)]),
    ('go straight 1 meter', [('move', 1.0)]),
    ('move forward by 1 meter', [('move', 1.0)]),
    ('move forward for 2 meters', [('move', 2.0)]),
    ('move forward about 2 meters', [('move', 2.0)]),
    ('move 1.5 m', [('move', 1.5)]),
    ('drive 2 meters', [('move', 2.0)]),
    ('move 3 feet forward', [('move', 0.9144)]),
    ('move forward a meter', [('move', 1.0)]),
    ('move forward half a metre', [('move', 0.5)]),
    ('move forward one and a half meters', [('move', 1.5)]),
    ('move forward two and a half feet', [('move', 0.762)]),
    ('move forward a quarter of a meter', [('move', 0.25)]),
    ('move forward forty-five centimeters', [('move', 0.45)]),
    ('move forward one hundred centimeters', [('move', 1.0)]),
    ('move forward five meters', [('move', 5.0)]),
    ('please move forward 1 meter', [('move', 1.0)]),
    ('move back', [('move', -0.5)]),
    ('go back', [('move', -0.5)]),
    ('move backward 1 meter', [('move', -1.0)]),
    ('go back 50 cm', [('move', -0.5)]),
    ('drive backwards two meters', [('move', -2.0)]),
    ('move backwards 1 m', [('move', -1.0)]),
    ('back up', [('move', -0.5)]),
    ('back up 1 m', [('move', -1.0)]),
    ('back off 30 cm', [('move', -0.3)]),
    ('reverse 2 feet', [('move', -0.6096)]),
    ('reverse', [('move', -0.5)]),
    ('move 1 meter backward', [('move', -1.0)]),
    ('go backward by half a meter', [('move', -0.5)]),
    ('retreat 1 m', [('move', -1.0)]),
    # -- turn: sides, units, words, defaults, whole turns ----------------------------------
    ('turn left', [('turn', 90)]),
    ('turn right', [('turn', -90)]),
    ('turn left 90 degrees', [('turn', 90)]),
    ('turn right 45 degrees', [('turn', -45)]),
    ('turn left ninety degrees', [('turn', 90)]),
    ('turn right forty-five degrees', [('turn', -45)]),
    ('turn left 30 deg', [('turn', 30)]),
    ('turn left 90\u00b0', [('turn', 90)]),
    ('rotate left 45 degrees', [('turn', 45)]),
    ('rotate right by 45 deg', [('turn', -45)]),
    ('turn left by 90 degrees', [('turn', 90)]),
    ('turn 90 degrees left', [('turn', 90)]),
    ('turn 90 degrees to the left', [('turn', 90)]),
    ('turn to the left', [('turn', 90)]),
    ('turn to the right 30 degrees', [('turn', -30)]),
    ('rotate 45 degrees clockwise', [('turn', -45)]),
    ('rotate 45 degrees counterclockwise', [('turn', 45)]),
    ('rotate 45 degrees counter-clockwise', [('turn', 45)]),
    ('rotate 45 degrees anticlockwise', [('turn', 45)]),
    ('turn left 1 radian', [('turn', math.degrees(1.0))]),
    ('rotate 1.5 rad right', [('turn', -math.degrees(1.5))]),
    ('turn left pi radians', [('turn', 180)]),
    ('turn left half a turn', [('turn', 180)]),
    ('turn left a quarter turn', [('turn', 90)]),
    ('do a quarter turn to the left', [('turn', 90)]),
    ('make a half turn to the right', [('turn', -180)]),
    ('turn right one hundred and eighty degrees', [('turn', -180)]),
    ('turn left 720 degrees', [('turn', 720)]),
    ('turn left two turns', [('turn', 720)]),
    ('pivot left 10 degrees', [('turn', 10)]),
    ('turn right now', [('turn', -90)]),
    ('turn around', [('turn', 180)]),
    ('turn around to the right', [('turn', -180)]),
    ('hey robot, turn around please', [('turn', 180)]),
    ('turn all the way around', [('turn', 360)]),
    ('spin', [('turn', 360)]),
    ('spin around', [('turn', 360)]),
    ('spin right', [('turn', -360)]),
    # -- referring expressions -------------------------------------------------------------
    ('go to the red box on the left', [('approach', 'red box', 'leftmost')]),
    ('go to the red box on the right', [('approach', 'red box', 'rightmost')]),
    ('go to the box in the middle', [('approach', 'box', 'middle')]),
    ('go to the box in the center', [('approach', 'box', 'middle')]),
    ('go to the box at the centre', [('approach', 'box', 'middle')]),
    ('go to the leftmost box', [('approach', 'box', 'leftmost')]),
    ('go to the rightmost red box', [('approach', 'red box', 'rightmost')]),
    ('go to the left box', [('approach', 'box', 'leftmost')]),
    ('go to the right box', [('approach', 'box', 'rightmost')]),
    ('go to the middle box', [('approach', 'box', 'middle')]),
    ('go to the left-most box', [('approach', 'box', 'leftmost')]),
    ('go to the box on the left side', [('approach', 'box', 'leftmost')]),
    ('go to the box on your left', [('approach', 'box', 'leftmost')]),
    ('go to the box to the right', [('approach', 'box', 'rightmost')]),
    ('look at the leftmost person', [('face', 'person', 'leftmost')]),
    ('go to the black and white box on the left', [('approach', 'black and white box',
                                                    'leftmost')]),
    ('go to the nearest box', [('approach', 'box', 'nearest')]),
    ('go to the closest red ball', [('approach', 'red ball', 'nearest')]),
    ('find the farthest chair', [('find', 'chair', 'farthest')]),
    ('find the furthest chair', [('find', 'chair', 'farthest')]),
    ('pick up the biggest box', [('pick', 'box', 'biggest')]),
    ('pick up the largest box', [('pick', 'box', 'biggest')]),
    ('grab the smallest cube', [('pick', 'cube', 'smallest')]),
    ('grab the tiniest cube', [('pick', 'cube', 'smallest')]),
    ('go to the box next to the red ball', [('approach', 'box', 'next_to', 'red ball')]),
    ('go to the box next to ball', [('approach', 'box', 'next_to', 'ball')]),
    ('go to the ball near the box', [('approach', 'ball', 'next_to', 'box')]),
    ('go to the ball near to the box', [('approach', 'ball', 'next_to', 'box')]),
    ('go to the ball beside the box', [('approach', 'ball', 'next_to', 'box')]),
    ('go to the ball by the door', [('approach', 'ball', 'next_to', 'door')]),
    ('go to the ball close to the door', [('approach', 'ball', 'next_to', 'door')]),
    ('pick up the red apple next to the banana',
     [('pick', 'red apple', 'next_to', 'banana')]),
    ('look at the person to the left of the red car',
     [('face', 'person', 'left_of', 'red car')]),
    ('go to the chair left of the table', [('approach', 'chair', 'left_of', 'table')]),
    ('go to the chair right of the table', [('approach', 'chair', 'right_of', 'table')]),
    ('go to the chair to the right of the table',
     [('approach', 'chair', 'right_of', 'table')]),
    ('go to the chair on the right of the table',
     [('approach', 'chair', 'right_of', 'table')]),
    ('go to the box in front of the door', [('approach', 'box', 'in_front_of', 'door')]),
    ('go to the box behind the chair', [('approach', 'box', 'behind', 'chair')]),
    ('go to the box in back of the chair', [('approach', 'box', 'behind', 'chair')]),
    ('find the cup behind the stop sign', [('find', 'cup', 'behind', 'stop sign')]),
    ('go to the second box from the left', [('approach', 'box', 'ordinal_left', 2)]),
    ('go to the third box from the right', [('approach', 'box', 'ordinal_right', 3)]),
    ('go to the 2nd box from the left', [('approach', 'box', 'ordinal_left', 2)]),
    ('go to the 3rd red box from the right', [('approach', 'red box', 'ordinal_right', 3)]),
    ('go to the first cup from the left', [('approach', 'cup', 'ordinal_left', 1)]),
    ('go to the tenth box from the right', [('approach', 'box', 'ordinal_right', 10)]),
    ('go to the 11th box from the left', [('approach', 'box', 'ordinal_left', 11)]),
    ('go to the 22nd box from the left', [('approach', 'box', 'ordinal_left', 22)]),
    # -- sequences -------------------------------------------------------------------------
    ('go to the blue box, then the red ball',
     [('approach', 'blue box'), ('approach', 'red ball')]),
    ('go to the blue box then the red ball',
     [('approach', 'blue box'), ('approach', 'red ball')]),
    ('go to the blue box and then the red ball',
     [('approach', 'blue box'), ('approach', 'red ball')]),
    ('first go to the blue box, then the red ball',
     [('approach', 'blue box'), ('approach', 'red ball')]),
    ('go to the blue box, after that the red ball',
     [('approach', 'blue box'), ('approach', 'red ball')]),
    ('go to the blue box; then the red ball',
     [('approach', 'blue box'), ('approach', 'red ball')]),
    ('go to the blue box, then the red ball, then the green cube',
     [('approach', 'blue box'), ('approach', 'red ball'), ('approach', 'green cube')]),
    ('find the cup, then the plate', [('find', 'cup'), ('find', 'plate')]),
    ('look at the person, then the dog', [('face', 'person'), ('face', 'dog')]),
    ('go to the red box, then the blue box on the left',
     [('approach', 'red box'), ('approach', 'blue box', 'leftmost')]),
    ('go to the blue box, then the second box from the left',
     [('approach', 'blue box'), ('approach', 'box', 'ordinal_left', 2)]),
    ('go to the blue box and turn left', [('approach', 'blue box'), ('turn', 90)]),
    ('go to the blue box and then turn left', [('approach', 'blue box'), ('turn', 90)]),
    ('go to the blue box then turn left', [('approach', 'blue box'), ('turn', 90)]),
    ('go to the blue box, after that turn around', [('approach', 'blue box'), ('turn', 180)]),
    ('go to the blue box and afterwards find the red ball',
     [('approach', 'blue box'), ('find', 'red ball')]),
    ('go to the door and finally turn around', [('approach', 'door'), ('turn', 180)]),
    ('go to the red box and look at the person', [('approach', 'red box'), ('face', 'person')]),
    ('go to the black and white box and then turn left',
     [('approach', 'black and white box'), ('turn', 90)]),
    ('go to the box, then please turn left', [('approach', 'box'), ('turn', 90)]),
    ('please go to the box and then pick up the ball, thanks',
     [('approach', 'box'), ('pick', 'ball')]),
    ('move forward 1 meter and then turn left', [('move', 1.0), ('turn', 90)]),
    ('move forward 1 meter, then turn left 90 degrees', [('move', 1.0), ('turn', 90)]),
    ('turn left, then move forward 2 meters', [('turn', 90), ('move', 2.0)]),
    ('first turn left, then go to the box', [('turn', 90), ('approach', 'box')]),
    ('back up 1 m and turn right', [('move', -1.0), ('turn', -90)]),
    ('turn left and then turn right', [('turn', 90), ('turn', -90)]),
    ('move forward 1 meter, turn left, and then go to the door',
     [('move', 1.0), ('turn', 90), ('approach', 'door')]),
    ('find the ball and pick it up', [('find', 'ball'), ('pick', 'ball')]),
    ('find the red apple, then pick it up', [('find', 'red apple'), ('pick', 'red apple')]),
    ('go to the box on the left and pick it up',
     [('approach', 'box', 'leftmost'), ('pick', 'box', 'leftmost')]),
    ('find the dog, then go to it', [('find', 'dog'), ('approach', 'dog')]),
    ('go to the ' + ', then the '.join(TEN_THINGS),  # the most steps in one command
     [('approach', thing) for thing in TEN_THINGS]),
    # -- relative clauses: "that is", "which is", "that's", "the one that ..." ----------------
    ('go to the red box that is on the left', [('approach', 'red box', 'leftmost')]),
    ('go to the red box which is on the right', [('approach', 'red box', 'rightmost')]),
    ("go to the blue box that's in the middle", [('approach', 'blue box', 'middle')]),
    ('go to the box that is next to the red ball', [('approach', 'box', 'next_to', 'red ball')]),
    ('find the cup which is behind the laptop', [('find', 'cup', 'behind', 'laptop')]),
    ('look at the chair that is in front of the table',
     [('face', 'chair', 'in_front_of', 'table')]),
    ('go to the ball that is left of the box', [('approach', 'ball', 'left_of', 'box')]),
    ('go to the ball which is to the right of the chair',
     [('approach', 'ball', 'right_of', 'chair')]),
    ('pick up the cup that is nearest', [('pick', 'cup', 'nearest')]),
    ('go to the box which is the biggest', [('approach', 'box', 'biggest')]),
    ('go to the box that is closest to me', [('approach', 'box', 'nearest')]),
    ('go to the box, the one that is nearest', [('approach', 'box', 'nearest')]),
    ('go to the box, the one which is on the left', [('approach', 'box', 'leftmost')]),
    ('go to the box, which is on the left', [('approach', 'box', 'leftmost')]),
    ("find the mug that's next to the kettle", [('find', 'mug', 'next_to', 'kettle')]),
    ('approach the cone that is farthest', [('approach', 'cone', 'farthest')]),
    ('go to the cube that is the smallest', [('approach', 'cube', 'smallest')]),
    ('go to the bottle which is beside the sink', [('approach', 'bottle', 'next_to', 'sink')]),
    ('face the door that is on the right', [('face', 'door', 'rightmost')]),
    ("go to the ball that's closest to the robot", [('approach', 'ball', 'nearest')]),
    # -- verb phrases people use --------------------------------------------------------------
    ('could you make your way over to the green cube please', [('approach', 'green cube')]),
    ('make your way to the door', [('approach', 'door')]),
    ('make your way across to the window', [('approach', 'window')]),
    ('please make your way back to the charging dock', [('approach', 'charging dock', SEEN)]),
    ('head on over to the green cube', [('approach', 'green cube')]),
    ('head over to the kitchen table', [('approach', 'kitchen table')]),
    ('go on over to the sofa', [('approach', 'sofa')]),
    ('come over to the fridge', [('approach', 'fridge')]),
    ('come on over to the red chair', [('approach', 'red chair')]),
    ('take me to the green cube', [('approach', 'green cube')]),
    ('can you go and find the red ball', [('find', 'red ball')]),
    ('can you come and find the keys', [('find', 'keys')]),
    ('go and find the blue box', [('find', 'blue box')]),
    ('can you see a red ball?', [('find', 'red ball')]),
    ('do you see the white pillar?', [('find', 'white pillar')]),
    ('can you spot the yellow cube', [('find', 'yellow cube')]),
    ('see the red ball', [('find', 'red ball')]),
    ('spot the stop sign', [('find', 'stop sign')]),
    ('could you go and look for the cat', [('find', 'cat')]),
    ('go and get the red ball', [('pick', 'red ball')]),
    ('walk over to the window', [('approach', 'window')]),
    ('run over to the door', [('approach', 'door')]),
    ('get over to the lamp', [('approach', 'lamp')]),
    ('drive straight over to the blue box', [('approach', 'blue box')]),
    ('go right up to the tree', [('approach', 'tree')]),
    # -- elided verbs: the verb of the step before --------------------------------------------
    ('go to the blue box and then to the red box',
     [('approach', 'blue box'), ('approach', 'red box')]),
    ('go to the blue box, then to the red ball',
     [('approach', 'blue box'), ('approach', 'red ball')]),
    ('find the cup and then the plate', [('find', 'cup'), ('find', 'plate')]),
    ('look at the door, then the window', [('face', 'door'), ('face', 'window')]),
    ('go to the box and then to the ball and then to the cone',
     [('approach', 'box'), ('approach', 'ball'), ('approach', 'cone')]),
    ('go to the blue box, and then to the red box',
     [('approach', 'blue box'), ('approach', 'red box')]),
    ('turn left, then go to the box, then to the ball',
     [('turn', 90), ('approach', 'box'), ('approach', 'ball')]),
    ('go to the chair then the table', [('approach', 'chair'), ('approach', 'table')]),
    ('find the red ball, then the blue box, then pick it up',
     [('find', 'red ball'), ('find', 'blue box'), ('pick', 'blue box')]),
    # -- refinements after a comma ------------------------------------------------------------
    ('go to the ball, the red one', [('approach', 'red ball')]),
    ('go to the box, the big one', [('approach', 'box', 'biggest')]),
    ('go to the red box, the big one', [('approach', 'red box', 'biggest')]),
    ('go to the cube, the one on the left', [('approach', 'cube', 'leftmost')]),
    ('go to the cube, the one on the right', [('approach', 'cube', 'rightmost')]),
    ('go to the ball, the nearest one', [('approach', 'ball', 'nearest')]),
    ('go to the box, the blue one', [('approach', 'blue box')]),
    ('find the cup, the white one', [('find', 'white cup')]),
    ('go to the chair, the small one', [('approach', 'chair', 'smallest')]),
    ('go to the box, the one next to the red ball', [('approach', 'box', 'next_to', 'red ball')]),
    ('go to the box, the one behind the chair', [('approach', 'box', 'behind', 'chair')]),
    ('pick up the ball, the green one', [('pick', 'green ball')]),
    # -- speech disfluencies: fillers, repeated and cut-off words -----------------------------
    ('go to the, um, blue box', [('approach', 'blue box')]),
    ('um, go to the blue box', [('approach', 'blue box')]),
    ('go to the blue box, uh', [('approach', 'blue box')]),
    ('uh, turn left', [('turn', 90)]),
    ('go to the er red box', [('approach', 'red box')]),
    ('go to the the blue box', [('approach', 'blue box')]),
    ('go go to the blue box', [('approach', 'blue box')]),
    ('go to to the blue box', [('approach', 'blue box')]),
    ('look at the the box', [('face', 'box')]),
    ('erm, find the cat', [('find', 'cat')]),
    ('hmm, look at the door', [('face', 'door')]),
    ('go to the, uh, the red ball', [('approach', 'red ball')]),
    ('turn left, um, 90 degrees', [('turn', 90)]),
    ('move forward, uh, 1 meter', [('move', 1)]),
    ('go to the bl- blue box', [('approach', 'blue box')]),
    ('ah, go to the chair', [('approach', 'chair')]),
    ('go to the, umm, red box', [('approach', 'red box')]),
    ('go to the uhh blue box', [('approach', 'blue box')]),
    ('uhm, stop', [('stop',)]),
    ('eh, find the dog', [('find', 'dog')]),
    ('go to the blue box, hmm, then the red ball',
     [('approach', 'blue box'), ('approach', 'red ball')]),
    # -- self-corrections: the later phrase, amount or step wins ------------------------------
    ('go to the blue, no, the red box', [('approach', 'red box')]),
    ('go to the blue box, I mean the red box', [('approach', 'red box')]),
    ('go to the blue box sorry the red box', [('approach', 'red box')]),
    ('go to the blue box, or rather the red box', [('approach', 'red box')]),
    ('go to the blue box, no wait, the red box', [('approach', 'red box')]),
    ('go to the blue box, actually the red box', [('approach', 'red box')]),
    ('go to the blue, I mean red box', [('approach', 'red box')]),
    ('find the cat, no, the dog', [('find', 'dog')]),
    ('turn left, no, right', [('turn', -90)]),
    ('turn left 90, I mean 45 degrees', [('turn', 45)]),
    ('turn left two, I mean three degrees', [('turn', 3)]),
    ('move forward 2 meters, no, 1 meter', [('move', 1)]),
    ('move forward two, sorry, three meters', [('move', 3)]),
    ('turn left, no, go to the box', [('approach', 'box')]),
    ('go to the box, no, turn left', [('turn', 90)]),
    ('look at the red, sorry, the green ball', [('face', 'green ball')]),
    ('go to the red box, correction, the blue box', [('approach', 'blue box')]),
    ('go to the door, I meant the window', [('approach', 'window')]),
    ('pick up the cup, no, the mug', [('pick', 'mug')]),
    ('go to the blue box, no, the blue ball on the left', [('approach', 'blue ball', 'leftmost')]),
    # -- a stop said anywhere stops at once ---------------------------------------------------
    ('go to the box, wait', [('stop',)]),
    ('go to the box, hold on', [('stop',)]),
    ('go to the box, freeze', [('stop',)]),
    ('turn left, wait', [('stop',)]),
    ('go to the blue box and wait', [('stop',)]),
    ('wait', [('stop',)]),
    ('hold on', [('stop',)]),
    ('hold it', [('stop',)]),
    ('hold on, stop', [('stop',)]),
    ('go to the box, stop', [('stop',)]),
    ('go to the box, then stop', [('stop',)]),
    ('stop and go to the box', [('stop',)]),
    ('go to the box and stop', [('stop',)]),
    ('turn left, then stop', [('stop',)]),
    # -- small amounts (SpokenAmounts: 0.2 m, 15 degrees by default) --------------------------
    ('turn left a bit', [('turn', 15)]),
    ('turn right a little', [('turn', -15)]),
    ('turn left a little bit', [('turn', 15)]),
    ('turn left slightly', [('turn', 15)]),
    ('move forward a bit', [('move', 0.2)]),
    ('move back a little', [('move', -0.2)]),
    ('move forward a tiny bit', [('move', 0.2)]),
    ('move forward a touch', [('move', 0.2)]),
    ('turn slightly left', [('turn', 15)]),
    ('go forward a bit', [('move', 0.2)]),
    ('back up a little', [('move', -0.2)]),
    ('rotate left a bit', [('turn', 15)]),
    # -- "again" and manner words after a step ------------------------------------------------
    ('turn around again', [('turn', 180)]),
    ('turn around, then turn around again', [('turn', 180), ('turn', 180)]),
    ('go to the blue box again', [('approach', 'blue box')]),
    ('turn left again', [('turn', 90)]),
    ('go to the blue box once more', [('approach', 'blue box')]),
    ('turn left one more time', [('turn', 90)]),
    ('go to the red box carefully', [('approach', 'red box')]),
    ('go to the red box gently', [('approach', 'red box')]),
    ('go to the box safely', [('approach', 'box')]),
    ('go to the box fast', [('approach', 'box')]),
    # -- one object: attributes joined by commas or "and", "of" -------------------------------
    ('go to the red, green box', [('approach', 'red green box')]),
    ('go to the big, red box', [('approach', 'big red box')]),
    ('go to the red and blue ball', [('approach', 'red and blue ball')]),
    ('find the salt and pepper shaker', [('find', 'salt and pepper shaker')]),
    ('go to the cup of tea', [('approach', 'cup of tea')]),
    # -- "the other" object: not the one chosen before (Step.other) ---------------------------
    ('go to the other red box', [('approach', 'red box')]),
    ('find another cube', [('find', 'cube')]),
    ('go to a different box', [('approach', 'box')]),
    ('look at the other chair', [('face', 'chair')]),
    ('pick up the other ball on the left', [('pick', 'ball', 'leftmost')]),
    ('go to the box, i mean the other box', [('approach', 'box')]),
    # -- more of the kinds above, mixed -------------------------------------------------------
    ('go to the green cube that is on the right', [('approach', 'green cube', 'rightmost')]),
    ("find the bottle that's on the left", [('find', 'bottle', 'leftmost')]),
    ('could you please head on over to the door', [('approach', 'door')]),
    ('hey robot, um, go to the blue box', [('approach', 'blue box')]),
    ('uh, could you go to the red box please', [('approach', 'red box')]),
    ('go to the, erm, the white pillar', [('approach', 'white pillar')]),
    ('please go to the red box, no, the blue box', [('approach', 'blue box')]),
    ('look at the red ball, no, the red box', [('face', 'red box')]),
    ('turn right a bit, then move forward a little', [('turn', -15), ('move', 0.2)]),
    ('move forward a bit, then turn left a bit', [('move', 0.2), ('turn', 15)]),
    ('go to the box, the red one, then turn left', [('approach', 'red box'), ('turn', 90)]),
    ('find the ball that is next to the box, then pick it up',
     [('find', 'ball', 'next_to', 'box'), ('pick', 'ball', 'next_to', 'box')]),
    ('go to the cube which is on the left and then to the ball',
     [('approach', 'cube', 'leftmost'), ('approach', 'ball')]),
    ('spin around again', [('turn', 360)]),
    ('back up a bit', [('move', -0.2)]),
    ('turn a little to the left', [('turn', 15)]),
    ('rotate slightly clockwise', [('turn', -15)]),
    ('move ahead a bit', [('move', 0.2)]),
    ('can you make your way to the blue box', [('approach', 'blue box')]),
    ('wait wait wait', [('stop',)]),
    ('hold on, wait', [('stop',)]),
    ('go to the red box that is on the left, then pick it up',
     [('approach', 'red box', 'leftmost'), ('pick', 'red box', 'leftmost')]),
    ('go to the yellow cube which is next to the blue box',
     [('approach', 'yellow cube', 'next_to', 'blue box')]),
    ('go to the blue box, uh, I mean the red box', [('approach', 'red box')]),
    ('turn left, um, no, right', [('turn', -90)]),
    ("go to the box, the one that's biggest", [('approach', 'box', 'biggest')]),
    ('go to the box immediately', [('approach', 'box')]),
    ('go to the box right away', [('approach', 'box')]),
    ('go to the blue box at once', [('approach', 'blue box')]),
    # -- from a user's trial of the conversation: stops, corrections, clauses, leads ------
    ('go to the blue box, no, the one on the left', [('approach', 'blue box', 'leftmost')]),
    ('go to the red box, sorry, the blue one', [('approach', 'blue box')]),
    ('go to the red box, no, the blue one', [('approach', 'blue box')]),
    ('go to the red box, I mean the blue one', [('approach', 'blue box')]),
    ('go to the blue box, alright', [('approach', 'blue box')]),
    ('so, um, go to the blue box', [('approach', 'blue box')]),
    ('well, go to the box', [('approach', 'box')]),
    ('never mind, go to the box', [('approach', 'box')]),
    ('never mind', [('stop',)]),
    ('forget it', [('stop',)]),
    ("don't go to the blue box", [('stop',)]),
    ('do not look at the red ball', [('stop',)]),
    ('go to the box that is red', [('approach', 'red box')]),
    ('go to the ball which is blue', [('approach', 'blue ball')]),
    ("go to the cube that's green", [('approach', 'green cube')]),
    ('go to the box, which is red', [('approach', 'red box')]),
    ('no stop', [('stop',)]),
    ('no, wait', [('stop',)]),
    ('no wait', [('stop',)]),
    ('no wait, the red box', [('stop',)]),
    ('go to the blue box wait', [('stop',)]),
    ('go to the blue wait box', [('stop',)]),
    ('go to the blue box, then, wait, the red ball', [('stop',)]),
    ('go to the blue box, then wait', [('stop',)]),
    ('hang on', [('stop',)]),
    ('wait a second', [('stop',)]),
    ('hold on a second', [('stop',)]),
    ('go to the blue box as well', [('approach', 'blue box')]),
    ('go to the blue box first, then the red ball',
     [('approach', 'blue box'), ('approach', 'red ball')]),
    ('go to any box', [('approach', 'box')]),
    ('go to the closer box', [('approach', 'box', 'nearest')]),
    ('go to the bigger red box', [('approach', 'red box', 'biggest')]),
    ('pick up the smaller cube', [('pick', 'cube', 'smallest')]),
    ('get a bit closer', [('move', 0.2)]),
    ('come closer', [('move', 0.2)]),
    ('move a little closer', [('move', 0.2)]),
    ('go to the red box, then the blue one', [('approach', 'red box'), ('approach', 'blue box')]),
    ('find the cup, then the white one', [('find', 'cup'), ('find', 'white cup')]),
    ('go to the red box instead', [('approach', 'red box')]),
    ('go to the box too', [('approach', 'box')]),
    ('go to the box also', [('approach', 'box')]),
    ('stop go to the box', [('stop',)]),
    ('turn left just a little', [('turn', 15)]),
    ('turn left a few degrees', [('turn', 3)]),
    ('move forward a few centimeters', [('move', 0.03)]),
    ('no, go to the red ball', [('approach', 'red ball')]),
    ('no, turn left', [('turn', 90)]),
    ('go to the well', [('approach', 'well')]),
    ('go to the little box', [('approach', 'little box')]),
    ('go to the blue ball, I mean the box', [('approach', 'box')]),
    ('go to the cup of tea, no, the green one', [('approach', 'green cup of tea')]),
    ('ehm, go to the blue box', [('approach', 'blue box')]),
    ('uh, er, um, go to the blue box', [('approach', 'blue box')]),
    ('go to the, uhm, red box', [('approach', 'red box')]),
    ('turn left, um, ninety degrees', [('turn', 90)]),
    # -- the object memory: back to what was seen; questions; forgetting -------------------
    ('go back to the blue box', [('approach', 'blue box', SEEN)]),
    ('come back to the red ball', [('approach', 'red ball', SEEN)]),
    ('go to the red ball you saw earlier', [('approach', 'red ball', SEEN)]),
    ('go to the red ball that you saw', [('approach', 'red ball', SEEN)]),
    ("drive to the box you've seen before", [('approach', 'box', SEEN)]),
    ('go to where you saw the green cylinder', [('approach', 'green cylinder', SEEN)]),
    ('go to where you last saw the spotted dog', [('approach', 'spotted dog', SEEN)]),
    ('find the yellow cube you saw', [('find', 'yellow cube', SEEN)]),
    ('pick up the saw you spotted', [('pick', 'saw', SEEN)]),
    ('look at the blue box on the left that you saw',
     [('face', 'blue box', 'leftmost', SEEN)]),
    ('go to the clear bottle', [('approach', 'clear bottle')]),
    ('go to the memory card', [('approach', 'memory card')]),
    ('find the box, then the far one', [('find', 'box'), ('find', 'box', 'farthest')]),
    ('where did you see the red ball?', [('recall', 'red ball')]),
    ('where have you seen the box of tea', [('recall', 'box of tea')]),
    ('um, where did you last see my keys?', [('recall', 'keys')]),
    ('what have you seen so far?', [('recall', '')]),
    ('what did you see', [('recall', '')]),
    ('what do you remember', [('recall', '')]),
    ('forget what you have seen', [('forget',)]),
    ('please forget everything you saw', [('forget',)]),
    ('clear your memory', [('forget',)]),
    ('forget the objects you saw', [('forget',)]),
    ('forget the red box', [('forget', 'red box')]),
    ('please forget the blue ball you saw', [('forget', 'blue ball')]),
    ('where was the green box?', [('recall', 'green box')]),
    ('have you seen a yellow box?', [('recall', 'yellow box')]),
    ('did you see the red ball earlier', [('recall', 'red ball')]),
    ('have you seen anything?', [('recall', '')]),
    ('did you spot something so far', [('recall', '')]),
    # -- back to where a command was given --------------------------------------------------
    ('come back', [('return', 'command')]),
    ('come back here please', [('return', 'command')]),
    ('come back to me', [('return', 'command')]),
    ('get back here', [('return', 'command')]),
    ('return', [('return', 'command')]),
    ('return to where you were', [('return', 'command')]),
    ('drive back to me', [('return', 'command')]),
    ('return to the start', [('return', 'start')]),
    ('go back to where you started', [('return', 'start')]),
    ('go back to the starting point', [('return', 'start')]),
    ('make your way back to the beginning', [('return', 'start')]),
    ('go to the blue box and come back', [('approach', 'blue box'), ('return', 'command')]),
    ('go to the blue box, then come back', [('approach', 'blue box'), ('return', 'command')]),
    ('go to the box and then return', [('approach', 'box'), ('return', 'command')]),
    ('turn left, move forward 1 m, then return to the start',
     [('turn', 90), ('move', 1.0), ('return', 'start')]),
    ('go back', [('move', -0.5)]),
    ('and now come back please', [('return', 'command')]),
    ('then come back', [('return', 'command')]),
    ('and then go to the red box', [('approach', 'red box')]),
]

REFUSALS = [
    # -- not understood --------------------------------------------------------------------
    ('dance', "'dance' is not a command I understand"),
    ('blue box', 'not a command I understand'),
    ('the red ball', 'not a command I understand'),
    ('sing a song', 'not a command I understand'),
    ('the nearest box', 'not a command I understand'),
    ('go', 'it ends too early'),
    ('please', 'it ends too early'),
    ('hey robot', 'it ends too early'),
    ('!!!', 'says nothing to do'),
    ('what', 'it ends too early'),
    ('go to the box next to', 'it ends too early'),
    ('go to the box and', 'it ends too early'),
    ('turn left and then', 'it ends too early'),
    ('go to the box, then', 'it ends too early'),
    ('go to the box on the left of', 'it ends too early'),
    ('go to the box #1', "lost at '#1'"),
    ('move forward 1.2.3 m', "lost at '.3 m'"),
    ('move forward 1e3 m', "lost at 'e3 m'"),
    ('move forward - 2 m', "lost at '- 2 m'"),
    ('move forward two point five meters', "lost at 'point five meters'"),
    ('go to the box on the top', "lost at 'top'"),
    ('go to the red box on the left next to the ball', "lost at 'next to the ball'"),
    ('go to the leftmost box on the right', "lost at 'on the right'"),
    ('move forward 1 meter turn left', "lost at 'turn left'"),
    ('move forward 1 meter backward', "lost at 'backward'"),
    ('turn left up', "lost at 'up'"),
    ('turn left 90 degrees 2 meters', "lost at '2 meters'"),
    ('go to the 2 boxes', "lost at '2 boxes'"),
    ('spin 90 degrees', "lost at '90 degrees'"),
    ('classify: cat, then go to the box', "lost at 'then go to the box'"),
    ('go to the box, then classify: a, b', "lost at 'classify: a, b'"),
    ('go to the second box on the left', "lost at 'on the left'"),
    # -- a verb without an object ----------------------------------------------------------
    ('go to the', "no object named after 'go to'"),
    ('please look at', "no object named after 'look at'"),
    ('find', "no object named after 'find'"),
    ('pick up', "no object named after 'pick up'"),
    ('where is', "no object named after 'where is'"),
    ('turn towards the', "no object named after 'turn towards'"),
    ('pick it up', 'names no object'),
    ('go to it', 'names no object'),
    ('turn left and go to it', 'names no object'),
    ('go to the second box', 'counted from the left or from the right?'),
    # -- classification --------------------------------------------------------------------
    ('classify', 'at least two prompts'),
    ('classify: cat', 'at least two prompts'),
    ('is this a cat', 'at least two prompts'),
    # -- amounts ---------------------------------------------------------------------------
    ('move forward 10 m', 'limit of 5.00 m'),
    ('move forward 5.01 m', 'limit of 5.00 m'),
    ('move backward 6 meters', 'limit of 5.00 m'),
    ('move forward twenty feet', 'limit of 5.00 m'),
    ('move forward 1000 cm', 'limit of 5.00 m'),
    ('turn left 800 degrees', 'limit of 720 deg'),
    ('turn right three turns', 'limit of 720 deg'),
    ('turn left 13 radians', 'limit of 720 deg'),
    ('move forward -2 m', "'-2 m' is negative"),
    ('move forward minus two meters', 'is negative'),
    ('turn left -90 degrees', 'is negative'),
    ('move forward 0 m', 'nothing to do'),
    ('turn left zero degrees', 'nothing to do'),
    ('move forward two five meters', "'two five' is not a number I understand"),
    ('turn left ninety ninety degrees', "'ninety ninety' is not a number I understand"),
    ('move forward 2', "'2' has no unit"),
    ('turn left 90', "'90' has no unit"),
    ('turn left 2 meters', 'is not an angle'),
    ('move forward 90 degrees', 'is not a distance'),
    ('turn 90 degrees', 'say left or right'),
    ('rotate 45 degrees', 'say left or right'),
    ('move left', 'not sideways'),
    ('move right 1 meter', 'not sideways'),
    ('go to the left', 'not sideways'),
    ('move sideways', 'not sideways'),
    ('go to the 2th box from the left', "'2th' is not an ordinal"),
    ('go to the 0th box from the left', "'0th' is not an ordinal"),
    ('go to the 21th box from the left', "'21th' is not an ordinal"),
    # -- sequences -------------------------------------------------------------------------
    ('go to the blue box and the red ball', "'and the red ball' has no verb"),
    ('turn left, then the red ball', "'the red ball' has no verb"),
    ('move forward 1 m, then the box', "'the box' has no verb"),
    ('go to the ' + ', then the '.join((*TEN_THINGS, 'bee')), 'more than the 10'),
    ('go to the box, ' * 40, 'longer than the 400'),
    # -- words that are not one object's name, and what a conversation says wrongly --------
    ('go to the blue box and dance', "'blue box and dance' joins an action ('dance')"),
    ('find the ball and sing', "'ball and sing' joins an action ('sing')"),
    ('go to the box and jump', "'box and jump' joins an action ('jump')"),
    ('look at the cup and wave', "'cup and wave' joins an action ('wave')"),
    ('go to the box and dance wildly', "'wildly' in 'box and dance wildly' says how to act"),
    ('go to the chair and sit', "'chair and sit' joins an action ('sit')"),
    ('go to the door and open', "'door and open' joins an action ('open')"),
    ('go to the blue box and red ball',
     "'blue box and red ball' names two objects joined by 'and'"),
    ('go to the big red box and small ball',
     "'big red box and small ball' names two objects joined by"),
    ('find the cup and saucer and plate',
     "'cup and saucer and plate' names two objects joined by"),
    ('go to the blue box, red ball', "'blue box, red ball' names two objects joined by ','"),
    ('find the red cup, green plate', "'red cup, green plate' names two objects joined by ','"),
    ('go to the box we saw', "'we' in 'box we saw' starts a clause"),
    ('go to the box they moved', "'they' in 'box they moved' starts a clause"),
    ('go to the box if safe', "'if' in 'box if safe' starts a clause"),
    ('go to the box when ready', "'when' in 'box when ready' starts a clause"),
    ('go to the box while singing', "'while' in 'box while singing' starts a clause"),
    ('go to the box because it is there', "lost at 'it is there'"),
    ('go to the box unless blocked', "'unless' in 'box unless blocked' starts a clause"),
    ('go to the box until told', "'until' in 'box until told' starts a clause"),
    ('go to the box already', "'already' in 'box already' starts a clause"),
    ('go to the box gracefully', "'gracefully' in 'box gracefully' says how to act"),
    ('approach the box cautiously', "'cautiously' in 'box cautiously' says how to act"),
    ('go to the chair rapidly', "'rapidly' in 'chair rapidly' says how to act"),
    ('drive to the door smoothly', "'smoothly' in 'door smoothly' says how to act"),
    ('find the cup silently', "'silently' in 'cup silently' says how to act"),
    ('go to the box was moved', "'was' in 'box was moved' starts a clause"),
    ('go to the box has fallen', "'has' in 'box has fallen' starts a clause"),
    ('go to the box should be there', "lost at 'there'"),
    ('go to the box but', "'but' in 'box but' starts a clause"),
    ('go to the box, the big one on the left', "'big one on the left' chooses two ways at once"),
    ('go to the ball, the red one, the big one on the left',
     "'big one on the left' chooses two ways at once"),
    ('um', 'says nothing to do'),
    ('uh, er, hmm', 'says nothing to do'),
    ('no', 'it ends too early'),
    ('sorry', "lost at 'sorry'"),
    ('the red box, the big one', "lost at 'the big one'"),
    ('go to the, no', 'it ends too early'),
    ('go to the blue box, I mean', 'it ends too early'),
    ('turn left a bit 90 degrees', "lost at '90 degrees'"),
    ('move forward a lot', "lost at 'lot'"),
    ('turn a bit', 'turn which way? say left or right'),
    ('again and again', "lost at 'and again'"),
    ('go to the box, then again', "lost at 'again'"),
    ('no, the other one, then turn left', "lost at 'then turn left'"),
    ('do that again and go to the box', "lost at 'and go to the box'"),
    ('no, go', 'it ends too early'),
    ('the other one and dance', "lost at 'and dance'"),
    ('not that one but the red one', "lost at 'but the red one'"),
    ('go to the box and the other one', "lost at 'one'"),
    ('go to another', 'it ends too early'),
    ('turn left, I mean', 'it ends too early'),
    ('move forward two two meters', "'two two' is not a number I understand"),
    ('go to the box, and dance', "', and dance' has no verb"),
    ('hold the box', "lost at 'the box'"),
    ('go to the box so fast', "lost at 'so fast'"),
    ('pick up the cup then', 'it ends too early'),
    ('go to the 1st, no, the 2nd box', "lost at ', no, the 2nd box'"),
    # -- an object after a comma: another step or a correction? and words of no object ----
    ('go to the blue box, the red ball', 'another step, or a correction of the object?'),
    ('go to the door, the window', 'another step, or a correction of the object?'),
    ('go to the blue, the red box', 'another step, or a correction of the object?'),
    ('go to the ball, the red ball', 'another step, or a correction of the object?'),
    ('go to the box, the blue', 'another step, or a correction of the object?'),
    ('go to the blue box, then dance', "'dance' is not an action I know"),
    ('go to the blue box, then jump', "'jump' is not an action I know"),
    ('go to the box and then patrol', "'patrol' is not an action I know"),
    ('go to the blue ball, I mean box', "which words of 'blue ball' does 'box' replace?"),
    ('go to the red box, no, blue', "which words of 'red box' does 'blue' replace?"),
    ('go to both boxes', "'both' in 'both boxes' names more than one object"),
    ('go to each cube', "'each' in 'each cube' names more than one object"),
    ('go to the previous box', "'previous' in 'previous box' refers to what was said before"),
    ('go to the non-red box', "'non-red' in 'non-red box' says what the object is not"),
    ('go to the same box', "lost at 'same box'"),
    ('go to the blue box, then, no, the red ball', "lost at 'no, the red ball'"),
    ('go to the blue box, er, red box', "'blue box, red box' names two objects joined by ','"),
    ('would you mind going to the box', "lost at 'to the box'"),
    # A correction that says nothing new: pointing, which the robot cannot see.
    ('that one', 'which one?'),
    ('no, that one', 'which one?'),
    ('the one', 'which one?'),
    ('this one', 'which one?'),
]


# Follow-ups: what they say about the command before; the dialogue resolves them
# (test_dialogue.py). (text, kind, target, attributes, relation, reference, other): other,
# "the other one", rejects the object chosen before.
FOLLOWUPS = [
    *[(text, 'repeat', '', '', '', '', False) for text in (
        'again', 'do that again', 'do it again', 'do this again', 'do that once more', 'repeat',
        'repeat that', 'repeat it', 'repeat the last command', 'once more', 'one more time',
        'same again', 'again please', 'please do that again', 'try again', 'try that again')],
    *[(text, 'correction', '', '', '', '', True) for text in (
        'no, the other one', 'the other one', 'no the other one', 'nope, the other one',
        'not that one', 'no, not that one', 'not this one', 'the wrong one', 'wrong one',
        "that's the wrong one", 'you chose the wrong one', 'no, not the blue one',
        'another one', 'a different one', 'um, no, the other one', 'no, the, uh, other one')],
    ('not that box', 'correction', 'box', '', '', '', True),
    ('the other red box', 'correction', 'red box', '', '', '', True),
    ('no, the other red box', 'correction', 'red box', '', '', '', True),
    ('no, the left one', 'correction', '', '', 'leftmost', '', False),
    ('no, the one on the left', 'correction', '', '', 'leftmost', '', False),
    ('the one on the right', 'correction', '', '', 'rightmost', '', False),
    ('no, the red one', 'correction', '', 'red', '', '', False),
    ('the big one', 'correction', '', '', 'biggest', '', False),
    ('no, the nearest one', 'correction', '', '', 'nearest', '', False),
    ('the one next to the ball', 'correction', '', '', 'next_to', 'ball', False),
    ('no, the red box', 'correction', 'red box', '', '', '', False),
    ('no, to the red box', 'correction', 'red box', '', '', '', False),
    ('no, the red box on the left', 'correction', 'red box', '', 'leftmost', '', False),
    ('no, the green ball next to the box', 'correction', 'green ball', '', 'next_to', 'box',
     False),
]


def _referring(relation: str = '', detail: str | int = '') -> Referring | None:
    if not relation:
        return None
    if isinstance(detail, int):
        return Referring(Relation(relation), ordinal=detail)
    return Referring(Relation(relation), reference=detail)


def _check(step, spec) -> None:
    """``step`` is what ``spec`` (see the module docstring) says."""
    intent, *rest = spec
    target, referring, prompts, distance, angle = '', None, (), 0.0, 0.0
    remembered = bool(rest) and rest[-1] == SEEN
    rest = rest[:-1] if remembered else rest
    if intent == 'move':
        (distance,) = rest
    elif intent == 'turn':
        angle = math.radians(rest[0])
    elif intent == 'classify':
        prompts = tuple(rest)
    elif intent == 'return':
        assert step.origin == rest[0]
    elif intent == 'forget':
        target = rest[0] if rest else ''
    elif intent != 'stop':
        target, *relation = rest
        referring = _referring(*relation)
    assert (step.intent, step.target, step.referring, step.prompts, step.remembered) == (
        intent, target, referring, prompts, remembered)
    assert step.distance == pytest.approx(distance, abs=1e-6)
    assert step.angle == pytest.approx(angle, abs=1e-6)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+(?:\.[0-9]+)?|\.[0-9]+", text.lower().replace('\u2019', "'"))


@pytest.mark.parametrize('text, steps', PARSES)
def test_parse(text, steps):
    command = parse_command(text)
    assert command.text == text and command.followup is None
    assert len(command.steps) == len(steps)
    said = _words(text)
    for step, spec in zip(command.steps, steps, strict=True):
        _check(step, spec)
        # The step's own words, as said, in order (fillers and repeated words left out).
        words = iter(said)
        assert step.text and all(word in words for word in _words(step.text)), step.text


@pytest.mark.parametrize('text, kind, target, attributes, relation, reference, other',
                         FOLLOWUPS)
def test_followup(text, kind, target, attributes, relation, reference, other):
    command = parse_command(text)
    assert command.steps == () and not command.is_stop
    followup = command.followup
    assert (followup.kind, followup.target, followup.attributes, followup.other) == (
        kind, target, attributes, other)
    assert followup.referring == _referring(relation, reference)


@pytest.fixture(scope='module')
def open_vocabulary(tiny_model_dir):
    """Make a pipeline whose model, like real CLIP, has no vocabulary to refuse words with."""
    from clip_grounding_ros.core.perception.grounding import Grounder
    from clip_grounding_ros.core.perception.model import load_encoder
    from clip_grounding_ros.core.perception.pipeline import Perception

    encoder = load_encoder(tiny_model_dir, device='cpu')
    assert encoder.vocabulary is None
    return Perception(Grounder(encoder))


def test_the_corpus_holds_without_a_vocabulary_gate(open_vocabulary):
    """
    Every parse is taken and every refusal refused by a pipeline with an open vocabulary.

    So no refusal above depends on the bundled model's vocabulary: with real CLIP the same
    words would reach the same grammar and be refused the same way. (Its memory is empty:
    what was seen before is refused as never seen.)
    """
    perception = open_vocabulary
    for text, steps in PARSES:
        command = perception.on_command(text, 0.0)
        if re.search(r'\b(other|another|different)\b', text):  # nothing was chosen before
            assert command is None and 'no object chosen before' in perception.session.message
            continue
        if any(step[-1] == SEEN for step in steps):  # nothing was seen before either
            assert command is None and 'I have not seen a' in perception.session.message
            continue
        assert command is not None and len(command.steps) == len(steps), (
            text, perception.session.message)
    for text, fragment in REFUSALS:
        assert perception.on_command(text, 0.0) is None, text
        assert fragment in perception.session.message, (text, perception.session.message)


@pytest.mark.parametrize('text, steps', PARSES)
def test_description_parses_back_to_the_same_step(text, steps):
    """describe() is itself a command for the same step (amounts rounded as printed)."""
    for step in parse_command(text).steps:
        (again,) = parse_command(step.describe()).steps
        assert (again.intent, again.target, again.referring, again.prompts) == (
            step.intent, step.target, step.referring, step.prompts)
        assert again.distance == pytest.approx(step.distance, abs=0.005)
        assert again.angle == pytest.approx(step.angle, abs=1e-3)


def _examples(message: str) -> list[str]:
    if 'for example: ' in message:
        return message.split('for example: ', 1)[1].split('; ')
    return re.findall(r"e\.g\. '([^']+)'", message)


@pytest.mark.parametrize('text, fragment', REFUSALS)
def test_refusal_says_what_and_suggests_what_works(text, fragment):
    with pytest.raises(CommandError) as error:
        parse_command(text)
    message = str(error.value)
    assert fragment in message
    examples = _examples(message)
    assert examples, message
    for example in examples:
        parse_command(example)


# Every verb phrase with every object phrasing, politeness rotating: the object's own words,
# and only them, reach the target.
_VERBS = [('go to', Intent.APPROACH), ('drive over to', Intent.APPROACH),
          ('approach', Intent.APPROACH), ('look at', Intent.FACE), ('face', Intent.FACE),
          ('find', Intent.FIND), ('where is', Intent.FIND), ('pick up', Intent.PICK),
          ('grab', Intent.PICK)]
_OBJECTS = [('the red box', 'red box', None),
            ('red box', 'red box', None),
            ('the red box on the left', 'red box', Referring(Relation.LEFTMOST)),
            ('the nearest red box', 'red box', Referring(Relation.NEAREST)),
            ('the red box next to the green ball', 'red box',
             Referring(Relation.NEXT_TO, 'green ball')),
            ('the red box behind the stop sign', 'red box',
             Referring(Relation.BEHIND, 'stop sign')),
            ('the second red box from the right', 'red box',
             Referring(Relation.ORDINAL_RIGHT, ordinal=2))]
_POLITE = ['{}', 'please {}', 'could you {} for me', 'hey robot, {} now', "I'd like you to {}"]


@pytest.mark.parametrize('verb, intent', _VERBS)
def test_every_verb_with_every_object(verb, intent):
    for number, (words, target, referring) in enumerate(_OBJECTS):
        text = _POLITE[number % len(_POLITE)].format(f'{verb} {words}')
        (step,) = parse_command(text).steps
        assert (step.intent, step.target, step.referring) == (intent, target, referring), text
