"""Judges: models a judged task asks about each sample's results, scheduled like any model.

A task names its judges (``Task.judges``: label -> model spec) and, per sample, the requests every
judge answers once the compared model's results are in (``Task.judge_requests``). The runner
opens each judge once per run (through the executor, on first use; preflighted and priced with
the models before anything is stored) and sends a chunk's judge requests as the chunk's second
stage, as soon as its model results arrive, with the machinery of the first stage:

* the request cache: an API judge's replies are kept under the judge's own request keys, so a
  rerun or a resume never pays for a verdict twice (samples whose text is withheld, XSTest's
  unsafe prompts, are never cached, as for the compared model);
* retries: the judge backend's own;
* the budget: a judge's requests are reserved and settled at the judge's catalog price, in the
  run's one ``--max-cost`` budget, and counted by ``--dry-run``.

The chunk's records are stored once, after its last judge reply: the compared model's usage
stays its own (prompt_tokens, output_tokens...), and each judge's replies and usage go to the
record's ``details["judges"][label]`` (replies as digests for a withheld sample). A kill while a
chunk is being judged loses that chunk only; the model's and the judges' API replies that came
back are already in the request cache, so its resume pays for nothing twice.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bakeoff.backends._api import ApiBackend
from bakeoff.backends.base import Backend, preflight
from bakeoff.core.errors import UnsupportedRequestError
from bakeoff.core.model import ModelSpec
from bakeoff.core.records import ResultRecord
from bakeoff.core.types import JSONValue, Request, RequestFailure, Result, Sample
from bakeoff.pricing.catalog import Price
from bakeoff.runner import cache
from bakeoff.runner.budget import Budget, estimate, request_tokens, settle_sent
from bakeoff.runner.executor import Executor, Outcome
from bakeoff.runner.plan import Plan
from bakeoff.storage.base import CacheEntry, Store
from bakeoff.tasks.base import Task


def judge_key(spec: ModelSpec) -> str:
    """The judge's identity without its label (``backend:target,options``): two tasks naming the
    same model share one open backend. Holds ':', which a model label never does, so judges and
    models share one price table."""
    return spec.canonical().partition("=")[2]


def run_judges(plan: Plan) -> dict[str, ModelSpec]:
    """Every judge of the plan's tasks, by :func:`judge_key`."""
    return {judge_key(spec): spec for task in plan.tasks for spec in task.judges().values()}


def preflight_judges(plan: Plan) -> None:
    """The checks a model gets before the run starts (file or key present); the backend's
    name was checked when the plan was made."""
    for task in plan.tasks:
        for spec in task.judges().values():
            preflight(spec)


def check_supported(backend: Backend, requests: Sequence[Request]) -> None:
    """Refuse a kind the backend cannot serve before anything is built for it (a cache key
    would already ask the backend to render the request)."""
    for kind in {request.kind for request in requests}:
        if kind not in backend.supports:
            raise UnsupportedRequestError(backend._unsupported(kind))


class Judges:
    """The run's judge backends, each opened once (on first use) and closed with the run."""

    def __init__(
        self,
        executor: Executor,
        prices: Mapping[str, Price | None],
        loading: Callable[[str], None] | None = None,
    ) -> None:
        self.executor = executor
        self.prices = prices
        self._loading = loading
        self._open: dict[str, Backend] = {}

    def backend(self, spec: ModelSpec) -> Backend:
        key = judge_key(spec)
        if key not in self._open:
            if self._loading is not None:
                self._loading(f"{spec.label} (judge)")
            self._open[key] = self.executor.open(spec)
        return self._open[key]

    def price(self, spec: ModelSpec) -> Price | None:
        return self.prices.get(judge_key(spec))

    def max_in_flight(self) -> int:
        """Judge requests worth having submitted at once, all judges together."""
        return sum(self.executor.max_in_flight(b) for b in self._open.values()) or 1

    def close(self) -> tuple[int, int]:
        """Close every judge; (HTTP requests sent, retries) of the API judges."""
        sent = retries = 0
        for backend in self._open.values():
            sent += int(getattr(backend, "requests_sent", 0))
            retries += int(getattr(backend, "retries", 0))
            backend.close()
        self._open.clear()
        return sent, retries


@dataclass(slots=True)
class JudgeBatch:
    """One judge's requests about a chunk's samples, and its outcomes as they arrive."""

    label: str
    spec: ModelSpec
    backend: Backend
    price: Price | None
    per_sample: list[list[Request]]
    keys: list[str | None]
    outcomes: list[Outcome | None]
    flat: list[Request] = field(default_factory=list)
    send: list[int] = field(default_factory=list)
    reserved: float = 0.0
    future: concurrent.futures.Future[list[Outcome]] | None = None

    def merge(self, results: list[Outcome], budget: Budget) -> None:
        if len(results) != len(self.send):
            raise RuntimeError(f"judge returned {len(results)} results for {len(self.send)}")
        for index, result in zip(self.send, results, strict=True):
            self.outcomes[index] = result
        settle_sent(budget, self.price, self.reserved, [self.flat[i] for i in self.send], results)
        self.reserved = 0.0

    def cache_entries(self) -> list[CacheEntry]:
        backend, model = self.backend.name, self.spec.target
        return cache.entries(backend, model, self.flat, self.keys, self.outcomes, self.send)

    def sample_outcomes(self, position: int) -> list[Result | RequestFailure]:
        start = sum(len(r) for r in self.per_sample[:position])
        mine = self.outcomes[start : start + len(self.per_sample[position])]
        return [o for o in mine if o is not None]


@dataclass(frozen=True, slots=True)
class JudgeContext:
    """What preparing a chunk's judge requests needs from the run."""

    task: Task
    judges: Judges
    store: Store
    use_cache: bool
    run_seed: int


def prepare_batches(
    context: JudgeContext, samples: Sequence[Sample], results: Sequence[Sequence[Result]]
) -> tuple[list[JudgeBatch], int]:
    """Each judge's batch for these samples (their model results in), answered from the request
    cache where it can be; (batches, cache hits)."""
    task = context.task
    per_sample = [task.judge_requests(s, r) for s, r in zip(samples, results, strict=True)]
    batches, hits = [], 0
    for label, spec in task.judges().items():
        backend = context.judges.backend(spec)
        flat = [request for requests in per_sample for request in requests]
        check_supported(backend, flat)
        keys = _keys(context, backend, samples, per_sample)
        found = context.store.cached_responses([k for k in keys if k]) if any(keys) else {}
        outcomes: list[Outcome | None] = [
            cache.result_from_json(found[k]) if k in found else None for k in keys
        ]
        hits += sum(o is not None for o in outcomes)
        batch = JudgeBatch(
            label, spec, backend, context.judges.price(spec), per_sample, keys, outcomes
        )
        batch.flat = flat
        batch.send = [i for i, o in enumerate(outcomes) if o is None]
        batch.reserved = estimate([flat[i] for i in batch.send]).usd(batch.price)
        batches.append(batch)
    return batches, hits


def _keys(
    context: JudgeContext,
    backend: Backend,
    samples: Sequence[Sample],
    per_sample: list[list[Request]],
) -> list[str | None]:
    if not context.use_cache or not isinstance(backend, ApiBackend):
        return [None] * sum(len(r) for r in per_sample)
    keys: list[str | None] = []
    for sample, requests in zip(samples, per_sample, strict=True):
        if cache.withholds_text(sample):  # no key: neither looked up nor stored
            keys += [None] * len(requests)
            continue
        keys += cache.sample_keys(
            backend.fingerprint,
            requests,
            run_seed=context.run_seed,
            task=context.task.name,
            sample_id=sample.id,
        )
    return keys


def judge_details(
    batches: Sequence[JudgeBatch], position: int, sample: Sample
) -> dict[str, JSONValue]:
    """``details["judges"]`` of one sample: each judge's replies (digests when the sample's text
    is withheld; a failure as its reason) and the tokens it used."""
    withhold = cache.withholds_text(sample)
    out: dict[str, JSONValue] = {}
    for batch in batches:
        requests = batch.per_sample[position]
        outcomes = batch.sample_outcomes(position)
        replies: list[JSONValue] = []
        prompt_tokens = output_tokens = estimated = 0
        for request, outcome in zip(requests, outcomes, strict=True):
            if isinstance(outcome, RequestFailure):
                replies.append({"failure": outcome.reason})
                continue
            replies.append(cache.stored_output(outcome, withhold=withhold))
            prompt_tokens += outcome.usage.prompt_tokens
            output_tokens += outcome.usage.output_tokens
            if not outcome.usage.prompt_tokens:  # what the budget counted instead
                estimated += request_tokens(request)[0]
        entry: dict[str, JSONValue] = {
            "judge": judge_key(batch.spec),
            "replies": replies,
            "prompt_tokens": prompt_tokens,
            "output_tokens": output_tokens,
        }
        if estimated:
            entry["estimated_prompt_tokens"] = estimated
        out[batch.label] = entry
    return out


def stored_judge_cost(
    task: Task, record: ResultRecord, prices: Mapping[str, Price | None]
) -> float:
    """What a stored sample's judge replies cost (as :func:`actual_cost` counted them)."""
    judged = record.details.get("judges") if record.status == "ok" else None
    if not isinstance(judged, dict):
        return 0.0
    total = 0.0
    for label, spec in task.judges().items():
        entry = judged.get(label)
        price = prices.get(judge_key(spec))
        if not isinstance(entry, dict) or price is None:
            continue
        prompt = int(entry.get("prompt_tokens") or 0) + int(
            entry.get("estimated_prompt_tokens") or 0
        )
        total += price.cost(prompt, int(entry.get("output_tokens") or 0))
    return total
