"""Axes people can read: round tick values (1, 2, 2.5 or 5 × a power of ten), written as
numbers ("6,300", "0.25", "+10") rather than "6.3e+03", and no more ticks than their labels
have room for."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bakeoff.report.svg._canvas import GRID, INK, MUTED, TICK_SIZE, Canvas, text_width

_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
MINUS = "\u2212"


def _step(span: float, count: int) -> float:
    raw = span / max(count - 1, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in _STEPS if m * magnitude >= raw * (1 - 1e-9))


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round values from at or below ``low`` to at or above ``high``, about ``count`` of them."""
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = 0.0, 1.0
    if high < low:
        low, high = high, low
    if high - low <= 1e-9 * max(abs(low), abs(high), 1.0):  # one value, or float noise apart
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = _step(high - low, count)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [_clean(i * step) for i in range(first, last + 1)]


def _clean(value: float) -> float:
    """Float noise off a tick (0.30000000000000004 → 0.3, -0.0 → 0.0)."""
    return round(value, 10) + 0.0


def decimals(ticks: Sequence[float]) -> int:
    """Digits after the point that write the step exactly (25 → 0, 2.5 → 1, 0.25 → 2)."""
    if len(ticks) < 2:
        return 0
    step = abs(ticks[1] - ticks[0])
    digits = 0
    while digits < 10 and abs(step * 10**digits - round(step * 10**digits)) > 1e-6:
        digits += 1
    return digits


def number_text(value: float, digits: int, signed: bool = False) -> str:
    """``value`` with thousands separators, a true minus sign and, when ``signed``, a plus."""
    text = f"{abs(value):,.{digits}f}"
    if float(text.replace(",", "")) == 0:
        return text
    if value < 0:
        return MINUS + text
    return "+" + text if signed else text


@dataclass(frozen=True, slots=True)
class Axis:
    """A linear scale from ``ticks[0]`` to ``ticks[-1]`` onto pixels ``start`` to ``end`` (an end
    below the start: a vertical axis, growing upwards)."""

    ticks: tuple[float, ...]
    start: float
    end: float
    digits: int
    signed: bool = False

    def __call__(self, value: float) -> float:
        low, high = self.ticks[0], self.ticks[-1]
        return self.start + (value - low) / (high - low) * (self.end - self.start)

    def label(self, value: float) -> str:
        return number_text(value, self.digits, self.signed)

    def labels(self) -> list[str]:
        return [self.label(t) for t in self.ticks]


def fitted_axis(
    low: float,
    high: float,
    start: float,
    end: float,
    *,
    vertical: bool = False,
    signed: bool = False,
    fixed: tuple[float, ...] = (),
) -> Axis:
    """The most ticks (up to 7) whose labels do not crowd each other along the axis; ``fixed``
    gives the ticks outright (0 to 100 for percentages)."""
    if fixed:
        return Axis(fixed, start, end, decimals(fixed), signed)
    length = abs(end - start)
    for count in (7, 6, 5, 4, 3, 2):
        ticks = nice_ticks(low, high, count)
        axis = Axis(tuple(ticks), start, end, decimals(ticks), signed)
        spacing = length / max(len(ticks) - 1, 1)
        if vertical:
            needed = TICK_SIZE * 1.6
        else:
            needed = max(text_width(label, TICK_SIZE) for label in axis.labels()) + 10
        if spacing >= needed:
            return axis
    return axis


def x_axis_in(
    low: float,
    high: float,
    left: float,
    right: float,
    width: float,
    *,
    signed: bool = False,
    fixed: tuple[float, ...] = (),
) -> Axis:
    """A horizontal :func:`fitted_axis` whose end tick's label (centred on the tick) stays inside
    a chart ``width`` wide: the axis is shortened by what would stick out."""
    axis = fitted_axis(low, high, left, right, signed=signed, fixed=fixed)
    overhang = text_width(axis.labels()[-1], TICK_SIZE) / 2 + 2 - (width - right)
    if overhang <= 0:
        return axis
    return fitted_axis(low, high, left, right - overhang, signed=signed, fixed=fixed)


def draw_x_axis(canvas: Canvas, axis: Axis, top: float, bottom: float, grid: bool = True) -> None:
    """Ticks, gridlines and labels of a horizontal axis along the plot's ``bottom``."""
    for tick in axis.ticks:
        x = axis(tick)
        if grid:
            canvas.line(x, top, x, bottom, GRID)
        canvas.line(x, bottom, x, bottom + 4, MUTED)
        canvas.text(x, bottom + 18, axis.label(tick), size=TICK_SIZE, anchor="middle", fill=INK)
    canvas.line(axis.start, bottom, axis.end, bottom, MUTED)


def draw_y_axis(canvas: Canvas, axis: Axis, left: float, right: float) -> None:
    """Ticks, gridlines and labels of a vertical axis along the plot's ``left``."""
    for tick in axis.ticks:
        y = axis(tick)
        canvas.line(left, y, right, y, GRID)
        canvas.line(left - 4, y, left, y, MUTED)
        canvas.text(left - 7, y + 4, axis.label(tick), size=TICK_SIZE, anchor="end")
    canvas.line(left, axis.start, left, axis.end, MUTED)


def y_labels_width(axis: Axis) -> float:
    return max(text_width(label, TICK_SIZE) for label in axis.labels())
