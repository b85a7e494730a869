"""WinoGrande (allenai/winogrande, winogrande_xl), as lm-evaluation-harness's ``winogrande`` (v1.0).

Partial evaluation: the sentence is cut at the blank ``_``; each option fills the blank to make
one *context* (``sentence[:blank] + option``), and the model scores the same continuation, the
rest of the sentence (``" " + sentence[blank+1:].strip()``), after each. ``acc`` = the option
whose context makes the suffix most likely. A few-shot example shows its correct-option context,
" ", and its suffix. Validation split, few-shot from train.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from bakeoff.core.chat import chat_request
from bakeoff.core.types import ChatMessage, LoglikelihoodRequest, Request, Sample
from bakeoff.tasks.benchmarks._base import BenchmarkTask, row_id
from bakeoff.tasks.benchmarks._fewshot import Doc, chat_messages
from bakeoff.tasks.benchmarks._loading import Row
from bakeoff.tasks.generic import ACC


class WinoGrande(BenchmarkTask):
    name = "winogrande"
    version = "1"
    shots_exclude_doc = True  # the harness YAML sets no test_split
    description = "WinoGrande: pronoun resolution by partial evaluation (acc)."
    source = "WinoGrande (Sakaguchi et al. 2020), allenai/winogrande winogrande_xl"
    license = "CC BY 4.0"
    reference = "lm-eval winogrande v1.0"
    template = (
        "contexts: sentence[:blank] + option_i | continuation ' ' + sentence[blank+1:].strip()"
    )
    hub_path = "allenai/winogrande"
    hub_name = "winogrande_xl"
    split_stems: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "validation": ("winogrande/validation",),
        "train": ("winogrande/train",),
    }
    metrics = (ACC,)
    primary_metric = "acc"

    def to_doc(self, row: Row, index: int, split: str) -> Doc:
        sentence = str(row["sentence"])
        blank = sentence.index("_")  # ValueError when absent: reported as a bad row
        contexts = (sentence[:blank] + str(row["option1"]), sentence[:blank] + str(row["option2"]))
        gold = {"1": 0, "2": 1}[str(row["answer"]).strip()]
        suffix = sentence[blank + 1 :].strip()
        return Doc(row_id(row, index, split), "", contexts, gold, metadata={"suffix": suffix})

    def make_sample(self, doc: Doc, shots: Sequence[Doc]) -> Sample:
        metadata = {**doc.metadata, "shot_ids": [s.id for s in shots]}
        if self.format == "plain":
            prefix = doc.description + "".join(
                f"{s.answer()}{self.target_delimiter}{s.metadata['suffix']}\n\n" for s in shots
            )
            return Sample(doc.id, prefix, doc.gold, doc.choices, metadata)
        # Chat: the shared turns are kept; requests() appends each option's context as the last
        # user turn (the harness's multiple_input_context).
        turns = [(s.answer(), str(s.metadata["suffix"])) for s in shots]
        messages = chat_messages(doc.description, turns, "", self.format)
        return Sample(doc.id, messages, doc.gold, doc.choices, metadata)

    def requests(self, sample: Sample) -> list[Request]:
        suffix = str(sample.metadata["suffix"])
        if isinstance(sample.input, str):
            continuation = self.target_delimiter + suffix
            return [
                LoglikelihoodRequest(sample.input + context, continuation)
                for context in sample.choices
            ]
        *head, last = sample.input  # the last user turn holds the shots (single-turn) or ""
        return [
            chat_request((*head, ChatMessage("user", last.content + context)), suffix)
            for context in sample.choices
        ]
