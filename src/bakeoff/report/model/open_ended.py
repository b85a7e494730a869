"""The view model of the guide's "Open-ended quality" section: judged tasks, their judges'
reliability, and whether the guide may name a winner on judged quality.

Built from the report's view model alone (the task reports of tasks in the ``open-ended``
family and the run's task manifests): a run without such a task gets ``()``, and the section
renders nothing. Per judge, from the stored metrics:

* its sanity accuracy (``sanity_<judge>``: the share of control pairs where it graded the known-
  better answer strictly higher, an unreadable grade counting against it), over every model's
  questions (the controls are the same texts for each);
* the self-preference flag (stats/judge_checks.py): the judge is a compared model, or of its
  family.

The verdict: when any judge's accuracy is below ``SANITY_THRESHOLD`` (or unmeasured), the guide
names no winner on judged quality and says which judge failed and by how much; otherwise the
paired comparison of the mean grades (the task's primary metric) speaks, with flagged judges
named beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from bakeoff.core.types import JSONValue
from bakeoff.report.model.view import MetricReport, ReportModel, TaskReport
from bakeoff.stats import Interval
from bakeoff.stats.judge_checks import SANITY_THRESHOLD, self_preference
from bakeoff.tasks.open_ended import GradedTask
from bakeoff.tasks.open_ended._graded import SANITY_PREFIX

FAMILY = GradedTask.family


@dataclass(frozen=True, slots=True)
class JudgeCheck:
    label: str
    spec: str
    accuracy: float
    """NaN when the task had no control pairs."""
    controls: int
    """Control pairs it graded, over every compared model's questions (the same pair may be
    graded once per model)."""
    self_preference: tuple[str, ...]
    """Compared models the judge is, or shares a family with."""

    @property
    def passed(self) -> bool:
        return not math.isnan(self.accuracy) and self.accuracy >= SANITY_THRESHOLD


@dataclass(frozen=True, slots=True)
class GradedRow:
    model: str
    score: Interval
    per_answer: tuple[tuple[str, Interval], ...]
    unparsable: float
    """Share of the judges' verdicts about this model's answers with no readable grade."""
    judge_failed: float
    n: int


@dataclass(frozen=True, slots=True)
class JudgedTask:
    task: str
    prompt_version: str
    prompt_sha256: str
    rows: tuple[GradedRow, ...]
    judges: tuple[JudgeCheck, ...]
    verdicts: tuple[str, ...]
    """What the guide says about the models' judged quality, one sentence each."""
    winner_named: bool


def judged_tasks(report: ReportModel) -> tuple[JudgedTask, ...]:
    manifests = {t.name: t.manifest for t in report.run.tasks}
    specs = [m.spec for m in report.run.models]
    return tuple(
        _judged(task, manifests.get(task.name, {}), specs)
        for task in report.tasks
        if task.family == FAMILY
    )


def _judged(task: TaskReport, manifest: Mapping[str, JSONValue], specs: list[str]) -> JudgedTask:
    metrics = {m.name: m for m in task.metrics}
    config = manifest.get("config")
    config = config if isinstance(config, dict) else {}
    judges_raw = manifest.get("judges")
    judge_specs = judges_raw if isinstance(judges_raw, dict) else {}
    judges = tuple(
        _judge_check(label, str(spec), metrics.get(f"{SANITY_PREFIX}{label}"), specs)
        for label, spec in judge_specs.items()
    )
    scored = metrics["score"].scores if "score" in metrics else ()
    rows = tuple(_row(metrics, score.model) for score in scored)
    verdicts, named = _verdicts(task, judges)
    return JudgedTask(
        task=task.name,
        prompt_version=str(config.get("judge_prompt_version", "")),
        prompt_sha256=str(config.get("judge_prompt_sha256", "")),
        rows=rows,
        judges=judges,
        verdicts=verdicts,
        winner_named=named,
    )


def _estimate(metrics: Mapping[str, MetricReport], name: str, model: str) -> Interval | None:
    metric = metrics.get(name)
    if metric is None:
        return None
    return next((s.interval for s in metric.scores if s.model == model), None)


def _row(metrics: Mapping[str, MetricReport], model: str) -> GradedRow:
    nan = Interval(math.nan, math.nan, math.nan, 0.95, "")
    score_metric = metrics["score"]
    score = next(s for s in score_metric.scores if s.model == model)
    answers = tuple(
        (name, _estimate(metrics, name, model) or nan)
        for name in metrics
        if name.startswith("turn")
    )
    unparsable = _estimate(metrics, "unparsable", model)
    failed = _estimate(metrics, "judge_failed", model)
    return GradedRow(
        model=model,
        score=score.interval,
        per_answer=answers,
        unparsable=unparsable.estimate if unparsable else math.nan,
        judge_failed=failed.estimate if failed else math.nan,
        n=score.n,
    )


def _judge_check(
    label: str, spec: str, metric: MetricReport | None, specs: list[str]
) -> JudgeCheck:
    identity = spec.partition("=")[2] or spec
    compared = [s.partition("=")[2] or s for s in specs]
    flagged = tuple(self_preference(identity, compared))
    if metric is None or not metric.scores:
        return JudgeCheck(label, identity, math.nan, 0, flagged)
    total = sum(s.n for s in metric.scores)
    hits = sum(s.interval.estimate * s.n for s in metric.scores if s.n)
    return JudgeCheck(label, identity, hits / total if total else math.nan, total, flagged)


def _verdicts(task: TaskReport, judges: tuple[JudgeCheck, ...]) -> tuple[tuple[str, ...], bool]:
    flags = tuple(
        f"{j.label} is, or is of the same family as, {', '.join(j.self_preference)}: judges "
        "tend to prefer their own kind's answers; weigh its grades of that model with care."
        for j in judges
        if j.self_preference
    )
    if not judges:
        return ("No judge is recorded for this task: no winner is named on judged quality.",), False
    failing = [j for j in judges if not j.passed]
    if failing:
        reasons = ", ".join(
            f"{j.label} graded the known-better answer higher in {_percent(j.accuracy)} of "
            f"{j.controls} control gradings"
            if not math.isnan(j.accuracy)
            else f"{j.label} was not checked on control pairs"
            for j in failing
        )
        refusal = (
            f"No winner is named on judged quality: {reasons}, below the "
            f"{_percent(SANITY_THRESHOLD)} a judge must reach before its grades are trusted. "
            "The grades are shown, not used."
        )
        return (refusal, *flags), False
    primary = task.primary
    compared = tuple(
        f"{c.model_a} vs {c.model_b} on mean grade: {c.verdict} "
        f"(p = {c.p_adjusted:.3g}, Holm-adjusted)."
        for c in (primary.comparisons if primary else [])
    )
    return (*compared, *flags), True


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.0f}%"
