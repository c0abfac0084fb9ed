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
What the camera sees: from frames and phrases to the object a command means.

Owns the model (``encoder``: the encoder protocol and what every backend shares; ``model``:
loading, the torch backend; ``openvino_encoder``: the OpenVINO backend), image decoding and
local frame sources (``images``, ``sources``), class-agnostic region proposals
(``proposals``), CLIP grounding and classification (``grounding``), referring expressions
(``referring``), which object is meant and followed (``choice``), tracking between
groundings (``tracking``), what groundings leave in the object memory and going back to it
(``recall``), debug drawing (``drawing``) and the pipeline that ties them together for
grounding_node (``pipeline``).

May import: ``contract``, ``language``, ``world``.
"""
