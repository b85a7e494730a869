"""Multiple choice without log-probabilities: ask for the answer letter, score by exact match.

Chat-only APIs (OpenAI's chat endpoint, Anthropic's Messages API) return no log-probabilities of
a given text, so a log-likelihood multiple-choice task cannot be scored on them the way it is on a
local model. Instead each sample becomes one greedy generation request that lists the choices as
lettered options and asks for the letter; the reply's first option letter is the prediction.

This is a *different formulation of the same task* (generative, instruction-following, no
length normalisation), so its scores are not comparable with log-likelihood scores of the same
task: every record carries ``details["formulation"]`` and the model's info lists the tasks
scored this way, for the report to label them.

An answer without a valid option letter is wrong (for corpus metrics such as F1 it counts as
the first choice that is not the gold one).
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

from bakeoff.backends.base import Backend
from bakeoff.core.types import (
    ChatMessage,
    GenerateRequest,
    GenerationResult,
    GenerationSettings,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RequestKind,
    Result,
    Sample,
)
from bakeoff.tasks.base import SampleScore, Task

FORMULATION = "generate-letter"
FORMULATION_LABEL = (
    "answer letter by generation, exact match (the API returns no log-probabilities)"
)
SETTINGS = GenerationSettings(max_tokens=16, temperature=0.0)
_INSTRUCTION = "Reply with the letter of the correct option only."
_LEADING_LETTER = re.compile(r"^\W*([A-Z])(?![A-Za-z])")
_BRACKETED_LETTER = re.compile(r"^\W*\(([A-Za-z])\)")  # "(c)": lower case too, not "a dog"
_STATED_LETTER = re.compile(r"\b(?:answer|option)\s*(?:is|:)?\s*\(?([A-Z])\b", re.IGNORECASE)


def applies(task: Task, backend: Backend) -> bool:
    """Whether ``task`` needs log-likelihoods this backend lacks but could ask for letters."""
    return (
        task.kind is RequestKind.LOGLIKELIHOOD
        and RequestKind.LOGLIKELIHOOD not in backend.supports
        and RequestKind.GENERATE in backend.supports
    )


def letter_request(task: Task, sample: Sample) -> GenerateRequest | None:
    """The one generation request for ``sample``; None when it is not multiple choice."""
    options = _options(task, sample)
    if options is None or len(options) > len(string.ascii_uppercase):
        return None
    question, texts = options
    lines = [
        f"{letter}. {text}" for letter, text in zip(string.ascii_uppercase, texts, strict=False)
    ]
    prompt = f"{question}\n\nOptions:\n" + "\n".join(lines) + f"\n\n{_INSTRUCTION}"
    return GenerateRequest((ChatMessage("user", prompt),), SETTINGS)


def _options(task: Task, sample: Sample) -> tuple[str, list[str]] | None:
    requests = task.requests(sample)
    if len(requests) < 2 or not all(isinstance(r, LoglikelihoodRequest) for r in requests):
        return None
    pairs = [(r.context, r.continuation) for r in requests if isinstance(r, LoglikelihoodRequest)]
    contexts = {context for context, _ in pairs}
    if len(contexts) == 1:
        texts = (
            list(sample.choices)
            if len(sample.choices) == len(pairs)
            else [continuation.strip() for _, continuation in pairs]
        )
        return pairs[0][0].rstrip(), texts
    # Choices that differ in their context (Winogrande's partial scoring): whole sentences.
    return "Which option is right?", [(c + x).strip() for c, x in pairs]


def parse_letter(reply: str, n_options: int) -> int | None:
    valid = string.ascii_uppercase[:n_options]
    text = reply.strip()
    for pattern in (_LEADING_LETTER, _BRACKETED_LETTER, _STATED_LETTER):
        match = pattern.search(text)
        if match and match.group(1).upper() in valid:
            return valid.index(match.group(1).upper())
    return None


def score(task: Task, sample: Sample, results: Sequence[Result]) -> SampleScore:
    """Score the letter reply with the task's own metrics (acc, F1, MCC...), then label it."""
    (reply,) = results
    text = reply.text if isinstance(reply, GenerationResult) else ""
    n = len(task.requests(sample))
    picked = parse_letter(text, n)
    gold = int(sample.target) if isinstance(sample.target, int | str) else 0
    # The task scores log-likelihoods by argmax: give the picked choice the top value (or, with
    # no valid letter, every choice but the gold one), so every metric sees this prediction.
    top = picked if picked is not None else next(i for i in range(n) if i != gold)
    synthetic = [LoglikelihoodResult(0.0 if i == top else -1.0, i == top, 1) for i in range(n)]
    base = task.score(sample, synthetic)
    details = {
        "formulation": FORMULATION,
        "reply": text,
        "letter": None if picked is None else string.ascii_uppercase[picked],
        "pred": top,
        "gold": gold,
    }
    return SampleScore(base.metric_inputs, base.prediction, base.target, base.correct, details)
