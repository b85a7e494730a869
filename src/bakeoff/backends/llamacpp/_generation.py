"""Generation on a session: stop strings, the plain chat transcript of template-less
models, llama.cpp's sampler chain, and token-by-token decoding after the cached prompt prefix."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bakeoff.backends.llamacpp._session import (
    Entry,
    FloatRow,
    LlamaSession,
    Tokens,
    common_prefix_length,
)
from bakeoff.core.types import ChatMessage

TRANSCRIPT_STOP = "\nUser:"
_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}


def find_stop(text: str, stops: Sequence[str]) -> int | None:
    """Index of the earliest occurrence of any (non-empty) stop string in ``text``, or None."""
    found = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return min(found) if found else None


def truncate_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` cut before its first stop string, and whether one was found."""
    index = find_stop(text, stops)
    return (text, False) if index is None else (text[:index], True)


def plain_transcript(messages: Sequence[ChatMessage]) -> str:
    """Chat messages as a plain transcript ending in ``Assistant:``, for template-less models."""
    lines = [f"{_ROLES[m.role]}: {m.content}" for m in messages]
    return "\n".join([*lines, "Assistant:"])


@dataclass(slots=True)
class Generation:
    text: str
    finish_reason: str
    prompt_tokens: int
    cached_tokens: int
    output_tokens: int
    prompt_seconds: float
    output_seconds: float


@dataclass(slots=True)
class Sampler:
    """A llama.cpp sampler chain: greedy, or top-p + temperature + seeded draw."""

    ll: Any
    temperature: float
    top_p: float
    seed: int
    chain: Any = field(init=False)

    def __post_init__(self) -> None:
        ll = self.ll
        self.chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        if self.temperature == 0.0:
            ll.llama_sampler_chain_add(self.chain, ll.llama_sampler_init_greedy())
            return
        if self.top_p < 1.0:
            ll.llama_sampler_chain_add(self.chain, ll.llama_sampler_init_top_p(self.top_p, 1))
        ll.llama_sampler_chain_add(self.chain, ll.llama_sampler_init_temp(self.temperature))
        ll.llama_sampler_chain_add(self.chain, ll.llama_sampler_init_dist(self.seed))

    def sample(self, ctx: Any) -> int:
        return int(self.ll.llama_sampler_sample(self.chain, ctx, -1))

    def free(self) -> None:
        self.ll.llama_sampler_free(self.chain)


class Generator:
    """Token-by-token generation on sequence 0, reusing the cached prompt prefix."""

    def __init__(self, session: LlamaSession) -> None:
        self.session = session

    def run(
        self, prompt: Tokens, max_tokens: int, stops: Sequence[str], sampler: Sampler
    ) -> Generation:
        """Generate after ``prompt`` (left-truncated, as the harness does, to leave room)."""
        s = self.session
        if max_tokens >= s.n_ctx:
            raise ValueError(f"max_tokens={max_tokens} leaves no room in n_ctx={s.n_ctx}")
        prompt = prompt[-(s.n_ctx - max_tokens) :]
        try:
            return self._run(prompt, max_tokens, stops, sampler)
        except BaseException:
            s.reset()
            raise

    def _run(
        self, prompt: Tokens, max_tokens: int, stops: Sequence[str], sampler: Sampler
    ) -> Generation:
        s = self.session
        started = time.perf_counter()
        # The last prompt token is always evaluated: its logits pick the first new token.
        s.keep_trunk(min(common_prefix_length(s.trunk, prompt), len(prompt) - 1))
        cached = len(s.trunk)
        self._feed(prompt[cached:])
        first_token_at: float | None = None
        generated = bytearray()
        finish, n_out = "length", 0
        while n_out < max_tokens:
            token = sampler.sample(s.ctx)
            first_token_at = first_token_at or time.perf_counter()
            if s.is_eog(token):
                finish = "stop"
                break
            n_out += 1
            generated += s.piece(token)
            if find_stop(generated.decode("utf-8", "ignore"), stops) is not None:
                finish = "stop"
                break
            if n_out < max_tokens:
                self._feed([token], pad=False)
        ended = time.perf_counter()
        text, _ = truncate_at_stop(generated.decode("utf-8", "ignore"), stops)
        first_token_at = first_token_at or ended
        return Generation(
            text=text,
            finish_reason=finish,
            prompt_tokens=len(prompt) - cached,
            cached_tokens=cached,
            output_tokens=n_out,
            prompt_seconds=first_token_at - started,
            output_seconds=ended - first_token_at,
        )

    def _feed(self, tokens: Tokens, pad: bool = True) -> None:
        """Evaluate ``tokens`` after the trunk; keep logits for the last one (to sample from)."""
        s = self.session
        start = len(s.trunk)
        entries = [Entry(token, start + i, (0,)) for i, token in enumerate(tokens)]
        entries[-1].on_row = _ignore_row
        s.decode(entries, pad=pad)
        s.trunk.extend(tokens)


def _ignore_row(row: FloatRow) -> None:
    """Marks an entry whose logits the sampler reads from llama.cpp directly."""
