"""Formatting shared by the renderers: numbers, intervals, p-values, untrusted text.

Standard library only (the interval type is read for type checking alone), so the document
model and the charts, which escape text, load nothing heavy.
"""

from __future__ import annotations

import html
import math
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bakeoff.stats import Interval


def number(value: float | None, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.{digits}f}"


def interval_text(interval: Interval, scale: float, digits: int) -> str:
    if math.isnan(interval.estimate):
        return "n/a"
    low, high = interval.low * scale, interval.high * scale
    return f"{interval.estimate * scale:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def p_text(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if value < 0.001:
        return "<0.001"
    return f"{value:.3f}"


def rate_text(value: float | None) -> str:
    return "not measured" if value is None else f"{value:,.1f}"


def untrusted_html(text: str) -> str:
    """Anything a model wrote (or a dataset holds) is escaped before it reaches HTML."""
    return html.escape(text, quote=True)


def untrusted_markdown(text: str, limit: int = 160) -> str:
    """One-line, table-safe, HTML-inert rendering of untrusted text for Markdown.

    Only what Markdown would interpret is escaped, so ordinary text stays readable: ``<`` that
    could open a tag, ``&`` that could start an entity, table pipes, code ticks, emphasis
    markers, and brackets when the text could form a link.
    """
    flat = " ⏎ ".join(part for part in text.strip().splitlines())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    flat = flat.replace("\\", "\\\\")
    flat = re.sub(r"&(?=#?\w+;)", "&amp;", flat)
    flat = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", flat)
    flat = flat.replace("|", "\\|").replace("`", "\\`").replace("*", "\\*")
    flat = re.sub(r"(?<!\w)_|_(?!\w)", r"\\_", flat)
    if "](" in flat or "][" in flat or "]:" in flat:
        flat = flat.replace("[", "\\[")
    return flat
