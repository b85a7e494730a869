"""Latency summaries and throughput rates.

Percentiles use numpy's default ('linear') interpolation, so the numbers match
``np.percentile(values, q)``. Tail percentiles of a few dozen requests are noisy; the report
shows ``n`` next to them for that reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_PERCENTILES = (50.0, 90.0, 95.0, 99.0)


@dataclass(slots=True)
class LatencySummary:
    """Summary of per-request latencies (in whatever unit they were given, usually seconds).

    ``n`` counts the finite measurements summarized; ``failed`` the requests that produced none
    (passed in, plus any NaN/inf values). With ``n == 0`` every statistic is NaN.
    """

    n: int
    failed: int
    mean: float
    p50: float
    p90: float
    p95: float
    p99: float
    min: float
    max: float


def summarize_latencies(values: npt.ArrayLike, failed: int = 0) -> LatencySummary:
    """Mean, min, max and the 50/90/95/99th percentiles (numpy 'linear') of ``values``.

    Non-finite values (NaN, inf: a request that never finished) are left out and counted as
    failed. Empty input gives ``n == 0`` and NaN statistics, not an exception.
    """
    if failed < 0:
        raise ValueError(f"failed must be non-negative, got {failed}")
    x = np.asarray(values, dtype=np.float64).ravel()
    finite = x[np.isfinite(x)]
    failed = int(failed) + int(x.size - finite.size)
    if finite.size == 0:
        nan = math.nan
        return LatencySummary(0, failed, nan, nan, nan, nan, nan, nan, nan)
    p50, p90, p95, p99 = (float(v) for v in np.percentile(finite, _PERCENTILES))
    return LatencySummary(
        n=int(finite.size),
        failed=failed,
        mean=float(np.mean(finite)),
        p50=p50,
        p90=p90,
        p95=p95,
        p99=p99,
        min=float(np.min(finite)),
        max=float(np.max(finite)),
    )


def rate(tokens_total: float, seconds_total: float) -> float | None:
    """Throughput ``tokens_total / seconds_total`` (tokens per second), or None when undefined:
    zero, negative or non-finite time, or a non-finite token count."""
    tokens, seconds = float(tokens_total), float(seconds_total)
    if not (math.isfinite(tokens) and math.isfinite(seconds)) or seconds <= 0.0:
        return None
    return tokens / seconds
