"""Whether a demo's guide measured every section the demo covers.

``python -m tests.cli.demo_guide FOLDER`` (CI runs it after ``bakeoff demo`` with the shared
data): FOLDER holds the demo's report.md and bakeoff.db. Exit 1, listing what is missing, when a
section of the guide has no data, a task of the demo suite is not in it, a task was set aside
for want of data, the speed sweep, memory or cost of a model is missing, or the guide says it
has no data ("No data stored", "not available").
"""

from __future__ import annotations

import sys
from pathlib import Path

from bakeoff.report.model import build_report
from bakeoff.report.model.view import ReportModel
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.base import SUITES
from bakeoff.tasks.catalog import TaskSpec

NO_DATA_PHRASES = ("No data stored", "not available")
DEMO_SECTIONS = ("benchmarks", "multilingual", "conversation", "safety")
"""The guide sections with tasks that the demo fills (open-ended answers need a judge model,
which the demo does not have)."""


def demo_task_names(suite: str = "demo") -> list[str]:
    """The names the demo suite's tasks are stored under (``name`` or ``name:argument``)."""
    names = []
    for text in SUITES[suite]:
        spec = TaskSpec.parse(text)
        names.append(f"{spec.name}:{spec.argument}" if spec.argument else spec.name)
    return names


def unmeasured(folder: Path, suite: str = "demo") -> list[str]:
    """What the guide in ``folder`` lacks; empty when every section is measured."""
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    problems = [f"report.md says {p!r}" for p in NO_DATA_PHRASES if p in markdown]
    store = SqliteStore(folder / "bakeoff.db", create=False)
    try:
        report = build_report(store, "latest")
    finally:
        store.close()
    return problems + model_gaps(report, demo_task_names(suite))


def model_gaps(report: ReportModel, expected_tasks: list[str]) -> list[str]:
    problems = [f"section {s} has no task" for s in DEMO_SECTIONS if not report.section_tasks(s)]
    stored = {t.name: t for t in report.tasks}
    problems += [
        f"task {name} is not in the guide" for name in expected_tasks if name not in stored
    ]
    problems += [f"task {u.name} had no data: {u.reason}" for u in report.unavailable]
    for task in report.tasks:
        for score in task.metrics[0].scores if task.metrics else ():
            if score.n == 0:
                problems.append(f"{task.name}: no finished sample for {score.model}")
    if report.speed_lab is None:
        problems.append("no speed sweep in the guide")
    else:
        swept = {m.label for m in report.speed_lab.models}
        problems += [f"{m} is not in the speed sweep" for m in report.models if m not in swept]
    sized = {row.model for row in report.hardware if row.weights_bytes}
    problems += [f"no memory figures for {m}" for m in report.models if m not in sized]
    costed = {row.model for row in report.cost if row.seconds_per_1m_tokens is not None}
    problems += [f"no cost for {m}" for m in report.models if m not in costed]
    if not report.profiles:
        problems.append("no recommendation profiles")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.cli.demo_guide FOLDER", file=sys.stderr)
        return 2
    problems = unmeasured(Path(argv[0]))
    for problem in problems:
        print(f"demo guide: {problem}", file=sys.stderr)
    if not problems:
        print(f"demo guide: every section measured ({argv[0]}/report.md)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
