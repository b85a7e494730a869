"""The speed section's SVG charts: CDF points, escaping, undefined values left out."""

from __future__ import annotations

import math
import re

import pytest

from bakeoff.report.svg import Series, cdf_points, line_chart


def test_cdf_points_are_sorted_fractions_without_nan() -> None:
    assert cdf_points([3.0, math.nan, 1.0, 2.0]) == [
        (1.0, pytest.approx(1 / 3)),
        (2.0, pytest.approx(2 / 3)),
        (3.0, 1.0),
    ]
    assert cdf_points([]) == []


def test_line_chart_scales_points_escapes_labels_and_skips_nan() -> None:
    svg = line_chart(
        "t<i>tle",
        [Series("<script>", [(1.0, 10.0), (2.0, math.nan), (3.0, 20.0)]), Series("empty", [])],
        "x",
        "y",
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "t&lt;i&gt;tle" in svg
    # Two finite points: one polyline segment, two dots, each where its axes' ticks say.
    segment = r'<path d="M([0-9.]+) ([0-9.]+)L([0-9.]+) ([0-9.]+)" stroke="#3465a4"'
    (path,) = re.findall(segment, svg)
    x1, y1, x2, y2 = map(float, path)
    assert svg.count("<circle") == 2
    y_ticks = {
        label: float(y) - 4  # a y label's baseline sits 4 px below its tick line
        for y, label in re.findall(
            r'<text x="[0-9.]+" y="([0-9.]+)" [^>]*text-anchor="end">([^<]+)<', svg
        )
    }
    x_ticks = {
        label: float(x)
        for x, label in re.findall(
            r'<text x="([0-9.]+)" y="[0-9.]+" [^>]*text-anchor="middle">([0-9.]+)<', svg
        )
    }
    assert (y1, y2) == (y_ticks["10"], y_ticks["20"])  # y=10 and y=20 (the max) on their ticks
    assert (x1, x2) == (x_ticks["1.0"], x_ticks["3.0"])  # x spans the plot, first to last tick
    assert y2 < y1  # larger y is higher up
