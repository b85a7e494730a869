"""Table cells several sections of the guide share: scores with their intervals, paired
differences, sizes in MiB, RAM at a context length, and the profiles' criterion values."""

from __future__ import annotations

from bakeoff.report.model.hardware import HardwareRow
from bakeoff.report.model.view import Comparison, MetricReport, ModelScore
from bakeoff.report.text import interval_text


def digits_for(metric: MetricReport) -> int:
    return 1 if metric.scale >= 100 else 3


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


def mib(value: float | None) -> str:
    return "unknown" if value is None else f"{value / 2**20:,.1f} MiB"


def ram_cell(row: HardwareRow, context: int) -> str:
    needed, kv = row.ram_bytes.get(context), row.kv_bytes.get(context)
    if row.context_length and context > row.context_length:
        return f"n/a: its window is {row.context_length:,} tokens"
    if needed is None:
        return "unknown"
    return f"{mib(needed)} (KV {mib(kv)})"


def criterion_text(criterion: str, value: float | None, dollars: bool) -> str:
    if value is None:
        return "not measured"
    if criterion == "memory":
        return mib(value)
    if criterion == "speed":
        return f"{value:,.1f} tok/s"
    if criterion == "latency":
        return f"{value:.3f} s/sample"
    if criterion == "cost":
        return f"${value:,.4f} per 1M tokens" if dollars else f"{value:,.0f} s per 1M tokens"
    return f"{value:.3f}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
