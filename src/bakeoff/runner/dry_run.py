"""``bakeoff run --dry-run``: what a run would send and what it could cost, sending nothing.

Per model: samples still to run (stored "ok" results are skipped, as in a real run), the
requests they need, how many the request cache already answers, and for the rest the
estimated prompt tokens (characters / 4), the most output tokens they may use (``max_tokens``)
and the price of that. The cost is an upper bound on output and an estimate on input.

API backends are built to compute cache keys and to know whether log-likelihood tasks will be
asked as answer letters; that opens no connection. Local backends are not loaded (that would
load the model): their requests are counted, cache keys do not apply to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bakeoff.backends._api import ApiBackend
from bakeoff.backends.base import BACKENDS, Backend, open_backend
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import Request, Sample
from bakeoff.pricing.catalog import Price, PriceCatalog
from bakeoff.runner import cache, fallback
from bakeoff.runner.budget import TokenEstimate, estimate, is_metered, price_for
from bakeoff.runner.plan import Plan
from bakeoff.storage.base import Store
from bakeoff.tasks.base import Task


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
    return [_estimate_model(plan, spec, store, catalog, use_cache) for spec in plan.models]


def _estimate_model(
    plan: Plan, spec: ModelSpec, store: Store | None, catalog: PriceCatalog, use_cache: bool
) -> ModelEstimate:
    result = ModelEstimate(
        spec.label, price=price_for(spec, catalog, required=False), metered=is_metered(spec)
    )
    # Building an API backend opens no connection; building a local one would load the model.
    backend = open_backend(spec) if issubclass(BACKENDS.load(spec.backend), ApiBackend) else None
    try:
        for task in plan.tasks:
            lettered = isinstance(backend, ApiBackend) and fallback.applies(task, backend)
            if lettered:
                result.lettered_tasks.append(task.name)
            for sample in _pending(plan, spec, task, store):
                requests = _requests(task, sample, lettered)
                unsent = _uncached(plan, task, sample, requests, backend, store, use_cache)
                result.samples += 1
                result.requests += len(requests)
                result.cached += len(requests) - len(unsent)
                result.to_send = result.to_send + estimate(unsent)
    finally:
        if backend is not None:
            backend.close()
    return result


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


def _uncached(
    plan: Plan,
    task: Task,
    sample: Sample,
    requests: list[Request],
    backend: Backend | None,
    store: Store | None,
    use_cache: bool,
) -> list[Request]:
    if not use_cache or store is None or not isinstance(backend, ApiBackend):
        return requests
    if cache.withholds_text(sample):  # never cached (cache.py): every request is sent
        return requests
    keys = cache.sample_keys(
        backend.fingerprint,
        requests,
        run_seed=int(plan.config.get("seed") or 0),
        task=task.name,
        sample_id=sample.id,
    )
    hits = store.cached_responses(keys)
    return [r for r, k in zip(requests, keys, strict=True) if k not in hits]
