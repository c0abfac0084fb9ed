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
How the base moves: from a task and its inputs to a safe velocity.

Owns the motion parameters (``config``), the velocity laws (``velocity``), obstacle points
and their memory in the odometry frame (``sensing``), the path check and the choice of a
free heading (``obstacles``), going around obstacles (``avoidance``), the safety rules
that stop the robot (``safety``) and the controller that applies them all (``controller``).

May import: ``contract``, ``world``.
"""
