"""A reasoning model's thinking, told apart from its answer when the text carries both.

Servers that separate thinking (OpenAI's hidden reasoning, Anthropic's ``thinking`` blocks, the
``reasoning_content`` deltas of vLLM, DeepSeek and llama.cpp's server) hand the answer over on
its own. A local model whose chat template lets it think in the open writes the thinking into
the text itself, ``<think>...</think>`` before the answer (DeepSeek-R1, Qwen3, SmolLM3); its
template often opens the ``<think>`` in the prompt, so only the end marker is in the output.
Graders must read the answer only: :func:`split_thinking` cuts at the first end marker.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_THINK_START = "<think>"
DEFAULT_THINK_END = "</think>"
NO_THINK_MARKER = "none"
"""``think_end=none``: the model's text is never cut (a model that writes the marker as text)."""


@dataclass(frozen=True, slots=True)
class SplitText:
    thinking: str
    """The thinking, markers removed ('' when there was none)."""
    answer: str
    """What a grader reads."""
    thought: bool
    """Whether the text carried a think section (finished or not)."""


def split_thinking(
    text: str, end_marker: str | None = DEFAULT_THINK_END, start_marker: str = DEFAULT_THINK_START
) -> SplitText:
    """Thinking and answer of ``text``, cut at the first ``end_marker`` (None: never cut).

    A text that opens a think section and never closes it (cut at ``max_tokens`` while still
    thinking) has no answer: grading its thoughts as one would credit an answer never given.
    """
    if not end_marker:
        return SplitText("", text, False)
    head, found, tail = text.partition(end_marker)
    stripped = head.lstrip()
    if found:
        if stripped.startswith(start_marker):
            stripped = stripped[len(start_marker) :]
        return SplitText(stripped.strip(), tail.lstrip(), True)
    if start_marker and stripped.startswith(start_marker):
        return SplitText(stripped[len(start_marker) :].strip(), "", True)
    return SplitText("", text, False)


def think_end_option(raw: str | None) -> str | None:
    """The end marker a ``think_end=`` model option names (absent: ``</think>``; ``none``: no
    cutting at all)."""
    if raw is None:
        return DEFAULT_THINK_END
    if raw.strip().lower() in (NO_THINK_MARKER, ""):
        return None
    return raw
