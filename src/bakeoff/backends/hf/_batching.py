"""How the `hf` backend cuts scoring work into forward passes (pure; no torch).

Two decisions, both about computing fewer tokens:

* **Batches** (`plan_batches`): rows of one pass are padded to its longest row, and every pass
  has a fixed cost (it reads all the weights), so the best split of rows sorted by length is the
  one that minimises padded tokens plus a pass's cost per batch, found by dynamic programming.
  A greedy cut (close a batch once its padding passes a threshold) wastes about a fifth of the
  work on padding when lengths spread widely (MedQA's questions: 90 to 360 tokens).
* **A prefix shared by documents** (`shared_prefix`): few-shot prompts repeat the same shots
  before every document (LegalBench's train rows, MMLU's subject line), so the longest common
  token prefix of a call's contexts is run once and its keys and values serve every row.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

PASS_COST = 64
"""Tokens' worth of one forward pass beyond its tokens: every pass reads all the weights
(measured ~40 tokens for SmolLM2 and ~60 for Gemma 3 270M on a 2-core CPU; more on a GPU)."""

MIN_SHARED_PREFIX = 8
"""Shorter common prefixes are not worth a cache: mostly a BOS token and a field name."""


def plan_batches(
    sizes: Sequence[int],
    *,
    budget: int,
    max_rows: int | None = None,
    extra_width: int = 0,
    pass_cost: int = PASS_COST,
) -> list[range]:
    """Split rows of ``sizes`` tokens (longest first) into consecutive batches.

    A batch of rows ``i..j`` costs ``(j - i + 1) * sizes[i] + pass_cost`` (padded to its first,
    longest row); the split returned has the least total cost among those whose batches hold at
    most ``max_rows`` rows and at most ``budget`` tokens, counting ``extra_width`` more per row
    (keys and values every row attends to beyond its own, e.g. a shared prefix). A row too wide
    for the budget on its own gets a batch to itself.
    """
    if any(later > earlier for earlier, later in itertools.pairwise(sizes)):
        raise ValueError("plan_batches needs sizes sorted longest first")
    n = len(sizes)
    best = [0.0] + [float("inf")] * n  # best[j]: least cost of the first j rows
    start = [0] * (n + 1)  # start[j]: where the last batch of that best split begins
    for end in range(1, n + 1):
        for first in range(end - 1, -1, -1):
            rows = end - first
            fits = rows * (sizes[first] + extra_width) <= budget
            if rows > 1 and (not fits or (max_rows is not None and rows > max_rows)):
                break  # earlier rows are wider: every longer batch breaks the limit too
            cost = best[first] + rows * sizes[first] + pass_cost
            if cost < best[end]:
                best[end], start[end] = cost, first
    batches: list[range] = []
    end = n
    while end > 0:
        batches.append(range(start[end], end))
        end = start[end]
    return batches[::-1]


def common_prefix_length(keys: Sequence[Sequence[int]]) -> int:
    """How many leading tokens every one of ``keys`` shares."""
    if not keys:
        return 0
    shortest = min(len(key) for key in keys)
    first = keys[0]
    for index in range(shortest):
        token = first[index]
        if any(key[index] != token for key in keys):
            return index
    return shortest


def shared_prefix(
    keys: Sequence[tuple[int, ...]],
    cached: tuple[int, ...] | None = None,
    pass_cost: int = PASS_COST,
) -> tuple[int, ...] | None:
    """The tokens to run once for all of ``keys`` (distinct contexts), or None.

    Every context keeps at least its last token out of the prefix: that token's logits predict
    the first continuation token. ``cached`` (a prefix whose keys and values are already
    computed) is taken when it starts every context and a longer common prefix would save less
    than the pass that computes it; a new prefix is taken when running it once saves more than
    that pass costs.
    """
    if not keys:
        return None
    cap = min(len(key) for key in keys) - 1
    common = min(common_prefix_length(keys), cap)
    usable = (
        cached is not None
        and 0 < len(cached) <= cap
        and all(key[: len(cached)] == cached for key in keys)
    )
    if usable and cached is not None and (common - len(cached)) * len(keys) <= pass_cost:
        return cached
    if common >= MIN_SHARED_PREFIX and common * (len(keys) - 1) > pass_cost:
        return tuple(keys[0][:common])
    return cached if usable else None
