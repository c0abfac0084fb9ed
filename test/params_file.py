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
config/grounding.yaml written from the nodes' parameter declarations.

The params file is the robot's configuration, and it must list every parameter with its
default, description and range. Rather than keep it in step by hand, this renders it from
the declarations; test_launch_files.py checks that the committed file is exactly this.
Regenerate it after changing a parameter:

    .venv/bin/python test/params_file.py > config/grounding.yaml
"""

from __future__ import annotations

import textwrap

from clip_grounding_ros.core.contract.parameters import ParamSpec
from clip_grounding_ros.nodes import action_node, camera_node, grounding_node
import yaml

HEADER = """\
# Parameters of the clip_grounding_ros nodes on a real robot, with their defaults. Generated
# from the nodes' declarations by test/params_file.py (test_launch_files.py checks it).
# Load with: ros2 launch clip_grounding_ros grounding.launch.py params_file:=<this file>
# or: ros2 run clip_grounding_ros grounding_node --ros-args --params-file <this file>
# Every parameter is also described by `ros2 param describe <node> <name>`.
# The /**/ keys match each node in any namespace (grounding.launch.py namespace:=robot1);
# the /** section is read by every node that declares its parameters (the camera mount, with
# which grounding_node places targets and action_node obstacle points, and the association
# gate, by which both tell the chosen object from others). It must stay the LAST section: rcl
# merges a -p or launch argument override into the first /** section it finds, and a node's
# own section after that would shadow the override.
"""
# Declared alike by both nodes that need them (the camera mount, the association gate).
SHARED = tuple(spec for spec in grounding_node.PARAMS if spec in action_node.PARAMS)


def node_sections() -> dict[str, tuple[ParamSpec, ...]]:
    """Section key -> its parameters, in file order."""
    def own(specs):
        return tuple(spec for spec in specs if spec not in SHARED)
    return {'/**/camera_node': camera_node.PARAMS,
            '/**/grounding_node': own(grounding_node.PARAMS),
            '/**/action_node': own(action_node.PARAMS),
            '/**': SHARED}


def _value(value) -> str:
    value = list(value) if isinstance(value, tuple) else value
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip() \
        .removesuffix('...').strip()


def render() -> str:
    lines = [HEADER]
    for key, specs in node_sections().items():
        lines += [f'{key}:', '  ros__parameters:']
        for spec in specs:
            note = spec.description
            if spec.constraints:
                note += f' ({spec.constraints})'
            if spec.read_only:
                note += ' (read-only: restart to change)'
            lines += textwrap.wrap(note, width=95, initial_indent='    # ',
                                   subsequent_indent='    # ')
            lines.append(f'    {spec.name}: {_value(spec.plain_default)}')
        lines.append('')
    return '\n'.join(lines).rstrip('\n') + '\n'


if __name__ == '__main__':
    print(render(), end='')
