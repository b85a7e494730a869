"""Run a plan: for each model, for each task, score the samples not yet stored, and store them.

Resume is exact because (1) sample ids are stable, (2) only samples without an "ok" result are
sent, and (3) a chunk's records are committed in one transaction: a kill between commits loses
at most the chunk in flight, which is then recomputed; it never leaves half a chunk or a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bakeoff.backends.base import Backend, ModelSpec, preflight
from bakeoff.core.records import ResultRecord
from bakeoff.core.types import RequestFailure, Result, Sample, result_to_dict, total_usage
from bakeoff.runner.executor import Executor, LocalExecutor, Outcome
from bakeoff.runner.plan import Plan
from bakeoff.storage.base import Store
from bakeoff.storage.sqlite import now_iso
from bakeoff.tasks.base import Task


class ProgressSink(Protocol):
    """Where the runner reports progress (the CLI renders it with rich)."""

    def model_loading(self, model: str) -> None: ...

    def task_started(self, model: str, task: str, total: int, done: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def task_finished(self, model: str, task: str) -> None: ...


class SilentProgress:
    def model_loading(self, model: str) -> None:
        pass

    def task_started(self, model: str, task: str, total: int, done: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def task_finished(self, model: str, task: str) -> None:
        pass


@dataclass(slots=True)
class RunOutcome:
    run_id: str
    resumed: bool
    computed: int = 0
    skipped: int = 0
    failed: int = 0
    per_model: dict[str, int] = field(default_factory=dict)


def execute_plan(
    plan: Plan,
    store: Store,
    executor: Executor | None = None,
    progress: ProgressSink | None = None,
) -> RunOutcome:
    executor = executor or LocalExecutor()
    progress = progress or SilentProgress()
    for spec in plan.models:
        preflight(spec)
    run, models, tasks, samples = plan.records()
    resumed = store.create_or_resume_run(run, models, tasks, samples)
    outcome = RunOutcome(plan.run_id, resumed)
    try:
        for spec in plan.models:
            _run_model(plan, spec, store, executor, progress, outcome)
    except BaseException:
        store.set_status(plan.run_id, "interrupted")
        raise
    store.set_status(plan.run_id, "complete" if outcome.failed == 0 else "incomplete")
    return outcome


def _run_model(
    plan: Plan,
    spec: ModelSpec,
    store: Store,
    executor: Executor,
    progress: ProgressSink,
    outcome: RunOutcome,
) -> None:
    pending = {task.name: _pending(store, plan, spec.label, task) for task in plan.tasks}
    if not any(pending.values()):
        outcome.skipped += sum(len(plan.samples[t.name]) for t in plan.tasks)
        return  # Nothing to do: do not even load the model.
    progress.model_loading(spec.label)
    backend = executor.open(spec)
    try:
        store.record_model_info(plan.run_id, spec.label, backend.info().as_dict())
        for task in plan.tasks:
            todo = pending[task.name]
            total = len(plan.samples[task.name])
            outcome.skipped += total - len(todo)
            progress.task_started(spec.label, task.name, total, total - len(todo))
            for chunk in _chunks(todo, plan.batch_size):
                records = _run_chunk(plan.run_id, spec.label, task, chunk, backend, executor)
                store.save_results(records)
                failed = sum(r.status == "failed" for r in records)
                outcome.failed += failed
                outcome.computed += len(records)
                outcome.per_model[spec.label] = outcome.per_model.get(spec.label, 0) + len(records)
                progress.advance(len(records))
            progress.task_finished(spec.label, task.name)
    finally:
        backend.close()


def _pending(store: Store, plan: Plan, model: str, task: Task) -> list[Sample]:
    done = store.finished_sample_ids(plan.run_id, model, task.name)
    return [s for s in plan.samples[task.name] if s.id not in done]


def _chunks(items: Sequence[Sample], size: int) -> Iterator[Sequence[Sample]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _run_chunk(
    run_id: str,
    model: str,
    task: Task,
    chunk: Sequence[Sample],
    backend: Backend,
    executor: Executor,
) -> list[ResultRecord]:
    per_sample = [task.requests(sample) for sample in chunk]
    flat = [request for requests in per_sample for request in requests]
    outcomes = executor.execute(backend, flat)
    records = []
    offset = 0
    for sample, requests in zip(chunk, per_sample, strict=True):
        mine = outcomes[offset : offset + len(requests)]
        offset += len(requests)
        records.append(_record(run_id, model, task, sample, mine))
    return records


def _record(
    run_id: str, model: str, task: Task, sample: Sample, outcomes: Sequence[Outcome]
) -> ResultRecord:
    failures = [o for o in outcomes if isinstance(o, RequestFailure)]
    if failures:
        return ResultRecord(
            run_id=run_id,
            model=model,
            task=task.name,
            sample_id=sample.id,
            status="failed",
            error="; ".join(sorted({f.reason for f in failures})),
            created_at=now_iso(),
        )
    results: list[Result] = [o for o in outcomes if not isinstance(o, RequestFailure)]
    score = task.score(sample, results)
    usage = total_usage(results)
    return ResultRecord(
        run_id=run_id,
        model=model,
        task=task.name,
        sample_id=sample.id,
        status="ok",
        prediction=score.prediction,
        target=score.target,
        correct=score.correct,
        metrics=score.metric_inputs,
        details=score.details,
        outputs=tuple(result_to_dict(r) for r in results),
        prompt_tokens=usage.prompt_tokens,
        output_tokens=usage.output_tokens,
        prompt_seconds=usage.prompt_seconds,
        output_seconds=usage.output_seconds,
        cached_prompt_tokens=usage.cached_prompt_tokens,
        created_at=now_iso(),
    )
