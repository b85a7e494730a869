"""The guide's pictures: readable axes, labels laid out apart, differences coloured only when
significant, the Pareto front drawn, and the same SVG files beside report.md as in the HTML."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import pytest
from tests.report.report_fixtures import API, GEMMA, HOSTILE, demo_store, guide_store

from bakeoff.report import charts
from bakeoff.report.blocks import Chart, Figure, Group, Heading, chart_files, slug
from bakeoff.report.html import render_html
from bakeoff.report.markdown import charts_folder, render_markdown
from bakeoff.report.model import ReportModel, build_report
from bakeoff.report.sections import build_sections
from bakeoff.report.svg import Bar, BarGroup, ForestRow, Point, bar_chart, forest_plot
from bakeoff.report.svg import scatter_chart as scatter
from bakeoff.report.svg._axis import decimals, fitted_axis, nice_ticks, number_text
from bakeoff.report.svg._canvas import Box, text_box
from bakeoff.report.write import write_reports
from bakeoff.storage.sqlite import SqliteStore

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    store = guide_store(tmp_path_factory.mktemp("charts") / "guide.db")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="module")
def guide(stored: SqliteStore) -> ReportModel:
    return build_report(stored, "latest", price_per_hour=0.5)


def _svg(text: str) -> ET.Element:
    return ET.fromstring(text)


def _texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in _svg(svg).iter(f"{SVG}text")]


def _label_boxes(svg: str) -> list[tuple[str, Box]]:
    """Every label's box as the layout estimated it (rotated labels left out)."""
    boxes = []
    for element in _svg(svg).iter(f"{SVG}text"):
        if element.get("transform"):
            continue
        text = "".join(element.itertext())
        x, y, size = (float(element.get(k, "0")) for k in ("x", "y", "font-size"))
        boxes.append((text, text_box(x, y, text, size, element.get("text-anchor", "start"))))
    return boxes


# -- axes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.0, 100.0, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]),
        (0.18, 0.24, [0.18, 0.19, 0.2, 0.21, 0.22, 0.23, 0.24]),
        (3999.0, 6300.0, [3500.0, 4000.0, 4500.0, 5000.0, 5500.0, 6000.0, 6500.0]),
        (-72.0, 56.0, [-75.0, -50.0, -25.0, 0.0, 25.0, 50.0, 75.0]),
    ],
)
def test_ticks_are_round_and_cover_the_data(low: float, high: float, expected: list[float]) -> None:
    assert nice_ticks(low, high, 7) == expected


def test_tick_labels_are_numbers_people_read() -> None:
    """Not "6.3e+03": thousands separators, as many decimals as the step needs, a true minus."""
    assert [number_text(t, decimals([3500.0, 4000.0])) for t in (3500.0, 6300.0)] == [
        "3,500",
        "6,300",
    ]
    assert decimals([0.0, 0.25]) == 2
    assert decimals([0.0, 2.5]) == 1
    assert decimals([0.0, 25.0]) == 0
    assert number_text(-0.5, 1, signed=True) == "\u22120.5"
    assert number_text(0.0, 1, signed=True) == "0.0"
    assert number_text(25.0, 0, signed=True) == "+25"


def test_a_narrow_axis_gets_fewer_ticks_so_its_labels_never_touch() -> None:
    wide = fitted_axis(0.0, 1_000_000.0, 0.0, 600.0)
    narrow = fitted_axis(0.0, 1_000_000.0, 0.0, 150.0)
    assert len(narrow.ticks) < len(wide.ticks)
    for axis in (wide, narrow):
        boxes = [text_box(axis(t), 0.0, axis.label(t), 11, "middle") for t in axis.ticks]
        assert not any(a.overlaps(b) for a, b in combinations(boxes, 2))


def test_one_value_still_gets_an_axis() -> None:
    for value in (5.0, 0.0, -3.0):
        ticks = nice_ticks(value, value)
        assert ticks[0] < value < ticks[-1]


# -- charts ----------------------------------------------------------------------------------


def test_scatter_has_real_axes_the_front_and_labels_apart() -> None:
    """Two models close together in one corner of the old chart: now spread over padded axes
    with round ticks, every label clear of the others, the front drawn between them."""
    points = [
        Point("gemma3-270m", 0.2298, 59.3, True),
        Point("api-mini", 0.1909, 51.0, True),
        Point("smollm2-135m-instruct-q8", 0.2290, 58.9, False),
        Point("another-model-close-by", 0.2295, 59.1, False),
    ]
    svg = scatter("quality vs cost", points, "$ per 1M tokens", "quality (%)", legend="front")
    texts = _texts(svg)
    assert not [t for t in texts if re.search(r"\de[+-]\d", t)]  # no exponent notation
    assert {"0.19", "0.20", "0.21", "0.22", "0.23"} <= set(texts)  # ticks between the ends
    assert "$ per 1M tokens" in texts
    boxes = _label_boxes(svg)
    clashes = [(a, b) for (a, x), (b, y) in combinations(boxes, 2) if x.overlaps(y)]
    assert clashes == []
    front = [p for p in _svg(svg).iter(f"{SVG}path") if p.get("stroke-dasharray")]
    assert len(front) == 1  # the Pareto front, from the cheaper model to the better one
    assert "H" in (front[0].get("d") or "")
    assert "V" in (front[0].get("d") or "")


def test_an_axis_end_label_stays_inside_the_chart() -> None:
    """Compute seconds in the tens of thousands: the last tick's label ("50,000"), centred on
    the axis's end, once stuck out of the chart's right edge."""
    points = [Point("gemma3-270m", 46_000.0, 48.5, True), Point("smol", 49_400.0, 52.1, True)]
    svg = scatter("quality vs cost", points, "compute seconds per 1M tokens", "quality (%)")
    assert "50,000" in _texts(svg)
    assert all(box.x0 >= 0 and box.x1 <= 500 for _, box in _label_boxes(svg))


def test_forest_colours_only_significant_differences() -> None:
    rows = [
        ForestRow("needle", 56.7, 32.9, 72.2, "#3465a4", "+56.7 [+32.9, +72.2]"),
        ForestRow("copy", 0.0, -22.4, 22.4, None, "+0.0 [-22.4, +22.4]"),
    ]
    svg = _svg(forest_plot("d", rows, "← B better", "A better →", ["points", "legend"]))
    circles = list(svg.iter(f"{SVG}circle"))
    assert [c.get("fill") for c in circles] == ["#3465a4", "#fff"]
    assert circles[1].get("stroke") not in ("#3465a4", "#cc6633")  # grey, not a model's colour
    zero = [p for p in svg.iter(f"{SVG}path") if p.get("stroke-dasharray")]
    assert len(zero) == 1  # the line at no difference


def test_bars_draw_whiskers_and_say_what_was_not_measured() -> None:
    svg = bar_chart(
        "scores",
        [BarGroup("", (Bar("a", 75.0, 59.8, 85.8), Bar("b", float("nan"), text="unknown")))],
        "score (%)",
        fixed_ticks=(0.0, 50.0, 100.0),
    )
    texts = _texts(svg)
    assert "75.0" in texts
    assert "unknown" in texts
    assert [t for t in ("0", "50", "100") if t in texts] == ["0", "50", "100"]
    assert len(list(_svg(svg).iter(f"{SVG}rect"))) == 1  # no bar for what was not measured


def test_labels_are_escaped_and_cut_to_fit() -> None:
    svg = bar_chart(HOSTILE, [BarGroup(HOSTILE, (Bar(HOSTILE * 3, 1.0),))], HOSTILE)
    assert "<img" not in svg
    root = _svg(svg)  # still well-formed XML
    assert root.get("width") == "500"
    assert all(b.x0 >= -1 and b.x1 <= 501 for _, b in _label_boxes(svg))


# -- the guide's charts ----------------------------------------------------------------------


def test_the_guide_draws_every_kind_of_picture(guide: ReportModel) -> None:
    titles = [chart.title for _, chart in chart_files(build_sections(guide))]
    for expected in (
        "Paired differences, 95% intervals",
        "arithmetic-mc: score per model, 95% intervals",
        "needle: exact_match per model, 95% intervals",
        "prompt processing (tokens/s)",
        "generation (tokens/s)",
        "time to first token (median) (ms)",
        "memory: weights, and weights + KV cache (MiB)",
        "quality vs cost",
        "quality vs latency",
        "bbq by category (acc)",
    ):
        assert expected in titles
    for _, chart in chart_files(build_sections(guide)):
        labels = _label_boxes(chart.svg)
        clashes = [(a, b) for (a, x), (b, y) in combinations(labels, 2) if x.overlaps(y)]
        assert clashes == [], chart.title


def test_the_forest_plot_colours_the_significant_winner(guide: ReportModel) -> None:
    """Needle is the demo's one significant primary difference (Gemma); the tokenizer's cost
    metric is lower-is-better and plotted on its own axis with its sign turned."""
    (figure,) = charts.differences(guide)
    assert isinstance(figure, Figure)
    points, tokens = figure.charts
    colors = charts.model_colors(guide.models)
    filled = [c.get("fill") for c in _svg(points.svg).iter(f"{SVG}circle")]
    assert filled.count(colors[GEMMA]) == 1
    assert filled.count("#fff") == len(filled) - 1
    assert "sign turned where lower is better" in " ".join(_texts(tokens.svg))
    assert [c.get("fill") for c in _svg(tokens.svg).iter(f"{SVG}circle")] == [colors[API]]
    assert f"← {API} better" in _texts(points.svg)


def test_sections_without_data_get_no_chart(tmp_path: Path) -> None:
    store = demo_store(tmp_path / "demo.db")
    try:
        report = build_report(store, "latest")
    finally:
        store.close()
    blocks = build_sections(report)
    for section in ("Multilingual", "Conversation", "Safety"):
        start = next(
            i for i, b in enumerate(blocks) if isinstance(b, Heading) and b.text == section
        )
        end = next(
            i
            for i, b in enumerate(blocks[start + 1 :], start + 1)
            if isinstance(b, Heading) and b.level == 2
        )
        assert not [b for b in blocks[start:end] if isinstance(b, Figure)], section
    empty = dataclasses.replace(report, speed=(), hardware=(), pareto_cost=(), pareto_latency=())
    assert charts.speed(empty) == []
    assert charts.memory(empty) == []
    assert charts.pareto(empty, dollars=False) == []


def test_chart_file_names_are_safe_and_unique() -> None:
    assert slug("../../etc/passwd") == "etc-passwd"
    assert slug("★") == "chart"
    figure = Figure((Chart("a b", "t", "<svg/>"), Chart("a-b", "t", "<svg/>")))
    names = [n for n, _ in chart_files([figure, Group((Figure((Chart("a-b-2", "t", "x"),)),))])]
    assert names == ["a-b.svg", "a-b-2.svg", "a-b-2-2.svg"]


def test_report_md_links_the_svg_files_written_beside_it(
    stored: SqliteStore, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / charts_folder()).mkdir(parents=True)
    stale = out / charts_folder() / "old-chart.svg"
    stale.write_text("<svg/>")
    written = write_reports(stored, "latest", out, ("html", "md"), price_per_hour=0.5)
    assert out / charts_folder() in written
    markdown = (out / "report.md").read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+\.svg)\)", markdown)
    assert len(links) >= 25
    files = sorted(p.relative_to(out).as_posix() for p in (out / charts_folder()).glob("*.svg"))
    assert sorted(links) == files  # every link has its file, every file its link
    assert not stale.exists()
    html = (out / "report.html").read_text(encoding="utf-8")
    for link in links:
        svg = (out / link).read_text(encoding="utf-8")
        root = _svg(svg)  # a standalone, well-formed SVG file
        assert root.tag == f"{SVG}svg"
        assert root.get("font-family")
        assert svg.strip() in html  # the same picture as the HTML's inline one


def test_markdown_without_a_folder_links_nothing(guide: ReportModel) -> None:
    assert "![" not in render_markdown(guide, None)
    assert "](report-charts/" in render_markdown(guide)
    assert render_html(guide).count("<svg") == len(chart_files(build_sections(guide)))
