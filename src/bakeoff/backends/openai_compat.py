"""Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp's server, Ollama, LM Studio).

``openai:MODEL[,base_url=http://127.0.0.1:8000/v1,concurrency=8,timeout=60,max_retries=5,
api=chat|completions,api_key_env=OPENAI_API_KEY,repeat_penalty=1.0]``

* The API key comes from the environment (``OPENAI_API_KEY`` or the variable named by
  ``api_key_env``), never from the spec; it is never stored, logged or put in a message.
* Each batch call fans its requests out concurrently (``AsyncOpenAI`` under a semaphore of
  ``concurrency``) and returns results in request order.
* The SDK's own retries are off (``max_retries=0`` on the client); ours retry 408/409/429/5xx,
  connection errors and timeouts with exponential backoff and jitter, honouring Retry-After.
  Other 4xx fail fast with the server's message; 401/403/404 stop the run with a BackendError
  (wrong key or model: every request would fail the same way). ``retries`` counts retries.
* Generation streams, so time to first token is measured (``prompt_seconds``) apart from the
  rest (``output_seconds``), on a monotonic clock.
* Log-likelihoods (``api=completions`` only) use ``echo`` + ``logprobs``, after a one-time probe
  checking the echoed log-probabilities against the server's own generation log-probabilities
  (llama-cpp-python's server returns wrong echo values for models without a BOS token).
  Chat-only configurations (``api=chat``) leave LOGLIKELIHOOD out of ``supports``.

llama-cpp-python's server needs two settings to give the same answers as llama.cpp in-process:
start it with ``--interrupt_requests False`` whenever ``concurrency`` > 1 (by default a new
request aborts the running one, which then ends early with finish_reason "stop", which cannot
be told apart from a real answer), and pass ``repeat_penalty=1.0`` here (its default of 1.1
changes even greedy output). Its streams carry no usage, so prompt tokens are 0 there.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from bakeoff.backends import _openai_payloads as payloads
from bakeoff.backends.base import (
    Backend,
    GenerationOutcome,
    LoglikelihoodOutcome,
    ModelInfo,
    ModelSpec,
)
from bakeoff.core.errors import BackendError, ConfigError, MissingDependencyError
from bakeoff.core.types import (
    GenerateRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RequestFailure,
    RequestKind,
    Usage,
)

T = TypeVar("T")

log = logging.getLogger(__name__)

PROBE_PROMPT = "The capital of France is"


def _import_openai() -> Any:
    try:
        return importlib.import_module("openai")
    except ImportError:
        raise MissingDependencyError("openai", "openai", "the openai backend") from None


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Raw HTTP transport errors that can escape the SDK while a stream is being read."""
    found: list[type[BaseException]] = []
    for module_name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        error = getattr(module, "TransportError", None)
        if isinstance(error, type) and issubclass(error, BaseException):
            found.append(error)
    return tuple(found)


class _FatalError(Exception):
    """Raised inside a request task to stop the whole batch with a BackendError."""


class _IncompleteStreamError(Exception):
    """A stream that ended without a finish_reason (connection cut mid-way): retried."""


class OpenAICompatBackend(Backend):
    name = "openai"
    supports = frozenset({RequestKind.GENERATE, RequestKind.LOGLIKELIHOOD})

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.options = payloads.parse_options(spec.target, spec.options)
        self._openai = _import_openai()
        self._transport = _transport_errors()
        self.retries = 0
        self.requests_sent = 0
        self._echo_checked: bool | None = None
        kinds = {RequestKind.GENERATE}
        if self.options.api == "completions":
            kinds.add(RequestKind.LOGLIKELIHOOD)
        # Per instance: a chat-only configuration cannot score log-likelihoods.
        vars(self)["supports"] = frozenset(kinds)

    # --- configuration ------------------------------------------------------------------

    @classmethod
    def preflight(cls, spec: ModelSpec) -> None:
        options = payloads.parse_options(spec.target, spec.options)
        explicit_env = "api_key_env" in spec.options
        if (options.is_openai_cloud or explicit_env) and not os.environ.get(options.api_key_env):
            raise ConfigError(
                f"openai backend ({spec.label}) needs an API key: set the environment "
                f"variable {options.api_key_env}"
            )

    def _api_key(self) -> str:
        # Local servers usually need no key, but the SDK insists on one.
        return os.environ.get(self.options.api_key_env) or "sk-no-key-required"

    def _redact(self, text: str) -> str:
        return payloads.redact(text, os.environ.get(self.options.api_key_env))

    def _unsupported(self, kind: RequestKind) -> str:
        if kind is RequestKind.LOGLIKELIHOOD and self.options.api == "chat":
            return (
                f"backend 'openai' ({self.spec.label}) uses the chat API, which returns no "
                "log-probabilities of the prompt, so it cannot score log-likelihood tasks; "
                "use api=completions on a server that supports echo+logprobs "
                "(llama.cpp server, vLLM) or a generation task"
            )
        return super()._unsupported(kind)

    def info(self) -> ModelInfo:
        extra: dict[str, Any] = {"api": self.options.api}
        try:
            client = self._openai.OpenAI(
                api_key=self._api_key(),
                base_url=self.options.base_url,
                timeout=min(self.options.timeout, 10.0),
                max_retries=0,
            )
            try:
                models = [m.model_dump() for m in client.models.list().data]
            finally:
                client.close()
        except Exception:  # best effort: /v1/models is optional
            extra["models_endpoint"] = "unavailable"
            models = []
        served = [str(m.get("id")) for m in models]
        extra["served_models"] = served[:20]
        entry = next((m for m in models if m.get("id") == self.options.model), None)
        if entry is None and len(models) == 1:
            entry = models[0]  # single-model servers (llama.cpp) answer to any name
        if entry is not None:
            extra["owned_by"] = entry.get("owned_by")
            extra["served_id"] = entry.get("id")
        context_length = None
        if entry is not None:
            for key in ("max_model_len", "context_length", "context_window"):
                if isinstance(entry.get(key), int):
                    context_length = int(entry[key])
        return ModelInfo(
            name=self.options.model,
            backend=self.name,
            source=self.options.base_url,
            context_length=context_length,
            extra=extra,
        )

    # --- batch plumbing -----------------------------------------------------------------

    def _run_batch(self, items: Sequence[T], one: Callable[[Any, T], Awaitable[Any]]) -> list[Any]:
        async def main() -> list[Any]:
            client = self._openai.AsyncOpenAI(
                api_key=self._api_key(),
                base_url=self.options.base_url,
                timeout=self.options.timeout,
                max_retries=0,
            )
            semaphore = asyncio.Semaphore(self.options.concurrency)

            async def bounded(item: T) -> Any:
                async with semaphore:
                    return await one(client, item)

            try:
                return list(await asyncio.gather(*(bounded(item) for item in items)))
            finally:
                await client.close()

        try:
            return asyncio.run(main())
        except _FatalError as error:
            raise BackendError(str(error)) from None

    async def _with_retries(
        self, what: str, call: Callable[[], Awaitable[T]]
    ) -> T | RequestFailure:
        openai = self._openai
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                self.requests_sent += 1
                return await call()
            except openai.APIStatusError as error:
                status = int(error.status_code)
                message = self._redact(_server_message(error))
                if status in (401, 403):
                    raise _FatalError(
                        f"openai backend ({self.spec.label}): {self.options.base_url} refused "
                        f"the API key from {self.options.api_key_env} (HTTP {status}: {message})"
                    ) from None
                if status == 404:
                    raise _FatalError(
                        f"openai backend ({self.spec.label}): model '{self.options.model}' or "
                        f"endpoint not found at {self.options.base_url} (HTTP 404: {message})"
                    ) from None
                if not payloads.is_retryable_status(status):
                    return RequestFailure(f"{what}: HTTP {status}: {message}")
                if attempt >= self.options.max_retries:
                    return RequestFailure(
                        f"{what}: HTTP {status} after {attempt + 1} attempts: {message}"
                    )
                headers = getattr(error.response, "headers", {}) or {}
                retry_after = payloads.parse_retry_after(headers.get("retry-after"))
                why = f"HTTP {status}"
            except (openai.APIConnectionError, _IncompleteStreamError, *self._transport) as error:
                why = type(error).__name__
                if attempt >= self.options.max_retries:
                    name = type(error).__name__
                    kind = (
                        "timeout"
                        if "Timeout" in name
                        else "incomplete stream"
                        if isinstance(error, _IncompleteStreamError)
                        else "connection error"
                    )
                    return RequestFailure(
                        f"{what}: {kind} after {attempt + 1} attempts ({type(error).__name__})"
                    )
            except (openai.APIError, ValueError, KeyError, TypeError, IndexError) as error:
                # A response we cannot read (malformed JSON, missing fields): not retried.
                detail = self._redact(" ".join(str(error).split()))[:200]
                return RequestFailure(
                    f"{what}: unreadable response ({type(error).__name__}: {detail})"
                )
            attempt += 1
            self.retries += 1
            delay = payloads.backoff_seconds(attempt - 1, retry_after)
            log.info(
                "%s (%s): %s, retry %d/%d in %.2fs",
                what,
                self.spec.label,
                why,
                attempt,
                self.options.max_retries,
                delay,
            )
            await asyncio.sleep(delay)

    # --- generation ---------------------------------------------------------------------

    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerationOutcome]:
        for request in requests:
            if self.options.api == "completions" and not isinstance(request.prompt, str):
                raise BackendError(
                    f"openai backend ({self.spec.label}) with api=completions got a chat "
                    "prompt: use api=chat so the server applies the model's chat template"
                )
        return self._run_batch(requests, self._generate_one)

    async def _generate_one(self, client: Any, request: GenerateRequest) -> GenerationOutcome:
        body = payloads.generation_body(request, self.options, stream=True)
        body["stream_options"] = {"include_usage": True}
        chat = self.options.api == "chat"
        create = client.chat.completions.create if chat else client.completions.create

        async def call() -> GenerationResult:
            start = time.monotonic()
            first: float | None = None
            parts: list[str] = []
            finish: str | None = None
            usage_raw: dict[str, Any] | None = None
            stream = await create(**body)
            async for chunk in stream:
                if getattr(chunk, "usage", None) is not None:
                    usage_raw = chunk.usage.model_dump()
                for choice in chunk.choices:
                    text = choice.delta.content if chat else choice.text
                    if text:
                        if first is None:
                            first = time.monotonic()
                        parts.append(text)
                    if choice.finish_reason:
                        finish = str(choice.finish_reason)
            end = time.monotonic()
            if finish is None:
                # A close-delimited stream cut mid-way ends "normally": never keep half a text.
                raise _IncompleteStreamError("the stream ended without a finish_reason")
            ttft = (first if first is not None else end) - start
            usage = payloads.usage_from(
                usage_raw,
                prompt_seconds=ttft,
                output_seconds=end - (first if first is not None else end),
                fallback_output_tokens=len(parts),
            )
            return GenerationResult("".join(parts), finish, usage)

        return await self._with_retries("generate", call)

    # --- log-likelihood -----------------------------------------------------------------

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodOutcome]:
        if RequestKind.LOGLIKELIHOOD not in self.supports:
            return super().loglikelihood(requests)
        self.check_echo()
        return self._run_batch(requests, self._loglikelihood_one)

    async def _echo(self, client: Any, text: str) -> tuple[list[payloads.EchoToken], Usage]:
        start = time.monotonic()
        response = await client.completions.create(**payloads.echo_body(text, self.options))
        elapsed = time.monotonic() - start
        choice = response.choices[0]
        if choice.logprobs is None:
            raise ValueError("the server returned no logprobs for an echo request")
        usage_raw = response.usage.model_dump() if response.usage is not None else None
        completion = int((usage_raw or {}).get("completion_tokens") or 0)
        tokens = payloads.echo_prompt_tokens(
            payloads.echo_tokens(choice.logprobs.model_dump()), completion
        )
        usage = payloads.usage_from(usage_raw, prompt_seconds=elapsed, output_seconds=0.0)
        return tokens, Usage(usage.prompt_tokens, 0, elapsed, 0.0, usage.cached_prompt_tokens)

    async def _loglikelihood_one(
        self, client: Any, request: LoglikelihoodRequest
    ) -> LoglikelihoodOutcome:
        async def call() -> LoglikelihoodResult | RequestFailure:
            tokens, usage = await self._echo(client, request.context + request.continuation)
            try:
                return payloads.loglikelihood_from_echo(
                    request.context, request.continuation, tokens, usage
                )
            except ValueError as error:
                return RequestFailure(f"loglikelihood: {error}")

        return await self._with_retries("loglikelihood", call)

    def check_echo(self) -> None:
        """Verify once that the server's echo log-probabilities can be trusted.

        Generate one greedy token after a probe prompt (its logprob comes from the normal
        generation path), then echo ``prompt + token`` and compare that token's echoed logprob.
        """
        if self._echo_checked:
            return

        async def probe(client: Any, _: int) -> tuple[str, float, float | None]:
            response = await client.completions.create(
                model=self.options.model,
                prompt=PROBE_PROMPT,
                max_tokens=1,
                temperature=0.0,
                logprobs=1,
                **({"extra_body": self.options.extra_body()} if self.options.extra_body() else {}),
            )
            choice = response.choices[0]
            if choice.logprobs is None or not choice.logprobs.token_logprobs:
                raise ValueError("no logprobs in a generation response")
            token = str(choice.logprobs.tokens[0])
            reference = float(choice.logprobs.token_logprobs[0])
            echoed, _usage = await self._echo(client, PROBE_PROMPT + token)
            last = echoed[-1] if echoed else None
            if last is None or last.text != token:
                return token, reference, None
            return token, reference, last.logprob

        # Unreadable or refused probe responses come back as a RequestFailure (401/403/404
        # raise a BackendError of their own).
        outcome = self._run_batch(
            [0], lambda c, i: self._with_retries("probe", lambda: probe(c, i))
        )[0]
        if isinstance(outcome, RequestFailure):
            raise BackendError(self._no_echo(outcome.reason))
        token, reference, echoed = outcome
        if echoed is None:
            raise BackendError(
                self._no_echo(f"its echo did not return the probe token {token!r} as the last one")
            )
        if not payloads.echo_agrees(echoed, reference):
            raise BackendError(
                self._no_echo(
                    f"its echoed log-probability of {token!r} after {PROBE_PROMPT!r} is "
                    f"{echoed:.3f} but generating it gave {reference:.3f} (llama-cpp-python's "
                    "server is known to return wrong echo log-probabilities for models whose "
                    "tokenizer adds no start token, e.g. SmolLM2)"
                )
            )
        self._echo_checked = True

    def _no_echo(self, why: str) -> str:
        return (
            f"openai backend ({self.spec.label}) refuses log-likelihood scoring on "
            f"{self.options.base_url}: {why}"
        )


def _server_message(error: Any) -> str:
    """The server's own error message, shortened to one line."""
    body = getattr(error, "body", None)
    message: Any = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if message is None:
            message = body.get("detail")
    if not message:
        message = getattr(error, "message", None) or str(error)
    text = " ".join(str(message).split())
    return text[:300]
