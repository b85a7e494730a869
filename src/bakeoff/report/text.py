"""Formatting shared by the renderers: numbers, intervals, p-values, untrusted text."""

from __future__ import annotations

import html
import math
import re

from bakeoff.report.model import Comparison, MetricReport, ModelScore
from bakeoff.stats import Interval


def number(value: float | None, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.{digits}f}"


def digits_for(metric: MetricReport) -> int:
    return 1 if metric.scale >= 100 else 3


def interval_text(interval: Interval, scale: float, digits: int) -> str:
    if math.isnan(interval.estimate):
        return "n/a"
    low, high = interval.low * scale, interval.high * scale
    return f"{interval.estimate * scale:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def score_text(score: ModelScore, metric: MetricReport) -> str:
    text = interval_text(score.interval, metric.scale, digits_for(metric))
    if score.failed:
        text += f" ({score.failed} failed)"
    return text


def difference_text(comparison: Comparison, metric: MetricReport) -> str:
    digits = digits_for(metric)
    paired = comparison.paired
    diff = paired.difference * metric.scale
    low, high = paired.interval.low * metric.scale, paired.interval.high * metric.scale
    text = f"{diff:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"
    # A signed score ranked by closeness to 0 is compared by magnitude: say so in the cell.
    return f"{text} in |score|" if metric.rank_by_magnitude else text


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
