"""Generic tasks over user files: multiple choice (JSONL), generation (JSONL), perplexity (text).

Multiple choice is scored the way lm-evaluation-harness scores it: one log-likelihood request per
choice with continuation ``" " + choice``; ``acc`` picks the highest log-likelihood, ``acc_norm``
the highest log-likelihood per byte of the continuation.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from bakeoff.core.errors import ConfigError, DataError
from bakeoff.core.types import (
    GenerateRequest,
    GenerationResult,
    GenerationSettings,
    JSONValue,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
    RequestKind,
    Result,
    RollingLoglikelihoodRequest,
    RollingLoglikelihoodResult,
    Sample,
)
from bakeoff.scoring.text import exact_match
from bakeoff.tasks.base import MetricSpec, SampleScore, Task
from bakeoff.tasks.data import read_jsonl, require_field

MAX_GENERATED_SAMPLES = 100_000
"""The most samples a task that makes its own (``n=`` of a probe) builds: they are all made, and
stored with the run, before the first request is sent."""

ACC = MetricSpec("acc", binary=True, scale=100.0)
ACC_NORM = MetricSpec("acc_norm", binary=True, scale=100.0)
EXACT_MATCH = MetricSpec("exact_match", binary=True, scale=100.0)


def int_option(
    options: Mapping[str, str],
    name: str,
    default: int,
    minimum: int = 0,
    maximum: int | None = None,
) -> int:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:  # not an integer, or more digits than Python converts
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise ConfigError(f"option {name}={shown!r} must be an integer") from None
    if value < minimum:
        raise ConfigError(f"option {name}={value} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"option {name}={value} must be at most {maximum:,}")
    return value


def reject_unknown_options(task: str, options: Mapping[str, str], known: set[str]) -> None:
    unknown = sorted(set(options) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise ConfigError(f"task '{task}' has no option {', '.join(unknown)} (allowed: {allowed})")


class MultipleChoiceTask(Task):
    """Log-likelihood multiple choice. Subclasses (benchmarks) supply samples and prompts."""

    kind = RequestKind.LOGLIKELIHOOD
    metrics = (ACC, ACC_NORM)
    primary_metric = "acc"

    def context(self, sample: Sample) -> str:
        assert isinstance(sample.input, str)
        return sample.input

    def continuation(self, choice: str) -> str:
        return " " + choice

    def requests(self, sample: Sample) -> list[Request]:
        context = self.context(sample)
        return [LoglikelihoodRequest(context, self.continuation(c)) for c in sample.choices]

    def score(self, sample: Sample, results: Sequence[Result]) -> SampleScore:
        logprobs = [_loglikelihood(r) for r in results]
        gold = int(sample.target) if not isinstance(sample.target, tuple) else 0
        lengths = [len(self.continuation(c).encode("utf-8")) for c in sample.choices]
        pred = _argmax(logprobs)
        pred_norm = _argmax([lp / max(n, 1) for lp, n in zip(logprobs, lengths, strict=True)])
        return SampleScore(
            metric_inputs={"acc": (float(pred == gold),), "acc_norm": (float(pred_norm == gold),)},
            prediction=sample.choices[pred],
            target=sample.choices[gold],
            correct=pred == gold,
            details={"logprobs": logprobs, "pred": pred, "pred_norm": pred_norm, "gold": gold},
        )


def _argmax(values: Sequence[float]) -> int:
    # First maximum wins, like numpy.argmax, so ties resolve the same way as the reference.
    best = 0
    for index, value in enumerate(values):
        if value > values[best]:
            best = index
    return best


def _loglikelihood(result: Result) -> float:
    if not isinstance(result, LoglikelihoodResult):
        raise TypeError(f"expected a log-likelihood result, got {type(result).__name__}")
    return result.logprob


def _generated_text(result: Result) -> str:
    if not isinstance(result, GenerationResult):
        raise TypeError(f"expected a generation result, got {type(result).__name__}")
    return result.text


class JsonlMultipleChoiceTask(MultipleChoiceTask):
    """``mc:FILE.jsonl`` — lines like ``{"question": ..., "choices": [...], "answer": 1}``.

    ``answer`` is the index of the right choice or its text. Prompt: ``{question}\\nAnswer:``.
    """

    version = "1"
    description = "Multiple choice from a JSONL file, scored by log-likelihood (acc, acc_norm)."
    family = "benchmark"

    def __init__(self, path: str, options: Mapping[str, str]) -> None:
        reject_unknown_options("mc", options, {"name"})
        if not path:
            raise ConfigError("task 'mc' needs a file: --task mc:questions.jsonl")
        self.path = Path(path).expanduser()
        self.name = options.get("name") or f"mc:{self.path.stem}"
        self._samples = self._load()

    def _load(self) -> list[Sample]:
        samples = []
        for lineno, obj in read_jsonl(self.path):
            question = require_field(obj, ("question", "context", "query"), self.path, lineno)
            choices = require_field(obj, ("choices", "options"), self.path, lineno)
            answer = require_field(obj, ("answer", "label", "gold"), self.path, lineno)
            if not isinstance(choices, list) or len(choices) < 2:
                raise DataError(f"{self.path}:{lineno}: 'choices' must be a list of 2+ strings")
            choices = [str(c) for c in choices]
            gold = _gold_index(answer, choices, self.path, lineno)
            sample_id = str(obj.get("id", f"line{lineno}"))
            samples.append(Sample(sample_id, str(question), gold, tuple(choices)))
        if not samples:
            raise DataError(f"{self.path}: no samples")
        _check_unique_ids(samples, self.path)
        return samples

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def context(self, sample: Sample) -> str:
        return f"{sample.input}\nAnswer:"

    def prompt_template(self) -> str:
        return "{question}\\nAnswer:| {choice}"

    def config(self) -> dict[str, JSONValue]:
        return {"path": str(self.path)}


def _gold_index(answer: object, choices: list[str], path: Path, lineno: int) -> int:
    if isinstance(answer, bool):
        raise DataError(f"{path}:{lineno}: 'answer' must be an index or one of the choices")
    if isinstance(answer, int):
        if 0 <= answer < len(choices):
            return answer
        raise DataError(f"{path}:{lineno}: answer index {answer} out of range")
    if isinstance(answer, str) and answer in choices:
        return choices.index(answer)
    raise DataError(f"{path}:{lineno}: 'answer' must be an index or one of the choices")


def _check_unique_ids(samples: Sequence[Sample], path: Path) -> None:
    seen: set[str] = set()
    for sample in samples:
        if sample.id in seen:
            raise DataError(f"{path}: duplicate sample id '{sample.id}'")
        seen.add(sample.id)


class GenerationTask(Task):
    """Generation scored by exact match of the (stripped) output against the target."""

    kind = RequestKind.GENERATE
    metrics = (EXACT_MATCH,)
    primary_metric = "exact_match"
    settings = GenerationSettings(max_tokens=32, stop=("\n",))

    def prompt(self, sample: Sample) -> str:
        assert isinstance(sample.input, str)
        return sample.input

    def requests(self, sample: Sample) -> list[Request]:
        return [GenerateRequest(self.prompt(sample), self.settings)]

    def extract(self, text: str) -> str:
        """The answer inside the generated text (subclasses pick a number, a word, ...)."""
        return text.strip()

    def score(self, sample: Sample, results: Sequence[Result]) -> SampleScore:
        text = _generated_text(results[0])
        answer = self.extract(text)
        targets = sample.target if isinstance(sample.target, tuple) else (str(sample.target),)
        hit = any(exact_match(answer, t) for t in targets)
        return SampleScore(
            metric_inputs={"exact_match": (float(hit),)},
            prediction=text,
            target=targets[0],
            correct=hit,
            details={"extracted": answer},
        )

    def config(self) -> dict[str, JSONValue]:
        return {"generation": self.settings.as_dict()}


class JsonlGenerationTask(GenerationTask):
    """``gen:FILE.jsonl`` — lines like ``{"prompt": ..., "target": ...}``; exact match."""

    description = "Generation from a JSONL file, scored by exact match."

    def __init__(self, path: str, options: Mapping[str, str]) -> None:
        reject_unknown_options("gen", options, {"name", "max_tokens"})
        if not path:
            raise ConfigError("task 'gen' needs a file: --task gen:prompts.jsonl")
        self.path = Path(path).expanduser()
        self.name = options.get("name") or f"gen:{self.path.stem}"
        max_tokens = int_option(options, "max_tokens", 32, minimum=1)
        self.settings = GenerationSettings(max_tokens=max_tokens, stop=("\n",))
        self._samples = self._load()

    def _load(self) -> list[Sample]:
        samples = []
        for lineno, obj in read_jsonl(self.path):
            prompt = require_field(obj, ("prompt", "input", "question"), self.path, lineno)
            target = require_field(obj, ("target", "answer", "output"), self.path, lineno)
            if isinstance(target, list) and not target:
                # Scored against targets[0]: an empty list would fail mid-run, after the run
                # row is written.
                raise DataError(f"{self.path}:{lineno}: 'target' is an empty list")
            targets = tuple(str(t) for t in target) if isinstance(target, list) else str(target)
            sample_id = str(obj.get("id", f"line{lineno}"))
            samples.append(Sample(sample_id, str(prompt), targets))
        if not samples:
            raise DataError(f"{self.path}: no samples")
        _check_unique_ids(samples, self.path)
        return samples

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def config(self) -> dict[str, JSONValue]:
        return {"path": str(self.path), "generation": self.settings.as_dict()}


WORD_PERPLEXITY = MetricSpec("word_perplexity", higher_is_better=False, aggregation="perplexity")
BYTE_PERPLEXITY = MetricSpec("byte_perplexity", higher_is_better=False, aggregation="perplexity")
BITS_PER_BYTE = MetricSpec("bits_per_byte", higher_is_better=False, aggregation="bits_per_unit")


class PerplexityTask(Task):
    """``perplexity:PATH`` — each text file (a file, a directory of .txt, or a glob) is a sample.

    Metrics as in lm-evaluation-harness's wikitext task: word and byte perplexity and bits per
    byte, aggregated over the whole corpus (total log-likelihood over total words/bytes).
    """

    kind = RequestKind.LOGLIKELIHOOD_ROLLING
    metrics = (WORD_PERPLEXITY, BYTE_PERPLEXITY, BITS_PER_BYTE)
    primary_metric = "word_perplexity"
    description = "Perplexity of text files (rolling log-likelihood)."

    def __init__(self, path: str, options: Mapping[str, str]) -> None:
        reject_unknown_options("perplexity", options, {"name"})
        if not path:
            raise ConfigError("task 'perplexity' needs text: --task perplexity:corpus/")
        self.pattern = path
        self.name = options.get("name") or f"perplexity:{Path(path).name or path}"
        self._samples = self._load()

    def _files(self) -> list[Path]:
        root = Path(self.pattern).expanduser()
        if root.is_dir():
            return sorted(p for p in root.rglob("*.txt") if p.is_file())
        if root.is_file():
            return [root]
        return sorted(Path(p) for p in glob.glob(str(root)) if Path(p).is_file())

    def _load(self) -> list[Sample]:
        files = self._files()
        if not files:
            raise DataError(f"no text files found for perplexity at '{self.pattern}'")
        samples = []
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError) as exc:
                raise DataError(f"cannot read {file} as UTF-8 text: {exc}") from None
            if text.strip():
                samples.append(Sample(file.name, text))
        if not samples:
            raise DataError(f"all text files at '{self.pattern}' are empty")
        return samples

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def requests(self, sample: Sample) -> list[Request]:
        assert isinstance(sample.input, str)
        return [RollingLoglikelihoodRequest(sample.input)]

    def score(self, sample: Sample, results: Sequence[Result]) -> SampleScore:
        result = results[0]
        if not isinstance(result, RollingLoglikelihoodResult):
            raise TypeError("expected a rolling log-likelihood result")
        assert isinstance(sample.input, str)
        words = float(len(re.split(r"\s+", sample.input.strip())))
        n_bytes = float(len(sample.input.encode("utf-8")))
        return SampleScore(
            metric_inputs={
                "word_perplexity": (result.logprob, words),
                "byte_perplexity": (result.logprob, n_bytes),
                "bits_per_byte": (result.logprob, n_bytes),
            },
            prediction=f"logprob {result.logprob:.3f} over {result.n_tokens} tokens",
            target="",
            details={"logprob": result.logprob, "n_tokens": result.n_tokens},
        )

    def config(self) -> dict[str, JSONValue]:
        return {"path": self.pattern}
