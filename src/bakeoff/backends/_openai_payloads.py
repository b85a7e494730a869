"""Pure mapping between bakeoff requests/results and OpenAI-compatible payloads (no I/O).

Kept apart from :mod:`bakeoff.backends.openai_compat` so option parsing, request bodies, retry
policy and log-likelihood extraction are unit-testable without a server.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlparse

from bakeoff.core.errors import ConfigError
from bakeoff.core.types import (
    ChatMessage,
    GenerateRequest,
    JSONValue,
    LoglikelihoodResult,
    Usage,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRYABLE_STATUS = frozenset({408, 409, 429})
_KNOWN_OPTIONS = frozenset(
    {
        "base_url",
        "concurrency",
        "timeout",
        "max_retries",
        "api",
        "api_key_env",
        "repeat_penalty",
    }
)
_MAX_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class OpenAIOptions:
    """The parsed ``openai:MODEL[,key=value...]`` options. Holds no secret: only the env name."""

    model: str
    base_url: str = DEFAULT_BASE_URL
    concurrency: int = 8
    timeout: float = 60.0
    max_retries: int = 5
    api: Literal["chat", "completions"] = "chat"
    api_key_env: str = "OPENAI_API_KEY"
    repeat_penalty: float | None = None

    @property
    def is_openai_cloud(self) -> bool:
        return (urlparse(self.base_url).hostname or "").endswith("api.openai.com")

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
    unknown = sorted(set(options) - _KNOWN_OPTIONS)
    if "api_key" in unknown:
        raise ConfigError(
            "never put an API key in the model spec: set OPENAI_API_KEY (or name another "
            "environment variable with api_key_env=NAME)"
        )
    if unknown:
        raise ConfigError(
            f"unknown openai option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_KNOWN_OPTIONS))}"
        )
    base_url = options.get("base_url", DEFAULT_BASE_URL).rstrip("/")
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"openai base_url '{base_url}' must be an http(s) URL with a host")
    if parsed.username or parsed.password:
        raise ConfigError("openai base_url must not carry credentials; use api_key_env instead")
    api = options.get("api", "chat")
    if api not in ("chat", "completions"):
        raise ConfigError(f"openai option api={api!r} must be 'chat' or 'completions'")
    api_key_env = options.get("api_key_env", "OPENAI_API_KEY")
    if not api_key_env.replace("_", "").isalnum():
        raise ConfigError(f"api_key_env={api_key_env!r} must name an environment variable")
    repeat_penalty = options.get("repeat_penalty")
    return OpenAIOptions(
        model=target,
        base_url=base_url,
        concurrency=_int(options, "concurrency", 8, minimum=1),
        timeout=_float(options, "timeout", 60.0, minimum=0.001),
        max_retries=_int(options, "max_retries", 5, minimum=0),
        api="chat" if api == "chat" else "completions",
        api_key_env=api_key_env,
        repeat_penalty=None
        if repeat_penalty is None
        else _float(options, "repeat_penalty", 1.0, minimum=0.0),
    )


def _int(options: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"openai option {name}={raw!r} must be an integer") from None
    if value < minimum:
        raise ConfigError(f"openai option {name}={raw!r} must be at least {minimum}")
    return value


def _float(options: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"openai option {name}={raw!r} must be a number") from None
    if not math.isfinite(value) or value < minimum:
        raise ConfigError(f"openai option {name}={raw!r} must be at least {minimum}")
    return value


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
    """Keyword arguments for ``client.chat.completions.create`` / ``client.completions.create``."""
    s = request.settings
    body: dict[str, Any] = {
        "model": options.model,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "max_tokens": s.max_tokens,
        "seed": s.seed,
        "stream": stream,
    }
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
) -> Usage:
    raw = raw or {}
    details = raw.get("prompt_tokens_details") or {}
    return Usage(
        prompt_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or fallback_output_tokens),
        prompt_seconds=prompt_seconds,
        output_seconds=output_seconds,
        cached_prompt_tokens=int(details.get("cached_tokens") or 0)
        if isinstance(details, Mapping)
        else 0,
    )


# --- retry policy -------------------------------------------------------------------------


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS or 500 <= status <= 599


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if now is None:
        import time

        now = time.time()
    return max(0.0, when.timestamp() - now)


def backoff_seconds(
    attempt: int,
    retry_after: float | None = None,
    *,
    base: float = 0.5,
    cap: float = _MAX_BACKOFF_SECONDS,
    rng: random.Random | None = None,
) -> float:
    """Exponential backoff with full jitter; a server's Retry-After wins (capped)."""
    if retry_after is not None:
        return min(retry_after, cap)
    ceiling = min(cap, base * (2 ** max(0, attempt)))
    return (rng or random).uniform(0.0, ceiling)


def redact(text: str, secret: str | None) -> str:
    """Remove a secret from text that may end up in a message (belt and braces)."""
    if secret:
        text = text.replace(secret, "[redacted]")
    return text
