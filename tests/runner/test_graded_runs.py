"""MT-Bench through the real runner: two turns as a conversation, then each turn graded.

The compared model and the judge are API backends answered by Python functions (no socket), so
their replies go through the request cache; the executor runs each batch as it is submitted, so a
simulated kill lands at the same place on every run. The questions are made up for the test.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.helpers_scripted_api import LOCAL_URL, ScriptedApi, prompt_text
from tests.tasks.test_open_ended import write_mt_bench

from bakeoff.backends.base import Backend
from bakeoff.cli.main import main
from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelSpec
from bakeoff.core.records import ResultRecord
from bakeoff.core.types import GenerateRequest, GenerationResult, Request, Usage
from bakeoff.pricing.catalog import PriceCatalog
from bakeoff.runner.dry_run import estimate_plan
from bakeoff.runner.executor import Executor, LocalExecutor, Outcome
from bakeoff.runner.plan import Plan, RunConfig, make_plan
from bakeoff.runner.run import execute_plan
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.open_ended.mt_bench import MtBench
from bakeoff.tasks.open_ended.rubric import RubricTask

Reply = Callable[[ModelSpec, Request], Outcome]


class _Scripted(ScriptedApi):
    def __init__(self, spec: ModelSpec, reply: Reply) -> None:
        super().__init__(spec, lambda s, r: GenerationResult(""))
        self.reply = reply
        self.requests: list[Request] = []

    async def send(self, client: Any, request: Request) -> Outcome:
        self.prompts.append(prompt_text(request))
        self.requests.append(request)
        return self.reply(self.spec, request)


class _Executor(LocalExecutor):
    """Every spec a scripted API answered by ``reply`` (default :func:`_reply`);
    ``kill(label, requests)`` True stops the run, as Ctrl-C would."""

    def __init__(
        self,
        kill: Callable[[str, Sequence[Request]], bool] | None = None,
        reply: Reply | None = None,
    ) -> None:
        self.kill = kill
        self.reply = reply or _reply
        self.sent: dict[str, list[Request]] = {}

    def open(self, spec: ModelSpec) -> Backend:
        backend = _Scripted(spec, self.reply)
        backend.requests = self.sent.setdefault(spec.label, [])
        return backend

    def submit(
        self, backend: Backend, requests: Sequence[Request]
    ) -> concurrent.futures.Future[list[Outcome]]:
        if self.kill is not None and self.kill(backend.spec.label, requests):
            raise KeyboardInterrupt
        return Executor.submit(self, backend, requests)

    def max_in_flight(self, backend: Backend) -> int:
        return 1


def _reply(spec: ModelSpec, request: Request) -> Outcome:
    """The model answers 'A<n>' for its n-th turn; the judge grades the first turn 9 and the
    second 3, cannot be read about question 3's second turn, and grades a control's reference
    10 and its worse answer 2."""
    assert isinstance(request, GenerateRequest)
    text = prompt_text(request)
    if spec.label != "judge":
        turn = sum(1 for m in request.prompt if m.role == "user")
        return GenerationResult(f"{spec.label}-A{turn}", "stop", Usage(10, 3))
    second = "second question" in text
    if second and "In place?" in text:
        return GenerationResult("hard to say", "stop", Usage(100, 10))
    answer = text.partition("[The Start of the Assistant's Answer]\n")[2].partition("\n[The")[0]
    question = text.partition("[Question]\n")[2].partition("\n")[0]
    if (question, answer) in {("What is 2+2?", "4"), ("Reverse a list.", "xs[::-1]")}:
        return GenerationResult("Rating: [[10]]", "stop", Usage(100, 10))  # the right reference
    if not second and not answer.startswith(("a-", "b-")):  # a control's worse answer
        return GenerationResult("Rating: [[2]]", "stop", Usage(100, 10))
    return GenerationResult(f"Rating: [[{3 if second else 9}]]", "stop", Usage(100, 10))


def _plan(folder: Path, *models: str, judges: Sequence[str] = ("judge",)) -> Plan:
    specs = tuple(ModelSpec.parse(f"{m}=openai:{m},base_url={LOCAL_URL}") for m in models)
    judge_specs = tuple(ModelSpec.parse(f"{j}=openai:{j},base_url={LOCAL_URL}") for j in judges)
    config = RunConfig(models=specs, batch_size=2, judges=judge_specs)
    return make_plan(config, tasks=[MtBench(str(folder))])


def _records(db: Path, plan: Plan) -> dict[tuple[str, str], ResultRecord]:
    store = SqliteStore(db)
    try:
        return {(r.model, r.sample_id): r for r in store.iter_results(plan.run_id)}
    finally:
        store.close()


def _run(db: Path, plan: Plan, executor: _Executor) -> Any:
    store = SqliteStore(db)
    try:
        return execute_plan(plan, store, executor=executor)
    finally:
        store.close()


def test_second_turn_sees_the_first_answer_and_each_turn_is_graded(tmp_path: Path) -> None:
    plan = _plan(write_mt_bench(tmp_path / "mt"), "a", "b")
    executor = _Executor()
    outcome = _run(tmp_path / "r.db", plan, executor)
    assert (outcome.computed, outcome.failed) == (6, 0)
    # Each model: 3 first turns, then 3 second turns that hold its own first answer.
    sent_a = executor.sent["a"]
    assert len(sent_a) == 6
    second_turns = [r for r in sent_a if isinstance(r, GenerateRequest) and len(r.prompt) == 3]
    assert len(second_turns) == 3
    assert all(r.prompt[1].role == "assistant" for r in second_turns)
    assert {r.prompt[1].content for r in second_turns} == {"a-A1"}
    # The judge graded 2 turns x 3 questions x 2 models, the second with the whole conversation,
    # and the 2 control pairs (the made-up file has 2 reference questions): 4 prompts, sent once,
    # then answered from the request cache (the same text for every question and model).
    sent = [prompt_text(r) for r in executor.sent["judge"]]
    assert len(sent) == 12 + 4
    assert len(set(sent)) == len(sent)
    records = _records(tmp_path / "r.db", plan)
    math = records[("a", "2")]
    assert [o["text"] for o in math.outputs] == ["a-A1", "a-A2"]
    assert math.metrics["turn1"] == (9.0, 1.0)
    assert math.metrics["turn2"] == (3.0, 1.0)
    assert math.metrics["score"] == (6.0, 1.0)
    coding = records[("b", "3")]
    assert coding.metrics["turn2"] == (0.0, 0.0)  # the unreadable verdict: no grade at all
    assert coding.metrics["unparsable"] == (0.5,)
    assert coding.details["grades"] == {"judge": [9.0, None]}
    assert coding.details["judges"]["judge"]["prompt_tokens"] == 400  # 2 turns, 2 controls
    assert coding.prompt_tokens == 20  # the model's own two turns, not the judge's
    # The judge told each control's reference from the worse answer: sanity passed.
    assert coding.details["sanity"] == {"judge": True}
    assert all(r.metrics["sanity_judge"] == (1.0,) for r in records.values())
    judge_prompts = [prompt_text(r) for r in executor.sent["judge"]]
    assert sum("Reference" in p for p in judge_prompts) == 8  # math and coding, both models


def test_a_kill_between_the_turns_loses_nothing_paid_for(tmp_path: Path) -> None:
    folder = write_mt_bench(tmp_path / "mt")
    plan = _plan(folder, "a")

    def second_turn(label: str, requests: Sequence[Request]) -> bool:
        return label == "a" and any(
            isinstance(r, GenerateRequest) and len(r.prompt) == 3 for r in requests
        )

    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "r.db", plan, _Executor(kill=second_turn))
    assert _records(tmp_path / "r.db", plan) == {}
    again = _Executor()
    outcome = _run(tmp_path / "r.db", plan, again)
    assert (outcome.computed, outcome.failed) == (3, 0)
    # The first chunk's first turns came from the request cache; only the question of the
    # chunk never sent asks its first turn now.
    firsts = [r for r in again.sent["a"] if isinstance(r, GenerateRequest) and len(r.prompt) == 1]
    assert [r.prompt[0].content for r in firsts] == ["Reverse a list."]
    # The 2 first turns paid for before the kill, and question 3's control pair, the same
    # texts as question 1's (the file has 2 reference questions), judged earlier in this run.
    assert outcome.cache_hits == 4
    # A rerun with every reply cached sends nothing at all.
    fresh = _Executor()
    plan_b = make_plan(
        RunConfig(models=plan.models, batch_size=2, judges=tuple(plan.tasks[0].judges().values()),
                  name="again"),
        tasks=[MtBench(str(folder))],
    )  # fmt: skip
    _run(tmp_path / "r.db", plan_b, fresh)
    assert all(sent == [] for sent in fresh.sent.values())


def test_local_models_go_through_both_turns_too(tmp_path: Path) -> None:
    folder = write_mt_bench(tmp_path / "mt")
    config = RunConfig(models=(ModelSpec.parse("m=mock:m"),), judges=(ModelSpec.parse("j=mock:j"),))
    plan = make_plan(config, tasks=[MtBench(str(folder))])
    store = SqliteStore(tmp_path / "r.db")
    try:
        outcome = execute_plan(plan, store)
        records = list(store.iter_results(plan.run_id))
    finally:
        store.close()
    assert (outcome.computed, outcome.failed) == (3, 0)
    assert all(len(r.outputs) == 2 for r in records)
    # The mock judge never writes a grade: every verdict unparsable, none counted as a grade.
    assert all(r.metrics["unparsable"] == (1.0,) for r in records)
    assert all(r.metrics["score"] == (0.0, 0.0) for r in records)


def test_judges_and_graded_tasks_must_come_together(tmp_path: Path) -> None:
    folder = write_mt_bench(tmp_path / "mt")
    models = (ModelSpec.parse("m=mock:m"),)
    with pytest.raises(ConfigError, match="add --judge"):
        make_plan(RunConfig(models=models), tasks=[MtBench(str(folder))])
    with pytest.raises(ConfigError, match="no task is graded by judges"):
        make_plan(RunConfig(models=models, task_specs=("copy",), judges=models))
    with pytest.raises(ConfigError, match="two judges share the label"):
        make_plan(RunConfig(models=models, judges=models + models), tasks=[MtBench(str(folder))])


def test_cli_run_with_judge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_mt_bench(tmp_path / "mt")
    db = tmp_path / "cli.db"
    args = ["run", "-m", "a=mock:a", "-t", f"mt-bench:{folder}", "--db", str(db)]
    assert main([*args, "--judge", "j=mock:j", "--limit", "2"]) == 0
    assert main(args) == 2  # no judge: one line, nothing stored
    assert "add --judge" in capsys.readouterr().err
    store = SqliteStore(db)
    try:
        (run,) = store.list_runs()
        records = list(store.iter_results(run.run_id))
    finally:
        store.close()
    assert len(records) == 2
    assert re.search(r"mock-\d+", json.dumps(records[0].details["judges"]))


def test_dry_run_counts_both_turns_and_every_judge_request(tmp_path: Path) -> None:
    # The dry run opens the models' and judges' API clients (the openai backend).
    pytest.importorskip("openai", reason="pip install 'bakeoff[openai]'")
    plan = _plan(write_mt_bench(tmp_path / "mt"), "a")
    catalog = PriceCatalog({}, {}, "none", {}, "test prices")
    model, judge = estimate_plan(plan, None, catalog)
    assert (model.samples, model.requests, model.cached) == (3, 6, 0)
    assert (judge.samples, judge.requests) == (3, 12)  # 2 turns and a control pair each


def test_rubric_answers_are_graded_against_the_rubric(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    rows = [
        {"prompt": "Explain DNS.", "rubric": "Mentions resolvers."},
        {"prompt": "Name a prime.", "rubric": "Names a prime number."},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    def reply(spec: ModelSpec, request: Request) -> Outcome:
        text = prompt_text(request)
        if spec.label != "judge":
            return GenerationResult("7 is prime" if "prime" in text else "no idea")
        return GenerationResult("Rating: [[9]]" if "7 is prime" in text else "Rating: [[2]]")

    models = (ModelSpec.parse(f"m=openai:m,base_url={LOCAL_URL}"),)
    judges = (ModelSpec.parse(f"judge=openai:judge,base_url={LOCAL_URL}"),)
    plan = make_plan(
        RunConfig(models=models, judges=judges), tasks=[RubricTask(str(path), {"name": "mine"})]
    )
    executor = _Executor(reply=reply)
    _run(tmp_path / "r.db", plan, executor)
    records = _records(tmp_path / "r.db", plan)
    assert records[("m", "line-1")].metrics["score"] == (2.0, 1.0)
    assert records[("m", "line-2")].metrics["score"] == (9.0, 1.0)
    (first, _) = [prompt_text(r) for r in executor.sent["judge"]]
    assert "[Rubric]\nMentions resolvers." in first
