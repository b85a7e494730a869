"""A prefix shared by every context of a call (few-shot examples), run once: its keys and
values are kept, also for later calls, and every batch starts from a copy of them."""

from __future__ import annotations

import copy
import time
from typing import Any

from bakeoff.backends.hf._batching import shared_prefix
from bakeoff.backends.hf._masks import AttentionMasks
from bakeoff.backends.hf._model import import_transformers
from bakeoff.backends.hf._pairs import SharedPrefix


class PrefixSharing(AttentionMasks):
    """Runs the shared prefix once and hands out copies of its KV cache."""

    def _shared_prefix(self, keys: list[tuple[int, ...]]) -> SharedPrefix | None:
        """The prefix these contexts share, run once (or kept from an earlier call), if sharing
        it saves work (see shared_prefix); None otherwise or if running it fails."""
        kept = self._prefix
        chosen = shared_prefix(keys, kept.tokens if kept is not None else None)
        if chosen is None or (kept is not None and chosen == kept.tokens):
            return None if chosen is None else kept
        torch = self.torch
        started = time.perf_counter()
        positions = torch.arange(len(chosen), device=self.device)[None, :]
        inputs: dict[str, Any] = {
            "input_ids": torch.tensor([chosen], device=self.device),
            "position_ids": positions,
            "use_cache": True,
            **({"logits_to_keep": 1} if self.can_trim_logits else {}),
        }
        if self.packing is not None:
            # Packed rows bring their own masks, sliding windows included: a cache that keeps
            # every position of every layer. Otherwise the model makes the cache it needs.
            inputs[self.cache_kwarg] = import_transformers().DynamicCache()
            inputs["attention_mask"] = self._tree_masks(torch.zeros_like(positions), positions)
        try:
            with torch.inference_mode():
                output = self.model(**inputs)
        except RuntimeError:  # out of memory, mostly: score without sharing
            return None
        given = self.cache_kwarg in inputs
        cache = inputs[self.cache_kwarg] if given else output_cache(output, self.cache_kwarg)
        self._prefix = SharedPrefix(chosen, cache, time.perf_counter() - started)
        return self._prefix

    def _prefix_rows(self, prefix: SharedPrefix, rows: int) -> Any:
        """A copy of the prefix's cache with ``rows`` rows: the model appends to it."""
        cache = fork_cache(prefix.cache)
        cache.reorder_cache(self.torch.zeros(rows, dtype=self.torch.long, device=self.device))
        return cache


def output_cache(output: Any, cache_kwarg: str) -> Any:
    """The KV cache a forward pass returned (``cache`` in transformers 5.2x, else
    ``past_key_values``)."""
    cache = getattr(output, "cache", None) if cache_kwarg == "cache" else None
    return cache if cache is not None else output.past_key_values


def fork_cache(cache: Any) -> Any:
    """A cache whose layers can be reordered and extended without touching ``cache``.

    transformers' dynamic cache layers never modify their tensors in place (``reorder_cache``
    index-selects, ``update`` concatenates, both assign new tensors), so copying the container
    and its layer objects is enough; a deep copy would copy every context's keys and values
    once per chunk. Caches of another layout are deep-copied.
    """
    layers = getattr(cache, "layers", None)
    if not isinstance(layers, list) or not all(
        type(layer).__name__.startswith("Dynamic") for layer in layers
    ):
        return copy.deepcopy(cache)
    fork = copy.copy(cache)
    fork.layers = [copy.copy(layer) for layer in layers]
    return fork
