"""Agreement between judges beyond chance: Cohen's kappa (two judges), Fleiss' kappa (more).

Both compare the observed agreement ``p_o`` with the agreement expected by chance ``p_e``:
``kappa = (p_o - p_e) / (1 - p_e)``; 1 is perfect agreement, 0 what chance gives. Cohen's
``p_e`` uses each judge's own category frequencies; Fleiss' uses the pooled frequencies over all
ratings, from a subjects x categories table of counts with the same number of raters per row.
Computed as statsmodels.stats.inter_rater computes them (tested against it). When chance alone
would always agree (``p_e`` = 1: every rating in one category), kappa is undefined: NaN.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np
import numpy.typing as npt


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float:
    if len(first) != len(second):
        raise ValueError("both judges must rate the same items")
    if not first:
        return math.nan
    categories = sorted(set(first) | set(second), key=repr)
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    expected = sum(
        (sum(a == c for a in first) / n) * (sum(b == c for b in second) / n) for c in categories
    )
    return (observed - expected) / (1.0 - expected) if expected < 1.0 else math.nan


def fleiss_table(ratings: Sequence[Sequence[Hashable]]) -> npt.NDArray[np.float64]:
    """Subjects x categories counts from each subject's ratings (one per judge)."""
    categories = sorted({r for row in ratings for r in row}, key=repr)
    column = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(ratings), len(categories)))
    for i, row in enumerate(ratings):
        for rating in row:
            table[i, column[rating]] += 1
    return table


def fleiss_kappa(table: npt.ArrayLike) -> float:
    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2 or not counts.size:
        return math.nan
    raters = counts.sum(axis=1)
    if not np.all(raters == raters[0]) or raters[0] < 2:
        raise ValueError("Fleiss' kappa needs the same number (2+) of ratings per subject")
    n, k = counts.shape[0], raters[0]
    per_subject = (np.sum(counts**2, axis=1) - k) / (k * (k - 1))
    observed = float(np.mean(per_subject))
    pooled = counts.sum(axis=0) / (n * k)
    expected = float(np.sum(pooled**2))
    return (observed - expected) / (1.0 - expected) if expected < 1.0 else math.nan
