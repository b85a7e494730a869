"""The view model's value types: everything the guide shows, as numbers and labels.

Built by report.model.build from the store alone; every renderer (Markdown, HTML, JSON) reads
these and decides nothing, so the formats cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from bakeoff.core.records import RunRecord
from bakeoff.core.types import JSONValue
from bakeoff.report.model.breakdown import GroupBreakdown
from bakeoff.report.model.cost import CostRow
from bakeoff.report.model.hardware import HardwareRow
from bakeoff.report.model.profiles import ParetoPoint, ProfileResult
from bakeoff.report.model.reasoning import ReasoningSection
from bakeoff.report.model.speed_lab import SpeedSection
from bakeoff.stats import Interval, PairedComparison

ALPHA = 0.05
NO_DIFFERENCE = "no significant difference"
SECTIONS = ("benchmarks", "multilingual", "conversation", "safety", "open-ended")
"""A task's section is its family when that names a section, else "benchmarks"."""
QUALITY_SECTIONS = frozenset({"benchmarks", "multilingual", "conversation"})
"""Sections whose primary scores make up the profiles' quality criterion."""
LETTER_FORMULATION = "answer letter (generation), not comparable with log-likelihood scores"
"""How the guide labels a task a model's API could only score by answer letter (no logprobs)."""
PAIRED_METHOD = (
    "Scores: Wilson interval for accuracies, Student t for other per-sample means, percentile "
    "bootstrap for corpus-level metrics. Paired differences use the samples both models "
    "finished: for 0/1 metrics (accuracy, exact match) McNemar's exact test, with a Newcombe "
    "hybrid-score interval of the difference; for other per-sample means a paired t-test and "
    "t-interval; for corpus-level metrics a paired permutation test and a paired percentile "
    "bootstrap interval. P(A > B) comes from a paired bootstrap. p-values are Holm-adjusted "
    "over every comparison in the report."
)


@dataclass(frozen=True, slots=True)
class ModelScore:
    model: str
    interval: Interval
    n: int
    failed: int


@dataclass(frozen=True, slots=True)
class Power:
    """How sensitive a comparison was: the minimum detectable difference (MDD) at 80% power
    for the n used, and the samples a 2-point difference (2 units as displayed, i.e.
    ``TARGET_DIFFERENCE * 100 / scale`` stored units) would need."""

    discordance: float | None
    mdd: float
    """NaN when not computed (corpus-level metrics; ``note`` says why)."""
    samples_for_target: int | None
    note: str = ""
    """What the reader must know about these figures: an assumed discordance, the masked
    subset they are over, or why no MDD was computed. Empty when nothing needs saying."""


@dataclass(frozen=True, slots=True)
class Comparison:
    model_a: str
    model_b: str
    paired: PairedComparison
    p_adjusted: float
    verdict: str
    """"A better", "B better" (with the model names) or "no significant difference"."""
    prob_a_better: float
    """Paired-bootstrap probability that A is better, oriented by the metric's direction."""
    power: Power | None = None


@dataclass(frozen=True, slots=True)
class MetricReport:
    name: str
    higher_is_better: bool
    """For a metric ranked by magnitude: False (a smaller |score| is better)."""
    scale: float
    primary: bool
    scores: tuple[ModelScore, ...]
    comparisons: list[Comparison] = field(default_factory=list)
    criterion: str = "quality"
    """What the metric is evidence of (``MetricSpec.criterion``): quality, cost or none."""
    rank_by_magnitude: bool = False
    """Signed score whose ideal is 0: comparisons are of |score| (closer to 0 is better)."""


@dataclass(frozen=True, slots=True)
class Disagreement:
    sample_id: str
    input: str
    target: str
    predictions: Mapping[str, str]
    correct: Mapping[str, bool | None]


@dataclass(frozen=True, slots=True)
class TaskReport:
    name: str
    version: str
    family: str
    description: str
    template_hash: str
    n_samples: int
    metrics: tuple[MetricReport, ...]
    disagreements: tuple[Disagreement, ...]
    groups: tuple[GroupBreakdown, ...] = ()
    section: str = "benchmarks"
    formulations: Mapping[str, str] = field(default_factory=dict)
    """Model → how it was scored here when not as the task defines it: a chat-only API scores
    multiple choice by answer letter (runner.fallback), which is not comparable."""
    transcript_chat: tuple[str, ...] = ()
    """Models whose results here are a chat probe's, prompted through a plain transcript (no chat
    template): report.model.chat_probe decides; every renderer marks them."""

    @property
    def primary(self) -> MetricReport | None:
        return next((m for m in self.metrics if m.primary), None)


def evidence_of(task: TaskReport) -> str | None:
    """The profile criterion ("quality" or "safety") a task's primary comparisons are evidence
    for, or None. The one rule for the recommendation's win counts, the paired-test support of
    the profiles and the profiles' mean scores: a primary metric that measures a cost (tokenizer
    efficiency) or is a diagnostic (a synthetic probe) is no evidence of quality."""
    metric = task.primary
    if metric is None or metric.criterion != "quality":
        return None
    if task.section == "safety":
        return "safety"
    return "quality" if task.section in QUALITY_SECTIONS else None


@dataclass(frozen=True, slots=True)
class SpeedSummary:
    model: str
    prompt_tokens: int
    prompt_seconds: float
    prompt_tokens_per_second: float | None
    output_tokens: int
    output_seconds: float
    output_tokens_per_second: float | None
    output_tokens_estimated: bool = False
    """Some of ``output_tokens`` are counts of stream chunks (the server reported none and no
    tokenizer counted them), so the generation rate is an estimate, marked in the guide."""
    first_token_seconds: float | None = None
    """Median time to the first token of a generation request (the prompt's time, per request
    of the sample), over samples that generated text; None when none did or the backend did
    not time the first token apart."""


@dataclass(frozen=True, slots=True)
class LatencyComparison:
    """Seconds per sample (prompt + generation) of two models on the samples both finished,
    compared by a paired t-test; p is Holm-adjusted over the report's latency comparisons."""

    model_a: str
    model_b: str
    n: int
    mean_a: float
    mean_b: float
    paired: PairedComparison
    p_adjusted: float = math.nan
    verdict: str = ""
    """"<model> faster" or "no significant difference"."""


@dataclass(frozen=True, slots=True)
class UnavailableTask:
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReportModel:
    run: RunRecord
    models: tuple[str, ...]
    model_info: Mapping[str, Mapping[str, JSONValue]]
    tasks: tuple[TaskReport, ...]
    speed: tuple[SpeedSummary, ...]
    method: str = PAIRED_METHOD
    alpha: float = ALPHA
    hardware: tuple[HardwareRow, ...] = ()
    cost: tuple[CostRow, ...] = ()
    price_per_hour: float | None = None
    criteria: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    """Model → raw criterion values the profiles weigh (see report.model.profiles)."""
    profiles: tuple[ProfileResult, ...] = ()
    pareto_cost: tuple[ParetoPoint, ...] = ()
    pareto_latency: tuple[ParetoPoint, ...] = ()
    unavailable: tuple[UnavailableTask, ...] = ()
    latency: tuple[LatencyComparison, ...] = ()
    speed_lab: SpeedSection | None = None
    """The newest speed-lab run (``bakeoff speed``) of one of this run's models, when any."""
    reasoning: ReasoningSection | None = None
    """Reasoning tokens and their cost (report.model.reasoning); None: no answer reasoned."""

    def section_tasks(self, section: str) -> tuple[TaskReport, ...]:
        return tuple(t for t in self.tasks if t.section == section)

    def comparisons(self) -> list[tuple[TaskReport, MetricReport, Comparison]]:
        return [
            (task, metric, comparison)
            for task in self.tasks
            for metric in task.metrics
            for comparison in metric.comparisons
        ]
