"""Speed records through the real SQLite store, into the report section and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.helpers import run_cli

from bakeoff.core.speed_records import Scenario, SpeedRecord, StreamTiming, TokenCounts
from bakeoff.report.html import speed_html_page
from bakeoff.report.markdown import speed_markdown
from bakeoff.report.model.speed_lab import build_speed_section
from bakeoff.speed.metrics import request_metrics, summarize
from bakeoff.storage.speed_store import SpeedModelRow, SpeedScenarioRow, SpeedStore
from bakeoff.storage.sqlite import SqliteStore


def _records(model: str, scenario: Scenario, ttft: float, n: int = 6) -> list[SpeedRecord]:
    out = []
    for i in range(n):
        start = i * 2.0
        chunks = tuple(start + ttft + 0.02 * k for k in range(4))
        timing = StreamTiming(start, chunks[-1], chunks, ("a", "b", "c", "d"))
        counts = TokenCounts((1, 1, 1, 1), scenario.prompt_tokens, 4)
        out.append(SpeedRecord.from_timing(model, scenario, i, i == 0, start, timing, counts))
    out.append(SpeedRecord.failure(model, scenario, n, False, 99.0, 99.0, "ReadTimeout: slow"))
    return out


def _fill(db: Path) -> tuple[str, dict[tuple[str, Scenario], list[SpeedRecord]]]:
    store = SqliteStore(db)
    speed = SpeedStore(store)
    speed.create_run("r1", "test", {"slo": {"ttft": 0.3}}, {"platform": "test-machine"})
    data = {}
    for position, (model, base) in enumerate((("fast", 0.1), ("slow", 0.5))):
        memory = {"weights_bytes": 2**20 * 10, "kv_bytes_per_token": 1024, "context": 2048,
                  "estimate_bytes": 2**20 * 12, "note": ""}  # fmt: skip
        speed.save_model("r1", SpeedModelRow(model, f"{model}=x:y", {}, memory), position)
        for prompt in (128, 512):
            for conc in (1, 2):
                scenario = Scenario(prompt, 4, conc)
                records = _records(model, scenario, base * prompt / 128 + 0.01 * conc)
                energy = {"joules": None, "note": "no RAPL counters", "source": "none"}
                resources = {"peak_rss_bytes": 2**20 * 300, "gpu_memory_bytes": None}
                speed.save_scenario(
                    "r1", SpeedScenarioRow(model, scenario, energy, resources), records
                )
                data[(model, scenario)] = records
    store.close()
    return "r1", data


def test_records_round_trip_through_sqlite(tmp_path: Path) -> None:
    run_id, data = _fill(tmp_path / "b.db")
    store = SqliteStore(tmp_path / "b.db", create=False)
    speed = SpeedStore(store)
    assert speed.resolve(None) == run_id
    assert store.connection.execute("PRAGMA user_version").fetchone()[0] >= 2
    stored = speed.records(run_id)
    expected = [r for records in data.values() for r in records]
    key = lambda r: (r.model, r.scenario.key(), r.index)  # noqa: E731
    assert sorted(stored, key=key) == sorted(expected, key=key)
    assert [s.scenario for s in speed.scenarios(run_id)][:2] == [
        Scenario(128, 4, 1),
        Scenario(128, 4, 2),
    ]
    store.close()


def test_report_section_shows_the_computed_figures(tmp_path: Path) -> None:
    _fill(tmp_path / "b.db")
    store = SqliteStore(tmp_path / "b.db", create=False)
    section = build_speed_section(SpeedStore(store))
    store.close()
    markdown = speed_markdown(section)
    # The fast model at prompt 128, c=1: figures recomputed here from the same records.
    records = [
        r for r in section.records if r.model == "fast" and r.scenario == Scenario(128, 4, 1)
    ]
    summary = summarize(records, {"ttft": 0.3})
    throughput, latency, *_distributions = (
        [c.strip() for c in line.strip("|").split("|")]
        for line in markdown.splitlines()
        if line.startswith("| fast | 128 | 4 | c=1 |")
    )
    cells = throughput
    assert cells[4:6] == ["5", "1"]  # 5 measured ok (warm-up excluded), 1 failed
    assert cells[6] == f"{summary.requests_per_s:,.2f}"
    assert latency[4] == f"{summary.latency['ttft'].p50 * 1000:,.1f}"
    assert latency[9] == f"{summary.latency['tpot'].p50 * 1000:,.1f}"
    assert cells[9] == "not measurable here"  # no energy counter in the stored scenario
    assert summary.goodput == summary.requests_per_s  # all five meet ttft ≤ 300 ms
    assert cells[8] == f"{summary.goodput:,.2f}"
    assert "| slow | 512 | 4 | c=1 | 5 | 1 | " in markdown
    assert "ReadTimeout: slow" in markdown
    assert "not measurable here (no RAPL counters)" in markdown
    slow = [request_metrics(r) for r in section.measured_ok("slow")]
    assert all(m.ttft > 0.3 for m in slow)
    # TTFT ≤ 300 ms: fast meets it at 128 prompt tokens (~0.11 s), not at 512 (~0.41 s).
    assert "fast 10/20, slow 0/20" in markdown
    html = speed_html_page(section)
    # Two shapes (prompt 128 and 512, output 4): an E2E and a TTFT CDF each, then throughput vs
    # concurrency and TTFT vs prompt length.
    assert html.count("<svg") == 6
    assert "E2E latency CDF (prompt 512, output 4)" in html
    assert "<script" not in html
    assert "output tokens/s vs concurrency" in html
    assert re.search(r"<td>fast</td><td>128</td><td>4</td><td>c=1</td><td>5</td>", html)


def test_cli_show_prints_tables_and_writes_report(tmp_path: Path) -> None:
    _fill(tmp_path / "b.db")
    result = run_cli("speed", "--show", "--db", "b.db", "--report", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "latency (ms)" in result.stdout
    assert "speed run r1" in result.stdout
    assert (tmp_path / "out.md").read_text().startswith("## Speed under load")
    assert "<svg" in (tmp_path / "out.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "mock:x"], "speed runs support backends llamacpp, openai"),
        (["-m", "llamacpp:/no/such.gguf"], "model file not found"),
        (["-m", "openai:m,base_url=ftp://x"], "base_url must start with http"),
        # A key in the spec would be stored with the run (and is in shell history): refused
        # before anything else can quote the spec, for either backend.
        (["-m", "openai:m,api_key=sk-FAKE-spec-1"], "never put an API key in the model spec"),
        (["-m", "llamacpp:x,token=sk-FAKE-spec-1"], "never put an API key in the model spec"),
        (["-m", "mock:x,key=sk-FAKE-spec-1"], "never put an API key in the model spec"),
        (["-m", "openai:m,base_url=http://u:sk-FAKE-spec-1@h/v1"], "must not carry credentials"),
        (["-m", "openai:m,colour=sk-FAKE-spec-1"], "unknown openai option(s) colour"),
        (["-m", "llamacpp:x,n_gpu=sk-FAKE-spec-1"], "unknown llamacpp option(s) n_gpu"),
        (["-m", "openai:m,api_key_env=BAKEOFF_NO_SUCH_VAR_6d1"], "needs an API key"),
        (["-m", "llamacpp:x", "--concurrency", "1,two"], "--concurrency takes comma-separated"),
        (["-m", "llamacpp:x", "--slo", "ttft=soon"], "bad SLO item"),
        (["--concurrency", "1"], "give at least one model"),
        (["--show"], "no bakeoff database"),
    ],
)
def test_cli_user_errors_exit_2_without_traceback(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli("speed", *args, "--db", "s.db", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "sk-FAKE" not in result.stdout + result.stderr  # the message never echoes a value
    assert not (tmp_path / "s.db").exists()  # bad input leaves no half-made store


def test_short_answers_and_engine_settings_are_noted(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "n.db")
    speed = SpeedStore(store)
    speed.create_run("r2", "notes", {}, {})
    info = {"backend": "llamacpp", "extra": {"n_threads": 2, "n_batch": 512, "repack": "on"}}
    speed.save_model("r2", SpeedModelRow("local", "llamacpp:x", info, {}), 0)
    speed.save_model("r2", SpeedModelRow("srv", "openai:y", {"backend": "openai",
                                         "source": "http://h:1/v1"}, {}), 1)  # fmt: skip
    scenario = Scenario(16, 4, 1)
    for model in ("local", "srv"):
        records = _records(model, scenario, 0.1, n=3)
        if model == "srv":  # the server cut one answer at 2 of the 4 tokens asked for
            cut = StreamTiming(
                50.0, 50.3, (50.1, 50.3), ("a", "b"), server={"finish_reason": "stop"}
            )
            records.append(SpeedRecord.from_timing(model, scenario, 9, False, 50.0, cut,
                                                   TokenCounts((1, 1), 16, 2)))  # fmt: skip
        speed.save_scenario("r2", SpeedScenarioRow(model, scenario, {}, {}), records)
    section = build_speed_section(speed)
    store.close()
    markdown = speed_markdown(section)
    assert "local: llama.cpp in process, n_threads=2, n_batch=512, repack on" in markdown
    assert "srv: OpenAI-compatible server at http://h:1/v1" in markdown
    assert (
        "srv: 1 of 3 answers stopped before the requested length (finish reason: stop" in markdown
    )
    assert markdown.count("stopped before the requested length") == 1  # not for "local"
