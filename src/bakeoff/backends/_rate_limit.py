"""Rate limits of the API backends: token buckets for requests and tokens per minute.

``rpm`` (requests per minute) and ``tpm`` (tokens per minute, estimated before sending and
corrected by the usage the server reports) are token buckets shared by every request of one
backend (see :mod:`bakeoff.backends._api`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """Refilled continuously at ``per_minute / 60`` units per second, holding ``burst_seconds``
    worth at most: a burst of that size goes at once, then requests are spaced out evenly.

    Providers enforce per-minute limits over shorter windows too, hence a 10 s burst rather than
    a whole minute's worth. A request larger than the bucket waits for a full bucket and goes,
    leaving the level negative, so the average rate still holds. ``clock`` and ``sleep`` are
    injectable for tests.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        burst_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = float(per_minute) / 60.0
        self.capacity = max(1.0, self.rate * burst_seconds)
        self.level = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock: asyncio.Lock | None = None
        self.waited = 0.0

    def _refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._updated) * self.rate)
        self._updated = now

    async def take(self, amount: float) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        need = min(float(amount), self.capacity)
        async with self._lock:  # first come, first served
            self._refill()
            while self.level < need:
                delay = (need - self.level) / self.rate
                self.waited += delay
                await self._sleep(delay)
                self._refill()
            self.level -= float(amount)

    def give_back(self, amount: float) -> None:
        """Return units taken on an overestimate (the server reported fewer tokens)."""
        self._refill()
        self.level = min(self.capacity, self.level + max(0.0, float(amount)))


class RateLimiter:
    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self.requests = TokenBucket(rpm) if rpm else None
        self.tokens = TokenBucket(tpm) if tpm else None

    async def acquire(self, estimated_tokens: int) -> None:
        if self.requests is not None:
            await self.requests.take(1)
        if self.tokens is not None:
            await self.tokens.take(estimated_tokens)

    def settle(self, estimated_tokens: int, used_tokens: int | None) -> None:
        if self.tokens is not None and used_tokens is not None and used_tokens > 0:
            self.tokens.give_back(estimated_tokens - used_tokens)

    @property
    def seconds_waited(self) -> float:
        return sum(b.waited for b in (self.requests, self.tokens) if b is not None)
