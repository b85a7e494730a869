"""Bradley–Terry strengths of three or more models from pairwise outcomes, with bootstrap
intervals.

Model i beats model j with probability ``sigmoid(s_i - s_j)``. The strengths are the
maximum-likelihood fit of that model: a logistic regression whose row for a comparison has +1
in i's column and -1 in j's, the first model's column dropped (its strength is 0: only
differences are identified). A tie counts half a win each way. Unlike Elo ratings, the fit does
not depend on the order the comparisons were made in.

Intervals: percentile bootstrap over prompts (every comparison of a resampled prompt comes with
it, as the prompts are the unit that was sampled). A tiny ridge keeps a resample in which one
model wins everything finite; it moves the estimates by far less than the tests' 1e-6.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bakeoff.stats import _logistic
from bakeoff.stats.intervals import Interval

RIDGE = 1e-9
PERCENTILE_BOOTSTRAP = "percentile bootstrap over prompts"


@dataclass(frozen=True, slots=True)
class Comparison:
    prompt: str
    first: str
    second: str
    score: float
    """For ``first``: 1 a win, 0.5 a tie, 0 a loss."""


def design(
    comparisons: Sequence[Comparison], models: Sequence[str]
) -> tuple[_logistic.FloatArray, _logistic.FloatArray]:
    """The logistic regression's (x, y): one row per comparison, the first model's column
    dropped."""
    index = {m: i for i, m in enumerate(models)}
    x = np.zeros((len(comparisons), len(models)))
    for row, c in enumerate(comparisons):
        x[row, index[c.first]] += 1.0
        x[row, index[c.second]] -= 1.0
    y = np.array([c.score for c in comparisons], dtype=np.float64)
    return x[:, 1:], y


def strengths(comparisons: Sequence[Comparison], models: Sequence[str]) -> dict[str, float]:
    """Log-odds strengths, the first model at 0."""
    if len(models) < 2:
        raise ValueError("Bradley-Terry needs at least two models")
    x, y = design(comparisons, models)
    beta = _logistic.fit(x, y, ridge=RIDGE)
    return {models[0]: 0.0, **{m: float(b) for m, b in zip(models[1:], beta, strict=True)}}


def strength_intervals(
    comparisons: Sequence[Comparison],
    models: Sequence[str],
    level: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Interval]:
    """Each model's strength with its bootstrap interval (the first model's is 0 exactly)."""
    estimate = strengths(comparisons, models)
    prompts = sorted({c.prompt for c in comparisons})
    by_prompt = {p: [c for c in comparisons if c.prompt == p] for p in prompts}
    rng = np.random.default_rng(seed)
    draws = np.empty((n_resamples, len(models)))
    for r in range(n_resamples):
        chosen = rng.integers(0, len(prompts), len(prompts))
        sample = [c for i in chosen for c in by_prompt[prompts[i]]]
        fitted = strengths(sample, models)
        draws[r] = [fitted[m] for m in models]
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail], axis=0)
    return {
        m: Interval(estimate[m], float(low[i]), float(high[i]), level, PERCENTILE_BOOTSTRAP)
        for i, m in enumerate(models)
    }
