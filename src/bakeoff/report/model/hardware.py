"""Hardware and memory: weights bytes, KV-cache bytes per token, RAM needed at a context length.

KV cache per token and layer = 2 (K and V) × KV heads × head dimension × bytes per element; an
f16 cache (llama.cpp's default) stores 2 bytes per element. A full-attention layer keeps every
position of the context; a sliding-window layer keeps at most ``window`` positions. The model
metadata (GGUF ``attention.sliding_window``, stored as ``extra.sliding_window``) gives the window
but not which layers use it: llama.cpp sets that per architecture (``set_swa_pattern``), and
``SWA_PERIOD`` mirrors it — in a period of P layers, the first P − 1 use the window and the
last attends to everything. llama.cpp sizes a sliding-window layer's cache at the window plus
one micro-batch (``SWA_MARGIN``), so that is what is counted. For an architecture not listed,
the guide assumes every layer keeps the whole context (an upper bound) and says so. Checked
against llama.cpp's own KV buffer sizes in tests/report/test_report_hardware.py.

The RAM estimate is weights plus the KV cache for the context; compute buffers and the runtime
itself come on top (a few hundred MiB for small models), which the report states next to the
numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bakeoff.core.types import JSONValue

KV_BYTES_PER_ELEMENT = 2
CONTEXTS = (4096, 32768)
SWA_MARGIN = 512
"""Positions llama.cpp keeps beyond the window on sliding-window layers: one micro-batch
(``n_ubatch``, 512 by default), the total padded to ``SWA_PAD`` cells."""
SWA_PAD = 256
SWA_PERIOD = {"gemma2": 2, "gemma3": 6, "gemma-embedding": 6, "cohere2": 4}
"""Architecture → period P of llama.cpp's sliding-window layer pattern (P − 1 windowed layers,
then one full-attention layer)."""


@dataclass(frozen=True, slots=True)
class Attention:
    """How the KV cache grows with the context."""

    layers: int
    window: int | None = None
    windowed_layers: int = 0
    assumption: str = ""
    """Set when the metadata gives a window but not its layers (full cache assumed)."""

    @property
    def full_layers(self) -> int:
        return self.layers - self.windowed_layers

    def window_cells(self, context: int) -> int:
        """Positions a sliding-window layer keeps at ``context``: llama.cpp's window + one
        micro-batch, padded, never more than the context."""
        if not self.window:
            return context
        cells = -(-(self.window + SWA_MARGIN) // SWA_PAD) * SWA_PAD
        return min(context, cells)

    def positions(self, context: int) -> int:
        """Layer-positions held at ``context`` tokens (sum over layers of positions kept)."""
        windowed = self.window_cells(context) * self.windowed_layers
        return self.full_layers * context + windowed

    def describe(self) -> str:
        if self.windowed_layers and self.window:
            return (
                f"{self.windowed_layers} of {self.layers} layers attend to a "
                f"{self.window:,}-token sliding window, {self.full_layers} to the whole context"
            )
        return self.assumption or (
            f"all {self.layers} layers attend to the whole context (the metadata names no "
            "sliding window)"
        )


@dataclass(frozen=True, slots=True)
class HardwareRow:
    model: str
    weights_bytes: int | None
    kv_bytes_per_token: int | None
    """KV bytes per position with every layer attending to the whole context."""
    context_length: int | None
    ram_bytes: Mapping[int, int | None]
    """Context length → weights + KV cache bytes (None when an input is unknown or the context
    is beyond the model's window)."""
    kv_bytes: Mapping[int, int | None]
    """Context length → KV cache bytes, sliding windows taken into account."""
    attention: str = ""
    """How the KV cache was counted (sliding-window layers, or the assumption made)."""
    full_cache_bytes: Mapping[int, int | None] | None = None
    """For sliding-window models: KV bytes when every layer keeps every position (llama.cpp's
    ``--swa-full``, which bakeoff's own runs use for exact prompt rollback)."""


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


def layer_kv_bytes(info: Mapping[str, JSONValue]) -> int | None:
    """KV bytes one layer keeps per position."""
    kv_heads = _int(info, "n_kv_heads") or _int(info, "n_heads")
    dim = head_dim(info)
    if not (kv_heads and dim):
        return None
    return 2 * kv_heads * dim * KV_BYTES_PER_ELEMENT


def kv_bytes_per_token(info: Mapping[str, JSONValue]) -> int | None:
    layers, per_layer = _int(info, "n_layers"), layer_kv_bytes(info)
    return layers * per_layer if layers and per_layer else None


def _extra_int(info: Mapping[str, JSONValue], key: str) -> int | None:
    extra = info.get("extra")
    return _int(extra, key) if isinstance(extra, dict) else None


def attention(info: Mapping[str, JSONValue]) -> Attention | None:
    layers = _int(info, "n_layers")
    if layers is None:
        return None
    window = _extra_int(info, "sliding_window")
    if window is None:
        return Attention(layers)
    arch = str(info.get("architecture") or "")
    period = _extra_int(info, "sliding_window_pattern") or SWA_PERIOD.get(arch)
    if period is None:
        return Attention(
            layers,
            assumption=(
                f"the metadata gives a {window:,}-token sliding window but not which layers use "
                f"it ({arch or 'unknown architecture'}): every layer is counted with the whole "
                "context, an upper bound"
            ),
        )
    windowed = sum(1 for layer in range(layers) if layer % period < period - 1)
    return Attention(layers, window, windowed)


def hardware_row(model: str, info: Mapping[str, JSONValue]) -> HardwareRow:
    weights = _int(info, "file_bytes")
    per_layer = layer_kv_bytes(info)
    layout = attention(info)
    window = _int(info, "context_length")

    def kv_at(context: int, full: bool = False) -> int | None:
        if per_layer is None or layout is None or (window is not None and context > window):
            return None
        positions = layout.layers * context if full else layout.positions(context)
        return per_layer * positions

    kv = {context: kv_at(context) for context in CONTEXTS}
    ram = {
        context: (weights + size if weights is not None and size is not None else None)
        for context, size in kv.items()
    }
    full = (
        {context: kv_at(context, full=True) for context in CONTEXTS}
        if layout is not None and layout.windowed_layers
        else None
    )
    return HardwareRow(
        model,
        weights,
        kv_bytes_per_token(info),
        window,
        ram,
        kv,
        layout.describe() if layout else "",
        full,
    )
