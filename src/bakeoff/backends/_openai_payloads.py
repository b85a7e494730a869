"""Pure mapping between bakeoff requests/results and OpenAI-compatible payloads (no I/O).

Kept apart from :mod:`bakeoff.backends.openai_compat` so option parsing, request bodies and
log-likelihood extraction are unit-testable without a server (the retry policy and rate limits
shared with the Anthropic backend live in :mod:`bakeoff.backends._api`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlparse

from bakeoff.backends._api import (
    KEY_OPTIONS,
    LIMIT_OPTIONS,
    ApiLimits,
    check_base_url,
    float_option,
    int_option,
    key_source,
    parse_limits,
    refuse_key_options,
)
from bakeoff.core.errors import ConfigError
from bakeoff.core.thinking import think_end_option
from bakeoff.core.types import (
    ChatMessage,
    GenerateRequest,
    JSONValue,
    LoglikelihoodResult,
    Usage,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
PROVIDER_HOST = "api.openai.com"
"""The only host ``OPENAI_API_KEY`` goes to unasked (see ``key_source``)."""
_OWN_OPTIONS = frozenset(
    {"base_url", "api", "repeat_penalty", "tokenizer", "reasoning_effort", "thinking_budget"}
    | {"think_end"}
)
KNOWN_OPTIONS = _OWN_OPTIONS | KEY_OPTIONS | LIMIT_OPTIONS
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})


@dataclass(frozen=True, slots=True)
class OpenAIOptions:
    """The parsed ``openai:MODEL[,key=value...]`` options. Holds no secret: only the env name."""

    model: str
    base_url: str = DEFAULT_BASE_URL
    api: Literal["chat", "completions"] = "chat"
    api_key_env: str | None = DEFAULT_KEY_ENV
    """The variable holding the key this server gets; None: it gets none (see ``key_source``)."""
    repeat_penalty: float | None = None
    limits: ApiLimits = field(default_factory=ApiLimits)
    tokenizer: str | None = None
    """What counts output tokens when a stream reports no usage: a GGUF path (its vocabulary)
    or ``server`` (the server's tokenize endpoint); None: nothing, the chunk count is flagged."""
    reasoning_effort: str | None = None
    """Sent as ``reasoning_effort`` (OpenAI's reasoning models: minimal, low, medium, high...)."""
    thinking_budget: int = 0
    """Output tokens allowed for thinking on top of a task's ``max_tokens`` (a reasoning model's
    ``max_completion_tokens`` counts its hidden reasoning too, so without room the answer is
    cut); also what the cost estimate reserves for reasoning."""
    think_end: str | None = None
    """The marker ending a think section written into the text (None: the text is never cut)."""

    @property
    def concurrency(self) -> int:
        return self.limits.concurrency

    @property
    def timeout(self) -> float:
        return self.limits.timeout

    @property
    def max_retries(self) -> int:
        return self.limits.max_retries

    @property
    def host(self) -> str:
        return (urlparse(self.base_url).hostname or "").lower()

    @property
    def is_openai_cloud(self) -> bool:
        return self.host == "api.openai.com" or self.host.endswith(".openai.com")

    @property
    def is_local(self) -> bool:
        return self.host in _LOOPBACK_HOSTS

    def extra_body(self) -> dict[str, JSONValue] | None:
        """Non-standard sampling fields some servers need (llama.cpp's default repeat_penalty
        is 1.1, which changes even greedy output; ``repeat_penalty=1.0`` switches it off)."""
        if self.repeat_penalty is None:
            return None
        return {"repeat_penalty": self.repeat_penalty}


def parse_options(target: str, options: Mapping[str, str]) -> OpenAIOptions:
    """Validate the model spec's options; ConfigError with a one-line message otherwise."""
    if not target:
        raise ConfigError("openai backend needs a model name, e.g. openai:gpt-4o-mini")
    refuse_key_options("openai", options, DEFAULT_KEY_ENV)
    unknown = sorted(set(options) - KNOWN_OPTIONS)
    if unknown:
        raise ConfigError(
            f"unknown openai option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(KNOWN_OPTIONS))}"
        )
    base_url = check_base_url("openai", options.get("base_url", DEFAULT_BASE_URL))
    api = options.get("api", "chat")
    if api not in ("chat", "completions"):
        raise ConfigError(f"openai option api={api!r} must be 'chat' or 'completions'")
    return OpenAIOptions(
        model=target,
        base_url=base_url,
        api="chat" if api == "chat" else "completions",
        api_key_env=key_source(
            "openai", base_url, options, default_env=DEFAULT_KEY_ENV, provider_host=PROVIDER_HOST
        ).env,
        repeat_penalty=float_option("openai", options, "repeat_penalty", None, minimum=0.0),
        limits=parse_limits("openai", options),
        tokenizer=options.get("tokenizer") or None,
        reasoning_effort=_effort(options.get("reasoning_effort")),
        thinking_budget=int_option("openai", options, "thinking_budget", 0, minimum=0),
        think_end=think_end_option(options.get("think_end")),
    )


def _effort(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not raw.isalpha():
        raise ConfigError(
            f"openai option reasoning_effort={raw!r} must be a word (minimal, low, medium, high)"
        )
    return raw.lower()


# --- request bodies -----------------------------------------------------------------------


def chat_messages(prompt: str | Sequence[ChatMessage]) -> list[dict[str, str]]:
    """A plain-string prompt becomes one user message."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": m.role, "content": m.content} for m in prompt]


def completion_prompt(prompt: str | Sequence[ChatMessage]) -> str:
    """The raw text for the completions API. Chat prompts are refused: rendering them needs the
    model's chat template, which only the server knows (use api=chat)."""
    if isinstance(prompt, str):
        return prompt
    raise ValueError("chat-message prompts need api=chat (the server applies the chat template)")


def generation_body(
    request: GenerateRequest, options: OpenAIOptions, *, stream: bool = True
) -> dict[str, Any]:
    """Keyword arguments for ``client.chat.completions.create`` / ``client.completions.create``.

    OpenAI's own chat endpoint takes ``max_completion_tokens`` (its reasoning models refuse
    ``max_tokens``); other servers (llama.cpp, older vLLM) only know ``max_tokens``. Either
    counts thinking too, so the ``thinking_budget`` is added to the task's limit. OpenAI's
    reasoning models accept only the default sampling: with ``reasoning_effort`` set,
    ``temperature`` and ``top_p`` are left out of requests to OpenAI's own API.
    """
    s = request.settings
    cloud_chat = options.is_openai_cloud and options.api == "chat"
    length_field = "max_completion_tokens" if cloud_chat else "max_tokens"
    body: dict[str, Any] = {"model": options.model}
    if not (cloud_chat and options.reasoning_effort is not None):
        body.update(temperature=s.temperature, top_p=s.top_p)
    body.update(
        {length_field: s.max_tokens + options.thinking_budget, "seed": s.seed, "stream": stream}
    )
    if options.reasoning_effort is not None:
        body["reasoning_effort"] = options.reasoning_effort
    if stream:
        body["stream_options"] = {"include_usage": True}
    if s.stop:
        body["stop"] = list(s.stop)
    if options.api == "chat":
        body["messages"] = chat_messages(request.prompt)
    else:
        body["prompt"] = completion_prompt(request.prompt)
    extra = options.extra_body()
    if extra:
        body["extra_body"] = extra
    return body


def echo_body(text: str, options: OpenAIOptions) -> dict[str, Any]:
    """Score ``text`` by echoing it back with log-probabilities.

    ``max_tokens=1``, not 0: llama-cpp-python treats 0 as "until the context is full". The one
    generated token is dropped by :func:`echo_prompt_tokens`.
    """
    body: dict[str, Any] = {
        "model": options.model,
        "prompt": text,
        "max_tokens": 1,
        "temperature": 0.0,
        "echo": True,
        "logprobs": 1,
    }
    extra = options.extra_body()
    if extra:
        body["extra_body"] = extra
    return body


# --- responses ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EchoToken:
    text: str
    offset: int
    logprob: float | None
    top: Mapping[str, float]


def echo_tokens(logprobs: Mapping[str, Any]) -> list[EchoToken]:
    """The per-token view of a completions ``logprobs`` object (echo or not)."""
    tokens = list(logprobs.get("tokens") or [])
    offsets = list(logprobs.get("text_offset") or [])
    values = list(logprobs.get("token_logprobs") or [])
    tops = list(logprobs.get("top_logprobs") or [None] * len(tokens))
    if not (len(tokens) == len(offsets) == len(values) == len(tops)):
        raise ValueError("malformed logprobs: tokens/text_offset/token_logprobs lengths differ")
    return [
        EchoToken(str(t), int(o), None if v is None else float(v), dict(top or {}))
        for t, o, v, top in zip(tokens, offsets, values, tops, strict=True)
    ]


def echo_prompt_tokens(tokens: Sequence[EchoToken], completion_tokens: int) -> list[EchoToken]:
    """Drop the tokens the server generated after the echoed prompt."""
    if completion_tokens <= 0:
        return list(tokens)
    return list(tokens[: max(0, len(tokens) - completion_tokens)])


def loglikelihood_from_echo(
    context: str,
    continuation: str,
    prompt_tokens: Sequence[EchoToken],
    usage: Usage | None = None,
) -> LoglikelihoodResult:
    """log P(continuation | context) from the echoed tokens of ``context + continuation``.

    A token belongs to the continuation when it ends after the context does (so a token that
    straddles the boundary is counted, as lm-evaluation-harness does with character offsets).
    ``is_greedy``: every continuation token is the top-1 token at its position.
    """
    boundary = len(context)
    mine = [t for t in prompt_tokens if t.offset + len(t.text) > boundary]
    if not mine:
        raise ValueError("no continuation tokens in the echoed prompt")
    logprob = 0.0
    greedy = True
    for token in mine:
        if token.logprob is None:
            raise ValueError("the server returned no log-probability for a continuation token")
        logprob += token.logprob
        best = max(token.top.values(), default=token.logprob)
        if token.logprob < best - 1e-6:
            greedy = False
    return LoglikelihoodResult(logprob, greedy, len(mine), usage or Usage())


def echo_agrees(echo_logprob: float, reference_logprob: float, tolerance: float = 0.05) -> bool:
    """Whether an echoed prompt log-probability matches the server's own generation logprob."""
    return math.isfinite(echo_logprob) and abs(echo_logprob - reference_logprob) <= tolerance


def usage_from(
    raw: Mapping[str, Any] | None,
    *,
    prompt_seconds: float | None = None,
    output_seconds: float | None = None,
    fallback_output_tokens: int = 0,
    fallback_estimated: bool = False,
) -> Usage:
    """Usage from a response's ``usage``; ``fallback_output_tokens`` where it has no completion
    tokens, flagged as an estimate when ``fallback_estimated`` (counted without a tokenizer)."""
    raw = raw or {}
    details = raw.get("prompt_tokens_details") or {}
    reported = int(raw.get("completion_tokens") or 0)
    return Usage(
        reasoning_tokens=reported_reasoning_tokens(raw),
        prompt_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=reported or fallback_output_tokens,
        prompt_seconds=prompt_seconds,
        output_seconds=output_seconds,
        cached_prompt_tokens=int(details.get("cached_tokens") or 0)
        if isinstance(details, Mapping)
        else 0,
        output_tokens_estimated=not reported and fallback_estimated and fallback_output_tokens > 0,
    )


def reported_reasoning_tokens(raw: Mapping[str, Any]) -> int | None:
    """``usage.completion_tokens_details.reasoning_tokens`` (OpenAI, DeepSeek); None when the
    server does not report it (llama.cpp, vLLM: their reasoning is counted otherwise)."""
    details = raw.get("completion_tokens_details")
    if not isinstance(details, Mapping) or details.get("reasoning_tokens") is None:
        return None
    return int(details["reasoning_tokens"])
