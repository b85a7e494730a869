"""Concurrency that adapts to 429s (halved, then climbing back) and the rate limits providers
report in their headers, kept for the run summary: unit checks of the gate, and the OpenAI and
Anthropic backends against scripted servers sending the headers the providers document."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from io import StringIO

import pytest
from rich.console import Console
from tests.helpers_reasoning import anthropic_stream, openai_stream
from tests.helpers_servers import SseReply, SseScript, serving

from bakeoff.backends._rate_limit import AdaptiveConcurrency
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import GenerateRequest, GenerationResult, GenerationSettings

OPENAI_LIMITS = {
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-limit-tokens": "30000",
    "x-ratelimit-remaining-tokens": "29900",
    "x-ratelimit-reset-requests": "120ms",
}
ANTHROPIC_LIMITS = {
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": "49",
    "anthropic-ratelimit-input-tokens-limit": "30000",
    "anthropic-ratelimit-requests-reset": "2026-12-07T05:00:00Z",
}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_429_halves_the_concurrency_once_per_burst_and_successes_restore_it() -> None:
    clock = Clock()
    gate = AdaptiveConcurrency(8, cooldown=2.0, clock=clock)
    gate.rate_limited()
    gate.rate_limited()  # the same burst's other 429s: one signal
    assert (gate.allowed, gate.backoffs) == (4, 1)
    clock.now = 3.0
    gate.rate_limited()
    assert (gate.allowed, gate.lowest, gate.backoffs) == (2, 2, 2)
    for _ in range(2 + 3):  # 2 successes at 2 allowed, then 3 at 3 allowed
        gate.succeeded()
    assert gate.allowed == 4
    for _ in range(4 + 5 + 6 + 7 + 20):
        gate.succeeded()
    assert gate.allowed == 8  # never above the spec's concurrency
    assert gate.report()["concurrency"] == "8, lowered to 2 after HTTP 429 (2 times), ended at 8"


def test_the_gate_holds_requests_beyond_what_is_allowed() -> None:
    async def main() -> int:
        gate = AdaptiveConcurrency(4, clock=Clock())
        gate.rate_limited()  # 2 allowed now
        peak = 0

        async def one() -> None:
            nonlocal peak
            async with gate:
                peak = max(peak, gate.in_flight)
                await asyncio.sleep(0.01)

        await asyncio.gather(*(one() for _ in range(10)))
        return peak

    assert asyncio.run(main()) == 2


@pytest.fixture
def script() -> Iterator[SseScript]:
    with serving(SseScript()) as server:
        yield server


def _generate_all(spec: str, n: int) -> tuple[list[GenerationResult], dict[str, str]]:
    from bakeoff.backends._api import ApiBackend
    from bakeoff.backends.base import open_backend

    backend = open_backend(ModelSpec.parse(spec))
    assert isinstance(backend, ApiBackend)
    try:
        requests = [GenerateRequest(f"q{i}", GenerationSettings(max_tokens=4)) for i in range(n)]
        outcomes = backend.generate(requests)
        report = backend.rate_limits
    finally:
        backend.close()
    assert all(isinstance(o, GenerationResult) for o in outcomes), outcomes
    return [o for o in outcomes if isinstance(o, GenerationResult)], report


def test_openai_backs_off_on_429_recovers_and_keeps_the_headers(script: SseScript) -> None:
    pytest.importorskip("openai")
    usage = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    wait = {"retry-after-ms": "10", **OPENAI_LIMITS, "x-ratelimit-remaining-requests": "0"}
    script.replies.append(SseReply(status=429, headers=wait))
    for _ in range(6):
        reply = openai_stream([], ["ok"], usage, "reasoning")
        script.replies.append(SseReply(reply.events, headers=OPENAI_LIMITS))
    spec = f"openai:m,base_url={script.base_url},concurrency=4,max_retries=3"
    results, report = _generate_all(spec, 6)
    assert [r.text for r in results] == ["ok"] * 6
    assert report["concurrency"] == "4, lowered to 2 after HTTP 429 (1 time), ended at 4"
    # The latest response's limits (a success after the 429): remaining back to 499.
    assert {k: report[k] for k in OPENAI_LIMITS} == OPENAI_LIMITS


def test_anthropic_headers_are_kept(script: SseScript) -> None:
    pytest.importorskip("anthropic")
    reply = anthropic_stream([], ["ok"], None)
    script.replies.append(SseReply(reply.events, headers=ANTHROPIC_LIMITS))
    root = script.base_url.removesuffix("/v1")
    _, report = _generate_all(f"anthropic:claude-x,base_url={root}", 1)
    assert report == dict(sorted(ANTHROPIC_LIMITS.items()))  # no 429: no concurrency line


def test_the_run_summary_shows_the_limits() -> None:
    from bakeoff.cli.run import _print_api_summary
    from bakeoff.runner.run import RunOutcome

    outcome = RunOutcome("r", False, requests_sent=7, retries=1)
    outcome.rate_limits = {
        "gpt": {"concurrency": "4, lowered to 2 after HTTP 429 (1 time), ended at 4",
                "x-ratelimit-remaining-requests": "499"},
        "local": {},
    }  # fmt: skip
    out = StringIO()
    _print_api_summary(Console(file=out, width=200), outcome)
    text = out.getvalue()
    assert (
        "rate limits of gpt: concurrency 4, lowered to 2 after HTTP 429 (1 time), ended at 4, "
        "x-ratelimit-remaining-requests 499" in text
    )
    assert "local" not in text
