"""``bakeoff run --dry-run``: what a run would send and what it could cost, sending nothing.

Per model: samples still to run (stored "ok" results are skipped, as in a real run), the
requests they need, how many the request cache already answers, and for the rest the
estimated prompt tokens (characters / 4), the most output tokens they may use (``max_tokens``,
plus the spec's ``thinking_budget`` per generation for a reasoning model) and the price of
that. The cost is an upper bound on output and an estimate on input.

API backends are built to compute cache keys and to know whether log-likelihood tasks will be
asked as answer letters; that opens no connection. Local backends are not loaded (that would
load the model): their requests are counted, cache keys do not apply to them.

Judges (judging.py) get one line each, after the models: their requests about every pending
sample of every model. A judge's prompt holds the model's reply, unknown before the run: where
the request cache holds the model's replies, the judge's real requests are built from them (and
looked up in the cache in turn); elsewhere from a stand-in reply of ``max_tokens`` tokens, the
longest the model may give, so the estimate stays an upper bound. A multi-turn task's later
turns (runner/turns.py) are counted the same way: built from the cached earlier answers, else
from stand-ins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bakeoff.backends._api import CHARS_PER_TOKEN, ApiBackend
from bakeoff.backends.base import BACKENDS, Backend, open_backend
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import (
    GenerateRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
    Result,
    RollingLoglikelihoodResult,
    Sample,
    TokenizeRequest,
    TokenizeResult,
)
from bakeoff.pricing.catalog import Price, PriceCatalog
from bakeoff.runner import cache, fallback
from bakeoff.runner.budget import (
    TokenEstimate,
    estimate,
    is_metered,
    price_for,
    reasoning_budget,
)
from bakeoff.runner.judging import judge_key, run_judges
from bakeoff.runner.plan import Plan
from bakeoff.storage.base import Store
from bakeoff.tasks.base import Task
from bakeoff.tasks.turns import MultiTurnTask


@dataclass(slots=True)
class ModelEstimate:
    label: str
    samples: int = 0
    requests: int = 0
    cached: int = 0
    to_send: TokenEstimate = field(default_factory=TokenEstimate)
    price: Price | None = None
    metered: bool = False
    lettered_tasks: list[str] = field(default_factory=list)

    @property
    def usd(self) -> float:
        return self.to_send.usd(self.price)


def estimate_plan(
    plan: Plan, store: Store | None, catalog: PriceCatalog, *, use_cache: bool = True
) -> list[ModelEstimate]:
    judges = {
        key: ModelEstimate(
            f"{spec.label} (judge)",
            price=price_for(spec, catalog, required=False),
            metered=is_metered(spec),
        )
        for key, spec in run_judges(plan).items()
    }
    judge_backends = {key: _api_backend(spec) for key, spec in run_judges(plan).items()}
    try:
        models = [
            _estimate_model(plan, spec, store, catalog, use_cache, (judges, judge_backends))
            for spec in plan.models
        ]
    finally:
        for backend in judge_backends.values():
            if backend is not None:
                backend.close()
    return [*models, *judges.values()]


_JudgeEstimates = tuple[dict[str, ModelEstimate], dict[str, Backend | None]]


def _api_backend(spec: ModelSpec) -> Backend | None:
    """Building an API backend opens no connection; building a local one would load the model."""
    return open_backend(spec) if issubclass(BACKENDS.load(spec.backend), ApiBackend) else None


def _estimate_model(
    plan: Plan,
    spec: ModelSpec,
    store: Store | None,
    catalog: PriceCatalog,
    use_cache: bool,
    judges: _JudgeEstimates,
) -> ModelEstimate:
    result = ModelEstimate(
        spec.label, price=price_for(spec, catalog, required=False), metered=is_metered(spec)
    )
    backend = _api_backend(spec)
    try:
        for task in plan.tasks:
            lettered = isinstance(backend, ApiBackend) and fallback.applies(task, backend)
            if lettered:
                result.lettered_tasks.append(task.name)
            for sample in _pending(plan, spec, task, store):
                requests = _requests(task, sample, lettered)
                found = _cached(plan, task, sample, requests, backend, store, use_cache)
                if not lettered:
                    args = (plan, task, sample, backend, store, use_cache)
                    requests, found = _later_turns(*args, requests, found)
                unsent = [r for r, hit in zip(requests, found, strict=True) if hit is None]
                result.samples += 1
                result.requests += len(requests)
                result.cached += len(requests) - len(unsent)
                result.to_send = result.to_send + estimate(unsent, reasoning_budget(spec))
                if task.judges() and not lettered:
                    _estimate_judges(plan, task, sample, requests, found, store, use_cache, judges)
    finally:
        if backend is not None:
            backend.close()
    return result


def _estimate_judges(
    plan: Plan,
    task: Task,
    sample: Sample,
    requests: list[Request],
    found: Sequence[Result | None],
    store: Store | None,
    use_cache: bool,
    judges: _JudgeEstimates,
) -> None:
    estimates, backends = judges
    exact = all(hit is not None for hit in found)
    results = [
        hit if hit is not None else _stand_in(request)
        for request, hit in zip(requests, found, strict=True)
    ]
    judge_requests = task.judge_requests(sample, results)
    for spec in task.judges().values():
        key = judge_key(spec)
        line = estimates[key]
        hits = (
            _cached(plan, task, sample, judge_requests, backends[key], store, use_cache)
            if exact
            else [None] * len(judge_requests)
        )
        unsent = [r for r, hit in zip(judge_requests, hits, strict=True) if hit is None]
        line.samples += 1
        line.requests += len(judge_requests)
        line.cached += len(judge_requests) - len(unsent)
        line.to_send = line.to_send + estimate(unsent)


def _later_turns(
    plan: Plan,
    task: Task,
    sample: Sample,
    backend: Backend | None,
    store: Store | None,
    use_cache: bool,
    requests: list[Request],
    found: list[Result | None],
) -> tuple[list[Request], list[Result | None]]:
    """A multi-turn task's later turns (runner/turns.py) added to the sample's requests: built
    from the cached answers where the cache has every earlier one (and looked up in turn), else
    from stand-in answers as long as allowed, so the estimate stays an upper bound."""
    if not isinstance(task, MultiTurnTask):
        return requests, found
    while True:
        results = [
            h if h is not None else _stand_in(r) for r, h in zip(requests, found, strict=True)
        ]
        more = task.next_turn(sample, results)
        if not more:
            return requests, found
        exact = all(hit is not None for hit in found)
        requests = [*requests, *more]
        found = (
            _cached(plan, task, sample, requests, backend, store, use_cache)
            if exact
            else [*found, *([None] * len(more))]
        )


def _stand_in(request: Request) -> Result:
    """A result as long as the request allows (a judge's prompt quotes it): an upper bound."""
    if isinstance(request, GenerateRequest):
        return GenerationResult("x" * (request.settings.max_tokens * CHARS_PER_TOKEN), "length")
    if isinstance(request, LoglikelihoodRequest):
        return LoglikelihoodResult(0.0, True, 1)
    if isinstance(request, TokenizeRequest):
        return TokenizeResult(1)
    return RollingLoglikelihoodResult(0.0, 1)


def _pending(plan: Plan, spec: ModelSpec, task: Task, store: Store | None) -> list[Sample]:
    samples = plan.samples[task.name]
    if store is None:
        return list(samples)
    done = store.finished_sample_ids(plan.run_id, spec.label, task.name)
    return [s for s in samples if s.id not in done]


def _requests(task: Task, sample: Sample, lettered: bool) -> list[Request]:
    if not lettered:
        return task.requests(sample)
    request = fallback.letter_request(task, sample)
    return [request] if request is not None else []


def _cached(
    plan: Plan,
    task: Task,
    sample: Sample,
    requests: list[Request],
    backend: Backend | None,
    store: Store | None,
    use_cache: bool,
) -> list[Result | None]:
    """The request cache's answer to each request (None: it would be sent)."""
    if not use_cache or store is None or not isinstance(backend, ApiBackend):
        return [None] * len(requests)
    if cache.withholds_text(sample):  # never cached (cache.py): every request is sent
        return [None] * len(requests)
    keys = cache.sample_keys(
        backend.fingerprint,
        requests,
        run_seed=int(plan.config.get("seed") or 0),
        task=task.name,
        sample_id=sample.id,
    )
    hits = store.cached_responses(keys)
    return [cache.result_from_json(hits[k]) if k in hits else None for k in keys]
