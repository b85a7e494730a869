"""GLUE (nyu-mll/glue), prompts and metrics as lm-evaluation-harness's ``glue`` tasks.

Every task evaluates the validation split (GLUE's test labels are hidden) and draws few-shot
examples from train. Prompts are the harness's ``doc_to_text``; choices its ``doc_to_choice``.
STS-B has no harness task: see ``StsbTask``. ``glue_score`` averages the way the GLUE
leaderboard does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

from bakeoff.core.types import Result, Sample
from bakeoff.stats.suites import (
    GLUE_SCORE_PARTS,
    glue_score,
    leaderboard_average,
)
from bakeoff.tasks.base import MetricSpec, SampleScore
from bakeoff.tasks.benchmarks._base import F1, MCC, BenchmarkTask, _logprob, as_int, row_id
from bakeoff.tasks.benchmarks._fewshot import Doc
from bakeoff.tasks.benchmarks._loading import Row
from bakeoff.tasks.generic import ACC

GLUE_SOURCE = "GLUE, nyu-mll/glue on the Hugging Face hub"
GLUE_LICENSE = (
    "per task: CoLA/MRPC/QQP/STS-B/MNLI/QNLI/RTE/WNLI research use, SST-2 CC0 "
    "(see gluebenchmark.com)"
)


class GlueTask(BenchmarkTask):
    """A GLUE task whose prompt is ``template.format(**row)`` and whose target is ``label``."""

    version = "1"
    hub_path = "nyu-mll/glue"
    shots_exclude_doc = True  # the harness YAML sets no test_split
    source = GLUE_SOURCE
    license = GLUE_LICENSE
    config_name: ClassVar[str]
    choice_list: ClassVar[tuple[str, ...]]
    metrics: tuple[MetricSpec, ...] = (ACC,)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__()
        if "config_name" in cls.__dict__:
            cls.hub_name = cls.config_name
            cls.split_stems = {
                split: (f"glue/{cls.config_name}/{split}",)
                for split in (cls.eval_split, cls.fewshot_split)
            }

    def doc_to_text(self, row: Row) -> str:
        return self.template.format(**row)

    def to_doc(self, row: Row, index: int, split: str) -> Doc:
        gold = as_int(row["label"])
        if not 0 <= gold < len(self.choice_list):
            raise ValueError(f"label {gold} out of range (test rows have label -1: use validation)")
        return Doc(row_id(row, index, split), self.doc_to_text(row), self.choice_list, gold)


class Cola(GlueTask):
    name = "glue-cola"
    description = "CoLA: grammatical acceptability (MCC)."
    reference = "lm-eval cola v1.0"
    config_name = "cola"
    template = "{sentence}\nQuestion: Does this sentence make sense?\nAnswer:"
    choice_list = ("no", "yes")
    metrics = (MCC, ACC)
    primary_metric = "mcc"


class Sst2(GlueTask):
    name = "glue-sst2"
    description = "SST-2: sentence sentiment (acc)."
    reference = "lm-eval sst2 v1.0"
    config_name = "sst2"
    template = "{sentence}\nQuestion: Is this sentence positive or negative?\nAnswer:"
    choice_list = ("negative", "positive")
    primary_metric = "acc"


class Mrpc(GlueTask):
    name = "glue-mrpc"
    description = "MRPC: paraphrase detection (acc, F1)."
    reference = "lm-eval mrpc v1.0"
    config_name = "mrpc"
    template = (
        "Sentence 1: {sentence1}\nSentence 2: {sentence2}\n"
        "Question: Do both sentences mean the same thing?\nAnswer:"
    )
    choice_list = ("no", "yes")
    metrics = (ACC, F1)
    primary_metric = "acc"


class Qqp(GlueTask):
    name = "glue-qqp"
    description = "QQP: duplicate questions (acc, F1)."
    reference = "lm-eval qqp v2.0"
    config_name = "qqp"
    template = (
        "Question 1: {question1}\nQuestion 2: {question2}\n"
        "Question: Do both questions ask the same thing?\nAnswer:"
    )
    choice_list = ("no", "yes")
    metrics = (ACC, F1)
    primary_metric = "acc"


class Mnli(GlueTask):
    name = "glue-mnli"
    description = "MNLI matched: entailment, 3 classes (acc)."
    reference = "lm-eval mnli v1.0"
    config_name = "mnli"
    eval_split = "validation_matched"
    template = (
        "{premise}\nQuestion: {hypothesis.strip()}[+'.' unless it ends with '.'] "
        "True, False or Neither?\nAnswer:"
    )
    choice_list = ("True", "Neither", "False")
    primary_metric = "acc"

    def doc_to_text(self, row: Row) -> str:
        hypothesis = str(row["hypothesis"]).strip()
        ending = "" if hypothesis.endswith(".") else "."
        return f"{row['premise']}\nQuestion: {hypothesis}{ending} True, False or Neither?\nAnswer:"


class MnliMismatched(Mnli):
    name = "glue-mnli-mm"
    description = "MNLI mismatched: entailment, 3 classes (acc)."
    reference = "lm-eval mnli_mismatch v1.0"
    config_name = "mnli"
    eval_split = "validation_mismatched"


class Qnli(GlueTask):
    name = "glue-qnli"
    description = "QNLI: does the sentence answer the question (acc)."
    reference = "lm-eval qnli v1.0"
    config_name = "qnli"
    template = "{question}\n{sentence}\nQuestion: Does this response answer the question?\nAnswer:"
    choice_list = ("yes", "no")
    primary_metric = "acc"


class Rte(GlueTask):
    name = "glue-rte"
    description = "RTE: entailment, 2 classes (acc)."
    reference = "lm-eval rte v1.0"
    config_name = "rte"
    template = "{sentence1}\nQuestion: {sentence2} True or False?\nAnswer:"
    choice_list = ("True", "False")
    primary_metric = "acc"


class Wnli(GlueTask):
    name = "glue-wnli"
    description = "WNLI: pronoun resolution as entailment (acc)."
    reference = "lm-eval wnli v2.0"
    config_name = "wnli"
    template = "{sentence1}\nQuestion: {sentence2} True or False?\nAnswer:"
    choice_list = ("False", "True")
    primary_metric = "acc"


PEARSON = MetricSpec("pearson", aggregation="pearson", scale=100.0)
SPEARMAN = MetricSpec("spearman", aggregation="spearman", scale=100.0)
STSB_SCORES = ("0", "1", "2", "3", "4", "5")


class Stsb(GlueTask):
    """STS-B by log-likelihood (the harness has no STS-B task; this formulation is bakeoff's).

    The model scores the six continuations " 0" … " 5" after the prompt; the prediction is the
    expected score under those six probabilities renormalised, ``sum_k k * p_k``, a continuous
    value as Pearson/Spearman need (an argmax would tie most pairs). Gold is the 0–5 float label.
    """

    name = "glue-stsb"
    description = (
        "STS-B: sentence similarity 0-5, expected score from log-likelihoods (Pearson, Spearman)."
    )
    reference = "none (bakeoff formulation; harness has no STS-B)"
    config_name = "stsb"
    template = (
        "Sentence 1: {sentence1}\nSentence 2: {sentence2}\n"
        "Question: On a scale of 0 to 5, how similar in meaning are the two sentences?\nAnswer:"
    )
    choice_list = STSB_SCORES
    metrics = (PEARSON, SPEARMAN)
    primary_metric = "pearson"

    def to_doc(self, row: Row, index: int, split: str) -> Doc:
        label = float(row["label"])
        if not 0.0 <= label <= 5.0:
            raise ValueError(
                f"label {label} outside 0..5 (test rows have label -1: use validation)"
            )
        # Few-shot examples show the rounded gold score as their answer.
        return Doc(
            row_id(row, index, split),
            self.doc_to_text(row),
            self.choice_list,
            round(label),
            metadata={"score": label},
        )

    def score(self, sample: Sample, results: Sequence[Result]) -> SampleScore:
        logprobs = [_logprob(r) for r in results]
        top = max(logprobs)
        weights = [math.exp(lp - top) for lp in logprobs]
        expected = sum(k * w for k, w in enumerate(weights)) / sum(weights)
        gold = float(sample.metadata["score"])
        pair = (expected, gold)
        return SampleScore(
            metric_inputs={"pearson": pair, "spearman": pair},
            prediction=f"{expected:.3f}",
            target=f"{gold:.3f}",
            correct=None,
            details={"logprobs": logprobs, "expected": expected, "gold": gold},
        )


GLUE_TASKS: tuple[type[GlueTask], ...] = (
    Cola,
    Sst2,
    Mrpc,
    Qqp,
    Stsb,
    Mnli,
    MnliMismatched,
    Qnli,
    Rte,
    Wnli,
)

# The GLUE score is defined once, in bakeoff.stats.suites (the report's claims check uses it
# too); re-exported here, beside the tasks it averages.
__all__ = ["GLUE_SCORE_PARTS", "GLUE_TASKS", "glue_score", "leaderboard_average"]
