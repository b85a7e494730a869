"""``bakeoff speed``: latency and throughput under load, memory and energy, per request stored.

Example: ``bakeoff speed -m llamacpp:gemma3-270m --concurrency 1,2 --prompt-lengths 128,512
--output-tokens 64,256 --requests 8 --slo ttft=500ms,itl=50ms``.
"""

from __future__ import annotations

import argparse
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

from bakeoff.cli.common import add_db_option, open_store, stdout_console
from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelSpec
from bakeoff.core.speed_records import Scenario
from bakeoff.report.html import speed_html_page
from bakeoff.report.markdown import speed_markdown
from bakeoff.report.model.speed_lab import SpeedSection, build_speed_section
from bakeoff.report.speed_lab import (
    latency_rows,
    note_lines,
    phase_rows,
    resource_rows,
    throughput_rows,
)
from bakeoff.speed.lab import Progress as LabProgress
from bakeoff.speed.lab import SpeedConfig, run_speed
from bakeoff.speed.load import Outcome
from bakeoff.speed.metrics import parse_slo
from bakeoff.storage.speed_store import SpeedStore


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "speed", help="measure latency, throughput under load, memory and energy"
    )
    parser.add_argument(
        "-m",
        "--model",
        action="append",
        default=[],
        metavar="SPEC",
        help="llamacpp:PATH|alias or openai:MODEL,base_url=URL (repeat)",
    )
    parser.add_argument("--concurrency", default="1", help="closed-loop levels, e.g. 1,2,4")
    parser.add_argument("--prompt-lengths", default="128", help="prompt tokens, e.g. 128,512")
    parser.add_argument("--output-tokens", default="64", help="tokens per answer, e.g. 64,256")
    parser.add_argument("--requests", type=int, default=8, help="measured requests per point")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up requests per point")
    parser.add_argument("--rate", type=float, help="Poisson arrivals per second (cap: concurrency)")
    parser.add_argument("--slo", help="goodput bounds, e.g. ttft=500ms,itl=50ms (also tpot, e2e)")
    parser.add_argument("--seed", type=int, default=0, help="prompt and arrival seed")
    parser.add_argument("--name", default="", help="a name for the speed run")
    parser.add_argument(
        "--report", metavar="PATH", help="also write PATH.md and PATH.html (tables and charts)"
    )
    parser.add_argument(
        "--show",
        metavar="RUN",
        nargs="?",
        const="latest",
        help="print a stored speed run instead of measuring",
    )
    add_db_option(parser)
    parser.set_defaults(handler=handle)  # fmt: skip


def int_list(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{option} takes comma-separated integers, got '{text}'") from None
    if not values:
        raise ConfigError(f"{option} needs at least one value")
    return values


def config_from_args(args: argparse.Namespace) -> SpeedConfig:
    if not args.model:
        raise ConfigError("give at least one model: -m llamacpp:gemma3-270m")
    return SpeedConfig(
        models=tuple(ModelSpec.parse(text) for text in args.model),
        concurrency=int_list(args.concurrency, "--concurrency"),
        prompt_lengths=int_list(args.prompt_lengths, "--prompt-lengths"),
        output_tokens=int_list(args.output_tokens, "--output-tokens"),
        requests=args.requests,
        warmup=args.warmup,
        rate=args.rate,
        slo=parse_slo(args.slo),
        seed=args.seed,
        name=args.name,
    )


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
        label = (
            f"{model} · prompt {scenario.prompt_tokens} · output {scenario.output_tokens} · "
            + scenario.key().rsplit("-", 1)[-1]
        )
        self._task = self._progress.add_task(label, total=total, failed=0)

    def request(self, outcome: Outcome) -> None:
        if self._task is None:
            return
        self._failed += outcome.error is not None
        self._progress.update(self._task, advance=1, failed=self._failed)


def handle(args: argparse.Namespace) -> int:
    console = stdout_console()
    config = None
    if args.show is None:
        config = config_from_args(args)
        config.validate()  # before the store is touched: bad input never leaves a half-run
    store = open_store(args.db, create=config is not None)
    try:
        speed_store = SpeedStore(store)
        ref = args.show
        if config is not None:
            with LiveProgress(console) as live:
                progress = LabProgress(on_scenario=live.scenario, on_request=live.request)
                ref = run_speed(config, speed_store, progress)
        section = build_speed_section(speed_store, ref)
    finally:
        store.close()
    print_tables(console, section)
    if args.report:
        write_report(Path(args.report), section)
        console.print(f"wrote {args.report}.md and {args.report}.html", markup=False)
    return 0


def print_tables(console: Console, section: SpeedSection) -> None:
    for title, (header, rows) in (
        ("throughput", throughput_rows(section)),
        ("latency (ms)", latency_rows(section)),
        ("prompt processing vs generation (lowest concurrency)", phase_rows(section)),
        ("memory and energy", resource_rows(section)),
    ):
        table = Table(title=title)
        for column in header:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    for line in note_lines(section):
        console.print(line, markup=False)
    console.print(f"speed run {section.run.speed_run_id[:12]}", markup=False)


def write_report(base: Path, section: SpeedSection) -> None:
    try:
        base.with_suffix(".md").write_text(speed_markdown(section), encoding="utf-8")
        base.with_suffix(".html").write_text(speed_html_page(section), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write report {base}: {exc.strerror}") from None
