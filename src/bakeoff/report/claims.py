"""Check a vendor's claims against stored measurements.

A claims file (YAML) lists claims, each with a ``kind``:

* ``score``: ``task``, optional ``metric`` (default: the task's primary), ``scores: {model:
  value}`` in the report's units (percent for accuracies). Consistent when every claimed value
  lies in the measured 95% interval; contradicted when one lies outside.
* ``better``: ``model`` beats ``than`` on ``task`` (primary metric): the paired test's verdict.
* ``lower_latency``: ``model`` answers faster per sample than ``than``: paired t-test on the
  per-sample seconds both models spent on the same samples.
* ``spec``: ``field`` of the model info (``context_length``, ``parameters``, ...) with ``values:
  {model: value}``: consistent when equal to what the model file says.

Verdicts: "consistent", "contradicted" or "not measurable" (no such task or model in the run,
data not available offline, or a difference too small to call at this sample size).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bakeoff.core.errors import ConfigError
from bakeoff.report.model import MetricReport, ReportModel, TaskReport
from bakeoff.stats import compare_paired
from bakeoff.storage.base import Store

CONSISTENT, CONTRADICTED, NOT_MEASURABLE = "consistent", "contradicted", "not measurable"
KINDS = ("score", "better", "lower_latency", "spec")


@dataclass(frozen=True, slots=True)
class Claim:
    text: str
    kind: str
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ClaimVerdict:
    claim: str
    kind: str
    verdict: str
    evidence: str


def load_claims(path: Path) -> tuple[str | None, list[Claim]]:
    """(run named in the file or None, claims). Malformed files raise ConfigError."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read claims file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"claims file {path} is not valid YAML: {exc}") from None
    run = None
    if isinstance(data, dict):
        run = str(data["run"]) if data.get("run") else None
        data = data.get("claims")
    if not isinstance(data, list) or not data:
        raise ConfigError(f"claims file {path}: expected a list of claims (or claims: [...])")
    claims = []
    for index, item in enumerate(data, 1):
        if not isinstance(item, dict) or item.get("kind") not in KINDS:
            raise ConfigError(
                f"claims file {path}: claim {index} needs kind: one of {', '.join(KINDS)}"
            )
        text = str(item.get("claim") or f"claim {index}")
        claims.append(Claim(text, str(item["kind"]), item))
    return run, claims


def check_claims(report: ReportModel, store: Store, claims: Sequence[Claim]) -> list[ClaimVerdict]:
    out = []
    for claim in claims:
        try:
            verdict, evidence = _CHECKS[claim.kind](report, store, claim.fields)
        except _NotMeasurableError as exc:
            verdict, evidence = NOT_MEASURABLE, str(exc)
        out.append(ClaimVerdict(claim.text, claim.kind, verdict, evidence))
    return out


class _NotMeasurableError(Exception):
    pass


def _task(report: ReportModel, name: object) -> TaskReport:
    wanted = str(name or "")
    matches = [t for t in report.tasks if t.name == wanted] or [
        t for t in report.tasks if t.name.lower().startswith(wanted.lower() + "-")
    ]
    if len(matches) == 1:
        return matches[0]
    for missing in report.unavailable:
        if missing.name.lower() == wanted.lower():
            raise _NotMeasurableError(f"{wanted}: data not available offline ({missing.reason})")
    if matches:
        raise _NotMeasurableError(f"{wanted!r} matches several tasks; name one")
    raise _NotMeasurableError(f"task {wanted!r} was not measured in run {report.run.run_id}")


def _model(report: ReportModel, name: object) -> str:
    if str(name) not in report.models:
        raise _NotMeasurableError(f"model {name!r} is not in run {report.run.run_id}")
    return str(name)


def _metric(task: TaskReport, name: object) -> MetricReport:
    metric = (
        task.primary if not name else next((m for m in task.metrics if m.name == str(name)), None)
    )
    if metric is None:
        raise _NotMeasurableError(f"task {task.name} has no metric {name or '(primary)'}")
    return metric


def _check_score(report: ReportModel, _: Store, fields: Mapping[str, Any]) -> tuple[str, str]:
    task = _task(report, fields.get("task"))
    metric = _metric(task, fields.get("metric"))
    claimed = fields.get("scores")
    if not isinstance(claimed, dict) or not claimed:
        raise ConfigError("a score claim needs scores: {model: value}")
    scores = {s.model: s for s in metric.scores}
    verdicts, evidence = [], []
    for model, value in claimed.items():
        score = scores[_model(report, model)].interval
        low, high = score.low * metric.scale, score.high * metric.scale
        if not (math.isfinite(low) and math.isfinite(high)):
            raise _NotMeasurableError(f"{model}: no interval for {task.name}/{metric.name}")
        inside = low <= float(value) <= high
        verdicts.append(inside)
        evidence.append(
            f"{model}: claimed {float(value):g}, measured {score.estimate * metric.scale:.1f} "
            f"[{low:.1f}, {high:.1f}] ({'inside' if inside else 'outside'} the 95% CI)"
        )
    return (CONSISTENT if all(verdicts) else CONTRADICTED), f"{task.name} {metric.name}: " + (
        "; ".join(evidence)
    )


def _check_better(report: ReportModel, _: Store, fields: Mapping[str, Any]) -> tuple[str, str]:
    task = _task(report, fields.get("task"))
    metric = _metric(task, fields.get("metric"))
    model, other = _model(report, fields.get("model")), _model(report, fields.get("than"))
    comparison = next(
        (c for c in metric.comparisons if {c.model_a, c.model_b} == {model, other}), None
    )
    if comparison is None:
        raise _NotMeasurableError(f"no paired comparison of {model} and {other} on {task.name}")
    sign = 1.0 if comparison.model_a == model else -1.0
    difference = sign * comparison.paired.difference * metric.scale
    evidence = (
        f"{task.name} {metric.name}: {model} − {other} = {difference:+.1f}, "
        f"Holm p = {comparison.p_adjusted:.3g} ({comparison.verdict})"
    )
    if comparison.verdict == f"{model} better":
        return CONSISTENT, evidence
    if comparison.verdict == f"{other} better":
        return CONTRADICTED, evidence
    mdd = comparison.power.mdd * metric.scale if comparison.power else math.nan
    extra = f"; smallest detectable difference here ≈ {mdd:.1f}" if math.isfinite(mdd) else ""
    return NOT_MEASURABLE, evidence + extra


def _check_latency(report: ReportModel, store: Store, fields: Mapping[str, Any]) -> tuple[str, str]:
    model, other = _model(report, fields.get("model")), _model(report, fields.get("than"))
    wanted = fields.get("task")
    task = _task(report, wanted).name if wanted else None
    seconds = {m: _latencies(store, report.run.run_id, m, task) for m in (model, other)}
    shared = sorted(set(seconds[model]) & set(seconds[other]))
    if len(shared) < 2:
        raise _NotMeasurableError(f"fewer than two samples timed for both {model} and {other}")
    a = np.asarray([[seconds[model][k]] for k in shared])
    b = np.asarray([[seconds[other][k]] for k in shared])
    paired = compare_paired(a, b, lambda x: float(np.mean(x[:, 0])), False, True)
    evidence = (
        f"mean seconds per sample over {len(shared)} shared samples: {model} "
        f"{float(a.mean()):.3f}, {other} {float(b.mean()):.3f}; paired t p = "
        f"{paired.p_value:.3g} (timed on this machine, one request at a time)"
    )
    if paired.p_value >= report.alpha:
        return NOT_MEASURABLE, evidence + "; no significant difference"
    return (CONSISTENT if paired.difference < 0 else CONTRADICTED), evidence


def _latencies(store: Store, run_id: str, model: str, task: str | None) -> dict[str, float]:
    return {
        f"{r.task}/{r.sample_id}": (r.prompt_seconds or 0.0) + (r.output_seconds or 0.0)
        for r in store.iter_results(run_id, task=task, model=model)
        if r.status == "ok" and r.prompt_seconds is not None
    }


def _check_spec(report: ReportModel, _: Store, fields: Mapping[str, Any]) -> tuple[str, str]:
    name = str(fields.get("field", ""))
    values = fields.get("values")
    if not name or not isinstance(values, dict) or not values:
        raise ConfigError("a spec claim needs field: NAME and values: {model: value}")
    verdicts, evidence = [], []
    for model, value in values.items():
        stored = report.model_info[_model(report, model)].get(name)
        if stored is None:
            raise _NotMeasurableError(f"{model}: {name} is not in the model's metadata")
        same = str(stored) == str(value)
        verdicts.append(same)
        evidence.append(f"{model}: claimed {value}, model file says {stored}")
    return (CONSISTENT if all(verdicts) else CONTRADICTED), f"{name}: " + "; ".join(evidence)


_CHECKS = {
    "score": _check_score,
    "better": _check_better,
    "lower_latency": _check_latency,
    "spec": _check_spec,
}
