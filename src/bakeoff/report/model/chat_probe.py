"""Which results are a base model's answers to a chat probe, prompted without a chat template.

A chat probe (the conversation family, XSTest, toxicity: any task whose samples are chat messages
or carry ``metadata["base_model_caveat"]``) sends its turns through the model's chat template. A
model without one, or run with ``chat=off``, gets a plain ``User: …`` / ``Assistant:``
transcript instead (the llama.cpp backend records which in ``extra.chat_format``; the Hugging Face
backend uses the transcript exactly when the model has no template). Such a score says how a
model never tuned to follow turns copes; it is not comparable with a chat model's, so every
renderer marks it. :func:`transcript_chat_models` decides, once, while the report is built; the
renderers only ask :func:`transcript_chat_result`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from bakeoff.core.records import SampleRecord
from bakeoff.core.types import JSONValue

if TYPE_CHECKING:
    from bakeoff.report.model.view import TaskReport

CHAT_FAMILIES = frozenset({"conversation"})
TRANSCRIPT_MARK = "‡"
"""Not † (the comparison tables use it for MDD notes): one sign, one meaning."""
TRANSCRIPT_NOTE = (
    "prompted through a plain User:/Assistant: transcript (no chat template): a base model's "
    "result on a chat probe, not comparable with a chat model's"
)


def is_chat_probe(family: str, samples: Iterable[SampleRecord]) -> bool:
    """Whether a task's prompts are chat turns, so that the prompting format matters."""
    if family in CHAT_FAMILIES:
        return True
    return any(isinstance(s.input, list) or "base_model_caveat" in s.metadata for s in samples)


def prompted_by_transcript(info: Mapping[str, JSONValue]) -> bool:
    """Whether the model's chat prompts were sent as a plain transcript: what the backend says
    it used (``extra.chat_format``), else no chat template (the transcript is then the only
    way); unknown counts as not, since nothing says it was."""
    extra = info.get("extra")
    chat_format = extra.get("chat_format") if isinstance(extra, dict) else None
    if chat_format in ("template", "transcript"):
        return bool(chat_format == "transcript")
    return info.get("has_chat_template") is False


def transcript_chat_models(
    family: str,
    samples: Iterable[SampleRecord],
    info: Mapping[str, Mapping[str, JSONValue]],
) -> tuple[str, ...]:
    """The models whose results on this task are transcript-prompted chat results."""
    if not is_chat_probe(family, samples):
        return ()
    return tuple(model for model, fields in info.items() if prompted_by_transcript(fields))


def transcript_chat_result(task: TaskReport, model: str) -> bool:
    """This model's result on this task is a transcript-prompted chat result (see the module)."""
    return model in task.transcript_chat
