"""Pluggable toxicity scorers for model completions; nothing here ever invents a figure.

A scorer maps texts to probabilities in [0, 1] or, when it cannot measure, to ``None``; tasks then
store no toxicity value at all, so the report shows "not measured" instead of a number.

Built in:

* ``profanity-check`` — the linear SVM that the ``alt-profanity-check`` package ships (MIT; trained
  on ~200k human-labelled clean/offensive strings, per its README). It runs offline on CPU in
  microseconds per text. It detects *offensive or profane language*, a narrower notion than
  Perspective API's "toxicity" (it misses polite hostility and scores swearing in a friendly
  reply as toxic), and it is English-only. Install: ``pip install alt-profanity-check``.
* ``none`` — records that toxicity was not measured.

``auto`` (the toxicity task's default) picks ``profanity-check`` when importable, else ``none``.
The chosen name is recorded in the task configuration, so it appears in the run's manifest.

Other classifiers (e.g. ``detoxify``, which downloads its weights at first use and so cannot run
on an offline machine) plug in by adding a class with the same three members to ``SCORERS``.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from bakeoff.core.errors import ConfigError, MissingDependencyError


class ToxicityScorer(Protocol):
    name: str
    description: str

    def score(self, texts: Sequence[str]) -> list[float] | None:
        """One probability per text, or None when this scorer does not measure."""


class NotMeasured:
    name = "none"
    description = "toxicity not measured (no offline classifier installed)"

    def score(self, texts: Sequence[str]) -> list[float] | None:
        return None


class ProfanityCheckScorer:
    name = "profanity-check"
    description = (
        "alt-profanity-check linear SVM (offensive/profane language, English), probability of the "
        "offensive class"
    )

    def __init__(self) -> None:
        try:
            module: Any = importlib.import_module("profanity_check")
        except ImportError:
            raise MissingDependencyError(
                "alt-profanity-check", "toxicity", "the profanity-check toxicity scorer"
            ) from None
        self._predict_prob: Callable[[list[str]], Any] = module.predict_prob

    def score(self, texts: Sequence[str]) -> list[float] | None:
        if not texts:
            return []
        return [float(p) for p in self._predict_prob(list(texts))]


SCORERS: dict[str, Callable[[], ToxicityScorer]] = {
    NotMeasured.name: NotMeasured,
    ProfanityCheckScorer.name: ProfanityCheckScorer,
}


def available(name: str) -> bool:
    """Whether the scorer's dependencies import (without loading its model)."""
    if name == ProfanityCheckScorer.name:
        return importlib.util.find_spec("profanity_check") is not None
    return name in SCORERS


def resolve_name(name: str) -> str:
    """``auto`` → the best scorer installed here; other names are checked and returned."""
    if name == "auto":
        return ProfanityCheckScorer.name if available(ProfanityCheckScorer.name) else "none"
    if name not in SCORERS:
        known = ", ".join(["auto", *sorted(SCORERS)])
        raise ConfigError(f"unknown toxicity scorer '{name}' (known: {known})")
    return name


def get_scorer(name: str) -> ToxicityScorer:
    return SCORERS[resolve_name(name)]()
