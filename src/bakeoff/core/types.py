"""Core value types shared by every layer: samples, the request kinds and their results.

The first three request kinds follow lm-evaluation-harness:

* ``LoglikelihoodRequest``: log P(continuation | context), plus whether the continuation is what
  greedy decoding would have produced (``is_greedy``);
* ``RollingLoglikelihoodRequest``: log P(text) of a whole text, for perplexity;
* ``GenerateRequest``: generate until a stop sequence or ``max_tokens``.

The fourth, ``TokenizeRequest``, asks only for what the model's tokenizer makes of a text (no
forward pass): a task that needs token counts asks for them like any other result, so the
runner schedules, caches and stores them and the task never holds a backend.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

JSONValue: TypeAlias = Any
"""A value that survives json.dumps (kept as Any: mypy cannot express recursive JSON well)."""


class RequestKind(enum.StrEnum):
    LOGLIKELIHOOD = "loglikelihood"
    LOGLIKELIHOOD_ROLLING = "loglikelihood_rolling"
    GENERATE = "generate"
    TOKENIZE = "tokenize"


Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Sample:
    """One item of a task. ``id`` is stable across runs: resume and pairing rely on it."""

    id: str
    input: str | tuple[ChatMessage, ...]
    target: str | int | tuple[str, ...] = ""
    choices: tuple[str, ...] = ()
    metadata: Mapping[str, JSONValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GenerationSettings:
    """Decoding settings. ``temperature == 0`` means greedy; ``seed`` matters only when sampling."""

    max_tokens: int = 64
    stop: tuple[str, ...] = ()
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "max_tokens": self.max_tokens,
            "stop": list(self.stop),
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
        }


@dataclass(frozen=True, slots=True)
class LoglikelihoodRequest:
    context: str
    continuation: str
    kind: Literal[RequestKind.LOGLIKELIHOOD] = RequestKind.LOGLIKELIHOOD


@dataclass(frozen=True, slots=True)
class RollingLoglikelihoodRequest:
    text: str
    kind: Literal[RequestKind.LOGLIKELIHOOD_ROLLING] = RequestKind.LOGLIKELIHOOD_ROLLING


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    """A prompt is either plain text or a list of chat messages (rendered by the backend)."""

    prompt: str | tuple[ChatMessage, ...]
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    kind: Literal[RequestKind.GENERATE] = RequestKind.GENERATE


@dataclass(frozen=True, slots=True)
class TokenizeRequest:
    """The tokens the model's tokenizer makes of ``text``, special tokens excluded (the
    convention of ``RollingLoglikelihoodResult.n_tokens``, so the two counts agree)."""

    text: str
    kind: Literal[RequestKind.TOKENIZE] = RequestKind.TOKENIZE


Request: TypeAlias = (
    LoglikelihoodRequest | RollingLoglikelihoodRequest | GenerateRequest | TokenizeRequest
)


@dataclass(frozen=True, slots=True)
class Usage:
    """What one request cost: tokens and wall time, as measured by the backend.

    ``prompt_seconds`` is the time to process the prompt (≈ time to first token for local
    backends); ``output_seconds`` the time spent generating after that. ``None`` = not measured.
    ``output_tokens_estimated``: the server reported no output tokens and no tokenizer could
    count them, so ``output_tokens`` is the number of stream chunks, which is not a token count
    (a chunk may carry several tokens): an estimate that must not be presented as measured.

    Reasoning models think before they answer, billed as output: ``reasoning_tokens`` is the
    part of ``output_tokens`` spent thinking (``None``: the server did not say, and nothing
    could count it; 0: it did not think). ``prompt_seconds`` is then the time to the first token
    of either kind and ``first_answer_seconds`` the time from the request to the first token of
    the answer itself (``None``: not measured; equal to ``prompt_seconds`` when nothing came
    before the answer).
    """

    prompt_tokens: int = 0
    output_tokens: int = 0
    prompt_seconds: float | None = None
    output_seconds: float | None = None
    cached_prompt_tokens: int = 0
    output_tokens_estimated: bool = False
    reasoning_tokens: int | None = None
    first_answer_seconds: float | None = None

    def as_dict(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
            "prompt_seconds": self.prompt_seconds,
            "output_seconds": self.output_seconds,
            "cached_prompt_tokens": self.cached_prompt_tokens,
        }
        if self.output_tokens_estimated:  # only when set: stored measured usage is unchanged
            data["output_tokens_estimated"] = True
        # Only when known, for the same reason: usage cached before reasoning was measured reads
        # back unchanged, and a cached reasoning answer keeps its figures.
        if self.reasoning_tokens is not None:
            data["reasoning_tokens"] = self.reasoning_tokens
        if self.first_answer_seconds is not None:
            data["first_answer_seconds"] = self.first_answer_seconds
        return data


@dataclass(frozen=True, slots=True)
class LoglikelihoodResult:
    logprob: float
    is_greedy: bool
    n_tokens: int
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class RollingLoglikelihoodResult:
    logprob: float
    n_tokens: int
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class GenerationResult:
    text: str
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class TokenizeResult:
    """``token_ids`` when the backend gives them (None when it only counts)."""

    n_tokens: int
    token_ids: tuple[int, ...] | None = None
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class RequestFailure:
    """A request that failed for good (after retries). Stored per sample; a rerun retries it."""

    reason: str


Result: TypeAlias = (
    LoglikelihoodResult | RollingLoglikelihoodResult | GenerationResult | TokenizeResult
)


def result_to_dict(result: Result) -> dict[str, JSONValue]:
    """A JSON-able view of a result, as stored next to each sample."""
    if isinstance(result, LoglikelihoodResult):
        return {
            "kind": RequestKind.LOGLIKELIHOOD.value,
            "logprob": result.logprob,
            "is_greedy": result.is_greedy,
            "n_tokens": result.n_tokens,
        }
    if isinstance(result, RollingLoglikelihoodResult):
        return {
            "kind": RequestKind.LOGLIKELIHOOD_ROLLING.value,
            "logprob": result.logprob,
            "n_tokens": result.n_tokens,
        }
    if isinstance(result, TokenizeResult):
        data: dict[str, JSONValue] = {
            "kind": RequestKind.TOKENIZE.value,
            "n_tokens": result.n_tokens,
        }
        if result.token_ids is not None:
            data["token_ids"] = list(result.token_ids)
        return data
    return {
        "kind": RequestKind.GENERATE.value,
        "text": result.text,
        "finish_reason": result.finish_reason,
    }


def total_usage(results: Sequence[Result]) -> Usage:
    """Sum the usage of several results (e.g. all choices of one multiple-choice sample)."""

    def _sum(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return sum(present) if present else None

    return Usage(
        prompt_tokens=sum(r.usage.prompt_tokens for r in results),
        output_tokens=sum(r.usage.output_tokens for r in results),
        prompt_seconds=_sum([r.usage.prompt_seconds for r in results]),
        output_seconds=_sum([r.usage.output_seconds for r in results]),
        cached_prompt_tokens=sum(r.usage.cached_prompt_tokens for r in results),
        output_tokens_estimated=any(r.usage.output_tokens_estimated for r in results),
        reasoning_tokens=_sum_known([r.usage.reasoning_tokens for r in results]),
        first_answer_seconds=_sum([r.usage.first_answer_seconds for r in results]),
    )


def _sum_known(values: Sequence[int | None]) -> int | None:
    """The sum of the known counts; None when none is known."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None
