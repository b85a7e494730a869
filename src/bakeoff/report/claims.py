"""Check a vendor's claims against stored measurements.

A claims file (YAML) lists claims, each with a ``kind``:

* ``score``: ``task``, optional ``metric`` (default: the task's primary), ``scores: {model:
  value}`` in the report's units (percent for accuracies). Consistent when every claimed value
  lies in the measured 95% interval; contradicted when one lies outside. ``task: glue`` or
  ``superglue`` is the suite's leaderboard average (bakeoff.stats.suites) ×100, with a
  bootstrap interval that resamples each task's samples; not measurable, naming the tasks,
  when the run lacks some of them.
* ``better``: ``model`` beats ``than`` on ``task`` (primary metric): the paired test's verdict.
* ``lower_latency``: ``model`` answers faster per sample than ``than``: paired t-test on the
  per-sample seconds both models spent on the same samples.
* ``spec``: ``field`` of the model info (``context_length``, ``parameters``, ...) with ``values:
  {model: value}``: consistent when equal to what the model file says (a number written with a
  K/M/B suffix, "32K" or "270M", is rounded: within 5% is consistent).
* ``table``: a vendor comparison table, ``models: [...]`` (the columns) and ``rows: {row:
  [one value per model]}``; a row named after a model-info field is a spec claim, any other a
  score claim on that task (``task/metric`` for another metric). ``-`` or null: not claimed.

Numbers may be written 88.5, "88.5%", "32K", "270M" or "1.5B".

Verdicts: "consistent", "contradicted" or "not measurable" (no such task or model in the run,
data not available offline, or a difference too small to call at this sample size).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelInfo
from bakeoff.core.records import TaskRecord
from bakeoff.report.model.tasks import metric_inputs, metric_specs
from bakeoff.report.model.timing import compare_latency, sample_seconds
from bakeoff.report.model.view import MetricReport, ReportModel, TaskReport
from bakeoff.stats.intervals import Interval
from bakeoff.stats.suites import (
    SUITE_AVERAGES,
    SUITE_PARTS,
    TaskInputs,
    suite_interval,
    suite_tasks,
)
from bakeoff.storage.base import Store

CONSISTENT, CONTRADICTED, NOT_MEASURABLE = "consistent", "contradicted", "not measurable"
KINDS = ("score", "better", "lower_latency", "spec")
REQUIRED = {
    "score": ("task", "scores"),
    "better": ("task", "model", "than"),
    "lower_latency": ("model", "than"),
    "spec": ("field", "values"),
}
SPEC_FIELDS = frozenset(f.name for f in dataclasses.fields(ModelInfo)) | {"is_moe"}
ROUNDED_TOLERANCE = 0.05
"""A spec claimed with a K/M/B suffix ("32K", "270M") is rounded: within 5% is consistent."""


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


def _one_line(exc: Exception) -> str:
    """A YAML error's message (problem, line and column) on one line."""
    return " ".join(str(exc).split())


def load_claims(path: Path) -> tuple[str | None, list[Claim]]:
    """(run named in the file or None, claims). Malformed files raise ConfigError."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read claims file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"claims file {path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"claims file {path} is not valid YAML: {_one_line(exc)}") from None
    run = None
    if isinstance(data, dict):
        run = str(data["run"]) if data.get("run") else None
        data = data.get("claims")
    if not isinstance(data, list) or not data:
        raise ConfigError(f"claims file {path}: expected a list of claims (or claims: [...])")
    claims = []
    for index, item in enumerate(data, 1):
        where = f"claims file {path}: claim {index}"
        if not isinstance(item, dict) or item.get("kind") not in (*KINDS, "table"):
            raise ConfigError(f"{where} needs kind: one of {', '.join((*KINDS, 'table'))}")
        if item["kind"] == "table":
            claims += _table_claims(item, where)
            continue
        _check_fields(item, where)
        claims.append(Claim(str(item.get("claim") or f"claim {index}"), str(item["kind"]), item))
    return run, claims


def _check_fields(item: Mapping[str, Any], where: str) -> None:
    """Refuse a malformed claim when the file is read, not halfway through checking."""
    kind = item["kind"]
    for name in REQUIRED[kind]:
        if not item.get(name):
            raise ConfigError(f"{where} ({kind}) needs {name}")
    if kind == "score":
        scores = item["scores"]
        if not isinstance(scores, dict):
            raise ConfigError(f"{where} (score) needs scores: {{model: value}}")
        for value in scores.values():
            claimed_number(value, where)
    if kind == "spec" and not isinstance(item["values"], dict):
        raise ConfigError(f"{where} (spec) needs values: {{model: value}}")


def _table_claims(item: Mapping[str, Any], where: str) -> list[Claim]:
    """A vendor comparison table: ``models`` (the columns) and ``rows`` {task or model-info
    field: [one value per model]}; each row becomes a score or spec claim."""
    models, rows = item.get("models"), item.get("rows")
    if not isinstance(models, list) or not models or not isinstance(rows, dict) or not rows:
        raise ConfigError(f"{where} (table) needs models: [...] and rows: {{row: [values]}}")
    title = str(item.get("claim") or "comparison table")
    claims = []
    for row, values in rows.items():
        if not isinstance(values, list) or len(values) != len(models):
            raise ConfigError(f"{where} (table): row {row!r} needs one value per model")
        given = {str(m): v for m, v in zip(models, values, strict=True) if v not in (None, "-")}
        text = f"{title} — {row}: " + ", ".join(f"{m} {v}" for m, v in given.items())
        name = str(row)
        if name in SPEC_FIELDS:
            fields: dict[str, Any] = {"kind": "spec", "field": name, "values": given}
        else:
            task, _, metric = name.partition("/")
            fields = {"kind": "score", "task": task, "metric": metric or None, "scores": given}
        _check_fields(fields, f"{where} (table row {name!r})")
        claims.append(Claim(text, str(fields["kind"]), fields))
    return claims


def claimed_number(value: object, where: str = "claim") -> tuple[float, bool]:
    """A claimed number and whether it was rounded: 88.5, "88.5%", "32K", "270M", "1.5B"."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: {value!r} is not a number")
    if isinstance(value, int | float):
        return float(value), False
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(%|[kKmMbB])?\s*", str(value))
    if not match:
        raise ConfigError(f"{where}: {value!r} is not a number (e.g. 88.5, 88.5%, 32K, 270M)")
    number, suffix = float(match.group(1)), (match.group(2) or "").upper()
    scale = {"": 1.0, "%": 1.0, "K": 1e3, "M": 1e6, "B": 1e9}[suffix]
    return number * scale, suffix in ("K", "M", "B")


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


def _unavailable_name(name: str) -> str:
    """A task the run set aside is recorded as its spec, ``glue-cola`` or ``xstest:FILE``."""
    return name.partition(":")[0].lower()


def _offline(report: ReportModel, names: Sequence[str]) -> str | None:
    """ "data not available offline" evidence for those of ``names`` the run set aside."""
    reasons = {_unavailable_name(u.name): u.reason for u in report.unavailable}
    found = [n for n in names if n.lower() in reasons]
    if not found:
        return None
    return f"data not available offline for {', '.join(found)} ({reasons[found[0].lower()]})"


def _task(report: ReportModel, name: object) -> TaskReport:
    wanted = str(name or "")
    matches = [t for t in report.tasks if t.name == wanted] or [
        t for t in report.tasks if t.name.lower().startswith(wanted.lower() + "-")
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        offline = _offline(report, [wanted]) or _offline(
            report,
            [
                u.name.partition(":")[0]
                for u in report.unavailable
                if _unavailable_name(u.name).startswith(wanted.lower() + "-")
            ],
        )
        if offline:
            raise _NotMeasurableError(f"{wanted}: {offline}")
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


def _check_score(report: ReportModel, store: Store, fields: Mapping[str, Any]) -> tuple[str, str]:
    suite = str(fields.get("task") or "").lower()
    if suite in SUITE_PARTS and not fields.get("metric"):
        return _check_suite_score(report, store, suite, fields["scores"])
    task = _task(report, fields.get("task"))
    metric = _metric(task, fields.get("metric"))
    scores = {s.model: s for s in metric.scores}
    verdicts, evidence = [], []
    for model, value in fields["scores"].items():
        score = scores[_model(report, model)]
        inside, text = _within(
            model,
            claimed_number(value)[0],
            score.interval,
            metric.scale,
            f"{task.name}/{metric.name}",
            f" over {score.n} samples",
        )
        verdicts.append(inside)
        evidence.append(text)
    return (CONSISTENT if all(verdicts) else CONTRADICTED), f"{task.name} {metric.name}: " + (
        "; ".join(evidence)
    )


def _within(
    model: str, claimed: float, interval: Interval, scale: float, what: str, detail: str
) -> tuple[bool, str]:
    """Whether a claimed number lies in the measured 95% interval (scaled as claims print it),
    and the evidence line that says so."""
    low, high = interval.low * scale, interval.high * scale
    if not (math.isfinite(low) and math.isfinite(high)):
        raise _NotMeasurableError(f"{model}: no interval for {what}")
    inside = low <= claimed <= high
    return inside, (
        f"{model}: claimed {claimed:g}, measured {interval.estimate * scale:.1f} "
        f"[{low:.1f}, {high:.1f}]{detail} ({'inside' if inside else 'outside'} the 95% CI)"
    )


SUITE_SCALE = 100.0
"""Suite scores are claimed as the leaderboards print them: 0–100."""


def _check_suite_score(
    report: ReportModel, store: Store, suite: str, claimed: Mapping[str, Any]
) -> tuple[str, str]:
    """A score claim on a suite (``glue``, ``superglue``): the leaderboard average of the run's
    task scores, with a bootstrap interval; not measurable when the run lacks any part."""
    parts = SUITE_PARTS[suite]
    label = SUITE_AVERAGES[suite][0]
    needed = suite_tasks(parts)
    measured = {t.name: t for t in report.tasks}
    missing = [name for name in needed if name not in measured]
    if missing:
        offline = _offline(report, missing)
        absent = [n for n in missing if offline is None or n not in offline]
        reasons = [offline] if offline else []
        if absent and offline:
            reasons.append(f"not in the run: {', '.join(absent)}")
        elif absent:
            reasons.append(f"not measured in run {report.run.run_id}: {', '.join(absent)}")
        raise _NotMeasurableError(f"{label} needs all of {suite}'s tasks; {'; '.join(reasons)}")
    records = {t.name: t for t in report.run.tasks}
    metrics = {task: {m for group in parts for t, m in group if t == task} for task in needed}
    verdicts, evidence = [], []
    for model, value in claimed.items():
        name = _model(report, model)
        inputs = {
            task: _task_inputs(store, report, records[task], metrics[task], name) for task in needed
        }
        interval = suite_interval(parts, inputs)
        if interval is None:
            raise _NotMeasurableError(f"{model}: a metric of the {label} is missing from the run")
        inside, text = _within(
            model, claimed_number(value)[0], interval, SUITE_SCALE, f"the {label}", ""
        )
        verdicts.append(inside)
        evidence.append(text)
    method = (
        f"{label} over {len(needed)} tasks, ×100; 95% percentile bootstrap resampling each "
        "task's samples"
    )
    return (CONSISTENT if all(verdicts) else CONTRADICTED), f"{method}: " + "; ".join(evidence)


def _task_inputs(
    store: Store, report: ReportModel, task: TaskRecord, wanted: set[str], model: str
) -> TaskInputs:
    """metric → (the model's finished samples' inputs, aggregation) for the ``wanted`` metrics
    of one task; rows are the samples that have all of them, in one order, so that a task's
    metrics are resampled together."""
    specs = [s for s in metric_specs(task.manifest) if s.name in wanted]
    records = sorted(
        (
            r
            for r in store.iter_results(report.run.run_id, task=task.name, model=model)
            if r.status == "ok" and all(s.name in r.metrics for s in specs)
        ),
        key=lambda r: r.sample_id,
    )
    return {spec.name: (metric_inputs(records, spec.name), spec.aggregate) for spec in specs}


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
        f"Holm {_p(comparison.p_adjusted)} ({comparison.verdict})"
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
    seconds = {
        m: sample_seconds(store.iter_results(report.run.run_id, task=task, model=m))
        for m in (model, other)
    }
    comparison = compare_latency(model, other, seconds[model], seconds[other])
    if comparison is None:
        raise _NotMeasurableError(f"fewer than two samples timed for both {model} and {other}")
    p_value = comparison.paired.p_value
    evidence = (
        f"mean seconds per sample over {comparison.n} shared samples"
        f"{f' of {task}' if task else ''}: {model} {comparison.mean_a:.3f}, {other} "
        f"{comparison.mean_b:.3f}; paired t {_p(p_value)} (timed on this machine, one "
        "request at a time)"
    )
    if not p_value < report.alpha:
        return NOT_MEASURABLE, evidence + "; no significant difference"
    return (CONSISTENT if comparison.paired.difference < 0 else CONTRADICTED), evidence


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3g}"


def _check_spec(report: ReportModel, _: Store, fields: Mapping[str, Any]) -> tuple[str, str]:
    name = str(fields["field"])
    verdicts, evidence = [], []
    for model, value in fields["values"].items():
        stored = report.model_info[_model(report, model)].get(name)
        if stored is None:
            raise _NotMeasurableError(f"{model}: {name} is not in the model's metadata")
        same, note = _same_spec(stored, value)
        verdicts.append(same)
        evidence.append(f"{model}: claimed {value}, model file says {stored}{note}")
    return (CONSISTENT if all(verdicts) else CONTRADICTED), f"{name}: " + "; ".join(evidence)


def _same_spec(stored: object, claimed: object) -> tuple[bool, str]:
    """Numbers compare as numbers (a K/M/B-rounded claim within 5%), the rest as text."""
    if isinstance(stored, int | float) and not isinstance(stored, bool):
        try:
            number, rounded = claimed_number(claimed)
        except ConfigError:
            return False, ""
        if rounded:
            off = abs(float(stored) - number) / number if number else math.inf
            return off <= ROUNDED_TOLERANCE, f" ({off:.1%} off a rounded claim)"
        return math.isclose(float(stored), number), ""
    return str(stored).strip().lower() == str(claimed).strip().lower(), ""


_CHECKS = {
    "score": _check_score,
    "better": _check_better,
    "lower_latency": _check_latency,
    "spec": _check_spec,
}
