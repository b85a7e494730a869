"""Log-likelihood requests whose context is a chat (``format=chat`` benchmarks).

The harness's ``--apply_chat_template`` renders the prompt's messages with the model's chat
template (generation prompt added) and scores each choice, without target delimiter, after the
rendered text. Rendering needs the model's tokenizer, so the task sends the messages and the
backend renders them: ``ChatLoglikelihoodRequest`` is a ``LoglikelihoodRequest`` (the runner
routes it like any other) that also carries ``messages``. The ``hf`` backend renders them with
the tokenizer's template exactly as the harness does. ``context`` holds the messages as the plain
``User: ...\\nAssistant:`` transcript, what bakeoff's backends show a model that has no chat
template; a backend that does not look at ``messages`` scores that transcript.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bakeoff.core.types import ChatMessage, LoglikelihoodRequest

_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}


@dataclass(frozen=True, slots=True)
class ChatLoglikelihoodRequest(LoglikelihoodRequest):
    messages: tuple[ChatMessage, ...] = ()


def transcript(messages: Sequence[ChatMessage]) -> str:
    """The messages as a plain transcript ending in ``Assistant:`` (llama.cpp's, hf's fallback)."""
    lines = [f"{_ROLES[m.role]}: {m.content}" for m in messages]
    return "\n".join([*lines, "Assistant:"])


def chat_request(messages: tuple[ChatMessage, ...], continuation: str) -> ChatLoglikelihoodRequest:
    return ChatLoglikelihoodRequest(transcript(messages), continuation, messages=messages)
