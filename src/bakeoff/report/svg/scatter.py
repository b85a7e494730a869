"""Quality against a cost (dollars, seconds) with real axes: padded ranges so the points do not
pile into a corner, round ticks, units on the axes, labels that never overlap, and the Pareto
front (no other model both cheaper and better) drawn as a step line."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from bakeoff.report.svg._axis import (
    draw_x_axis,
    draw_y_axis,
    fitted_axis,
    x_axis_in,
    y_labels_width,
)
from bakeoff.report.svg._canvas import (
    LABEL_SIZE,
    MUTED,
    PALETTE,
    TICK_SIZE,
    Box,
    Canvas,
    fit_text,
)
from bakeoff.report.svg._labels import place_labels

HEIGHT, TOP, RADIUS = 330.0, 30.0, 6.0


@dataclass(frozen=True, slots=True)
class Point:
    label: str
    x: float
    y: float
    highlight: bool = False
    """On the Pareto front: drawn filled and joined to the front's other points."""
    color: str = ""


def _padded(values: Sequence[float]) -> tuple[float, float]:
    """The values' range with a margin of 12% each side (10% of the value for a single one)."""
    low, high = min(values), max(values)
    pad = (high - low) * 0.12 or abs(low) * 0.1 or 1.0
    return low - pad, high + pad


def scatter_chart(
    title: str,
    points: Sequence[Point],
    x_label: str,
    y_label: str,
    *,
    legend: str = "",
    non_negative: bool = True,
    width: int = 500,
) -> str:
    """Points with labels; ``legend`` is a line under the x axis's name."""
    shown = [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]
    xs, ys = [p.x for p in shown] or [0.0, 1.0], [p.y for p in shown] or [0.0, 1.0]
    (x_low, x_high), (y_low, y_high) = _padded(xs), _padded(ys)
    if non_negative:  # nothing here is below zero: an axis that starts below it only confuses
        x_low, y_low = max(x_low, 0.0), max(y_low, 0.0)
    bottom = HEIGHT - (62 if legend else 46)
    y_axis = fitted_axis(y_low, y_high, bottom, TOP, vertical=True)
    left = 26 + y_labels_width(y_axis) + 10
    right: float = width - 16
    x_axis = x_axis_in(x_low, x_high, left, right, width)
    right = x_axis.end
    canvas = Canvas(width, HEIGHT, title)
    canvas.title_line()
    draw_y_axis(canvas, y_axis, left, right)
    draw_x_axis(canvas, x_axis, TOP, bottom, grid=True)
    canvas.centered((left + right) / 2, bottom + 37, x_label)
    middle = (TOP + bottom) / 2
    canvas.text(
        14,
        middle,
        fit_text(y_label, TICK_SIZE, bottom - TOP),
        size=TICK_SIZE,
        anchor="middle",
        fill=MUTED,
        rotate=True,
    )
    if legend:
        canvas.text(
            4, HEIGHT - 8, fit_text(legend, TICK_SIZE, width - 8), size=TICK_SIZE, fill=MUTED
        )
    front = sorted((p for p in shown if p.highlight), key=lambda p: (p.x, p.y))
    segments: list[Box] = []  # the front's line: labels keep clear of it too
    if len(front) > 1:
        # Cheaper-and-worse to dearer-and-better: along x at the cheaper point's quality, then up.
        steps = f"M{x_axis(front[0].x):.1f} {y_axis(front[0].y):.1f}"
        for before, p in itertools.pairwise(front):
            x0, y0, x1, y1 = x_axis(before.x), y_axis(before.y), x_axis(p.x), y_axis(p.y)
            steps += f"H{x1:.1f}V{y1:.1f}"
            segments += [Box(x0, y0 - 1, x1, y0 + 1), Box(x1 - 1, min(y0, y1), x1 + 1, max(y0, y1))]
        canvas.path(steps, MUTED, 1.5, dashed=True)
    room = (right - left) * 0.45
    at = [(x_axis(p.x), y_axis(p.y), fit_text(p.label, LABEL_SIZE, room)) for p in shown]
    for index, (p, (x, y, _)) in enumerate(zip(shown, at, strict=True)):
        color = p.color or PALETTE[index % len(PALETTE)]
        canvas.circle(x, y, RADIUS, color if p.highlight else "#fff", color)
    bounds = Box(left + 2, TOP, right, bottom - 2)
    for (x, y, label), spot in zip(
        at, place_labels(at, LABEL_SIZE, bounds, RADIUS, segments), strict=True
    ):
        if spot.leader:
            canvas.line(x, y, spot.x, spot.y - LABEL_SIZE * 0.33, MUTED, 0.8)
        canvas.text(spot.x, spot.y, label, anchor=spot.anchor)
    return canvas.render()
