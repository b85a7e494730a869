"""Text normalisation and answer extraction for generation tasks."""

from __future__ import annotations

import re

_NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def normalize(text: str) -> str:
    """Strip surrounding whitespace and collapse inner runs of whitespace."""
    return " ".join(text.split())


def exact_match(prediction: str, target: str) -> bool:
    return normalize(prediction) == normalize(target)


def first_number(text: str) -> str:
    """The first number in ``text`` without thousands separators, or "" when there is none."""
    match = _NUMBER_RE.search(text)
    return match.group(0).replace(",", "") if match else ""


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()
