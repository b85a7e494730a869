"""Seeded synthetic prompts of a given length in the model's own tokens.

Each prompt is a run of common English words drawn with its own seed, so prompts share no prefix
beyond the first word by chance (a shared prefix would let a prefix cache skip prompt processing
and flatter TTFT). The word count is found by bisection on the model's tokenizer, so the prompt
has the largest length ≤ the target; the exact count actually sent is recorded per request.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from bakeoff.core.errors import ConfigError

_WORD_TEXT = (
    "time year people way day man thing woman life child world school state family student "
    "group country problem hand part place case week company system program question work "
    "government number night point home water room mother area money story fact month lot "
    "right study book eye job word business issue side kind head house service friend father "
    "power hour game line end member law car city community name president team minute idea "
    "kid body information back parent face others level office door health person art war "
    "history party result change morning reason research girl guy moment air teacher force "
    "education river garden window market paper music light table letter bridge summer winter "
    "stone forest island mountain valley harbor engine signal pattern measure answer picture"
)
_WORDS = _WORD_TEXT.split()


def synthetic_prompt(count_tokens: Callable[[str], int], n_tokens: int, seed: int) -> str:
    """The longest seeded word sequence whose token count is at most ``n_tokens``."""
    if n_tokens < 1:
        raise ConfigError(f"prompt length must be at least 1 token, got {n_tokens}")
    rng = random.Random(seed)
    # Words are 1–3 tokens each for common tokenizers; 2× the target is always long enough.
    words = [rng.choice(_WORDS) for _ in range(2 * n_tokens + 8)]
    low, high = 1, len(words)
    while low < high:
        mid = (low + high + 1) // 2
        if count_tokens(" ".join(words[:mid])) <= n_tokens:
            low = mid
        else:
            high = mid - 1
    return " ".join(words[:low])


def prompt_set(
    count_tokens: Callable[[str], int], n_tokens: int, n_prompts: int, seed: int
) -> list[str]:
    """``n_prompts`` distinct prompts of ``n_tokens``; the same seed gives the same set."""
    return [
        synthetic_prompt(count_tokens, n_tokens, seed * 1_000_003 + n_tokens * 7919 + i)
        for i in range(n_prompts)
    ]
