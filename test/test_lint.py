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
The ROS 2 linter trio (ament_flake8, ament_pep257, ament_copyright): the real tools and mirrors.

The real ament_flake8 and ament_pep257 run as the ament_python package template's linter tests
run them (ros2pkg's test_flake8.py.em and test_pep257.py.em): ``main_with_errors(argv=[])``
and ``main(argv=['.', 'test'])`` from the package root, return code 0. They come from PyPI
(requirements-dev.txt: ros-ament-flake8, ros-ament-pep257 and the flake8 plugins and
pydocstyle their package.xml names) or, with a sourced ROS 2, from the distribution
(ros-<distro>-ament-flake8, ros-<distro>-ament-pep257; package.xml's test_depends).
ament_copyright is not on PyPI, so it stays mirrored here.

The mirrors (ament_lint 0.19) also run, and ``ruff check`` is what to run while editing:

- ament_flake8: ``ruff check`` with ruff.toml's E, F, W, Q, B, UP, BLE, A, C4 and I rules
  (ROS 2's 99 columns, single quotes, flake8-import-order's google style as ament configures
  it). ruff.toml lists what ruff cannot mirror (E127/E128, E203 in slices, flake8-quotes' Q000
  on each part of a concatenated string, ...); the real ament_flake8 test catches those.
- ament_pep257 (``ament_pep257/main.py``): pydocstyle with the "ament" convention, which checks
  every pydocstyle code except D100-D107, D203, D212 and D404 (so D213 is enforced). ruff.toml
  selects "D" and ignores exactly those codes; the same ``ruff check`` runs it. Two pydocstyle
  checks ruff does not make (D401 on @property methods, D403 on CamelCase first words) are not
  mirrored; the real ament_pep257 test makes them.
- ament_copyright (``ament_copyright/crawler.py``, ``parser.py``, ``main.py`` with the apache2
  licence): every non-empty source file it crawls (extensions .py, .cmake, .c, .cc, .cpp, .cxx,
  .h, .hh, .hpp, .hxx; not under folders starting with '.' or '_' or holding AMENT_IGNORE) has,
  in the first comment block after any shebang or coding line, a "Copyright <year(s)> <holder>"
  line followed by the Apache-2.0 file header; at a repository root (a .git beside it) the
  LICENSE file holds the Apache-2.0 text and CONTRIBUTING.md Apache's contribution clause.
  Unlike ament_copyright, this also checks the package-level setup.py. ament_copyright
  recognises the licence by its header text only, not by an SPDX line.

The licence test also checks that package.xml declares Apache-2.0 and LICENSE ships it.
"""

from __future__ import annotations

import ast
import importlib
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The venv's ruff (scripts/setup), else the one on PATH (a ROS workspace: python3-ruff-pip).
RUFF = shutil.which('ruff', path=str(Path(sys.executable).parent)) or shutil.which('ruff') \
    or 'ruff'

# ament_copyright's crawler: the extensions it picks (ament_copyright/main.py).
SOURCE_EXTENSIONS = {'.c', '.cc', '.cpp', '.cxx', '.h', '.hh', '.hpp', '.hxx', '.cmake', '.py'}
# ament_copyright's copyright line (parser.search_copyright_information).
COPYRIGHT = re.compile(
    r'^[^\n\r]?\s*(?:\\copyright\s*)?copyright(?:\s+\(c\))?\s+'
    r'((?:\d{4}|\d{4}-\d{4})(?:,\s*(?:\d{4}|\d{4}-\d{4}))*),?\s+([^\n\r]+)$',
    re.DOTALL | re.MULTILINE | re.IGNORECASE)
# The text of ament_copyright's template/apache2_header.txt after its {copyright} line.
APACHE_HEADER = """
Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
"""
# Passages of template/apache2_license.txt and apache2_contributing.txt.
APACHE_LICENCE = ('Apache License Version 2.0, January 2004',
                  'TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION',
                  '5. Submission of Contributions.', 'END OF TERMS AND CONDITIONS',
                  'APPENDIX: How to apply the Apache License to your work.')
APACHE_CONTRIBUTING = (
    'Any contribution that you make to this repository will be under the Apache 2 License, as '
    'dictated by that [license](http://www.apache.org/licenses/LICENSE-2.0.html):',
    '5. Submission of Contributions. Unless You explicitly state otherwise, any Contribution '
    'intentionally submitted for inclusion in the Work by You to the Licensor shall be under '
    'the terms and conditions of this License, without any additional terms or conditions.')


def _words(text: str) -> str:
    """Collapse whitespace, as ament_copyright's remove_formatting does."""
    return ' '.join(text.split())


def copyright_scanned_files() -> list[Path]:
    """List the source files ament_copyright's crawler checks, plus setup.py."""
    files = []
    for folder, subfolders, names in os.walk(ROOT):
        if 'AMENT_IGNORE' in subfolders + names:
            subfolders[:] = []
            continue
        subfolders[:] = sorted(d for d in subfolders if d[0] not in '._')
        files += [Path(folder, name) for name in sorted(names)
                  if os.path.splitext(name)[1] in SOURCE_EXTENSIONS]
    return files


def header_problem(text: str) -> str | None:
    """
    Say what is wrong with a source file's copyright and licence header, or None.

    As ament_copyright's SourceDescriptor.parse: past shebang, coding and empty lines, the
    first block of comment lines that follows (comment token and one space stripped) must hold
    a copyright line, and the text after it the Apache-2.0 file header (whitespace aside).
    """
    lines = text.splitlines()
    index = 0
    while index < len(lines) and lines[index].startswith('#') and (
            lines[index].startswith('#!') or 'coding=' in lines[index]
            or 'coding:' in lines[index]):
        index += 1
    while index < len(lines) and not lines[index]:
        index += 1
    index, token = next(((i, t) for i in range(index, len(lines))
                         for t in ('#', '///', '//') if lines[i].startswith(t)), (0, None))
    if token is None:
        return 'no comment block'
    block = []
    while index < len(lines) and lines[index].startswith(token):
        block.append(lines[index][len(token) + 1:])
        index += 1
    match = COPYRIGHT.search('\n'.join(block))
    if match is None:
        return 'could not find copyright notice'
    if _words(APACHE_HEADER) not in _words('\n'.join(block)[match.end():]):
        return f'copyright={match.group(2)}, but not the Apache-2.0 header'
    return None


def _ament_tool(module: str):
    """Import an ament linter's main module, failing the test with how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        package = module.split('.')[0].replace('_', '-')
        pytest.fail(f'{error}: pip install -r requirements-dev.txt, or with a sourced ROS 2 '
                    f'apt install ros-$ROS_DISTRO-{package}')


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8(monkeypatch):
    main_with_errors = _ament_tool('ament_flake8.main').main_with_errors
    monkeypatch.chdir(ROOT)  # the template's argv=[] checks the working directory: the root
    rc, errors = main_with_errors(argv=[])
    assert rc == 0, \
        f'Found {len(errors)} code style errors / warnings:\n' + '\n'.join(errors)


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257(monkeypatch):
    main = _ament_tool('ament_pep257.main').main
    monkeypatch.chdir(ROOT)
    rc = main(argv=['.', 'test'])
    assert rc == 0, 'Found code style errors / warnings'


def test_ruff_check_is_clean():
    result = subprocess.run([str(RUFF), 'check', '--no-cache', '.'], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_source_file_has_the_copyright_and_licence_header():
    files = copyright_scanned_files()
    assert ROOT / 'setup.py' in files and ROOT / 'clip_grounding_ros' / '__init__.py' in files
    problems = {str(path.relative_to(ROOT)): problem for path in files
                if (text := path.read_text(encoding='utf-8'))
                and (problem := header_problem(text))}
    assert not problems, problems


def test_copyright_check_rejects_what_ament_copyright_rejects():
    header = '\n'.join('#' + (' ' + line if line else '')
                       for line in ('Copyright 2026 Someone\n' + APACHE_HEADER).splitlines())
    assert header_problem(header + '\n\nimport os\n') is None
    assert header_problem('#!/usr/bin/env python3\n\n' + header + '\n') is None
    assert header_problem('"""Docstring."""\n') == 'no comment block'
    assert header_problem('# A comment.\n\n' + header) == 'could not find copyright notice'
    assert 'not the Apache-2.0 header' in header_problem(
        '# Copyright 2026 Someone\n# SPDX-License-Identifier: Apache-2.0\n')


def test_repository_root_holds_the_licence_and_contributing_files():
    if not (ROOT / '.git').exists():  # ament_copyright checks these at a repository root only
        return
    licence = _words((ROOT / 'LICENSE').read_text())
    assert all(_words(passage) in licence for passage in APACHE_LICENCE)
    contributing = _words((ROOT / 'CONTRIBUTING.md').read_text())
    assert all(_words(passage) in contributing for passage in APACHE_CONTRIBUTING)


def test_every_package_module_has_a_docstring():
    # A project rule beyond ament_pep257, which ignores D100 and D104.
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
