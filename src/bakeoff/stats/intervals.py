"""Confidence intervals for one model's score on one metric.

Three methods, chosen by what the per-sample values are (see :func:`metric_interval`):

* **Wilson score** for accuracies (binary per-sample values averaged). Unlike the Wald interval
  it never leaves [0, 1], is not degenerate at 0 % or 100 %, and keeps close to nominal coverage
  for the small n and extreme proportions that evaluation sets often have.
* **Student t** for means of continuous per-sample values. By the central limit theorem the
  sample mean is close to normal for the sample sizes we see; t rather than z accounts for the
  estimated standard deviation at small n.
* **Percentile bootstrap** over samples for corpus-level metrics (F1, MCC, perplexity) that are
  not means of independent per-sample values and have no convenient closed-form variance.

Everything is deterministic: the bootstrap draws from ``np.random.default_rng(seed)``.

Conventions for degenerate inputs (never an exception): no samples gives an interval that is NaN
throughout; one sample gives the point estimate with NaN bounds where the method cannot say
anything about spread (t, bootstrap). Wilson is defined for any n >= 1.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats as _sps

FloatArray = npt.NDArray[np.float64]
"""(n_samples, k) per-sample metric inputs; the same alias as ``bakeoff.tasks.base.FloatArray``."""
IntArray = npt.NDArray[np.int64]
Aggregation = Callable[[FloatArray], float]
"""Maps metric inputs to a score; the same alias as ``bakeoff.tasks.base.Aggregation``."""

NAN = float("nan")

WILSON = "Wilson score"
STUDENT_T = "Student t"
PERCENTILE_BOOTSTRAP = "percentile bootstrap"

_CHUNK_ELEMENTS = 1 << 20
"""Resample indices are drawn this many at a time (8 MiB of int64), whatever n_resamples is."""


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with a two-sided confidence interval.

    ``level`` is the confidence level (0.95 for a 95 % interval); ``method`` names how the
    interval was computed, for the methodology section. ``low``/``high`` are NaN when the data
    cannot support an interval (fewer than two samples for t and bootstrap, none at all).
    """

    estimate: float
    low: float
    high: float
    level: float
    method: str

    @property
    def width(self) -> float:
        return self.high - self.low

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


# --------------------------------------------------------------------------------------------
# helpers shared with paired.py


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {level!r}")


@functools.cache  # scipy's ppf costs ~1 ms a call; bootstraps of Wilson-based metrics call this
def _z(level: float) -> float:
    """Two-sided standard normal critical value, e.g. 1.959964 for level 0.95."""
    return float(_sps.norm.ppf(0.5 + level / 2.0))


def _as_inputs(inputs: npt.ArrayLike) -> FloatArray:
    """Metric inputs as a 2-D float64 array; a 1-D array becomes a single column."""
    array = np.asarray(inputs, dtype=np.float64)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise ValueError(f"metric inputs must be a (n_samples, k) array, got shape {array.shape}")
    return array


def _binary_column(inputs: FloatArray) -> FloatArray:
    column = inputs[:, 0]
    if not np.all((column == 0.0) | (column == 1.0)):
        raise ValueError("a binary metric must have per-sample values that are exactly 0 or 1")
    return column


def _nan_interval(level: float, method: str, estimate: float = NAN) -> Interval:
    return Interval(estimate, NAN, NAN, level, method)


def _resample_indices(rng: np.random.Generator, n: int, n_resamples: int) -> Iterator[IntArray]:
    """Bootstrap row indices, ``n_resamples`` rows of ``n`` in total, yielded in chunks.

    The vectorized (mean) and looped (any aggregation) paths both consume this generator, so the
    same seed gives the same resamples whichever path runs.
    """
    chunk = max(1, min(n_resamples, _CHUNK_ELEMENTS // max(n, 1)))
    done = 0
    while done < n_resamples:
        size = min(chunk, n_resamples - done)
        yield rng.integers(0, n, size=(size, n), dtype=np.int64)
        done += size


def _replicates(
    arrays: Sequence[FloatArray],
    aggregate: Aggregation,
    n_resamples: int,
    rng: np.random.Generator,
    is_mean: bool,
) -> list[FloatArray]:
    """Bootstrap replicates of ``aggregate`` for each array, resampling the same rows in each.

    Several arrays give the *paired* bootstrap (rows are aligned samples). With ``is_mean`` the
    aggregation is known to be the mean of column 0 and is computed for a whole chunk of
    resamples at once; otherwise ``aggregate`` is called once per resample and array.
    """
    n = len(arrays[0])
    out = [np.empty(n_resamples, dtype=np.float64) for _ in arrays]
    start = 0
    for indices in _resample_indices(rng, n, n_resamples):
        stop = start + len(indices)
        for array, replicates in zip(arrays, out, strict=True):
            if is_mean:
                replicates[start:stop] = array[:, 0][indices].mean(axis=1)
            else:
                for offset, rows in enumerate(indices):
                    replicates[start + offset] = aggregate(array[rows])
        start = stop
    return out


def _percentile_bounds(replicates: FloatArray, level: float) -> tuple[float, float]:
    """Percentile interval of the finite replicates (NaN, NaN if there are none).

    Resamples on which the aggregation is undefined (NaN, e.g. perplexity of a resample with
    zero units) are dropped rather than poisoning the interval.
    """
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return NAN, NAN
    alpha = 1.0 - level
    low, high = np.quantile(finite, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


# --------------------------------------------------------------------------------------------
# public API


def wilson_interval(successes: int, n: int, level: float = 0.95) -> Interval:
    """Wilson score interval for a binomial proportion (an accuracy).

    With ``p = successes / n`` and ``z`` the two-sided normal critical value::

        centre = (p + z²/(2n)) / (1 + z²/n)
        half   = z / (1 + z²/n) * sqrt(p(1-p)/n + z²/(4n²))

    Chosen over Wald because it stays inside [0, 1], has a non-zero width at 0 % and 100 %, and
    has near-nominal coverage for small n (Agresti & Coull 1998; Brown, Cai & DasGupta 2001).
    ``n == 0`` gives a NaN interval.
    """
    _check_level(level)
    successes, n = int(successes), int(n)
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return _nan_interval(level, WILSON)
    p = successes / n
    z = _z(level)
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, low, high, level, WILSON)


def mean_interval(values: npt.ArrayLike, level: float = 0.95) -> Interval:
    """Student-t interval for the mean of continuous per-sample values.

    ``mean ± t_{level, n-1} * sd / sqrt(n)`` with the sample standard deviation (ddof=1); the
    same interval as ``scipy.stats.ttest_1samp(values, 0).confidence_interval(level)``. Fewer
    than two values give NaN bounds (no estimate of spread); zero spread gives a zero-width
    interval at the mean.
    """
    _check_level(level)
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"values must be one-dimensional, got shape {x.shape}")
    n = len(x)
    if n == 0:
        return _nan_interval(level, STUDENT_T)
    estimate = float(np.mean(x))
    if n == 1:
        return _nan_interval(level, STUDENT_T, estimate)
    se = float(np.std(x, ddof=1)) / math.sqrt(n)
    t = float(_sps.t.ppf(0.5 + level / 2.0, n - 1))
    return Interval(estimate, estimate - t * se, estimate + t * se, level, STUDENT_T)


def bootstrap_interval(
    inputs: npt.ArrayLike,
    aggregate: Aggregation,
    level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    *,
    is_mean: bool = False,
) -> Interval:
    """Percentile bootstrap interval for a corpus-level metric; samples (rows) are resampled.

    Each of ``n_resamples`` replicates draws n rows with replacement and applies ``aggregate``;
    the interval is the (α/2, 1-α/2) quantiles of the replicates (numpy's linear method, as
    ``scipy.stats.bootstrap(method='percentile')``). Used for F1, MCC and perplexity, whose
    sampling distribution has no simple closed form; resampling whole samples keeps each
    sample's columns (prediction and gold, log-likelihood and units) together.

    The estimate is ``aggregate(inputs)`` on all rows, not the mean of the replicates.
    ``is_mean=True`` declares that ``aggregate`` is the mean of column 0 and computes the
    replicates vectorized (same resamples, so the same interval up to rounding). Replicates on
    which the aggregation is NaN are dropped. Fewer than two rows give NaN bounds: every
    resample of one row is that row, and a zero-width interval would claim false certainty.
    """
    _check_level(level)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples}")
    array = _as_inputs(inputs)
    n = len(array)
    if n == 0:
        return _nan_interval(level, PERCENTILE_BOOTSTRAP)
    estimate = float(aggregate(array))
    if n == 1:
        return _nan_interval(level, PERCENTILE_BOOTSTRAP, estimate)
    rng = np.random.default_rng(seed)
    (replicates,) = _replicates([array], aggregate, n_resamples, rng, is_mean)
    low, high = _percentile_bounds(replicates, level)
    return Interval(estimate, low, high, level, PERCENTILE_BOOTSTRAP)


def metric_interval(
    inputs: npt.ArrayLike,
    aggregate: Aggregation,
    binary: bool,
    is_mean: bool,
    level: float = 0.95,
    seed: int = 0,
    *,
    n_resamples: int = 2000,
) -> Interval:
    """The interval the report shows for one model's score on one metric.

    * binary per-sample values aggregated by the mean (accuracy): :func:`wilson_interval`;
      the values must then be exactly 0 or 1 (ValueError otherwise);
    * other means: :func:`mean_interval` (Student t) on column 0;
    * any other aggregation: :func:`bootstrap_interval` with ``seed`` and ``n_resamples``.

    ``is_mean`` must mean that ``aggregate`` is the mean of column 0 (the ``"mean"``
    aggregation of ``bakeoff.tasks.base``).
    """
    array = _as_inputs(inputs)
    if is_mean and binary:
        column = _binary_column(array)
        return wilson_interval(int(np.sum(column)), len(column), level)
    if is_mean:
        return mean_interval(array[:, 0], level)
    return bootstrap_interval(array, aggregate, level, n_resamples, seed)
