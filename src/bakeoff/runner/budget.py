"""Money: what each model's requests cost, the ``--max-cost`` budget, and the dry-run estimate.

Before a chunk is sent, its worst case is *reserved*: estimated prompt tokens (characters / 4)
plus ``max_tokens`` of output per request, at the model's price. A chunk whose reservation
would take spent + reserved past the budget is not sent: the run stops cleanly after the chunks
in flight are stored, and the same command with a higher ``--max-cost`` resumes it. When a chunk
comes back, its reservation is replaced by what the server reported it used (prompt tokens
from the response's usage, or the estimate where the server reports none). Cached responses
cost nothing. The budget covers the whole run, across all its models and invocations: a
resumed run starts with what its finished samples already cost (:func:`stored_cost`, from the
token counts stored with each sample), so rerunning with the same ``--max-cost`` does not grant
the same amount again.

A reasoning model's ``thinking_budget=N`` (its spec) is reserved too: N more output tokens per
generation request, the thinking it may do before its answer. Input the server read from its
prompt cache (``cached_prompt_tokens``) is priced at the catalog's cache-read price.

Tokenize requests cost nothing (a tokenizer runs no model; no API bills a count). A judge's
requests are priced at the judge's own price (see judging.py) and counted in the same budget.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlparse

from bakeoff.backends import _openai_payloads, anthropic_messages
from bakeoff.backends._api import estimate_tokens
from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelSpec
from bakeoff.core.records import ResultRecord
from bakeoff.core.types import (
    GenerateRequest,
    Request,
    RequestFailure,
    Result,
    TokenizeRequest,
    Usage,
)
from bakeoff.pricing.catalog import ModelRef, Price, PriceCatalog

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})
_DEFAULT_URLS = {
    "openai": _openai_payloads.DEFAULT_BASE_URL,
    "anthropic": anthropic_messages.DEFAULT_BASE_URL,
}


def model_ref(spec: ModelSpec) -> ModelRef:
    base_url = spec.options.get("base_url") or _DEFAULT_URLS.get(spec.backend)
    return ModelRef(spec.label, spec.backend, spec.target, base_url)


def is_metered(spec: ModelSpec) -> bool:
    """Whether the model is a paid API (not in-process, not a server on this machine)."""
    ref = model_ref(spec)
    if ref.backend not in _DEFAULT_URLS:
        return False
    return (urlparse(ref.base_url or "").hostname or "").lower() not in _LOOPBACK


def price_for(spec: ModelSpec, catalog: PriceCatalog, *, required: bool) -> Price | None:
    """The model's price; with ``required`` (a ``--max-cost`` run) a paid API must have one."""
    price = catalog.lookup(model_ref(spec))
    if price is None and required and is_metered(spec):
        raise ConfigError(
            f"--max-cost needs a price for model '{spec.label}' ({spec.backend}:{spec.target}), "
            "which the offline catalog does not have: add it to a price file "
            "(--prices FILE with '" + spec.target + ": {input: USD, output: USD}' per 1M tokens)"
        )
    return price


def reasoning_budget(spec: ModelSpec) -> int:
    """The thinking tokens a request of this model may spend before its answer (its spec's
    ``thinking_budget``; 0 when none is set, or it is not a number, which the backend refuses)."""
    raw = spec.options.get("thinking_budget", "0")
    return int(raw) if raw.strip().isdigit() else 0


@dataclass(frozen=True, slots=True)
class TokenEstimate:
    requests: int = 0
    prompt_tokens: int = 0
    max_output_tokens: int = 0
    """The answers' limit (``max_tokens``), without the thinking."""
    reasoning_tokens: int = 0
    """The thinking budget of every generation request (part of the output bill)."""

    def __add__(self, other: TokenEstimate) -> TokenEstimate:
        return TokenEstimate(
            self.requests + other.requests,
            self.prompt_tokens + other.prompt_tokens,
            self.max_output_tokens + other.max_output_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
        )

    def usd(self, price: Price | None) -> float:
        output = self.max_output_tokens + self.reasoning_tokens
        return price.cost(self.prompt_tokens, output) if price else 0.0


def request_tokens(request: Request) -> tuple[int, int]:
    """(prompt, output) tokens a request may be billed for; nothing for a token count."""
    if isinstance(request, TokenizeRequest):
        return 0, 0
    return estimate_tokens(request)


def estimate(requests: Sequence[Request], thinking_budget: int = 0) -> TokenEstimate:
    total = TokenEstimate()
    for request in requests:
        prompt, output = request_tokens(request)
        thinking = thinking_budget if isinstance(request, GenerateRequest) else 0
        total = total + TokenEstimate(1, prompt, output, thinking)
    return total


class PricedModel(Protocol):
    """What a reservation needs of a model's run: its spec (the thinking budget) and price."""

    spec: ModelSpec
    price: Price | None


def reserve_usd(requests: Sequence[Request], model: PricedModel) -> float:
    """The worst case of sending ``requests`` to ``model``, reserved before they go."""
    return estimate(requests, reasoning_budget(model.spec)).usd(model.price)


def actual_cost(price: Price | None, request: Request, usage: Usage) -> float:
    """What a request that came back cost: the server's counts, the estimate where it gave none."""
    if price is None or isinstance(request, TokenizeRequest):
        return 0.0
    estimated_prompt, _ = request_tokens(request)
    return price.cost(
        usage.prompt_tokens or estimated_prompt, usage.output_tokens, usage.cached_prompt_tokens
    )


def settle_sent(
    budget: Budget,
    price: Price | None,
    reserved: float,
    requests: Sequence[Request],
    outcomes: Sequence[Result | RequestFailure],
) -> None:
    """Settle what was reserved for ``requests`` at what their ``outcomes`` cost (a request that
    failed for good costs nothing). Shared by a chunk's model stage and its judges' batches."""
    spent = sum(
        actual_cost(price, request, outcome.usage)
        for request, outcome in zip(requests, outcomes, strict=True)
        if not isinstance(outcome, RequestFailure)
    )
    budget.settle(reserved, spent)


def stored_cost(
    price: Price | None, record: ResultRecord, requests: Sequence[Request] | None
) -> float:
    """What a stored finished sample cost, recomputed as :func:`actual_cost` did when it came
    back: its stored token counts, the prompt estimate where the server reported none.

    A sample answered from the request cache is counted at its price too (the store does not
    say which samples were cache hits): an upper bound, so a resumed run never overspends.
    """
    if price is None or record.status != "ok":
        return 0.0
    prompt = record.prompt_tokens
    if not prompt and requests:
        prompt = sum(request_tokens(r)[0] for r in requests)
    return price.cost(prompt, record.output_tokens, record.cached_prompt_tokens)


class Budget:
    """Spent and reserved dollars against an optional limit (thread-safe).

    ``earlier`` is what the run spent before this invocation: it counts against the limit.
    """

    def __init__(self, max_usd: float | None, earlier: float = 0.0) -> None:
        if max_usd is not None and (not math.isfinite(max_usd) or max_usd < 0):
            raise ConfigError("--max-cost must be a number of dollars >= 0")
        self.max_usd = max_usd
        self.earlier = earlier
        self.spent = earlier
        self.reserved = 0.0
        self._lock = threading.Lock()

    def try_reserve(self, usd: float) -> bool:
        with self._lock:
            limit = self.max_usd
            if limit is not None and usd > 0 and self.spent + self.reserved + usd > limit + 1e-12:
                return False
            self.reserved += usd
            return True

    def settle(self, reserved: float, actual: float) -> None:
        with self._lock:
            self.reserved = max(0.0, self.reserved - reserved)
            self.spent += actual

    @property
    def spent_now(self) -> float:
        """What this invocation spent."""
        return self.spent - self.earlier

    def describe(self) -> str:
        so_far = f"${self.spent:.4f} spent on this run so far (${self.spent_now:.4f} now)"
        if self.max_usd is None:
            return f"{so_far}, no budget"
        if self.spent >= self.max_usd - 1e-12:
            return f"the --max-cost ${self.max_usd:.4f} budget is spent: {so_far}"
        return f"{so_far} of the --max-cost ${self.max_usd:.4f} budget"
