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
Where things are: frames, the camera, and remembered places.

Owns the REP-103/105 frame transforms and odometry poses (``frames``), the camera model
that places an image box in the base frame (``camera``: intrinsics, mount, depth or floor
plane), the memory of the target in the odometry frame (``memory``), and the object memory:
every object seen, queried by text (``objects``).

May import: ``contract``.
"""
