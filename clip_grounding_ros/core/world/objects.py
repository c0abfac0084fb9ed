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
An open-vocabulary memory of the objects seen while grounding runs, in the odometry frame.

Every image region the grounder scores is a sighting: its unit CLIP image embedding, where it
stands on the floor in ``odom`` (REP-105: x, y in metres), its width (m), its image's time (s,
ROS time) and the phrase it matched ('' when none). Repeated sightings of one object (near
each other and alike) merge into one remembered object, so "go to the chair" can be answered
from memory when no chair is in view. The memory is queried by text through a scoring function
the caller passes (the grounder's own P(phrase | region) on the stored embeddings): a
remembered object passes the same threshold a live region would, and this module needs no
perception code.

A position is the odom frame's, which drifts with the distance travelled: a remembered
position is only as good as odometry since the object was seen. An odometry reset makes every
remembered position meaningless, so it clears the memory (:meth:`ObjectMemory.on_odometry_reset`),
and a file saved in another odometry session is not loaded.

Bounds: an object is forgotten ``object_memory_max_age`` s after it was last seen; beyond
``object_memory_max_objects`` objects the least recently seen are forgotten. Time going back
(a ``now`` earlier than the last one: a simulation reset, a bag played in a loop) makes every
stamp undatable and clears the memory.

Non-finite numbers, wrong shapes, zero embeddings and non-positive widths raise ValueError,
and nothing of the call that passed them is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
import json
import math
import os
from pathlib import Path
import tempfile

import numpy as np

from ..contract.parameters import setting, Settings

FORMAT_VERSION = 1
# The arrays of a saved memory, beside the JSON string 'meta'.
_COLUMNS = ('embeddings', 'mean_norms', 'positions', 'widths', 'first_seen', 'last_seen',
            'sightings')


@dataclass(frozen=True)
class ObjectMemoryConfig(Settings):
    """How many objects are remembered, for how long, and when two sightings are one object."""

    object_memory_max_objects: int = setting(
        500, 'Remember at most this many objects; beyond it the least recently seen are '
        'forgotten', minimum=1, maximum=100000)
    object_memory_max_age: float = setting(
        1800.0, 'Forget an object this long (s, ROS time) after it was last seen',
        minimum=1.0, maximum=86400.0)
    object_memory_merge_radius: float = setting(
        0.35, 'Sightings nearer than this (m, odom) to a remembered object and similar enough '
        'are the same object', minimum=0.01, maximum=5.0)
    # Measured on a demo's memory (bundled model, scene boxes): crops of one object seen
    # from different places have cosines 0.66-0.76; different objects within the merge radius
    # 0.13-0.37.
    object_memory_merge_similarity: float = setting(
        0.6, 'Cosine similarity of image embeddings above which two nearby sightings are the '
        'same object', minimum=-1.0, maximum=1.0)


@dataclass(frozen=True)
class Sighting:
    """
    One image region the grounder scored, placed on the floor.

    ``embedding``: its CLIP image embedding, (D,), unit norm (normalised again when added);
    ``position``: (x, y) in odom (m); ``width``: its physical width (m); ``stamp``: the time
    its image was taken (s, ROS time); ``label``: the phrase it was grounded for when it
    matched it, else ''.
    """

    embedding: np.ndarray
    position: tuple[float, float]
    width: float
    stamp: float
    label: str = ''


@dataclass
class RememberedObject:
    """
    One object as remembered: a snapshot, changing it changes nothing in the memory.

    ``embedding``: (D,) float32, unit norm, the normalised mean of its sightings' embeddings;
    ``position``: (x, y) in odom (m) and ``width`` (m): the means over its sightings;
    ``first_seen``/``last_seen``: the earliest and latest sighting stamps (s); ``label``: the
    last non-empty label given, else ''. ``object_id`` is unique within the memory and grows
    with each new object (ids are not reused, also after a clear).
    """

    object_id: int
    embedding: np.ndarray
    position: tuple[float, float]
    width: float
    first_seen: float
    last_seen: float
    sightings: int
    label: str

    def __eq__(self, other: object) -> bool:
        """Compare field by field, the embeddings element by element."""
        if not isinstance(other, RememberedObject):
            return NotImplemented
        return (self.object_id, self.position, self.width, self.first_seen, self.last_seen,
                self.sightings, self.label) == (
                    other.object_id, other.position, other.width, other.first_seen,
                    other.last_seen, other.sightings, other.label) and \
            np.array_equal(self.embedding, other.embedding)


@dataclass(frozen=True)
class Recollection:
    """A remembered object that matched a query, and the scoring function's value for it."""

    object: RememberedObject  # noqa: A003 - the name the API gives it
    score: float


def _finite(value: float, what: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{what} must be a number, got {value!r}') from None
    if not math.isfinite(value):
        raise ValueError(f'{what} must be finite, got {value}')
    return value


def _checked(sighting: Sighting, index: int) -> tuple:
    """
    Return a sighting's (unit float32 embedding, (x, y), width, stamp, label).

    ValueError saying which sighting (``index`` in the call) and what is wrong.
    """
    what = f'sighting {index}'
    embedding = np.asarray(sighting.embedding, dtype=np.float64)
    if embedding.ndim != 1 or embedding.size == 0:
        raise ValueError(f'{what}: the embedding must have shape (D,), got {embedding.shape}')
    if not np.all(np.isfinite(embedding)):
        raise ValueError(f'{what}: the embedding must be finite')
    norm = float(np.linalg.norm(embedding))
    if not norm > 0.0 or not math.isfinite(norm):
        raise ValueError(f'{what}: the embedding has norm {norm}, it cannot be normalised')
    try:
        position = tuple(sighting.position)
    except TypeError:
        raise ValueError(f'{what}: position must be (x, y), got {sighting.position!r}') from None
    if len(position) != 2:
        raise ValueError(f'{what}: position must have 2 values, got {len(position)}')
    position = (_finite(position[0], f'{what}: position x'),
                _finite(position[1], f'{what}: position y'))
    width = _finite(sighting.width, f'{what}: width')
    if width <= 0.0:
        raise ValueError(f'{what}: width must be positive, got {width}')
    stamp = _finite(sighting.stamp, f'{what}: stamp')
    if not isinstance(sighting.label, str):
        raise ValueError(f'{what}: label must be a str, got {sighting.label!r}')
    return (embedding / norm).astype(np.float32), position, width, stamp, sighting.label


class ObjectMemory:
    """
    The objects seen, merged and bounded, in the odometry frame (see the module notes).

    Stored as columns (row i is one object; rows 0..len-1 are valid, removal moves the last
    rows into the holes), so merging is a vectorised nearest-neighbour search and a query one
    matrix product on the (N, D) float32 embeddings. Each object keeps its mean embedding as a
    unit direction and the mean's norm, so the running mean is exact across merges.

    ``cleared`` says why the memory was last cleared ('' if it never was). ``config`` may be
    replaced at run time; new bounds apply from the next call that takes a ``now``.
    """

    def __init__(self, config: ObjectMemoryConfig = ObjectMemoryConfig()):
        self.config = config
        self.cleared = ''
        self._next_id = 1
        self._last_now: float | None = None
        self._reset_storage()

    def _reset_storage(self) -> None:
        self._n = 0
        self._dim: int | None = None
        self._embeddings = np.zeros((0, 0), dtype=np.float32)  # unit directions of the means
        self._mean_norms = np.zeros(0)  # |mean of the sightings' unit embeddings|
        self._positions = np.zeros((0, 2))
        self._widths = np.zeros(0)
        self._first = np.zeros(0)
        self._last = np.zeros(0)
        self._counts = np.zeros(0, dtype=np.int64)
        self._ids = np.zeros(0, dtype=np.int64)
        self._labels: list[str] = []

    def __len__(self) -> int:
        """Return the number of objects stored (expired ones go at the next call with a now)."""
        return self._n

    # Time and bounds.

    def check_time(self, now: float) -> str:
        """
        Clear the memory when ``now`` (s) is earlier than the last ``now`` seen.

        Returns why it was cleared, '' when time did not go back. ValueError for a non-finite
        ``now``.
        """
        now = _finite(now, 'now')
        reason = ''
        if self._last_now is not None and now < self._last_now:
            reason = f'time went back ({self._last_now:.3f} s -> {now:.3f} s)'
            self.clear(reason)
        self._last_now = now
        return reason

    def _expire(self, now: float) -> None:
        """Drop the objects last seen more than ``object_memory_max_age`` before ``now``."""
        n = self._n
        if n:
            old = np.flatnonzero(now - self._last[:n] > self.config.object_memory_max_age)
            if old.size:
                self._remove(old)

    def _bound(self, now: float) -> None:
        """Drop expired objects, then the least recently seen beyond the size bound."""
        self._expire(now)
        excess = self._n - self.config.object_memory_max_objects
        if excess <= 0:
            return
        last = self._last[:self._n]
        # The excess-th least recent stamp; below it all go, at it the oldest ids go first.
        kth = np.partition(last, excess - 1)[excess - 1]
        below = np.flatnonzero(last < kth)
        at = np.flatnonzero(last == kth)
        at = at[np.argsort(self._ids[at], kind='stable')][:excess - below.size]
        self._remove(np.concatenate([below, at]))

    def _remove(self, rows: np.ndarray) -> None:
        """Remove ``rows`` (distinct indices) by moving the last kept rows into the holes."""
        n, keep = self._n, self._n - rows.size
        removed = np.zeros(n, dtype=bool)
        removed[rows] = True
        holes = np.flatnonzero(removed[:keep])
        movers = np.flatnonzero(~removed[keep:]) + keep
        for column in self._columns():
            column[holes] = column[movers]
        for hole, mover in zip(holes.tolist(), movers.tolist(), strict=True):
            self._labels[hole] = self._labels[mover]
        del self._labels[keep:]
        self._n = keep
        if keep == 0:
            self._dim = None  # an empty memory takes embeddings of any dimension

    def _columns(self) -> tuple[np.ndarray, ...]:
        return (self._embeddings, self._mean_norms, self._positions, self._widths,
                self._first, self._last, self._counts, self._ids)

    def _reserve(self, rows: int, dim: int) -> None:
        """Make room for ``rows`` objects of dimension ``dim``, doubling up to the bound."""
        capacity = len(self._ids)
        if self._dim is None or self._embeddings.shape[1] != dim:
            capacity = 0  # empty (checked by the caller): start over in this dimension
        if rows <= capacity:
            return
        bound = self.config.object_memory_max_objects + 16
        capacity = max(rows, min(max(16, 2 * rows), bound))
        n = self._n

        def grown(column: np.ndarray, shape: tuple, dtype) -> np.ndarray:
            new = np.empty(shape, dtype=dtype)
            if n:
                new[:n] = column[:n]
            return new

        self._embeddings = grown(self._embeddings, (capacity, dim), np.float32)
        self._mean_norms = grown(self._mean_norms, (capacity,), np.float64)
        self._positions = grown(self._positions, (capacity, 2), np.float64)
        self._widths = grown(self._widths, (capacity,), np.float64)
        self._first = grown(self._first, (capacity,), np.float64)
        self._last = grown(self._last, (capacity,), np.float64)
        self._counts = grown(self._counts, (capacity,), np.int64)
        self._ids = grown(self._ids, (capacity,), np.int64)
        self._dim = dim

    # Changes.

    def add(self, sightings: Sequence[Sighting], now: float) -> None:
        """
        Merge each sighting into the object it is, or remember it as a new object.

        It is the nearest remembered object within ``object_memory_merge_radius`` (m, odom)
        whose embedding's cosine with it is >= ``object_memory_merge_similarity``; sightings
        are merged one after the other, so two of one call can merge too. Then expired objects
        and those beyond the size bound are dropped. ``now``: the current time (s).

        ValueError (and nothing of the call stored) for a non-finite number, a position that
        is not (x, y), an embedding that is not (D,) or is zero, a width <= 0, a label that is
        not a str, or embeddings of another dimension than each other or than those stored.
        """
        checked = [_checked(s, i) for i, s in enumerate(sightings)]
        now = _finite(now, 'now')
        self.check_time(now)
        self._expire(now)  # an expired object is not revived by a new sighting
        dims = {len(c[0]) for c in checked}
        if self._dim is not None and dims - {self._dim}:
            raise ValueError(f'an embedding has dimension {min(dims - {self._dim})}, the '
                             f'memory holds {self._dim}-dimensional ones')
        if len(dims) > 1:
            raise ValueError(f'the sightings have embeddings of different dimensions: '
                             f'{sorted(dims)}')
        for embedding, position, width, stamp, label in checked:
            row = self._match(embedding, position)
            if row is None:
                self._append(embedding, position, width, stamp, label)
            else:
                self._merge(row, embedding, position, width, stamp, label)
        self._bound(now)

    def _match(self, embedding: np.ndarray, position: tuple[float, float]) -> int | None:
        """Return the row of the object a sighting is (see :meth:`add`), None for a new one."""
        n = self._n
        if n == 0:
            return None
        offsets = self._positions[:n] - position
        squared = np.einsum('ij,ij->i', offsets, offsets)
        near = np.flatnonzero(squared <= self.config.object_memory_merge_radius ** 2)
        if near.size == 0:
            return None
        alike = near[self._embeddings[near] @ embedding >=
                     self.config.object_memory_merge_similarity]
        if alike.size == 0:
            return None
        return int(alike[np.argmin(squared[alike])])

    def _append(self, embedding: np.ndarray, position: tuple[float, float], width: float,
                stamp: float, label: str) -> None:
        self._reserve(self._n + 1, len(embedding))
        i = self._n
        self._embeddings[i] = embedding
        self._mean_norms[i] = 1.0
        self._positions[i] = position
        self._widths[i] = width
        self._first[i] = self._last[i] = stamp
        self._counts[i] = 1
        self._ids[i] = self._next_id
        self._labels.append(label)
        self._next_id += 1
        self._n += 1

    def _merge(self, i: int, embedding: np.ndarray, position: tuple[float, float],
               width: float, stamp: float, label: str) -> None:
        count = int(self._counts[i])
        mean = (count * self._mean_norms[i] * self._embeddings[i].astype(np.float64) +
                embedding) / (count + 1)
        norm = float(np.linalg.norm(mean))
        if norm > 1e-12:
            self._embeddings[i], self._mean_norms[i] = mean / norm, norm
        else:  # sightings that cancel out (merge_similarity near -1): the newest direction
            self._embeddings[i], self._mean_norms[i] = embedding, 0.0
        self._positions[i] = (count * self._positions[i] + position) / (count + 1)
        self._widths[i] = (count * self._widths[i] + width) / (count + 1)
        # An older image may arrive late: the times only widen.
        self._first[i] = min(self._first[i], stamp)
        self._last[i] = max(self._last[i], stamp)
        self._counts[i] = count + 1
        if label:
            self._labels[i] = label

    def forget(self, object_id: int) -> None:
        """Forget one object (it was not where it was remembered, say); unknown ids are fine."""
        rows = np.flatnonzero(self._ids[:self._n] == object_id)
        if rows.size:
            self._remove(rows)

    def clear(self, why: str) -> None:
        """Forget every object; ``cleared`` keeps ``why``. Ids go on growing afterwards."""
        self._reset_storage()
        self.cleared = why

    def on_odometry_reset(self, why: str) -> None:
        """Forget everything: positions in the old odometry frame mean nothing in the new one."""
        self.clear(f'odometry reset: {why}')

    # Reading.

    def _snapshots(self, rows: np.ndarray) -> list[RememberedObject]:
        """Return the objects of ``rows``, in that order, as snapshots (column by column)."""
        embeddings = self._embeddings[rows]  # one copy; each object's embedding a row of it
        return [RememberedObject(object_id=i, embedding=e, position=(x, y), width=w,
                                 first_seen=f, last_seen=last, sightings=c, label=label)
                for i, e, (x, y), w, f, last, c, label in zip(
                    self._ids[rows].tolist(), embeddings, self._positions[rows].tolist(),
                    self._widths[rows].tolist(), self._first[rows].tolist(),
                    self._last[rows].tolist(), self._counts[rows].tolist(),
                    [self._labels[r] for r in rows.tolist()], strict=True)]

    def objects(self, now: float) -> list[RememberedObject]:
        """Return every valid object at ``now`` (s), most recently seen first (then newest)."""
        self.check_time(now)
        self._bound(self._last_now)
        n = self._n
        order = np.lexsort((-self._ids[:n], -self._last[:n]))
        return self._snapshots(order)

    def query(self, score: Callable[[np.ndarray], np.ndarray], threshold: float,
              now: float) -> list[Recollection]:
        """
        Return the objects whose score is >= ``threshold``, best first.

        ``score`` maps the (N, D) float32 matrix of stored unit embeddings (a read-only view)
        to (N,) values, P(phrase | region) as the grounder computes it; it is called once, and
        not at all when the memory is empty. Ties go to the most recently seen. Expired objects
        are dropped first. ValueError for a non-finite threshold or scores of another shape;
        NaN scores never pass.
        """
        threshold = _finite(threshold, 'threshold')
        self.check_time(now)
        self._bound(self._last_now)
        n = self._n
        if n == 0:
            return []
        stored = self._embeddings[:n]
        stored.flags.writeable = False
        scores = np.asarray(score(stored), dtype=np.float64)
        if scores.shape != (n,):
            raise ValueError(f'score returned shape {scores.shape} for {n} embeddings, '
                             f'expected ({n},)')
        passed = np.flatnonzero(scores >= threshold)
        order = passed[np.lexsort((-self._ids[passed], -self._last[passed], -scores[passed]))]
        found = zip(self._snapshots(order), scores[order].tolist(), strict=True)
        return [Recollection(remembered, value) for remembered, value in found]

    # Files.

    def save(self, path: str | os.PathLike, odometry_session: str, now: float) -> None:
        """
        Write the objects valid at ``now`` (s) to ``path`` atomically.

        The file is always either the old or the new memory: written to a temporary file in
        the same directory, flushed and fsynced, renamed onto ``path`` (os.replace), then the
        directory fsynced. Format: a .npz (no pickled objects) with the embeddings (N, D)
        float32 and the numeric columns, and 'meta', a JSON string with the format version,
        ``odometry_session`` (which odometry frame the positions are in), ``saved_at`` = now,
        the ids and the labels. OSError when the directory cannot be written.
        """
        self.check_time(now)
        self._bound(self._last_now)
        n = self._n
        meta = {'format_version': FORMAT_VERSION, 'odometry_session': str(odometry_session),
                'saved_at': self._last_now, 'next_id': self._next_id,
                'ids': self._ids[:n].tolist(), 'labels': list(self._labels)}
        arrays = dict(zip(_COLUMNS, (
            self._embeddings[:n] if n else np.zeros((0, 0), dtype=np.float32),
            self._mean_norms[:n], self._positions[:n], self._widths[:n], self._first[:n],
            self._last[:n], self._counts[:n]), strict=True))
        path = Path(path)
        folder = path.parent
        descriptor, temporary = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp',
                                                 dir=folder)
        try:
            with os.fdopen(descriptor, 'wb') as file:
                np.savez(file, meta=np.array(json.dumps(meta)), **arrays)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    @classmethod
    def load(cls, path: str | os.PathLike, odometry_session: str, now: float,
             config: ObjectMemoryConfig = ObjectMemoryConfig()) -> tuple[ObjectMemory, str]:
        """
        Return (the memory saved at ``path``, ''), or (an empty memory, why it starts empty).

        The saved memory is used when the file exists and is readable, its format version is
        this module's, it was saved in ``odometry_session`` (positions from another odometry
        frame mean nothing) and not after ``now`` (s: a clock that went back since cannot date
        its objects); objects too old at ``now`` are dropped. Never raises for a bad or missing
        file; ValueError for a non-finite ``now``.
        """
        now = _finite(now, 'now')
        memory = cls(config)
        memory._last_now = now
        why = memory._read(Path(path), str(odometry_session), now)
        if why:
            memory.clear(why)
        else:
            memory._bound(now)
        return memory, why

    def _read(self, path: Path, odometry_session: str, now: float) -> str:
        """Fill this (empty) memory from ``path``; return why not ('' when it is filled)."""
        if not path.exists():
            return f'no memory file at {path}'
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data['meta'][()]))
                if meta['format_version'] != FORMAT_VERSION:
                    return (f'the memory file {path} has format version '
                            f'{meta["format_version"]}, not {FORMAT_VERSION}')
                if meta['odometry_session'] != odometry_session:
                    return (f'the memory file {path} is from another odometry session '
                            f'({meta["odometry_session"]!r}, not {odometry_session!r})')
                saved_at = _finite(meta['saved_at'], 'saved_at')
                if saved_at > now:
                    return (f'the memory file {path} was saved at {saved_at:.1f} s, after now '
                            f'({now:.1f} s): the clock went back')
                self._fill({name: np.array(data[name]) for name in _COLUMNS}, meta)
        except Exception as error:  # noqa: BLE001 - any bad file means an empty memory
            self._reset_storage()
            return f'the memory file {path} is unreadable: {type(error).__name__}: {error}'
        return ''

    def _fill(self, columns: dict, meta: dict) -> None:
        """Take saved columns after checking them; ValueError when they do not fit."""
        embeddings = columns['embeddings']
        ids, labels = np.array(meta['ids'], dtype=np.int64).reshape(-1), meta['labels']
        n = len(ids)
        shapes = {'embeddings': (n, embeddings.shape[1] if embeddings.ndim == 2 else -1),
                  'positions': (n, 2)}
        for name in _COLUMNS:
            if columns[name].shape != shapes.get(name, (n,)):
                raise ValueError(f'{name} has shape {columns[name].shape} for {n} ids')
            if not np.all(np.isfinite(columns[name])):
                raise ValueError(f'{name} holds non-finite values')
        if len(labels) != n or not all(isinstance(label, str) for label in labels):
            raise ValueError(f'{len(labels)} labels for {n} ids')
        if len(np.unique(ids)) != n:
            raise ValueError('the ids are not unique')
        if n and (np.any(columns['widths'] <= 0) or np.any(columns['sightings'] < 1)):
            raise ValueError('a width is not positive or a sightings count below 1')
        if n and np.any(np.abs(np.linalg.norm(embeddings, axis=1) - 1.0) > 1e-3):
            raise ValueError('an embedding is not of unit norm')
        if n:
            self._reserve(n, embeddings.shape[1])
            values = [columns[name] for name in _COLUMNS] + [ids]
            for column, value in zip(self._columns(), values, strict=True):
                column[:n] = value
            self._labels, self._n = list(labels), n
        self._next_id = max(int(meta['next_id']), int(ids.max()) + 1 if n else 1)
