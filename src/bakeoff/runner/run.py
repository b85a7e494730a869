"""Run a plan: for each model, for each task, score the samples not yet stored, and store them.

Resume is exact because (1) sample ids are stable, (2) only samples without an "ok" result are
sent, and (3) a chunk's records are committed in one transaction: a kill between commits loses
at most the chunks in flight, which are then recomputed; it never leaves half a chunk or a
duplicate.

API backends get several chunks in flight at once (see executor.py), so ``concurrency``
requests stay on the wire; chunks are stored as they complete, in any order. Their responses go
to the request cache (cache.py) with the chunk, so work that was paid for is never paid twice,
and the ``--max-cost`` budget (budget.py) is checked before each chunk is sent.

A judged task's chunk has a second stage: once its model results are in, each judge's requests
about its samples are sent the same way (judging.py); the chunk is stored after the last reply.
A multi-turn task's later turns go back to the model first, as further stages (turns.py).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bakeoff.backends._api import ApiBackend
from bakeoff.backends.base import Backend, preflight
from bakeoff.core.errors import BudgetExceededError, UnsupportedRequestError
from bakeoff.core.model import ModelSpec
from bakeoff.core.records import ResultRecord, now_iso
from bakeoff.core.types import (
    JSONValue,
    Request,
    RequestFailure,
    RequestKind,
    Result,
    Sample,
    total_usage,
)
from bakeoff.pricing.catalog import CatalogSpecs, Price, PriceCatalog
from bakeoff.runner import cache, fallback, turns
from bakeoff.runner.budget import (
    Budget,
    model_ref,
    price_for,
    reserve_usd,
    settle_sent,
    stored_cost,
)
from bakeoff.runner.chunk import Chunk as _Chunk
from bakeoff.runner.executor import Executor, LocalExecutor, Outcome
from bakeoff.runner.judging import (
    JudgeBatch,
    JudgeContext,
    Judges,
    check_supported,
    judge_details,
    preflight_judges,
    prepare_batches,
    run_judges,
    stored_judge_cost,
)
from bakeoff.runner.plan import Plan
from bakeoff.storage.base import CacheEntry, Store
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


@dataclass(frozen=True, slots=True)
class RunOptions:
    use_cache: bool = True
    """Answer requests from the request cache and store new responses in it."""
    max_cost: float | None = None
    """Stop before sending what could take the run's spending (earlier invocations included)
    past this many dollars."""
    prices: PriceCatalog | None = None
    """Where prices come from (default: the offline catalog, $BAKEOFF_PRICES overrides)."""


@dataclass(slots=True)
class RunOutcome:
    run_id: str
    resumed: bool
    computed: int = 0
    skipped: int = 0
    failed: int = 0
    per_model: dict[str, int] = field(default_factory=dict)
    cache_hits: int = 0
    """Requests answered from the request cache (nothing sent)."""
    requests_sent: int = 0
    """HTTP requests the API backends sent, retries included."""
    retries: int = 0
    spent_usd: float = 0.0
    """What this invocation's requests cost."""
    run_spent_usd: float = 0.0
    """What the run's finished samples cost, earlier invocations included (the budget's count)."""
    fallback_tasks: dict[str, list[str]] = field(default_factory=dict)
    """model -> tasks scored by answer letter because the backend has no log-likelihoods."""
    rate_limits: dict[str, dict[str, str]] = field(default_factory=dict)  # model -> limits seen


def execute_plan(
    plan: Plan,
    store: Store,
    executor: Executor | None = None,
    progress: ProgressSink | None = None,
    options: RunOptions | None = None,
) -> RunOutcome:
    executor = executor or LocalExecutor()
    progress = progress or SilentProgress()
    options = options or RunOptions()
    for spec in plan.models:
        preflight(spec)
    preflight_judges(plan)
    catalog = options.prices or PriceCatalog.load()
    prices = model_prices(plan, options, catalog)
    run, models, tasks, samples = plan.records()
    resumed = store.create_or_resume_run(run, models, tasks, samples)
    # The budget covers the run, not this invocation: what a resumed run already spent counts.
    budget = Budget(options.max_cost, spent_before(plan, store, prices) if resumed else 0.0)
    outcome = RunOutcome(plan.run_id, resumed)
    judges = Judges(executor, prices, progress.model_loading)
    try:
        for spec in plan.models:
            specs = catalog.specs(model_ref(spec))
            money = _Money(prices[spec.label], budget, options.use_cache, specs)
            _ModelRun(plan, spec, store, executor, progress, outcome, money, judges).run()
    except BaseException:
        store.set_status(plan.run_id, "interrupted")
        raise
    finally:
        sent, retries = judges.close()
        outcome.requests_sent += sent
        outcome.retries += retries
        outcome.spent_usd = budget.spent_now
        outcome.run_spent_usd = budget.spent
    store.set_status(plan.run_id, "complete" if outcome.failed == 0 else "incomplete")
    return outcome


def spent_before(plan: Plan, store: Store, prices: dict[str, Price | None]) -> float:
    """What the run's finished samples already cost, from the token counts stored with them
    (a judge's in the record's details, at the judge's price)."""
    total = 0.0
    for spec in plan.models:
        price = prices.get(spec.label)
        for task in plan.tasks:
            judged = bool(task.judges())
            if price is None and not judged:
                continue
            by_id = {s.id: s for s in plan.samples[task.name]}
            for record in store.iter_results(plan.run_id, task=task.name, model=spec.label):
                sample = by_id.get(record.sample_id)
                requests = task.requests(sample) if sample and not record.prompt_tokens else None
                total += stored_cost(price, record, requests)
                if judged:
                    total += stored_judge_cost(task, record, prices)
    return total


def model_prices(
    plan: Plan, options: RunOptions, catalog: PriceCatalog | None = None
) -> dict[str, Price | None]:
    """Each model's price by label, each judge's by its key (judging.judge_key); ConfigError
    when ``--max-cost`` is set and a paid API has none."""
    catalog = catalog or options.prices or PriceCatalog.load()
    required = options.max_cost is not None
    prices = {spec.label: price_for(spec, catalog, required=required) for spec in plan.models}
    for key, spec in run_judges(plan).items():
        prices[key] = price_for(spec, catalog, required=required)
    return prices


@dataclass(frozen=True, slots=True)
class _Money:
    price: Price | None
    budget: Budget
    use_cache: bool
    specs: CatalogSpecs | None = None
    """The price catalog's specs of the model, for what its server does not report."""


class _ModelRun:
    """One model through every task of the plan."""

    def __init__(
        self,
        plan: Plan,
        spec: ModelSpec,
        store: Store,
        executor: Executor,
        progress: ProgressSink,
        outcome: RunOutcome,
        money: _Money,
        judges: Judges,
    ) -> None:
        self.plan, self.spec, self.store = plan, spec, store
        self.executor, self.progress, self.outcome = executor, progress, outcome
        self.price, self.budget, self.use_cache = money.price, money.budget, money.use_cache
        self.specs = money.specs
        self.judges = judges

    def run(self) -> None:
        plan = self.plan
        pending = {task.name: self._pending(task) for task in plan.tasks}
        if not any(pending.values()):
            self.outcome.skipped += sum(len(plan.samples[t.name]) for t in plan.tasks)
            return  # Nothing to do: do not even load the model.
        self.progress.model_loading(self.spec.label)
        backend = self.executor.open(self.spec)
        try:
            lettered = [t.name for t in plan.tasks if fallback.applies(t, backend)]
            self._record_info(backend, lettered)
            for task in plan.tasks:
                todo = pending[task.name]
                total = len(plan.samples[task.name])
                self.outcome.skipped += total - len(todo)
                self.progress.task_started(self.spec.label, task.name, total, total - len(todo))
                _TaskRun(self, backend, task, task.name in lettered).run(todo)
                self.progress.task_finished(self.spec.label, task.name)
        finally:
            self.outcome.retries += int(getattr(backend, "retries", 0))
            self.outcome.requests_sent += int(getattr(backend, "requests_sent", 0))
            self.outcome.rate_limits[self.spec.label] = dict(getattr(backend, "rate_limits", {}))
            backend.close()

    def _pending(self, task: Task) -> list[Sample]:
        done = self.store.finished_sample_ids(self.plan.run_id, self.spec.label, task.name)
        return [s for s in self.plan.samples[task.name] if s.id not in done]

    def _record_info(self, backend: Backend, lettered: list[str]) -> None:
        info = backend.info().as_dict()
        if self.specs is not None:
            info = self.specs.fill(info)
        extra: dict[str, Any] = dict(info.get("extra") or {})
        if self.price is not None:
            extra.update(self.price.info_fields())
        if lettered:
            extra["task_formulations"] = dict.fromkeys(lettered, fallback.FORMULATION_LABEL)
            self.outcome.fallback_tasks[self.spec.label] = lettered
        info["extra"] = extra
        self.store.record_model_info(self.plan.run_id, self.spec.label, info)


class _TaskRun:
    """One task's pending samples for one model, several chunks in flight when it helps.

    A future in flight is a chunk's model stage (batch None) or one judge's batch of it. A chunk
    whose judge batches the budget cannot cover yet waits in ``deferred`` while what is in
    flight settles; with nothing left in flight it stops the run (BudgetExceededError).
    """

    def __init__(self, model: _ModelRun, backend: Backend, task: Task, lettered: bool) -> None:
        self.model, self.backend, self.task, self.lettered = model, backend, task, lettered
        self.limit = model.executor.max_in_flight(backend)
        self.in_flight: dict[
            concurrent.futures.Future[list[Outcome]], tuple[_Chunk, JudgeBatch | None]
        ] = {}
        self.deferred: list[_Chunk] = []
        self.cacheable = model.use_cache and isinstance(backend, ApiBackend)
        # An answer-letter reformulation is scored without the judges (its results are letters).
        self.judged = bool(task.judges()) and not lettered

    def run(self, todo: Sequence[Sample]) -> None:
        try:
            size = self.model.plan.batch_size or self.backend.chunk_samples(self.task.kind)
            for samples in _chunks(todo, size):
                chunk = self._prepare(samples)
                if not self._reserve(chunk):
                    self._collect(wait_all=True)
                    raise self._budget_error(chunk)
                self._send(chunk)
                self._collect(wait_all=False)
                while self._busy():
                    self._collect(wait_all=False, block=True)
            self._collect(wait_all=True)
        except BaseException:
            self._salvage()
            for future in self.in_flight:
                future.cancel()
            raise

    def _salvage(self) -> None:
        """On the way out (a kill, a fatal error), keep in the request cache what already came
        back: a paid reply is not paid again by the resume, even if its chunk is not stored."""
        with contextlib.suppress(Exception):  # the error on its way out is the one to see
            for future, (chunk, batch) in self.in_flight.items():
                if not future.done() or future.cancelled() or future.exception() is not None:
                    continue
                if batch is None:
                    self._merge(chunk, future.result())
                    entries = self._cache_entries(chunk)
                else:
                    batch.merge(future.result(), self.model.budget)
                    entries = batch.cache_entries()
                if entries:
                    self.model.store.cache_responses(entries)

    # -- preparing -----------------------------------------------------------------------

    def _requests_for(self, sample: Sample) -> list[Request]:
        if not self.lettered:
            return self.task.requests(sample)
        request = fallback.letter_request(self.task, sample)
        if request is None:
            raise UnsupportedRequestError(self.backend._unsupported(RequestKind.LOGLIKELIHOOD))
        return [request]

    def _prepare(self, samples: Sequence[Sample]) -> _Chunk:
        per_sample = [self._requests_for(sample) for sample in samples]
        flat = [request for requests in per_sample for request in requests]
        check_supported(self.backend, flat)
        keys = self._keys(samples, per_sample)
        hits = self.model.store.cached_responses([k for k in keys if k]) if self.cacheable else {}
        outcomes: list[Outcome | None] = [
            cache.result_from_json(hits[key]) if key in hits else None for key in keys
        ]
        self.model.outcome.cache_hits += sum(o is not None for o in outcomes)
        send = [i for i, o in enumerate(outcomes) if o is None]
        reserved = reserve_usd([flat[i] for i in send], self.model)
        return _Chunk(samples, per_sample, flat, keys, outcomes, send, reserved)

    def _keys(self, samples: Sequence[Sample], per_sample: list[list[Request]]) -> list[str | None]:
        if not self.cacheable or not isinstance(self.backend, ApiBackend):
            return [None] * sum(len(r) for r in per_sample)
        seed = int(self.model.plan.config.get("seed") or 0)
        keys: list[str | None] = []
        for sample, requests in zip(samples, per_sample, strict=True):
            if cache.withholds_text(sample):  # no key: neither looked up nor stored
                keys += [None] * len(requests)
                continue
            keys += cache.sample_keys(
                self.backend.fingerprint,
                requests,
                run_seed=seed,
                task=self.task.name,
                sample_id=sample.id,
            )
        return keys

    def _reserve(self, chunk: _Chunk) -> bool:
        budget = self.model.budget
        if budget.try_reserve(chunk.reserved):
            return True
        if self.in_flight:  # what is in flight may cost less than reserved: wait, then retry
            self._collect(wait_all=True)
            return budget.try_reserve(chunk.reserved)
        return False

    def _send(self, chunk: _Chunk) -> None:
        if not chunk.send:
            self._model_stage_done(chunk)
            return
        requests = [chunk.flat[i] for i in chunk.send]
        chunk.future = self.model.executor.submit(self.backend, requests)
        self.in_flight[chunk.future] = (chunk, None)

    # -- collecting ----------------------------------------------------------------------

    def _busy(self) -> bool:
        """Whether enough is in flight: the model's requests against its limit, the judges'
        (submitted or waiting) against theirs."""
        model = judge = 0
        for chunk, batch in self.in_flight.values():
            if batch is None:
                model += len(chunk.send)
            else:
                judge += len(batch.send)
        judge += sum(len(b.send) for chunk in self.deferred for b in chunk.batches)
        return model >= self.limit or (judge > 0 and judge >= self.model.judges.max_in_flight())

    def _collect(self, *, wait_all: bool, block: bool = False) -> None:
        self._start_deferred()
        while self.in_flight:
            if wait_all or block:
                mode = (
                    concurrent.futures.ALL_COMPLETED
                    if wait_all
                    else concurrent.futures.FIRST_COMPLETED
                )
                done, _ = concurrent.futures.wait(list(self.in_flight), return_when=mode)
            else:
                done = {f for f in self.in_flight if f.done()}
            if not done:
                return
            for future in done:
                chunk, batch = self.in_flight.pop(future)
                if batch is None:
                    self._merge(chunk, future.result())
                    self._model_stage_done(chunk)
                else:
                    self._judge_batch_done(chunk, batch, future.result())
            self._start_deferred()
            if not wait_all:
                return

    def _merge(self, chunk: _Chunk, results: list[Outcome]) -> None:
        if len(results) != len(chunk.send):
            raise RuntimeError(f"backend returned {len(results)} results for {len(chunk.send)}")
        for index, result in zip(chunk.send, results, strict=True):
            chunk.outcomes[index] = result
        requests = [chunk.flat[i] for i in chunk.send]
        settle_sent(self.model.budget, self.model.price, chunk.reserved, requests, results)

    def _model_stage_done(self, chunk: _Chunk) -> None:
        # Cached now, before any judging: a kill while judging never pays for these twice.
        entries = self._cache_entries(chunk)
        if entries:
            self.model.store.cache_responses(entries)
        if self._next_turn(chunk):
            return
        if self.judged and self._prepare_judging(chunk):
            self.deferred.append(chunk)
            self._start_deferred()
        else:
            self._finish(chunk)

    def _next_turn(self, chunk: _Chunk) -> bool:
        """A multi-turn task's next requests, built from this stage's answers (turns.py), sent
        as another stage of the chunk; True when the chunk went back to its model."""
        more = None if self.lettered else turns.next_requests(self.task, chunk)
        if more is None:
            return False
        seed = int(self.model.plan.config.get("seed") or 0)
        backend = self.backend if self.cacheable else None
        chunk.add_requests(more, turns.keys(self.task, chunk, more, backend, seed))
        self.model.outcome.cache_hits += turns.answer_from_cache(chunk, self.model.store)
        chunk.reserved = reserve_usd([chunk.flat[i] for i in chunk.send], self.model)
        if not self.model.budget.try_reserve(chunk.reserved):
            raise self._budget_error(chunk)
        self._send(chunk)
        return True

    def _prepare_judging(self, chunk: _Chunk) -> bool:
        """The chunk's judge batches; True when some of them must be sent."""
        model = self.model
        chunk.judged = [
            i
            for i in range(len(chunk.samples))
            if not any(isinstance(o, RequestFailure) for o in chunk.sample_outcomes(i))
        ]
        if not chunk.judged:
            return False
        context = JudgeContext(
            self.task,
            model.judges,
            model.store,
            model.use_cache,
            int(model.plan.config.get("seed") or 0),
        )
        samples = [chunk.samples[i] for i in chunk.judged]
        results = [_results(chunk.sample_outcomes(i)) for i in chunk.judged]
        chunk.batches, hits = prepare_batches(context, samples, results)
        model.outcome.cache_hits += hits
        return any(batch.send for batch in chunk.batches)

    def _start_deferred(self) -> None:
        """Send the judge batches of waiting chunks, in order, as the budget allows."""
        budget = self.model.budget
        while self.deferred:
            chunk = self.deferred[0]
            if not budget.try_reserve(sum(b.reserved for b in chunk.batches)):
                if self.in_flight:
                    return  # what is in flight may cost less than reserved: retry after it
                raise self._budget_error(chunk, judging=True)
            self.deferred.pop(0)
            for batch in chunk.batches:
                if not batch.send:
                    continue
                requests = [batch.flat[i] for i in batch.send]
                batch.future = self.model.executor.submit(batch.backend, requests)
                self.in_flight[batch.future] = (chunk, batch)
                chunk.judging += 1

    def _judge_batch_done(self, chunk: _Chunk, batch: JudgeBatch, results: list[Outcome]) -> None:
        batch.merge(results, self.model.budget)
        entries = batch.cache_entries()
        if entries:
            self.model.store.cache_responses(entries)
        chunk.judging -= 1
        if chunk.judging == 0:
            self._finish(chunk)

    def _finish(self, chunk: _Chunk) -> None:
        model = self.model
        records = [
            self._record(chunk, position, sample) for position, sample in enumerate(chunk.samples)
        ]
        model.store.save_results(records)
        failed = sum(r.status == "failed" for r in records)
        model.outcome.failed += failed
        model.outcome.computed += len(records)
        label = model.spec.label
        model.outcome.per_model[label] = model.outcome.per_model.get(label, 0) + len(records)
        model.progress.advance(len(records))

    def _cache_entries(self, chunk: _Chunk) -> list[CacheEntry]:
        backend, model = self.backend.name, self.model.spec.target
        return cache.entries(backend, model, chunk.flat, chunk.keys, chunk.outcomes, chunk.send)

    def _record(self, chunk: _Chunk, position: int, sample: Sample) -> ResultRecord:
        model = self.model
        base = (model.plan.run_id, model.spec.label, self.task.name, sample.id)
        outcomes = chunk.sample_outcomes(position)
        failures = [o for o in outcomes if isinstance(o, RequestFailure)]
        if failures:
            return ResultRecord(
                *base,
                status="failed",
                error="; ".join(sorted({f.reason for f in failures})),
                created_at=now_iso(),
            )
        results = _results(outcomes)
        details: dict[str, JSONValue]
        if self.lettered:
            score = fallback.score(self.task, sample, results)
            details = dict(score.details)
        elif self.judged:
            judged = chunk.judged.index(position)
            verdicts = {b.label: b.sample_outcomes(judged) for b in chunk.batches}
            score = self.task.score_judged(sample, results, verdicts)
            judges = judge_details(chunk.batches, judged, sample)
            details = {**score.details, "judges": judges}
        else:
            score = self.task.score(sample, results)
            details = dict(score.details)
        usage = total_usage(results)  # the compared model's own: a judge's is in its details
        withhold = cache.withholds_text(sample)
        return ResultRecord(
            *base,
            status="ok",
            prediction=score.prediction,
            target=score.target,
            correct=score.correct,
            metrics=score.metric_inputs,
            details=details,
            outputs=tuple(cache.stored_output(r, withhold=withhold) for r in results),
            prompt_tokens=usage.prompt_tokens,
            output_tokens=usage.output_tokens,
            prompt_seconds=usage.prompt_seconds,
            output_seconds=usage.output_seconds,
            cached_prompt_tokens=usage.cached_prompt_tokens,
            created_at=now_iso(),
            output_tokens_estimated=usage.output_tokens_estimated,
            reasoning_tokens=usage.reasoning_tokens,
            first_answer_seconds=usage.first_answer_seconds,
        )

    def _budget_error(self, chunk: _Chunk, *, judging: bool = False) -> BudgetExceededError:
        budget = self.model.budget
        reserved = sum(b.reserved for b in chunk.batches) if judging else chunk.reserved
        what = "the judge requests about the next" if judging else "the next"
        return BudgetExceededError(
            f"stopped at the cost budget: {budget.describe()}; {what} {len(chunk.samples)} "
            f"samples of {self.task.name} on {self.model.spec.label} could cost up to "
            f"${reserved:.4f}. Finished samples are stored; the budget covers the whole "
            "run, so rerun the same command with a --max-cost above what is spent to continue"
        )


def _results(outcomes: Sequence[Outcome]) -> list[Result]:
    return [o for o in outcomes if not isinstance(o, RequestFailure)]


def _chunks(items: Sequence[Sample], size: int) -> Iterator[Sequence[Sample]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
