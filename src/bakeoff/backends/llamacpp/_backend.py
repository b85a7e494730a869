"""The ``llamacpp`` backend: a GGUF model run in process, answering all three request kinds
through one session (scoring, generation and chat prompts share its KV cache)."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from bakeoff.backends import models
from bakeoff.backends.base import Backend, GenerationOutcome, LoglikelihoodOutcome, RollingOutcome
from bakeoff.backends.llamacpp._generation import (
    TRANSCRIPT_STOP,
    Generator,
    Sampler,
    plain_transcript,
)
from bakeoff.backends.llamacpp._info import model_info
from bakeoff.backends.llamacpp._options import parse_options
from bakeoff.backends.llamacpp._scoring import (
    PairScore,
    Scorer,
    TokenPair,
    continuation_tokens,
    fit_window,
    harness_split,
    rolling_windows,
)
from bakeoff.backends.llamacpp._session import LlamaSession, Tokens
from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.types import (
    ChatMessage,
    GenerateRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RequestFailure,
    RequestKind,
    RollingLoglikelihoodRequest,
    RollingLoglikelihoodResult,
    Usage,
)


class LlamaCppBackend(Backend):
    """A GGUF model run in process by llama.cpp; all three request kinds.

    Generation is greedy when ``temperature == 0`` (deterministic: same prompt, same text) and
    otherwise seeded. Chat prompts use the model's chat template; a model without one (a base
    model such as Gemma 3 270M) gets the plain transcript of :func:`plain_transcript`, and
    ``info().extra["chat_format"]`` records ``"transcript"`` instead of ``"template"``.
    """

    name: ClassVar[str] = "llamacpp"
    supports: ClassVar[frozenset[RequestKind]] = frozenset(RequestKind)

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.options = parse_options(spec)
        self.path = models.resolve_model_path(spec.target)
        self._session = LlamaSession(self.path, self.options)
        self._scorer = Scorer(self._session)
        self._generator = Generator(self._session)
        self._lock = threading.Lock()  # one context: requests run one at a time
        self._template = self._session.chat_template()
        if self.options.chat == "on" and self._template is None:
            raise ConfigError(f"{spec.target} has no chat template (chat=on): use chat=auto")
        self._use_template = self._template is not None and self.options.chat != "off"
        self._formatter: Any = None
        self._info: ModelInfo | None = None

    @classmethod
    def preflight(cls, spec: ModelSpec) -> None:
        parse_options(spec)
        models.check_target(spec.target)

    @property
    def n_ctx(self) -> int:
        return self._session.n_ctx

    def close(self) -> None:
        with self._lock:
            self._session.close()

    # -- info -------------------------------------------------------------------------------

    def info(self) -> ModelInfo:
        if self._info is None:
            self._info = model_info(
                self.name,
                self._session,
                self.path,
                self.options,
                has_chat_template=self._template is not None,
                uses_chat_template=self._use_template,
            )
        return self._info

    # -- requests ---------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return len(self._session.tokenize(text, add_special=False))

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodOutcome]:
        with self._lock:
            outcomes: dict[int, LoglikelihoodOutcome] = {}
            items: list[tuple[int, Tokens, Tokens]] = []
            for index, request in enumerate(requests):
                prepared = self._prepare_pair(request.context, request.continuation)
                if isinstance(prepared, (RequestFailure, LoglikelihoodResult)):
                    outcomes[index] = prepared
                else:
                    items.append((index, *prepared))
            for index, pair in self._scorer.score(items).items():
                outcomes[index] = LoglikelihoodResult(
                    logprob=pair.logprob,
                    is_greedy=pair.is_greedy,
                    n_tokens=len(pair.continuation),
                    usage=_pair_usage(pair),
                )
            return [outcomes[i] for i in range(len(requests))]

    def _prepare_pair(
        self, context: str, continuation: str
    ) -> TokenPair | LoglikelihoodResult | RequestFailure:
        """The harness's token pair, fitted to the window; an empty continuation scores 0."""
        s = self._session
        context, continuation = harness_split(context, continuation)
        if context:
            context_tokens = s.tokenize(context, add_special=True)
            whole = s.tokenize(context + continuation, add_special=True)
            cont = continuation_tokens(context_tokens, whole)
        else:
            context_tokens = [s.prefix_token]
            cont = s.tokenize(continuation, add_special=False)
        if not cont:
            return LoglikelihoodResult(logprob=0.0, is_greedy=True, n_tokens=0)
        if not context_tokens:  # e.g. a context that tokenizes to nothing on a BOS-less model
            context_tokens = [s.prefix_token]
        try:
            return fit_window(context_tokens, cont, s.n_ctx), cont
        except ValueError as exc:
            return RequestFailure(reason=str(exc))

    def loglikelihood_rolling(
        self, requests: Sequence[RollingLoglikelihoodRequest]
    ) -> list[RollingOutcome]:
        with self._lock:
            s = self._session
            items: list[tuple[int, Tokens, Tokens]] = []
            owners: dict[int, int] = {}
            for index, request in enumerate(requests):
                tokens = s.tokenize(request.text, add_special=False)
                for context, cont in rolling_windows(tokens, s.prefix_token, s.n_ctx):
                    owners[len(items)] = index
                    items.append((len(items), context, cont))
            totals = [PairScore(continuation=[]) for _ in requests]
            for item_index, pair in self._scorer.score(items).items():
                total = totals[owners[item_index]]
                total.logprob += pair.logprob
                total.continuation += pair.continuation
                total.evaluated += pair.evaluated
                total.cached += pair.cached
                total.seconds += pair.seconds
            return [
                RollingLoglikelihoodResult(
                    logprob=t.logprob, n_tokens=len(t.continuation), usage=_pair_usage(t)
                )
                for t in totals
            ]

    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerationOutcome]:
        with self._lock:
            return [self._generate_one(request) for request in requests]

    def _generate_one(self, request: GenerateRequest) -> GenerationOutcome:
        settings = request.settings
        prompt, extra_stops = self._render(request.prompt)
        stops = (*settings.stop, *extra_stops)
        sampler = Sampler(
            self._session.ll,
            settings.temperature,
            settings.top_p,
            (settings.seed + self.options.seed) % 2**32,
        )
        try:
            done = self._generator.run(prompt, settings.max_tokens, stops, sampler)
        except ValueError as exc:
            return RequestFailure(reason=str(exc))
        finally:
            sampler.free()
        return GenerationResult(
            text=done.text,
            finish_reason=done.finish_reason,
            usage=Usage(
                prompt_tokens=done.prompt_tokens,
                output_tokens=done.output_tokens,
                prompt_seconds=done.prompt_seconds,
                output_seconds=done.output_seconds,
                cached_prompt_tokens=done.cached_tokens,
            ),
        )

    def _render(self, prompt: str | tuple[ChatMessage, ...]) -> tuple[Tokens, tuple[str, ...]]:
        """Prompt tokens and extra stop strings for a plain or chat prompt."""
        s = self._session
        stops: tuple[str, ...] = ()
        if isinstance(prompt, str):
            tokens = s.tokenize(prompt, add_special=True)
        elif not self._use_template:
            tokens = s.tokenize(plain_transcript(prompt), add_special=True)
            stops = (TRANSCRIPT_STOP,)
        else:
            rendered = self._chat_formatter()(messages=[_message_dict(m) for m in prompt])
            # The template writes BOS itself where the model wants one; parse its special tokens.
            tokens = s.tokenize(rendered.prompt, add_special=False, parse_special=True)
        # An empty prompt on a BOS-less model: start from the harness's prefix token.
        return tokens or [s.prefix_token], stops

    def _chat_formatter(self) -> Any:
        if self._formatter is None:
            s = self._session
            chat_format = importlib.import_module("llama_cpp.llama_chat_format")
            self._formatter = chat_format.Jinja2ChatFormatter(
                template=self._template,
                eos_token=s.token_text(s.eos),
                bos_token=s.token_text(s.bos),
                add_generation_prompt=True,
            )
        return self._formatter


def _message_dict(message: ChatMessage) -> dict[str, str]:
    return {"role": message.role, "content": message.content}


def _pair_usage(pair: PairScore) -> Usage:
    return Usage(
        prompt_tokens=pair.evaluated,
        prompt_seconds=pair.seconds,
        cached_prompt_tokens=pair.cached,
    )
