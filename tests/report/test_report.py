"""Reports from a fixed stored run: Markdown and HTML snapshots, HTML escaping and
self-containment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.report.snapshot_check import assert_matches_snapshot

from bakeoff.core.records import ModelRecord, ResultRecord, RunRecord, SampleRecord, TaskRecord
from bakeoff.report.html import render_html
from bakeoff.report.markdown import render_markdown
from bakeoff.report.model import build_report
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.probes import ArithmeticProbe

HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def _fixed_store(path: Path) -> SqliteStore:
    """A run written record by record with fixed values, so the report is byte-stable."""
    task = ArithmeticProbe("", {"n": "24"})
    samples = task.samples()
    run = RunRecord(
        run_id="0123456789abcdef",
        name="fixed",
        status="complete",
        created_at="2026-01-01T00:00:00+00:00",
        updated_at="2026-01-01T00:00:00+00:00",
        config={},
        manifest={
            "bakeoff_version": "0.0.test",
            "machine": {
                "processor": "Test CPU",
                "cpu_count": 2,
                "platform": "Linux",
                "python": "3.11",
            },
            "command": "bakeoff run -m a=mock:a -m b=mock:b -t arithmetic,n=24",
        },
    )
    models = [
        ModelRecord(
            "alpha",
            "alpha=mock:a",
            "mock",
            {
                "backend": "mock",
                "sha256": "a" * 64,
                "parameters": 270_000_000,
                "quantization": "Q4_K_M",
                "context_length": 32768,
            },
            0,
        ),
        ModelRecord(
            "beta",
            "beta=mock:b",
            "mock",
            {"backend": "mock", "sha256": "b" * 64, "parameters": 135_000_000},
            1,
        ),
    ]
    tasks = [
        TaskRecord(task.name, task.version, task.template_hash(), len(samples), task.manifest(), 0)
    ]
    sample_records = [
        SampleRecord(task.name, s.id, i, s.input, s.target, {}) for i, s in enumerate(samples)
    ]
    store = SqliteStore(path)
    store.create_or_resume_run(run, models, tasks, sample_records)
    results = []
    for index, sample in enumerate(samples):
        # alpha is right on 20 of 24, beta on 8 of 24; beta's 3rd answer is hostile markup.
        for model, right in (("alpha", index % 6 != 0), ("beta", index % 3 == 0)):
            prediction = str(sample.target) if right else (HOSTILE if index == 2 else "0")
            results.append(
                ResultRecord(
                    run_id=run.run_id,
                    model=model,
                    task=task.name,
                    sample_id=sample.id,
                    status="ok",
                    prediction=prediction,
                    target=str(sample.target),
                    correct=right,
                    metrics={"exact_match": (float(right),)},
                    prompt_tokens=50,
                    output_tokens=4,
                    prompt_seconds=0.1 if model == "alpha" else 0.2,
                    output_seconds=0.05,
                    created_at="2026-01-01T00:00:00+00:00",
                )
            )
    store.save_results(results)
    return store


@pytest.fixture
def report_model(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = _fixed_store(tmp_path / "fixed.db")
    try:
        yield build_report(store, "fixed")
    finally:
        store.close()


def test_markdown_snapshot(report_model) -> None:  # type: ignore[no-untyped-def]
    assert_matches_snapshot(render_markdown(report_model), "fixed_run.md")


def test_html_snapshot(report_model) -> None:  # type: ignore[no-untyped-def]
    assert_matches_snapshot(render_html(report_model), "fixed_run.html")


def test_markdown_states_significance(report_model) -> None:  # type: ignore[no-untyped-def]
    text = render_markdown(report_model)
    # 20/24 vs 8/24: 16 discordant pairs favour alpha, 4 beta; McNemar exact p = 0.0118.
    assert "**alpha better**" in text
    assert "McNemar" in text
    assert "<script>" not in text
    assert "<img" not in text


def test_html_escapes_model_output(report_model) -> None:  # type: ignore[no-untyped-def]
    html = render_html(report_model)
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in html
    assert "onerror=alert(1)&gt;" in html


def test_html_is_self_contained(report_model) -> None:  # type: ignore[no-untyped-def]
    html = render_html(report_model)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html
    assert "url(" not in html
    assert "default-src 'none'" in html
    assert "<svg" in html


def test_open_weights_and_output_limit_spec_rows() -> None:
    from bakeoff.report.sections.specs import spec_value

    # Weights a local backend loaded are open whatever their license; an API model's flag comes
    # from the server or the catalog (extra), else nobody says.
    assert spec_value({"backend": "llamacpp"}, "open_weights") == "yes"
    assert spec_value({"backend": "hf", "extra": {"open_weights": True}}, "open_weights") == "yes"
    assert (
        spec_value({"backend": "openai", "extra": {"open_weights": False}}, "open_weights") == "no"
    )
    assert spec_value({"backend": "openai"}, "open_weights") == "unknown"
    assert spec_value({"extra": {"max_output_tokens": 16384}}, "max_output_tokens") == "16,384"
    assert spec_value({"max_output_tokens": 5}, "max_output_tokens") == "unknown"
