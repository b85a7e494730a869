"""The Backend interface every model runner implements, and the registry of backends."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from bakeoff.core.errors import UnsupportedRequestError
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.registry import LazyRegistry
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
)

LoglikelihoodOutcome = LoglikelihoodResult | RequestFailure
RollingOutcome = RollingLoglikelihoodResult | RequestFailure
GenerationOutcome = GenerationResult | RequestFailure
TokenizeOutcome = TokenizeResult | RequestFailure


class Backend(ABC):
    """Runs one model. Methods take a batch and return one outcome per request, in order.

    A backend that cannot serve a kind leaves it out of ``supports``; the runner checks before
    sending work, so users get a clear message instead of a late failure.
    """

    name: ClassVar[str]
    supports: ClassVar[frozenset[RequestKind]]

    def chunk_samples(self, kind: RequestKind) -> int:
        """Samples per stored chunk of a task of this ``kind`` when the user does not say
        (``--batch-size``). A backend that batches work across the samples of a call (hf
        log-likelihoods) returns more: longer calls pad less. Smaller chunks store sooner."""
        return 8

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    @classmethod  # noqa: B027 - an optional hook: most backends need no preflight
    def preflight(cls, spec: ModelSpec) -> None:
        """Cheap checks before a run starts (file exists, key present); raise a BakeoffError.

        Runs before anything is written to the store, so bad input never leaves a half-run.
        """

    @abstractmethod
    def info(self) -> ModelInfo: ...

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodOutcome]:
        raise UnsupportedRequestError(self._unsupported(RequestKind.LOGLIKELIHOOD))

    def loglikelihood_rolling(
        self, requests: Sequence[RollingLoglikelihoodRequest]
    ) -> list[RollingOutcome]:
        raise UnsupportedRequestError(self._unsupported(RequestKind.LOGLIKELIHOOD_ROLLING))

    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerationOutcome]:
        raise UnsupportedRequestError(self._unsupported(RequestKind.GENERATE))

    def tokenize(self, requests: Sequence[TokenizeRequest]) -> list[TokenizeOutcome]:
        """Token counts from :meth:`count_tokens` (no ids). A backend whose tokenizer gives
        no count is refused at the first request: every other request would fail alike."""
        out: list[TokenizeOutcome] = []
        for request in requests:
            n_tokens = self.count_tokens(request.text)
            if n_tokens is None:
                raise UnsupportedRequestError(
                    f"backend '{self.name}' ({self.spec.label}) cannot count tokens: its "
                    "tokenizer is not available to bakeoff"
                )
            out.append(TokenizeResult(n_tokens))
        return out

    def count_tokens(self, text: str) -> int | None:
        """Tokens the model's tokenizer makes of ``text`` (no special tokens); None if unknown."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release model memory / connections."""

    def _unsupported(self, kind: RequestKind) -> str:
        return f"backend '{self.name}' ({self.spec.label}) does not support {kind.value} requests"


BACKENDS: LazyRegistry[type[Backend]] = LazyRegistry("backend")
BACKENDS.register("llamacpp", "bakeoff.backends.llamacpp:LlamaCppBackend")
BACKENDS.register("mock", "bakeoff.backends.mock:MockBackend")
BACKENDS.register("hf", "bakeoff.backends.hf:HFBackend")
BACKENDS.register("openai", "bakeoff.backends.openai_compat:OpenAICompatBackend")
BACKENDS.register("anthropic", "bakeoff.backends.anthropic_messages:AnthropicBackend")


def preflight(spec: ModelSpec) -> None:
    BACKENDS.load(spec.backend).preflight(spec)


def open_backend(spec: ModelSpec) -> Backend:
    backend_cls = BACKENDS.load(spec.backend)
    return backend_cls(spec)
