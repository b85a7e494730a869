"""Seeded synthetic prompts of a given length in the model's own tokens.

Each prompt is a run of common English words drawn with its own seed, so prompts share no prefix
beyond the first word by chance (a shared prefix would let a prefix cache skip prompt processing
and flatter TTFT). The word count is found by bisection on the model's tokenizer, so the prompt
has the largest length ≤ the target; the exact count actually sent is recorded per request.

Seeds are derived by hashing (:func:`derive_seed`) from everything that names a set — the run's
seed, the model, the load point, warm-up or measured — so every set of a sweep is different, and
:func:`prompt_set` also skips any prompt already used in the sweep (short prompts can collide by
chance): no prompt is ever sent twice, so a server's prefix cache never answers one.
"""

from __future__ import annotations

import hashlib
import json
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


_TRIES = 64
"""Draws per prompt before giving up on finding one not used yet in the sweep."""


def derive_seed(*parts: str | int | float | None) -> int:
    """A seed for the prompts named by ``parts``, stable across processes and Python versions
    (``hash()`` is salted per process)."""
    text = json.dumps(parts, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def prompt_set(
    count_tokens: Callable[[str], int],
    n_tokens: int,
    n_prompts: int,
    seed: int,
    used: set[str] | None = None,
) -> list[str]:
    """``n_prompts`` distinct prompts of ``n_tokens``, none of them in ``used`` (each is added to
    it). The same seed and the same ``used`` give the same set."""
    taken = set() if used is None else used
    prompts: list[str] = []
    for index in range(n_prompts):
        for attempt in range(_TRIES):
            prompt = synthetic_prompt(
                count_tokens, n_tokens, derive_seed(seed, n_tokens, index, attempt)
            )
            if prompt not in taken:
                break
        else:
            raise ConfigError(
                f"cannot make {n_prompts} prompts of {n_tokens} tokens that no other request of "
                f"the sweep uses ({len(taken)} made): use longer prompts or fewer requests"
            )
        taken.add(prompt)
        prompts.append(prompt)
    return prompts
