"""Which model: the spec a user writes (``[label=]backend:target[,key=value...]``) and the
information a backend reports about the model it loaded (stored with the run, shown in the
guide's specs section). Both are plain data, shared by every layer above the core."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bakeoff.core.errors import ConfigError
from bakeoff.core.types import JSONValue

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
        label = label or _default_label(target, options)
        if not _LABEL_RE.match(label):
            raise ConfigError(
                f"bad model label '{label}': use letters, digits, '.', '_' or '-' (max 64)"
            )
        return cls(label=label, backend=backend.strip(), target=target.strip(), options=options)

    def canonical(self) -> str:
        opts = "".join(f",{k}={v}" for k, v in sorted(self.options.items()))
        return f"{self.label}={self.backend}:{self.target}{opts}"


def _default_label(target: str, options: Mapping[str, str]) -> str:
    name = target.rstrip("/").rsplit("/", 1)[-1]
    name = re.sub(r"\.gguf$", "", name, flags=re.IGNORECASE)
    # One model at two reasoning settings is two models in the guide: labels that say which.
    for option, prefix in (("reasoning_effort", "-"), ("thinking_budget", "-think")):
        if options.get(option):
            name += prefix + options[option].strip()
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
