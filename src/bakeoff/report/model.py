"""The report's view model: everything the renderers show, computed from the store alone.

Renderers (Markdown, HTML) only format what is here; all numbers are decided in this module, so
the formats can never disagree.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape as html_escape

import numpy as np
from scipy.stats import ttest_1samp

from bakeoff.core.records import ResultRecord, RunRecord, SampleRecord
from bakeoff.core.types import JSONValue
from bakeoff.report.breakdown import GroupBreakdown, group_breakdowns
from bakeoff.report.chat_probe import transcript_chat_models
from bakeoff.report.cost import CostRow, cost_row, decode_tokens
from bakeoff.report.hardware import HardwareRow, hardware_row
from bakeoff.report.profiles import (
    DEFAULT_PROFILES,
    ParetoPoint,
    ProfileResult,
    pareto,
    score_profiles,
)
from bakeoff.stats import (
    Interval,
    PairedComparison,
    compare_paired,
    expected_discordance,
    holm,
    mdd_continuous,
    mean_interval,
    metric_interval,
    minimum_detectable_difference,
    rate,
    samples_needed,
    samples_needed_continuous,
)
from bakeoff.storage.base import Store
from bakeoff.tasks.base import CRITERIA, MetricSpec

ALPHA = 0.05
NO_DIFFERENCE = "no significant difference"
POWER = 0.8
TARGET_DIFFERENCE = 0.02
"""The difference (2 points on a 0–100 scale) the "samples needed" column is computed for."""
NO_MDD_CORPUS = (
    "MDD not computed: a corpus-level metric (computed over the whole set, compared by a paired "
    "permutation test) has no closed-form power"
)
NO_MDD_MAGNITUDE = (
    "MDD not computed: the comparison is of |score|, for which the power formulas (differences "
    "of means) do not hold"
)
SECTIONS = ("benchmarks", "multilingual", "conversation", "safety")
"""A task's section is its family when that names a section, else "benchmarks"."""
QUALITY_SECTIONS = frozenset({"benchmarks", "multilingual", "conversation"})
"""Sections whose primary scores make up the profiles' quality criterion."""
SIGNED_BIAS_AGGREGATIONS = frozenset({"bbq_bias_ambig", "bbq_bias_disambig"})
"""Aggregations of signed scores whose ideal is 0, for runs stored before metrics said so."""
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
    template): report.chat_probe decides; every renderer marks them."""

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
    """Model → raw criterion values the profiles weigh (see report.profiles)."""
    profiles: tuple[ProfileResult, ...] = ()
    pareto_cost: tuple[ParetoPoint, ...] = ()
    pareto_latency: tuple[ParetoPoint, ...] = ()
    unavailable: tuple[UnavailableTask, ...] = ()
    latency: tuple[LatencyComparison, ...] = ()
    speed_section: Mapping[str, str] = field(default_factory=dict)
    """Format → rendered section from stored speed-lab records, when any (report.speed_section)."""

    def section_tasks(self, section: str) -> tuple[TaskReport, ...]:
        return tuple(t for t in self.tasks if t.section == section)

    def comparisons(self) -> list[tuple[TaskReport, MetricReport, Comparison]]:
        return [
            (task, metric, comparison)
            for task in self.tasks
            for metric in task.metrics
            for comparison in metric.comparisons
        ]


def build_report(
    store: Store,
    run_ref: str,
    max_disagreements: int = 5,
    *,
    profiles: Mapping[str, Mapping[str, float]] | None = None,
    price_per_hour: float | None = None,
) -> ReportModel:
    run = store.get_run(run_ref)
    models = tuple(m.label for m in run.models)
    results = list(store.iter_results(run.run_id))
    by_task: dict[str, list[ResultRecord]] = defaultdict(list)
    for record in results:
        by_task[record.task].append(record)
    info = {m.label: m.info for m in run.models}
    tasks = []
    for task in run.tasks:
        samples = {s.sample_id: s for s in store.iter_samples(run.run_id, task.name)}
        report = _task_report(
            task.name,
            task.manifest,
            task.version,
            task.template_hash,
            task.n_samples,
            models,
            by_task[task.name],
            samples,
            max_disagreements,
        )
        tasks.append(
            dataclasses.replace(
                report,
                formulations=_formulations(task.name, info),
                transcript_chat=transcript_chat_models(report.family, samples.values(), info),
            )
        )
    _apply_holm(tasks)
    speed = tuple(_speed(model, results) for model in models)
    hardware = tuple(hardware_row(m, info[m]) for m in models)
    task_order = [t.name for t in run.tasks]
    cost = tuple(cost_row(m, info[m], results, price_per_hour, task_order) for m in models)
    criteria = _criteria(models, tasks, speed, hardware, cost, results)
    latency = latency_comparisons(models, results)
    return ReportModel(
        run=run,
        models=models,
        model_info=info,
        tasks=tuple(tasks),
        speed=speed,
        hardware=hardware,
        cost=cost,
        price_per_hour=price_per_hour,
        criteria=criteria,
        profiles=score_profiles(
            models, criteria, profiles or DEFAULT_PROFILES, _tested_support(tasks, latency)
        ),
        pareto_cost=_pareto(criteria, "cost"),
        pareto_latency=_pareto(criteria, "latency"),
        unavailable=_unavailable(run.manifest),
        latency=latency,
        speed_section=_speed_section(store, run),
    )


def sample_seconds(records: Iterable[ResultRecord]) -> dict[tuple[str, str], float]:
    """(task, sample) → seconds the model spent on it, for finished samples with timings."""
    return {
        (r.task, r.sample_id): (r.prompt_seconds or 0.0) + (r.output_seconds or 0.0)
        for r in records
        if r.status == "ok" and (r.prompt_seconds is not None or r.output_seconds is not None)
    }


def compare_latency(
    model_a: str,
    model_b: str,
    seconds_a: Mapping[tuple[str, str], float],
    seconds_b: Mapping[tuple[str, str], float],
) -> LatencyComparison | None:
    """Paired t-test on the samples both models were timed on; None with fewer than two.
    (No bootstrap: P(A faster) is not reported, and at 100,000 samples it would cost seconds.)
    """
    shared = sorted(set(seconds_a) & set(seconds_b))
    if len(shared) < 2:
        return None
    a = np.asarray([seconds_a[k] for k in shared], dtype=np.float64)
    b = np.asarray([seconds_b[k] for k in shared], dtype=np.float64)
    differences = a - b
    paired = PairedComparison(
        difference=float(differences.mean()),
        interval=mean_interval(differences),
        p_value=_paired_t_p(differences),
        test="paired t",
        prob_a_better=math.nan,
        n=len(shared),
    )
    return LatencyComparison(
        model_a, model_b, len(shared), float(a.mean()), float(b.mean()), paired
    )


def _paired_t_p(differences: np.ndarray) -> float:
    """Two-sided paired t p-value (scipy's ttest_rel); no spread (to rounding): 1 if there is no
    difference, else 0 (the limit of the t statistic going to infinity)."""
    mean = float(differences.mean())
    if float(np.ptp(differences)) <= 1e-12 * max(1.0, abs(mean)):
        return 1.0 if abs(mean) <= 1e-12 else 0.0
    return float(ttest_1samp(differences, 0.0).pvalue)


def latency_comparisons(
    models: Sequence[str], results: Sequence[ResultRecord]
) -> tuple[LatencyComparison, ...]:
    seconds = {m: sample_seconds(r for r in results if r.model == m) for m in models}
    found = [
        c
        for a, b in itertools.combinations(models, 2)
        if (c := compare_latency(a, b, seconds[a], seconds[b])) is not None
    ]
    adjusted = holm([c.paired.p_value for c in found])
    out = []
    for c, p in zip(found, adjusted, strict=True):
        faster = c.model_a if c.paired.difference < 0 else c.model_b
        verdict = f"{faster} faster" if p < ALPHA and c.paired.difference != 0 else NO_DIFFERENCE
        out.append(dataclasses.replace(c, p_adjusted=p, verdict=verdict))
    return tuple(out)


def _unavailable(manifest: Mapping[str, JSONValue]) -> tuple[UnavailableTask, ...]:
    items = manifest.get("unavailable_tasks")
    if not isinstance(items, list):
        return ()
    return tuple(
        UnavailableTask(str(item.get("name", "?")), str(item.get("reason", "")))
        for item in items
        if isinstance(item, dict)
    )


def _speed_section(store: Store, run: RunRecord) -> dict[str, str]:
    """The speed lab's section (``bakeoff speed``) for the newest speed run that measured one of
    this run's models (matched by label), demoted one heading level to sit inside the guide's
    speed section. Empty when there is none."""
    try:
        from bakeoff.report import speed_section
        from bakeoff.storage.speed_store import SpeedStore
        from bakeoff.storage.sqlite import SqliteStore
    except ImportError:  # the speed lab is optional: the guide works without it
        return {}
    if not isinstance(store, SqliteStore):
        return {}
    speed_store = SpeedStore(store)
    labels = {m.label for m in run.models}
    chosen = next(
        (
            r
            for r in speed_store.list_runs()
            if labels & {m.label for m in speed_store.models(r.speed_run_id)}
        ),
        None,
    )
    if chosen is None:
        return {}
    section = speed_section.build_speed_section(speed_store, chosen.speed_run_id)
    markdown = "\n".join(
        "#" + line if line.startswith("#") else line
        for line in speed_section.speed_markdown(section).splitlines()
    )
    html = speed_section.speed_html(section)
    for level in (3, 2):
        html = html.replace(f"<h{level}>", f"<h{level + 1}>").replace(
            f"</h{level}>", f"</h{level + 1}>"
        )
    intro = f"From speed run {chosen.speed_run_id} ({chosen.name}, {chosen.created_at})."
    return {"md": f"{intro}\n\n{markdown}", "html": f"<p>{html_escape(intro)}</p>{html}"}


def _formulations(task: str, info: Mapping[str, Mapping[str, JSONValue]]) -> dict[str, str]:
    """Models whose backend scored ``task`` by answer letter (the runner lists them in the
    model's info, ``extra.task_formulations``)."""
    out = {}
    for model, fields in info.items():
        extra = fields.get("extra")
        listed = extra.get("task_formulations") if isinstance(extra, dict) else None
        if isinstance(listed, dict) and task in listed:
            out[model] = LETTER_FORMULATION
    return out


def _tested_support(
    tasks: Sequence[TaskReport], latency: Sequence[LatencyComparison]
) -> Callable[[str, str, str], bool]:
    """Whether paired tests back one model's lead over another on a criterion: a significant win
    and no significant loss — for "quality" and "safety" on the primary comparisons of the
    tasks that are evidence of it (:func:`evidence_of`), for "latency" on the per-sample
    seconds."""
    wins: set[tuple[str, str, str]] = set()
    for task in tasks:
        metric, criterion = task.primary, evidence_of(task)
        if metric is None or criterion is None:
            continue
        for c in metric.comparisons:
            if c.verdict.endswith(" better"):
                winner = c.verdict.removesuffix(" better")
                loser = c.model_b if winner == c.model_a else c.model_a
                wins.add((criterion, winner, loser))
    for lc in latency:
        if lc.verdict.endswith(" faster"):
            winner = lc.verdict.removesuffix(" faster")
            wins.add(("latency", winner, lc.model_b if winner == lc.model_a else lc.model_a))

    def supported(criterion: str, leader: str, other: str) -> bool:
        return (criterion, leader, other) in wins and (criterion, other, leader) not in wins

    return supported


def _fraction_scores(tasks: Sequence[TaskReport], criterion: str, model: str) -> float | None:
    """Mean primary score over the tasks that are evidence of ``criterion`` (:func:`evidence_of`)
    and whose primary metric is a fraction (0..1). Higher is better, except on safety tasks,
    where a lower-is-better rate (toxicity) counts as 1 − rate; a signed score (bias) is no
    fraction."""
    values = []
    for task in tasks:
        metric = task.primary
        if metric is None or evidence_of(task) != criterion or metric.rank_by_magnitude:
            continue
        flip = not metric.higher_is_better
        if flip and task.section != "safety":
            continue
        for score in metric.scores:
            estimate = score.interval.estimate
            if score.model == model and math.isfinite(estimate) and 0.0 <= estimate <= 1.0:
                values.append(1.0 - estimate if flip else estimate)
    return sum(values) / len(values) if values else None


def _criteria(
    models: Sequence[str],
    tasks: Sequence[TaskReport],
    speed: Sequence[SpeedSummary],
    hardware: Sequence[HardwareRow],
    cost: Sequence[CostRow],
    results: Sequence[ResultRecord],
) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for model, spd, hw, cst in zip(models, speed, hardware, cost, strict=True):
        timed = list(sample_seconds(r for r in results if r.model == model).values())
        out[model] = {
            "quality": _fraction_scores(tasks, "quality", model),
            "safety": _fraction_scores(tasks, "safety", model),
            "speed": spd.output_tokens_per_second,
            "latency": sum(timed) / len(timed) if timed else None,
            "cost": cst.usd_per_1m_tokens
            if cst.usd_per_1m_tokens is not None
            else cst.seconds_per_1m_tokens,
            "memory": float(hw.weights_bytes) if hw.weights_bytes else None,
        }
    return out


def _pareto(
    criteria: Mapping[str, Mapping[str, float | None]], axis: str
) -> tuple[ParetoPoint, ...]:
    points = {
        model: (float(values[axis] or 0.0), float(values["quality"] or 0.0))
        for model, values in criteria.items()
        if values.get(axis) is not None and values.get("quality") is not None
    }
    return pareto(points) if len(points) >= 1 else ()


def metric_specs(manifest: Mapping[str, JSONValue]) -> list[MetricSpec]:
    specs = []
    for item in manifest.get("metrics", []):
        aggregation = str(item.get("aggregation", "mean"))
        specs.append(
            MetricSpec(
                name=item["name"],
                higher_is_better=bool(item.get("higher_is_better", True)),
                aggregation=aggregation,
                binary=bool(item.get("binary", False)),
                scale=float(item.get("scale", 1.0)),
                criterion=_stored_criterion(item, manifest),
                rank_by_magnitude=bool(
                    item.get("rank_by_magnitude", aggregation in SIGNED_BIAS_AGGREGATIONS)
                ),
            )
        )
    return specs


def _stored_criterion(item: Mapping[str, JSONValue], manifest: Mapping[str, JSONValue]) -> str:
    """The metric's criterion as stored; runs stored before metrics carried one get the same
    rule from what they did store: token counts are costs, synthetic probes diagnostics."""
    stored = item.get("criterion")
    if isinstance(stored, str) and stored in CRITERIA:
        return stored
    if str(item.get("name", "")).startswith("tokens_"):
        return "cost"
    config = manifest.get("config")
    if isinstance(config, dict) and config.get("synthetic") is True:
        return "none"
    return "quality"


def _task_report(
    name: str,
    manifest: Mapping[str, JSONValue],
    version: str,
    template_hash: str,
    n_samples: int,
    models: Sequence[str],
    records: Sequence[ResultRecord],
    samples: Mapping[str, SampleRecord],
    max_disagreements: int,
) -> TaskReport:
    ok: dict[str, dict[str, ResultRecord]] = {m: {} for m in models}
    failed: dict[str, int] = dict.fromkeys(models, 0)
    for record in records:
        if record.model not in ok:
            continue
        if record.status == "ok":
            ok[record.model][record.sample_id] = record
        else:
            failed[record.model] += 1
    primary = str(manifest.get("primary_metric", ""))
    metrics = tuple(
        _metric_report(spec, spec.name == primary, models, ok, failed)
        for spec in metric_specs(manifest)
    )
    return TaskReport(
        name=name,
        version=version,
        family=str(manifest.get("family", "benchmark")),
        description=str(manifest.get("source", "")),
        template_hash=template_hash,
        n_samples=n_samples,
        metrics=metrics,
        disagreements=_disagreements(models, ok, samples, max_disagreements),
        groups=group_breakdowns(
            next((s for s in metric_specs(manifest) if s.name == primary), None),
            models,
            ok,
            samples,
        ),
        section=_section(str(manifest.get("family", "")), samples),
    )


def _section(family: str, samples: Mapping[str, SampleRecord]) -> str:
    if family in SECTIONS:
        return family
    if any("language" in s.metadata for s in samples.values()):
        return "multilingual"
    return "benchmarks"


def metric_inputs(records: Sequence[ResultRecord], metric: str) -> np.ndarray:
    rows = [r.metrics[metric] for r in records if metric in r.metrics]
    if not rows:
        return np.zeros((0, 1), dtype=np.float64)
    return np.asarray(rows, dtype=np.float64)


def _metric_report(
    spec: MetricSpec,
    primary: bool,
    models: Sequence[str],
    ok: Mapping[str, Mapping[str, ResultRecord]],
    failed: Mapping[str, int],
) -> MetricReport:
    is_mean = spec.aggregation == "mean"
    scores = []
    for model in models:
        records = [ok[model][sid] for sid in sorted(ok[model])]
        inputs = metric_inputs(records, spec.name)
        interval = metric_interval(inputs, spec.aggregate, spec.binary, is_mean)
        scores.append(ModelScore(model, interval, len(inputs), failed[model]))
    # A signed score whose ideal is 0 (bias) is compared by |score|: smaller is better, and the
    # |·| is taken per resample, so the interval, p and P(A better) are all of |A| − |B|.
    magnitude = spec.rank_by_magnitude
    higher_is_better = spec.higher_is_better and not magnitude

    def compared(inputs: np.ndarray) -> float:
        return abs(spec.aggregate(inputs)) if magnitude else spec.aggregate(inputs)

    comparisons = []
    for model_a, model_b in itertools.combinations(models, 2):
        shared = sorted(set(ok[model_a]) & set(ok[model_b]))
        if len(shared) < 2:
            continue
        a = metric_inputs([ok[model_a][s] for s in shared], spec.name)
        b = metric_inputs([ok[model_b][s] for s in shared], spec.name)
        if len(a) != len(shared) or len(b) != len(shared):
            continue
        paired = compare_paired(
            a, b, compared, spec.binary and not magnitude, is_mean and not magnitude
        )
        # The bootstrap reports P(score A > score B); for lower-is-better metrics flip it.
        prob = paired.prob_a_better if higher_is_better else 1.0 - paired.prob_a_better
        comparisons.append(
            Comparison(
                model_a, model_b, paired, paired.p_value, "", prob, _power(spec, paired, a, b)
            )
        )
    return MetricReport(
        spec.name,
        higher_is_better,
        spec.scale,
        primary,
        tuple(scores),
        comparisons,
        spec.criterion,
        magnitude,
    )


def _apply_holm(tasks: Sequence[TaskReport]) -> None:
    """Adjust every comparison's p-value for the number of comparisons, then state verdicts."""
    entries = [
        (metric, index)
        for task in tasks
        for metric in task.metrics
        for index in range(len(metric.comparisons))
    ]
    adjusted = holm([metric.comparisons[i].paired.p_value for metric, i in entries])
    for (metric, index), p_adj in zip(entries, adjusted, strict=True):
        old = metric.comparisons[index]
        metric.comparisons[index] = Comparison(
            old.model_a,
            old.model_b,
            old.paired,
            p_adj,
            _verdict(old, p_adj, metric),
            old.prob_a_better,
            old.power,
        )


def _power(
    spec: MetricSpec, paired: PairedComparison, a: np.ndarray, b: np.ndarray
) -> Power | None:
    """MDD for the n used and the samples a 2-point difference would need. 0/1 metrics use the
    measured discordance (share of samples on which the two models disagree), which is what
    McNemar's test's power depends on; other per-sample means the SD of the paired differences.
    Masked means (XSTest refusal rates) are the same means over the rows the mask selects."""
    n = paired.n
    if n < 2:
        return None
    if spec.rank_by_magnitude:
        # The MDD formulas are for differences of means, not of |score|.
        return Power(None, math.nan, None, NO_MDD_MAGNITUDE)
    # 2 units as the score is shown (scale 100: 2 points = 0.02 of a proportion).
    target = TARGET_DIFFERENCE * 100.0 / spec.scale
    if spec.aggregation == "masked_mean":
        # Columns (value, mask); the mask is a property of the sample, so it selects the same
        # rows for both models, but require both so a malformed row cannot pair with nothing.
        rows = (a[:, 1] > 0.5) & (b[:, 1] > 0.5)
        values_a, values_b = a[rows, 0], b[rows, 0]
        if len(values_a) < 2:
            return None
        subset = f"over the {len(values_a)} samples the metric's mask selects"
        binary = bool(
            np.all(np.isin(values_a, (0.0, 1.0))) and np.all(np.isin(values_b, (0.0, 1.0)))
        )
        if binary:
            return _binary_power(values_a, values_b, target, subset)
        return _continuous_power(values_a - values_b, target, subset)
    if spec.aggregation != "mean":
        return Power(None, math.nan, None, NO_MDD_CORPUS)
    if spec.binary and paired.discordant is not None:
        return _binary_power(a[:, 0], b[:, 0], target, "")
    return _continuous_power(a[:, 0] - b[:, 0], target, "")


def _binary_power(a: np.ndarray, b: np.ndarray, target: float, subset: str) -> Power:
    """McNemar power of paired 0/1 outcomes ``a`` and ``b`` from their measured discordance."""
    n = len(a)
    psi = float(np.count_nonzero(a != b)) / n
    notes = [subset] if subset else []
    if psi == 0.0:
        # Identical answers measure no disagreement; assume independent errors instead, and say
        # so, because real models share errors and the assumed figure is then too pessimistic.
        psi = expected_discordance(float(a.mean()), float(b.mean()))
        notes.append(
            f"the models gave identical answers, so discordance {psi:.2f} is assumed "
            "(independent errors at the observed accuracies), not measured"
        )
    note = "; ".join(notes)
    if psi == 0.0:
        return Power(0.0, minimum_detectable_difference(n, 0.5, discordance=0.0), None, note)
    samples = samples_needed(target, psi) if 0.0 < target <= psi else None
    return Power(psi, minimum_detectable_difference(n, 0.5, discordance=psi), samples, note)


def _continuous_power(differences: np.ndarray, target: float, subset: str) -> Power:
    """Paired-t power from the SD of the per-sample differences A - B."""
    sd = float(np.std(differences, ddof=1))
    samples = samples_needed_continuous(target, sd) if target > 0.0 else None
    return Power(None, mdd_continuous(sd, len(differences)), samples, subset)


def _verdict(comparison: Comparison, p_adjusted: float, metric: MetricReport) -> str:
    difference = comparison.paired.difference
    if not (p_adjusted < ALPHA) or difference == 0 or math.isnan(difference):
        return NO_DIFFERENCE
    a_better = (difference > 0) == metric.higher_is_better
    return f"{comparison.model_a if a_better else comparison.model_b} better"


def _disagreements(
    models: Sequence[str],
    ok: Mapping[str, Mapping[str, ResultRecord]],
    samples: Mapping[str, SampleRecord],
    limit: int,
) -> tuple[Disagreement, ...]:
    if len(models) < 2 or limit <= 0:
        return ()
    shared = sorted(set.intersection(*(set(ok[m]) for m in models)))
    found = []
    for sample_id in shared:
        verdicts = {m: ok[m][sample_id].correct for m in models}
        if None in verdicts.values() or len(set(verdicts.values())) < 2:
            continue
        sample = samples.get(sample_id)
        found.append(
            Disagreement(
                sample_id=sample_id,
                input=_input_text(sample.input if sample else ""),
                target=ok[models[0]][sample_id].target,
                predictions={m: ok[m][sample_id].prediction for m in models},
                correct=verdicts,
            )
        )
        if len(found) >= limit:
            break
    return tuple(found)


def _input_text(value: JSONValue) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(f"{m.get('role', '?')}: {m.get('content', '')}" for m in value)
    return str(value)


def _speed(model: str, results: Sequence[ResultRecord]) -> SpeedSummary:
    """Prompt-processing and generation rates from the timings stored with every sample."""
    mine = [r for r in results if r.model == model and r.status == "ok"]
    timed_prompt = [r for r in mine if r.prompt_seconds]
    timed_output = [r for r in mine if r.output_seconds and decode_tokens(r)]
    prompt_tokens = sum(r.prompt_tokens for r in timed_prompt)
    prompt_seconds = sum(r.prompt_seconds or 0.0 for r in timed_prompt)
    output_tokens = sum(decode_tokens(r) for r in timed_output)
    output_seconds = sum(r.output_seconds or 0.0 for r in timed_output)
    return SpeedSummary(
        model=model,
        prompt_tokens=prompt_tokens,
        prompt_seconds=prompt_seconds,
        prompt_tokens_per_second=rate(prompt_tokens, prompt_seconds),
        output_tokens=output_tokens,
        output_seconds=output_seconds,
        output_tokens_per_second=rate(output_tokens, output_seconds),
        output_tokens_estimated=any(r.output_tokens_estimated for r in timed_output),
    )
