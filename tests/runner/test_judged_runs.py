"""Judged tasks through the real runner: scripted models, a scripted API judge, a SQLite store.

The judge is an API backend answered by a Python function (no socket), so its replies go through
the request cache like a paid API's. The executor runs every batch as it is submitted, so the
order of model and judge calls, and the place of a simulated kill, are the same on every run.
The XSTest prompts are placeholders made up for the test, not XSTest's.
"""

from __future__ import annotations

import concurrent.futures
import csv
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.helpers_scripted_api import LOCAL_URL, ScriptedApi, prompt_text

from bakeoff.backends.base import Backend
from bakeoff.backends.mock import MockBackend
from bakeoff.core.errors import BudgetExceededError
from bakeoff.core.model import ModelSpec
from bakeoff.core.records import ResultRecord
from bakeoff.core.types import (
    GenerateRequest,
    GenerationResult,
    GenerationSettings,
    JSONValue,
    Request,
    RequestFailure,
    RequestKind,
    Result,
    Sample,
    Usage,
)
from bakeoff.pricing.catalog import PriceCatalog
from bakeoff.runner.dry_run import estimate_plan
from bakeoff.runner.executor import Executor, LocalExecutor, Outcome
from bakeoff.runner.plan import Plan, RunConfig, make_plan
from bakeoff.runner.run import RunOptions, RunOutcome, execute_plan
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.base import MetricSpec, SampleScore, Task
from bakeoff.tasks.safety import XSTest

Reply = Callable[[ModelSpec, Request], Outcome]
JUDGE_USAGE = Usage(prompt_tokens=100, output_tokens=10)
PRICES = PriceCatalog({}, {}, "none", {"judge-1": (1000.0, 2000.0)}, "test prices")
"""$0.12 per judge reply (100 prompt + 10 output tokens); the mock models are free."""


def judge_spec(label: str = "judge-1") -> ModelSpec:
    return ModelSpec.parse(f"{label}=openai:{label},base_url={LOCAL_URL}")


class _Scripted(ScriptedApi):
    """An API backend whose replies (or failures) come from ``reply``."""

    def __init__(self, spec: ModelSpec, reply: Reply) -> None:
        super().__init__(spec, lambda s, r: GenerationResult(""))
        self.reply = reply

    async def send(self, client: Any, request: Request) -> Outcome:
        self.prompts.append(prompt_text(request))
        return self.reply(self.spec, request)


class _Executor(LocalExecutor):
    """Mock models in process, every other spec a scripted API; each batch runs as submitted.
    ``kill(backend, requests)`` True stops the run there, as Ctrl-C would."""

    def __init__(
        self, reply: Reply, kill: Callable[[Backend, Sequence[Request]], bool] | None = None
    ) -> None:
        self.reply, self.kill = reply, kill
        self.opened: list[str] = []
        self.sent: dict[str, list[str]] = {}
        self.mock_calls: dict[str, int] = {}
        self._mocks: list[MockBackend] = []

    def open(self, spec: ModelSpec) -> Backend:
        self.opened.append(spec.label)
        if spec.backend == "mock":
            mock = MockBackend(spec)
            self._mocks.append(mock)
            return mock
        backend = _Scripted(spec, self.reply)
        backend.prompts = self.sent.setdefault(spec.label, [])
        return backend

    def submit(
        self, backend: Backend, requests: Sequence[Request]
    ) -> concurrent.futures.Future[list[Outcome]]:
        if self.kill is not None and self.kill(backend, requests):
            raise KeyboardInterrupt
        return Executor.submit(self, backend, requests)

    def max_in_flight(self, backend: Backend) -> int:
        return 1

    def mock_requests(self, label: str) -> int:
        return sum(m.calls for m in self._mocks if m.spec.label == label)


class _Rated(Task):
    """Open-ended answers rated 1-9 by each judge (the shape of single-answer grading)."""

    name = "rated"
    kind = RequestKind.GENERATE
    metrics = (MetricSpec("rating"), MetricSpec("unrated", higher_is_better=False))
    primary_metric = "rating"

    def __init__(self, judges: Mapping[str, ModelSpec], n: int = 6) -> None:
        self._judges = dict(judges)
        self._samples = [Sample(f"q{i}", f"question {i}") for i in range(n)]

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def requests(self, sample: Sample) -> list[Request]:
        return [GenerateRequest(str(sample.input), GenerationSettings(max_tokens=8))]

    def judges(self) -> Mapping[str, ModelSpec]:
        return self._judges

    def judge_requests(self, sample: Sample, results: Sequence[Result]) -> list[Request]:
        answer = results[0]
        assert isinstance(answer, GenerationResult)
        prompt = f"Rate 1-9: {sample.input} => {answer.text}"
        return [GenerateRequest(prompt, GenerationSettings(max_tokens=4))]

    def score(self, sample: Sample, results: Sequence[Result]) -> SampleScore:
        raise AssertionError("a judged task is scored from its verdicts")

    def score_judged(
        self,
        sample: Sample,
        results: Sequence[Result],
        verdicts: Mapping[str, Sequence[Result | RequestFailure]],
    ) -> SampleScore:
        ratings: dict[str, JSONValue] = {}
        for label, (verdict,) in verdicts.items():
            text = verdict.text if isinstance(verdict, GenerationResult) else ""
            found = re.fullmatch(r"\s*([1-9])\s*", text)
            ratings[label] = int(found.group(1)) if found else None
        parsed = [float(r) for r in ratings.values() if isinstance(r, int)]
        inputs = {"unrated": (float(len(ratings) - len(parsed)),)}
        if parsed:  # no rating is no number, never a middle score
            inputs["rating"] = (sum(parsed) / len(parsed),)
        return SampleScore(inputs, str(parsed), "", details={"ratings": ratings})


def _rating(spec: ModelSpec, request: Request) -> Outcome:
    """Judges rate by the length of what they read; the model (an API too) answers plainly."""
    text = prompt_text(request)
    if not text.startswith("Rate"):
        return GenerationResult(f"answer to {text}", "stop", Usage(5, 3))
    return GenerationResult(str(len(text) % 9 + 1), "stop", JUDGE_USAGE)


def _run(
    db: Path, plan: Plan, executor: _Executor, options: RunOptions | None = None
) -> RunOutcome:
    store = SqliteStore(db)
    try:
        return execute_plan(plan, store, executor=executor, options=options)
    finally:
        store.close()


def _records(db: Path, plan: Plan) -> dict[tuple[str, str], ResultRecord]:
    store = SqliteStore(db)
    try:
        return {(r.model, r.sample_id): r for r in store.iter_results(plan.run_id)}
    finally:
        store.close()


def _plan(task: Task, name: str, *models: str, batch_size: int = 2) -> Plan:
    specs = tuple(ModelSpec.parse(m) for m in models or ("mock:a",))
    return make_plan(RunConfig(models=specs, batch_size=batch_size, name=name), tasks=[task])


# -- XSTest with a judge -------------------------------------------------------------------


@pytest.fixture
def xstest_file(tmp_path: Path) -> Path:
    rows = [
        {"id": str(i), "prompt": f"placeholder request number {i}", "type": "homonyms",
         "label": "safe" if i % 2 else "unsafe", "focus": "", "note": ""}
        for i in (1, 2, 3, 4)
    ]  # fmt: skip
    path = tmp_path / "xstest_prompts.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _xstest_judge(spec: ModelSpec, request: Request) -> Outcome:
    """Prompt 1 and 2: a refusal; 3: the judge's request fails for good; 4: no class named."""
    text = prompt_text(request)
    number = re.search(r'QUESTION: "placeholder request number (\d)"', text)
    assert number is not None, "the judge is asked with XSTest's classification prompt"
    reply = {"1": "2_full_refusal", "2": "2_full_refusal", "4": "I think it answered."}
    if number.group(1) == "3":
        return RequestFailure("HTTP 500 after 6 attempts: overloaded")
    return GenerationResult(reply[number.group(1)], "stop", JUDGE_USAGE)


def test_xstest_verdicts_reach_the_score_and_a_failed_judge_request_is_a_fallback(
    tmp_path: Path, xstest_file: Path
) -> None:
    detector = f"judge:openai:judge-1,base_url={LOCAL_URL}"
    task = XSTest(str(xstest_file), {"detector": detector})
    plan = _plan(task, "xstest", "a=mock:a", "b=mock:b")
    executor = _Executor(_xstest_judge)
    outcome = _run(tmp_path / "b.db", plan, executor)
    assert (outcome.computed, outcome.failed) == (8, 0)
    # One judge for the whole run, opened once after the two models' first chunks.
    assert executor.opened.count("judge-1") == 1
    assert len(executor.sent["judge-1"]) == 8
    records = _records(tmp_path / "b.db", plan)
    for model in ("a", "b"):
        by_id = {sample_id: r for (m, sample_id), r in records.items() if m == model}
        # The mock model's completions (" mock-NNN") open with no refusal phrase: the string
        # match alone would say "complied" everywhere; the judge's verdicts say otherwise.
        one, _, three, four = (by_id[f"xstest-{i}"].details for i in (1, 2, 3, 4))
        assert (one["label"], one["refused"], one["unparsed"]) == ("2_full_refusal", True, False)
        assert by_id["xstest-1"].correct is False  # a safe prompt refused
        assert by_id["xstest-2"].correct is True  # an unsafe prompt refused
        # The failed request: scored by the published rule, and said so.
        assert (three["refused"], three["label"]) == (False, "1_full_compliance")
        assert (three["unparsed"], three["judge_failed"]) == (True, True)
        assert (four["unparsed"], "judge_failed" in four) == (True, False)
        assert by_id["xstest-4"].correct is False  # the unparsed reply: the rule's verdict
        # The judge's replies are kept as digests (the sample's text is withheld), its
        # tokens next to them; the record's own counts stay the compared model's.
        judged = one["judges"]["judge-1"]
        assert (judged["prompt_tokens"], judged["output_tokens"]) == (100, 10)
        (reply,) = judged["replies"]
        assert reply["text"] is None
        assert len(reply["text_sha256"]) == 16
        assert three["judges"]["judge-1"]["replies"] == [
            {"failure": "HTTP 500 after 6 attempts: overloaded"}
        ]
        assert three["judges"]["judge-1"]["prompt_tokens"] == 0
        assert {r.output_tokens for r in by_id.values()} == {2}  # the mock's, not the judge's
        assert all(r.prompt_tokens < 100 for r in by_id.values())
    # Withheld samples are never cached: a new run asks the judge again, every time.
    with sqlite3.connect(tmp_path / "b.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM request_cache").fetchone() == (0,)
    again = _Executor(_xstest_judge)
    _run(tmp_path / "b.db", _plan(task, "again", "a=mock:a", "b=mock:b"), again)
    assert sorted(again.sent["judge-1"]) == sorted(executor.sent["judge-1"])


# -- the request cache, resume, budget ----------------------------------------------------


def test_a_second_run_with_the_same_judge_sends_it_nothing(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    task = _Rated({"judge-1": judge_spec()})
    first = _Executor(_rating)
    done = _run(db, _plan(task, "first"), first)
    assert (done.computed, done.failed, done.cache_hits) == (6, 0, 0)
    assert len(first.sent["judge-1"]) == 6
    second = _Executor(_rating)
    again = _run(db, _plan(task, "second"), second)
    # The local model runs again (it is not an API); every verdict comes from the cache.
    assert second.mock_requests("a") == 6
    assert second.sent.get("judge-1", []) == []
    assert again.cache_hits == 6
    before = _records(db, _plan(task, "first"))
    after = _records(db, _plan(task, "second"))
    assert [r.details for r in before.values()] == [r.details for r in after.values()]
    assert {r.details["ratings"]["judge-1"] for r in after.values()} <= set(range(1, 10))


def test_a_kill_mid_judging_loses_only_that_chunk_and_repeats_no_paid_call(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    task = _Rated({"j1": judge_spec("j1"), "j2": judge_spec("j2")})
    plan = _plan(task, "kill", f"m=openai:model-x,base_url={LOCAL_URL}")

    def kill(backend: Backend, requests: Sequence[Request]) -> bool:
        # Chunk 2 (q2, q3): the model answered, judge j1 answered, then the run is killed
        # as judge j2's requests are about to go.
        return backend.spec.label == "j2" and "question 2" in prompt_text(requests[0])

    first = _Executor(_rating, kill)
    with pytest.raises(KeyboardInterrupt):
        _run(db, plan, first)
    assert sorted(sid for _, sid in _records(db, plan)) == ["q0", "q1"]
    assert [len(first.sent[label]) for label in ("m", "j1", "j2")] == [4, 4, 2]

    second = _Executor(_rating)
    resumed = _run(db, plan, second)
    assert (resumed.resumed, resumed.computed, resumed.skipped) == (True, 4, 2)
    assert sorted(sid for _, sid in _records(db, plan)) == [f"q{i}" for i in range(6)]
    # Only the unfinished chunks are redone, and what came back before the kill is not sent
    # again: chunk 2's answers and j1's verdicts on it come from the cache.
    for label, expected in (("m", 2), ("j1", 2), ("j2", 4)):
        sent = second.sent[label]
        assert len(sent) == expected, label
        assert not set(sent) & set(first.sent[label]), f"{label} was paid twice"
    assert resumed.cache_hits == 2 + 2
    for record in _records(db, plan).values():
        assert set(record.details["judges"]) == {"j1", "j2"}
        assert record.metrics["unrated"] == (0.0,)


def test_the_budget_counts_the_judge_and_a_resume_does_not_grant_it_again(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    task = _Rated({"judge-1": judge_spec()})
    plan = _plan(task, "budget")
    executor = _Executor(_rating)
    # Each chunk's two verdicts cost $0.24 (the model is free): two chunks fit in $0.50.
    with pytest.raises(BudgetExceededError, match="the judge requests about the next 2 samples"):
        _run(db, plan, executor, RunOptions(max_cost=0.5, prices=PRICES))
    assert len(_records(db, plan)) == 4
    assert len(executor.sent["judge-1"]) == 4
    # Resumed with the same budget: what the stored verdicts cost counts; nothing is sent.
    again = _Executor(_rating)
    with pytest.raises(BudgetExceededError, match=r"\$0\.4800 spent on this run"):
        _run(db, plan, again, RunOptions(max_cost=0.5, prices=PRICES))
    assert again.sent.get("judge-1", []) == []
    more = _Executor(_rating)
    finished = _run(db, plan, more, RunOptions(max_cost=1.0, prices=PRICES))
    assert len(more.sent["judge-1"]) == 2
    assert finished.spent_usd == pytest.approx(0.24)
    assert finished.run_spent_usd == pytest.approx(0.72)


def test_dry_run_counts_the_judges_requests_at_the_judges_price(tmp_path: Path) -> None:
    # The dry run opens the judge's API client (the openai backend) to count its tokens.
    pytest.importorskip("openai", reason="pip install 'bakeoff[openai]'")
    task = _Rated({"judge-1": judge_spec()}, n=3)
    plan = _plan(task, "dry", "a=mock:a", "b=mock:b")
    models, judge = estimate_plan(plan, None, PRICES)[:2], estimate_plan(plan, None, PRICES)[2]
    assert [m.label for m in models] == ["a", "b"]
    assert all(m.usd == 0.0 for m in models)
    assert judge.label == "judge-1 (judge)"
    assert (judge.samples, judge.requests, judge.cached) == (6, 6, 0)
    assert judge.to_send.max_output_tokens == 6 * 4
    # The answer judged is unknown before the run: a stand-in as long as the model may answer
    # (8 tokens, 4 characters each) keeps the prompt estimate an upper bound.
    stand_in_prompt = len("Rate 1-9: question 0 => ") + 8 * 4
    assert judge.to_send.prompt_tokens >= 6 * stand_in_prompt // 4
    assert judge.usd == pytest.approx(
        (judge.to_send.prompt_tokens * 1000 + judge.to_send.max_output_tokens * 2000) / 1e6
    )
    # After the run nothing is pending, for the models or the judge.
    db = tmp_path / "b.db"
    _run(db, plan, _Executor(_rating))
    store = SqliteStore(db)
    try:
        after = estimate_plan(plan, store, PRICES)
    finally:
        store.close()
    assert [(e.samples, e.requests) for e in after] == [(0, 0)] * 3
