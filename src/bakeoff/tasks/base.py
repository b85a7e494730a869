"""The Task abstraction: where samples come from, which requests they need, how they are scored.

A task is deterministic: the same configuration yields the same samples, in the same order, with
the same ids, and the same prompts. Resume and the paired statistics depend on that.

Scores are stored per sample as small tuples of floats (``metric_inputs``) so that corpus-level
metrics (F1, MCC, perplexity) can be recomputed - and bootstrapped - from stored records alone.

A task may be *judged*: it names judge models (``judges``), builds the requests each judge is
asked about a sample once the compared model's results are in (``judge_requests``), and scores
from both (``score_judged``). The task never calls a judge: the runner sends those requests like
any other (request cache, retries, budget, resume) and hands back the judges' outcomes.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelSpec
from bakeoff.core.registry import LazyRegistry
from bakeoff.core.types import JSONValue, Request, RequestFailure, RequestKind, Result, Sample

FloatArray = npt.NDArray[np.float64]
Aggregation = Callable[[FloatArray], float]


def _mean(values: FloatArray) -> float:
    return float(np.mean(values[:, 0])) if len(values) else float("nan")


def _perplexity(values: FloatArray) -> float:
    """Columns: (log-likelihood, units). exp(-sum ll / sum units)."""
    units = float(np.sum(values[:, 1]))
    return float(np.exp(-np.sum(values[:, 0]) / units)) if units else float("nan")


def _bits_per_unit(values: FloatArray) -> float:
    """Columns: (log-likelihood in nats, units). -sum ll / sum units / ln 2."""
    units = float(np.sum(values[:, 1]))
    return float(-np.sum(values[:, 0]) / units / np.log(2)) if units else float("nan")


def _f1(values: FloatArray) -> float:
    """Columns: (prediction, gold), both 0/1. Binary F1 of the positive class."""
    pred, gold = values[:, 0] > 0.5, values[:, 1] > 0.5
    tp = float(np.sum(pred & gold))
    denom = float(np.sum(pred) + np.sum(gold))
    return 2 * tp / denom if denom else 0.0


def _mcc(values: FloatArray) -> float:
    """Columns: (prediction, gold), both 0/1. Matthews correlation; 0 when undefined."""
    pred, gold = values[:, 0] > 0.5, values[:, 1] > 0.5
    tp = float(np.sum(pred & gold))
    tn = float(np.sum(~pred & ~gold))
    fp = float(np.sum(pred & ~gold))
    fn = float(np.sum(~pred & gold))
    denom = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return float((tp * tn - fp * fn) / denom) if denom else 0.0


AGGREGATIONS: dict[str, Aggregation] = {
    "mean": _mean,
    "perplexity": _perplexity,
    "bits_per_unit": _bits_per_unit,
    "f1": _f1,
    "mcc": _mcc,
}


def register_aggregation(name: str, function: Aggregation) -> None:
    AGGREGATIONS[name] = function


AGGREGATION_MODULES = (
    "bakeoff.tasks.benchmarks._metrics",
    "bakeoff.tasks.multilingual",
    "bakeoff.tasks.safety",
    "bakeoff.tasks.open_ended._graded",
)
"""The task modules that register aggregations beyond the basic ones above. A stored run names
its metrics' aggregations, and whoever reads it (the report, claims, serve) may have built no
task: an unknown name loads these once, so no reader has to know which module holds which."""


def load_aggregations() -> None:
    for module in AGGREGATION_MODULES:
        importlib.import_module(module)


CRITERIA = ("quality", "cost", "none")
"""What a metric can be evidence of (``MetricSpec.criterion``)."""


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A metric a task reports.

    ``aggregation`` names a function in AGGREGATIONS applied to the (n_samples, k) array of
    per-sample inputs. ``binary`` marks 0/1 per-sample metrics (accuracy), for which the
    paired test is McNemar's.
    """

    name: str
    higher_is_better: bool = True
    aggregation: str = "mean"
    binary: bool = False
    scale: float = 1.0
    """Multiply for display (e.g. 100 to show accuracy as %); stored values are never scaled."""
    criterion: str = "quality"
    """What the metric is evidence of in the recommendation and the use-case profiles (one of
    CRITERIA): ``quality``, a score of what the task measures (counted as safety for safety
    tasks); ``cost``, a token-cost figure such as tokenizer efficiency, which the cost criterion
    measures in its own way; ``none``, a diagnostic (a synthetic probe) shown but not counted."""
    rank_by_magnitude: bool = False
    """Signed scores whose ideal is 0 (BBQ bias: -1 always against the stereotype, +1 always
    for it): models are ranked by |score|, closer to 0 better, and the score keeps its sign."""

    def __post_init__(self) -> None:
        if self.criterion not in CRITERIA:
            raise ConfigError(
                f"metric {self.name}: criterion {self.criterion!r} is not one of "
                f"{', '.join(CRITERIA)}"
            )

    def aggregate(self, inputs: FloatArray) -> float:
        if self.aggregation not in AGGREGATIONS:
            load_aggregations()
        try:
            function = AGGREGATIONS[self.aggregation]
        except KeyError:
            raise ConfigError(f"unknown aggregation '{self.aggregation}'") from None
        return function(inputs)


@dataclass(frozen=True, slots=True)
class SampleScore:
    """The outcome of scoring one sample for one model."""

    metric_inputs: Mapping[str, tuple[float, ...]]
    prediction: str
    target: str
    correct: bool | None = None
    """Whether the primary metric counts this sample as right (None when that makes no sense)."""
    details: Mapping[str, JSONValue] = field(default_factory=dict)


class Task(ABC):
    """Subclasses set ``name``/``version``/``kind``/``metrics`` and implement the three methods."""

    name: str
    version: ClassVar[str] = "1"
    kind: ClassVar[RequestKind]
    metrics: tuple[MetricSpec, ...]
    primary_metric: str
    description: ClassVar[str] = ""
    source: ClassVar[str] = ""
    """Where the data comes from and its license (shown in the methodology section)."""
    family: ClassVar[str] = "benchmark"
    """Groups tasks in the report: benchmark, probe, multilingual, conversation, safety, speed."""

    @abstractmethod
    def samples(self) -> Sequence[Sample]:
        """All samples, in a deterministic order. May raise DataError."""

    @abstractmethod
    def requests(self, sample: Sample) -> list[Request]:
        """The backend requests needed to score ``sample``."""

    @abstractmethod
    def score(self, sample: Sample, results: Sequence[Result]) -> SampleScore:
        """Score ``sample`` from the results of its requests (same order as ``requests``)."""

    def judges(self) -> Mapping[str, ModelSpec]:
        """The judge models this task asks, by label (none by default: not a judged task)."""
        return {}

    def judge_requests(self, sample: Sample, results: Sequence[Result]) -> list[Request]:
        """The requests every judge answers about ``sample``, given the compared model's
        ``results`` (only called when none of them failed)."""
        return []

    def score_judged(
        self,
        sample: Sample,
        results: Sequence[Result],
        verdicts: Mapping[str, Sequence[Result | RequestFailure]],
    ) -> SampleScore:
        """Score from the model's results and each judge's outcomes (label -> one outcome per
        judge request, in order; a judge request that failed for good is a RequestFailure,
        which the task must count as such, never as a tie or a default verdict)."""
        return self.score(sample, results)

    def config(self) -> dict[str, JSONValue]:
        """Everything that changes the task's samples or prompts (goes into the run identity)."""
        return {}

    def prompt_template(self) -> str:
        """A description of the prompt format; its hash is recorded in the manifest."""
        return ""

    def template_hash(self) -> str:
        identity: dict[str, JSONValue] = {
            "template": self.prompt_template(),
            "config": self.config(),
        }
        judges = self.judge_names()
        if judges:  # only when judged: other tasks keep the identity of their stored runs
            identity["judges"] = judges
        payload = json.dumps(identity, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def judge_names(self) -> dict[str, JSONValue]:
        """label -> the judge's spec as written (canonical): a different judge is another run."""
        return {label: spec.canonical() for label, spec in self.judges().items()}

    def metric(self, name: str) -> MetricSpec:
        for spec in self.metrics:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def manifest(self) -> dict[str, JSONValue]:
        return {
            "name": self.name,
            "version": self.version,
            "kind": self.kind.value,
            "family": self.family,
            "template_hash": self.template_hash(),
            "config": self.config(),
            "source": self.source,
            "primary_metric": self.primary_metric,
            **({"judges": self.judge_names()} if self.judges() else {}),
            "metrics": [
                {
                    "name": m.name,
                    "higher_is_better": m.higher_is_better,
                    "aggregation": m.aggregation,
                    "binary": m.binary,
                    "scale": m.scale,
                    "criterion": m.criterion,
                    "rank_by_magnitude": m.rank_by_magnitude,
                }
                for m in self.metrics
            ],
        }


TaskFactory = Callable[[str, Mapping[str, str]], Task]
"""Builds a task from its argument (e.g. a file path; may be "") and key=value options."""

TASKS: LazyRegistry[TaskFactory] = LazyRegistry("task")
SUITES: dict[str, tuple[str, ...]] = {}


def register_task(name: str, target: str) -> None:
    TASKS.register(name, target)


def register_suite(name: str, task_specs: Iterable[str]) -> None:
    SUITES[name] = tuple(task_specs)
