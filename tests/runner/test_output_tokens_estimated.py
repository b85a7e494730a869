"""The runner stores ``Usage.output_tokens_estimated`` with each result (``ResultRecord``), also
for a result served from the request cache, and the guide marks what is computed from it. A
scripted API backend answers through the real runner: one model's "server" reports no output
tokens (its usage says the count is of stream chunks), the other's counts them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.helpers import stored_report
from tests.helpers_scripted_api import LOCAL_URL, run_scripted

from bakeoff.core.model import ModelSpec
from bakeoff.core.types import GenerationResult, Request, Usage
from bakeoff.report.markdown import render_markdown
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import RunOutcome
from bakeoff.tasks.probes import ArithmeticProbe

CHUNKS = ModelSpec.parse(f"chunks=openai:chunky,base_url={LOCAL_URL}")
COUNTED = ModelSpec.parse(f"counted=openai:counting,base_url={LOCAL_URL}")
N = 4


def _answer(spec: ModelSpec, request: Request) -> GenerationResult:
    """Answers "0"; the ``chunky`` model's usage is a stream-chunk count."""
    estimated = spec.target == "chunky"
    return GenerationResult("0", "stop", Usage(3, 5, 0.01, 0.02, 0, estimated))


def _run(db: Path, name: str) -> tuple[RunOutcome, int]:
    plan = make_plan(
        RunConfig(models=(CHUNKS, COUNTED), batch_size=2, name=name),
        tasks=[ArithmeticProbe("", {"n": str(N)})],
    )
    outcome, executor = run_scripted(db, plan, _answer)
    return outcome, sum(len(b.prompts) for b in executor.backends)


def _flags(db: Path, run_name: str) -> dict[str, set[int]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT model, output_tokens_estimated FROM results JOIN runs USING (run_id) "
            "WHERE runs.name = ?",
            (run_name,),
        ).fetchall()
    found: dict[str, set[int]] = {}
    for model, flag in rows:
        found.setdefault(model, set()).add(flag)
    return found


def test_flag_is_stored_per_result_and_survives_the_cache(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    first, sent = _run(db, "first")
    assert (first.failed, first.computed, sent) == (0, 2 * N, 2 * N)
    assert _flags(db, "first") == {"chunks": {1}, "counted": {0}}

    second, sent = _run(db, "second")
    assert (second.cache_hits, sent) == (2 * N, 0)
    assert _flags(db, "second") == {"chunks": {1}, "counted": {0}}

    text = render_markdown(stored_report(db, "second"))
    # 4 samples x (5 - 1) tokens after the first, in 4 x 0.02 s: 200 tokens/s.
    assert "| chunks | 300.0 | ~200.0 | 12 in 0.0 s | ~16 in 0.1 s |" in text
    assert "| counted | 300.0 | 200.0 | 12 in 0.0 s | 16 in 0.1 s |" in text
    assert "Marked: chunks." in text
