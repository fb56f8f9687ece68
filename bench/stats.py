"""Timing samples and their summaries (milliseconds), shared by every benchmark."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
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


def time_calls(
    fn: Callable[[Any], object], iterations: int, warmup: int, prepare: Callable[[int], Any] = lambda i: i
) -> list[float]:
    """Milliseconds of each of ``iterations`` calls ``fn(prepare(i))``, after ``warmup`` untimed calls.

    ``prepare(i)`` runs before the clock starts, one call at a time, so each
    call can get its own input without timing its creation: a fresh token
    per hook call, or a freshly parsed request for the engine (a request's
    objects are new on every real call; reusing one set would let the engine
    run on data already warm in the CPU caches).
    """
    for i in range(warmup):
        fn(prepare(i))
    samples = []
    for i in range(warmup, warmup + iterations):
        given = prepare(i)
        start = time.perf_counter()
        fn(given)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def growth_exponent(sizes: Sequence[int], medians: Sequence[float]) -> list[float]:
    """Log-log slope between consecutive sizes: 1.0 is linear growth, below 1 is better than linear.

    With a fixed per-request cost the slope starts well below 1 and rises
    towards the per-resource slope as size grows, so each step is reported.
    """
    return [
        math.log(medians[i + 1] / medians[i]) / math.log(sizes[i + 1] / sizes[i])
        for i in range(len(sizes) - 1)
    ]
