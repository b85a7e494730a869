"""The report's view model: everything the renderers show, computed from the store alone.

Renderers (Markdown, HTML) only format what is here; all numbers are decided in this module, so
the formats can never disagree.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bakeoff.core.records import ResultRecord, RunRecord, SampleRecord
from bakeoff.core.types import JSONValue
from bakeoff.stats import (
    Interval,
    PairedComparison,
    compare_paired,
    holm,
    metric_interval,
    rate,
)
from bakeoff.storage.base import Store
from bakeoff.tasks.base import MetricSpec

ALPHA = 0.05
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
class Comparison:
    model_a: str
    model_b: str
    paired: PairedComparison
    p_adjusted: float
    verdict: str
    """"A better", "B better" (with the model names) or "no significant difference"."""
    prob_a_better: float
    """Paired-bootstrap probability that A is better, oriented by the metric's direction."""


@dataclass(frozen=True, slots=True)
class MetricReport:
    name: str
    higher_is_better: bool
    scale: float
    primary: bool
    scores: tuple[ModelScore, ...]
    comparisons: list[Comparison] = field(default_factory=list)


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


@dataclass(frozen=True, slots=True)
class SpeedSummary:
    model: str
    prompt_tokens: int
    prompt_seconds: float
    prompt_tokens_per_second: float | None
    output_tokens: int
    output_seconds: float
    output_tokens_per_second: float | None


@dataclass(frozen=True, slots=True)
class ReportModel:
    run: RunRecord
    models: tuple[str, ...]
    model_info: Mapping[str, Mapping[str, JSONValue]]
    tasks: tuple[TaskReport, ...]
    speed: tuple[SpeedSummary, ...]
    method: str = PAIRED_METHOD
    alpha: float = ALPHA

    def comparisons(self) -> list[tuple[TaskReport, MetricReport, Comparison]]:
        return [
            (task, metric, comparison)
            for task in self.tasks
            for metric in task.metrics
            for comparison in metric.comparisons
        ]


def build_report(store: Store, run_ref: str, max_disagreements: int = 5) -> ReportModel:
    run = store.get_run(run_ref)
    models = tuple(m.label for m in run.models)
    results = list(store.iter_results(run.run_id))
    by_task: dict[str, list[ResultRecord]] = defaultdict(list)
    for record in results:
        by_task[record.task].append(record)
    tasks = []
    for task in run.tasks:
        samples = {s.sample_id: s for s in store.iter_samples(run.run_id, task.name)}
        tasks.append(
            _task_report(task.name, task.manifest, task.version, task.template_hash,
                         task.n_samples, models, by_task[task.name], samples, max_disagreements)
        )
    _apply_holm(tasks)
    return ReportModel(
        run=run,
        models=models,
        model_info={m.label: m.info for m in run.models},
        tasks=tuple(tasks),
        speed=tuple(_speed(model, results) for model in models),
    )


def _metric_specs(manifest: Mapping[str, JSONValue]) -> list[MetricSpec]:
    specs = []
    for item in manifest.get("metrics", []):
        specs.append(
            MetricSpec(
                name=item["name"],
                higher_is_better=bool(item.get("higher_is_better", True)),
                aggregation=str(item.get("aggregation", "mean")),
                binary=bool(item.get("binary", False)),
                scale=float(item.get("scale", 1.0)),
            )
        )
    return specs


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
        for spec in _metric_specs(manifest)
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
    )


def _inputs(records: Sequence[ResultRecord], metric: str) -> np.ndarray:
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
        inputs = _inputs(records, spec.name)
        interval = metric_interval(inputs, spec.aggregate, spec.binary, is_mean)
        scores.append(ModelScore(model, interval, len(inputs), failed[model]))
    comparisons = []
    for model_a, model_b in itertools.combinations(models, 2):
        shared = sorted(set(ok[model_a]) & set(ok[model_b]))
        if len(shared) < 2:
            continue
        a = _inputs([ok[model_a][s] for s in shared], spec.name)
        b = _inputs([ok[model_b][s] for s in shared], spec.name)
        if len(a) != len(shared) or len(b) != len(shared):
            continue
        paired = compare_paired(a, b, spec.aggregate, spec.binary, is_mean)
        # The bootstrap reports P(score A > score B); for lower-is-better metrics flip it.
        prob = paired.prob_a_better if spec.higher_is_better else 1.0 - paired.prob_a_better
        comparisons.append(Comparison(model_a, model_b, paired, paired.p_value, "", prob))
    return MetricReport(
        spec.name, spec.higher_is_better, spec.scale, primary, tuple(scores), comparisons
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
            old.model_a, old.model_b, old.paired, p_adj, _verdict(old, p_adj, metric),
            old.prob_a_better,
        )


def _verdict(comparison: Comparison, p_adjusted: float, metric: MetricReport) -> str:
    difference = comparison.paired.difference
    if not (p_adjusted < ALPHA) or difference == 0 or math.isnan(difference):
        return "no significant difference"
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
    timed_output = [r for r in mine if r.output_seconds and r.output_tokens]
    prompt_tokens = sum(r.prompt_tokens for r in timed_prompt)
    prompt_seconds = sum(r.prompt_seconds or 0.0 for r in timed_prompt)
    output_tokens = sum(r.output_tokens for r in timed_output)
    output_seconds = sum(r.output_seconds or 0.0 for r in timed_output)
    return SpeedSummary(
        model=model,
        prompt_tokens=prompt_tokens,
        prompt_seconds=prompt_seconds,
        prompt_tokens_per_second=rate(prompt_tokens, prompt_seconds),
        output_tokens=output_tokens,
        output_seconds=output_seconds,
        output_tokens_per_second=rate(output_tokens, output_seconds),
    )
