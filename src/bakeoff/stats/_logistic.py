"""Logistic regression by Newton's method, with fractional outcomes and weights.

Shared by Bradley–Terry (bradley_terry.py) and the length-controlled win rate
(length_control.py). Maximises ``sum w_i [y_i log p_i + (1 - y_i) log(1 - p_i)] - ridge/2 |b|^2``
with ``p_i = sigmoid(x_i . b)``; ``y_i`` may be ½ (a tie counts half a win each way, the usual
reading for paired preferences). Without ``ridge`` this is the maximum-likelihood fit a
statistics package's logistic regression gives (tested against statsmodels); a small ``ridge``
keeps the fit finite when one side wins every comparison (separation), where the unpenalised
estimate runs off to infinity.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for large |z|
    return out


def fit(
    x: FloatArray,
    y: FloatArray,
    weights: FloatArray | None = None,
    *,
    ridge: float = 0.0,
    tolerance: float = 1e-12,
    max_iterations: int = 200,
) -> FloatArray:
    """Coefficients ``b`` (one per column of ``x``)."""
    n, k = x.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    beta = np.zeros(k)
    penalty = ridge * np.eye(k)
    for _ in range(max_iterations):
        p = sigmoid(x @ beta)
        gradient = x.T @ (w * (y - p)) - ridge * beta
        hessian = (x * (w * p * (1.0 - p))[:, None]).T @ x + penalty
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        beta = beta + step
        if float(np.max(np.abs(step))) < tolerance:
            break
    result: FloatArray = beta
    return result
