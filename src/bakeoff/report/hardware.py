"""Hardware and memory: weights bytes, KV-cache bytes per token, RAM needed at a context length.

KV cache per token = 2 (K and V) × layers × KV heads × head dimension × bytes per element; an
f16 cache (llama.cpp's default) stores 2 bytes per element. The RAM estimate is weights plus the
KV cache for the full context; compute buffers and the runtime itself come on top (a few hundred
MiB for small models), which the report states next to the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bakeoff.core.types import JSONValue

KV_BYTES_PER_ELEMENT = 2
CONTEXTS = (4096, 32768)


@dataclass(frozen=True, slots=True)
class HardwareRow:
    model: str
    weights_bytes: int | None
    kv_bytes_per_token: int | None
    context_length: int | None
    ram_bytes: Mapping[int, int | None]
    """Context length → weights + KV cache bytes (None when an input is unknown)."""


def _int(info: Mapping[str, JSONValue], key: str) -> int | None:
    value = info.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def head_dim(info: Mapping[str, JSONValue]) -> int | None:
    """The stored head dimension, else embedding length / attention heads (the usual layout)."""
    explicit = _int(info, "head_dim")
    if explicit:
        return explicit
    embedding, heads = _int(info, "embedding_length"), _int(info, "n_heads")
    return embedding // heads if embedding and heads else None


def kv_bytes_per_token(info: Mapping[str, JSONValue]) -> int | None:
    layers = _int(info, "n_layers")
    kv_heads = _int(info, "n_kv_heads") or _int(info, "n_heads")
    dim = head_dim(info)
    if not (layers and kv_heads and dim):
        return None
    return 2 * layers * kv_heads * dim * KV_BYTES_PER_ELEMENT


def hardware_row(model: str, info: Mapping[str, JSONValue]) -> HardwareRow:
    weights = _int(info, "file_bytes")
    kv = kv_bytes_per_token(info)
    ram = {
        context: (weights + kv * context if weights is not None and kv is not None else None)
        for context in CONTEXTS
    }
    return HardwareRow(model, weights, kv, _int(info, "context_length"), ram)
