"""``bakeoff run``: run models on tasks, storing every finished sample (resumable)."""

from __future__ import annotations

import argparse
import os

from rich.markup import escape

from bakeoff.backends.base import ModelSpec, preflight
from bakeoff.cli.common import add_db_option, open_store, stderr_console, stdout_console
from bakeoff.cli.progress import RichProgress
from bakeoff.core.errors import ConfigError
from bakeoff.runner.plan import Plan, RunConfig, make_plan
from bakeoff.runner.run import RunOutcome, execute_plan


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run models on tasks and store the results (rerun the same command to resume)",
    )
    parser.add_argument(
        "-m",
        "--model",
        action="append",
        default=[],
        metavar="SPEC",
        help="[label=]backend:target[,key=value] e.g. llamacpp:gemma3-270m (repeat for more)",
    )
    parser.add_argument(
        "-t",
        "--task",
        action="append",
        default=[],
        metavar="SPEC",
        help="name[:argument][,key=value] e.g. arithmetic,n=20 or mc:questions.jsonl",
    )
    parser.add_argument("-s", "--suite", action="append", default=[], help="a named suite")
    parser.add_argument("--limit", type=int, help="at most N samples per task")
    parser.add_argument("--seed", type=int, default=0, help="seed for sampling (default 0)")
    parser.add_argument("--name", default="", help="a name for the run (part of its identity)")
    parser.add_argument("--batch-size", type=int, default=8, help="samples per stored chunk")
    parser.add_argument(
        "--data-dir",
        help="local folder with benchmark data (else $BAKEOFF_DATA_DIR, else the Hugging Face hub)",
    )
    add_db_option(parser)
    parser.set_defaults(handler=handle)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    if args.data_dir:
        if not os.path.isdir(args.data_dir):
            raise ConfigError(f"--data-dir {args.data_dir} is not a folder")
        # Tasks look for local data through this variable (see tasks/benchmarks/_loading.py).
        os.environ["BAKEOFF_DATA_DIR"] = os.path.abspath(args.data_dir)
    return RunConfig(
        models=tuple(ModelSpec.parse(text) for text in args.model),
        task_specs=tuple(args.task),
        suites=tuple(args.suite),
        seed=args.seed,
        limit=args.limit,
        name=args.name,
        batch_size=args.batch_size,
    )


def run_plan(plan: Plan, db: str) -> RunOutcome:
    """Preflight every model, then run with progress bars. Shared by ``run`` and ``demo``."""
    for spec in plan.models:
        preflight(spec)
    store = open_store(db, create=True)
    console = stderr_console()
    n_samples = sum(len(s) for s in plan.samples.values())
    console.print(
        f"run [bold]{plan.run_id[:12]}[/bold] ({plan.name}): {len(plan.models)} models × "
        f"{len(plan.tasks)} tasks, {n_samples} samples per model → {db}"
    )
    for name, reason in plan.unavailable:
        console.print(f"[yellow]skipped {escape(name)}[/yellow]: {escape(reason)}", soft_wrap=True)
    try:
        with RichProgress(console) as progress:
            outcome = execute_plan(plan, store, progress=progress)
    finally:
        store.close()
    state = "resumed" if outcome.resumed else "new"
    console.print(
        f"{state} run {outcome.run_id[:12]}: {outcome.computed} samples computed, "
        f"{outcome.skipped} already stored, {outcome.failed} failed"
    )
    if outcome.failed:
        console.print("[yellow]some samples failed; rerun the same command to retry them[/yellow]")
    return outcome


def handle(args: argparse.Namespace) -> int:
    plan = make_plan(config_from_args(args))
    outcome = run_plan(plan, args.db)
    stdout_console().print(
        f"next: bakeoff report {outcome.run_id[:12]} --db {args.db}", soft_wrap=True
    )
    return 0 if outcome.failed == 0 else 1
