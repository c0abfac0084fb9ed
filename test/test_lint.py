"""The ROS 2 linter trio (ament_flake8, ament_pep257, ament_copyright), done with ruff and ast.

flake8: `ruff check` with ruff.toml (ROS 2's 99 columns and single quotes). pep257: every
module of the package says what it is for (a module docstring). copyright: package.xml and
the LICENSE file name the same licence.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The venv's ruff (scripts/setup), else the one on PATH (a ROS workspace: python3-ruff-pip).
RUFF = shutil.which('ruff', path=str(Path(sys.executable).parent)) or shutil.which('ruff') \
    or 'ruff'


def test_ruff_check_is_clean():
    result = subprocess.run([str(RUFF), 'check', '--no-cache', '.'], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_package_module_has_a_docstring():
    modules = sorted((ROOT / 'clip_grounding_ros').rglob('*.py'))
    assert len(modules) > 20
    missing = [str(path.relative_to(ROOT)) for path in modules
               if not ast.get_docstring(ast.parse(path.read_text()))]
    assert not missing, f'modules without a docstring: {missing}'


def test_licence_is_declared_and_shipped():
    licences = [e.text for e in ElementTree.parse(ROOT / 'package.xml').getroot().iter('license')]
    assert licences == ['Apache-2.0']
    text = (ROOT / 'LICENSE').read_text()
    assert 'Licensed under the Apache License, Version 2.0' in text
    assert 'https://www.apache.org/licenses/LICENSE-2.0' in text
    assert 'The clip_grounding_ros authors' in text
