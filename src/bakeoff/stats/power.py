"""How small a difference an evaluation of a given size can detect, and how many samples it takes.

Paired binary outcomes (accuracy, tested with McNemar) use the normal approximation of Connor
(1987, Biometrics 43:207), the standard sample-size formula for McNemar's test. With
``delta = p10 - p01`` (difference in accuracy), ``psi = p10 + p01`` (probability that the two
models disagree on a sample, the *discordance*), ``z_a = z_{1-alpha/2}`` and ``z_b = z_{power}``::

    n = (z_a * sqrt(psi) + z_b * sqrt(psi - delta²))² / delta²

The first term is the spread of the statistic under the null, the second under the alternative.
It targets the asymptotic McNemar z-test ``(b - c) / sqrt(b + c)``; by simulation, at the
returned difference that test has the requested power (0.80 +- 0.01 at 0.8 with 50+ expected
discordant pairs), and the exact test, being conservative, a couple of points less.
Continuous means (paired t) use the exact noncentral-t power of the paired t-test.

Normal approximations are poor when only a handful of discordant pairs are expected, so both
binary functions also respect a hard floor: McNemar's exact test cannot reach ``p <= alpha`` with
fewer than ``k_min`` discordant pairs all favouring one model, where ``k_min`` is the smallest k
with ``2 * 0.5**k <= alpha`` (6 at alpha = 0.05). An evaluation of n samples therefore cannot
detect a difference below ``k_min / n``, whatever the formula says.
"""

from __future__ import annotations

import math

from scipy import optimize as _spo
from scipy import stats as _sps


def _check_probability(name: str, value: float, *, open_interval: bool = False) -> None:
    ok = 0.0 < value < 1.0 if open_interval else 0.0 <= value <= 1.0
    if not ok:
        bounds = "(0, 1)" if open_interval else "[0, 1]"
        raise ValueError(f"{name} must be in {bounds}, got {value!r}")


def _critical_values(alpha: float, power: float) -> tuple[float, float]:
    _check_probability("alpha", alpha, open_interval=True)
    _check_probability("power", power, open_interval=True)
    return float(_sps.norm.ppf(1.0 - alpha / 2.0)), float(_sps.norm.ppf(power))


def min_discordant_pairs(alpha: float = 0.05) -> int:
    """Fewest discordant pairs with which McNemar's exact two-sided test can reach p <= alpha."""
    _check_probability("alpha", alpha, open_interval=True)
    k = 1
    while 2.0 * 0.5**k > alpha:
        k += 1
    return k


def expected_discordance(p_a: float, p_b: float | None = None) -> float:
    """Discordance ``psi`` of two models with accuracies p_a and p_b if their errors were
    independent: ``p_a (1 - p_b) + p_b (1 - p_a)`` (``p_b`` defaults to ``p_a``).

    Real models tend to fail on the same hard samples, so their discordance is usually lower and
    this is a conservative (larger-n, larger-MDD) assumption. Measure it when you can.
    """
    _check_probability("p_a", p_a)
    p_b = p_a if p_b is None else p_b
    _check_probability("p_b", p_b)
    return p_a * (1.0 - p_b) + p_b * (1.0 - p_a)


def minimum_detectable_difference(
    n: int,
    p_a: float,
    p_b: float | None = None,
    discordance: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Smallest accuracy difference ``|acc_A - acc_B|`` that a paired evaluation of ``n``
    samples detects with probability ``power`` by a two-sided McNemar test at level ``alpha``.

    Solves Connor's formula (module docstring) for delta with ``psi`` held fixed::

        delta = sqrt(psi) * (sqrt(n) z_a + z_b sqrt(n - z_a² + z_b²)) / (n + z_b²)

    and returns ``max(delta, k_min / n)`` (the exact-test floor, see the module docstring).
    ``psi`` is ``discordance`` if given (the observed share of samples on which the models
    disagree is the best estimate), else :func:`expected_discordance` of ``p_a``/``p_b``
    (independent errors; ``p_b`` defaults to ``p_a``). Returns ``math.inf`` when n is too small
    for any difference to be detectable (``n < k_min`` or ``n <= z_a²``). With ``psi == 0``
    the formula gives 0 and the floor ``k_min / n`` is returned. The result is a fraction
    (0.05 = five accuracy points).
    """
    z_a, z_b = _critical_values(alpha, power)
    psi = expected_discordance(p_a, p_b) if discordance is None else float(discordance)
    _check_probability("discordance", psi)
    n = int(n)
    k_min = min_discordant_pairs(alpha)
    if n < k_min or n <= z_a * z_a:
        return math.inf
    delta = (
        math.sqrt(psi)
        * (math.sqrt(n) * z_a + z_b * math.sqrt(n - z_a * z_a + z_b * z_b))
        / (n + z_b * z_b)
    )
    delta = max(delta, k_min / n)
    return delta if delta <= 1.0 else math.inf


def samples_needed(
    delta: float, discordance: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Samples for a two-sided McNemar test at level ``alpha`` to detect an accuracy difference
    ``delta`` with probability ``power``, when the models disagree on a share ``discordance``
    (psi) of samples.

    Connor's formula, rounded up: ``ceil((z_a sqrt(psi) + z_b sqrt(psi - delta²))² / delta²)``,
    and at least ``ceil(k_min / delta)`` (the exact-test floor). Needs
    ``0 < |delta| <= discordance <= 1`` (a net difference cannot exceed the disagreement).
    Consistent with :func:`minimum_detectable_difference`: the MDD at the returned n is at most
    ``|delta|``.
    """
    z_a, z_b = _critical_values(alpha, power)
    delta = abs(float(delta))
    psi = float(discordance)
    _check_probability("discordance", psi)
    if not 0.0 < delta <= psi:
        raise ValueError(f"need 0 < |delta| <= discordance, got delta={delta}, discordance={psi}")
    n = (z_a * math.sqrt(psi) + z_b * math.sqrt(max(0.0, psi - delta * delta))) ** 2 / delta**2
    floor = min_discordant_pairs(alpha) / delta
    # The tolerance keeps an exact integer from being pushed up by rounding noise.
    return max(math.ceil(n - 1e-9), math.ceil(floor - 1e-9), math.floor(z_a * z_a) + 1)


def _paired_t_power(effect: float, n: int, alpha: float) -> float:
    """Power of the two-sided paired t-test for standardized effect ``mean_diff / sd_diff``."""
    df = n - 1
    critical = float(_sps.t.ppf(1.0 - alpha / 2.0, df))
    noncentrality = effect * math.sqrt(n)
    upper = float(_sps.nct.sf(critical, df, noncentrality))
    # The far lower tail is negligible for effect >= 0 but can come back NaN at tiny df.
    lower = float(_sps.nct.cdf(-critical, df, noncentrality))
    return upper + (lower if math.isfinite(lower) else 0.0)


def mdd_continuous(sd_diff: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest mean difference the two-sided paired t-test detects with probability ``power``.

    ``sd_diff`` is the standard deviation of the per-sample differences A - B. Solves
    ``P(|T| > t_{1-alpha/2, n-1}) = power`` for ``T ~ noncentral t(n - 1, d sqrt(n))`` (both
    tails, as statsmodels' ``TTestPower``) and returns ``d * sd_diff``. For large n this is close
    to ``(z_a + z_b) * sd_diff / sqrt(n)``. Fewer than two samples give ``math.inf``.
    """
    _check_probability("alpha", alpha, open_interval=True)
    _check_probability("power", power, open_interval=True)
    sd = float(sd_diff)
    if sd < 0.0 or not math.isfinite(sd):
        raise ValueError(f"sd_diff must be a finite non-negative number, got {sd_diff!r}")
    n = int(n)
    if n < 2:
        return math.inf
    if sd == 0.0:
        return 0.0
    if power <= alpha:
        return 0.0  # the test already rejects with probability alpha at no difference
    z_a, z_b = _critical_values(alpha, power)
    high = max(1e-3, 2.0 * (z_a + z_b) / math.sqrt(n))
    while _paired_t_power(high, n, alpha) < power:
        high *= 2.0
    effect = float(
        _spo.brentq(lambda d: _paired_t_power(d, n, alpha) - power, 0.0, high, xtol=1e-12)
    )
    return effect * sd


def samples_needed_continuous(
    delta: float, sd_diff: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Samples for the two-sided paired t-test at level ``alpha`` to detect a mean difference
    ``delta`` with probability ``power``, when the per-sample differences A - B have standard
    deviation ``sd_diff``.

    The smallest n whose exact noncentral-t power (as in :func:`mdd_continuous` and statsmodels'
    ``TTestPower``, one-sample on the differences) reaches ``power``. The search starts from the
    normal approximation ``((z_a + z_b) * sd_diff / delta)²`` and steps to the exact answer,
    which is a few samples larger because t has heavier tails than the normal. At least 2 (a
    t-test needs one degree of freedom); with ``sd_diff == 0`` every non-zero difference is
    certain, so 2.
    """
    z_a, z_b = _critical_values(alpha, power)
    delta = abs(float(delta))
    sd = float(sd_diff)
    if not delta > 0.0 or not math.isfinite(delta):
        raise ValueError(f"delta must be a finite non-zero number, got {delta!r}")
    if sd < 0.0 or not math.isfinite(sd):
        raise ValueError(f"sd_diff must be a finite non-negative number, got {sd_diff!r}")
    if sd == 0.0:
        return 2
    effect = delta / sd
    n = max(2, math.ceil(((z_a + z_b) / effect) ** 2 - 1e-9))
    while _paired_t_power(effect, n, alpha) < power:
        n += 1
    while n > 2 and _paired_t_power(effect, n - 1, alpha) >= power:
        n -= 1
    return n
