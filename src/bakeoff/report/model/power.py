"""How sensitive each comparison was: the minimum detectable difference (MDD) at 80% power for
the samples used, and the samples a 2-point difference would need."""

from __future__ import annotations

import math

import numpy as np

from bakeoff.report.model.view import Power
from bakeoff.stats import (
    PairedComparison,
    expected_discordance,
    mdd_continuous,
    minimum_detectable_difference,
    samples_needed,
    samples_needed_continuous,
)
from bakeoff.tasks.base import MetricSpec

POWER = 0.8
TARGET_DIFFERENCE = 0.02
"""The difference (2 points on a 0–100 scale) the "samples needed" column is computed for."""
NO_MDD_CORPUS = (
    "MDD not computed: a corpus-level metric (computed over the whole set, compared by a paired "
    "permutation test) has no closed-form power"
)
NO_MDD_MAGNITUDE = (
    "MDD not computed: the comparison is of |score|, for which the power formulas (differences "
    "of means) do not hold"
)


def power(spec: MetricSpec, paired: PairedComparison, a: np.ndarray, b: np.ndarray) -> Power | None:
    """MDD for the n used and the samples a 2-point difference would need. 0/1 metrics use the
    measured discordance (share of samples on which the two models disagree), which is what
    McNemar's test's power depends on; other per-sample means the SD of the paired differences.
    Masked means (XSTest refusal rates) are the same means over the rows the mask selects."""
    n = paired.n
    if n < 2:
        return None
    if spec.rank_by_magnitude:
        # The MDD formulas are for differences of means, not of |score|.
        return Power(None, math.nan, None, NO_MDD_MAGNITUDE)
    # 2 units as the score is shown (scale 100: 2 points = 0.02 of a proportion).
    target = TARGET_DIFFERENCE * 100.0 / spec.scale
    if spec.aggregation == "masked_mean":
        # Columns (value, mask); the mask is a property of the sample, so it selects the same
        # rows for both models, but require both so a malformed row cannot pair with nothing.
        rows = (a[:, 1] > 0.5) & (b[:, 1] > 0.5)
        values_a, values_b = a[rows, 0], b[rows, 0]
        if len(values_a) < 2:
            return None
        subset = f"over the {len(values_a)} samples the metric's mask selects"
        binary = bool(
            np.all(np.isin(values_a, (0.0, 1.0))) and np.all(np.isin(values_b, (0.0, 1.0)))
        )
        if binary:
            return _binary_power(values_a, values_b, target, subset)
        return _continuous_power(values_a - values_b, target, subset)
    if spec.aggregation != "mean":
        return Power(None, math.nan, None, NO_MDD_CORPUS)
    if spec.binary and paired.discordant is not None:
        return _binary_power(a[:, 0], b[:, 0], target, "")
    return _continuous_power(a[:, 0] - b[:, 0], target, "")


def _binary_power(a: np.ndarray, b: np.ndarray, target: float, subset: str) -> Power:
    """McNemar power of paired 0/1 outcomes ``a`` and ``b`` from their measured discordance."""
    n = len(a)
    psi = float(np.count_nonzero(a != b)) / n
    notes = [subset] if subset else []
    if psi == 0.0:
        # Identical answers measure no disagreement; assume independent errors instead, and say
        # so, because real models share errors and the assumed figure is then too pessimistic.
        psi = expected_discordance(float(a.mean()), float(b.mean()))
        notes.append(
            f"the models gave identical answers, so discordance {psi:.2f} is assumed "
            "(independent errors at the observed accuracies), not measured"
        )
    note = "; ".join(notes)
    if psi == 0.0:
        return Power(0.0, minimum_detectable_difference(n, 0.5, discordance=0.0), None, note)
    samples = samples_needed(target, psi) if 0.0 < target <= psi else None
    return Power(psi, minimum_detectable_difference(n, 0.5, discordance=psi), samples, note)


def _continuous_power(differences: np.ndarray, target: float, subset: str) -> Power:
    """Paired-t power from the SD of the per-sample differences A - B."""
    sd = float(np.std(differences, ddof=1))
    samples = samples_needed_continuous(target, sd) if target > 0.0 else None
    return Power(None, mdd_continuous(sd, len(differences)), samples, subset)
