"""A scripted, deterministic backend for scheduler, storage and statistics tests.

``mock:NAME[,option=value...]``. Outputs are pseudo-random but a pure function of
(NAME, seed, request), so two runs agree exactly. Options:

* ``seed`` (0): changes every output;
* ``skill`` (0.0..1.0, default 0.5): how often generation returns the text after ``answer=`` hints
  and how strongly log-likelihood favours the first choice-like continuation (scheduler tests
  only need *different* skills per mock model);
* ``delay_ms`` (0): sleep per request, to exercise progress and kills;
* ``fail_every`` (0 = never): every N-th request (by content hash) fails with a reason.

Token counts (tokenize requests, ``count_tokens`` and rolling log-likelihoods alike) are one
token per 4 characters, at least 1; token ids are a hash of each 4-character piece.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence

from bakeoff.backends.base import (
    Backend,
    GenerationOutcome,
    LoglikelihoodOutcome,
    RollingOutcome,
    TokenizeOutcome,
)
from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.types import (
    GenerateRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RequestFailure,
    RequestKind,
    RollingLoglikelihoodRequest,
    RollingLoglikelihoodResult,
    TokenizeRequest,
    TokenizeResult,
    Usage,
)

_OPTIONS = ("seed", "skill", "delay_ms", "fail_every")


def _option(spec: ModelSpec, name: str, default: float) -> float:
    raw = spec.options.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"mock option {name}={raw!r} must be a number >= 0")
    return value


class MockBackend(Backend):
    name = "mock"
    supports = frozenset(RequestKind)

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.seed = int(_option(spec, "seed", 0))
        self.skill = _option(spec, "skill", 0.5)
        self.delay = _option(spec, "delay_ms", 0.0) / 1000.0
        self.fail_every = int(_option(spec, "fail_every", 0))
        self.calls = 0

    @classmethod
    def preflight(cls, spec: ModelSpec) -> None:
        """Every option read now, before the run row is written: a bad one leaves no run."""
        for name in _OPTIONS:
            _option(spec, name, 0.0)

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.spec.target,
            backend=self.name,
            source=f"mock:{self.spec.target}",
            sha256=hashlib.sha256(f"mock:{self.spec.target}".encode()).hexdigest(),
            architecture="mock",
            parameters=1_000_000,
            context_length=4096,
            vocab_size=256,
        )

    def _unit(self, *parts: str) -> float:
        """A deterministic number in [0, 1) from the model identity and the request."""
        text = "\x1f".join((self.spec.target, str(self.seed), *parts))
        digest = hashlib.sha256(text.encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def _maybe_fail(self, *parts: str) -> RequestFailure | None:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        if self.fail_every and int(self._unit("fail", *parts) * 1e9) % self.fail_every == 0:
            return RequestFailure("mock failure (fail_every)")
        return None

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodOutcome]:
        out: list[LoglikelihoodOutcome] = []
        for r in requests:
            failure = self._maybe_fail(r.context, r.continuation)
            if failure:
                out.append(failure)
                continue
            noise = self._unit(r.context, r.continuation)
            logprob = -1.0 - 5.0 * noise * (1.0 - self.skill)
            usage = Usage(prompt_tokens=len(r.context) // 4 + 1, prompt_seconds=self.delay)
            out.append(LoglikelihoodResult(logprob, noise < self.skill, 1, usage))
        return out

    def loglikelihood_rolling(
        self, requests: Sequence[RollingLoglikelihoodRequest]
    ) -> list[RollingOutcome]:
        out: list[RollingOutcome] = []
        for r in requests:
            failure = self._maybe_fail(r.text)
            if failure:
                out.append(failure)
                continue
            n_tokens = _mock_tokens(r.text)
            logprob = -n_tokens * (1.0 + 3.0 * self._unit(r.text) * (1.0 - self.skill))
            out.append(RollingLoglikelihoodResult(logprob, n_tokens))
        return out

    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerationOutcome]:
        out: list[GenerationOutcome] = []
        for r in requests:
            prompt = (
                r.prompt if isinstance(r.prompt, str) else "\n".join(m.content for m in r.prompt)
            )
            failure = self._maybe_fail(prompt)
            if failure:
                out.append(failure)
                continue
            text = f" mock-{int(self._unit(prompt) * 1000)}"
            usage = Usage(
                prompt_tokens=len(prompt) // 4 + 1,
                output_tokens=2,
                prompt_seconds=self.delay or 0.001,
                output_seconds=self.delay or 0.002,
            )
            out.append(GenerationResult(text, "stop", usage))
        return out

    def tokenize(self, requests: Sequence[TokenizeRequest]) -> list[TokenizeOutcome]:
        out: list[TokenizeOutcome] = []
        for r in requests:
            failure = self._maybe_fail("tokenize", r.text)
            if failure:
                out.append(failure)
                continue
            pieces = [r.text[i : i + 4] for i in range(0, max(len(r.text), 1), 4)]
            ids = tuple(int(self._unit("token", piece) * 50_000) for piece in pieces)
            out.append(TokenizeResult(_mock_tokens(r.text), ids[: _mock_tokens(r.text)]))
        return out

    def count_tokens(self, text: str) -> int | None:
        return _mock_tokens(text)


def _mock_tokens(text: str) -> int:
    return max(1, len(text) // 4)
