"""Documents, few-shot selection and prompt assembly, laid out the way lm-evaluation-harness does.

A harness prompt (plain format) is::

    description + shot_1 + fewshot_delimiter + ... + shot_k + fewshot_delimiter + doc_to_text(doc)

where each shot is ``doc_to_text(shot) + target_delimiter + choice[gold]`` and the model scores
``target_delimiter + choice`` for every choice. Defaults as in the harness: target delimiter
``" "``, few-shot delimiter ``"\\n\\n"``.

Shot selection differs from the harness in one deliberate way: the harness draws shots from one
``random.Random(1234)`` stream consumed document after document, so a document's shots depend on
which documents came before it (and on ``--limit``). Here each document's shots are drawn from
``random.Random(f"{seed}:{doc.id}")``: the same document gets the same shots whatever the limit,
the order, or a resume. ``first_n`` (MMLU, LegalBench) takes the first k in file order, as the
harness's ``first_n`` sampler does.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bakeoff.core.errors import ConfigError
from bakeoff.core.types import JSONValue

Sampler = Literal["random", "first_n"]


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


def pick_shots(
    pool: Sequence[Doc], k: int, seed: int, doc: Doc, sampler: Sampler = "random"
) -> list[Doc]:
    """The k few-shot examples for ``doc``; never ``doc`` itself (when the pool is its split)."""
    if k == 0:
        return []
    candidates = [d for d in pool if d.id != doc.id]
    if k > len(candidates):
        raise ConfigError(
            f"shots={k} but the few-shot split has only {len(candidates)} usable examples"
        )
    if sampler == "first_n":
        return list(candidates[:k])
    return random.Random(f"{seed}:{doc.id}").sample(candidates, k)


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
