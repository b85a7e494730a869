"""Money: what each model's requests cost, the ``--max-cost`` budget, and the dry-run estimate.

Before a chunk is sent, its worst case is *reserved*: estimated prompt tokens (characters / 4)
plus ``max_tokens`` of output per request, at the model's price. A chunk whose reservation
would take spent + reserved past the budget is not sent: the run stops cleanly after the chunks
in flight are stored, and the same command with a higher ``--max-cost`` resumes it. When a chunk
comes back, its reservation is replaced by what the server reported it used (prompt tokens
from the response's usage, or the estimate where the server reports none). Cached responses
cost nothing. The budget counts this invocation's spending, across all its models.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from bakeoff.backends import _openai_payloads, anthropic_messages
from bakeoff.backends._api import estimate_tokens
from bakeoff.backends.base import ModelSpec
from bakeoff.core.errors import ConfigError
from bakeoff.core.types import Request, Usage
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


@dataclass(frozen=True, slots=True)
class TokenEstimate:
    requests: int = 0
    prompt_tokens: int = 0
    max_output_tokens: int = 0

    def __add__(self, other: TokenEstimate) -> TokenEstimate:
        return TokenEstimate(
            self.requests + other.requests,
            self.prompt_tokens + other.prompt_tokens,
            self.max_output_tokens + other.max_output_tokens,
        )

    def usd(self, price: Price | None) -> float:
        return price.cost(self.prompt_tokens, self.max_output_tokens) if price else 0.0


def estimate(requests: Sequence[Request]) -> TokenEstimate:
    total = TokenEstimate()
    for request in requests:
        prompt, output = estimate_tokens(request)
        total = total + TokenEstimate(1, prompt, output)
    return total


def actual_cost(price: Price | None, request: Request, usage: Usage) -> float:
    """What a request that came back cost: the server's counts, the estimate where it gave none."""
    if price is None:
        return 0.0
    estimated_prompt, _ = estimate_tokens(request)
    return price.cost(usage.prompt_tokens or estimated_prompt, usage.output_tokens)


class Budget:
    """Spent and reserved dollars against an optional limit (thread-safe)."""

    def __init__(self, max_usd: float | None) -> None:
        if max_usd is not None and (not math.isfinite(max_usd) or max_usd < 0):
            raise ConfigError("--max-cost must be a number of dollars >= 0")
        self.max_usd = max_usd
        self.spent = 0.0
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

    def describe(self) -> str:
        limit = "no limit" if self.max_usd is None else f"--max-cost ${self.max_usd:.4f}"
        return f"${self.spent:.4f} spent ({limit})"
