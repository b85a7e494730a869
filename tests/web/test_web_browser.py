"""Headless Chromium drives ``bakeoff serve``: runs → comparison → paged samples.

Needs Debian's ``chromium`` and Playwright's Python package (``pip install playwright``; its
bundled browsers are not used). Skipped cleanly when either is missing.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.report.report_fixtures import demo_store, guide_store

from bakeoff.report.write import write_reports

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach Google's services, which
# is slow on a machine without network. Playwright gives each launch a fresh profile directory.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
A4_WIDTH = 703  # CSS pixels at 96 dpi: 210 mm less the 12 mm margins of the print stylesheet


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and raw RGB(A) rows of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks += body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    assert color in (2, 6)
    channels = 3 if color == 2 else 4
    raw, stride, rows = zlib.decompress(chunks), width * channels, []
    previous = bytes(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (
                    line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)
                ) & 255
        rows.append(bytes(line))
        previous = bytes(line)
    return width, height, [bytes(r[i] for i in range(len(r)) if i % channels < 3) for r in rows]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    db = tmp_path / "demo.db"
    demo_store(db).close()
    process = subprocess.Popen(
        [sys.executable, "-m", "bakeoff.cli.main", "serve", "--db", str(db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        yield match.group(0)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_browser_walks_runs_comparison_samples(served: str, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(served + "/")
    assert "demo-fixed" in page.inner_text("#runs")
    page.click("#runs a")
    table = page.locator("#comparison")
    table.wait_for()
    assert "66.7" in table.inner_text()
    assert "10.0" in table.inner_text()
    needle_row = table.locator("tr:has-text('needle')").inner_text()
    assert "gemma3-270m better" in needle_row  # the paired verdict, Holm-adjusted
    # The stylesheet is same-origin: the CSP lets it apply (header cells get a fill).
    fill = page.eval_on_selector("#comparison th", "e => getComputedStyle(e).backgroundColor")
    assert fill == "rgb(238, 241, 245)"
    shot = table.screenshot(path=str(tmp_path / "comparison.png"))
    box = table.bounding_box()
    assert box is not None
    assert box["width"] > 400
    assert box["height"] > 100
    width, height, rows = _png_pixels(shot)
    assert abs(width - box["width"]) <= 2
    assert abs(height - box["height"]) <= 2  # a fractional top edge rounds either way
    header_fill = bytes((238, 241, 245))
    assert sum(row.count(header_fill) for row in rows[: height // 6]) > width  # header
    dark = sum(1 for row in rows for i in range(0, len(row), 3) if row[i] < 90)
    assert dark > 500  # text drawn in the table
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)

    page.click("#comparison tr:has-text('arithmetic-mc') >> text=all samples")
    page.goto(page.url.replace("arithmetic-mc", "arithmetic"))
    page.locator("#samples").wait_for()
    assert page.locator("#samples tbody tr").count() == 25
    assert 'onerror="document.title' in page.inner_text("#samples")  # shown as text
    assert page.title() != "pwned"
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.locator("#samples img").count() == 0
    page.click("a[rel=next]")
    page.locator("#samples").wait_for()
    assert page.inner_text("#samples tbody tr:first-child td:nth-child(2)") == ("arith-0025")
    page.check("input[name=disagree]")
    page.select_option("select[name=task]", "needle")
    page.click("button[type=submit]")
    page.locator("#samples").wait_for()
    assert "disagree=1" in page.url
    assert not [m for m in console if "Content Security Policy" in m], console


def test_browser_guide_is_inert_and_prints_within_the_page(
    served: str, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(served + "/run/fedcba9876543210/guide")
    assert requests == [served + "/run/fedcba9876543210/guide"]  # self-contained: one fetch
    assert page.locator("h2").first.inner_text() == "Summary"
    assert page.locator("svg").count() >= 4  # the charts are drawn (inline SVG)
    # The hostile output is shown as text in "Where the models disagree", never run.
    assert "onerror=" in page.inner_text("body")
    assert page.locator("img").count() == 0
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.title() != "pwned"
    page.screenshot(path=str(tmp_path / "guide.png"))
    # Printed on A4, nothing sticks out of the page: wide tables shrink and wrap.
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_WIDTH, "height": 1123})
    overflowing = page.evaluate(
        "w => [...document.querySelectorAll('table, svg, pre')]"
        ".filter(e => e.getBoundingClientRect().right > w + 1)"
        ".map(e => e.outerHTML.slice(0, 80))",
        A4_WIDTH,
    )
    assert overflowing == []
    page.screenshot(path=str(tmp_path / "guide-print.png"), full_page=True)
    assert page.pdf(format="A4")[:5] == b"%PDF-"


# Per chart: a label drawn outside its chart, or two labels whose boxes (as Chromium lays the
# text out, in page pixels) overlap by more than half a pixel.
LABEL_CLASHES = """() => {
  const found = [];
  for (const [index, svg] of [...document.querySelectorAll('svg')].entries()) {
    const chart = svg.getBoundingClientRect();
    const boxes = [...svg.querySelectorAll('text')]
      .map(t => [t.textContent, t.getBoundingClientRect()]);
    for (const [text, b] of boxes) {
      if (b.left < chart.left - 1 || b.right > chart.right + 1
          || b.top < chart.top - 1 || b.bottom > chart.bottom + 1) {
        found.push(`chart ${index}: "${text}" outside the chart`);
      }
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [ta, a] = boxes[i], [tb, b] = boxes[j];
        if (a.left < b.right - .5 && b.left < a.right - .5
            && a.top < b.bottom - .5 && b.top < a.bottom - .5) {
          found.push(`chart ${index}: "${ta}" overlaps "${tb}"`);
        }
      }
    }
  }
  return found;
}"""
HIDDEN_CHARTS = """w => [...document.querySelectorAll('svg')].filter(svg => {
  const box = svg.getBoundingClientRect(), style = getComputedStyle(svg);
  return box.width < 100 || box.height < 50 || box.left < -0.5 || box.right > w + 0.5
    || style.display === 'none' || style.visibility !== 'visible';
}).map(svg => svg.getAttribute('aria-label'))"""


def test_guide_charts_are_visible_and_legible_on_desktop_and_phone(
    browser: Any, tmp_path: Path
) -> None:
    """The guide of a run with every section filled, as ``bakeoff report`` writes it, at a
    desktop and a phone width: every chart shown whole, no two labels of a chart overlapping,
    and at 375 px the page itself never scrolls sideways (wide tables scroll in their box).
    The screenshots (guide-1280.png, guide-375.png) are left in the test's tmp folder."""
    store = guide_store(tmp_path / "guide.db")
    try:
        write_reports(store, "latest", tmp_path / "out", ("html",), price_per_hour=0.5)
    finally:
        store.close()
    guide = (tmp_path / "out" / "report.html").as_uri()
    requests: list[str] = []
    for width in (1280, 375):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(guide)
        assert requests == [guide] * (1 + (width == 375))  # inline charts: nothing else fetched
        titles = page.eval_on_selector_all("svg", "s => s.map(e => e.getAttribute('aria-label'))")
        for expected in (
            "Paired differences, 95% intervals",
            "needle: exact_match per model, 95% intervals",
            "generation (tokens/s)",
            "time to first token (median) (ms)",
            "memory: weights, and weights + KV cache (MiB)",
            "quality vs cost",
            "quality vs latency",
        ):
            assert expected in titles
        assert page.evaluate(HIDDEN_CHARTS, width) == [], width
        assert page.evaluate(LABEL_CLASHES) == [], width
        scroll = page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
        assert scroll[0] <= scroll[1], f"the page scrolls sideways at {width} px: {scroll}"
        page.screenshot(path=str(tmp_path / f"guide-{width}.png"), full_page=True)
        assert (tmp_path / f"guide-{width}.png").stat().st_size > 10_000
        page.close()
