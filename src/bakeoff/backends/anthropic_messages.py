"""Anthropic's Messages API, and any server that speaks it (llama.cpp's ``llama-server``).

``anthropic:MODEL[,base_url=https://api.anthropic.com,concurrency=8,timeout=60,max_retries=5,
rpm=N,tpm=N,api_key_env=ANTHROPIC_API_KEY,allow_http=0,thinking_budget=N,
reasoning_effort=low|medium|high,think_end=</think>|none]``

* Built on the official ``anthropic`` SDK (``AsyncAnthropic``, its retries off: ours, shared
  with the OpenAI backend in :mod:`bakeoff.backends._api`, replace them).
* The key comes from ``ANTHROPIC_API_KEY`` (or the variable named by ``api_key_env``), else the
  keyring (service ``bakeoff``, user = that variable's name). ``ANTHROPIC_API_KEY`` goes only
  to ``https://api.anthropic.com``; another server (llama-server on 127.0.0.1, a proxy) gets
  the key the spec names, or none: no ``Authorization`` or ``X-Api-Key`` header at all, so the
  SDK's own look in the environment (``ANTHROPIC_AUTH_TOKEN`` too) sends nothing either (see
  ``key_source`` in :mod:`bakeoff.backends._api`).
* Generation only, streamed: the Messages API returns no log-probabilities, so log-likelihood
  tasks are scored by the runner's answer-letter formulation (labelled as such) instead.
* ``system`` messages go to the ``system`` field; ``temperature``/``top_p`` are sent in the
  request body as the API documents them (``top_p`` only when it is not 1: recent models refuse
  both at once). There is no ``seed``: sampled output is not reproducible on this API.
* Usage comes from the stream (``message_start`` has the input tokens, ``message_delta`` the
  output tokens), so cost is computed from what the server counted. Prompt tokens are
  ``input_tokens`` + ``cache_read_input_tokens`` + ``cache_creation_input_tokens`` (the API
  counts cached parts apart), the cache reads stored as cached prompt tokens.
* Extended thinking: ``thinking_budget=N`` (at least 1024) sends ``thinking: {type: enabled,
  budget_tokens: N}`` and raises ``max_tokens`` by N (the budget counts against it); the API
  refuses sampling settings with thinking on, so ``temperature``/``top_p`` are then left out.
  ``reasoning_effort`` is sent as ``output_config.effort``. ``thinking`` blocks are kept apart
  from the answer; their tokens come from ``usage.output_tokens_details.thinking_tokens`` (None,
  unknown, when a thinking model's server does not report them). A think section written into
  the text (llama-server on a local model) is cut at ``think_end`` (default ``</think>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bakeoff.backends._api import (
    KEY_OPTIONS,
    LIMIT_OPTIONS,
    ApiBackend,
    Outcome,
    StreamCutError,
    check_base_url,
    estimate_tokens,
    int_option,
    key_source,
    parse_limits,
    refuse_key_options,
)
from bakeoff.backends._reasoning_stream import StreamTrace
from bakeoff.core import secrets
from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.thinking import DEFAULT_THINK_END, think_end_option
from bakeoff.core.types import (
    ChatMessage,
    GenerateRequest,
    GenerationResult,
    JSONValue,
    Request,
    RequestKind,
    Usage,
)

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"
PROVIDER_HOST = "api.anthropic.com"
REASONING_OPTIONS = frozenset({"thinking_budget", "reasoning_effort", "think_end"})
KNOWN_OPTIONS = frozenset({"base_url"}) | REASONING_OPTIONS | KEY_OPTIONS | LIMIT_OPTIONS
MIN_THINKING_BUDGET = 1024
"""The API's floor for ``budget_tokens``."""
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}
_STREAM_ERRORS = {"overloaded_error": 529, "api_error": 500, "rate_limit_error": 429}


def message_fields(prompt: str | Sequence[ChatMessage]) -> dict[str, Any]:
    """``messages`` (and ``system`` when there is one) for a bakeoff prompt."""
    if isinstance(prompt, str):
        return {"messages": [{"role": "user", "content": prompt}]}
    system = "\n\n".join(m.content for m in prompt if m.role == "system")
    turns = [{"role": m.role, "content": m.content} for m in prompt if m.role != "system"]
    fields: dict[str, Any] = {"messages": turns}
    if system:
        fields["system"] = system
    return fields


@dataclass(frozen=True, slots=True)
class Reasoning:
    """The spec's reasoning settings (none set: a plain request, as before)."""

    thinking_budget: int = 0
    effort: str | None = None
    think_end: str | None = DEFAULT_THINK_END


def messages_body(
    request: GenerateRequest, model: str, reasoning: Reasoning | None = None
) -> dict[str, Any]:
    """The Messages API request for a generation request (without ``stream``)."""
    s = request.settings
    reasoning = reasoning or Reasoning()
    budget = reasoning.thinking_budget
    body: dict[str, Any] = {"model": model, "max_tokens": s.max_tokens + budget}
    body.update(message_fields(request.prompt))
    if s.stop:
        body["stop_sequences"] = list(s.stop)
    if budget:
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    if reasoning.effort is not None:
        body["output_config"] = {"effort": reasoning.effort}
    if not budget:  # with thinking on the API takes only its own sampling
        sampling: dict[str, Any] = {"temperature": s.temperature}
        if s.top_p != 1.0:
            sampling["top_p"] = s.top_p
        # This SDK's create() has no temperature/top_p arguments; the API takes them in the body.
        body["extra_body"] = sampling
    return body


def finish_reason(stop_reason: str | None) -> str | None:
    if stop_reason is None:
        return None
    return _FINISH.get(stop_reason, stop_reason)


class AnthropicBackend(ApiBackend):
    name = "anthropic"
    supports = frozenset({RequestKind.GENERATE})
    sdk_module = "anthropic"
    sdk_extra = "anthropic"
    default_key_env = DEFAULT_KEY_ENV

    def __init__(self, spec: ModelSpec) -> None:
        base_url, api_key_env = _parse(spec)
        self.reasoning = parse_reasoning(spec)
        super().__init__(
            spec,
            base_url=base_url,
            limits=parse_limits("anthropic", spec.options),
            api_key_env=api_key_env,
        )

    @classmethod
    def preflight(cls, spec: ModelSpec) -> None:
        _base_url, env = _parse(spec)
        if env is not None and not secrets.api_key(env):
            raise ConfigError(
                f"anthropic backend ({spec.label}) needs an API key: set the environment "
                f"variable {env} (or store it with: keyring set {secrets.KEYRING_SERVICE} {env})"
            )

    def make_client(self, *, asynchronous: bool) -> Any:
        factory = self.sdk.AsyncAnthropic if asynchronous else self.sdk.Anthropic
        return factory(
            **self.client_credentials(
                asynchronous=asynchronous, headers=("Authorization", "X-Api-Key")
            ),
            base_url=self.base_url,
            timeout=self.limits.timeout,
            max_retries=0,
        )

    def _unsupported(self, kind: RequestKind) -> str:
        return (
            f"backend 'anthropic' ({self.spec.label}) cannot serve {kind.value} requests: the "
            "Messages API returns no log-probabilities (multiple-choice tasks are scored by "
            "answer letter instead; perplexity tasks cannot run on it)"
        )

    def request_body(self, request: Request) -> dict[str, JSONValue]:
        if not isinstance(request, GenerateRequest):
            raise TypeError(f"anthropic backend cannot send {type(request).__name__}")
        body = messages_body(request, self.spec.target, self.reasoning)
        return {"endpoint": "messages", **body}

    def fingerprint(self, request: Request) -> dict[str, JSONValue]:
        """The body decides the server's answer; the end marker decides the answer kept (a key
        of its own only when not the default, so existing cache entries still match)."""
        key = super().fingerprint(request)
        if self.reasoning.think_end != DEFAULT_THINK_END:
            key["think_end"] = self.reasoning.think_end
        return key

    def info(self) -> ModelInfo:
        extra: dict[str, JSONValue] = {"api": "messages"}
        if self.reasoning.thinking_budget:
            extra["thinking_budget"] = self.reasoning.thinking_budget
        if self.reasoning.effort is not None:
            extra["reasoning_effort"] = self.reasoning.effort
        return ModelInfo(
            name=self.spec.target, backend=self.name, source=self.base_url, extra=extra
        )

    async def send(self, client: Any, request: Request) -> Outcome:
        if not isinstance(request, GenerateRequest):
            raise TypeError(f"anthropic backend cannot send {type(request).__name__}")
        body = messages_body(request, self.spec.target, self.reasoning)
        prompt_estimate, output_estimate = estimate_tokens(request)
        estimate = prompt_estimate + output_estimate

        async def call() -> GenerationResult:
            result = await self._stream(client, body)
            used = result.usage.prompt_tokens + result.usage.output_tokens
            self.limiter.settle(estimate, used if result.usage.prompt_tokens else None)
            return result

        return await self.with_retries("generate", call, estimate)

    async def _stream(self, client: Any, body: dict[str, Any]) -> GenerationResult:
        trace = StreamTrace()
        stop: str | None = None
        finished = False
        input_tokens = output_tokens = cached = 0
        thinking_tokens: int | None = None
        try:
            stream = await client.messages.create(**body, stream=True)
            self.gate.note(getattr(getattr(stream, "response", None), "headers", None))
            async for event in stream:
                kind = getattr(event, "type", None)
                if kind == "message_start":
                    usage = event.message.usage
                    cached = int(getattr(usage, "cache_read_input_tokens", 0) or 0)
                    written = int(getattr(usage, "cache_creation_input_tokens", 0) or 0)
                    # input_tokens counts only the uncached rest: the prompt is all three (as
                    # OpenAI's prompt_tokens, of which cached_tokens are a part).
                    input_tokens = int(getattr(usage, "input_tokens", 0) or 0) + cached + written
                elif kind == "content_block_start":
                    block = getattr(event.content_block, "type", "")
                    trace.hidden_thinking |= block in ("thinking", "redacted_thinking")
                elif kind == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta":
                        trace.add_text(delta.text)
                    elif delta.type == "thinking_delta":
                        trace.add_thinking(delta.thinking)
                elif kind == "message_delta":
                    stop = event.delta.stop_reason or stop
                    output_tokens = int(getattr(event.usage, "output_tokens", 0) or 0)
                    thinking_tokens = _thinking_tokens(event.usage, thinking_tokens)
                elif kind == "message_stop":
                    finished = True
        except self.sdk.APIStatusError as error:
            _raise_stream_error(error)
            raise
        traced = trace.finish(self.reasoning.think_end)
        if not finished:
            # A stream cut mid-way ends "normally" on a close-delimited connection.
            raise StreamCutError("the stream ended without message_stop")
        first_at = traced.first_token_at or traced.end
        usage = Usage(
            prompt_tokens=input_tokens,
            output_tokens=output_tokens or trace.pieces,
            prompt_seconds=first_at - trace.start,
            output_seconds=traced.end - first_at,
            cached_prompt_tokens=cached,
            # A server that reports no output tokens leaves only the chunk count, which is not a
            # token count (the Messages API has no tokenize endpoint to ask): an estimate.
            output_tokens_estimated=not output_tokens and bool(trace.pieces),
            reasoning_tokens=thinking_tokens if traced.thought else (thinking_tokens or 0),
            first_answer_seconds=None
            if traced.first_answer_at is None
            else traced.first_answer_at - trace.start,
        )
        return GenerationResult(traced.answer, finish_reason(stop) or "stop", usage)


def _thinking_tokens(usage: Any, before: int | None) -> int | None:
    """``output_tokens_details.thinking_tokens`` of a ``message_delta``'s usage, if reported."""
    details = getattr(usage, "output_tokens_details", None)
    value = getattr(details, "thinking_tokens", None)
    return before if value is None else int(value)


def parse_reasoning(spec: ModelSpec) -> Reasoning:
    options = spec.options
    budget = int_option("anthropic", options, "thinking_budget", 0, minimum=0)
    if 0 < budget < MIN_THINKING_BUDGET:
        raise ConfigError(
            f"anthropic option thinking_budget={budget} must be 0 (off) or at least "
            f"{MIN_THINKING_BUDGET}, the API's minimum"
        )
    effort = options.get("reasoning_effort")
    if effort is not None and not effort.isalpha():
        raise ConfigError(
            f"anthropic option reasoning_effort={effort!r} must be a word (low, medium, high)"
        )
    return Reasoning(
        thinking_budget=budget,
        effort=None if effort is None else effort.lower(),
        think_end=think_end_option(options.get("think_end")),
    )


def _raise_stream_error(error: Any) -> None:
    """An ``error`` event inside a 200 stream (e.g. overloaded): retried like its HTTP status."""
    if int(getattr(error, "status_code", 0) or 0) != 200:
        return
    body = getattr(error, "body", None)
    inner = body.get("error", body) if isinstance(body, dict) else None
    kind = inner.get("type") if isinstance(inner, dict) else None
    if kind in _STREAM_ERRORS:
        raise StreamCutError(
            f"error event {kind} in the stream (like HTTP {_STREAM_ERRORS[kind]})"
        ) from None


def _parse(spec: ModelSpec) -> tuple[str, str | None]:
    """(base URL, the variable holding the key it gets or None)."""
    if not spec.target:
        raise ConfigError("anthropic backend needs a model name, e.g. anthropic:claude-haiku-4-5")
    refuse_key_options("anthropic", spec.options, DEFAULT_KEY_ENV)
    unknown = sorted(set(spec.options) - KNOWN_OPTIONS)
    if unknown:
        raise ConfigError(
            f"unknown anthropic option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(KNOWN_OPTIONS))}"
        )
    parse_limits("anthropic", spec.options)
    parse_reasoning(spec)
    base_url = check_base_url("anthropic", spec.options.get("base_url", DEFAULT_BASE_URL))
    if base_url.endswith("/v1"):
        base_url = base_url[: -len("/v1")]  # the SDK adds /v1/messages itself
    source = key_source(
        "anthropic",
        base_url,
        spec.options,
        default_env=DEFAULT_KEY_ENV,
        provider_host=PROVIDER_HOST,
    )
    return base_url, source.env
