"""What ``bakeoff speed`` shows while it measures and after: live bars, tables, report files.

Apart from the parser (cli/speed.py) because it loads Rich and the report's speed section
(numpy, scipy), which a command line that only parses must not pay for.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from bakeoff.cli.terminal import markup, plain
from bakeoff.core.errors import ConfigError
from bakeoff.core.speed_records import Scenario
from bakeoff.report.html import speed_html_page
from bakeoff.report.markdown import speed_markdown
from bakeoff.report.model.speed_lab import SpeedSection
from bakeoff.report.speed_lab import (
    latency_rows,
    note_lines,
    phase_rows,
    resource_rows,
    throughput_rows,
)
from bakeoff.speed.load import Outcome


class LiveProgress:
    """One bar per model × load point; failures counted live."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=console,
        )
        self._task: TaskID | None = None
        self._failed = 0

    def __enter__(self) -> LiveProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def scenario(self, model: str, scenario: Scenario, total: int) -> None:
        self._failed = 0
        label = markup(  # the bar's column renders it as markup
            f"{model} · prompt {scenario.prompt_tokens} · output {scenario.output_tokens} · "
            + scenario.key().rsplit("-", 1)[-1]
        )
        self._task = self._progress.add_task(label, total=total, failed=0)

    def request(self, outcome: Outcome) -> None:
        if self._task is None:
            return
        self._failed += outcome.error is not None
        self._progress.update(self._task, advance=1, failed=self._failed)


def print_tables(console: Console, section: SpeedSection) -> None:
    for title, (header, rows) in (
        ("throughput", throughput_rows(section)),
        ("latency (ms)", latency_rows(section)),
        ("prompt processing vs generation (lowest concurrency)", phase_rows(section)),
        ("memory and energy", resource_rows(section)),
    ):
        table = Table(title=title)
        for column in header:
            table.add_column(markup(column), overflow="fold")
        for row in rows:
            table.add_row(*(markup(cell) for cell in row))
        console.print(table)
    for line in note_lines(section):
        console.print(plain(line, multiline=True), markup=False)
    console.print(f"speed run {plain(section.run.speed_run_id[:12])}", markup=False)


def write_report(base: Path, section: SpeedSection) -> None:
    try:
        base.with_suffix(".md").write_text(speed_markdown(section), encoding="utf-8")
        base.with_suffix(".html").write_text(speed_html_page(section), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write report {base}: {exc.strerror}") from None
