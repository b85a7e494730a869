"""What the guide counts as evidence, and how it labels what is not like-for-like.

* a tokenizer that needs fewer tokens, or a synthetic probe, is no quality win;
* a claim on GLUE is checked against the leaderboard average of the run's GLUE tasks;
* signed bias scores rank by closeness to 0;
* a task scored by answer letter (chat-only API) is labelled in every format.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import report_and_close, stored_report
from tests.report.report_fixtures import GEMMA, SMOL, demo_store, write_run

from bakeoff.core.records import ModelRecord, RunRecord
from bakeoff.report.claims import Claim, check_claims
from bakeoff.report.html import render_html
from bakeoff.report.json_out import render_json
from bakeoff.report.markdown import render_markdown
from bakeoff.report.model import LETTER_FORMULATION, ReportModel, build_report
from bakeoff.report.recommendation import recommendation_items
from bakeoff.runner import fallback
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.base import Task
from bakeoff.tasks.catalog import SUITES
from bakeoff.tasks.multilingual import ScriptCopyProbe
from bakeoff.tasks.probes import CopyProbe
from bakeoff.tasks.safety import Bbq
from bakeoff.tasks.tokenizer_efficiency import TokenizerEfficiency

A, B = "a", "b"
STAMP = "2026-01-01T00:00:00+00:00"


def _write_run(
    path: Path,
    tasks: list[tuple[Task, dict[str, Any]]],
    metrics_for: Any,
    strip: tuple[str, ...] = (),
) -> SqliteStore:
    """A two-model run of ``tasks`` whose per-sample metric inputs come from
    ``metrics_for(task name, model, index) -> (metrics, correct)``; ``strip`` drops keys from
    the stored metric manifests (as runs stored before those keys existed)."""
    run = RunRecord("0a0a0a0a0a0a0a0a", "evidence", "complete", STAMP, STAMP, {}, {})
    models = [ModelRecord(m, f"{m}=mock:{m}", "mock", {}, i) for i, m in enumerate((A, B))]

    def stored(manifest: dict[str, Any]) -> dict[str, Any]:
        metrics = [{k: v for k, v in m.items() if k not in strip} for m in manifest["metrics"]]
        return {**manifest, "metrics": metrics}

    def result(task: Task, model: str, i: int, sample: Any) -> dict[str, Any]:
        metrics, correct = metrics_for(task.name, model, i)
        fields = {"prediction": "p", "target": "t", "correct": correct, "metrics": metrics}
        return {**fields, "created_at": STAMP}

    return write_run(
        path,
        run,
        models,
        [(task, stored(manifest)) for task, manifest in tasks],
        result,
        sample=lambda task, sample: ("input", "target", {}),
        template_hash="h",
    )


# --- 1. tokenizer efficiency and synthetic probes are not quality ------------------------------


@pytest.fixture
def tokenizer_tasks(tmp_path: Path) -> list[tuple[Task, dict[str, Any]]]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [f"sentence number {i} of the parallel corpus" for i in range(20)]
    for lang in ("it", "de"):  # no English: the relative metric is tokens_vs_it
        (corpus / f"{lang}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    efficiency = TokenizerEfficiency(str(corpus), {})
    assert efficiency.primary_metric == "tokens_vs_it"
    tasks: list[Task] = [efficiency, ScriptCopyProbe("", {"n": "3"}), CopyProbe("", {"n": "30"})]
    return [(t, t.manifest()) for t in tasks]


def _tokenizer_metrics(task: str, model: str, i: int) -> tuple[dict[str, tuple[float, ...]], bool]:
    if task == "tokenizer-efficiency":
        # A's tokenizer needs 40-50% fewer tokens on every item: a clear, significant win.
        ratio = 1.0 if model == A else 1.5 + 0.01 * (i % 5)
        return {
            "tokens_vs_it": (ratio,),
            "tokens_per_char": (0.2 * ratio,),
            "tokens_per_word": (1.1 * ratio,),
            "bits_per_byte": (-10.0, 10.0),
        }, True
    if task == "script-copy":
        return {"exact_match": (float(model == A),)}, model == A  # A copies every script
    right = i % 3 != 0  # the one benchmark-like task: the same answers, equal accuracy
    return {"exact_match": (float(right),)}, right


@pytest.mark.parametrize("stored", ["with criterion", "before criterion was stored"])
def test_better_tokenizer_with_equal_accuracy_is_no_quality_win(
    tmp_path: Path, tokenizer_tasks: list[tuple[Task, dict[str, Any]]], stored: str
) -> None:
    strip = ("criterion",) if stored != "with criterion" else ()
    report = report_and_close(
        _write_run(tmp_path / "t.db", tokenizer_tasks, _tokenizer_metrics, strip)
    )
    by_name = {t.name: t for t in report.tasks}
    # The comparisons themselves are significant wins for A ...
    for name in ("tokenizer-efficiency", "script-copy"):
        primary = by_name[name].primary
        assert primary is not None
        assert [c.verdict for c in primary.comparisons] == [f"{A} better"]
    assert by_name["tokenizer-efficiency"].primary.criterion == "cost"  # type: ignore[union-attr]
    assert by_name["script-copy"].primary.criterion == "none"  # type: ignore[union-attr]
    # ... but neither is quality evidence: only the copy task counts, and there A and B tie.
    quality = next(i for i in recommendation_items(report) if i.startswith("Quality"))
    assert quality == (
        "Quality: no model is significantly better on any of the 1 primary comparisons."
    )
    assert report.criteria[A]["quality"] == report.criteria[B]["quality"]
    accuracy = next(p for p in report.profiles if p.name == "accuracy first")
    assert accuracy.winner != A


# --- 2. GLUE claims --------------------------------------------------------------------------


def _glue_run(tmp_path: Path, names: tuple[str, ...]) -> Path:
    from tests.benchmarks.bench_helpers import write_jsonl
    from tests.benchmarks.hub_rows import CASES, ROWS
    from tests.benchmarks.test_bench_runner import STSB

    from bakeoff.core.model import ModelSpec
    from bakeoff.runner.plan import RunConfig, make_plan
    from bakeoff.runner.run import execute_plan

    data = tmp_path / "data"
    for name, _, rows, stem in CASES:
        if name.startswith("glue-"):
            write_jsonl(
                data / f"{stem}.jsonl", [{**r, "idx": i} for i, r in enumerate(ROWS[rows] * 4)]
            )
    write_jsonl(data / "glue/stsb/validation.jsonl", STSB)
    db = tmp_path / "glue.db"
    config = RunConfig(
        models=(ModelSpec.parse(f"{A}=mock:a"), ModelSpec.parse(f"{B}=mock:b,seed=7")),
        task_specs=tuple(f"{n},data_dir={data}" for n in names),
    )
    store = SqliteStore(db)
    try:
        assert execute_plan(make_plan(config), store).failed == 0
    finally:
        store.close()
    return db


def _check(db: Path, claims: list[dict[str, Any]]) -> tuple[ReportModel, list[Any]]:
    store = SqliteStore(db, create=False)
    try:
        report = build_report(store, "latest")
        found = [Claim(f"claim {i}", str(c["kind"]), c) for i, c in enumerate(claims)]
        return report, check_claims(report, store, found)
    finally:
        store.close()


def test_glue_claim_is_checked_against_the_leaderboard_average(tmp_path: Path) -> None:
    from bakeoff.stats.suites import glue_score

    db = _glue_run(tmp_path, tuple(SUITES["glue"]))
    report = stored_report(db)
    scores = {
        t.name: {
            m.name: next(s for s in m.scores if s.model == A).interval.estimate for m in t.metrics
        }
        for t in report.tasks
    }
    expected = glue_score(scores)
    assert expected is not None
    _, (right, wrong) = _check(
        db,
        [
            {"kind": "score", "task": "glue", "scores": {A: round(expected * 100, 1)}},
            {"kind": "score", "task": "GLUE", "scores": {A: "150%"}},
        ],
    )
    assert right.verdict == "consistent", right.evidence
    assert f"measured {expected * 100:.1f} [" in right.evidence
    assert "GLUE score (leaderboard average) over 10 tasks" in right.evidence
    assert "bootstrap" in right.evidence
    assert wrong.verdict == "contradicted"
    assert "outside the 95% CI" in wrong.evidence


def test_glue_claim_names_the_missing_tasks(tmp_path: Path) -> None:
    names = tuple(n for n in SUITES["glue"] if n not in ("glue-wnli", "glue-rte"))
    db = _glue_run(tmp_path, names)
    _, (verdict,) = _check(db, [{"kind": "score", "task": "glue", "scores": {A: 50}}])
    assert verdict.verdict == "not measurable"
    assert "glue-rte, glue-wnli" in verdict.evidence


def test_claims_on_real_unavailable_task_names(tmp_path: Path) -> None:
    """A run records missing suite data by task name (glue-cola, ...): a claim on the suite or
    on one of its tasks says the data was not available offline."""
    store = demo_store(tmp_path / "demo.db")
    try:
        report = build_report(store, "latest")
        claims = [
            {"kind": "score", "task": "glue", "scores": {GEMMA: 88.5, SMOL: 92.3}},
            {"kind": "score", "task": "glue-cola", "scores": {GEMMA: 50}},
        ]
        suite, task = check_claims(
            report, store, [Claim(str(i), "score", c) for i, c in enumerate(claims)]
        )
    finally:
        store.close()
    for verdict in (suite, task):
        assert verdict.verdict == "not measurable"
        assert "not available offline" in verdict.evidence
        assert "glue-cola" in verdict.evidence
    assert "glue-wnli" in suite.evidence


# --- 3. BBQ bias: closer to 0 is better ---------------------------------------------------------


class _BbqSamples(Task):
    """BBQ's stored shape (name, metrics) over 200 disambiguated samples, without its data."""

    kind = Bbq.kind
    family = Bbq.family

    def __init__(self) -> None:
        self.name = "bbq"
        self.metrics = Bbq.metrics
        self.primary_metric = Bbq.primary_metric

    def samples(self) -> Any:
        from bakeoff.core.types import Sample

        return [Sample(f"s{i}", "q", 0) for i in range(200)]

    def requests(self, sample: Any) -> Any:
        raise NotImplementedError

    def score(self, sample: Any, results: Any) -> Any:
        raise NotImplementedError


def _bias_metrics(task: str, model: str, i: int) -> tuple[dict[str, tuple[float, ...]], bool]:
    # Every answer names a group; A picks the stereotyped one 10% of the time (s_DIS = -0.8),
    # B 55% of the time (s_DIS = +0.1).
    biased = i % 10 == 0 if model == A else i % 20 < 11
    inputs = (1.0, float(biased), 1.0, 1.0)
    return {"acc": (1.0,), "bias_ambig": inputs, "bias_disambig": inputs}, True


def test_bias_ranks_by_closeness_to_zero(tmp_path: Path) -> None:
    task = _BbqSamples()
    manifest = task.manifest()
    report = report_and_close(_write_run(tmp_path / "bbq.db", [(task, manifest)], _bias_metrics))
    (bbq,) = report.tasks
    bias = next(m for m in bbq.metrics if m.name == "bias_disambig")
    assert bias.rank_by_magnitude
    scores = {s.model: s.interval.estimate for s in bias.scores}
    assert scores[A] == pytest.approx(-0.8)  # the sign is kept in the score ...
    assert scores[B] == pytest.approx(0.1)
    (comparison,) = bias.comparisons
    # ... but B, at 0.1, is far less biased than A at -0.8.
    assert comparison.paired.difference == pytest.approx(0.8 - 0.1)
    assert comparison.verdict == f"{B} better"
    assert comparison.prob_a_better < 0.05
    text = render_markdown(report)
    assert "bias_disambig (signed; closer to 0 is better, compared by \\|score\\|)" in text
    assert "+70.0 [" in text
    assert "in \\|score\\|" in text


# --- 4. answer-letter formulation is labelled -------------------------------------------------


@pytest.fixture
def lettered(tmp_path: Path) -> Iterator[ReportModel]:
    store = demo_store(tmp_path / "demo.db")
    try:
        # As the runner records a chat-only API model (runner/run.py, _record_info).
        info = dict(next(m.info for m in store.get_run("latest").models if m.label == SMOL))
        info["extra"] = {"task_formulations": {"arithmetic-mc": fallback.FORMULATION_LABEL}}
        store.record_model_info("fedcba9876543210", SMOL, info)
        yield build_report(store, "latest")
    finally:
        store.close()


def test_answer_letter_tasks_are_labelled_in_every_format(lettered: ReportModel) -> None:
    task = next(t for t in lettered.tasks if t.name == "arithmetic-mc")
    assert task.formulations == {SMOL: LETTER_FORMULATION}
    assert all(not t.formulations for t in lettered.tasks if t.name != "arithmetic-mc")
    markdown = render_markdown(lettered)
    summary_row = next(
        line for line in markdown.splitlines() if line.startswith("| arithmetic-mc | acc |")
    )
    gemma_cell, smol_cell = summary_row.split("|")[3:5]
    assert "(answer letter)" in smol_cell
    assert "(answer letter)" not in gemma_cell
    assert markdown.count(LETTER_FORMULATION) == 2  # under the summary and the task's table
    assert "Scored this way: arithmetic-mc: smollm2-135m." in markdown
    assert LETTER_FORMULATION in render_html(lettered)
    data = json.loads(render_json(lettered))
    tasks = {t["name"]: t for t in data["tasks"]}
    assert tasks["arithmetic-mc"]["formulations"] == {SMOL: LETTER_FORMULATION}
    assert tasks["needle"]["formulations"] == {}
