"""Horizontal bars, side by side in groups, with 95% intervals as whiskers and a value axis
with ticks: scores per model, speeds, memory."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bakeoff.report.svg._axis import Axis, draw_x_axis, number_text, x_axis_in
from bakeoff.report.svg._canvas import (
    INK,
    LABEL_SIZE,
    MUTED,
    PALETTE,
    Canvas,
    fit_text,
    text_width,
)

ROW, GROUP_ROW, TOP = 22.0, 20.0, 28.0


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    """NaN when not measured: the row says ``text`` (default "not measured") instead of a bar."""
    low: float | None = None
    high: float | None = None
    color: str = ""
    """Empty: the palette's colour for the bar's position."""
    text: str = ""
    """Shown after the bar; empty: the value with the chart's digits."""


@dataclass(frozen=True, slots=True)
class BarGroup:
    label: str
    """A heading above the group's bars; empty for none."""
    bars: tuple[Bar, ...]


def bar_chart(
    title: str,
    groups: Sequence[BarGroup],
    axis_label: str,
    *,
    digits: int = 1,
    fixed_ticks: tuple[float, ...] = (),
    width: int = 500,
) -> str:
    """Groups of bars from 0 along a ticked value axis (``fixed_ticks`` pins it, e.g. 0–100)."""
    bars = [bar for group in groups for bar in group.bars]
    texts = [_value_text(bar, digits) for bar in bars]
    label_room = min(max((text_width(b.label, LABEL_SIZE) for b in bars), default=40) + 14, 190)
    # Room after the bars for their values ("not measured" is written at zero, inside the plot).
    ends = [t for b, t in zip(bars, texts, strict=True) if math.isfinite(b.value)]
    text_room = max((text_width(t, LABEL_SIZE) for t in ends), default=30) + 12
    left, right = label_room + 4, width - text_room - 4
    values = [
        v for b in bars for v in (b.value, b.low, b.high) if v is not None and math.isfinite(v)
    ]
    axis = x_axis_in(
        min([0.0, *values]), max([0.0, *values]), left, right, width, fixed=fixed_ticks
    )
    right = axis.end
    headed = sum(1 for g in groups if g.label)
    plot_top = TOP
    bottom = plot_top + ROW * len(bars) + GROUP_ROW * headed + 4
    canvas = Canvas(width, bottom + 44, title)
    canvas.title_line()
    draw_x_axis(canvas, axis, plot_top, bottom)
    zero = axis(min(max(0.0, axis.ticks[0]), axis.ticks[-1]))
    y = plot_top
    index = 0
    for group in groups:
        if group.label:
            canvas.text(4, y + 14, fit_text(group.label, LABEL_SIZE, width - 8), bold=True)
            y += GROUP_ROW
        for position, bar in enumerate(group.bars):
            color = bar.color or PALETTE[position % len(PALETTE)]
            _draw_bar(canvas, bar, texts[index], color, axis, y, zero)
            canvas.text(left - 8, y + 15, fit_text(bar.label, LABEL_SIZE, left - 12), anchor="end")
            y += ROW
            index += 1
    canvas.line(zero, plot_top, zero, bottom, MUTED)
    canvas.centered((left + right) / 2, bottom + 37, axis_label)
    return canvas.render()


def _value_text(bar: Bar, digits: int) -> str:
    if not math.isfinite(bar.value):
        return bar.text or "not measured"
    return bar.text or number_text(bar.value, digits)


def _draw_bar(
    canvas: Canvas, bar: Bar, text: str, color: str, axis: Axis, y: float, zero: float
) -> None:
    if not math.isfinite(bar.value):
        canvas.text(zero + 6, y + 15, text, fill=MUTED)
        return
    x = axis(bar.value)
    canvas.rect(min(x, zero), y + 4, abs(x - zero), 14, color)
    end = max(x, zero)
    if bar.low is not None and bar.high is not None and math.isfinite(bar.low):
        lo, hi = axis(bar.low), axis(bar.high)
        canvas.path(
            f"M{lo:.1f} {y + 11}H{hi:.1f}M{lo:.1f} {y + 6}V{y + 16}M{hi:.1f} {y + 6}V{y + 16}",
            INK,
            1.5,
        )
        end = max(end, hi)
    canvas.text(end + 6, y + 15, text)
