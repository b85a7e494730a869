"""Output tokens counted as stream chunks (``output_tokens_estimated``) are never shown as
measured: every speed and cost figure computed from them carries "~" and a footnote in Markdown
and HTML, and the JSON guide says so per model (and per task for cost).

Figures come from report_fixtures: 140 samples per model, 4 output tokens each of which 3 are
generated after the first (timed apart), 0.02 s of generation each: 420 tokens in 2.8 s."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from tests.report.report_fixtures import GEMMA, SMOL, demo_store

from bakeoff.report.html import render_html
from bakeoff.report.json_out import render_json
from bakeoff.report.markdown import render_markdown
from bakeoff.report.marks import ESTIMATE_MARK, ESTIMATE_NOTE
from bakeoff.report.model import ReportModel, build_report
from bakeoff.report.model.cost import cost_row

NOTE = f"{ESTIMATE_MARK} {ESTIMATE_NOTE}"
# Summary, speed, cost, use-case criteria: each table with a marked figure has its footnote.
MARKED_TABLES = 4


def _report(path: Path, estimated: set[tuple[str, str, int]]) -> ReportModel:
    store = demo_store(path, estimated=estimated)
    try:
        return build_report(store, "latest", price_per_hour=0.5)
    finally:
        store.close()


@pytest.fixture
def estimated(tmp_path: Path) -> ReportModel:
    """One of smollm2's 140 results has stream-chunk output tokens."""
    return _report(tmp_path / "estimated.db", {(SMOL, "arithmetic", 3)})


@pytest.fixture
def measured(tmp_path: Path) -> ReportModel:
    return _report(tmp_path / "measured.db", set())


def _line(text: str, start: str) -> str:
    lines = [line for line in text.splitlines() if line.startswith(start)]
    assert len(lines) == 1, (start, lines)
    return lines[0]


def test_markdown_marks_the_model_with_an_estimated_record(estimated: ReportModel) -> None:
    text = render_markdown(estimated)
    # Speed table: the generation rate and the generated-token count; the prompt side is measured.
    assert _line(text, f"| {SMOL} | 384.6 |") == (
        f"| {SMOL} | 384.6 | ~150.0 | 5,600 in 14.6 s | ~420 in 2.8 s |"
    )
    assert _line(text, f"| {GEMMA} | 756.8 |") == (
        f"| {GEMMA} | 756.8 | 150.0 | 5,600 in 7.4 s | 420 in 2.8 s |"
    )
    # Cost table (self-hosting price): generated tokens, per 1M generated, per 1M of the mix.
    assert _line(text, f"| {SMOL} | hardware price |") == (
        f"| {SMOL} | hardware price | 5,600 | ~420 | 17.4 | $0.3611 | ~$0.9259 | ~$0.3914 |"
    )
    assert ESTIMATE_MARK not in _line(text, f"| {GEMMA} | hardware price |")
    # The summary and the use-case criteria show the same figures, marked there too.
    assert _line(text, "| generation speed |") == (
        "| generation speed | after the first token | 150.0 tok/s | ~150.0 tok/s |"
    )
    assert _line(text, "| speed |") == "| speed | 150.0 tok/s | ~150.0 tok/s |"
    assert _line(text, "| cost | this run") == (
        "| cost | this run's token mix | $0.2300 per 1M tokens | ~$0.3914 per 1M tokens |"
    )
    notes = [line for line in text.splitlines() if line.startswith(NOTE)]
    assert (
        notes
        == [f"{NOTE} (`tokenizer=server|PATH.gguf` on an openai model). Marked: {SMOL}."]
        * MARKED_TABLES
    )


def test_html_marks_the_same_cells(estimated: ReportModel) -> None:
    html = render_html(estimated)
    assert '<td class="num">~150.0</td>' in html
    assert '<td class="num">~420 in 2.8 s</td>' in html
    assert '<td class="num">~420</td><td class="num">17.4</td>' in html
    assert "<td>~150.0 tok/s</td>" in html  # summary
    assert '<td class="num">~150.0 tok/s</td>' in html  # use-case criteria
    assert html.count(f'<p class="muted">{NOTE} (<code>tokenizer=server|PATH.gguf</code>') == (
        MARKED_TABLES
    )


def test_json_carries_the_flags(estimated: ReportModel) -> None:
    data: dict[str, Any] = json.loads(render_json(estimated))
    major, minor = (int(part) for part in data["schema_version"].split("."))
    assert (major, minor) >= (2, 3)  # the flags came with 2.3
    assert {s["model"]: s["output_tokens_estimated"] for s in data["speed"]} == {
        GEMMA: False,
        SMOL: True,
    }
    assert {c["model"]: c["output_tokens_estimated"] for c in data["cost"]} == {
        GEMMA: False,
        SMOL: True,
    }
    smol = next(c for c in data["cost"] if c["model"] == SMOL)
    assert {t["task"]: t["output_tokens_estimated"] for t in smol["tasks"]} == {
        "arithmetic-mc": False,
        "arithmetic": True,
        "needle": False,
        "copy": False,
    }


def test_api_priced_dollars_are_marked_where_the_tokens_are(
    estimated: ReportModel, tmp_path: Path
) -> None:
    """At an API price the dollars come from the tokens: the task's dollars are marked, its price
    per 1M generated tokens (the price list's) is not; other tasks stay unmarked."""
    store = demo_store(tmp_path / "api.db", estimated={(SMOL, "arithmetic", 3)})
    try:
        results = list(store.iter_results(estimated.run.run_id))
    finally:
        store.close()
    prices = {"price_input_per_1m": 1.0, "price_output_per_1m": 4.0}
    order = [t.name for t in estimated.run.tasks]
    report = dataclasses.replace(
        estimated,
        cost=tuple(cost_row(m, prices, results, None, order) for m in estimated.models),
    )
    text = render_markdown(report)
    assert _line(text, f"| {SMOL} | API price |") == (
        f"| {SMOL} | API price | 5,600 | ~420 | 17.4 | $1.0000 | $4.0000 | ~$1.2727 |"
    )
    assert _line(text, f"| {SMOL} | arithmetic |") == (
        f"| {SMOL} | arithmetic | 5.0 | 20 | ~$0.0022 | ~$0.1120 |"
    )
    assert _line(text, f"| {SMOL} | copy |") == f"| {SMOL} | copy | 3.7 | 24 | $0.0017 | $0.0700 |"
    assert ESTIMATE_MARK not in _line(text, f"| {GEMMA} | arithmetic |")


def test_a_run_without_estimates_has_no_mark(measured: ReportModel) -> None:
    text = render_markdown(measured)
    assert ESTIMATE_MARK not in text
    assert _line(text, f"| {SMOL} | 384.6 |") == (
        f"| {SMOL} | 384.6 | 150.0 | 5,600 in 14.6 s | 420 in 2.8 s |"
    )
    html = render_html(measured)
    assert ESTIMATE_NOTE not in html
    assert '<td class="num">150.0</td>' in html
    data: dict[str, Any] = json.loads(render_json(measured))
    assert [s["output_tokens_estimated"] for s in data["speed"]] == [False, False]
    assert [c["output_tokens_estimated"] for c in data["cost"]] == [False, False]


def test_profiles_that_weigh_an_estimated_figure_say_so(
    estimated: ReportModel, measured: ReportModel
) -> None:
    text = render_markdown(estimated)
    # "accuracy first" weighs speed and cost; "latency / edge" weighs neither.
    accuracy = _line(text, "- “accuracy first”")
    assert accuracy.endswith(
        f"; {ESTIMATE_MARK} speed and cost of {SMOL} from estimated output tokens."
    )
    assert ESTIMATE_MARK not in _line(text, "- “latency / edge”")
    assert f"{ESTIMATE_MARK} speed" not in render_markdown(measured)
