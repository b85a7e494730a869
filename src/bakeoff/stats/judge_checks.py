"""Whether a judge can be trusted: its accuracy on a sanity set, and self-preference.

Sanity set: pairs where the better answer is known (a reference answer against the same answer
cut short, or against an answer to a different question). A judge that cannot tell those apart
cannot be trusted to tell two models apart: below ``SANITY_THRESHOLD`` the guide names no winner
on judged quality, and says why. The threshold, 0.8, leaves room for a few hard control pairs
while excluding a judge that guesses (0.5 on two-way choices) or always picks one position
(0.5 when the known-better answer is shown first half the time).

Self-preference: judges favour answers in their own style (Panickssery et al., 2024). A judge
that is one of the compared models, or of the same family (the same model line by name:
``gemma-3-27b`` and ``gemma3-270m`` are both Gemma), is flagged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

SANITY_THRESHOLD = 0.8

FAMILIES = (
    "gemma",
    "gemini",
    "smollm",
    "llama",
    "qwen",
    "mistral",
    "mixtral",
    "phi",
    "gpt",
    "claude",
    "deepseek",
    "olmo",
    "granite",
)
"""Model lines recognised in a model's name; one word of the name must start with one."""


@dataclass(frozen=True, slots=True)
class SanityResult:
    correct: int
    judged: int
    unreadable: int
    """Control pairs whose verdict could not be read: counted as not correct."""

    @property
    def accuracy(self) -> float:
        total = self.judged + self.unreadable
        return self.correct / total if total else math.nan

    @property
    def passed(self) -> bool:
        return not math.isnan(self.accuracy) and self.accuracy >= SANITY_THRESHOLD


def sanity(picked_better: Sequence[bool | None]) -> SanityResult:
    """``picked_better``: per control pair, whether the judge chose the known-better answer
    (None: no readable verdict, which counts against the judge: it did not pick the better)."""
    readable = [p for p in picked_better if p is not None]
    return SanityResult(sum(readable), len(readable), len(picked_better) - len(readable))


def family(name: str) -> str | None:
    """The model line named in ``name`` (``[label=]backend:target``, a label, a file name, an
    API model id), if known; the label and the backend are not the model's name."""
    target = name.partition("=")[2] or name
    target = target.partition(":")[2] or target
    for word in re.split(r"[^a-z]+", target.lower()):
        for known in FAMILIES:
            if word.startswith(known):
                return known
    return None


def self_preference(judge: str, models: Sequence[str]) -> list[str]:
    """The compared models the judge may favour: itself, or one of its family. ``judge`` and
    ``models`` are identities as written (``backend:target``, a label or a file name)."""
    mine = family(judge)
    return [m for m in models if m == judge or (mine is not None and family(m) == mine)]
