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
The open-vocabulary object memory in the odometry frame.

Merging by place and likeness, the age and size bounds, invalid input, queries through a real
scoring function, time going back and odometry resets, and saving: round trips, each reason a
memory starts empty, and a saver killed at random moments that never leaves a broken file.
"""

import inspect
import json
import math
from pathlib import Path
import signal
import subprocess
import sys
import time

from clip_grounding_ros.core.contract.parameters import parameter_specs
from clip_grounding_ros.core.world.objects import (
    ObjectMemory,
    ObjectMemoryConfig,
    RememberedObject,
    Sighting,
)
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DIM = 16
CONFIG = ObjectMemoryConfig(object_memory_max_objects=50, object_memory_max_age=100.0,
                            object_memory_merge_radius=0.35,
                            object_memory_merge_similarity=0.8)


def unit(vector) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float64)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def random_unit(seed: int, dim: int = DIM) -> np.ndarray:
    return unit(np.random.default_rng(seed).normal(size=dim))


def at_cosine(text: np.ndarray, cosine: float, seed: int) -> np.ndarray:
    """Return a unit embedding whose cosine with the unit ``text`` is ``cosine``."""
    other = np.random.default_rng(seed).normal(size=len(text))
    other -= (other @ text) * text
    other /= np.linalg.norm(other)
    return unit(cosine * text.astype(np.float64) + math.sqrt(1.0 - cosine ** 2) * other)


def sigmoid_score(text: np.ndarray, scale: float = 10.0):
    """Return a real P(phrase | region): the cosine with ``text`` through a sigmoid."""
    def score(embeddings: np.ndarray) -> np.ndarray:
        assert embeddings.ndim == 2 and embeddings.dtype == np.float32
        return 1.0 / (1.0 + np.exp(-scale * (embeddings @ text)))
    return score


def test_settings_have_descriptions_and_finite_ranges():
    for spec in parameter_specs(ObjectMemoryConfig):
        assert spec.description and math.isfinite(spec.minimum) and math.isfinite(spec.maximum)
        assert spec.minimum <= spec.default <= spec.maximum
    with pytest.raises(ValueError, match='object_memory_merge_radius 0.0 is outside'):
        ObjectMemoryConfig(object_memory_merge_radius=0.0)


def test_the_same_object_seen_twice_merges_and_its_means_move():
    memory = ObjectMemory(CONFIG)
    chair = random_unit(1)
    memory.add([Sighting(chair, (2.0, 1.0), 0.4, 10.0, 'chair')], now=10.2)
    # Seen again 0.2 m off, a little differently, wider, without a label.
    again = unit(chair + 0.2 * random_unit(2))
    assert float(chair @ again) > 0.8
    memory.add([Sighting(again, (2.2, 1.0), 0.6, 11.0)], now=11.1)
    [seen] = memory.objects(11.5)
    assert seen.sightings == 2 and seen.object_id == 1 and seen.label == 'chair'
    assert seen.position == pytest.approx((2.1, 1.0)) and seen.width == pytest.approx(0.5)
    assert (seen.first_seen, seen.last_seen) == (10.0, 11.0)
    np.testing.assert_allclose(seen.embedding, unit(chair.astype(float) + again), atol=1e-6)
    assert seen.embedding.dtype == np.float32 and seen.embedding.shape == (DIM,)
    # A third sighting: the means are over all three; the last label given is kept.
    memory.add([Sighting(chair, (2.3, 1.15), 0.5, 12.0, 'armchair')], now=12.0)
    [seen] = memory.objects(12.0)
    assert seen.position == pytest.approx((6.5 / 3.0, 1.05))
    assert seen.width == pytest.approx(0.5) and seen.sightings == 3
    np.testing.assert_allclose(seen.embedding, unit(2.0 * chair.astype(float) + again),
                               atol=1e-6)
    assert seen.label == 'armchair'
    # A late image of it (stamped earlier) widens the times, never narrows them.
    memory.add([Sighting(chair, (2.2, 1.1), 0.5, 9.0)], now=12.1)
    [seen] = memory.objects(12.1)
    assert (seen.first_seen, seen.last_seen, seen.sightings) == (9.0, 12.0, 4)


def test_different_objects_at_one_place_stay_two():
    memory = ObjectMemory(CONFIG)
    cup, book = random_unit(3), random_unit(4)
    assert float(cup @ book) < 0.8
    memory.add([Sighting(cup, (1.0, 0.0), 0.1, 1.0, 'cup')], now=1.0)
    memory.add([Sighting(book, (1.0, 0.05), 0.2, 2.0, 'book')], now=2.0)
    assert len(memory) == 2
    assert [o.label for o in memory.objects(2.0)] == ['book', 'cup']  # most recent first
    # Each later sighting goes to the one it looks like.
    memory.add([Sighting(cup, (1.02, 0.01), 0.1, 3.0),
                Sighting(book, (0.98, 0.0), 0.2, 3.0)], now=3.0)
    assert {o.label: o.sightings for o in memory.objects(3.0)} == {'cup': 2, 'book': 2}


def test_a_like_object_far_away_is_a_new_one_and_the_nearest_like_one_merges():
    memory = ObjectMemory(CONFIG)
    chair = random_unit(5)
    memory.add([Sighting(chair, (0.0, 0.0), 0.5, 1.0)], now=1.0)
    memory.add([Sighting(chair, (0.36, 0.0), 0.5, 2.0)], now=2.0)  # past the merge radius
    assert len(memory) == 2
    # Within the radius of both: the nearer one takes it.
    memory.add([Sighting(chair, (0.25, 0.0), 0.5, 3.0)], now=3.0)
    counts = {o.object_id: o.sightings for o in memory.objects(3.0)}
    assert counts == {1: 1, 2: 2}
    # Sightings of one call merge with each other too (overlapping regions of one object).
    memory.add([Sighting(chair, (5.0, 5.0), 0.5, 4.0), Sighting(chair, (5.1, 5.0), 0.5, 4.0)],
               now=4.0)
    newest = memory.objects(4.0)[0]
    assert newest.object_id == 3 and newest.sightings == 2
    assert newest.position == pytest.approx((5.05, 5.0))


def test_objects_expire_after_max_age():
    memory = ObjectMemory(CONFIG)
    memory.add([Sighting(random_unit(6), (0.0, 0.0), 0.3, 10.0)], now=10.0)
    memory.add([Sighting(random_unit(7), (3.0, 0.0), 0.3, 50.0)], now=50.0)
    assert [o.last_seen for o in memory.objects(110.0)] == [50.0, 10.0]  # 100 s: still valid
    # An expired object is not revived by a sighting at its place: a new one starts there.
    memory.add([Sighting(random_unit(6), (0.0, 0.0), 0.3, 110.5)], now=110.5)
    again, kept = memory.objects(110.5)
    assert (again.object_id, again.sightings, kept.object_id, len(memory)) == (3, 1, 2, 2)
    # A sighting already too old when it is added is not kept.
    memory.add([Sighting(random_unit(8), (0.0, 5.0), 0.3, 10.0)], now=110.5)
    assert len(memory) == 2
    # A shorter age set at run time applies from the next call.
    memory.config = ObjectMemoryConfig(object_memory_max_age=30.0)
    assert [o.object_id for o in memory.objects(110.5)] == [3]


def test_beyond_max_objects_the_least_recently_seen_go():
    config = ObjectMemoryConfig(object_memory_max_objects=3, object_memory_max_age=1000.0)
    memory = ObjectMemory(config)
    for i, stamp in enumerate((5.0, 1.0, 4.0, 2.0)):
        memory.add([Sighting(random_unit(10 + i), (float(i), 0.0), 0.3, stamp)], now=6.0)
    assert [o.last_seen for o in memory.objects(6.0)] == [5.0, 4.0, 2.0]
    # Seeing the oldest again makes it recent: the next one to go is another.
    memory.add([Sighting(random_unit(13), (3.0, 0.0), 0.3, 7.0)], now=7.0)
    memory.add([Sighting(random_unit(14), (4.0, 0.0), 0.3, 7.5)], now=7.5)
    assert [o.object_id for o in memory.objects(7.5)] == [5, 4, 1]
    # A smaller bound set at run time applies from the next call.
    memory.config = ObjectMemoryConfig(object_memory_max_objects=2)
    assert [o.object_id for o in memory.objects(8.0)] == [5, 4]
    # Equal times: the older object goes first.
    memory.add([Sighting(random_unit(15 + i), (9.0 + i, 0.0), 0.3, 8.0) for i in range(3)],
               now=8.0)
    assert [o.object_id for o in memory.objects(8.0)] == [8, 7]


def good(seed: int = 20, position=(1.0, 1.0)) -> Sighting:
    return Sighting(random_unit(seed), position, 0.3, 2.0, 'thing')


BAD = {
    'NaN position': (Sighting(random_unit(21), (math.nan, 0.0), 0.3, 2.0), 'position x'),
    'inf stamp': (Sighting(random_unit(21), (0.0, 0.0), 0.3, math.inf), 'stamp must be finite'),
    'zero embedding': (Sighting(np.zeros(DIM, np.float32), (0.0, 0.0), 0.3, 2.0), 'norm 0.0'),
    'NaN embedding': (Sighting(np.full(DIM, math.nan, np.float32), (0.0, 0.0), 0.3, 2.0),
                      'embedding must be finite'),
    'wrong dimension': (Sighting(random_unit(21, DIM + 1), (0.0, 0.0), 0.3, 2.0),
                        f'dimension {DIM + 1}, the memory holds {DIM}-dimensional'),
    'two-dimensional embedding': (Sighting(random_unit(21).reshape(1, DIM), (0.0, 0.0), 0.3,
                                           2.0), r'shape \(D,\)'),
    'negative width': (Sighting(random_unit(21), (0.0, 0.0), -0.3, 2.0),
                       'width must be positive'),
    'zero width': (Sighting(random_unit(21), (0.0, 0.0), 0.0, 2.0), 'width must be positive'),
    'three coordinates': (Sighting(random_unit(21), (0.0, 0.0, 0.0), 0.3, 2.0),
                          'position must have 2 values'),
    'label not a str': (Sighting(random_unit(21), (0.0, 0.0), 0.3, 2.0, None),
                        'label must be a str'),
}


@pytest.mark.parametrize('kind', sorted(BAD))
def test_bad_input_is_refused_and_nothing_of_the_call_is_stored(kind):
    memory = ObjectMemory(CONFIG)
    memory.add([good()], now=2.0)
    before = memory.objects(2.0)
    bad, message = BAD[kind]
    # A good sighting first (a new object, and one seen again), then the bad one.
    with pytest.raises(ValueError, match=message):
        memory.add([good(22, (5.0, 5.0)), good(), bad], now=2.5)
    assert len(memory) == 1 and memory.objects(2.5) == before


def test_bad_times_and_mixed_dimensions_are_refused():
    memory = ObjectMemory(CONFIG)
    with pytest.raises(ValueError, match='different dimensions'):
        memory.add([good(), Sighting(random_unit(1, DIM + 2), (0.0, 0.0), 0.3, 2.0)], now=2.0)
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match='now must be finite'):
            memory.add([good()], now=bad)
        with pytest.raises(ValueError, match='now must be finite'):
            memory.objects(bad)
        with pytest.raises(ValueError, match='threshold must be finite'):
            memory.query(sigmoid_score(random_unit(1)), bad, 2.0)
    assert len(memory) == 0
    # An empty memory takes any dimension, and after it was emptied, another one.
    memory.add([good()], now=2.0)
    memory.forget(1)
    memory.add([Sighting(random_unit(1, 8), (0.0, 0.0), 0.3, 2.0)], now=2.0)
    assert memory.objects(2.0)[0].embedding.shape == (8,)


def test_a_query_returns_the_objects_passing_the_threshold_best_first():
    text = random_unit(30)
    memory = ObjectMemory(CONFIG)
    cosines = (0.1, 0.9, -0.3, 0.5)
    memory.add([Sighting(at_cosine(text, c, 31 + i), (2.0 * i, 0.0), 0.3, 1.0, f'c{c}')
                for i, c in enumerate(cosines)], now=1.0)
    # Two copies of one embedding far apart: the same score, the more recent first.
    twin = at_cosine(text, 0.3, 40)
    memory.add([Sighting(twin, (0.0, 10.0), 0.3, 2.0, 'older twin')], now=2.0)
    memory.add([Sighting(twin, (0.0, -10.0), 0.3, 3.0, 'newer twin')], now=3.0)
    score = sigmoid_score(text)
    found = memory.query(score, threshold=0.7, now=3.0)
    assert [r.object.label for r in found] == ['c0.9', 'c0.5', 'newer twin', 'older twin',
                                               'c0.1']
    expected = [1.0 / (1.0 + math.exp(-10.0 * c)) for c in (0.9, 0.5, 0.3, 0.3, 0.1)]
    assert [r.score for r in found] == pytest.approx(expected, abs=1e-5)
    assert memory.query(score, threshold=0.99, now=3.0)[0].object.label == 'c0.9'
    assert memory.query(score, threshold=1.01, now=3.0) == []
    # A threshold equal to a score lets it pass.
    assert len(memory.query(score, threshold=found[1].score, now=3.0)) == 2


def test_a_query_scores_only_valid_objects_and_checks_the_scores():
    calls = []

    def score(embeddings):
        calls.append(embeddings.shape)
        assert not embeddings.flags.writeable  # the stored matrix, read-only
        return np.ones(len(embeddings))

    memory = ObjectMemory(CONFIG)
    assert memory.query(score, 0.5, now=1.0) == [] and calls == []  # empty: never called
    memory.add([Sighting(random_unit(50), (0.0, 0.0), 0.3, 1.0)], now=1.0)
    memory.add([Sighting(random_unit(51), (5.0, 0.0), 0.3, 90.0)], now=90.0)
    assert len(memory.query(score, 0.5, now=105.0)) == 1 and calls == [(1, DIM)]
    with pytest.raises(ValueError, match=r'score returned shape \(2,\) for 1 embeddings'):
        memory.query(lambda e: np.ones(2), 0.5, now=105.0)
    assert memory.query(lambda e: np.full(len(e), np.nan), 0.0, now=105.0) == []


def test_time_going_back_clears_the_memory():
    memory = ObjectMemory(CONFIG)
    memory.add([good()], now=20.0)
    assert memory.check_time(20.0) == '' and len(memory) == 1
    assert memory.check_time(19.0) == 'time went back (20.000 s -> 19.000 s)'
    assert len(memory) == 0 and memory.cleared == 'time went back (20.000 s -> 19.000 s)'
    # The new clock is used from then on; query, objects and add see the jump too.
    memory.add([good()], now=19.5)
    assert len(memory.objects(19.5)) == 1
    assert memory.query(sigmoid_score(random_unit(20)), 0.0, now=3.0) == []
    assert 'time went back' in memory.cleared
    memory.add([good()], now=3.5)
    memory.add([good(23, (9.0, 9.0))], now=1.0)  # a bag loop: the earlier sighting goes
    assert [o.object_id for o in memory.objects(1.0)] == [4]


def test_an_odometry_reset_forget_and_clear():
    memory = ObjectMemory(CONFIG)
    memory.add([good(), good(24, (4.0, 0.0)), good(25, (8.0, 0.0))], now=2.0)
    memory.forget(2)
    memory.forget(99)  # unknown: nothing happens
    assert [o.object_id for o in memory.objects(2.0)] == [3, 1]
    memory.on_odometry_reset('the odometry node restarted')
    assert len(memory) == 0 and 'odometry reset: the odometry node restarted' in memory.cleared
    memory.add([good()], now=2.5)
    assert memory.objects(2.5)[0].object_id == 4  # ids are never reused
    memory.clear('a new map')
    assert len(memory) == 0 and memory.cleared == 'a new map'


def filled(seed: int, count: int, stamp: float = 50.0) -> ObjectMemory:
    """Return a memory of ``count`` objects, some seen twice, with labels."""
    rng = np.random.default_rng(seed)
    memory = ObjectMemory(CONFIG)
    sightings = [Sighting(unit(rng.normal(size=DIM)), (float(i), float(rng.uniform(-1, 1))),
                          float(rng.uniform(0.1, 1.0)), stamp - i, f'object {i}' if i % 2 else '')
                 for i in range(count)]
    memory.add(sightings, now=stamp)
    memory.add([Sighting(unit(s.embedding + 0.1 * rng.normal(size=DIM)), s.position, s.width,
                         stamp, '') for s in sightings[::3]], now=stamp)
    return memory


def test_save_and_load_keep_the_memory(tmp_path):
    memory = filled(60, 12)
    path = tmp_path / 'objects.npz'
    memory.save(path, 'session-1', now=55.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['objects.npz']  # no temporary left
    loaded, why = ObjectMemory.load(path, 'session-1', now=55.0, config=CONFIG)
    assert why == '' and loaded.objects(55.0) == memory.objects(55.0)
    assert loaded.config is CONFIG and len(loaded) == 12
    # Merging goes on exactly as it would have (running means, ids).
    more = [Sighting(random_unit(61), (0.0, 0.0), 0.2, 56.0, 'again'),
            Sighting(random_unit(62), (40.0, 0.0), 0.2, 56.0)]
    for m in (memory, loaded):
        first = next(o for o in m.objects(55.0) if o.object_id == 1)
        m.add([Sighting(first.embedding, (first.position[0] + 0.05, first.position[1]), 0.2,
                        56.0, 'again')], now=56.0)
        m.add(more, now=56.0)
    assert loaded.objects(56.0) == memory.objects(56.0)
    assert next(o for o in loaded.objects(56.0) if o.object_id == 1).sightings == 3
    # Objects too old at load time are dropped; the file itself is not changed by loading.
    old, why = ObjectMemory.load(path, 'session-1', now=149.5, config=CONFIG)
    assert why == '' and [o.last_seen for o in old.objects(149.5)] == [50.0, 50.0, 50.0, 50.0]
    # An empty memory round-trips too.
    ObjectMemory(CONFIG).save(path, 'session-1', now=1.0)
    empty, why = ObjectMemory.load(path, 'session-1', now=1.0)
    assert why == '' and len(empty) == 0


def test_each_reason_a_loaded_memory_starts_empty(tmp_path):
    path = tmp_path / 'objects.npz'
    memory, why = ObjectMemory.load(path, 'a', now=15.0)
    assert len(memory) == 0 and why == f'no memory file at {path}'
    filled(70, 3, stamp=100.0).save(path, 'a', now=120.0)
    memory, why = ObjectMemory.load(path, 'b', now=130.0)
    assert len(memory) == 0
    assert why == f"the memory file {path} is from another odometry session ('a', not 'b')"
    memory, why = ObjectMemory.load(path, 'a', now=15.0)
    assert len(memory) == 0
    assert why == (f'the memory file {path} was saved at 120.0 s, after now (15.0 s): the '
                   'clock went back')
    # Another format version.
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(str(arrays['meta']))
    other = tmp_path / 'other.npz'
    np.savez(other, **{**arrays, 'meta': np.array(json.dumps({**meta, 'format_version': 99}))})
    memory, why = ObjectMemory.load(other, 'a', now=130.0)
    assert len(memory) == 0 and why == f'the memory file {other} has format version 99, not 1'
    # Unreadable: cut short, garbage, a directory, columns that do not fit, pickled objects.
    broken = {'truncated.npz': path.read_bytes()[:len(path.read_bytes()) // 2],
              'garbage.npz': b'not a memory' * 10}
    for name, content in broken.items():
        (tmp_path / name).write_bytes(content)
    np.savez(tmp_path / 'short.npz', **{**arrays, 'widths': arrays['widths'][:1]})
    np.savez(tmp_path / 'pickled.npz', **{**arrays, 'widths': np.array([{}] * 3, dtype=object)})
    (tmp_path / 'folder.npz').mkdir()
    for name in (*broken, 'short.npz', 'pickled.npz', 'folder.npz'):
        memory, why = ObjectMemory.load(tmp_path / name, 'a', now=130.0)
        assert len(memory) == 0 and why.startswith(f'the memory file {tmp_path / name} is '
                                                   'unreadable: '), why
        assert memory.objects(130.0) == []


def alternative(which: int):
    """Build one of the two memories the crash test's saver writes in turn (A: 0, B: 1)."""
    from clip_grounding_ros.core.world.objects import ObjectMemory, Sighting
    import numpy as np

    rng = np.random.default_rng(which)
    count = (300, 200)[which]
    embeddings = rng.normal(size=(count, 512)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    memory = ObjectMemory()
    memory.add([Sighting(e, (float(i), float(which)), 0.5, 10.0, f'{which}-{i}')
                for i, e in enumerate(embeddings)], now=10.0)
    return memory


SAVER = """
import sys
memories = [alternative(0), alternative(1)]
print('ready', flush=True)
for i in range(10 ** 9):
    memories[i % 2].save(sys.argv[1], 'session', now=20.0)
"""


def test_a_saver_killed_at_random_moments_leaves_the_old_or_the_new_memory(tmp_path):
    path = tmp_path / 'objects.npz'
    code = inspect.getsource(alternative) + SAVER
    contents = [alternative(0).objects(20.0), alternative(1).objects(20.0)]
    rng = np.random.default_rng(80)
    saved, seen = False, [0, 0]
    for kill in range(30):
        saver = subprocess.Popen([sys.executable, '-c', code, str(path)], cwd=ROOT,
                                 stdout=subprocess.PIPE)
        try:
            assert saver.stdout.readline() == b'ready\n'
            deadline = time.monotonic() + 10.0  # a slow disk: let one save finish after a while
            while kill >= 10 and not saved and not path.exists() and \
                    time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.05))  # a save takes a few ms: many kills land in one
        finally:
            saver.send_signal(signal.SIGKILL)
            saver.wait()
            saver.stdout.close()
        memory, why = ObjectMemory.load(path, 'session', now=20.0)
        if not saved and why == f'no memory file at {path}':
            continue  # killed before its first save completed
        assert why == ''
        saved = True
        found = memory.objects(20.0)
        matches = [found == alternative_objects for alternative_objects in contents]
        assert sum(matches) == 1
        seen[matches.index(True)] += 1
    assert saved and sum(seen) > 0
    # Killed while writing, a saver leaves its temporary file (and never a broken memory).
    assert any(p.name.startswith('.objects.npz.') for p in tmp_path.iterdir())


def test_remembered_objects_compare_by_value():
    a = RememberedObject(1, random_unit(90), (0.0, 1.0), 0.3, 1.0, 2.0, 2, 'x')
    b = RememberedObject(1, random_unit(90), (0.0, 1.0), 0.3, 1.0, 2.0, 2, 'x')
    assert a == b and a != RememberedObject(1, random_unit(91), (0.0, 1.0), 0.3, 1.0, 2.0, 2,
                                            'x')
