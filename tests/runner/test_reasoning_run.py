"""A reasoning model through the real runner: a scripted OpenAI-compatible server thinks in the
open (``<think>`` with a wrong guess, then the right answer), and the run must score the answer,
not the thinking, store the reasoning tokens and the time to the first answer token, and keep
them through the request cache."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers_reasoning import openai_stream
from tests.helpers_servers import SseReply, SseScript, serving

from bakeoff.core.model import ModelSpec
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import execute_plan
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.probes import ArithmeticProbe

pytest.importorskip("openai")
N = 4


def thinking_answer(body: dict[str, Any]) -> SseReply:
    """Thinks aloud with a wrong sum first (what a grader reading the thinking would take),
    then answers right; the usage counts every token, thinking included, as servers do."""
    prompt = body["messages"][-1]["content"]
    question = re.findall(r"What is (\d+) ([-+*]) (\d+)\?", prompt)[-1]
    a, op, b = int(question[0]), question[1], int(question[2])
    value = a + b if op == "+" else a - b if op == "-" else a * b
    pieces = ["<think>", f"Maybe {value + 1}?", " Check again.", "</think>", f" {value}"]
    usage = {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}
    return openai_stream([], pieces, usage, "reasoning", pause_at=4)


@pytest.fixture
def server() -> Iterator[SseScript]:
    with serving(SseScript(answer=thinking_answer)) as script:
        yield script


def _run(db: Path, *specs: ModelSpec) -> tuple[str, list[sqlite3.Row]]:
    plan = make_plan(RunConfig(models=specs), tasks=[ArithmeticProbe("", {"n": str(N)})])
    store = SqliteStore(db)
    try:
        outcome = execute_plan(plan, store)
    finally:
        store.close()
    assert outcome.failed == 0
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT model, correct, prediction, reasoning_tokens, prompt_seconds, "
            "first_answer_seconds FROM results WHERE run_id = ? ORDER BY model, sample_id",
            (plan.run_id,),
        ).fetchall()
    return plan.run_id, rows


def test_the_answer_is_scored_not_the_thinking(server: SseScript, tmp_path: Path) -> None:
    base = f"openai:qwen3,base_url={server.base_url},tokenizer=server"
    cut = ModelSpec.parse(f"cut={base}")
    raw = ModelSpec.parse(f"raw={base},think_end=none")
    _, rows = _run(tmp_path / "b.db", cut, raw)
    by_model = {m: [r for r in rows if r["model"] == m] for m in ("cut", "raw")}
    assert [r["correct"] for r in by_model["cut"]] == [1] * N
    assert [r["correct"] for r in by_model["raw"]] == [0] * N  # read the thinking's wrong guess
    for row in by_model["cut"]:
        assert row["reasoning_tokens"] == 4  # "Maybe N? Check again." in words
        assert row["first_answer_seconds"] > row["prompt_seconds"]
    assert {r["reasoning_tokens"] for r in by_model["raw"]} == {0}


def test_the_request_cache_keeps_the_reasoning_figures(server: SseScript, tmp_path: Path) -> None:
    spec = ModelSpec.parse(f"m=openai:qwen3,base_url={server.base_url},tokenizer=server")
    db = tmp_path / "b.db"
    _, first = _run(db, spec)
    sent = len(server.bodies)
    spec_again = ModelSpec.parse(f"m=openai:qwen3,base_url={server.base_url},tokenizer=server")
    plan = make_plan(
        RunConfig(models=(spec_again,), name="again"), tasks=[ArithmeticProbe("", {"n": str(N)})]
    )
    store = SqliteStore(db)
    try:
        execute_plan(plan, store)
        again = list(store.iter_results(plan.run_id))
    finally:
        store.close()
    assert len(server.bodies) == sent  # every answer came from the cache
    assert sorted(r.reasoning_tokens for r in again) == sorted(r["reasoning_tokens"] for r in first)
    assert all(r.first_answer_seconds is not None for r in again)
