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
    ('stop',)
Each refusal gives a fragment its message must contain; every refusal must also suggest
examples, and each suggested example must itself parse.
"""

import math
import re

from clip_grounding_ros.core.contract.protocol import Intent
from clip_grounding_ros.core.language.commands import parse_command
from clip_grounding_ros.core.language.steps import CommandError, Referring, Relation
import pytest

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
    ('go back to the start line', [('approach', 'start line')]),
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
    ('go to the blue box, the red ball', [('approach', 'blue box'), ('approach', 'red ball')]),
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
]

REFUSALS = [
    # -- not understood --------------------------------------------------------------------
    ('dance', "'dance' is not a command I understand"),
    ('blue box', 'not a command I understand'),
    ('the red ball', 'not a command I understand'),
    ('sing a song', "lost at 'sing a song'"),
    ('the nearest box', 'not a command I understand'),
    ('go', 'it ends too early'),
    ('please', 'it ends too early'),
    ('hey robot', 'it ends too early'),
    ('!!!', 'it ends too early'),
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
    ('stop go to the box', "lost at 'go to the box'"),
    ('move forward 1 meter turn left', "lost at 'turn left'"),
    ('move forward 1 meter backward', "lost at 'backward'"),
    ('turn left up', "lost at 'up'"),
    ('turn left 90 degrees 2 meters', "lost at '2 meters'"),
    ('go to the 2 boxes', "lost at '2 boxes'"),
    ('look at the the box', "lost at 'the box'"),
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
    ('go to the box, then stop', 'stop cannot be a step of a sequence'),
    ('stop and go to the box', 'stop cannot be a step of a sequence'),
    ('go to the box and stop', 'stop cannot be a step of a sequence'),
    ('turn left, then stop', 'stop cannot be a step of a sequence'),
    ('go to the blue box and the red ball', "'and the red ball' has no verb"),
    ('turn left, then the red ball', "'the red ball' has no verb"),
    ('move forward 1 m, then the box', "'the box' has no verb"),
    ('go to the ' + ', then the '.join((*TEN_THINGS, 'bee')), 'more than the 10'),
    ('go to the box, ' * 40, 'longer than the 400'),
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
    if intent == 'move':
        (distance,) = rest
    elif intent == 'turn':
        angle = math.radians(rest[0])
    elif intent == 'classify':
        prompts = tuple(rest)
    elif intent != 'stop':
        target, *relation = rest
        referring = _referring(*relation)
    assert (step.intent, step.target, step.referring, step.prompts) == (
        intent, target, referring, prompts)
    assert step.distance == pytest.approx(distance, abs=1e-6)
    assert step.angle == pytest.approx(angle, abs=1e-6)


@pytest.mark.parametrize('text, steps', PARSES)
def test_parse(text, steps):
    command = parse_command(text)
    assert command.text == text
    assert len(command.steps) == len(steps)
    said = ' '.join(text.replace('\u2019', "'").split())
    for step, spec in zip(command.steps, steps, strict=True):
        _check(step, spec)
        assert step.text and step.text in said  # the step's own words, as said


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
