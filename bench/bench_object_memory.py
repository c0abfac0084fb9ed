#!/usr/bin/env python3

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
What the object memory costs as it grows: query and add times, and memory, per size.

For each size N, a memory bounded to N objects is filled with N random unit embeddings at
distinct places (1 m apart, 10 sightings per call, as grounding adds them), then this times,
over --repeats calls each (p50 and p99, ms, one thread of Python):

- query: one text query with a score function like the grounder's (logit_scale 100 times the
  cosines with the phrase and 3 background texts, softmax, the phrase's probability), at
  --threshold; "score" is the part spent in that function (the one (N, D) product and the
  softmax), the rest is selecting, sorting and copying out the "matched" objects it returned
  (random embeddings match far more objects than a real phrase would);
- add, new: 10 sightings of new objects far away (the memory is full: the 10 least recently
  seen go);
- add, seen: 10 sightings of remembered objects again (they merge).

RSS is the process's resident memory (VmRSS) after filling, which includes numpy and what
the allocator kept of the smaller sizes; "+RSS" is how much filling added: the memory's
columns (D x 4 + 64 bytes per object, and its label) and what glibc kept of the arrays they
outgrew while filling (capacity doubles; malloc_trim would hand that back). The last column
is each size's query p50 over the 100-object one, measured in the same run.

    .venv/bin/python bench/bench_object_memory.py [--dim 512] [--sizes 100 1000 10000]
        [--repeats 200] [--threshold 0.9]

BLAS runs one thread unless OPENBLAS_NUM_THREADS (OMP_NUM_THREADS, MKL_NUM_THREADS) says
otherwise.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

# One BLAS thread unless told otherwise (before numpy loads it): a query's product is small
# and memory-bound, and threads fighting over busy cores make its times jump.
for _variable in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_variable, '1')
from clip_grounding_ros.core.world.objects import (  # noqa: E402
    ObjectMemory,
    ObjectMemoryConfig,
    Sighting,
)
import numpy as np  # noqa: E402

BASELINE = 100
LOGIT_SCALE = 100.0


def rss_mib() -> float:
    """Return the process's resident memory now (MiB), else its peak (getrusage)."""
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def units(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    """Return (count, dim) random unit vectors, float32."""
    vectors = rng.normal(size=(count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def grounder_score(texts: np.ndarray):
    """Score like the grounder: softmax of 100 x cosines with (phrase, 3 background texts)."""
    def score(embeddings: np.ndarray) -> np.ndarray:
        logits = LOGIT_SCALE * (embeddings @ texts.T)
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights[:, 0] / weights.sum(axis=1)
    return score


def place(i: int) -> tuple[float, float]:
    """Return the i-th of distinct places 1 m apart on a grid (odom, m)."""
    side = 1000
    return float(i % side), float(i // side)


def percentiles(times: list[float]) -> tuple[float, float]:
    """Return the p50 and p99 of times in seconds, in ms."""
    p50, p99 = np.percentile(np.array(times) * 1e3, [50, 99])
    return float(p50), float(p99)


def measure(size: int, dim: int, repeats: int, threshold: float, seed: int) -> dict:
    """Fill a memory of ``size`` objects and time query and add on it."""
    rng = np.random.default_rng(seed)
    config = ObjectMemoryConfig(object_memory_max_objects=size,
                                object_memory_max_age=86400.0)
    embeddings = units(rng, size, dim)
    before = rss_mib()
    memory = ObjectMemory(config)
    now = 0.0
    start = time.perf_counter()
    for first in range(0, size, 10):
        now += 0.1
        memory.add([Sighting(embeddings[i], place(i), 0.4, now)
                    for i in range(first, min(first + 10, size))], now)
    fill = time.perf_counter() - start
    assert len(memory) == size
    rss = rss_mib()

    grounder = grounder_score(units(rng, 4, dim))
    score_times = []

    def score(embeddings: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        scores = grounder(embeddings)
        score_times.append(time.perf_counter() - start)
        return scores

    memory.query(score, threshold, now)  # warm up
    score_times.clear()
    query_times, matched = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        found = memory.query(score, threshold, now)
        query_times.append(time.perf_counter() - start)
        matched.append(len(found))

    new_times = []
    for r in range(repeats):
        now += 0.1
        sightings = [Sighting(vector, place(size + 10 * r + k), 0.4, now)
                     for k, vector in enumerate(units(rng, 10, dim))]
        start = time.perf_counter()
        memory.add(sightings, now)
        new_times.append(time.perf_counter() - start)
    assert len(memory) == size

    seen_times = []
    for _ in range(repeats):
        now += 0.1
        remembered = memory.objects(now)[:10]
        noise = 0.02 * rng.normal(size=(len(remembered), dim))
        sightings = [Sighting(o.embedding + n.astype(np.float32),
                              (o.position[0] + 0.05, o.position[1]), 0.4, now)
                     for o, n in zip(remembered, noise, strict=True)]
        start = time.perf_counter()
        memory.add(sightings, now)
        seen_times.append(time.perf_counter() - start)
    assert len(memory) == size
    return {'fill': fill, 'rss': rss, 'grown': rss - before, 'query': percentiles(query_times),
            'score': percentiles(score_times),
            'matched': float(np.mean(matched)), 'new': percentiles(new_times),
            'seen': percentiles(seen_times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dim', type=int, default=512, help='embedding dimension')
    parser.add_argument('--sizes', type=int, nargs='+', default=[100, 1000, 10000],
                        help='objects remembered')
    parser.add_argument('--repeats', type=int, default=200, help='calls timed per size')
    parser.add_argument('--threshold', type=float, default=0.9, help='query threshold')
    args = parser.parse_args()
    sizes = sorted(set(args.sizes) | {BASELINE})
    print(f'object memory: D={args.dim}, {args.repeats} calls per size, query threshold '
          f'{args.threshold}, OPENBLAS_NUM_THREADS={os.environ["OPENBLAS_NUM_THREADS"]}; RSS '
          f'before filling {rss_mib():.0f} MiB')
    print(f'{"objects":>8s}{"fill s":>8s}{"RSS MiB":>9s}{"+RSS MiB":>9s}'
          f'{"query p50/p99 ms":>18s}{"score p50":>10s}{"matched":>9s}{"add new p50/p99":>17s}'
          f'{"add seen p50/p99":>18s}{"query / 100":>12s}')
    results = {}
    for size in sizes:
        results[size] = r = measure(size, args.dim, args.repeats, args.threshold, seed=size)
        ratio = r['query'][0] / results[BASELINE]['query'][0]
        print(f'{size:>8d}{r["fill"]:>8.2f}{r["rss"]:>9.0f}{r["grown"]:>9.1f}'
              f'{r["query"][0]:>10.2f} /{r["query"][1]:>6.2f}{r["score"][0]:>10.2f}'
              f'{r["matched"]:>9.1f}'
              f'{r["new"][0]:>9.2f} /{r["new"][1]:>6.2f}{r["seen"][0]:>10.2f} /'
              f'{r["seen"][1]:>6.2f}{ratio:>12.1f}', flush=True)


if __name__ == '__main__':
    main()
