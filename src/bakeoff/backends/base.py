"""The Backend interface every model runner implements, and the model spec/info records."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from bakeoff.core.errors import ConfigError, UnsupportedRequestError
from bakeoff.core.registry import LazyRegistry
from bakeoff.core.types import (
    GenerateRequest,
    GenerationResult,
    JSONValue,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RequestFailure,
    RequestKind,
    RollingLoglikelihoodRequest,
    RollingLoglikelihoodResult,
)

_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What the user asked for: ``[label=]backend:target[,key=value...]``.

    Examples: ``llamacpp:gemma3-270m``, ``small=llamacpp:/models/x.gguf,n_ctx=4096``,
    ``gpt=openai:gpt-4o-mini``.
    """

    label: str
    backend: str
    target: str
    options: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        label = ""
        rest = text.strip()
        head, sep, tail = rest.partition("=")
        if sep and ":" not in head and "," not in head:
            label, rest = head.strip(), tail.strip()
        backend, sep, target_and_options = rest.partition(":")
        if not sep or not backend or not target_and_options:
            raise ConfigError(
                f"bad model spec '{text}': expected [label=]backend:target, "
                "e.g. llamacpp:gemma3-270m or openai:gpt-4o-mini"
            )
        target, *option_items = target_and_options.split(",")
        options: dict[str, str] = {}
        for item in option_items:
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise ConfigError(f"bad model option '{item}' in '{text}': expected key=value")
            options[key.strip()] = value.strip()
        label = label or _default_label(target)
        if not _LABEL_RE.match(label):
            raise ConfigError(
                f"bad model label '{label}': use letters, digits, '.', '_' or '-' (max 64)"
            )
        return cls(label=label, backend=backend.strip(), target=target.strip(), options=options)

    def canonical(self) -> str:
        opts = "".join(f",{k}={v}" for k, v in sorted(self.options.items()))
        return f"{self.label}={self.backend}:{self.target}{opts}"


def _default_label(target: str) -> str:
    name = target.rstrip("/").rsplit("/", 1)[-1]
    name = re.sub(r"\.gguf$", "", name, flags=re.IGNORECASE)
    name = re.sub(r"[^A-Za-z0-9_.\-]", "-", name).strip("-.") or "model"
    return name[:64]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What a backend knows about its model; feeds the manifest and the specs section.

    Unknown values stay ``None``: the report says "unknown" rather than guess.
    """

    name: str
    backend: str
    source: str
    sha256: str | None = None
    file_bytes: int | None = None
    quantization: str | None = None
    architecture: str | None = None
    parameters: int | None = None
    active_parameters: int | None = None
    n_layers: int | None = None
    n_heads: int | None = None
    n_kv_heads: int | None = None
    embedding_length: int | None = None
    head_dim: int | None = None
    context_length: int | None = None
    vocab_size: int | None = None
    expert_count: int | None = None
    expert_used_count: int | None = None
    has_chat_template: bool | None = None
    license: str | None = None
    extra: Mapping[str, JSONValue] = field(default_factory=dict)

    @property
    def is_moe(self) -> bool | None:
        if self.expert_count is None:
            return None if self.architecture is None else False
        return self.expert_count > 1

    def as_dict(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = dict(value) if isinstance(value, Mapping) else value
        out["is_moe"] = self.is_moe
        return out


LoglikelihoodOutcome = LoglikelihoodResult | RequestFailure
RollingOutcome = RollingLoglikelihoodResult | RequestFailure
GenerationOutcome = GenerationResult | RequestFailure


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
