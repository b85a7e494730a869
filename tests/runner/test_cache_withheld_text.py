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
from typing import Any

import pytest

from bakeoff.backends._api import ApiBackend, ApiLimits, Outcome
from bakeoff.backends.base import Backend, ModelInfo, ModelSpec
from bakeoff.core.types import (
    GenerateRequest,
    GenerationResult,
    JSONValue,
    Request,
    RequestKind,
    Usage,
)
from bakeoff.runner.executor import LocalExecutor
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import RunOutcome, execute_plan
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.base import Task
from bakeoff.tasks.probes import ArithmeticProbe
from bakeoff.tasks.safety import XSTest

# A local URL: no key and no price needed, so preflight and pricing pass without a server.
SPEC = ModelSpec.parse("s=openai:scripted,base_url=http://127.0.0.1:9/v1")


def _prompt_text(request: Request) -> str:
    assert isinstance(request, GenerateRequest)
    prompt = request.prompt
    return prompt if isinstance(prompt, str) else " ".join(m.content for m in prompt)


def completion(prompt: str) -> str:
    """A complying answer, recognisable in the file: a marker unique to the prompt."""
    return f"Sure, here is how. MARK-{hashlib.sha256(prompt.encode()).hexdigest()[:20]}"


class _Client:
    async def close(self) -> None:
        return None


class _ScriptedApi(ApiBackend):
    """An API backend whose "server" answers every prompt with :func:`completion`."""

    name = "scripted"
    supports = frozenset({RequestKind.GENERATE})
    sdk_module = "json"  # no SDK: the answers are made here
    sdk_extra = "openai"
    default_key_env = "SCRIPTED_API_KEY"

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(
            spec, base_url="http://127.0.0.1:9/v1", limits=ApiLimits(), api_key_env="X"
        )
        self.prompts: list[str] = []

    def make_client(self, *, asynchronous: bool) -> Any:
        return _Client()

    async def send(self, client: Any, request: Request) -> Outcome:
        prompt = _prompt_text(request)
        self.prompts.append(prompt)
        return GenerationResult(completion(prompt), "stop", Usage(3, 5))

    def request_body(self, request: Request) -> dict[str, JSONValue]:
        assert isinstance(request, GenerateRequest)
        return {"prompt": _prompt_text(request), **request.settings.as_dict()}

    def info(self) -> ModelInfo:
        return ModelInfo(name="scripted", backend=self.name, source="test")


class _ScriptedExecutor(LocalExecutor):
    def __init__(self) -> None:
        self.backends: list[_ScriptedApi] = []

    def open(self, spec: ModelSpec) -> Backend:
        backend = _ScriptedApi(spec)
        self.backends.append(backend)
        return backend


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


def _run(db: Path, tasks: list[Task], name: str) -> tuple[RunOutcome, _ScriptedApi]:
    plan = make_plan(RunConfig(models=(SPEC,), batch_size=2, name=name), tasks=tasks)
    store = SqliteStore(db)
    executor = _ScriptedExecutor()
    try:
        outcome = execute_plan(plan, store, executor=executor)  # cache on: the default
    finally:
        store.close()
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
