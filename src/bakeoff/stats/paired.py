"""Paired comparison of two models on the same samples.

Both models answer the same samples, so the comparison is *paired*: per-sample differences cancel
the variation in sample difficulty, which makes paired tests far more sensitive than comparing two
independent intervals. Rows of ``inputs_a`` and ``inputs_b`` must be the same samples in the same
order.

Which test, by metric kind (see :func:`compare_paired`):

* binary mean (accuracy): McNemar's exact test for p; Newcombe's hybrid score interval (closed
  form) for the difference;
* continuous mean: paired t-test for p; Student-t interval of the per-sample differences;
* anything else (F1, MCC, perplexity): paired permutation (sign-flip) test for p; paired
  percentile bootstrap interval for the difference.

``prob_a_better`` always comes from the paired bootstrap. Several comparisons in one report are
corrected for multiplicity with :func:`holm`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats as _sps

from bakeoff.stats.intervals import (
    NAN,
    PERCENTILE_BOOTSTRAP,
    STUDENT_T,
    Aggregation,
    FloatArray,
    Interval,
    _as_inputs,
    _binary_column,
    _check_level,
    _nan_interval,
    _percentile_bounds,
    _replicates,
    mean_interval,
    wilson_interval,
)

MCNEMAR_EXACT = "McNemar exact"
PAIRED_T = "paired t"
PAIRED_PERMUTATION = "paired permutation"
NEWCOMBE = "Newcombe hybrid score"
PAIRED_BOOTSTRAP = "paired " + PERCENTILE_BOOTSTRAP


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """A versus B on one metric.

    ``difference`` is ``score_a - score_b`` in the metric's own units (not adjusted for
    ``higher_is_better``); ``interval`` is the confidence interval of that difference; ``p_value``
    is two-sided for "no difference" by ``test``. ``prob_a_better`` is the share of paired
    bootstrap resamples in which A's score exceeds B's (ties count half); for lower-is-better
    metrics such as perplexity the caller reads it as the probability that A is *worse*.
    ``discordant`` is (b, c) = (A right & B wrong, A wrong & B right) for McNemar, else None.

    With no samples every number is NaN; with one sample ``prob_a_better`` and bootstrap or t
    bounds are NaN (a single sample says nothing about variability).
    """

    difference: float
    interval: Interval
    p_value: float
    test: str
    prob_a_better: float
    n: int
    discordant: tuple[int, int] | None = None


def mcnemar_exact(b: int, c: int) -> float:
    """Exact (conditional) McNemar p-value, two-sided.

    Under the null of no difference each of the ``b + c`` discordant pairs is equally likely to
    favour either model, so ``b ~ Binomial(b + c, 1/2)``;
    ``p = min(1, 2 * P(X <= min(b, c)))`` - the same as ``scipy.stats.binomtest(b, b + c,
    0.5).pvalue`` and statsmodels' ``mcnemar(exact=True)``. Exact rather than the chi-square
    version because evaluation comparisons often have few discordant pairs. No discordant pairs
    gives 1.
    """
    b, c = int(b), int(c)
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be non-negative, got b={b}, c={c}")
    if b + c == 0:
        return 1.0
    return min(1.0, 2.0 * float(_sps.binom.cdf(min(b, c), b + c, 0.5)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order.

    Sorted ascending, the i-th smallest (0-based) of m p-values becomes
    ``max_{j <= i} min(1, (m - j) * p_(j))``: monotone, capped at 1, and controls the
    family-wise error rate under any dependence between the tests (which is why it is used
    rather than Benjamini-Hochberg: comparisons on the same samples are dependent). Matches
    ``statsmodels.stats.multitest.multipletests(method='holm')``. NaN entries (comparisons that
    could not be tested) stay NaN and do not count towards m.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("p_values must be a flat sequence")
    present = np.flatnonzero(~np.isnan(p))
    values = p[present]
    if np.any((values < 0.0) | (values > 1.0)):
        raise ValueError("p-values must lie in [0, 1]")
    m = len(values)
    order = np.argsort(values, kind="stable")
    multipliers = m - np.arange(m)
    adjusted = np.minimum(1.0, np.maximum.accumulate(multipliers * values[order]))
    out = np.full(len(p), NAN)
    out[present[order]] = adjusted
    return [float(x) for x in out]


def newcombe_paired_interval(
    both: int, only_a: int, only_b: int, neither: int, level: float = 0.95
) -> Interval:
    """Newcombe's hybrid score interval for a difference of paired proportions (acc_A - acc_B).

    Method 10 of Newcombe (1998, Stat Med 17:2635): with Wilson intervals (l1, u1) for
    p1 = (both + only_a)/n and (l2, u2) for p2 = (both + only_b)/n, and phi the correlation
    of the paired outcomes::

        low  = d - sqrt((p1 - l1)² - 2 phi (p1 - l1)(u2 - p2) + (u2 - p2)²)
        high = d + sqrt((u1 - p1)² - 2 phi (u1 - p1)(p2 - l2) + (p2 - l2)²)

    where ``A = both * neither - only_a * only_b``, ``phi = (A - n/2)/sqrt(row and column
    totals product)`` if ``A > n/2``, 0 if ``0 <= A <= n/2``, ``A/sqrt(...)`` if ``A < 0``,
    and 0 when a margin is empty. A closed form with good coverage at small n and extreme
    accuracies, never outside [-1, 1], and not degenerate when there are no discordant pairs
    (unlike the Wald interval or the bootstrap, which both collapse to [0, 0] there).
    """
    _check_level(level)
    counts = (int(both), int(only_a), int(only_b), int(neither))
    if min(counts) < 0:
        raise ValueError(f"cell counts must be non-negative, got {counts}")
    n11, n10, n01, n00 = counts
    n = sum(counts)
    if n == 0:
        return _nan_interval(level, NEWCOMBE)
    row1, row2, col1, col2 = n11 + n10, n01 + n00, n11 + n01, n10 + n00
    p1, p2 = row1 / n, col1 / n
    difference = p1 - p2
    w1, w2 = wilson_interval(row1, n, level), wilson_interval(col1, n, level)
    phi = 0.0
    if min(row1, row2, col1, col2) > 0:
        a = n11 * n00 - n10 * n01
        root = math.sqrt(float(row1) * row2 * col1 * col2)
        if a > n / 2:
            phi = (a - n / 2) / root
        elif a < 0:
            phi = a / root
    down1, up1 = p1 - w1.low, w1.high - p1
    down2, up2 = p2 - w2.low, w2.high - p2
    low = difference - math.sqrt(max(0.0, down1**2 - 2 * phi * down1 * up2 + up2**2))
    high = difference + math.sqrt(max(0.0, up1**2 - 2 * phi * up1 * down2 + down2**2))
    return Interval(difference, max(-1.0, low), min(1.0, high), level, NEWCOMBE)


def _paired_t_p_value(differences: FloatArray) -> float:
    """Two-sided paired t p-value (``scipy.stats.ttest_rel``), defined for zero spread too.

    Zero spread: identical scores (all differences 0) give 1; a constant non-zero difference
    gives 0, the limit of the t statistic going to infinity. Fewer than two samples: NaN.
    """
    n = len(differences)
    if n < 2:
        return NAN
    mean = float(np.mean(differences))
    sd = float(np.std(differences, ddof=1))
    if sd == 0.0 or not math.isfinite(sd):
        if not math.isfinite(mean):
            return NAN
        return 1.0 if mean == 0.0 else 0.0
    t = mean / (sd / math.sqrt(n))
    return float(min(1.0, 2.0 * _sps.t.sf(abs(t), n - 1)))


def _permutation_p_value(
    a: FloatArray,
    b: FloatArray,
    aggregate: Aggregation,
    observed: float,
    n_permutations: int,
    rng: np.random.Generator,
) -> float:
    """Paired permutation (approximate randomization) p-value, two-sided.

    Under the null the two models' outputs on each sample are exchangeable, so each permutation
    swaps A's and B's row of every sample with probability 1/2 and recomputes the difference of
    the aggregated scores; ``p = (1 + #{|diff*| >= |observed|}) / (1 + n_permutations)``
    (never 0; Phipson & Smyth 2010). This is the test recommended for corpus-level NLP metrics
    (Noreen 1989; Riezler & Maxwell 2005; Dror et al. 2018), and unlike a bootstrap test it
    holds its size at small n.
    """
    if not math.isfinite(observed):
        return NAN
    tolerance = 1e-12 * max(1.0, abs(observed))
    extreme = 0
    counted = 0
    n = len(a)
    chunk = max(1, min(n_permutations, (1 << 20) // max(n, 1)))
    done = 0
    while done < n_permutations:
        size = min(chunk, n_permutations - done)
        swaps = rng.random((size, n)) < 0.5
        for swap in swaps:
            mask = swap[:, None]
            permuted = aggregate(np.where(mask, b, a)) - aggregate(np.where(mask, a, b))
            if math.isfinite(permuted):
                counted += 1
                extreme += abs(permuted) >= abs(observed) - tolerance
        done += size
    return (1 + extreme) / (1 + counted)


def _prob_a_better(replicates_a: FloatArray, replicates_b: FloatArray) -> float:
    differences = replicates_a - replicates_b
    differences = differences[np.isfinite(differences)]
    if differences.size == 0:
        return NAN
    wins = float(np.count_nonzero(differences > 0))
    ties = float(np.count_nonzero(differences == 0))
    return (wins + 0.5 * ties) / differences.size


def compare_paired(
    inputs_a: npt.ArrayLike,
    inputs_b: npt.ArrayLike,
    aggregate: Aggregation,
    binary: bool,
    is_mean: bool,
    level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> PairedComparison:
    """Compare A and B on aligned samples (row i of both is the same sample).

    * **Binary mean** (accuracy; values must be exactly 0/1): p-value from McNemar's exact test
      on the discordant pairs (:func:`mcnemar_exact`); the interval of the difference is the
      closed-form Newcombe hybrid score interval (:func:`newcombe_paired_interval`), which
      unlike the bootstrap does not collapse to [0, 0] when the models never disagree.
    * **Continuous mean**: paired t-test; Student-t interval of the per-sample differences (the
      same as ``scipy.stats.ttest_rel(a, b).confidence_interval()``).
    * **Any other aggregation** (F1, MCC, perplexity): paired percentile bootstrap interval of
      ``aggregate(A*) - aggregate(B*)`` over resampled rows, and the p-value of a paired
      permutation test with ``n_resamples`` random sign flips (see ``_permutation_p_value``).
      The permutation test is used for p rather than inverting the bootstrap because it is
      exact under the null of exchangeable outputs.

    ``prob_a_better`` comes from the paired bootstrap (``n_resamples`` resamples, ties count
    half) in every case; the bootstrap uses ``default_rng(seed)`` and the permutation test an
    independent stream, so results are reproducible.
    """
    _check_level(level)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples}")
    a, b = _as_inputs(inputs_a), _as_inputs(inputs_b)
    if a.shape != b.shape:
        raise ValueError(f"paired inputs must have the same shape, got {a.shape} and {b.shape}")
    n = len(a)
    binary_mean = binary and is_mean

    discordant: tuple[int, int] | None = None
    counts = (0, 0, 0, 0)
    if binary_mean:
        x, y = _binary_column(a) == 1.0, _binary_column(b) == 1.0
        counts = (
            int(np.count_nonzero(x & y)),
            int(np.count_nonzero(x & ~y)),
            int(np.count_nonzero(~x & y)),
            int(np.count_nonzero(~x & ~y)),
        )
        discordant = (counts[1], counts[2])
        test = MCNEMAR_EXACT
    elif is_mean:
        test = PAIRED_T
    else:
        test = PAIRED_PERMUTATION

    if n == 0:
        method = NEWCOMBE if binary_mean else STUDENT_T if is_mean else PAIRED_BOOTSTRAP
        return PairedComparison(NAN, _nan_interval(level, method), NAN, test, NAN, 0, discordant)

    difference = float(aggregate(a)) - float(aggregate(b))

    replicates_a = replicates_b = np.empty(0, dtype=np.float64)
    if n >= 2:
        rng = np.random.default_rng(seed)
        replicates_a, replicates_b = _replicates([a, b], aggregate, n_resamples, rng, is_mean)
    prob_a_better = _prob_a_better(replicates_a, replicates_b) if n >= 2 else NAN

    if binary_mean:
        interval = newcombe_paired_interval(*counts, level=level)
        p_value = mcnemar_exact(counts[1], counts[2])
    elif is_mean:
        differences = a[:, 0] - b[:, 0]
        interval = mean_interval(differences, level)
        p_value = _paired_t_p_value(differences)
    else:
        if n >= 2:
            low, high = _percentile_bounds(replicates_a - replicates_b, level)
        else:
            low = high = NAN
        interval = Interval(difference, low, high, level, PAIRED_BOOTSTRAP)
        permutation_rng = np.random.default_rng([1, seed])
        p_value = _permutation_p_value(a, b, aggregate, difference, n_resamples, permutation_rng)
    return PairedComparison(difference, interval, p_value, test, prob_a_better, n, discordant)


__all__ = [
    "MCNEMAR_EXACT",
    "NEWCOMBE",
    "PAIRED_BOOTSTRAP",
    "PAIRED_PERMUTATION",
    "PAIRED_T",
    "PairedComparison",
    "compare_paired",
    "holm",
    "mcnemar_exact",
    "newcombe_paired_interval",
]
