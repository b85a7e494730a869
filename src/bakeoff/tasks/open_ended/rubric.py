"""``rubric:FILE.jsonl``: your own prompts, each answer graded 1–10 against your rubric.

One JSON object a line: ``{"prompt": ..., "rubric": ..., "category"?: ...}``, or
``{"messages": [{"role", "content"}, ...], "rubric": ...}`` for a conversation whose last turn
is the user's (earlier assistant turns are given, not generated). Every judge (``--judge``)
grades the model's answer against the rubric with the whole conversation shown. Options:
``max_tokens`` (default 1024), ``judge_max_tokens`` (default 512), ``name``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bakeoff.core.errors import DataError
from bakeoff.core.types import (
    ChatMessage,
    GenerateRequest,
    GenerationResult,
    JSONValue,
    Request,
    Result,
    Sample,
)
from bakeoff.tasks.data import read_jsonl
from bakeoff.tasks.generic import reject_unknown_options
from bakeoff.tasks.open_ended import _prompts
from bakeoff.tasks.open_ended._graded import GradedTask

_ROLES = ("system", "user", "assistant")


class RubricTask(GradedTask):
    version = "1"
    description = "Your prompts, each answer graded 1-10 by the judges against your rubric"
    source = "your file"

    def __init__(self, arg: str = "", options: Mapping[str, str] | None = None) -> None:
        options = dict(options or {})
        reject_unknown_options("rubric", options, {"max_tokens", "judge_max_tokens", "name"})
        super().__init__(options)
        if not arg:
            raise DataError("rubric needs a file: rubric:FILE.jsonl")
        self.name = options.get("name") or "rubric"
        self.path = arg
        self._samples = [_sample(arg, lineno, row) for lineno, row in read_jsonl(arg)]
        if not self._samples:
            raise DataError(f"{arg}: no prompts")

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def requests(self, sample: Sample) -> list[Request]:
        assert isinstance(sample.input, tuple)
        return [GenerateRequest(sample.input, self.settings)]

    def grade_prompts(self, sample: Sample, results: Sequence[Result]) -> list[str]:
        assert isinstance(sample.input, tuple)
        (answer,) = results
        text = answer.text if isinstance(answer, GenerationResult) else ""
        conversation = _prompts.conversation_text([*sample.input, ChatMessage("assistant", text)])
        rubric = str(sample.metadata["rubric"])
        return [_prompts.RUBRIC.format(rubric=rubric, conversation=conversation)]

    def config(self) -> dict[str, JSONValue]:
        return {"file": self.path, **self.judge_config()}


def message_list(path: str, lineno: int, row: Mapping[str, Any]) -> tuple[ChatMessage, ...]:
    """A line's conversation: ``prompt`` as one user turn, or ``messages`` ending with the
    user's. Shared with the pairwise task's files."""
    if isinstance(row.get("prompt"), str):
        return (ChatMessage("user", row["prompt"]),)
    raw = row.get("messages")
    if not isinstance(raw, list) or not raw:
        raise DataError(f"{path}:{lineno}: expected 'prompt' (text) or 'messages' (a list)")
    messages: list[ChatMessage] = []
    for item in raw:
        role = item.get("role") if isinstance(item, dict) else None
        content = item.get("content") if isinstance(item, dict) else None
        if role not in _ROLES or not isinstance(content, str):
            raise DataError(
                f"{path}:{lineno}: each message needs a role (user, assistant, system)"
                " and text content"
            )
        messages.append(ChatMessage(role, content))
    if messages[-1].role != "user":
        raise DataError(f"{path}:{lineno}: the last message must be the user's")
    return tuple(messages)


def _sample(path: str, lineno: int, row: Mapping[str, Any]) -> Sample:
    rubric = row.get("rubric")
    if not isinstance(rubric, str) or not rubric.strip():
        raise DataError(f"{path}:{lineno}: expected a 'rubric' (text)")
    metadata: dict[str, JSONValue] = {"rubric": rubric, "line": lineno}
    if isinstance(row.get("category"), str):
        metadata["category"] = row["category"]
    return Sample(f"line-{lineno}", message_list(path, lineno, row), metadata=metadata)
