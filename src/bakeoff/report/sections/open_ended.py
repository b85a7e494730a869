"""Open-ended quality: answers graded by judge models, and how far the judges can be trusted.

Renders nothing for a run without a judged open-ended task (report.model.open_ended), so every
other guide is unchanged.
"""

from __future__ import annotations

import math

from bakeoff.report.blocks import Block, Bullets, Code, Heading, Table, para
from bakeoff.report.model.open_ended import JudgedTask, judged_tasks
from bakeoff.report.model.view import ReportModel
from bakeoff.stats import Interval
from bakeoff.stats.judge_checks import SANITY_THRESHOLD


def blocks(report: ReportModel) -> list[Block]:
    tasks = judged_tasks(report)
    if not tasks:
        return []
    out: list[Block] = [
        Heading(2, "Open-ended quality"),
        para(
            "Answers graded 1-10 by judge models. A judge is checked first: with each question "
            "it also grades a control pair, a reference answer against a known-worse one; below "
            f"{100 * SANITY_THRESHOLD:.0f}% accuracy on those its grades are shown but no winner "
            "is named. A verdict with no readable grade is counted, never given a grade."
        ),
    ]
    for task in tasks:
        out += _task_blocks(task)
    return out


def _task_blocks(task: JudgedTask) -> list[Block]:
    answers = [name for name, _ in task.rows[0].per_answer] if task.rows else []
    header = ("model", "mean grade (95% CI)", *answers, "unreadable verdicts", "n")
    rows = tuple(
        (
            row.model,
            _interval(row.score),
            *(_interval(interval) for _, interval in row.per_answer),
            _percent(row.unparsable),
            str(row.n),
        )
        for row in task.rows
    )
    judges = tuple(
        (
            judge.label,
            Code(judge.spec),
            _percent(judge.accuracy),
            str(judge.controls),
            "passed" if judge.passed else "FAILED",
            ", ".join(judge.self_preference) or "-",
        )
        for judge in task.judges
    )
    return [
        Heading(3, task.task),
        Table(header, rows, numeric_from=1),
        Table(
            ("judge", "model", "sanity accuracy", "controls judged", "check", "self-preference"),
            judges,
            numeric_from=2,
        ),
        Bullets(tuple((sentence,) for sentence in task.verdicts)),
        para(
            "Judge prompt ",
            Code(task.prompt_version),
            ", sha256 ",
            Code(task.prompt_sha256),
            " (docs/judged.md).",
            muted=True,
        ),
    ]


def _interval(interval: Interval) -> str:
    if math.isnan(interval.estimate):
        return "n/a"
    if math.isnan(interval.low):
        return f"{interval.estimate:.2f}"
    return f"{interval.estimate:.2f} ({interval.low:.2f}-{interval.high:.2f})"


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.0f}%"
