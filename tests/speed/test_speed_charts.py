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
    # Two finite points: one polyline segment, two dots; x spans the plot, y max at the top.
    (path,) = re.findall(r'<path d="(M[0-9.]+ [0-9.]+L[0-9.]+ [0-9.]+)" stroke="#3465a4"', svg)
    assert path == "M56.0 144.0L390.0 28.0"
    assert svg.count("<circle") == 2
    assert ">20</text>" in svg  # y axis top label
    assert ">3</text>" in svg  # x axis right label
