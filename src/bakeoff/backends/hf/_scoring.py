"""Log-likelihood requests, plain and rolling, scored the harness's way: pairs grouped by
context, a shared prefix run once, groups batched to waste least on padding, each batch scored
packed or through the KV cache."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

from bakeoff.backends.base import LoglikelihoodOutcome, RollingOutcome
from bakeoff.backends.hf._batching import plan_batches
from bakeoff.backends.hf._info import int_attr
from bakeoff.backends.hf._kv_cache import CacheScoring
from bakeoff.backends.hf._packed import PackedScoring
from bakeoff.backends.hf._pairs import Group, PairScore, TokenPair, Tokens
from bakeoff.core.types import (
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RequestFailure,
    RollingLoglikelihoodRequest,
    RollingLoglikelihoodResult,
    Usage,
)


def rolling_windows(tokens: Tokens, prefix_token: int, max_length: int) -> list[TokenPair]:
    """lm-evaluation-harness's disjoint rolling windows (``context_len=1``) over ``tokens``.

    The first window predicts every token from the prefix token on; each later one predicts the
    next ``max_length`` tokens with as much preceding text as context as fits.
    """
    if not tokens:
        return []
    first = min(max_length, len(tokens))
    windows: list[TokenPair] = [([prefix_token], tokens[:first])]
    predicted = first
    while predicted < len(tokens):
        size = min(len(tokens) - predicted, max_length)
        end = predicted + size
        window = tokens[max(end - max_length - 1, 0) : end - 1]
        windows.append((window[: len(window) - (size - 1)], tokens[end - size : end]))
        predicted += size
    return windows


class LoglikelihoodScoring(PackedScoring, CacheScoring):
    """The backend's log-likelihood requests, down to the batches each path scores."""

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodOutcome]:
        pairs = [self.encode_pair(self.context_text(r), r.continuation) for r in requests]
        scored = self.score_pairs(pairs)
        out: list[LoglikelihoodOutcome] = []
        for (context, continuation), score in zip(pairs, scored, strict=True):
            if isinstance(score, RequestFailure):
                out.append(score)
                continue
            usage = Usage(
                prompt_tokens=len(context) + len(continuation),
                prompt_seconds=score.seconds,
                cached_prompt_tokens=score.cached_tokens,
            )
            out.append(
                LoglikelihoodResult(score.logprob, score.is_greedy, len(continuation), usage)
            )
        return out

    def loglikelihood_rolling(
        self, requests: Sequence[RollingLoglikelihoodRequest]
    ) -> list[RollingOutcome]:
        windows: list[TokenPair] = []
        owners: list[int] = []
        counts: list[int] = []
        for index, request in enumerate(requests):
            tokens = list(self.tokenizer.encode(request.text, add_special_tokens=False))
            counts.append(len(tokens))
            for window in rolling_windows(tokens, self.prefix_token_id, self.max_length):
                windows.append(window)
                owners.append(index)
        scored = self.score_pairs(windows)
        totals = [0.0] * len(requests)
        seconds = [0.0] * len(requests)
        failures: dict[int, RequestFailure] = {}
        for owner, score in zip(owners, scored, strict=True):
            if isinstance(score, RequestFailure):
                failures[owner] = score
            else:
                totals[owner] += score.logprob
                seconds[owner] += score.seconds
        out: list[RollingOutcome] = []
        for index, n_tokens in enumerate(counts):
            if index in failures:
                out.append(failures[index])
                continue
            usage = Usage(prompt_tokens=n_tokens, prompt_seconds=seconds[index])
            out.append(RollingLoglikelihoodResult(totals[index], n_tokens, usage))
        return out

    def score_pairs(self, pairs: Sequence[TokenPair]) -> list[PairScore | RequestFailure]:
        """Score (context, continuation) token pairs; pairs with equal contexts share one pass."""
        truncated = [self._truncate(context, cont) for context, cont in pairs]
        groups: dict[tuple[int, ...], list[int]] = {}
        results: list[PairScore | RequestFailure | None] = [None] * len(pairs)
        for index, (context, continuation) in enumerate(truncated):
            if continuation:
                groups.setdefault(tuple(context), []).append(index)
            else:  # nothing to score; the harness asserts on it
                results[index] = RequestFailure("the continuation encodes to no tokens")
        packed = self.packing is not None
        prefix = self._shared_prefix(list(groups)) if packed or self.plain_attention else None
        skip = len(prefix.tokens) if prefix is not None else 0
        size = _packed_length(truncated, skip) if packed else _context_length(skip)
        ordered = sorted(groups.items(), key=lambda item: -size(item))
        for batch in self._batches(ordered, size, extra_width=skip):
            scores: dict[int, PairScore | RequestFailure]
            try:
                if packed:
                    scores = dict(self._score_packed(batch, truncated, prefix))
                else:
                    scores = dict(self._score_batch(batch, truncated, prefix))
            except RuntimeError as exc:  # out of memory, mostly: fail these, keep the run going
                reason = f"transformers forward failed: {str(exc).splitlines()[0][:200]}"
                scores = {i: RequestFailure(reason) for _, members in batch for i in members}
            for index, score in scores.items():
                results[index] = score
        return [r if r is not None else RequestFailure("not scored") for r in results]

    def _truncate(self, context: Tokens, continuation: Tokens) -> TokenPair:
        # The harness feeds (context + continuation)[-(max_length + 1):][:-1]: same tokens here.
        whole = context + continuation
        if len(whole) <= self.max_length + 1:
            return context, continuation
        kept = whole[-(self.max_length + 1) :]
        continuation = continuation[-self.max_length :]
        return kept[: len(kept) - len(continuation)], continuation

    def _batches(
        self, groups: list[Group], size: Callable[[Group], int], extra_width: int = 0
    ) -> Iterator[list[Group]]:
        """Groups (longest first, by ``size``: the row each becomes) in the batches that waste
        least on padding and pass overheads while fitting the memory budget (plan_batches)."""
        sizes = [size(group) for group in groups]
        budget, most = self._token_budget(), self.options.batch_size
        for rows in plan_batches(sizes, budget=budget, max_rows=most, extra_width=extra_width):
            yield [groups[i] for i in rows]

    def _token_budget(self) -> int:
        """Tokens per forward pass: what a quarter of free memory holds (auto), else large."""
        if self.options.batch_size is not None:
            return 1 << 40
        config = getattr(self.config, "text_config", None) or self.config
        hidden = int_attr(config, "hidden_size") or 4096
        layers = int_attr(config, "num_hidden_layers") or 32
        inter = int_attr(config, "intermediate_size") or 4 * hidden
        # Activations live one layer at a time; the KV cache of every layer stays.
        per_token = 4 * (8 * hidden + 2 * inter + 2 * layers * hidden)
        free = self._free_memory()
        return max(512, min(16384, int(free * 0.25 / per_token)))

    def _free_memory(self) -> int:
        if self.device.startswith("cuda"):
            free, _ = self.torch.cuda.mem_get_info(self.torch.device(self.device))
            return int(free)
        try:
            return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            return 2 << 30


def _context_length(skip: int = 0) -> Callable[[Group], int]:
    """The length of a group's context row: its context after a shared prefix's ``skip``."""

    def size(group: Group) -> int:
        return len(group[0]) - skip

    return size


def _packed_length(pairs: Sequence[TokenPair], skip: int = 0) -> Callable[[Group], int]:
    """The length of a group's packed row: its context after the ``skip`` tokens of a shared
    prefix, and all continuation tokens but each continuation's last."""

    def size(group: Group) -> int:
        return len(group[0]) - skip + sum(len(pairs[i][1]) - 1 for i in group[1])

    return size
