"""Inline SVG charts (no script, no external resource): readable on screen and on paper.

Bars (scores with intervals), scatter points (Pareto fronts) and lines or steps (the speed lab's
latency CDFs and throughput curves); labels are untrusted text and escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bakeoff.report.text import untrusted_html

PALETTE = ("#3465a4", "#cc6633", "#4e9a06", "#75507b", "#c4a000", "#06989a")


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    low: float | None = None
    high: float | None = None


def bar_chart(title: str, bars: Sequence[Bar], unit: str = "", width: int = 520) -> str:
    """Horizontal bars with optional interval whiskers; NaN values are drawn as 'n/a'."""
    row, left, right = 26, 150, 70
    height = 34 + row * len(bars)
    finite = [v for b in bars for v in (b.value, b.high) if v is not None and math.isfinite(v)]
    top = max(finite) if finite else 1.0
    top = top if top > 0 else 1.0
    scale = (width - left - right) / top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{untrusted_html(title)}">',
        f'<text x="4" y="16" font-size="13" font-weight="bold">{untrusted_html(title)}</text>',
    ]
    for index, bar in enumerate(bars):
        y = 28 + index * row
        color = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" font-size="12" text-anchor="end">'
            f"{untrusted_html(bar.label)}</text>"
        )
        if not math.isfinite(bar.value):
            parts.append(f'<text x="{left}" y="{y + 14}" font-size="12">n/a</text>')
            continue
        bar_width = max(bar.value, 0.0) * scale
        parts.append(
            f'<rect x="{left}" y="{y + 3}" width="{bar_width:.1f}" height="16" fill="{color}"/>'
        )
        if bar.low is not None and bar.high is not None and math.isfinite(bar.low):
            x1, x2 = left + max(bar.low, 0.0) * scale, left + max(bar.high, 0.0) * scale
            parts.append(
                f'<path d="M{x1:.1f} {y + 11}H{x2:.1f}M{x1:.1f} {y + 5}V{y + 17}'
                f'M{x2:.1f} {y + 5}V{y + 17}" stroke="#222" stroke-width="1.5" fill="none"/>'
            )
        end = left + max(bar.high if bar.high is not None else bar.value, bar.value) * scale
        parts.append(
            f'<text x="{end + 6:.1f}" y="{y + 15}" font-size="12">'
            f"{bar.value:.1f}{untrusted_html(unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Point:
    label: str
    x: float
    y: float
    highlight: bool = False


def scatter_chart(
    title: str, points: Sequence[Point], x_label: str, y_label: str, width: int = 520
) -> str:
    """Points with labels; highlighted points (the Pareto front) are filled and joined by a line."""
    height, left, bottom, top, right = 300, 56, 40, 28, 110
    xs = [p.x for p in points if math.isfinite(p.x)] or [0.0, 1.0]
    ys = [p.y for p in points if math.isfinite(p.y)] or [0.0, 1.0]
    x_max = max(xs) * 1.1 or 1.0
    y_max = max(max(ys) * 1.1, 0.01)
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + x / x_max * plot_w

    def sy(y: float) -> float:
        return top + plot_h - y / y_max * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{untrusted_html(title)}">',
        f'<text x="4" y="16" font-size="13" font-weight="bold">{untrusted_html(title)}</text>',
        f'<path d="M{left} {top}V{top + plot_h}H{left + plot_w}" stroke="#444" fill="none"/>',
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 8}" font-size="11" '
        f'text-anchor="middle">{untrusted_html(x_label)}</text>',
        f'<text x="12" y="{top + plot_h / 2:.0f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.0f})">{untrusted_html(y_label)}</text>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{y_max:.2g}</text>',
        f'<text x="{left + plot_w}" y="{top + plot_h + 14}" font-size="10" '
        f'text-anchor="end">{x_max:.3g}</text>',
    ]
    front = sorted((p for p in points if p.highlight), key=lambda p: p.x)
    if len(front) > 1:
        path = "".join(
            f"{'M' if i == 0 else 'L'}{sx(p.x):.1f} {sy(p.y):.1f}" for i, p in enumerate(front)
        )
        parts.append(f'<path d="{path}" stroke="#888" stroke-dasharray="4 3" fill="none"/>')
    for index, point in enumerate(points):
        if not (math.isfinite(point.x) and math.isfinite(point.y)):
            continue
        color = PALETTE[index % len(PALETTE)]
        fill = color if point.highlight else "#fff"
        parts.append(
            f'<circle cx="{sx(point.x):.1f}" cy="{sy(point.y):.1f}" r="6" fill="{fill}" '
            f'stroke="{color}" stroke-width="2"/>'
            f'<text x="{sx(point.x) + 9:.1f}" y="{sy(point.y) + 4:.1f}" font-size="12">'
            f"{untrusted_html(point.label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


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
    width: int = 560,
    height: int = 300,
) -> str:
    """Lines (or steps, for CDFs) with axes labelled at min/max; non-finite points dropped."""
    left, right, top, bottom = 56, 170, 28, 40
    pts = [(x, y) for s in series for x, y in s.points if math.isfinite(x) and math.isfinite(y)]
    x0, x1 = (min(p[0] for p in pts), max(p[0] for p in pts)) if pts else (0.0, 1.0)
    y1 = max((p[1] for p in pts), default=1.0) or 1.0
    x1 = x1 if x1 > x0 else x0 + 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - y / y1 * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{untrusted_html(title)}">',
        f'<text x="4" y="16" font-size="13" font-weight="bold">{untrusted_html(title)}</text>',
        f'<path d="M{left} {top}V{top + plot_h}H{left + plot_w}" stroke="#222" fill="none"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="11" text-anchor="end">{_tick(y1)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="11" text-anchor="end">0</text>',
        f'<text x="{left}" y="{height - 22}" font-size="11">{_tick(x0)}</text>',
        f'<text x="{left + plot_w}" y="{height - 22}" font-size="11" text-anchor="end">'
        f"{_tick(x1)}</text>",
        f'<text x="{left + plot_w / 2}" y="{height - 6}" font-size="11" text-anchor="middle">'
        f"{untrusted_html(x_label)}</text>",
        f'<text x="12" y="{top + plot_h / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2})">{untrusted_html(y_label)}</text>',
    ]
    for index, s in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        points = [(x, y) for x, y in s.points if math.isfinite(x) and math.isfinite(y)]
        if points:
            parts.append(_path(points, sx, sy, color, steps))
        parts.append(
            f'<rect x="{width - right + 10}" y="{top + index * 18}" width="10" height="10" '
            f'fill="{color}"/><text x="{width - right + 24}" y="{top + 9 + index * 18}" '
            f'font-size="11">{untrusted_html(s.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _tick(value: float) -> str:
    """Axis labels people read at a glance: 2,010 rather than 2.01e+03."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


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
