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
The contract between the nodes and with their users.

Owns the status messages and their states (``status``), the step protocol (``protocol``: what a
step asks of the base and when it is done), the other JSON messages (``messages``: the
command relay, the simulator's ground truth), parameter declarations (``parameters``) and
comparisons on ROS time (``timing``). Producers and consumers import these types: no node
parses another's JSON by key or compares state strings of its own.

May import: nothing else of ``core``.
"""
