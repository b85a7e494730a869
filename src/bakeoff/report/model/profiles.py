"""Use-case profiles: one weighted score per model per profile, and Pareto fronts.

Each criterion is scaled across the compared models from 0 (the worst of them) to 1 (the best),
so a weight is a *swing weight*: how much going from the worst to the best model on that
criterion is worth, whatever the criterion's unit or spread (a 2x speed ratio cannot outweigh
an accuracy lead the profile weighs eight times more). A recommendation never rests on what was
not measured: a profile with a weighted criterion missing for any model gets no score and no
winner (the report names the criterion and how to measure it). Nor does it rest on noise: when
the top scorer leads only through a quality, safety or latency difference that no paired test
supports, the profile names no winner.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bakeoff.core.errors import ConfigError

CRITERIA = ("quality", "safety", "speed", "latency", "cost", "memory")
LOWER_IS_BETTER = frozenset({"latency", "cost", "memory"})
DEFAULT_PROFILES: Mapping[str, Mapping[str, float]] = {
    "accuracy first": {"quality": 0.8, "speed": 0.1, "cost": 0.1},
    "latency / edge": {"quality": 0.3, "latency": 0.4, "memory": 0.3},
    "cost": {"quality": 0.3, "cost": 0.7},
    "safety": {"safety": 0.7, "quality": 0.3},
}


@dataclass(frozen=True, slots=True)
class ProfileResult:
    name: str
    weights: Mapping[str, float]
    scores: Mapping[str, float | None]
    """Model → weighted score in [0, 1]; None for every model when a weighted criterion was not
    measured for every model (a profile is never scored on part of its criteria)."""
    missing: tuple[str, ...]
    winner: str | None
    """The top-scoring model; None when a criterion is missing, on a tie, or when the lead rests
    on a difference that is not statistically significant (see ``undecided``)."""
    undecided: tuple[str, ...] = ()
    """When the lead rests on noise: the top scorer, then the models it beats only through a
    quality, safety or latency difference no paired test supports (with those values taken as
    equal it would not come first)."""


@dataclass(frozen=True, slots=True)
class ParetoPoint:
    model: str
    x: float
    y: float
    on_front: bool


def _one_line(exc: Exception) -> str:
    """A YAML error's message (problem, line and column) on one line."""
    return " ".join(str(exc).split())


def load_weights(path: Path) -> dict[str, dict[str, float]]:
    """Profiles from YAML: ``{profile: {criterion: weight}}`` (or under a ``profiles:`` key)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read weights file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"weights file {path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"weights file {path} is not valid YAML: {_one_line(exc)}") from None
    if isinstance(data, dict) and isinstance(data.get("profiles"), dict):
        data = data["profiles"]
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"weights file {path}: expected a mapping of profile → weights")
    profiles: dict[str, dict[str, float]] = {}
    for name, weights in data.items():
        if not isinstance(weights, dict) or not weights:
            raise ConfigError(f"weights file {path}: profile {name!r} needs criterion: weight")
        parsed = {}
        for criterion, weight in weights.items():
            if criterion not in CRITERIA:
                raise ConfigError(
                    f"weights file {path}: unknown criterion {criterion!r} in profile {name!r} "
                    f"(known: {', '.join(CRITERIA)})"
                )
            if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
                raise ConfigError(
                    f"weights file {path}: weight of {criterion!r} in {name!r} must be >= 0"
                )
            parsed[str(criterion)] = float(weight)
        profiles[str(name)] = parsed
    return profiles


def normalize(values: Mapping[str, Mapping[str, float | None]]) -> dict[str, dict[str, float]]:
    """Criterion → model → value scaled across the models from 0 (worst) to 1 (best); all 1 when
    the models are equal. Unmeasured values are dropped."""
    out: dict[str, dict[str, float]] = {}
    for criterion in CRITERIA:
        measured = {
            m: float(x)
            for m, v in values.items()
            if (x := v.get(criterion)) is not None and math.isfinite(x)
        }
        if not measured:
            continue
        low, high = min(measured.values()), max(measured.values())
        if high - low <= 1e-12 * max(1.0, abs(high)):
            out[criterion] = dict.fromkeys(measured, 1.0)
        elif criterion in LOWER_IS_BETTER:
            out[criterion] = {m: (high - x) / (high - low) for m, x in measured.items()}
        else:
            out[criterion] = {m: (x - low) / (high - low) for m, x in measured.items()}
    return out


def _weighted(
    normalized: Mapping[str, Mapping[str, float]], weights: Mapping[str, float], model: str
) -> float:
    total = sum(weights.values())
    return sum(w * normalized[c][model] for c, w in weights.items()) / total


TESTED = ("quality", "safety", "latency")
"""Criteria whose differences paired tests decide (the others are measured or computed)."""
Support = Callable[[str, str, str], bool]
"""(criterion, leader, other) → whether a paired test backs leader's lead over other."""


def _equalized(
    values: Mapping[str, Mapping[str, float | None]],
    pair: tuple[str, str],
    criteria: Sequence[str],
) -> dict[str, dict[str, float | None]]:
    """The criteria with both models of ``pair`` given their mean value on ``criteria``."""
    out = {m: dict(v) for m, v in values.items()}
    for criterion in criteria:
        pair_values = [values[m].get(criterion) for m in pair]
        known = [v for v in pair_values if v is not None]
        if len(known) == len(pair):
            for m in pair:
                out[m][criterion] = sum(known) / len(known)
    return out


def _always(criterion: str, leader: str, other: str) -> bool:
    return True


def score_profiles(
    models: Sequence[str],
    values: Mapping[str, Mapping[str, float | None]],
    profiles: Mapping[str, Mapping[str, float]],
    supported: Support = _always,
) -> tuple[ProfileResult, ...]:
    """Each profile's scores and winner. When the top scorer's lead over a model on quality,
    safety or latency is not backed by a paired test and, with the two models' values on those
    criteria taken as equal, it would not come first, the profile names no winner."""
    normalized = normalize(values)
    results = []
    for name, weights in profiles.items():
        used = {c: w for c, w in weights.items() if w > 0}
        missing = tuple(
            c for c in used if c not in normalized or any(m not in normalized[c] for m in models)
        )
        if missing or not used:
            empty: dict[str, float | None] = dict.fromkeys(models)
            results.append(ProfileResult(name, dict(weights), empty, missing, None))
            continue
        totals = {m: _weighted(normalized, used, m) for m in models}
        ranked = sorted(models, key=lambda m: totals[m], reverse=True)
        top = ranked[0]
        tied = len(ranked) > 1 and math.isclose(totals[top], totals[ranked[1]], abs_tol=1e-9)
        unsupported = (
            ()
            if tied
            else tuple(
                other
                for other in ranked[1:]
                if _rests_on_noise(values, used, top, other, supported)
            )
        )
        winner = None if tied or unsupported else top
        undecided = (top, *unsupported) if unsupported else ()
        scores: dict[str, float | None] = dict(totals)
        results.append(ProfileResult(name, dict(weights), scores, (), winner, undecided))
    return tuple(results)


def _rests_on_noise(
    values: Mapping[str, Mapping[str, float | None]],
    weights: Mapping[str, float],
    top: str,
    other: str,
    supported: Support,
) -> bool:
    """True when ``top`` beats ``other`` only through quality, safety or latency differences
    that no paired test supports."""
    untested = [c for c in TESTED if weights.get(c) and not supported(c, top, other)]
    if not untested:
        return False
    normalized = normalize(_equalized(values, (top, other), untested))
    return _weighted(normalized, weights, top) <= _weighted(normalized, weights, other) + 1e-9


def pareto(points: Mapping[str, tuple[float, float]]) -> tuple[ParetoPoint, ...]:
    """(x lower is better, y higher is better); a point is on the front if nothing dominates it."""
    out = []
    for model, (x, y) in points.items():
        dominated = any(
            (x2 <= x and y2 >= y) and (x2 < x or y2 > y)
            for other, (x2, y2) in points.items()
            if other != model
        )
        out.append(ParetoPoint(model, x, y, not dominated))
    return tuple(out)
