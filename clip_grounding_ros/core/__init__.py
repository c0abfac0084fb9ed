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
The pure core of clip_grounding_ros: everything the nodes do, without ROS.

Nothing under this package imports ROS, so every piece can be tested and reused on its own;
the nodes in ``clip_grounding_ros.nodes`` only translate between ROS messages and it. Five
rooms, each owning one concern and importing only the rooms below it
(``test/test_pure_core.py`` checks both):

- ``contract``: what the nodes exchange and how they are configured: the status messages and
  their states, the step protocol (intents, tasks, step outcomes), the command relay and the
  simulator's ground truth, parameter declarations, and comparisons on ROS time. Imports no
  other room.
- ``language``: what was said: the command grammar, the steps it yields, the dialogue that
  resolves "again" and "no, the other one", and the command session that walks through a
  sequence. Imports ``contract``.
- ``world``: where things are: frames and poses (REP-103/105), the camera model that places
  image boxes in the base frame, and the memory of the target in the odometry frame.
  Imports ``contract``.
- ``perception``: what the camera sees: model loading and encoders, images, region
  proposals, grounding, referring expressions, tracking, and the perception pipeline that
  turns commands and frames into targets and statuses. Imports ``contract``, ``language``
  and ``world``.
- ``motion``: how the base moves: velocity laws, obstacle sensing and avoidance, the safety
  rules, and the motion controller. Imports ``contract`` and ``world``.
"""
