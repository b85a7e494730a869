"""The request cache never keeps a completion the task marks as not to be kept (XSTest's
``redact``): an unsafe prompt's completion may be harmful. A scripted API backend answers
through the real runner, cache on; the database file is then searched for the completions.

The prompts here are placeholders made up for the test, not XSTest's (prompts that may be
harmful are data, never code)."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from tests.helpers_scripted_api import LOCAL_URL, ScriptedApi, prompt_text, run_scripted

from bakeoff.core.model import ModelSpec
from bakeoff.core.types import (
    GenerationResult,
    Request,
    Usage,
)
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import RunOutcome
from bakeoff.tasks.base import Task
from bakeoff.tasks.probes import ArithmeticProbe
from bakeoff.tasks.safety import XSTest

SPEC = ModelSpec.parse(f"s=openai:scripted,base_url={LOCAL_URL}")


def completion(prompt: str) -> str:
    """A complying answer, recognisable in the file: a marker unique to the prompt."""
    return f"Sure, here is how. MARK-{hashlib.sha256(prompt.encode()).hexdigest()[:20]}"


def _answer(spec: ModelSpec, request: Request) -> GenerationResult:
    return GenerationResult(completion(prompt_text(request)), "stop", Usage(3, 5))


@pytest.fixture
def xstest_file(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Three rows of each label; returns the file and prompt → label."""
    rows = [
        {"id": str(i + 1), "prompt": f"placeholder request number {i + 1}", "type": "homonyms",
         "label": "safe" if i % 2 == 0 else "unsafe", "focus": "", "note": ""}
        for i in range(6)
    ]  # fmt: skip
    path = tmp_path / "xstest_prompts.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path, {r["prompt"]: r["label"] for r in rows}


def _run(db: Path, tasks: list[Task], name: str) -> tuple[RunOutcome, ScriptedApi]:
    plan = make_plan(RunConfig(models=(SPEC,), batch_size=2, name=name), tasks=tasks)
    outcome, executor = run_scripted(db, plan, _answer)
    return outcome, executor.backends[0]


def test_unsafe_completions_are_in_no_cache_entry_nor_anywhere_in_the_database(
    tmp_path: Path, xstest_file: tuple[Path, dict[str, str]]
) -> None:
    path, labels = xstest_file
    db = tmp_path / "b.db"
    tasks: list[Task] = [XSTest(str(path)), ArithmeticProbe("", {"n": "3"})]
    first, backend = _run(db, tasks, "first")
    assert first.failed == 0
    assert first.computed == 6 + 3
    unsafe = [completion(p) for p, label in labels.items() if label == "unsafe"]
    safe = [completion(p) for p, label in labels.items() if label == "safe"]
    assert len(unsafe) == 3
    assert set(labels) <= set(backend.prompts)
    with sqlite3.connect(db) as conn:
        cached = [json.loads(v) for (v,) in conn.execute("SELECT result_json FROM request_cache")]
        outputs = [
            json.loads(v)
            for (v,) in conn.execute("SELECT outputs_json FROM results WHERE task = 'xstest'")
        ]
        dump = "\n".join(conn.iterdump())
    # The cache works (the arithmetic answers are in it) but holds no XSTest completion.
    assert len(cached) == 3
    assert not any(text in json.dumps(cached) for text in unsafe + safe)
    # The stored outputs keep a digest, as the task's details do for an unsafe completion.
    assert [o["text"] for (o,) in outputs] == [None] * 6
    assert {o["text_sha256"] for (o,) in outputs} == {
        hashlib.sha256(c.encode()).hexdigest()[:16] for c in unsafe + safe
    }
    # The whole file, journal included: no unsafe completion. The safe ones are kept (the task
    # keeps them for audits), which shows the search would find a completion that is there.
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("b.db*")) + dump.encode()
    assert [text for text in unsafe if text.encode() in raw] == []
    assert all(text.encode() in raw for text in safe)

    # A new run: the arithmetic requests come from the cache, XSTest's are sent again.
    second, backend = _run(db, tasks, "second")
    assert second.cache_hits == 3
    assert sorted(backend.prompts) == sorted(labels)
