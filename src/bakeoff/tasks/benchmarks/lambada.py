"""LAMBADA, OpenAI's detokenized test set, as lm-evaluation-harness's ``lambada_openai`` (v1.0).

doc_to_text = every word but the last (split on single spaces), doc_to_target = ``" " + last
word``; one log-likelihood request per passage (no target delimiter is added for the
``loglikelihood`` output type). ``acc`` = the continuation is the greedy one (``is_greedy``);
``perplexity`` = exp(-mean log-likelihood of the last word) over the corpus, the harness's
``perplexity`` aggregation (per sample (logprob, 1)).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from bakeoff.core.types import LoglikelihoodResult, Request, Result, Sample
from bakeoff.tasks.base import MetricSpec, SampleScore
from bakeoff.tasks.benchmarks._base import BenchmarkTask
from bakeoff.tasks.benchmarks._fewshot import Doc
from bakeoff.tasks.benchmarks._loading import Row
from bakeoff.tasks.generic import ACC

PERPLEXITY = MetricSpec("perplexity", higher_is_better=False, aggregation="perplexity")


class LambadaOpenAI(BenchmarkTask):
    name = "lambada"
    version = "1"
    description = "LAMBADA (OpenAI): predict a passage's last word (acc = greedy, perplexity)."
    source = "LAMBADA, OpenAI's detokenized test set (EleutherAI/lambada_openai)"
    license = "CC BY 4.0"
    reference = "lm-eval lambada_openai v1.0"
    template = "{text.split(' ')[:-1]|join(' ')}|' ' + last word (no delimiter)"
    hub_path = "EleutherAI/lambada_openai"
    hub_name = "default"
    eval_split = "test"
    # The harness has no other split, so few-shot examples come from test (minus the doc).
    fewshot_split = "test"
    split_stems: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "test": ("lambada_openai/test", "lambada/test")
    }
    metrics = (ACC, PERPLEXITY)
    primary_metric = "acc"

    def to_doc(self, row: Row, index: int, split: str) -> Doc:
        words = str(row["text"]).split(" ")
        if len(words) < 2:
            raise ValueError("a LAMBADA passage needs at least two words")
        return Doc(f"{split}-{index}", " ".join(words[:-1]), (" " + words[-1],), 0)

    def requests(self, sample: Sample) -> list[Request]:
        # output_type loglikelihood: the target keeps its space, in chat format too.
        return [self.request(sample, sample.choices[0])]

    def score(self, sample: Sample, results: Sequence[Result]) -> SampleScore:
        result = results[0]
        if not isinstance(result, LoglikelihoodResult):
            raise TypeError(f"expected a log-likelihood result, got {type(result).__name__}")
        return SampleScore(
            metric_inputs={"acc": (float(result.is_greedy),), "perplexity": (result.logprob, 1.0)},
            prediction="greedy" if result.is_greedy else "not greedy",
            target=sample.choices[0].strip(),
            correct=result.is_greedy,
            details={"logprob": result.logprob, "n_tokens": result.n_tokens},
        )
