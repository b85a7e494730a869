"""What an API backend notes while a stream arrives, so thinking and answer come out apart.

Each delta is stamped (monotonic clock) as it is handed over and filed as thinking (a separate
reasoning field or block) or as text. Text may still carry a think section of its own (a local
model thinking in the open): :meth:`StreamTrace.finish` cuts it at the end marker and finds the
moment the answer itself began, so time to first token (thinking included) and time to first
answer token are both measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bakeoff.core.thinking import split_thinking


@dataclass(frozen=True, slots=True)
class TracedStream:
    answer: str
    thinking: str
    thought: bool
    """Whether any thinking came (a separate field or a think section in the text)."""
    first_token_at: float | None
    first_answer_at: float | None
    end: float


@dataclass(slots=True)
class StreamTrace:
    start: float = field(default_factory=time.monotonic)
    text: list[tuple[float, str]] = field(default_factory=list)
    thinking: list[tuple[float, str]] = field(default_factory=list)
    hidden_thinking: bool = False
    """A thinking block came with its text withheld (redacted, or display omitted)."""

    def add_text(self, piece: str | None) -> None:
        if piece:
            self.text.append((time.monotonic(), piece))

    def add_thinking(self, piece: str | None) -> None:
        if piece:
            self.thinking.append((time.monotonic(), piece))

    @property
    def pieces(self) -> int:
        return len(self.text) + len(self.thinking)

    def finish(self, think_end: str | None) -> TracedStream:
        end = time.monotonic()
        full = "".join(piece for _, piece in self.text)
        split = split_thinking(full, think_end)
        separate = "".join(piece for _, piece in self.thinking)
        thinking = "\n".join(part for part in (separate, split.thinking) if part)
        stamps = [at for at, _ in self.text[:1] + self.thinking[:1]]
        return TracedStream(
            answer=split.answer,
            thinking=thinking,
            thought=bool(self.thinking) or self.hidden_thinking or split.thought,
            first_token_at=min(stamps) if stamps else None,
            first_answer_at=self._answer_began(len(full) - len(split.answer), split.answer),
            end=end,
        )

    def _answer_began(self, offset: int, answer: str) -> float | None:
        """When the text chunk holding the answer's first visible character arrived."""
        if not answer.strip():
            return None
        offset += len(answer) - len(answer.lstrip())
        seen = 0
        for at, piece in self.text:
            seen += len(piece)
            if seen > offset:
                return at
        return None
