"""Use-case profiles: one weighted score per model per profile, and Pareto fronts.

Each criterion is normalized across the compared models so the best model scores 1: quality
and safety are fractions already (kept as they are), throughput is divided by the best one,
latency, cost and memory (lower is better) are the best value divided by the model's. A profile
weighs the criteria; criteria with no measurement are left out and the remaining weights are
renormalized (the report names what was left out).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
    """Model → weighted score in [0, 1]; None when no weighted criterion was measured."""
    missing: tuple[str, ...]
    winner: str | None


@dataclass(frozen=True, slots=True)
class ParetoPoint:
    model: str
    x: float
    y: float
    on_front: bool


def load_weights(path: Path) -> dict[str, dict[str, float]]:
    """Profiles from YAML: ``{profile: {criterion: weight}}`` (or under a ``profiles:`` key)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read weights file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"weights file {path} is not valid YAML: {exc}") from None
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
    """Criterion → model → normalized value (best = 1); unmeasured values are dropped."""
    out: dict[str, dict[str, float]] = {}
    for criterion in CRITERIA:
        raw = {
            m: v[criterion]
            for m, v in values.items()
            if v.get(criterion) is not None and math.isfinite(v[criterion] or math.nan)
        }
        measured = {m: float(x) for m, x in raw.items() if x is not None}
        if not measured:
            continue
        if criterion in ("quality", "safety"):
            out[criterion] = measured
        elif criterion in LOWER_IS_BETTER:
            best = min(measured.values())
            out[criterion] = {m: (best / x if x > 0 else 1.0) for m, x in measured.items()}
        else:
            best = max(measured.values())
            out[criterion] = {m: (x / best if best > 0 else 0.0) for m, x in measured.items()}
    return out


def score_profiles(
    models: Sequence[str],
    values: Mapping[str, Mapping[str, float | None]],
    profiles: Mapping[str, Mapping[str, float]],
) -> tuple[ProfileResult, ...]:
    normalized = normalize(values)
    results = []
    for name, weights in profiles.items():
        used = {c: w for c, w in weights.items() if w > 0 and c in normalized}
        missing = tuple(c for c, w in weights.items() if w > 0 and c not in normalized)
        total = sum(used.values())
        scores: dict[str, float | None] = {}
        for model in models:
            if total <= 0 or any(model not in normalized[c] for c in used):
                scores[model] = None
                continue
            scores[model] = sum(w * normalized[c][model] for c, w in used.items()) / total
        ranked = [(s, m) for m, s in scores.items() if s is not None]
        winner = max(ranked)[1] if ranked else None
        results.append(ProfileResult(name, dict(weights), scores, missing, winner))
    return tuple(results)


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
