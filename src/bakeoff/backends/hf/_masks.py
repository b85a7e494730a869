"""Which attention a loaded model has, and the attention masks of packed rows: a context and
its continuations in one row, each continuation seeing the context and itself only."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from bakeoff.backends.hf._info import int_attr
from bakeoff.backends.hf._model import LoadedModel


class AttentionMasks(LoadedModel):
    """Whether the model takes a custom mask (and of which shape), and those masks."""

    @functools.cached_property
    def packing(self) -> str | None:
        """How this model takes a custom attention mask: "tensor" (one 4D mask for every layer),
        "dict" (one per layer type: full and sliding-window attention, as Gemma 2/3), or None
        (no custom mask: contexts then run once and continuations on copies of the KV cache)."""
        config = getattr(self.config, "text_config", None) or self.config
        if getattr(self.config, "_attn_implementation", None) not in ("sdpa", "eager"):
            return None
        if getattr(config, "use_bidirectional_attention", False):
            return None
        types = set(getattr(config, "layer_types", None) or ["full_attention"])
        if types == {"full_attention"}:
            return "tensor"
        decoder = getattr(self.model, "model", None)
        try:
            source = inspect.getsource(type(decoder).forward) if decoder is not None else ""
        except (OSError, TypeError):
            source = ""
        window = int_attr(config, "sliding_window")
        if types <= {"full_attention", "sliding_attention"} and window and "dict)" in source:
            return "dict"
        return None

    @functools.cached_property
    def plain_attention(self) -> bool:
        """Whether every layer attends to every earlier position (no sliding window, no
        recurrent state). Only then can the KV-cache path put a shared prefix before
        left-padded rows: a sliding window counts cache slots, padding included, and a
        recurrent state would run through the padding."""
        config = getattr(self.config, "text_config", None) or self.config
        types = set(getattr(config, "layer_types", None) or ["full_attention"])
        return types == {"full_attention"} and not getattr(config, "sliding_window", None)

    def _tree_masks(self, segments: Any, positions: Any, past: int = 0) -> Any:
        """The attention mask(s) of packed rows: a token sees earlier tokens of the context
        (segment 0) and of its own continuation; padding (segment -1) sees only itself. With
        ``past`` tokens of a shared prefix in the cache (positions 0 to past - 1), every real
        token also sees those; the mask's key axis is then the prefix, then the row."""
        torch = self.torch
        rows, length = segments.shape
        index = torch.arange(length, device=self.device)
        causal = index[None, :] <= index[:, None]
        query, kv = segments[:, :, None], segments[:, None, :]
        allowed = causal & ((kv == 0) | (kv == query)) & (query >= 0) & (kv >= 0)
        allowed |= torch.eye(length, dtype=torch.bool, device=self.device) & (query < 0)
        key_positions = positions
        if past:
            allowed = torch.cat([(query >= 0).expand(rows, length, past), allowed], dim=2)
            before = torch.arange(past, device=self.device).expand(rows, past)
            key_positions = torch.cat([before, positions], dim=1)
        full = self._as_mask(allowed)
        if self.packing == "tensor":
            return full
        config = getattr(self.config, "text_config", None) or self.config
        window = int(config.sliding_window)
        near = (positions[:, :, None] - key_positions[:, None, :]) < window
        return {"full_attention": full, "sliding_attention": self._as_mask(allowed & near)}

    def _as_mask(self, allowed: Any) -> Any:
        """A boolean (batch, query, key) matrix as the model's attention takes it: boolean for
        SDPA, additive (0 / most negative) for eager attention; one head dimension added."""
        torch = self.torch
        mask = allowed[:, None, :, :]
        if getattr(self.config, "_attn_implementation", None) == "sdpa":
            return mask
        dtype = self.model.dtype
        zero = torch.zeros((), dtype=dtype, device=self.device)
        return torch.where(mask, zero, torch.finfo(dtype).min)
