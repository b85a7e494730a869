"""The length-controlled win rate: what the judge's preference would be at equal length.

Judges prefer longer answers. As AlpacaEval 2.0's length-controlled win rate does (Dubois et
al., 2024), the judge's preference for A is regressed on the length difference, and the win
rate is read off the fit at zero difference:

``P(A preferred) = sigmoid(theta + beta * tanh((len_A - len_B) / sd))``

``sd`` is the standard deviation of the length differences (1 if they are all equal), so the
term is bounded and scale-free; a tie counts half. The length-controlled rate is
``sigmoid(theta)``; the raw rate is the plain mean. A small ridge (``RIDGE``) keeps the fit
finite when length decides every verdict, where the unpenalised slope is infinite.
AlpacaEval's fit also has a per-instruction difficulty term, left out here: with one pair of
models per comparison it is absorbed by theta.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bakeoff.stats import _logistic

RIDGE = 1e-3


@dataclass(frozen=True, slots=True)
class LengthControlled:
    raw: float
    """Mean preference for A (ties half)."""
    controlled: float
    """The fit's preference for A at zero length difference."""
    length_slope: float
    """beta: how strongly the preference follows the (scaled) length difference."""
    n: int


def length_controlled(
    scores: Sequence[float], length_a: Sequence[float], length_b: Sequence[float]
) -> LengthControlled:
    """``scores``: A's outcome per comparison (1 win, 0.5 tie, 0 loss); lengths in any unit
    (characters or tokens), one per comparison."""
    y = np.asarray(scores, dtype=np.float64)
    if not len(y):
        return LengthControlled(float("nan"), float("nan"), float("nan"), 0)
    difference = np.asarray(length_a, dtype=np.float64) - np.asarray(length_b, dtype=np.float64)
    spread = float(np.std(difference)) or 1.0
    x = np.column_stack([np.ones(len(y)), np.tanh(difference / spread)])
    theta, beta = _logistic.fit(x, y, ridge=RIDGE)
    controlled = float(_logistic.sigmoid(np.array([theta]))[0])
    return LengthControlled(float(np.mean(y)), controlled, float(beta), len(y))
