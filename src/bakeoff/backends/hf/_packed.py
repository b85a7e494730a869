"""Packed scoring: a context and all its continuations in one row under a tree-shaped
attention mask, one forward pass per batch, no KV cache; logits only where they score."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

from bakeoff.backends.hf._pairs import Group, PairScore, SharedPrefix, TokenPair, Tokens
from bakeoff.backends.hf._prefix import PrefixSharing


class PackedScoring(PrefixSharing):
    """Scores batches of groups as packed rows (models that take a custom attention mask)."""

    def _score_packed(
        self, batch: list[Group], pairs: Sequence[TokenPair], prefix: SharedPrefix | None = None
    ) -> dict[int, PairScore]:
        """Each group as one row: its context, then every continuation but its last token, each
        continuation attending to the context and to itself only (a tree-shaped attention mask,
        positions continuing from the context). One forward pass scores the whole batch; the
        logits are computed only where they predict continuation tokens. With a ``prefix``, rows
        start after it and attend to a copy of its keys and values."""
        torch = self.torch
        started = time.perf_counter()
        skip = len(prefix.tokens) if prefix is not None else 0
        rows: list[tuple[Tokens, list[int], list[int], list[tuple[int, int]]]] = []
        for key, members in batch:
            tokens, positions = list(key[skip:]), list(range(skip, len(key)))
            segments = [0] * len(tokens)
            branches: list[tuple[int, int]] = []  # (request index, start of its tokens)
            for number, i in enumerate(members, start=1):
                tail = pairs[i][1][:-1]
                branches.append((i, len(tokens)))
                tokens += tail
                positions += range(len(key), len(key) + len(tail))
                segments += [number] * len(tail)
            rows.append((tokens, positions, segments, branches))
        width = max(len(r[0]) for r in rows)
        # Each row's own context tokens: row positions before them belong to the prefix.
        own = [len(key) - skip for key, _ in batch]
        keep = max(len(r[0]) - n + 1 for r, n in zip(rows, own, strict=True))
        pad = self.prefix_token_id

        def padded(values: list[int], fill: int, row: Tokens) -> list[int]:
            return [fill] * (width - len(row)) + values

        ids = torch.tensor([padded(r[0], pad, r[0]) for r in rows], device=self.device)
        position_ids = torch.tensor([padded(r[1], 0, r[0]) for r in rows], device=self.device)
        segments = torch.tensor([padded(r[2], -1, r[0]) for r in rows], device=self.device)
        # The positions that predict continuation tokens: in the last ``keep`` positions (the
        # window the model slices), row r's span is its last context token onwards.
        spans: list[tuple[int, int]] = []  # (start in the gathered rows, count) per batch row
        at_row: list[int] = []
        at_col: list[int] = []
        for r, ((tokens, _, _, _), n) in enumerate(zip(rows, own, strict=True)):
            first = keep - len(tokens) + n - 1
            spans.append((len(at_row), keep - first))
            at_row += [r] * (keep - first)
            at_col += range(first, keep)
        with torch.inference_mode():
            masks = self._tree_masks(segments, position_ids, skip)
            index = (
                torch.tensor(at_row, device=self.device),
                torch.tensor(at_col, device=self.device),
            )
            past: dict[str, Any] = {"use_cache": False}
            if prefix is not None:
                past = {"use_cache": True, self.cache_kwarg: self._prefix_rows(prefix, len(rows))}
            with _output_head_on(self.model, index) as gathered:
                output = self.model(
                    input_ids=ids,
                    attention_mask=masks,
                    position_ids=position_ids,
                    logits_to_keep=keep,
                    **past,
                )
            logits = output.logits
            if gathered and tuple(logits.shape[:2]) == (1, len(at_row)):
                logits = logits[0]
            else:  # the model did not call its output layer as a module: take the rows here
                logits = logits[index]
            scored: dict[int, tuple[float, bool]] = {}
            for r, (_, _, _, branches) in enumerate(rows):
                first, count = spans[r]
                row = torch.log_softmax(logits[first : first + count].float(), dim=-1)
                base = own[r] - 1  # the last context token predicts every first token
                best = row.argmax(-1)
                for i, start in branches:
                    cont = pairs[i][1]
                    at = [base] + [start + t for t in range(len(cont) - 1)]
                    index = torch.tensor([a - base for a in at], device=self.device)
                    wanted = torch.tensor(cont, device=self.device)
                    logprob = float(row[index, wanted].double().sum())
                    scored[i] = (logprob, bool((best[index] == wanted).all()))
        elapsed = time.perf_counter() - started
        if prefix is not None:
            elapsed, prefix.unpaid_seconds = elapsed + prefix.unpaid_seconds, 0.0
        computed = sum(len(r[0]) for r in rows)
        out: dict[int, PairScore] = {}
        for (_, members), n in zip(batch, own, strict=True):
            for position, i in enumerate(members):
                ran = len(pairs[i][1]) - 1 + (n if position == 0 else 0)
                cached = skip + (n if position else 0)
                share = ran / computed if computed else 0.0
                out[i] = PairScore(*scored[i], seconds=elapsed * share, cached_tokens=cached)
        return out


@contextlib.contextmanager
def _output_head_on(model: Any, index: tuple[Any, Any]) -> Iterator[list[bool]]:
    """While active, the model's output layer (vocabulary projection) sees only the hidden
    states at ``index`` (row and position tensors), as one row. Packed rows need logits on
    spans of different lengths; slicing the same last-N window from every row (all
    ``logits_to_keep`` can do) computes vocabulary-sized rows nobody reads, and for a small model
    with a large vocabulary (Gemma 3 270M: 262k x 640) that projection costs more than the rest
    of the network. What the model does after the layer (Gemma's logit soft-capping) is
    elementwise, so it applies unchanged. Yields a list that holds True once the layer ran."""
    head = model.get_output_embeddings()
    fired: list[bool] = []
    if head is None:
        yield fired
        return

    def gather(_module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        fired.append(True)
        return (args[0][index].unsqueeze(0), *args[1:])

    handle = head.register_forward_pre_hook(gather)
    try:
        yield fired
    finally:
        handle.remove()
