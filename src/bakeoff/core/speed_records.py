"""Per-request timing records: what was measured, before any metric is derived from it.

All ``t_*`` values are ``time.perf_counter()`` readings (monotonic, sub-microsecond on Linux) in
seconds, relative to an arbitrary origin; only their differences mean anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bakeoff.core.types import JSONValue


@dataclass(frozen=True, slots=True)
class Scenario:
    """One load point: closed loop at ``concurrency``, or Poisson arrivals at ``rate`` req/s
    with at most ``concurrency`` requests in flight."""

    prompt_tokens: int
    output_tokens: int
    concurrency: int
    rate: float | None = None

    @property
    def mode(self) -> str:
        return "closed" if self.rate is None else "poisson"

    def key(self) -> str:
        load = f"c{self.concurrency}" if self.rate is None else f"r{self.rate:g}c{self.concurrency}"
        return f"p{self.prompt_tokens}-o{self.output_tokens}-{load}"


@dataclass(frozen=True, slots=True)
class StreamTiming:
    """What one streamed request produced, as seen by the client.

    ``chunk_times`` are the arrival times of the chunks that carried text, ``chunk_texts`` their
    text. Token counts are the server's usage when it sent one, else ``None``: they are then
    counted with the model's tokenizer after the load has finished (``counted``), so counting
    never delays the timing of other streams. ``len(chunk_times)`` is never a token count.
    """

    t_sent: float
    t_end: float
    chunk_times: tuple[float, ...]
    chunk_texts: tuple[str, ...]
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    server: Mapping[str, JSONValue] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "".join(self.chunk_texts)


@dataclass(frozen=True, slots=True)
class TokenCounts:
    """Tokens per chunk, of the prompt and of the whole output (server usage or tokenizer)."""

    chunk_tokens: tuple[int, ...]
    prompt_tokens: int
    output_tokens: int


def counted(timing: StreamTiming, prompt: str, count: Callable[[str], int]) -> TokenCounts:
    """Token counts of a finished stream; the server's usage wins over the tokenizer."""
    prompt_tokens = timing.prompt_tokens
    output_tokens = timing.output_tokens
    n_chunks = len(timing.chunk_texts)
    if output_tokens == n_chunks:
        # Every text chunk carries at least one token and the server (or engine) counted as many
        # tokens as there are chunks, so each chunk is exactly one: no tokenizer call needed.
        chunk_tokens = (1,) * n_chunks
    else:
        # A chunk with text carries at least part of a token.
        chunk_tokens = tuple(max(count(text), 1) for text in timing.chunk_texts)
    return TokenCounts(
        chunk_tokens=chunk_tokens,
        prompt_tokens=count(prompt) if prompt_tokens is None else prompt_tokens,
        output_tokens=count(timing.text) if output_tokens is None else output_tokens,
    )


@dataclass(frozen=True, slots=True)
class SpeedRecord:
    """One request of a speed run. ``status`` is ``ok`` or ``failed``; a failed request keeps
    its error and is never averaged into latency figures."""

    model: str
    scenario: Scenario
    index: int
    warmup: bool
    status: str
    t_scheduled: float
    t_sent: float | None = None
    t_end: float | None = None
    chunk_times: tuple[float, ...] = ()
    chunk_tokens: tuple[int, ...] = ()
    prompt_tokens: int = 0
    output_tokens: int = 0
    error: str | None = None
    server: Mapping[str, JSONValue] = field(default_factory=dict)

    @classmethod
    def from_timing(
        cls,
        model: str,
        scenario: Scenario,
        index: int,
        warmup: bool,
        t_scheduled: float,
        timing: StreamTiming,
        counts: TokenCounts,
    ) -> SpeedRecord:
        return cls(
            model=model,
            scenario=scenario,
            index=index,
            warmup=warmup,
            status="ok",
            t_scheduled=t_scheduled,
            t_sent=timing.t_sent,
            t_end=timing.t_end,
            chunk_times=timing.chunk_times,
            chunk_tokens=counts.chunk_tokens,
            prompt_tokens=counts.prompt_tokens,
            output_tokens=counts.output_tokens,
            server=timing.server,
        )

    @classmethod
    def failure(
        cls,
        model: str,
        scenario: Scenario,
        index: int,
        warmup: bool,
        t_scheduled: float,
        t_sent: float | None,
        error: str,
    ) -> SpeedRecord:
        return cls(
            model=model,
            scenario=scenario,
            index=index,
            warmup=warmup,
            status="failed",
            t_scheduled=t_scheduled,
            t_sent=t_sent,
            error=error,
        )
