"""Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp's server, Ollama, LM Studio).

``openai:MODEL[,base_url=http://127.0.0.1:8000/v1,concurrency=8,timeout=60,max_retries=5,
rpm=N,tpm=N,api=chat|completions,api_key_env=OPENAI_API_KEY,repeat_penalty=1.0,
tokenizer=PATH.gguf|server,reasoning_effort=low|medium|high,thinking_budget=N,
think_end=</think>|none]``

* The API key comes from the environment (``OPENAI_API_KEY`` or the variable named by
  ``api_key_env``) or, failing that, the system keyring (service ``bakeoff``, user = that
  variable's name); never from the spec. It is never stored, logged or put in a message.
  ``OPENAI_API_KEY`` goes only to ``https://api.openai.com``; another server gets the key the
  spec names (``api_key_env``), or none (see ``key_source`` in :mod:`bakeoff.backends._api`;
  ``allow_http=1`` lets a named key go over plain http to another machine).
* Requests go out concurrently from one event loop (see :mod:`bakeoff.backends._api`: one
  ``AsyncOpenAI`` client, ``concurrency`` requests in flight, ``rpm``/``tpm`` limits, our own
  retries with the SDK's switched off).
* Generation streams, so time to first token is measured (``prompt_seconds``) apart from the
  rest (``output_seconds``), on a monotonic clock, at the moment the SDK hands over each parsed
  chunk. The SDK's parsing adds microseconds, not the milliseconds that matter here; exact
  per-chunk wire timestamps are the speed lab's job (its own stdlib HTTP client,
  :mod:`bakeoff.speed.http_wire`, which stamps each network read before any parsing).
* Log-likelihoods (``api=completions`` only) use ``echo`` + ``logprobs``, after a one-time probe
  checking the echoed log-probabilities against the server's own generation log-probabilities
  (llama-cpp-python's server returns wrong echo values for models without a BOS token).
  Chat-only configurations (``api=chat``) leave LOGLIKELIHOOD out of ``supports``; the runner
  then scores multiple-choice tasks by asking for the answer letter instead (labelled).

llama-cpp-python's server needs two settings to give the same answers as llama.cpp in-process:
start it with ``--interrupt_requests False`` whenever ``concurrency`` > 1 (by default a new
request aborts the running one, which then ends early with finish_reason "stop", which cannot
be told apart from a real answer), and pass ``repeat_penalty=1.0`` here (its default of 1.1
changes even greedy output). Its streams carry no usage, so prompt tokens are 0 there.

Output tokens come from the response's usage. A stream without usage has them counted by the
tokenizer the spec names: ``tokenizer=PATH.gguf`` (its vocabulary only) or ``tokenizer=server``
(the server's ``/extras/tokenize`` or ``/tokenize``, as the speed lab counts; opt-in, as each
count is one more request). Never by the number of stream chunks, which is not a token count
(a chunk may carry several tokens): without a tokenizer, the chunk count is stored flagged
``output_tokens_estimated``.

Reasoning models: ``reasoning_effort`` is sent as is; ``thinking_budget=N`` adds N tokens to the
length limit (which counts thinking) and to the cost estimate. The answer is scored alone:
thinking in ``reasoning_content`` / ``reasoning`` deltas is kept apart, and a think section in
the text is cut at ``think_end`` (default ``</think>``; ``none`` never cuts). Reasoning tokens
come from ``usage.completion_tokens_details.reasoning_tokens``, else from the tokenizer the spec
names counting the thinking, else stay unknown.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from bakeoff.backends import _openai_payloads as payloads
from bakeoff.backends._api import ApiBackend, Outcome, StreamCutError, estimate_tokens
from bakeoff.backends._reasoning_stream import StreamTrace, TracedStream
from bakeoff.core import secrets
from bakeoff.core.errors import BackendError, BakeoffError, ConfigError
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.thinking import DEFAULT_THINK_END
from bakeoff.core.types import (
    GenerateRequest,
    GenerationResult,
    JSONValue,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
    RequestFailure,
    RequestKind,
    Usage,
)

PROBE_PROMPT = "The capital of France is"

log = logging.getLogger(__name__)


class OpenAICompatBackend(ApiBackend):
    name = "openai"
    supports = frozenset({RequestKind.GENERATE, RequestKind.LOGLIKELIHOOD})
    sdk_module = "openai"
    sdk_extra = "openai"
    default_key_env = payloads.DEFAULT_KEY_ENV

    def __init__(self, spec: ModelSpec) -> None:
        self.options = payloads.parse_options(spec.target, spec.options)
        super().__init__(
            spec,
            base_url=self.options.base_url,
            limits=self.options.limits,
            api_key_env=self.options.api_key_env,
        )
        self._echo_checked = False
        self._echo_lock: asyncio.Lock | None = None
        self._counter: Callable[[str], int] | None = None
        self._counter_tried = False
        self._counter_lock = threading.Lock()
        kinds = {RequestKind.GENERATE}
        if self.options.api == "completions":
            kinds.add(RequestKind.LOGLIKELIHOOD)
        # Per instance: a chat-only configuration cannot score log-likelihoods.
        vars(self)["supports"] = frozenset(kinds)

    # --- configuration ------------------------------------------------------------------

    @classmethod
    def preflight(cls, spec: ModelSpec) -> None:
        env = payloads.parse_options(spec.target, spec.options).api_key_env
        if env is not None and not secrets.api_key(env):
            raise ConfigError(
                f"openai backend ({spec.label}) needs an API key: set the environment "
                f"variable {env} (or store it with: keyring set {secrets.KEYRING_SERVICE} {env})"
            )

    def make_client(self, *, asynchronous: bool) -> Any:
        factory = self.sdk.AsyncOpenAI if asynchronous else self.sdk.OpenAI
        return factory(
            **self.client_credentials(asynchronous=asynchronous, headers=("Authorization",)),
            base_url=self.options.base_url,
            timeout=self.options.timeout if asynchronous else min(self.options.timeout, 10.0),
            max_retries=0,
        )

    def _unsupported(self, kind: RequestKind) -> str:
        if kind is RequestKind.LOGLIKELIHOOD and self.options.api == "chat":
            return (
                f"backend 'openai' ({self.spec.label}) uses the chat API, which returns no "
                "log-probabilities of the prompt, so it cannot score log-likelihood tasks; "
                "use api=completions on a server that supports echo+logprobs "
                "(llama.cpp server, vLLM) or a generation task"
            )
        return super()._unsupported(kind)

    def validate(self, request: Request) -> None:
        if (
            isinstance(request, GenerateRequest)
            and self.options.api == "completions"
            and not isinstance(request.prompt, str)
        ):
            raise BackendError(
                f"openai backend ({self.spec.label}) with api=completions got a chat "
                "prompt: use api=chat so the server applies the model's chat template"
            )

    def request_body(self, request: Request) -> dict[str, JSONValue]:
        if isinstance(request, GenerateRequest):
            body = payloads.generation_body(request, self.options, stream=True)
            body.pop("stream_options", None)
            return {"endpoint": self._endpoint(), **body}
        if isinstance(request, LoglikelihoodRequest):
            text = request.context + request.continuation
            return {
                "endpoint": "completions",
                "split": len(request.context),
                **payloads.echo_body(text, self.options),
            }
        raise TypeError(f"openai backend cannot send {type(request).__name__}")

    def _endpoint(self) -> str:
        return "chat.completions" if self.options.api == "chat" else "completions"

    def fingerprint(self, request: Request) -> dict[str, JSONValue]:
        """The body decides the server's answer; the end marker decides the answer kept (a key
        of its own only when not the default, so existing cache entries still match)."""
        key = super().fingerprint(request)
        if self.options.think_end != DEFAULT_THINK_END:
            key["think_end"] = self.options.think_end
        return key

    def info(self) -> ModelInfo:
        extra: dict[str, Any] = {"api": self.options.api}
        if self.options.reasoning_effort is not None:
            extra["reasoning_effort"] = self.options.reasoning_effort
        if self.options.thinking_budget:
            extra["thinking_budget"] = self.options.thinking_budget
        try:
            client = self.make_client(asynchronous=False)
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
        context_length = None
        if entry is not None:
            extra["owned_by"] = entry.get("owned_by")
            extra["served_id"] = entry.get("id")
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

    # --- sending ------------------------------------------------------------------------

    async def send(self, client: Any, request: Request) -> Outcome:
        if isinstance(request, GenerateRequest):
            return await self._generate_one(client, request)
        if isinstance(request, LoglikelihoodRequest):
            await self._ensure_echo_checked(client)
            return await self._loglikelihood_one(client, request)
        raise TypeError(f"openai backend cannot send {type(request).__name__}")

    async def _generate_one(self, client: Any, request: GenerateRequest) -> Outcome:
        body = payloads.generation_body(request, self.options, stream=True)
        chat = self.options.api == "chat"
        create = client.chat.completions.create if chat else client.completions.create
        estimate = _estimate(request)

        async def call() -> GenerationResult:
            trace = StreamTrace()
            finish: str | None = None
            usage_raw: dict[str, Any] | None = None
            stream = await create(**body)
            self.gate.note(getattr(getattr(stream, "response", None), "headers", None))
            async for chunk in stream:
                if getattr(chunk, "usage", None) is not None:
                    usage_raw = chunk.usage.model_dump()
                for choice in chunk.choices:
                    if chat:
                        trace.add_thinking(_reasoning_delta(choice.delta))
                        trace.add_text(choice.delta.content)
                    else:
                        trace.add_text(choice.text)
                    if choice.finish_reason:
                        finish = str(choice.finish_reason)
            traced = trace.finish(self.options.think_end)
            if finish is None:
                # A close-delimited stream cut mid-way ends "normally": never keep half a text.
                raise StreamCutError("the stream ended without a finish_reason")
            counted: int | None = None
            if not (usage_raw or {}).get("completion_tokens") and trace.pieces:
                whole = "".join(p for _, p in trace.thinking + trace.text)
                counted = await asyncio.to_thread(self.count_tokens, whole)
            usage = payloads.usage_from(
                usage_raw,
                prompt_seconds=(traced.first_token_at or traced.end) - trace.start,
                output_seconds=traced.end - (traced.first_token_at or traced.end),
                fallback_output_tokens=trace.pieces if counted is None else counted,
                fallback_estimated=counted is None,
            )
            usage = dataclasses.replace(
                usage,
                reasoning_tokens=await self._reasoning_tokens(usage, traced),
                first_answer_seconds=None
                if traced.first_answer_at is None
                else traced.first_answer_at - trace.start,
            )
            self.limiter.settle(estimate, _used(usage))
            return GenerationResult(traced.answer, finish, usage)

        return await self.with_retries("generate", call, estimate)

    async def _reasoning_tokens(self, usage: Usage, traced: TracedStream) -> int | None:
        """What the server reported; else, when thinking came, its count by the tokenizer the
        spec names (None without one: unknown, never a guess); else 0 (it did not think)."""
        if usage.reasoning_tokens is not None:
            return usage.reasoning_tokens
        if not traced.thought:
            return None if self.options.is_openai_cloud else 0
        if self.options.tokenizer is None or not traced.thinking:
            return None
        return await asyncio.to_thread(self.count_tokens, traced.thinking)

    def count_tokens(self, text: str) -> int | None:
        """Tokens in ``text`` by the model's tokenizer; None when there is none to ask.

        The tokenizer the spec names is set up once (``tokenizer=PATH.gguf``, or
        ``tokenizer=server``: the server's tokenize endpoint, through bakeoff's own client,
        which subtracts the start token the endpoint adds); a server without the endpoint is
        not asked again on every request.
        """
        with self._counter_lock:  # called from worker threads; the HTTP client is not shared
            if not self._counter_tried:
                self._counter_tried = True
                self._counter = self._make_counter()
            if self._counter is None:
                return None
            try:
                return self._counter(text)
            except (BakeoffError, OSError) as error:
                log.warning("%s: token count failed (%s); stored as an estimate", self.name, error)
                return None

    def _make_counter(self) -> Callable[[str], int] | None:
        from bakeoff.backends._openai_server import ServerTokenCounter

        if self.options.tokenizer is None:
            # The server's tokenize endpoint is asked only when the spec says so: every count is
            # one more request carrying the completion, which a paid API (or a proxy counting
            # requests) must not get unasked.
            log.warning(
                "%s (%s): the stream reports no output tokens and no tokenizer is set "
                "(tokenizer=PATH.gguf or tokenizer=server): output token counts are chunk "
                "counts, flagged as estimates",
                self.name,
                self.spec.label,
            )
            return None
        options = {**self.spec.options, "base_url": self.options.base_url}
        if self.options.tokenizer == "server":
            options.pop("tokenizer")  # the counter then asks the server's endpoint
        spec = dataclasses.replace(self.spec, options=options)
        try:
            counter = ServerTokenCounter(spec)
            counter.count_tokens("")  # finds the tokenizer now, or says there is none
        except (BakeoffError, OSError) as error:
            log.warning(
                "%s (%s): the stream reports no output tokens and no tokenizer is available "
                "(%s): output token counts are chunk counts, flagged as estimates",
                self.name,
                self.spec.label,
                error,
            )
            return None
        return counter.count_tokens

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

    async def _loglikelihood_one(self, client: Any, request: LoglikelihoodRequest) -> Outcome:
        estimate = _estimate(request)

        async def call() -> LoglikelihoodResult | RequestFailure:
            tokens, usage = await self._echo(client, request.context + request.continuation)
            self.limiter.settle(estimate, _used(usage))
            try:
                return payloads.loglikelihood_from_echo(
                    request.context, request.continuation, tokens, usage
                )
            except ValueError as error:
                return RequestFailure(f"loglikelihood: {error}")

        return await self.with_retries("loglikelihood", call, estimate)

    # --- the echo probe -----------------------------------------------------------------

    def check_echo(self) -> None:
        """Verify (once) that the server's echo log-probabilities can be trusted."""
        if self._echo_checked:
            return

        async def run() -> None:
            await self._ensure_echo_checked(self._async_client())

        self.loop_thread().submit(run()).result()

    async def _ensure_echo_checked(self, client: Any) -> None:
        if self._echo_lock is None:
            self._echo_lock = asyncio.Lock()
        async with self._echo_lock:  # concurrent batches wait for one probe
            if not self._echo_checked:
                await self._probe_echo(client)
                self._echo_checked = True

    async def _probe_echo(self, client: Any) -> None:
        """Generate one greedy token after a probe prompt (its logprob comes from the normal
        generation path), then echo ``prompt + token`` and compare that token's echoed logprob.
        """

        async def probe() -> tuple[str, float, float | None]:
            extra = self.options.extra_body()
            response = await client.completions.create(
                model=self.options.model,
                prompt=PROBE_PROMPT,
                max_tokens=1,
                temperature=0.0,
                logprobs=1,
                **({"extra_body": extra} if extra else {}),
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
        outcome = await self.with_retries("probe", probe)
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
                    "tokenizer adds no start token, e.g. SmolLM2); use api=chat to score "
                    "multiple-choice tasks by answer letter instead"
                )
            )

    def _no_echo(self, why: str) -> str:
        return (
            f"openai backend ({self.spec.label}) refuses log-likelihood scoring on "
            f"{self.options.base_url}: {why}"
        )


def _reasoning_delta(delta: Any) -> str | None:
    """A chat delta's thinking: ``reasoning_content`` (DeepSeek, llama.cpp's server, vLLM before
    0.10) or ``reasoning`` (later vLLM, OpenRouter); fields the SDK keeps as extras."""
    for name in ("reasoning_content", "reasoning"):
        value = getattr(delta, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def _estimate(request: Request) -> int:
    prompt, output = estimate_tokens(request)
    return prompt + output


def _used(usage: Usage) -> int | None:
    total = usage.prompt_tokens + usage.output_tokens
    return total if usage.prompt_tokens else None
