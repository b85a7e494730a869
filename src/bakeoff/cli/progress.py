"""Rich progress bars for runs: one bar per (model, task), with counts, rate and ETA.

Imported when a run starts, not by the parser (Rich's progress module is not free to load).
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bakeoff.cli.terminal import markup


class RichProgress:
    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._current: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def model_loading(self, model: str) -> None:
        self._progress.console.print(f"[dim]loading {markup(model)}…[/dim]")

    def task_started(self, model: str, task: str, total: int, done: int) -> None:
        label = markup(f"{model} · {task}")  # the bar's column renders it as markup
        self._current = self._progress.add_task(label, total=total, completed=done)

    def advance(self, count: int) -> None:
        if self._current is not None:
            self._progress.advance(self._current, count)

    def task_finished(self, model: str, task: str) -> None:
        self._current = None
