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
The layering rules, checked in fresh interpreters.

Checked by importing modules in fresh interpreters (which also catches an import hidden in a
dependency):

- core/ and sim/ (but sim_node, its ROS face) never import rclpy, so they run, and are tested,
  trained on and benchmarked, without ROS;
- the three runtime nodes never import the simulator, the demo or the training code, nor
  their dependencies (MuJoCo, matplotlib): a robot installs only what it runs;
- package.xml's run-time dependencies are exactly what the runtime nodes and launch files
  import, so `rosdep install` on a robot pulls neither less nor more.
"""

import json
from pathlib import Path
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

ROOT = Path(__file__).resolve().parents[1]
ROS_FACES = {'clip_grounding_ros.sim.sim_node'}
RUNTIME_NODES = ('clip_grounding_ros.nodes.camera_node', 'clip_grounding_ros.nodes.grounding_node',
                 'clip_grounding_ros.nodes.action_node')
# Top-level modules of the runtime -> the rosdep key of package.xml that provides them.
ROSDEP_KEYS = {
    'rclpy': 'rclpy', 'rcl_interfaces': 'rcl_interfaces', 'std_msgs': 'std_msgs',
    'sensor_msgs': 'sensor_msgs', 'geometry_msgs': 'geometry_msgs', 'nav_msgs': 'nav_msgs',
    'visualization_msgs': 'visualization_msgs', 'vision_msgs': 'vision_msgs',
    'ament_index_python': 'ament_index_python',
    'numpy': 'python3-numpy', 'cv2': 'python3-opencv', 'torch': 'python3-torch',
    'transformers': 'python3-transformers-pip', 'launch': 'launch', 'launch_ros': 'launch_ros',
    'lark': 'python3-lark-parser', 'pint': 'python3-pint-pip',
    'text_to_num': 'python3-text2num-pip', 'yaml': 'python3-yaml',
}
# rosdep keys of package.xml that rosdistro does not define: this package's rosdep.yaml does.
OWN_ROSDEP_KEYS = {'python3-pint-pip', 'python3-text2num-pip'}
# Imported by the dependencies themselves, not by this package's code: their packages bring
# them, or they are optional extras the dependency uses when present (scipy by pint, regex by
# lark, pydot by torch).
INDIRECT = {'rosgraph_msgs', 'service_msgs', 'type_description_interfaces', 'action_msgs',
            'unique_identifier_msgs', 'rpyutils', 'rosidl_parser', 'rosidl_runtime_py',
            'builtin_interfaces', 'tokenizers', 'safetensors', 'huggingface_hub',
            'PIL', 'tqdm', 'flexcache', 'flexparser', 'platformdirs', 'torchgen',
            'typing_extensions', 'cython_runtime', 'scipy', 'regex', 'pydot'}

WALK = """
import importlib, json, pkgutil, sys
modules, first_with_rclpy = [], None
for package in ('clip_grounding_ros.core', 'clip_grounding_ros.sim'):
    path = importlib.import_module(package).__path__
    for module in pkgutil.walk_packages(path, package + '.'):
        if module.name in {ros_faces!r}:
            continue
        importlib.import_module(module.name)
        modules.append(module.name)
        if first_with_rclpy is None and 'rclpy' in sys.modules:
            first_with_rclpy = module.name
print(json.dumps({'modules': modules, 'first_with_rclpy': first_with_rclpy}))
""".replace('{ros_faces!r}', repr(ROS_FACES))

IMPORTS = """
import importlib, json, sys
before = set(sys.modules)
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def _run(script: str, *args: str):
    result = subprocess.run([sys.executable, '-c', script, *args], capture_output=True,
                            text=True, timeout=120, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_core_and_sim_modules_never_import_rclpy():
    report = _run(WALK)
    assert {'clip_grounding_ros.core.grounding', 'clip_grounding_ros.sim.world'} <= \
        set(report['modules'])  # the walk really covered both packages
    assert report['first_with_rclpy'] is None, f"{report['first_with_rclpy']} imports rclpy"


def test_runtime_nodes_do_not_import_the_simulator_demo_or_training():
    imported = _run(IMPORTS, *RUNTIME_NODES)
    assert 'rclpy' in imported and 'torch' in imported  # the import really happened
    forbidden = [m for m in imported if m.split('.')[0] in ('mujoco', 'matplotlib') or
                 m.startswith(('clip_grounding_ros.sim', 'clip_grounding_ros.demo',
                               'clip_grounding_ros.training'))]
    assert not forbidden, forbidden


def _package_xml_dependencies(tag: str) -> set[str]:
    root = ElementTree.parse(ROOT / 'package.xml').getroot()
    return {e.text for e in root.iter(tag)} | {e.text for e in root.iter('depend')}


def test_package_xml_run_dependencies_are_what_the_runtime_imports():
    imported = _run(IMPORTS, *RUNTIME_NODES)
    top_level = {m.split('.')[0] for m in imported if not m.startswith('_')}  # C internals
    top_level -= set(sys.stdlib_module_names)
    top_level -= {'clip_grounding_ros', 'setuptools', 'pkg_resources', '_distutils_hack'}
    unknown = top_level - set(ROSDEP_KEYS) - INDIRECT
    used = {ROSDEP_KEYS[m] for m in top_level if m in ROSDEP_KEYS}
    # Imported later or elsewhere, which an import here cannot show: transformers when the
    # model loads, ament_index_python when a package:// model is resolved, launch and
    # launch_ros by the launch files, vision_msgs where installed.
    used |= {'python3-transformers-pip', 'ament_index_python', 'launch', 'launch_ros',
             'vision_msgs'}
    declared = _package_xml_dependencies('exec_depend')
    assert not unknown, f'modules without a rosdep key in this test: {sorted(unknown)}'
    assert declared == used, (f'declared but not imported: {sorted(declared - used)}; '
                              f'imported but not declared: {sorted(used - declared)}')


def test_pip_only_keys_without_an_upstream_definition_are_in_rosdep_yaml():
    import yaml

    defined = yaml.safe_load((ROOT / 'rosdep.yaml').read_text())
    assert set(defined) == OWN_ROSDEP_KEYS
    for key, rules in defined.items():
        assert rules['ubuntu']['pip']['packages'] and rules['debian']['pip']['packages'], key
    assert OWN_ROSDEP_KEYS <= _package_xml_dependencies('exec_depend')
