"""KV-cache scoring, for models that take no custom attention mask: contexts run once in a
left-padded pass, then every continuation runs on a copy of its context's keys and values."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from bakeoff.backends.hf._batching import plan_batches
from bakeoff.backends.hf._pairs import Group, PairScore, SharedPrefix, TokenPair, Tokens
from bakeoff.backends.hf._prefix import PrefixSharing, fork_cache, output_cache


class CacheScoring(PrefixSharing):
    """Scores batches of groups through the model's KV cache."""

    def _score_batch(
        self, batch: list[Group], pairs: Sequence[TokenPair], prefix: SharedPrefix | None = None
    ) -> dict[int, PairScore]:
        """Contexts in one left-padded pass (after the shared ``prefix``'s cache, if any), then
        the continuations' tokens after the first on copies of their context's cache."""
        torch = self.torch
        started = time.perf_counter()
        skip = len(prefix.tokens) if prefix is not None else 0
        contexts = [list(key[skip:]) for key, _ in batch]
        with torch.inference_mode():
            cache, mask, first = self._run_contexts(contexts, prefix)
            rows = [(g, i) for g, (_, members) in enumerate(batch) for i in members]
            tails = [(g, i) for g, i in rows if len(pairs[i][1]) > 1]
            partial: dict[int, tuple[float, bool]] = {}
            for g, i in rows:
                token = pairs[i][1][0]
                partial[i] = (float(first[g, token]), bool(first[g].argmax() == token))
            if tails:
                lengths = torch.tensor([skip + len(c) for c in contexts], device=self.device)
                for chunk in self._row_chunks(tails, pairs):
                    rest = self._run_continuations(chunk, pairs, cache, mask, lengths, len(tails))
                    for i, (logprob, greedy) in rest.items():
                        head_logprob, head_greedy = partial[i]
                        partial[i] = (head_logprob + logprob, head_greedy and greedy)
        elapsed = time.perf_counter() - started
        if prefix is not None:
            elapsed, prefix.unpaid_seconds = elapsed + prefix.unpaid_seconds, 0.0
        computed = sum(len(c) for c in contexts) + sum(len(pairs[i][1]) for _, i in rows)
        out: dict[int, PairScore] = {}
        for context, (_, members) in zip(contexts, batch, strict=True):
            for position, i in enumerate(members):
                share = (len(pairs[i][1]) + (len(context) if position == 0 else 0)) / computed
                cached = skip + (len(context) if position else 0)
                out[i] = PairScore(*partial[i], seconds=elapsed * share, cached_tokens=cached)
        return out

    def _run_contexts(
        self, contexts: list[Tokens], prefix: SharedPrefix | None = None
    ) -> tuple[Any, Any, Any]:
        """One left-padded pass over the contexts: KV cache, mask, next-token log-probs. After a
        ``prefix``, the mask starts with its positions and the rows' positions follow it."""
        torch = self.torch
        width = max(len(c) for c in contexts)
        pad = self.prefix_token_id
        skip = len(prefix.tokens) if prefix is not None else 0
        ids = torch.tensor([[pad] * (width - len(c)) + c for c in contexts], device=self.device)
        own = torch.tensor(
            [[0] * (width - len(c)) + [1] * len(c) for c in contexts], device=self.device
        )
        positions = skip + (own.cumsum(-1) - 1).clamp(min=0)
        inputs: dict[str, Any] = {"input_ids": ids, "position_ids": positions, "use_cache": True}
        mask = own
        if prefix is not None:
            mask = torch.cat([torch.ones_like(own[:, :1]).expand(-1, skip), own], dim=1)
            inputs[self.cache_kwarg] = self._prefix_rows(prefix, len(contexts))
        # Only the last position predicts a continuation token: skip the other logits.
        if self.can_trim_logits:
            inputs["logits_to_keep"] = 1
        output = self.model(attention_mask=mask, **inputs)
        first = torch.log_softmax(output.logits[:, -1, :].float(), dim=-1)
        return output_cache(output, self.cache_kwarg), mask, first

    def _row_chunks(
        self, rows: list[tuple[int, int]], pairs: Sequence[TokenPair]
    ) -> Iterator[list[tuple[int, int]]]:
        """Continuation rows, longest first, in chunks cut like context batches (plan_batches)
        whose logits (rows x length x vocabulary floats) stay near 256 MB."""
        vocab = int(self.model.get_output_embeddings().weight.shape[0])
        limit = max(1, (256 << 20) // (4 * vocab))
        ordered = sorted(rows, key=lambda row: -len(pairs[row[1]][1]))
        sizes = [len(pairs[i][1]) - 1 for _, i in ordered]
        for chunk in plan_batches(sizes, budget=limit):
            yield [ordered[i] for i in chunk]

    def _run_continuations(
        self,
        chunk: list[tuple[int, int]],
        pairs: Sequence[TokenPair],
        cache: Any,
        mask: Any,
        lengths: Any,
        n_rows: int,
    ) -> dict[int, tuple[float, bool]]:
        """Continuation tokens after the first, on the cached contexts: (log-prob, greedy)."""
        torch = self.torch
        inputs = [pairs[i][1][:-1] for _, i in chunk]
        targets = [pairs[i][1][1:] for _, i in chunk]
        width = max(len(t) for t in inputs)
        pad = self.prefix_token_id
        ids = torch.tensor([t + [pad] * (width - len(t)) for t in inputs], device=self.device)
        tail_mask = torch.tensor(
            [[1] * len(t) + [0] * (width - len(t)) for t in inputs], device=self.device
        )
        groups = torch.tensor([g for g, _ in chunk], device=self.device)
        # reorder_cache selects rows into the cache; fork it unless this chunk is the only user.
        rows_cache = cache if len(chunk) == n_rows else fork_cache(cache)
        rows_cache.reorder_cache(groups)
        positions = lengths[groups].unsqueeze(1) + torch.arange(width, device=self.device)
        output = self.model(
            input_ids=ids,
            attention_mask=torch.cat([mask[groups], tail_mask], dim=1),
            position_ids=positions,
            use_cache=True,
            **{self.cache_kwarg: rows_cache},
        )
        logits = output.logits.float()
        out: dict[int, tuple[float, bool]] = {}
        for row, ((_, i), target) in enumerate(zip(chunk, targets, strict=True)):
            row_logits = torch.log_softmax(logits[row, : len(target)], dim=-1)
            wanted = torch.tensor(target, device=self.device)
            logprob = float(row_logits.gather(1, wanted.unsqueeze(1)).sum())
            out[i] = (logprob, bool((row_logits.argmax(-1) == wanted).all()))
        return out
