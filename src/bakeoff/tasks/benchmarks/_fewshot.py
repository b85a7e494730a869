"""Documents, few-shot selection and prompt assembly, laid out the way lm-evaluation-harness does.

A harness prompt (plain format) is::

    description + shot_1 + fewshot_delimiter + ... + shot_k + fewshot_delimiter + doc_to_text(doc)

where each shot is ``doc_to_text(shot) + target_delimiter + choice[gold]`` and the model scores
``target_delimiter + choice`` for every choice. Defaults as in the harness: target delimiter
``" "``, few-shot delimiter ``"\\n\\n"``.

Shot selection is the harness's: ``random`` draws every document's shots from one
``random.Random(seed)`` stream (seed 1234, the harness's ``fewshot_random_seed``) consumed
document after document in evaluation order (``ShotDraw``), sampling ``k`` examples, or ``k + 1``
and dropping the document itself where the harness passes it to its sampler; ``first_n``
(MMLU, LegalBench) takes the first k in file order. A document's shots depend only on the
documents before it, so ``--limit N`` (the first N) and a resume see the same prompts as a full
run, and k-shot prompts equal the harness's (tested against lm-eval).

Chat format (``format=chat``, the harness's ``--apply_chat_template``, whose default is
``--fewshot_as_multiturn``): the description becomes a system message, each shot a user turn
(its question) and an assistant turn (its answer), the document a last user turn; the backend
renders them with the model's chat template and a generation prompt, and the choices are
scored with no target delimiter. ``format=chat-singleturn`` (``--fewshot_as_multiturn false``)
puts the shots and the question in one user message, joined as in the plain format.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from bakeoff.core.errors import ConfigError
from bakeoff.core.types import ChatMessage, JSONValue

Sampler = Literal["random", "first_n"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Doc:
    """One benchmark item after the harness's ``process_docs``/``doc_to_*`` functions.

    ``text`` is doc_to_text, ``choices`` doc_to_choice, ``gold`` doc_to_target (an index).
    ``description`` is the harness's per-task (or per-subject) description, "" when none.
    """

    id: str
    text: str
    choices: tuple[str, ...]
    gold: int
    description: str = ""
    metadata: Mapping[str, JSONValue] = field(default_factory=dict)

    def answer(self) -> str:
        return self.choices[self.gold]


Format = Literal["plain", "chat", "chat-singleturn"]
FORMATS: tuple[Format, ...] = ("plain", "chat", "chat-singleturn")


def _same(a: Doc, b: Doc) -> bool:
    # The harness drops the evaluated document from its draw by dict equality of the rows.
    return (a.text, a.choices, a.gold, a.description) == (b.text, b.choices, b.gold, b.description)


class ShotDraw:
    """The few-shot examples of one task's documents, drawn as the harness's samplers do.

    ``exclude_doc``: the harness passes the evaluated document to its sampler (it does so when
    the task's ``fewshot_split`` equals its ``test_split``, both unset included: GLUE,
    SuperGLUE, PIQA, HellaSwag, WinoGrande); ``random`` then draws k + 1 and drops the document,
    ``first_n`` skips it. Otherwise k are drawn from the pool as it is (for LAMBADA, whose only
    split is test, a passage can then be among its own shots, as in the harness).
    Call ``pick`` once per document, in evaluation order: the ``random`` stream is shared.
    """

    def __init__(
        self,
        pool: Sequence[Doc],
        k: int,
        seed: int,
        sampler: Sampler = "random",
        *,
        exclude_doc: bool = False,
    ) -> None:
        self.pool = list(pool)
        self.k = k
        self.sampler = sampler
        self.exclude_doc = exclude_doc
        self.rnd = random.Random(seed)
        if k and k + exclude_doc > len(self.pool):
            needed = f"{k} + 1 (as the harness: one more, minus the document)" if exclude_doc else k
            raise ConfigError(
                f"shots={k} needs {needed} examples but the few-shot split has {len(self.pool)}"
            )

    def pick(self, doc: Doc) -> list[Doc]:
        if self.k == 0:
            return []
        if self.sampler == "first_n":
            pool = [d for d in self.pool if not _same(d, doc)] if self.exclude_doc else self.pool
            return list(pool[: self.k])
        if not self.exclude_doc:
            return self.rnd.sample(self.pool, self.k)
        drawn = [d for d in self.rnd.sample(self.pool, self.k + 1) if not _same(d, doc)]
        if len(drawn) >= self.k:
            return drawn[: self.k]
        # The document occurs twice in the pool: the harness draws again without it.
        return self.rnd.sample([d for d in self.pool if not _same(d, doc)], self.k)


def round_robin(groups: Sequence[Sequence[T]]) -> list[T]:
    """One item of each group in turn (a task made of several subtasks, such as LegalBench or
    MMLU, so that ``--limit N``, the first N samples, spreads over every subtask)."""
    out: list[T] = []
    for position in range(max((len(g) for g in groups), default=0)):
        out.extend(g[position] for g in groups if position < len(g))
    return out


def render_shot(shot: Doc, target_delimiter: str) -> str:
    return shot.text + target_delimiter + shot.answer()


def plain_context(
    doc: Doc,
    shots: Sequence[Doc],
    target_delimiter: str = " ",
    fewshot_delimiter: str = "\n\n",
) -> str:
    """The full prompt the model conditions on, before the scored continuation."""
    rendered = "".join(render_shot(s, target_delimiter) + fewshot_delimiter for s in shots)
    return doc.description + rendered + doc.text


def chat_messages(
    description: str,
    turns: Sequence[tuple[str, str]],
    question: str,
    fmt: Format,
    target_delimiter: str = " ",
    fewshot_delimiter: str = "\n\n",
) -> tuple[ChatMessage, ...]:
    """The harness's chat layout: system = description; per shot (question, answer) as a user
    and an assistant turn (``chat``) or all in the user message (``chat-singleturn``)."""
    messages: list[ChatMessage] = [ChatMessage("system", description)] if description else []
    if fmt == "chat":
        for shot_question, answer in turns:
            messages += [ChatMessage("user", shot_question), ChatMessage("assistant", answer)]
        return (*messages, ChatMessage("user", question))
    shown = "".join(q + target_delimiter + a + fewshot_delimiter for q, a in turns)
    return (*messages, ChatMessage("user", shown + question))
