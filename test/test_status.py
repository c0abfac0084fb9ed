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
The status contract (core.contract.status, core.contract.messages).

One dataclass per status topic, strict JSON both ways, and no state spelled as a string anywhere
else in the package.
"""

import ast
import json
import math
from pathlib import Path

from clip_grounding_ros.core.contract.messages import dumps_strict, MessageError, SCHEMA_VERSION
from clip_grounding_ros.core.contract.status import (
    ActionState,
    ActionStatus,
    CameraState,
    CameraStatus,
    diagnostic,
    GroundingState,
    GroundingStatus,
    Severity,
)
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'clip_grounding_ros'
STATUSES = (GroundingStatus, ActionStatus, CameraStatus)


@pytest.mark.parametrize('status_class', STATUSES, ids=lambda c: c.__name__)
def test_round_trip_keeps_every_field_and_the_schema(status_class):
    status = status_class()
    payload = json.loads(status.to_json())
    assert payload['schema'] == SCHEMA_VERSION
    assert status_class.from_json(status.to_json()) == status


def test_non_finite_numbers_become_null_and_the_json_is_strict():
    status = GroundingStatus(state=GroundingState.TRACKING, score=math.nan,
                             position=[1.0, math.inf, -math.inf], distance=math.nan,
                             timings_ms={'total_ms': math.nan})
    text = status.to_json()
    payload = json.loads(text, parse_constant=lambda name: pytest.fail(f'bare {name}'))
    assert payload['score'] is None and payload['position'] == [1.0, None, None]
    assert payload['timings_ms'] == {'total_ms': None}
    assert dumps_strict({'a': (math.nan, 1.5)}) == '{"a":[null,1.5]}'


@pytest.mark.parametrize('text, problem', [
    ('not json', 'not strict JSON'),
    ('{"schema": 1, "state": "idle", "score": NaN}', 'not strict JSON'),
    ('[1, 2]', 'not a JSON object'),
    ('{"state": "idle"}', 'schema None is not the supported version'),
    ('{"schema": 99, "state": "idle"}', 'schema 99'),
    ('{"schema": 1, "state": "dancing"}', "unknown GroundingStatus state 'dancing'"),
])
def test_untrustworthy_status_is_refused_with_the_reason(text, problem):
    with pytest.raises(MessageError, match=problem):
        GroundingStatus.from_json(text)


def test_fields_a_reader_does_not_know_are_ignored():
    text = json.dumps({'schema': SCHEMA_VERSION, 'state': 'reached', 'future_field': 1})
    assert ActionStatus.from_json(text).state == ActionState.REACHED


def test_states_compare_and_print_as_their_wire_values():
    assert GroundingState.TRACKING == 'tracking' and str(ActionState.HOLDING) == 'holding'
    assert f'{CameraState.STREAMING}' == 'streaming'


def test_no_state_is_spelled_as_a_string_outside_the_contract():
    """
    No state is spelled as a string outside the contract.

    Producers and consumers use the enums: a state typed as a string elsewhere would
    drift from the contract unnoticed.
    """
    states = {s.value for enum in (GroundingState, ActionState, CameraState) for s in enum}
    found = []
    for path in sorted(PACKAGE.rglob('*.py')):
        if path.parent.name == 'contract':
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in states:
                found.append(f'{path.relative_to(PACKAGE)}:{node.lineno} {node.value!r}')
    assert not found, found


@pytest.mark.parametrize('status, level', [
    (GroundingStatus(state=GroundingState.ERROR, message='no frames'), Severity.ERROR),
    (GroundingStatus(state=GroundingState.LOST, message='lost'), Severity.WARN),
    (GroundingStatus(state=GroundingState.TRACKING, message='found'), Severity.OK),
    (GroundingStatus(state=GroundingState.TRACKING, warnings=['frame dropped']), Severity.WARN),
    (ActionStatus(state=ActionState.HOLDING, reason='target is old'), Severity.WARN),
    (ActionStatus(state=ActionState.FAILED, reason='not found'), Severity.WARN),
    (ActionStatus(state=ActionState.APPROACHING, reason='approach'), Severity.OK),
    (CameraStatus(state=CameraState.ERROR, message='bad frame'), Severity.ERROR),
    (CameraStatus(state=CameraState.STREAMING, message='streaming'), Severity.OK),
])
def test_each_status_has_a_diagnostic_level_message_and_values(status, level):
    got, message, values = diagnostic(status)
    assert got == level
    why = status.reason if isinstance(status, ActionStatus) else status.message
    assert message == f'{status.state}: {why}'
    assert ('state', str(status.state)) in values
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in values)
    assert [v for k, v in values if k.startswith('warning_')] == status.warnings
