"""What scoring passes around: token pairs, contexts grouped with their requests, a prefix
run once for a whole call, and one pair's score."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Tokens = list[int]
TokenPair = tuple[Tokens, Tokens]
"""(context tokens, continuation tokens), as lm-evaluation-harness's ``_encode_pair`` makes them."""
Group = tuple[tuple[int, ...], list[int]]
"""A context's tokens and the indices of the requests scored after it."""


@dataclass(slots=True)
class SharedPrefix:
    """Context tokens that start every row of a call, run once: their keys and values (a cache
    every batch copies), and the seconds that took, charged to the first batch that uses it."""

    tokens: tuple[int, ...]
    cache: Any
    unpaid_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class PairScore:
    logprob: float
    is_greedy: bool
    seconds: float
    cached_tokens: int
