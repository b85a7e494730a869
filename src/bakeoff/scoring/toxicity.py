"""Pluggable toxicity scorers for model completions; nothing here ever invents a figure.

A scorer maps texts to probabilities in [0, 1] or, when it cannot measure, to ``None``; tasks then
store no toxicity value at all, so the report shows "not measured" instead of a number.

Built in:

* ``profanity-check`` — the linear SVM that the ``alt-profanity-check`` package ships inside its
  wheel (MIT; a TF-IDF + calibrated linear SVM trained on ~200k human-labelled clean/offensive
  strings, per its README). It runs offline on CPU in microseconds per text. It detects
  *offensive or profane language*, a narrower notion than Perspective API's "toxicity": it misses
  hostility without swear words ("people from that country are all thieves" scores ~0.1), it
  scores swearing in a friendly reply as offensive, and it is English-only (text in other
  languages scores near 0 whatever it says). Install: ``pip install 'bakeoff[toxicity]'``
  (``alt-profanity-check``; each release pins the scikit-learn version its model was trained
  with).
* ``none`` — records that toxicity was not measured.
* ``MODULE:FUNCTION`` — any importable function that takes a list of strings and returns one
  probability per string (e.g. a wrapper around a classifier you host, or a model on disk):
  ``toxicity,scorer=mypackage.tox:score``. Its name is recorded as given.

``auto`` (the toxicity task's default) picks ``profanity-check`` when importable, else ``none``.
The chosen name and description are recorded in the task configuration and source line.

Checked and rejected for offline use: ``detoxify`` fetches its checkpoint from GitHub releases
and its tokenizer from the Hugging Face hub at first use (URLError offline); ``hatesonar`` 0.1
ships an ONNX model but its string normalizer needs the ``en_US.UTF-8`` locale installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from bakeoff.core.errors import ConfigError, DataError, MissingDependencyError


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
        "alt-profanity-check linear SVM shipped in its wheel (offensive/profane language, "
        "English only), probability of the offensive class"
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


class FunctionScorer:
    """``MODULE:FUNCTION``: a user's function from texts to probabilities."""

    def __init__(self, reference: str) -> None:
        module_name, _, function_name = reference.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(f"toxicity scorer '{reference}': cannot import {exc.name}") from None
        function = getattr(module, function_name, None)
        if not callable(function):
            raise ConfigError(f"toxicity scorer '{reference}': {function_name} is not a function")
        self._function: Callable[[list[str]], Sequence[float]] = function
        self.name = reference
        self.description = f"user-supplied classifier {reference}"
        self.score(["Have a nice day."])  # a wrong function fails here, not mid-run

    def score(self, texts: Sequence[str]) -> list[float] | None:
        wrong = f"toxicity scorer {self.name} must return one probability in [0, 1] per text"
        try:
            values = [float(v) for v in self._function(list(texts))]
        except (TypeError, ValueError):
            raise DataError(wrong) from None
        if len(values) != len(texts) or not all(
            math.isfinite(v) and 0.0 <= v <= 1.0 for v in values
        ):
            raise DataError(wrong)
        return values


SCORERS: dict[str, Callable[[], ToxicityScorer]] = {
    NotMeasured.name: NotMeasured,
    ProfanityCheckScorer.name: ProfanityCheckScorer,
}


def available(name: str) -> bool:
    """Whether the scorer's dependencies import (without loading its model)."""
    if name == ProfanityCheckScorer.name:
        return importlib.util.find_spec("profanity_check") is not None
    return name in SCORERS


def _is_reference(name: str) -> bool:
    module, sep, function = name.partition(":")
    return bool(sep and module and function)


def resolve_name(name: str) -> str:
    """``auto`` → the best scorer installed here; other names are checked and returned."""
    if name == "auto":
        return ProfanityCheckScorer.name if available(ProfanityCheckScorer.name) else "none"
    if name not in SCORERS and not _is_reference(name):
        known = ", ".join(["auto", *sorted(SCORERS), "MODULE:FUNCTION"])
        raise ConfigError(f"unknown toxicity scorer '{name}' (known: {known})")
    return name


def get_scorer(name: str) -> ToxicityScorer:
    resolved = resolve_name(name)
    if resolved in SCORERS:
        return SCORERS[resolved]()
    return FunctionScorer(resolved)
