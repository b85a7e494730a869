"""One task's report: scores with intervals, paired comparisons (Holm-adjusted over the whole
report), per-group breakdowns and the samples on which the models disagree."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from bakeoff.core.records import ResultRecord, SampleRecord
from bakeoff.core.types import JSONValue
from bakeoff.report.model.breakdown import group_breakdowns
from bakeoff.report.model.power import power
from bakeoff.report.model.view import (
    ALPHA,
    LETTER_FORMULATION,
    NO_DIFFERENCE,
    SECTIONS,
    Comparison,
    Disagreement,
    MetricReport,
    ModelScore,
    TaskReport,
)
from bakeoff.stats import compare_paired, holm, metric_interval
from bakeoff.tasks.base import CRITERIA, MetricSpec

SIGNED_BIAS_AGGREGATIONS = frozenset({"bbq_bias_ambig", "bbq_bias_disambig"})
"""Aggregations of signed scores whose ideal is 0, for runs stored before metrics said so."""


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


def task_report(
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


def formulations(task: str, info: Mapping[str, Mapping[str, JSONValue]]) -> dict[str, str]:
    """Models whose backend scored ``task`` by answer letter (the runner lists them in the
    model's info, ``extra.task_formulations``)."""
    out = {}
    for model, fields in info.items():
        extra = fields.get("extra")
        listed = extra.get("task_formulations") if isinstance(extra, dict) else None
        if isinstance(listed, dict) and task in listed:
            out[model] = LETTER_FORMULATION
    return out


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
                model_a, model_b, paired, paired.p_value, "", prob, power(spec, paired, a, b)
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


def apply_holm(tasks: Sequence[TaskReport]) -> None:
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
