"""Rate limits of the API backends: token buckets for requests and tokens per minute, and a
concurrency that adapts to the server's 429s.

``rpm`` (requests per minute) and ``tpm`` (tokens per minute, estimated before sending and
corrected by the usage the server reports) are token buckets shared by every request of one
backend (see :mod:`bakeoff.backends._api`).
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import Awaitable, Callable, Mapping


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


RATE_LIMIT_HEADER_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-")
"""The limits a provider reports with each response: OpenAI's ``x-ratelimit-limit-requests``,
``-remaining-tokens``, ``-reset-requests``...; Anthropic's ``anthropic-ratelimit-requests-limit``,
``-input-tokens-remaining``, ``-tokens-reset``... (kept as sent, the latest of each)."""


class AdaptiveConcurrency:
    """How many requests may be on the wire: ``ceiling`` (the spec's ``concurrency``) until the
    server says 429, then halved (at most once per ``cooldown`` seconds: the 429s of one burst
    are one signal, not many), and raised by one again after as many successes in a row as are
    allowed, back up to the ceiling (additive increase, multiplicative decrease, as TCP does).

    Also keeps the rate-limit headers the server last reported. ``clock`` is injectable.
    """

    def __init__(
        self,
        ceiling: int,
        *,
        cooldown: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ceiling = ceiling
        self.allowed = ceiling
        self.lowest = ceiling
        self.backoffs = 0
        self.in_flight = 0
        self.headers: dict[str, str] = {}
        self._cooldown = cooldown
        self._clock = clock
        self._last_cut = -math.inf
        self._successes = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def __aenter__(self) -> None:
        while self.in_flight >= self.allowed:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                self._wake()  # the slot it was woken for goes to the next in line
                raise
        self.in_flight += 1

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        free = self.allowed - self.in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def rate_limited(self) -> None:
        """A 429: halve what may be in flight (unless a cut was made moments ago)."""
        now = self._clock()
        if now - self._last_cut < self._cooldown:
            return
        self._last_cut = now
        self.allowed = max(1, self.allowed // 2)
        self.lowest = min(self.lowest, self.allowed)
        self.backoffs += 1
        self._successes = 0

    def succeeded(self) -> None:
        """A request went through: after ``allowed`` of them in a row, one more may go."""
        if self.allowed >= self.ceiling:
            return
        self._successes += 1
        if self._successes >= self.allowed:
            self._successes = 0
            self.allowed += 1
            self._wake()

    def note(self, headers: Mapping[str, str] | None) -> None:
        """Keep the rate-limit headers of a response (any response: limits come with each)."""
        for name, value in (headers or {}).items():
            key = name.lower()
            if key.startswith(RATE_LIMIT_HEADER_PREFIXES):
                self.headers[key] = str(value)

    def report(self) -> dict[str, str]:
        """What the run summary shows: the concurrency's history when it had to back off, and
        the server's last reported limits; empty when there is nothing to say."""
        out: dict[str, str] = {}
        if self.backoffs:
            out["concurrency"] = (
                f"{self.ceiling}, lowered to {self.lowest} after HTTP 429 "
                f"({self.backoffs} time{'s' if self.backoffs > 1 else ''}), ended at {self.allowed}"
            )
        out.update(sorted(self.headers.items()))
        return out
