"""The guide of a stored run with reasoning models: one scripted OpenAI-compatible server plays
a reasoning model at two efforts (low: 50 reasoning tokens and a wrong answer when the first
operand is odd; high: 1,500 and always right), run through the real runner with an override price;
the guide's Reasoning section must show the figures in Markdown, HTML and JSON, computed from
the stored results. A run without reasoning shows no such section (the byte snapshots in
tests/report/snapshots hold that for the other guides)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.helpers_reasoning import openai_stream
from tests.helpers_servers import SseReply, SseScript, serving

from bakeoff.core.model import ModelSpec
from bakeoff.pricing.catalog import PriceCatalog
from bakeoff.report.html import render_html
from bakeoff.report.json_out import render_json
from bakeoff.report.markdown import render_markdown
from bakeoff.report.model.build import build_report
from bakeoff.report.model.view import ReportModel
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import RunOptions, execute_plan
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.probes import ArithmeticProbe

pytest.importorskip("openai")
N = 8
PROMPT_TOKENS = 40
PRICE_IN, PRICE_OUT = 2.0, 8.0
THINKING = {"low": 50, "high": 1500}


def reasoning_model(body: dict[str, Any]) -> SseReply:
    question = re.findall(r"What is (\d+) ([-+*]) (\d+)\?", body["messages"][-1]["content"])[-1]
    a, op, b = int(question[0]), question[1], int(question[2])
    value = a + b if op == "+" else a - b if op == "-" else a * b
    effort = body["reasoning_effort"]
    wrong = effort == "low" and a % 2 == 1  # too little thought: odd first operands go wrong
    usage = {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": THINKING[effort] + 2,
        "total_tokens": PROMPT_TOKENS + THINKING[effort] + 2,
        "completion_tokens_details": {"reasoning_tokens": THINKING[effort]},
    }
    return openai_stream([], [f" {value + 1 if wrong else value}"], usage, "reasoning")


@pytest.fixture(scope="module")
def report(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ReportModel, dict[str, int]]]:
    with serving(SseScript(answer=reasoning_model)) as server:
        specs = tuple(
            ModelSpec.parse(f"{e}=openai:o-mini,base_url={server.base_url},reasoning_effort={e}")
            for e in THINKING
        )
        task = ArithmeticProbe("", {"n": str(N)})
        plan = make_plan(RunConfig(models=specs), tasks=[task])
        prices = dict.fromkeys(THINKING, (PRICE_IN, PRICE_OUT))
        catalog = PriceCatalog({}, {}, "none", prices, "test prices")
        store = SqliteStore(tmp_path_factory.mktemp("run") / "b.db")
        try:
            assert execute_plan(plan, store, options=RunOptions(prices=catalog)).failed == 0
            odd = sum(int(str(s.input).split()[0]) % 2 for s in plan.samples[task.name])
            yield build_report(store, plan.run_id), {"odd": odd}
        finally:
            store.close()


def _expected_cost_share(effort: str) -> float:
    thinking = THINKING[effort]
    answer_cost = PROMPT_TOKENS * PRICE_IN + (thinking + 2) * PRICE_OUT
    return thinking * PRICE_OUT / answer_cost


def test_the_markdown_guide_shows_the_reasoning_figures(
    report: tuple[ReportModel, dict[str, int]],
) -> None:
    model, counts = report
    text = render_markdown(model)
    section = text.split("## Reasoning", 1)[1].split("\n## ", 1)[0]
    low = next(line for line in section.splitlines() if line.startswith("| low "))
    high = next(line for line in section.splitlines() if line.startswith("| high "))
    assert "| reasoning_effort=low | 8 | 50.0 / 50 | 96.2% |" in low  # 50 of 52 output tokens
    assert f"| {100 * _expected_cost_share('low'):.1f}% ($" in low
    assert "| 1,500.0 / 1,500 | 99.9% |" in high
    assert f"| {100 * _expected_cost_share('high'):.1f}% ($" in high
    # Accuracy against reasoning tokens: the low effort's band loses the odd answers.
    accuracy_low = 100 * (N - counts["odd"]) / N
    assert 0 < accuracy_low < 100  # the samples do tell the two efforts apart
    assert f"| low | 1-99 | {N} | {accuracy_low:.1f}% |" in section
    assert f"| high | 1,000-9,999 | {N} | 100.0% |" in section


def test_the_html_and_json_guides_show_the_same_figures(
    report: tuple[ReportModel, dict[str, int]],
) -> None:
    model, counts = report
    html = render_html(model)
    assert ">Reasoning</h2>" in html
    assert "Accuracy against reasoning tokens" in html
    assert "1,500.0 / 1,500" in html
    data = json.loads(render_json(model))
    rows = {row["model"]: row for row in data["reasoning"]["rows"]}
    assert rows["high"]["mean_per_answer"] == 1500
    assert rows["low"]["reasoning_tokens"] == 50 * N
    assert rows["high"]["cost_share"] == pytest.approx(_expected_cost_share("high"))
    assert rows["low"]["reasoning_usd"] == pytest.approx(50 * N * PRICE_OUT / 1e6)
    (band,) = rows["low"]["bands"]
    assert (band["low"], band["high"], band["n"], band["correct"]) == (1, 99, N, N - counts["odd"])
    assert rows["high"]["first_answer_seconds"] is not None
