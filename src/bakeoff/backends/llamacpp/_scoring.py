"""Log-likelihood scoring on a session: the harness's token pairs and windows, and the
:class:`Scorer` that evaluates a shared context once, branches its continuations into their own
sequences of the same KV cells, and reuses the cached prefix of the previous request."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bakeoff.backends.llamacpp._session import (
    Entry,
    FloatRow,
    LlamaSession,
    Tokens,
    common_prefix_length,
)

TokenPair = tuple[Tokens, Tokens]
"""(context tokens, continuation tokens) as lm-evaluation-harness's ``_encode_pair`` makes them."""


def harness_split(context: str, continuation: str) -> tuple[str, str]:
    """Move the context's trailing whitespace to the front of the continuation (as the harness).

    ``("Q: x\\nA: ", "Paris")`` becomes ``("Q: x\\nA:", " Paris")``: tokenizers attach a space to
    the word after it, so this is where the word's real first token is.
    """
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces == 0:
        return context, continuation
    return context[:-n_spaces], context[-n_spaces:] + continuation


def continuation_tokens(context_tokens: Sequence[int], whole_tokens: Sequence[int]) -> Tokens:
    """The continuation's tokens: those of ``context + continuation`` after the context's count.

    Tokenizing the whole string (not the continuation alone) keeps merges across the boundary
    the way the model saw them in training.
    """
    return list(whole_tokens[len(context_tokens) :])


def fit_window(context: Sequence[int], continuation: Sequence[int], n_ctx: int) -> Tokens:
    """Left-truncate ``context`` so that ``context + continuation[:-1]`` fits ``n_ctx`` tokens.

    The harness's rule (``(context + continuation)[-(n_ctx + 1):][:-1]``); the continuation is
    never cut, so it must hold at most ``n_ctx`` tokens (ValueError otherwise).
    """
    keep = n_ctx + 1 - len(continuation)
    if keep < 1:
        raise ValueError(f"continuation of {len(continuation)} tokens exceeds n_ctx={n_ctx}")
    return list(context[-keep:]) if len(context) > keep else list(context)


def rolling_windows(tokens: Sequence[int], prefix_token: int, max_length: int) -> list[TokenPair]:
    """lm-evaluation-harness's disjoint rolling windows (``context_len=1``) over ``tokens``.

    The first window predicts the first ``max_length`` tokens from the prefix token on; each
    later one predicts the next ``max_length`` tokens (or what is left) with as much preceding
    text as context as fits. Every token is predicted exactly once.
    """
    windows: list[TokenPair] = []
    if not tokens:
        return windows
    first = min(max_length, len(tokens))
    windows.append(([prefix_token], list(tokens[:first])))
    predicted = first
    while predicted < len(tokens):
        size = min(len(tokens) - predicted, max_length)
        end = predicted + size
        context = list(tokens[max(end - max_length - 1, 0) : end - size])
        windows.append((context, list(tokens[end - size : end])))
        predicted = end
    return windows


def score_row(logits: npt.NDArray[np.floating[Any]], target: int) -> tuple[float, bool]:
    """(log-softmax of ``logits`` at ``target`` in float64, whether ``target`` is the argmax)."""
    best = int(np.argmax(logits))
    shifted = np.subtract(logits, logits[best], dtype=np.float64)  # max-shift: exp cannot overflow
    log_norm = float(np.log(np.exp(shifted, out=shifted).sum()))
    return float(logits[target]) - float(logits[best]) - log_norm, best == target


@dataclass(frozen=True, slots=True)
class ScoreGroup:
    """One context and the continuations scored on it in one pass (with their request indices)."""

    context: Tokens
    members: list[tuple[int, Tokens]]


def plan_groups(
    items: Sequence[tuple[int, Tokens, Tokens]], n_ctx: int, max_branches: int
) -> list[ScoreGroup]:
    """Group ``(index, context, continuation)`` items by context, in lexicographic order.

    Sorting puts requests with common token prefixes next to each other, so the KV cache of one
    is reused by the next. A group holds at most ``max_branches`` continuations, and the context
    plus all its continuations' inputs must fit ``n_ctx`` cells; bigger groups are split (the
    parts still share the cached context).
    """
    groups: list[ScoreGroup] = []
    cells = 0
    for index, context, continuation in sorted(items, key=lambda item: (item[1], item[2])):
        need = len(continuation) - 1
        current = groups[-1] if groups else None
        if (
            current is None
            or current.context != context
            or len(current.members) >= max_branches
            or cells + need > n_ctx
        ):
            current = ScoreGroup(context=context, members=[])
            groups.append(current)
            cells = len(context)
        current.members.append((index, continuation))
        cells += need
    return groups


def share_seconds(seconds: float, weights: Sequence[int]) -> list[float]:
    """Split a wall time over requests in proportion to the tokens each had evaluated."""
    total = sum(weights)
    if total == 0:
        return [seconds / len(weights)] * len(weights)
    return [seconds * w / total for w in weights]


@dataclass(slots=True)
class PairScore:
    """Running score of one continuation."""

    continuation: Tokens
    logprob: float = 0.0
    is_greedy: bool = True
    evaluated: int = 0
    cached: int = 0
    seconds: float = 0.0

    def add(self, row: FloatRow, target: int) -> None:
        logprob, greedy = score_row(row, target)
        self.logprob += logprob
        self.is_greedy = self.is_greedy and greedy


class Scorer:
    """Scores (context, continuation) token pairs on a session, sharing contexts and prefixes."""

    def __init__(self, session: LlamaSession) -> None:
        self.session = session

    def score(self, items: Sequence[tuple[int, Tokens, Tokens]]) -> dict[int, PairScore]:
        """Scores keyed by item index; every continuation has at least one token."""
        s = self.session
        # Sequence 0 is the trunk and the last one the scratch sequence for padding.
        branches = s.max_sequences - 2 if s.reusable else 1
        scores: dict[int, PairScore] = {}
        try:
            for group in plan_groups(items, s.n_ctx, branches):
                scores.update(self._score_group(group))
        except BaseException:
            s.reset()
            raise
        return scores

    def _score_group(self, group: ScoreGroup) -> dict[int, PairScore]:
        s = self.session
        started = time.perf_counter()
        context = group.context
        last = len(context) - 1  # the position whose logits predict every first token
        reused = common_prefix_length(s.trunk, context)
        if reused > last and last not in s.rows:
            reused = last  # its logits row is gone: evaluate the last context token again
        s.keep_trunk(reused)
        reused = len(s.trunk)
        scores = {index: PairScore(continuation=cont) for index, cont in group.members}
        s.decode(self._context_entries(context, reused))
        s.trunk = list(context)
        branched = [pair for pair in scores.values() if len(pair.continuation) > 1]
        seqs = list(range(1, len(branched) + 1))
        for seq in seqs:
            s.fork(seq)
        # A separate decode call: in llama.cpp 0.3.36, tokens shared by several sequences
        # decoded together with other sequences' tokens get wrong logits (measured: 0.16 nats).
        s.decode(self._branch_entries(len(context), zip(seqs, branched, strict=True)))
        for seq in seqs:
            s.drop(seq)
        for pair in scores.values():
            pair.add(s.rows[last], pair.continuation[0])
        self._account(group, scores, len(context) - reused, reused, started)
        return scores

    def _context_entries(self, context: Tokens, reused: int) -> list[Entry]:
        """The context's tokens after the cached prefix, in sequence 0; the last one's logits
        row (it predicts every continuation's first token) is kept."""
        s = self.session
        last = len(context) - 1
        entries = [Entry(context[pos], pos, (0,)) for pos in range(reused, len(context))]
        if entries:
            entries[-1].on_row = lambda row: s.keep_row(last, row)
        return entries

    @staticmethod
    def _branch_entries(start: int, branches: Iterable[tuple[int, PairScore]]) -> list[Entry]:
        """Each continuation's input tokens (all but its last) in its own sequence from
        position ``start``, each with a logits row that scores the token after it."""
        entries: list[Entry] = []
        for seq, pair in branches:
            cont = pair.continuation
            for offset, token in enumerate(cont[:-1]):
                scorer = _scorer(pair, cont[offset + 1])
                entries.append(Entry(token, start + offset, (seq,), scorer))
        return entries

    @staticmethod
    def _account(
        group: ScoreGroup,
        scores: dict[int, PairScore],
        context_evaluated: int,
        reused: int,
        started: float,
    ) -> None:
        """Usage: the context's new tokens go to the group's first request, which also reused
        the cached prefix; later requests reused the whole context."""
        ordered = [scores[index] for index, _ in group.members]
        for position, pair in enumerate(ordered):
            pair.evaluated = (
                len(pair.continuation) - 1 + (context_evaluated if position == 0 else 0)
            )
            pair.cached = reused if position == 0 else len(group.context)
        seconds = share_seconds(time.perf_counter() - started, [p.evaluated for p in ordered])
        for pair, share in zip(ordered, seconds, strict=True):
            pair.seconds = share


def _scorer(pair: PairScore, target: int) -> Callable[[FloatRow], None]:
    return lambda row: pair.add(row, target)
