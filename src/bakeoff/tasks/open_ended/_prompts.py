"""The judge prompts of the graded (single-answer) open-ended tasks, versioned and hashed.

Written for bakeoff in the manner of MT-Bench's single-answer grading: the judge explains, then
grades 1–10 as ``Rating: [[N]]`` (scoring/grades.py reads it). For math, reasoning and coding,
MT-Bench shows the judge a reference answer, since a judge grading its own reading of a proof
or a program is unreliable; so do these prompts when a reference is given. A second turn is
graded with the whole conversation shown, on the assistant's second answer only.

``JUDGE_PROMPT_VERSION`` changes whenever a template's wording does; the templates' hash goes
into the task's identity and manifest (a different prompt is a different run) and both are shown
in the methodology.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from bakeoff.core.types import ChatMessage

JUDGE_PROMPT_VERSION = "grade-1"

SYSTEM = (
    "You are an impartial judge of answers written by an AI assistant. You grade one answer "
    "at a time, on its merits. The length of an answer is not a merit in itself, and the "
    "order in which things are shown to you must not sway you."
)

_FORMAT = (
    "Begin with a short explanation. Then give your grade, a number from 1 to 10, in exactly "
    'this format: "Rating: [[5]]".'
)

GENERAL = (
    "Grade the assistant's answer to the user's question below. Consider how helpful, relevant, "
    "accurate, deep, creative and detailed it is. " + _FORMAT + "\n\n"
    "[Question]\n{question}\n\n"
    "[The Start of the Assistant's Answer]\n{answer}\n[The End of the Assistant's Answer]"
)

WITH_REFERENCE = (
    "Grade the assistant's answer to the user's question below for correctness and "
    "helpfulness. A reference answer, which is correct, is given: compare the assistant's "
    "answer with it and point out any mistake. " + _FORMAT + "\n\n"
    "[Question]\n{question}\n\n"
    "[The Start of the Reference Answer]\n{reference}\n[The End of the Reference Answer]\n\n"
    "[The Start of the Assistant's Answer]\n{answer}\n[The End of the Assistant's Answer]"
)

SECOND_TURN = (
    "Below is a conversation between a user and an AI assistant. Grade only the assistant's "
    "answer to the user's second question, with the first exchange as its context. Consider how "
    "helpful, relevant, accurate, deep, creative and detailed it is. " + _FORMAT + "\n\n"
    "{conversation}"
)

SECOND_TURN_WITH_REFERENCE = (
    "Below is a conversation between a user and an AI assistant. Grade only the assistant's "
    "answer to the user's second question, for correctness and helpfulness. A reference answer "
    "to each question, which is correct, is given: compare the assistant's second answer with "
    "the second reference and point out any mistake. " + _FORMAT + "\n\n"
    "[The Start of the Reference Answers]\n{reference}\n[The End of the Reference Answers]\n\n"
    "{conversation}"
)

RUBRIC = (
    "Grade the assistant's answer to the conversation below against the rubric, and only "
    "against the rubric: 10 when it meets every point, 1 when it meets none. " + _FORMAT + "\n\n"
    "[Rubric]\n{rubric}\n\n"
    "{conversation}"
)

TEMPLATES = (SYSTEM, GENERAL, WITH_REFERENCE, SECOND_TURN, SECOND_TURN_WITH_REFERENCE, RUBRIC)


def prompt_hash() -> str:
    """sha256 prefix of every template, in order (the manifest's record of the exact wording)."""
    digest = hashlib.sha256("\x1e".join(TEMPLATES).encode("utf-8")).hexdigest()
    return digest[:16]


def conversation_text(messages: Sequence[ChatMessage]) -> str:
    """A conversation as the judge reads it: each turn headed by who spoke."""
    lines = ["[The Start of the Conversation]"]
    for message in messages:
        lines.append(f"### {message.role.capitalize()}:\n{message.content}\n")
    lines.append("[The End of the Conversation]")
    return "\n".join(lines)


def judge_messages(text: str) -> tuple[ChatMessage, ...]:
    return (ChatMessage("system", SYSTEM), ChatMessage("user", text))
