"""Power and sample size checked against hand-computed values, simulation and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower

from bakeoff.stats import (
    expected_discordance,
    mdd_continuous,
    min_discordant_pairs,
    minimum_detectable_difference,
    samples_needed,
    samples_needed_continuous,
)

Z_975 = 1.959963984540054
Z_80 = 0.8416212335729143


def test_samples_needed_hand_computed() -> None:
    # Connor (1987): delta = 0.1, psi = 0.2, alpha = 0.05, power = 0.8.
    # (1.959964 * sqrt(0.2) + 0.841621 * sqrt(0.2 - 0.01))² / 0.01
    # = (0.876522 + 0.366855)² / 0.01 = 154.60 -> 155.
    expected = (Z_975 * math.sqrt(0.2) + Z_80 * math.sqrt(0.19)) ** 2 / 0.01
    assert expected == pytest.approx(154.60, abs=0.01)
    assert samples_needed(0.1, 0.2) == 155
    assert samples_needed(-0.1, 0.2) == 155  # direction does not matter


def test_mdd_hand_computed() -> None:
    # n = 500, accuracy 0.7 for both, independent errors: psi = 2 * 0.7 * 0.3 = 0.42.
    psi = expected_discordance(0.7)
    assert psi == pytest.approx(0.42)
    root = math.sqrt(500 - Z_975**2 + Z_80**2)
    expected = math.sqrt(psi) * (math.sqrt(500) * Z_975 + Z_80 * root) / (500 + Z_80**2)
    assert minimum_detectable_difference(500, 0.7) == pytest.approx(expected, rel=1e-12)
    assert minimum_detectable_difference(500, 0.7) == pytest.approx(0.0810, abs=1e-4)
    # p_b and an explicit discordance give the same psi route.
    with_p_b = minimum_detectable_difference(500, 0.7, p_b=0.7)
    assert with_p_b == pytest.approx(minimum_detectable_difference(500, 0.7, discordance=0.42))
    assert expected_discordance(0.8, 0.6) == pytest.approx(0.8 * 0.4 + 0.6 * 0.2)


@pytest.mark.parametrize(
    ("delta", "psi"), [(0.1, 0.2), (0.05, 0.3), (0.02, 0.1), (0.2, 0.25), (0.9, 0.9)]
)
def test_mdd_inverts_samples_needed(delta: float, psi: float) -> None:
    n = samples_needed(delta, psi)
    assert minimum_detectable_difference(n, 0.5, discordance=psi) <= delta + 1e-12
    assert minimum_detectable_difference(n - 1, 0.5, discordance=psi) > delta


@pytest.mark.parametrize(("n", "psi"), [(200, 0.3), (500, 0.2), (1000, 0.1), (2000, 0.42)])
def test_mdd_reaches_power_by_simulation(n: int, psi: float) -> None:
    """At the MDD the asymptotic McNemar test rejects in about 80 % of simulated evaluations."""
    delta = minimum_detectable_difference(n, 0.5, discordance=psi)
    rng = np.random.default_rng(n)
    counts = rng.multinomial(n, [(psi + delta) / 2, (psi - delta) / 2, 1 - psi], size=20000)
    b, c = counts[:, 0], counts[:, 1]
    z = np.divide(b - c, np.sqrt(b + c), out=np.zeros(len(b)), where=(b + c) > 0)
    power = np.mean(np.abs(z) > stats.norm.ppf(0.975))
    assert power == pytest.approx(0.8, abs=0.025)


def test_mdd_exact_test_floor() -> None:
    # 2 * 0.5**6 = 0.031 <= 0.05 < 2 * 0.5**5: six one-sided discordant pairs are needed.
    assert min_discordant_pairs(0.05) == 6
    assert min_discordant_pairs(0.01) == 8
    assert stats.binomtest(6, 6).pvalue <= 0.05 < stats.binomtest(5, 5).pvalue
    # Very accurate models: the formula alone would promise ~0.4 points; the floor says 0.6.
    assert minimum_detectable_difference(1000, 0.999) == pytest.approx(6 / 1000)
    assert minimum_detectable_difference(100, 1.0) == pytest.approx(0.06)  # psi = 0
    # delta = psi = 0.9: Connor gives (1.96 sqrt(0.9) + 0.8416 sqrt(0.09))² / 0.81 = 5.5 -> 6,
    # but 6 discordant pairs out of 6 samples need delta = 1; the floor is ceil(6 / 0.9) = 7.
    assert samples_needed(0.9, 0.9) == 7


def test_mdd_edges() -> None:
    assert minimum_detectable_difference(0, 0.7) == math.inf
    assert minimum_detectable_difference(5, 0.7) == math.inf
    assert math.isfinite(minimum_detectable_difference(6, 0.7))
    sizes = [10, 50, 100, 500, 1000, 10000]
    values = [minimum_detectable_difference(n, 0.6) for n in sizes]
    assert all(np.diff(values) < 0)
    assert minimum_detectable_difference(1000, 0.6, alpha=0.01) > values[4]
    assert minimum_detectable_difference(1000, 0.6, power=0.9) > values[4]
    with pytest.raises(ValueError, match="p_a"):
        minimum_detectable_difference(100, 1.5)
    with pytest.raises(ValueError, match="alpha"):
        minimum_detectable_difference(100, 0.5, alpha=0.0)
    with pytest.raises(ValueError, match="discordance"):
        samples_needed(0.3, 0.2)
    with pytest.raises(ValueError, match="delta"):
        samples_needed(0.0, 0.2)


@pytest.mark.parametrize("n", [3, 10, 50, 500, 5000])
@pytest.mark.parametrize("power", [0.5, 0.8, 0.95])
def test_mdd_continuous_matches_statsmodels(n: int, power: float) -> None:
    sd = 2.0
    mdd = mdd_continuous(sd, n, alpha=0.05, power=power)
    # statsmodels' exact paired-t power at our MDD is the requested power...
    achieved = TTestPower().power(effect_size=mdd / sd, nobs=n, alpha=0.05)
    assert achieved == pytest.approx(power, abs=1e-9)
    # ... and its own solver (looser tolerance) lands on the same effect size.
    effect = TTestPower().solve_power(nobs=n, alpha=0.05, power=power)
    assert mdd == pytest.approx(sd * effect, rel=1e-4)


def test_mdd_continuous_edges() -> None:
    assert mdd_continuous(1.0, 1) == math.inf
    assert mdd_continuous(0.0, 100) == 0.0
    assert math.isfinite(mdd_continuous(1.0, 2))  # df = 1 still solvable
    large = mdd_continuous(1.0, 100000)
    assert large == pytest.approx((Z_975 + Z_80) / math.sqrt(100000), rel=1e-3)
    with pytest.raises(ValueError, match="sd_diff"):
        mdd_continuous(-1.0, 10)


@pytest.mark.parametrize(
    ("delta", "sd"), [(0.02, 0.3), (0.5, 1.0), (2.0, 1.0), (0.1, 0.05), (1.0, 3.0)]
)
@pytest.mark.parametrize("power", [0.8, 0.9])
def test_samples_needed_continuous_matches_statsmodels(
    delta: float, sd: float, power: float
) -> None:
    n = samples_needed_continuous(delta, sd, alpha=0.05, power=power)
    # statsmodels solves for a fractional n (one-sample t on the paired differences); the
    # smallest whole number of samples reaching the power is its ceiling.
    fractional = TTestPower().solve_power(effect_size=delta / sd, alpha=0.05, power=power)
    assert n == max(2, math.ceil(fractional - 1e-6))
    assert TTestPower().power(effect_size=delta / sd, nobs=n, alpha=0.05) >= power
    if n > 2:
        assert TTestPower().power(effect_size=delta / sd, nobs=n - 1, alpha=0.05) < power
    # Consistent with mdd_continuous: at the returned n the MDD is at most delta.
    assert mdd_continuous(sd, n, power=power) <= delta * (1 + 1e-9)


def test_samples_needed_continuous_edges() -> None:
    # Normal approximation for a 2-point difference with sd 30 points: (2.8016 * 15)² = 1766;
    # the t-test needs a couple more.
    approx = ((Z_975 + Z_80) * 0.3 / 0.02) ** 2
    assert samples_needed_continuous(0.02, 0.3) in range(math.ceil(approx), math.ceil(approx) + 4)
    assert samples_needed_continuous(-0.02, 0.3) == samples_needed_continuous(0.02, 0.3)
    assert samples_needed_continuous(1.0, 0.0) == 2
    with pytest.raises(ValueError, match="delta"):
        samples_needed_continuous(0.0, 1.0)
    with pytest.raises(ValueError, match="sd_diff"):
        samples_needed_continuous(0.1, -1.0)
