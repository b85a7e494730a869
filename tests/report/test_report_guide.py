"""The guide's sections and figures on a fixed demo-shaped run, checked by hand computation."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from html import escape as html_escape
from pathlib import Path

import pytest
from tests.helpers import report_and_close, run_cli
from tests.report.report_fixtures import GEMMA, INFO, OUTCOMES, SMOL, demo_store

from bakeoff.core.errors import ConfigError
from bakeoff.report.html import render_html
from bakeoff.report.json_out import SCHEMA_VERSION, render_json
from bakeoff.report.markdown import render_markdown
from bakeoff.report.model import ReportModel, build_report
from bakeoff.report.model.profiles import load_weights, pareto
from bakeoff.stats import minimum_detectable_difference, samples_needed
from bakeoff.storage.sqlite import SqliteStore

SECTIONS = [
    "Summary",
    "Specs and architecture",
    "Hardware and memory",
    "Benchmarks",
    "Multilingual",
    "Speed and efficiency",
    "Conversation",
    "Safety",
    "Cost",
    "Use cases",
    "Where the models disagree",
    "Methodology and reproducibility",
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = demo_store(tmp_path / "demo.db")
    yield store
    store.close()


@pytest.fixture
def report(store: SqliteStore) -> ReportModel:
    return build_report(store, "latest", price_per_hour=0.5)


def test_sections_in_order_and_empty_ones_say_how(report: ReportModel) -> None:
    text = render_markdown(report)
    assert re.findall(r"^## (.+)$", text, flags=re.M) == SECTIONS
    for section in ("Multilingual", "Conversation", "Safety"):
        body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
        assert "No data stored for this section" in body
        assert "`bakeoff run" in body


def test_family_tasks_fill_their_sections(tmp_path: Path) -> None:
    store = demo_store(tmp_path / "f.db", families={"copy": "safety", "needle": "conversation"})
    try:
        text = render_markdown(build_report(store, "latest"))
    finally:
        store.close()
    safety = text.split("## Safety\n", 1)[1].split("\n## ", 1)[0]
    conversation = text.split("## Conversation\n", 1)[1].split("\n## ", 1)[0]
    assert "### copy" in safety
    assert "No data stored" not in safety
    assert "### needle" in conversation
    assert "needle by depth" in conversation
    assert "no chat template" not in conversation  # the fixture's models do not say
    assert "### copy" not in text.split("## Benchmarks\n", 1)[1].split("\n## ", 1)[0]


def _chat_probe_store(path: Path, gemma_extra: dict[str, object]) -> SqliteStore:
    """needle as a conversation task, copy as XSTest (a safety task whose samples carry the chat
    caveat), arithmetic left a plain benchmark; the models' prompting as the backend records it."""
    store = demo_store(
        path,
        families={"needle": "conversation", "copy": "safety"},
        metadata={"copy": {"base_model_caveat": "chat probe", "redact": True}},
    )
    store.record_model_info("fedcba9876543210", GEMMA, {**INFO[GEMMA], "extra": gemma_extra})
    store.record_model_info(
        "fedcba9876543210",
        SMOL,
        {**INFO[SMOL], "has_chat_template": True, "extra": {"chat_format": "template"}},
    )
    return store


def _cells(markdown: str, task: str) -> dict[str, str]:
    """The model columns of the Summary row of ``task``."""
    summary = markdown.split("## Summary\n", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in summary.splitlines() if line.startswith(f"| {task} |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    return {GEMMA: cells[2], SMOL: cells[3]}


def test_transcript_prompted_chat_results_are_marked_in_every_format(tmp_path: Path) -> None:
    from bakeoff.report.model.chat_probe import (
        TRANSCRIPT_MARK,
        TRANSCRIPT_NOTE,
        transcript_chat_result,
    )

    report = report_and_close(_chat_probe_store(tmp_path / "c.db", {"chat_format": "transcript"}))
    tasks = {t.name: t for t in report.tasks}
    for name in ("needle", "copy"):
        assert transcript_chat_result(tasks[name], GEMMA)
        assert not transcript_chat_result(tasks[name], SMOL)
    for name in ("arithmetic", "arithmetic-mc"):  # not chat probes: never marked
        assert not transcript_chat_result(tasks[name], GEMMA)
    text = render_markdown(report)
    for name in ("needle", "copy"):
        cells = _cells(text, name)
        assert cells[GEMMA].endswith(f" {TRANSCRIPT_MARK}")
        assert TRANSCRIPT_MARK not in cells[SMOL]
    assert TRANSCRIPT_MARK not in "".join(_cells(text, "arithmetic").values())
    assert f"{TRANSCRIPT_MARK} {TRANSCRIPT_NOTE}. Marked: needle: {GEMMA}; copy: {GEMMA}." in text
    for section, task in (("Conversation", "needle"), ("Safety", "copy")):
        body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
        assert f"{GEMMA} was prompted for these chat probes through a plain" in body
        score_row = next(
            line
            for line in body.split(f"### {task}", 1)[1].splitlines()
            if line.startswith("| ")
            and not line.startswith("| metric")
            and not line.startswith("| -")
        )
        gemma_cell, smol_cell = [c.strip() for c in score_row.strip("|").split("|")][1:3]
        assert gemma_cell.endswith(TRANSCRIPT_MARK)
        assert TRANSCRIPT_MARK not in smol_cell
    conversation = text.split("## Conversation\n", 1)[1].split("\n## ", 1)[0]
    depth_rows = conversation.split("needle by depth", 1)[1].split("\n\n", 2)[1]
    rows = [
        line for line in depth_rows.splitlines() if line.startswith("| 0") or line.startswith("| 1")
    ]
    assert rows
    assert all(row.count(TRANSCRIPT_MARK) == 1 for row in rows)  # Gemma's cell, not SmolLM2's
    assert all(row.split("|")[4].strip()[-1] != TRANSCRIPT_MARK for row in rows)
    benchmarks = text.split("## Benchmarks\n", 1)[1].split("\n## ", 1)[0]
    assert TRANSCRIPT_MARK not in benchmarks
    html = render_html(report)
    assert html_escape(f"{TRANSCRIPT_MARK} {TRANSCRIPT_NOTE}") in html
    assert html.count(TRANSCRIPT_MARK) >= text.count(TRANSCRIPT_MARK)
    data = json.loads(render_json(report))
    marked = {t["name"]: t["transcript_chat"] for t in data["tasks"]}
    assert marked == {"arithmetic-mc": [], "arithmetic": [], "needle": [GEMMA], "copy": [GEMMA]}
    # The profiles include these scores, and the recommendation says so in one line.
    lines = [i for i in data["recommendation_items"] if "Included in the profiles" in i]
    assert lines == [
        f"Included in the profiles: {GEMMA}'s chat-probe scores ({TRANSCRIPT_MARK}, plain "
        "transcript, no chat template), not comparable with a chat model's."
    ]


@pytest.mark.parametrize(
    ("extra", "has_template", "marked"),
    [
        ({"chat_format": "transcript"}, True, True),  # chat=off: a template, not used
        ({"chat_format": "template"}, True, False),
        ({}, False, True),  # the HF backend records no chat_format: no template, transcript
        ({}, None, False),  # the backend does not say: nothing to mark
    ],
)
def test_marks_follow_how_the_model_was_prompted(
    tmp_path: Path, extra: dict[str, object], has_template: bool | None, marked: bool
) -> None:
    store = demo_store(tmp_path / "p.db", families={"needle": "conversation"})
    try:
        info = {**INFO[GEMMA], "has_chat_template": has_template, "extra": extra}
        store.record_model_info("fedcba9876543210", GEMMA, info)
        report = build_report(store, "latest")
    finally:
        store.close()
    needle = next(t for t in report.tasks if t.name == "needle")
    assert needle.transcript_chat == ((GEMMA,) if marked else ())
    conversation = render_markdown(report).split("## Conversation\n", 1)[1]
    assert ("prompted for these chat probes" in conversation.split("\n## ", 1)[0]) is marked


def test_hardware_section_counts_the_sliding_window(report: ReportModel) -> None:
    rows = {row.model: row for row in report.hardware}
    per_layer = 2 * 1 * 256 * 2  # Gemma: K and V × 1 KV head × head dim 256 × f16
    assert rows[GEMMA].kv_bytes[32768] == per_layer * (3 * 32768 + 15 * 1024)
    text = render_markdown(report)
    hardware = text.split("## Hardware and memory\n", 1)[1].split("\n## ", 1)[0]
    gemma_kv = per_layer * (3 * 32768 + 15 * 1024) / 2**20
    assert f"(KV {gemma_kv:,.1f} MiB)" in hardware  # 111.0 MiB, not 576
    assert "15 of 18 layers attend to a 512-token sliding window" in hardware
    assert "576.0 MiB at 32k" in hardware  # the full cache (swa_full) is named too
    assert "n/a: its window is 8,192 tokens" in hardware  # SmolLM2 at 32k: no figure


def _discordance(task: str) -> float:
    n, gemma, smol = OUTCOMES[task]
    return sum(gemma(i) != smol(i) for i in range(n)) / n


def test_power_uses_measured_discordance(report: ReportModel) -> None:
    for task in report.tasks:
        metric = task.primary
        assert metric is not None
        comparison = metric.comparisons[0]
        n = OUTCOMES[task.name][0]
        psi = _discordance(task.name)
        assert comparison.power is not None
        assert comparison.power.discordance == pytest.approx(psi)
        assert comparison.power.mdd == pytest.approx(
            minimum_detectable_difference(n, 0.5, discordance=psi)
        )
        assert comparison.power.samples_for_target == samples_needed(0.02, psi)
    # Independent check of Connor's formula at the arithmetic task's discordance (1.0).
    from scipy.stats import norm

    z_a, z_b = norm.ppf(0.975), norm.ppf(0.8)
    expected = math.ceil((z_a + z_b * math.sqrt(1 - 0.02**2)) ** 2 / 0.02**2)
    arithmetic = next(t for t in report.tasks if t.name == "arithmetic")
    assert arithmetic.primary is not None
    power = arithmetic.primary.comparisons[0].power
    assert power is not None
    assert power.samples_for_target == expected


def test_group_breakdown_by_depth(report: ReportModel) -> None:
    needle = next(t for t in report.tasks if t.name == "needle")
    (group,) = needle.groups
    assert group.key == "depth"
    n, gemma, _ = OUTCOMES["needle"]
    depths = [float(row.value) for row in group.rows]
    assert depths == sorted(depths)
    assert len(depths) == 5
    # Samples cycle through the depths in order, so depth k holds samples i ≡ k (mod 5).
    for k, row in enumerate(group.rows):
        members = [i for i in range(n) if i % 5 == k]
        assert row.n == len(members)
        assert row.scores[GEMMA].estimate == pytest.approx(
            sum(gemma(i) for i in members) / len(members)
        )


def test_unavailable_tasks_are_rows_not_dropped(report: ReportModel) -> None:
    text = render_markdown(report)
    # A real run records the suite's tasks by name (glue-cola, ...), not the suite.
    for name in ("glue-cola", "glue-wnli"):
        assert f"| {name} | — | data not available offline | data not available offline |" in text
    assert "GLUE data not found offline; set BAKEOFF\\_DATA" in text or "BAKEOFF_DATA" in text


def test_cost_from_measured_time_and_price(report: ReportModel) -> None:
    gemma = next(row for row in report.cost if row.model == GEMMA)
    seconds = sum(
        (0.05 + 0.001 * (i % 7)) + 0.02 for n, _, _ in OUTCOMES.values() for i in range(n)
    )
    assert gemma.seconds == pytest.approx(seconds)
    assert gemma.usd_per_1m_tokens == pytest.approx(seconds / 3600 * 0.5 / gemma.tokens * 1e6)
    needle = next(t for t in gemma.tasks if t.task == "needle")
    assert needle.correct == 20
    assert needle.usd_per_correct == pytest.approx(needle.usd / 20)  # type: ignore[operator]


def test_profiles_and_pareto(report: ReportModel) -> None:
    accuracy = next(p for p in report.profiles if p.name == "accuracy first")
    assert accuracy.winner == GEMMA  # more accurate, equally fast, cheaper per token
    assert next(p for p in report.profiles if p.name == "safety").missing == ("safety",)
    assert {p.model: p.on_front for p in report.pareto_latency} == {GEMMA: True, SMOL: False}
    front = pareto({"a": (1.0, 0.5), "b": (2.0, 0.9), "c": (2.0, 0.4), "d": (1.0, 0.5)})
    assert {p.model: p.on_front for p in front} == {"a": True, "b": True, "c": False, "d": True}


def test_weights_file_drives_profiles(store: SqliteStore, tmp_path: Path) -> None:
    weights = tmp_path / "weights.yaml"
    weights.write_text(
        "profiles:\n"
        "  tiny devices: {memory: 1}\n"
        "  balanced: {memory: 1, quality: 1}\n"
        "  mostly small: {memory: 2, quality: 1}\n",
        encoding="utf-8",
    )
    model = build_report(store, "latest", profiles=load_weights(weights))
    tiny, balanced, small = model.profiles
    assert tiny.name == "tiny devices"
    # Swing weights: each criterion runs from 0 (worst model) to 1 (best model).
    assert (tiny.winner, tiny.scores) == (SMOL, {GEMMA: 0.0, SMOL: 1.0})  # the smaller file
    assert balanced.winner is None  # Gemma more accurate (tested), SmolLM2 smaller: a tie
    assert balanced.scores == {GEMMA: 0.5, SMOL: 0.5}
    assert small.winner == SMOL
    assert small.scores[SMOL] == pytest.approx(2 / 3)
    weights.write_text("fast: {speed: -1}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be >= 0"):
        load_weights(weights)
    weights.write_text("fast: {vibes: 1}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown criterion 'vibes'"):
        load_weights(weights)


def test_html_guide_is_inert_and_has_charts(report: ReportModel) -> None:
    html = render_html(report)
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "&lt;img src=x onerror=&quot;document.title=" in html
    assert html.count("<svg") >= 4  # score bars, speed bars, two Pareto charts
    assert "quality vs cost" in html
    assert "quality vs latency" in html


def test_json_is_versioned_and_complete(report: ReportModel) -> None:
    data = json.loads(render_json(report))
    assert data["schema"] == "bakeoff.report"
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["models"] == [GEMMA, SMOL]
    needle = next(t for t in data["tasks"] if t["name"] == "needle")
    assert needle["primary_metric"] == "exact_match"
    comparison = needle["metrics"][0]["comparisons"][0]
    assert comparison["verdict"] == f"{GEMMA} better"
    assert comparison["power"]["discordance"] == pytest.approx(_discordance("needle"))
    assert data["unavailable"][0]["name"] == "glue-cola"
    assert data["recommendation"].startswith("Quality (4 primary comparisons)")
    safety = next(p for p in data["profiles"] if p["name"] == "safety")
    assert safety["winner"] is None
    assert safety["missing"] == ["safety"]


def test_report_cli_json_and_weights(tmp_path: Path) -> None:
    demo_store(tmp_path / "demo.db").close()
    weights = tmp_path / "w.yaml"
    weights.write_text("edge: {latency: 1, memory: 1}\n", encoding="utf-8")
    done = run_cli(
        "report",
        "--db",
        "demo.db",
        "--format",
        "json",
        "--weights",
        str(weights),
        "--price-per-hour",
        "1.2",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert [p["name"] for p in data["profiles"]] == ["edge"]
    assert data["price_per_hour"] == 1.2
    bad = run_cli("report", "--db", "demo.db", "--weights", "missing.yaml", cwd=tmp_path)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr


def test_speed_lab_section_joins_the_guide(tmp_path: Path) -> None:
    records_module = pytest.importorskip("bakeoff.core.speed_records")
    speed_store = pytest.importorskip("bakeoff.storage.speed_store")
    store = demo_store(tmp_path / "speed.db")
    try:
        speed = speed_store.SpeedStore(store)
        speed.create_run("s1", "lab", {}, {})
        speed.save_model("s1", speed_store.SpeedModelRow(GEMMA, "x", {}, {}), 0)
        scenario = records_module.Scenario(128, 4, 1)
        timing = records_module.StreamTiming(0.0, 0.5, (0.2, 0.3, 0.4, 0.5), ("a",) * 4)
        counts = records_module.TokenCounts((1, 1, 1, 1), 128, 4)
        record = records_module.SpeedRecord.from_timing(
            GEMMA, scenario, 0, False, 0.0, timing, counts
        )
        speed.save_scenario("s1", speed_store.SpeedScenarioRow(GEMMA, scenario, {}, {}), [record])
        report = build_report(store, "latest")
    finally:
        store.close()
    text = render_markdown(report)
    speed_part = text.split("## Speed and efficiency\n", 1)[1].split("\n## ", 1)[0]
    assert "From speed run s1 (lab" in speed_part
    assert "### Speed under load" in speed_part
    assert re.findall(r"^## (.+)$", text, flags=re.M) == SECTIONS  # still twelve sections
    assert "<h3>Speed under load</h3>" in render_html(report)


def test_a_task_whose_samples_are_chat_messages_is_a_chat_probe() -> None:
    # A format=chat benchmark stores its samples as message lists: the prompting format matters
    # there too, whatever the task's family; a plain-text benchmark's does not.
    from bakeoff.core.records import SampleRecord
    from bakeoff.report.model.chat_probe import is_chat_probe

    chat = SampleRecord("arc-easy", "s0", 0, [{"role": "user", "content": "Q?"}], "A")
    plain = SampleRecord("arc-easy", "s0", 0, "Q?", "A")
    assert is_chat_probe("benchmark", [chat])
    assert not is_chat_probe("benchmark", [plain])
    assert is_chat_probe("conversation", [plain])


def test_the_summary_says_local_costs_are_this_machines_seconds(store: SqliteStore) -> None:
    """Without a price a local model's cost is compute seconds on this machine: the summary's
    row says so and names the option that gives dollars; with a price it reads in dollars."""
    unpriced = render_markdown(build_report(store, "latest"))
    (row,) = [line for line in unpriced.splitlines() if line.startswith("| cost |")][:1]
    assert "compute seconds on this machine" in row
    assert "--price-per-hour" in row
    assert re.search(r"\| [\d,]+ compute s per 1M tokens \|", row)
    priced = render_markdown(build_report(store, "latest", price_per_hour=0.5))
    (row,) = [line for line in priced.splitlines() if line.startswith("| cost |")][:1]
    assert "| cost | this run's token mix | $" in row
    assert "compute" not in row
