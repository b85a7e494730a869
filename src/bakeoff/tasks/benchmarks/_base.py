"""BenchmarkTask: a multiple-choice benchmark scored the way lm-evaluation-harness scores it.

A subclass declares where its data lives (hub id, local stems per split), which split is
evaluated and which one feeds the few-shot examples, and turns one data row into a ``Doc``
(doc_to_text / doc_to_choice / doc_to_target). The rest is shared:

* requests: one log-likelihood per choice, context = the full prompt, continuation =
  ``target_delimiter + choice`` (harness ``construct_requests`` for ``multiple_choice``);
* ``acc``: argmax of the log-likelihoods (first maximum wins, like ``np.argmax``);
* ``acc_norm``: argmax of log-likelihood / ``len(choice)`` in characters, the delimiter not
  counted (harness ``process_results``; tasks/generic.py divides by UTF-8 bytes of " "+choice);
* ``f1``/``mcc``/``balanced_acc``/``macro_f1``: per-sample (pred, gold) aggregated over the corpus.

Options every benchmark takes: ``shots`` (default: the harness's), ``seed`` (few-shot draw,
default 1234 as the harness's), ``data_dir`` (see _loading.py), ``format`` (``plain``, the
harness's default; ``chat``, its ``--apply_chat_template`` with multi-turn shots;
``chat-singleturn``, with ``--fewshot_as_multiturn false``; see _fewshot.py and _chat.py).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from bakeoff.core.chat import chat_request
from bakeoff.core.errors import ConfigError, DataError
from bakeoff.core.types import (
    JSONValue,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
    RequestKind,
    Result,
    Sample,
)
from bakeoff.tasks.base import MetricSpec, SampleScore, Task
from bakeoff.tasks.benchmarks import _metrics  # noqa: F401 - registers the aggregations
from bakeoff.tasks.benchmarks._fewshot import (
    FORMATS,
    Doc,
    Format,
    Sampler,
    ShotDraw,
    chat_messages,
    plain_context,
)
from bakeoff.tasks.benchmarks._loading import HubSplit, Row, SplitSource, load_split
from bakeoff.tasks.generic import ACC, int_option
from bakeoff.tasks.generic import reject_unknown_options as _reject

F1 = MetricSpec("f1", aggregation="f1", scale=100.0)
MCC = MetricSpec("mcc", aggregation="mcc", scale=100.0)
BALANCED_ACC = MetricSpec("balanced_acc", aggregation="balanced_acc", scale=100.0)
MACRO_F1 = MetricSpec("f1", aggregation="macro_f1", scale=100.0)

COMMON_OPTIONS = frozenset({"shots", "seed", "data_dir", "format", "name"})


class BenchmarkTask(Task):
    """Subclasses set the ClassVars below and implement ``to_doc``."""

    kind = RequestKind.LOGLIKELIHOOD
    metrics: tuple[MetricSpec, ...] = (ACC,)
    primary_metric = "acc"
    family = "benchmark"
    license: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    """The lm-evaluation-harness task this one reproduces (name and YAML version)."""
    template: ClassVar[str] = ""
    """doc_to_text, written the harness's way (recorded in the template hash)."""
    hub_path: ClassVar[str | None] = None
    hub_name: ClassVar[str | None] = None
    eval_split: ClassVar[str] = "validation"
    fewshot_split: ClassVar[str] = "train"
    split_stems: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    """Local file stems per split, relative to the data directory."""
    sampler: ClassVar[Sampler] = "random"
    target_delimiter: ClassVar[str] = " "
    default_shots: ClassVar[int] = 0
    shots_exclude_doc: ClassVar[bool] = False
    """The harness hands the evaluated document to its few-shot sampler (its YAML's
    ``fewshot_split`` equals its ``test_split``, both unset included): k + 1 drawn, doc dropped."""
    extra_options: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, arg: str = "", options: Mapping[str, str] | None = None) -> None:
        options = dict(options or {})
        _reject(self.name, options, set(COMMON_OPTIONS | self.extra_options))
        fmt = options.get("format", "plain")
        if fmt not in FORMATS:
            raise ConfigError(
                f"task '{self.name}': format={fmt!r}: use one of {', '.join(FORMATS)}"
            )
        self.format: Format = fmt
        self.data_dir = options.get("data_dir") or None
        self.shots = int_option(options, "shots", self.default_shots)
        self.seed = int_option(options, "seed", 1234)
        self.configure(arg, options)
        if options.get("name"):
            self.name = options["name"]
        self._samples = self._build()

    def configure(self, arg: str, options: Mapping[str, str]) -> None:
        """Read task-specific arguments/options (e.g. MMLU's subject); sets ``self.name``."""
        if arg:
            raise ConfigError(f"task '{self.name}' takes no ':argument'")

    @abstractmethod
    def to_doc(self, row: Row, index: int, split: str) -> Doc:
        """One data row as a harness document. KeyError/ValueError become a DataError."""

    # -- data ---------------------------------------------------------------------------------

    def split_source(self, split: str) -> SplitSource:
        stems = self.split_stems.get(split, ())
        if not self.hub_path:
            return SplitSource(self.name, stems, None)
        hub = HubSplit(self.hub_path, self.hub_name, split)
        return SplitSource(self.name, stems, hub)

    def load_docs(self, split: str, *, is_eval: bool) -> list[Doc]:
        rows = load_split(self.split_source(split), self.data_dir, is_eval=is_eval)
        docs = []
        for index, row in enumerate(rows):
            try:
                docs.append(self.to_doc(row, index, split))
            except (KeyError, ValueError, TypeError, IndexError, SyntaxError) as exc:
                raise DataError(
                    f"{self.name}: {split} row {index + 1} is not in the expected format "
                    f"({type(exc).__name__}: {exc})"
                ) from None
        if is_eval and not docs:
            raise DataError(f"{self.name}: the {split} split is empty")
        if is_eval:
            check_unique_ids(self.name, split, docs)
        return docs

    def _build(self) -> list[Sample]:
        docs = self.load_docs(self.eval_split, is_eval=True)
        pool: Sequence[Doc] = []
        if self.shots:
            same = self.fewshot_split == self.eval_split
            pool = docs if same else self.load_docs(self.fewshot_split, is_eval=False)
        return self.samples_for(docs, pool, self.shots)

    def samples_for(self, docs: Sequence[Doc], pool: Sequence[Doc], k: int) -> list[Sample]:
        """Samples of ``docs`` in order, shots drawn from ``pool`` (one harness sampler)."""
        draw = ShotDraw(pool, k, self.seed, self.sampler, exclude_doc=self.shots_exclude_doc)
        return [self.make_sample(doc, draw.pick(doc)) for doc in docs]

    def make_sample(self, doc: Doc, shots: Sequence[Doc]) -> Sample:
        metadata: dict[str, JSONValue] = {**doc.metadata, "shot_ids": [s.id for s in shots]}
        if self.format == "plain":
            context = plain_context(doc, shots, self.target_delimiter)
            return Sample(doc.id, context, doc.gold, doc.choices, metadata)
        turns = [(s.text, s.answer()) for s in shots]
        messages = chat_messages(doc.description, turns, doc.text, self.format)
        return Sample(doc.id, messages, doc.gold, doc.choices, metadata)

    def samples(self) -> Sequence[Sample]:
        return self._samples

    # -- requests and scoring -----------------------------------------------------------------

    def continuation(self, choice: str) -> str:
        # The harness drops the target delimiter when it applies a chat template.
        return (self.target_delimiter if self.format == "plain" else "") + choice

    def request(self, sample: Sample, continuation: str) -> LoglikelihoodRequest:
        """One request on the sample's prompt: plain text, or chat messages for the backend."""
        if isinstance(sample.input, str):
            return LoglikelihoodRequest(sample.input, continuation)
        return chat_request(sample.input, continuation)

    def requests(self, sample: Sample) -> list[Request]:
        return [self.request(sample, self.continuation(c)) for c in sample.choices]

    def score(self, sample: Sample, results: Sequence[Result]) -> SampleScore:
        logprobs = [_logprob(r) for r in results]
        gold = int(sample.target) if isinstance(sample.target, int | str) else 0
        pred = argmax(logprobs)
        lengths = [max(len(c), 1) for c in sample.choices]
        pred_norm = argmax([lp / n for lp, n in zip(logprobs, lengths, strict=True)])
        return SampleScore(
            metric_inputs=self.metric_inputs(pred, pred_norm, gold, sample),
            prediction=sample.choices[pred],
            target=sample.choices[gold],
            correct=pred == gold,
            details={"logprobs": logprobs, "pred": pred, "pred_norm": pred_norm, "gold": gold},
        )

    def metric_inputs(
        self, pred: int, pred_norm: int, gold: int, sample: Sample
    ) -> dict[str, tuple[float, ...]]:
        inputs: dict[str, tuple[float, ...]] = {}
        for spec in self.metrics:
            if spec.name == "acc":
                inputs["acc"] = (float(pred == gold),)
            elif spec.name == "acc_norm":
                inputs["acc_norm"] = (float(pred_norm == gold),)
            elif spec.aggregation == "macro_f1":
                inputs[spec.name] = (float(pred), float(gold), float(len(sample.choices)))
            else:  # f1, mcc, balanced_acc: corpus metrics over (prediction, gold)
                inputs[spec.name] = (float(pred), float(gold))
        return inputs

    # -- identity -----------------------------------------------------------------------------

    def prompt_template(self) -> str:
        layout = (
            f"{self.target_delimiter!r}+choice|shots joined by '\\n\\n'"
            if self.format == "plain"
            else f"{self.format}: system=description, shots as turns, choice without delimiter"
        )
        return f"{self.template}|{layout}"

    def config(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {
            "shots": self.shots,
            "seed": self.seed,
            "sampler": self.sampler,
            "eval_split": self.eval_split,
            "fewshot_split": self.fewshot_split,
            "format": self.format,
            "reference": self.reference,
        }
        if self.data_dir:
            out["data_dir"] = self.data_dir
        return out

    def manifest(self) -> dict[str, JSONValue]:
        """Task.manifest plus the benchmark's metadata: license, splits, reference, hub id."""
        out = super().manifest()
        out["license"] = self.license
        out["reference"] = self.reference
        out["splits"] = {"eval": self.eval_split, "fewshot": self.fewshot_split}
        out["hub"] = (
            f"{self.hub_path}{':' + self.hub_name if self.hub_name else ''}"
            if self.hub_path
            else None
        )
        out["format"] = self.format
        return out


def check_unique_ids(task: str, split: str, docs: Sequence[Doc]) -> None:
    """Sample ids key the stored results: two rows with one ``idx``/``id`` are a data error."""
    seen: set[str] = set()
    for doc in docs:
        if doc.id in seen:
            raise DataError(
                f"{task}: the {split} split has two rows with id {doc.id.split('-', 1)[-1]!r} "
                "(ids come from the rows' idx/id column; make them unique or drop the column)"
            )
        seen.add(doc.id)


def argmax(values: Sequence[float]) -> int:
    # First maximum wins, like numpy.argmax, so ties resolve as in the reference.
    best = 0
    for index, value in enumerate(values):
        if value > values[best]:
            best = index
    return best


def _logprob(result: Result) -> float:
    if not isinstance(result, LoglikelihoodResult):
        raise TypeError(f"expected a log-likelihood result, got {type(result).__name__}")
    return result.logprob


def row_id(row: Row, index: int, split: str) -> str:
    """A stable id: the dataset's own ``idx``/``id`` when it has one, else the row position."""
    for key in ("idx", "id", "ind"):
        value = row.get(key)
        if isinstance(value, int | str) and not isinstance(value, bool) and str(value) != "":
            return f"{split}-{value}"
    return f"{split}-{index}"


def as_int(value: Any) -> int:
    """A label read from JSON (int) or TSV/CSV (string, maybe '1.0')."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    return int(float(str(value).strip()))
