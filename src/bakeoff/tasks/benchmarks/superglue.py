"""SuperGLUE (aps/super_glue), prompts and metrics as lm-evaluation-harness's
``super-glue-lm-eval-v1`` tasks.

Validation split evaluated (test labels are hidden), train feeds the few-shot examples.
``superglue_score`` averages the way the SuperGLUE leaderboard does.
"""

from __future__ import annotations

import ast
import re
import string
import zlib
from collections import Counter
from collections.abc import Sequence
from typing import ClassVar

from bakeoff.core.types import Result, Sample
from bakeoff.stats.suites import SUPERGLUE_SCORE_PARTS, superglue_score
from bakeoff.tasks.base import MetricSpec, SampleScore
from bakeoff.tasks.benchmarks._base import (
    MACRO_F1,
    BenchmarkTask,
    _logprob,
    argmax,
    as_int,
    row_id,
)
from bakeoff.tasks.benchmarks._fewshot import Doc
from bakeoff.tasks.benchmarks._loading import Row
from bakeoff.tasks.generic import ACC

SUPERGLUE_SOURCE = "SuperGLUE, aps/super_glue on the Hugging Face hub"
SUPERGLUE_LICENSE = (
    "per task (BoolQ CC BY-SA 3.0, CB/COPA/MultiRC/ReCoRD/RTE/WiC/WSC research use; "
    "see super.gluebenchmark.com)"
)


class SuperGlueTask(BenchmarkTask):
    version = "1"
    hub_path = "aps/super_glue"
    shots_exclude_doc = True  # the harness YAML sets no test_split
    source = SUPERGLUE_SOURCE
    license = SUPERGLUE_LICENSE
    config_name: ClassVar[str]
    choice_list: ClassVar[tuple[str, ...]] = ("no", "yes")
    metrics: tuple[MetricSpec, ...] = (ACC,)
    primary_metric = "acc"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__()
        if "config_name" in cls.__dict__:
            cls.hub_name = cls.config_name
            cls.split_stems = {
                split: (f"super_glue/{cls.config_name}/{split}",)
                for split in (cls.eval_split, cls.fewshot_split)
            }

    def doc_to_text(self, row: Row) -> str:
        return self.template.format(**row)

    def to_doc(self, row: Row, index: int, split: str) -> Doc:
        gold = as_int(row["label"])
        if not 0 <= gold < len(self.choice_list):
            raise ValueError(f"label {gold} out of range (test rows have label -1: use validation)")
        return Doc(row_id(row, index, split), self.doc_to_text(row), self.choice_list, gold)


class BoolQ(SuperGlueTask):
    name = "superglue-boolq"
    description = "BoolQ: yes/no questions about a passage (acc)."
    reference = "lm-eval boolq v2.0"
    config_name = "boolq"
    template = "{passage}\nQuestion: {question}?\nAnswer:"


class Cb(SuperGlueTask):
    name = "superglue-cb"
    description = "CommitmentBank: 3-class entailment (acc, macro F1)."
    reference = "lm-eval cb v1.0"
    config_name = "cb"
    template = "{premise}\nQuestion: {hypothesis}. True, False, or Neither?\nAnswer:"
    choice_list = ("True", "False", "Neither")
    metrics = (ACC, MACRO_F1)


def _lower_first(choice: str) -> str:
    return choice[0].lower() + choice[1:]


class Copa(SuperGlueTask):
    """The harness's choices already start with a space and the target delimiter adds another,
    so the scored continuation is ``"  " + choice`` (two spaces) — reproduced as is."""

    name = "superglue-copa"
    description = "COPA: choice of plausible cause/effect (acc)."
    reference = "lm-eval copa v1.0"
    config_name = "copa"
    template = (
        "premise.strip()[:-1] + ' because'|' therefore'; choices ' ' + lowercased first letter"
    )

    def to_doc(self, row: Row, index: int, split: str) -> Doc:
        connector = {"cause": "because", "effect": "therefore"}[str(row["question"])]
        text = str(row["premise"]).strip()[:-1] + f" {connector}"
        choices = (" " + _lower_first(str(row["choice1"])), " " + _lower_first(str(row["choice2"])))
        return Doc(row_id(row, index, split), text, choices, as_int(row["label"]))


F1A = MetricSpec("f1a", aggregation="f1", scale=100.0)
MULTIRC_EM = MetricSpec("em", aggregation="grouped_all", scale=100.0)


class MultiRc(SuperGlueTask):
    """One sample per (question, candidate answer); choices "...? yes" / "...? no".

    Deliberate difference: the harness YAML (v2.0) sets ``doc_to_target: label``, which makes the
    "no" choice gold for answers labelled 1 (= correct in aps/super_glue). bakeoff takes label 1
    as "yes", the dataset's meaning and the legacy harness's. Also reports F1a (F1 over answer
    options, positive = "correct") and EM (questions with every option right), the SuperGLUE
    leaderboard metrics.
    """

    name = "superglue-multirc"
    description = "MultiRC: is this candidate answer correct (acc, F1a, EM)."
    reference = "lm-eval multirc v2.0 (gold label semantics fixed, see docs)"
    config_name = "multirc"
    template = (
        "{paragraph}\nQuestion: {question}\nAnswer:| {answer}\\nIs the answer correct? yes/no"
    )
    metrics = (ACC, F1A, MULTIRC_EM)

    def to_doc(self, row: Row, index: int, split: str) -> Doc:
        answer = str(row["answer"])
        choices = (f"{answer}\nIs the answer correct? yes", f"{answer}\nIs the answer correct? no")
        gold = 0 if as_int(row["label"]) == 1 else 1
        text = f"{row['paragraph']}\nQuestion: {row['question']}\nAnswer:"
        group = zlib.crc32(f"{row['paragraph']}\x00{row['question']}".encode())
        return Doc(
            row_id(row, index, split), text, choices, gold, metadata={"question_group": group}
        )

    def metric_inputs(
        self, pred: int, pred_norm: int, gold: int, sample: Sample
    ) -> dict[str, tuple[float, ...]]:
        group = float(sample.metadata["question_group"])
        return {
            "acc": (float(pred == gold),),
            "f1a": (float(pred == 0), float(gold == 0)),
            "em": (float(pred == gold), group),
        }


def _normalize_answer(text: str) -> str:
    """SQuAD answer normalisation (lower, drop punctuation and articles, squeeze spaces)."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def squad_f1(gold: str, prediction: str) -> float:
    gold_tokens = _normalize_answer(gold).split()
    pred_tokens = _normalize_answer(prediction).split()
    if not gold_tokens or not pred_tokens:
        return float(gold_tokens == pred_tokens)
    same = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_exact(gold: str, prediction: str) -> float:
    return float(_normalize_answer(gold) == _normalize_answer(prediction))


RECORD_F1 = MetricSpec("f1", scale=100.0)
RECORD_EM = MetricSpec("em", binary=True, scale=100.0)


class Record(SuperGlueTask):
    """Cloze over the passage's entities; token F1 and EM of the most likely entity against the
    gold answers (max over golds), as the harness's ``record`` (entities and answers de-duplicated
    and sorted, its ``process_docs``)."""

    name = "superglue-record"
    description = "ReCoRD: cloze-style entity prediction (F1, EM)."
    reference = "lm-eval record v2.0"
    config_name = "record"
    template = (
        "passage, '\\n@highlight\\n' parts as '  - {highlight}.\\n'"
        "| '  - ' + query with @placeholder = entity"
    )
    metrics = (RECORD_F1, RECORD_EM)
    primary_metric = "f1"

    def to_doc(self, row: Row, index: int, split: str) -> Doc:
        initial, *highlights = str(row["passage"]).strip().split("\n@highlight\n")
        text = initial + "\n\n" + "".join(f"  - {h}.\n" for h in highlights)
        entities = sorted(set(_string_list(row["entities"])))
        answers = sorted(set(_string_list(row["answers"])))
        if not entities or not answers:
            raise ValueError("a ReCoRD row needs entities and answers")
        query = str(row["query"])
        choices = tuple(f"  - {query}".replace("@placeholder", e) for e in entities)
        gold = entities.index(answers[0]) if answers[0] in entities else 0
        metadata = {"entities": list(entities), "answers": list(answers)}
        return Doc(f"{split}-{index}", text, choices, gold, metadata=metadata)

    def score(self, sample: Sample, results: Sequence[Result]) -> SampleScore:
        logprobs = [_logprob(r) for r in results]
        entities = [str(e) for e in sample.metadata["entities"]]
        answers = [str(a) for a in sample.metadata["answers"]]
        prediction = entities[argmax(logprobs)]
        f1 = max(squad_f1(a, prediction) for a in answers)
        em = max(squad_exact(a, prediction) for a in answers)
        return SampleScore(
            metric_inputs={"f1": (f1,), "em": (em,)},
            prediction=prediction,
            target=answers[0],
            correct=em == 1.0,
            details={"logprobs": logprobs, "pred": argmax(logprobs)},
        )


def _string_list(value: object) -> list[str]:
    if isinstance(value, str):  # a TSV/CSV cell holding a JSON or Python list
        value = ast.literal_eval(value)
    if not isinstance(value, list | tuple):
        raise ValueError("expected a list")
    return [str(v) for v in value]


class SuperGlueRte(SuperGlueTask):
    name = "superglue-rte"
    description = "RTE (SuperGLUE copy): entailment, 2 classes (acc)."
    reference = "lm-eval sglue_rte v0.0"
    config_name = "rte"
    template = "{premise}\nQuestion: {hypothesis} True or False?\nAnswer:"
    choice_list = ("True", "False")


class Wic(SuperGlueTask):
    name = "superglue-wic"
    description = "WiC: is a word used in the same sense in two sentences (acc)."
    reference = "lm-eval wic v1.0"
    config_name = "wic"
    template = (
        "Sentence 1: {sentence1}\nSentence 2: {sentence2}\nQuestion: Is the word "
        "'{sentence1[start1:end1]}' used in the same way in the two sentences above?\nAnswer:"
    )

    def doc_to_text(self, row: Row) -> str:
        s1 = str(row["sentence1"])
        word = s1[as_int(row["start1"]) : as_int(row["end1"])]
        return (
            f"Sentence 1: {s1}\nSentence 2: {row['sentence2']}\nQuestion: Is the word '{word}' "
            "used in the same way in the two sentences above?\nAnswer:"
        )


def general_detokenize(text: str) -> str:
    """The harness's ``lm_eval.utils.general_detokenize``."""
    text = text.replace(" n't", "n't").replace(" )", ")").replace("( ", "(")
    text = text.replace('" ', '"').replace(' "', '"')
    return re.sub(r" (['.,])", r"\1", text)


class Wsc(SuperGlueTask):
    name = "superglue-wsc"
    description = "WSC (wsc.fixed): does the pronoun refer to the noun (acc)."
    reference = "lm-eval wsc v1.0"
    config_name = "wsc.fixed"
    template = (
        "Passage: {passage with *pronoun* marked}\nQuestion: In the passage above, does the "
        'pronoun "*{span2_text}*" refer to "*{span1_text}*"?\nAnswer:'
    )

    def doc_to_text(self, row: Row) -> str:
        raw = str(row["text"])
        pronoun, noun = str(row["span2_text"]), str(row["span1_text"])
        # Span indices count words, not characters (as the harness notes).
        pre = " ".join(raw.split()[: as_int(row["span2_index"])])
        post = raw[len(pre) + len(pronoun) + 1 :]
        passage = general_detokenize(pre + f" *{pronoun}*" + post)
        return (
            f"Passage: {passage}\n"
            f'Question: In the passage above, does the pronoun "*{pronoun}*" refer to "*{noun}*"?\n'
            "Answer:"
        )


SUPERGLUE_TASKS: tuple[type[SuperGlueTask], ...] = (
    BoolQ,
    Cb,
    Copa,
    MultiRc,
    Record,
    SuperGlueRte,
    Wic,
    Wsc,
)

# The SuperGLUE score is defined once, in bakeoff.stats.suites (the report's claims check uses it
# too); re-exported here, beside the tasks it averages.
__all__ = ["SUPERGLUE_SCORE_PARTS", "SUPERGLUE_TASKS", "superglue_score"]
