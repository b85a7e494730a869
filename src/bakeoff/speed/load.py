"""Load generators: closed loop at constant concurrency, and seeded Poisson arrivals.

Every request gets ``t_scheduled`` (when the load pattern wants it sent) and ``t_sent`` (when a
concurrency slot let it go). Under Poisson arrivals ``t_scheduled`` is the planned arrival time,
not the moment the event loop woke up, so a late loop shows up as client queue time instead of
vanishing. Warm-up requests run first, complete before measuring starts, and are flagged.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bakeoff.core.secrets import redact
from bakeoff.core.speed_records import Scenario, StreamTiming

Send = Callable[[str, int], Awaitable[StreamTiming]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished request before token counting: its timing, or the error that ended it."""

    index: int
    warmup: bool
    prompt: str
    t_scheduled: float
    t_sent: float | None
    timing: StreamTiming | None
    error: str | None


OnDone = Callable[[Outcome], None]


async def run_scenario(
    send: Send,
    prompts: Sequence[str],
    scenario: Scenario,
    n_warmup: int,
    seed: int = 0,
    on_done: OnDone | None = None,
) -> list[Outcome]:
    """Run ``prompts`` (the first ``n_warmup`` as warm-up) under the scenario's load pattern."""
    warm = [(i, p) for i, p in enumerate(prompts[:n_warmup])]
    measured = [(i + n_warmup, p) for i, p in enumerate(prompts[n_warmup:])]
    outcomes = await _closed_loop(send, warm, scenario, True, on_done)
    if scenario.rate is None:
        outcomes += await _closed_loop(send, measured, scenario, False, on_done)
    else:
        outcomes += await _poisson(send, measured, scenario, scenario.rate, seed, on_done)
    return outcomes


async def _one(
    send: Send,
    index: int,
    prompt: str,
    scenario: Scenario,
    warmup: bool,
    t_scheduled: float,
    slots: asyncio.Semaphore,
    on_done: OnDone | None,
) -> Outcome:
    async with slots:
        t_sent = time.perf_counter()
        try:
            timing = await send(prompt, scenario.output_tokens)
            outcome = Outcome(index, warmup, prompt, t_scheduled, timing.t_sent, timing, None)
        except Exception as exc:  # a failed request is a result: recorded, counted apart
            # Stored as is: any key a server echoed goes before the text is cut (a cut key
            # would no longer match, and its prefix would be kept).
            error = redact(f"{type(exc).__name__}: {exc}")[:300]
            outcome = Outcome(index, warmup, prompt, t_scheduled, t_sent, None, error)
    if on_done is not None:
        on_done(outcome)
    return outcome


async def _closed_loop(
    send: Send,
    items: Sequence[tuple[int, str]],
    scenario: Scenario,
    warmup: bool,
    on_done: OnDone | None,
) -> list[Outcome]:
    """``concurrency`` workers, each sending its next request as soon as its last one ends."""
    queue = list(reversed(items))
    slots = asyncio.Semaphore(scenario.concurrency)
    results: list[Outcome] = []

    async def worker() -> None:
        while queue:
            index, prompt = queue.pop()
            t_scheduled = time.perf_counter()
            results.append(
                await _one(send, index, prompt, scenario, warmup, t_scheduled, slots, on_done)
            )

    await asyncio.gather(*(worker() for _ in range(min(scenario.concurrency, len(items)))))
    return sorted(results, key=lambda o: o.index)


def poisson_offsets(n: int, rate: float, seed: int) -> list[float]:
    """Arrival times (seconds from start) of a seeded Poisson process of ``rate`` per second."""
    rng = random.Random(seed)
    t, out = 0.0, []
    for _ in range(n):
        t += rng.expovariate(rate)
        out.append(t)
    return out


async def _poisson(
    send: Send,
    items: Sequence[tuple[int, str]],
    scenario: Scenario,
    rate: float,
    seed: int,
    on_done: OnDone | None,
) -> list[Outcome]:
    slots = asyncio.Semaphore(scenario.concurrency)
    start = time.perf_counter()
    tasks = []
    for (index, prompt), offset in zip(items, poisson_offsets(len(items), rate, seed), strict=True):
        delay = start + offset - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(
            asyncio.create_task(
                _one(send, index, prompt, scenario, False, start + offset, slots, on_done)
            )
        )
    return sorted(await asyncio.gather(*tasks), key=lambda o: o.index)
