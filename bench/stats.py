"""Timing samples and their summaries (milliseconds), shared by every benchmark."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Summary:
    """Latency percentiles of one measured operation, in milliseconds."""

    count: int
    median: float
    p95: float
    p99: float
    mean: float

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> Summary:
        ordered = sorted(samples_ms)
        return cls(
            count=len(ordered),
            median=statistics.median(ordered),
            p95=percentile(ordered, 95),
            p99=percentile(ordered, 99),
            mean=statistics.fmean(ordered),
        )

    def as_json(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted samples (no interpolation: a value that was measured)."""
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Timed:
    """One operation of :func:`time_interleaved`: ``fn(prepare(i))`` is the call timed on iteration ``i``."""

    fn: Callable[[Any], object]
    prepare: Callable[[int], Any] = lambda i: i


def time_interleaved(operations: Mapping[str, Timed], iterations: int, warmup: int) -> dict[str, list[float]]:
    """Milliseconds of each call of each operation, the operations taking turns, after ``warmup`` untimed rounds.

    Each round calls every operation once, starting one further along each
    round, so the machine's drift (a shared host's speed moves within a
    minute when other tenants get busy) reaches every operation
    alike: a ratio of two medians compares calls made in the same seconds,
    not a fast minute with a slow one. ``prepare(i)`` runs before the clock
    starts, so each call can get its own input without timing its creation:
    a fresh token per hook call, or a freshly parsed request for the engine
    (a request's objects are new on every real call; reusing one set would
    let the engine run on data already warm in the CPU caches).
    """
    names = list(operations)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(warmup + iterations):
        for turn in range(len(names)):
            name = names[(i + turn) % len(names)]
            operation = operations[name]
            given = operation.prepare(i)
            start = time.perf_counter()
            operation.fn(given)
            if i >= warmup:
                samples[name].append((time.perf_counter() - start) * 1000)
    return samples


def cpu_speed_ms(runs: int = 5) -> float:
    """Median milliseconds of a fixed pure-Python loop: how fast this machine ran Python when measured.

    Figures from different days are only comparable with this beside them:
    the same code on the same machine size runs at very different speeds
    from one day to the next.
    """
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def growth_exponent(sizes: Sequence[int], medians: Sequence[float]) -> list[float]:
    """Log-log slope between consecutive sizes: 1.0 is linear growth, below 1 is better than linear.

    With a fixed per-request cost the slope starts well below 1 and rises
    towards the per-resource slope as size grows, so each step is reported.
    """
    return [
        math.log(medians[i + 1] / medians[i]) / math.log(sizes[i + 1] / sizes[i])
        for i in range(len(sizes) - 1)
    ]
