"""Lines (or steps, for CDFs) on ticked axes, with a legend beside the plot: the speed lab's
latency distributions and throughput curves."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bakeoff.report.svg._axis import (
    draw_x_axis,
    draw_y_axis,
    fitted_axis,
    x_axis_in,
    y_labels_width,
)
from bakeoff.report.svg._canvas import (
    MUTED,
    PALETTE,
    TICK_SIZE,
    Canvas,
    fit_text,
    text_width,
)

TOP, LEGEND_ROW = 30.0, 18.0


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    points: list[tuple[float, float]]


def line_chart(
    title: str,
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    steps: bool = False,
    width: int = 540,
    height: int = 300,
) -> str:
    """Lines on axes from the data's x range and from 0 up; non-finite points dropped."""
    kept = [[(x, y) for x, y in s.points if math.isfinite(x) and math.isfinite(y)] for s in series]
    pts = [p for points in kept for p in points]
    x0, x1 = (min(p[0] for p in pts), max(p[0] for p in pts)) if pts else (0.0, 1.0)
    y1 = max((p[1] for p in pts), default=1.0) or 1.0
    legend_room = min(max((text_width(s.label, TICK_SIZE) for s in series), default=0) + 22, 170)
    bottom = height - 46
    y_axis = fitted_axis(
        min(0.0, *(p[1] for p in pts)) if pts else 0.0, y1, bottom, TOP, vertical=True
    )
    left = 26 + y_labels_width(y_axis) + 10
    right = width - legend_room - 12
    x_axis = x_axis_in(x0, x1, left, right, width - legend_room)
    right = x_axis.end
    canvas = Canvas(width, height, title)
    canvas.title_line()
    draw_y_axis(canvas, y_axis, left, right)
    draw_x_axis(canvas, x_axis, TOP, bottom)
    canvas.centered((left + right) / 2, bottom + 37, x_label)
    canvas.text(
        14,
        (TOP + bottom) / 2,
        fit_text(y_label, TICK_SIZE, bottom - TOP),
        size=TICK_SIZE,
        anchor="middle",
        fill=MUTED,
        rotate=True,
    )
    fits = int((bottom - TOP) // LEGEND_ROW)
    for index, (s, points) in enumerate(zip(series, kept, strict=True)):
        color = PALETTE[index % len(PALETTE)]
        if points:
            canvas.add(_path(points, x_axis, y_axis, color, steps))
        if index < fits:
            y = TOP + index * LEGEND_ROW
            canvas.rect(right + 12, y, 10, 10, color)
            canvas.text(
                right + 26, y + 9, fit_text(s.label, TICK_SIZE, legend_room - 16), size=TICK_SIZE
            )
    if len(series) > fits:
        canvas.text(
            right + 12,
            TOP + fits * LEGEND_ROW + 9,
            f"+{len(series) - fits} more",
            size=TICK_SIZE,
            fill=MUTED,
        )
    return canvas.render()


def _path(
    points: list[tuple[float, float]],
    sx: Callable[[float], float],
    sy: Callable[[float], float],
    color: str,
    steps: bool,
) -> str:
    d = f"M{sx(points[0][0]):.1f} {sy(points[0][1]):.1f}"
    for x, y in points[1:]:
        d += f"H{sx(x):.1f}V{sy(y):.1f}" if steps else f"L{sx(x):.1f} {sy(y):.1f}"
    dots = ""
    if not steps:  # a step CDF has one vertex per request: dots would only clutter it
        dots = "".join(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{color}"/>' for x, y in points
        )
    return f'<path d="{d}" stroke="{color}" stroke-width="2" fill="none"/>{dots}'


def cdf_points(values: Iterable[float]) -> list[tuple[float, float]]:
    xs = sorted(v for v in values if math.isfinite(v))
    return [(x, (i + 1) / len(xs)) for i, x in enumerate(xs)]
