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
The layering rules and the hand-offs between the rooms, checked on the code itself.

Checked by importing modules in fresh interpreters (which also catches an import hidden in a
dependency):

- core/ and sim/ (but sim_node, its ROS face) never import rclpy, so they run, and are tested,
  trained on and benchmarked, without ROS;
- the three runtime nodes never import the simulator, the demo or the training code, nor
  their dependencies (MuJoCo, matplotlib): a robot installs only what it runs;
- package.xml's run-time dependencies are exactly what the runtime nodes and launch files
  import, so `rosdep install` on a robot pulls neither less nor more.

Checked on the source (its imports and expressions, read with ast):

- each room of core/ imports only the rooms its ``__init__`` docstring allows, and nothing
  outside core/; no module of the package imports itself through others (no import cycle);
- no configuration choice (strategy, backend, obstacle_source, ...) is compared with a string
  literal: code compares the enum members;
- no JSON message is parsed by key outside the contract: nodes, demo and benches call the
  contract types' ``from_json``;
- the nodes talk to the core objects they drive through methods, never their fields.
"""

import ast
from collections import defaultdict
from enum import Enum
import importlib
import json
from pathlib import Path
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROS_FACES = {'clip_grounding_ros.sim.sim_node'}
RUNTIME_NODES = ('clip_grounding_ros.nodes.camera_node', 'clip_grounding_ros.nodes.grounding_node',
                 'clip_grounding_ros.nodes.action_node')
# Top-level modules of the runtime -> the rosdep key of package.xml that provides them.
ROSDEP_KEYS = {
    'rclpy': 'rclpy', 'rcl_interfaces': 'rcl_interfaces', 'std_msgs': 'std_msgs',
    'sensor_msgs': 'sensor_msgs', 'geometry_msgs': 'geometry_msgs', 'nav_msgs': 'nav_msgs',
    'visualization_msgs': 'visualization_msgs', 'diagnostic_msgs': 'diagnostic_msgs',
    'vision_msgs': 'vision_msgs',
    'ament_index_python': 'ament_index_python',
    'numpy': 'python3-numpy', 'cv2': 'python3-opencv', 'torch': 'python3-torch',
    'transformers': 'python3-transformers-pip', 'launch': 'launch', 'launch_ros': 'launch_ros',
    'lark': 'python3-lark-parser', 'pint': 'python3-pint-pip',
    'text_to_num': 'python3-text2num-pip', 'yaml': 'python3-yaml',
    'skimage': 'python3-skimage', 'scipy': 'python3-scipy',
}
# rosdep keys of package.xml that rosdistro does not define: this package's rosdep.yaml does.
OWN_ROSDEP_KEYS = {'python3-pint-pip', 'python3-text2num-pip'}
# Imported by the dependencies themselves, not by this package's code: their packages bring
# them, or they are optional extras the dependency uses when present (regex by lark, pydot by
# torch, lazy_loader by scikit-image).
INDIRECT = {'rosgraph_msgs', 'service_msgs', 'type_description_interfaces', 'action_msgs',
            'unique_identifier_msgs', 'rpyutils', 'rosidl_parser', 'rosidl_runtime_py',
            'builtin_interfaces', 'tokenizers', 'safetensors', 'huggingface_hub',
            'PIL', 'tqdm', 'flexcache', 'flexparser', 'platformdirs', 'torchgen',
            'typing_extensions', 'cython_runtime', 'regex', 'pydot', 'lazy_loader'}

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
    assert {'clip_grounding_ros.core.perception.grounding', 'clip_grounding_ros.sim.world'} <= \
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


# -- rooms, cycles and hand-offs, on the source -----------------------------------------------
PACKAGE = ROOT / 'clip_grounding_ros'
CORE = PACKAGE / 'core'
# Which rooms of core/ each room may import (the rooms' __init__ docstrings say the same).
ALLOWED_ROOMS = {'contract': set(), 'language': {'contract'}, 'world': {'contract'},
                 'perception': {'contract', 'language', 'world'},
                 'motion': {'contract', 'world'}}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix('').parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _imports(path: Path) -> set[str]:
    """Return the package's modules ``path`` imports, anywhere in it (lazy imports too)."""
    name = _module_name(path)
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                module = '.'.join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ''
            found.add(module)
            found |= {f'{module}.{alias.name}' for alias in node.names}
    modules = {_module_name(p) for p in PACKAGE.rglob('*.py')}
    return {m for m in found if m in modules and m != name}


def test_each_room_of_the_core_imports_only_the_rooms_below_it():
    rooms = {path.name for path in CORE.iterdir() if (path / '__init__.py').is_file()}
    assert rooms == set(ALLOWED_ROOMS), f'rooms {sorted(rooms)}: update ALLOWED_ROOMS'
    broken = []
    for path in sorted(CORE.rglob('*.py')):
        room = path.relative_to(CORE).parts[0]
        if room == '__init__.py':
            continue
        for module in _imports(path):
            parts = module.split('.')
            if parts[:2] != ['clip_grounding_ros', 'core']:
                broken.append(f'{path.relative_to(ROOT)} imports {module} (outside the core)')
            elif len(parts) > 2 and parts[2] != room and parts[2] not in ALLOWED_ROOMS[room]:
                broken.append(f'{path.relative_to(ROOT)} imports {module}')
    assert not broken, broken


def test_no_module_of_the_package_imports_itself_through_others():
    graph = {_module_name(p): _imports(p) for p in PACKAGE.rglob('*.py')}
    # A package's __init__ is imported with each of its modules: no edge from a module to it.
    graph = {m: {d for d in deps if not m.startswith(d + '.')} for m, deps in graph.items()}
    cycles, state = [], {}

    def visit(module, path):
        state[module] = 'open'
        for dep in sorted(graph.get(module, ())):
            if state.get(dep) == 'open':
                cycles.append(path[path.index(dep):] + [dep] if dep in path else [module, dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[module] = 'done'

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles


def _choice_parameters() -> dict[str, set[str]]:
    """Every parameter whose value is one of fixed choices: its name -> the choices."""
    from clip_grounding_ros.nodes import action_node, camera_node, grounding_node
    from clip_grounding_ros.sim import sim_node

    choices = defaultdict(set)
    for node in (action_node, camera_node, grounding_node, sim_node):
        for spec in node.PARAMS:
            choices[spec.name] |= set(spec.allowed)
    return {name: values for name, values in choices.items() if values}


def _named(node: ast.AST) -> str | None:
    """Return the name an expression reads: a variable, an attribute, or a string key."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return str(node.slice.value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr == 'get' and node.args and isinstance(node.args[0], ast.Constant):
        return str(node.args[0].value)
    return None


def _source_files():
    for folder in (PACKAGE, ROOT / 'bench', ROOT / 'launch'):
        yield from sorted(folder.rglob('*.py'))


def test_configuration_choices_are_compared_as_enums_never_as_strings():
    choices = _choice_parameters()
    assert {'strategy', 'backend', 'obstacle_source', 'motion_mode', 'input'} <= set(choices)
    for name in ('strategy', 'backend', 'obstacle_source', 'motion_mode', 'input'):
        assert all(isinstance(v, str) for v in choices[name])
    found = []
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            literals = {s.value for s in sides if isinstance(s, ast.Constant)}
            for side in sides:
                values = choices.get(_named(side) or '', set())
                if literals & values:
                    found.append(f'{path.relative_to(ROOT)}:{node.lineno}')
    assert not found, f'compare the enum member instead: {found}'


def test_configuration_choices_are_enums():
    for name, kinds in (('strategy', 'Strategy'), ('backend', 'Backend'),
                        ('obstacle_source', 'ObstacleSource'), ('motion_mode', 'MotionMode'),
                        ('input', 'FrameInput')):
        from clip_grounding_ros.nodes import action_node, camera_node, grounding_node
        specs = [s for n in (action_node, camera_node, grounding_node) for s in n.PARAMS
                 if s.name == name]
        assert specs and all(isinstance(s.default, Enum) and type(s.default).__name__ == kinds
                             for s in specs), name


def test_no_json_message_is_parsed_by_key_outside_the_contract():
    found = []
    for path in _source_files():
        if path.parent.name == 'contract':
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr == 'loads' and node.args and \
                    isinstance(node.args[0], ast.Attribute) and node.args[0].attr == 'data':
                found.append(f'{path.relative_to(ROOT)}:{node.lineno}')
    assert not found, f"parse messages with the contract types' from_json: {found}"


@pytest.mark.parametrize('node_module, attribute, core_class', [
    ('clip_grounding_ros.nodes.action_node', 'controller',
     'clip_grounding_ros.core.motion.controller.MotionController'),
    ('clip_grounding_ros.nodes.grounding_node', 'perception',
     'clip_grounding_ros.core.perception.pipeline.Perception'),
])
def test_nodes_use_the_core_through_its_methods_not_its_fields(
        node_module, attribute, core_class):
    module, _, name = core_class.rpartition('.')
    cls = getattr(importlib.import_module(module), name)
    source = Path(importlib.import_module(node_module).__file__).read_text()
    used = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and \
                node.value.attr == attribute and isinstance(node.value.value, ast.Name) and \
                node.value.value.id == 'self':
            used.add(node.attr)
    assert used, f'{node_module} does not use self.{attribute}'
    fields = sorted(n for n in used if not hasattr(cls, n))  # set in __init__: a field
    assert not fields, f'{node_module} reaches into {name} fields {fields}'
