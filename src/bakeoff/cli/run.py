"""``bakeoff run``: run models on tasks, storing every finished sample (resumable).

The parser is all this module loads up front; the runner, the backends and Rich are imported
when a run starts (``bakeoff --help`` stays fast).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from bakeoff.cli.common import add_db_option, open_store, stderr_console, stdout_console
from bakeoff.cli.terminal import markup
from bakeoff.core.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from bakeoff.runner.dry_run import ModelEstimate
    from bakeoff.runner.plan import Plan, RunConfig
    from bakeoff.runner.run import RunOptions, RunOutcome


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
    parser.add_argument(
        "--judge",
        action="append",
        default=[],
        metavar="SPEC",
        help="[label=]backend:target, a model grading open-ended answers (mt-bench, rubric:...)",
    )
    parser.add_argument("--limit", type=int, help="at most N samples per task")
    parser.add_argument("--seed", type=int, default=0, help="seed for sampling (default 0)")
    parser.add_argument("--name", default="", help="a name for the run (part of its identity)")
    parser.add_argument(
        "--batch-size",
        type=int,
        help="samples per stored chunk (default 8; hf: 32 for log-likelihood tasks)",
    )
    parser.add_argument(
        "--max-cost",
        type=float,
        metavar="USD",
        help="stop cleanly (resumable) before API requests could cost more than this",
    )
    parser.add_argument(
        "--prices",
        metavar="FILE",
        help="YAML/JSON prices per 1M tokens overriding the offline catalog (else $BAKEOFF_PRICES)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the requests, tokens and cost the run would need; send nothing",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="send API requests even when the request cache has their answer",
    )
    parser.add_argument(
        "--data-dir",
        help="local folder with benchmark data (else $BAKEOFF_DATA_DIR, else the Hugging Face hub)",
    )
    add_db_option(parser)
    parser.set_defaults(handler=handle)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    from bakeoff.core.model import ModelSpec
    from bakeoff.runner.plan import RunConfig

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
        judges=tuple(ModelSpec.parse(text) for text in args.judge),
    )


def run_options(args: argparse.Namespace) -> RunOptions:
    from bakeoff.pricing.catalog import PriceCatalog
    from bakeoff.runner.run import RunOptions

    if args.max_cost is not None and not args.max_cost >= 0:
        raise ConfigError("--max-cost must be a number of dollars >= 0")
    return RunOptions(
        use_cache=not args.no_cache,
        max_cost=args.max_cost,
        prices=PriceCatalog.load(args.prices),
    )


def run_plan(
    plan: Plan, db: str, options: RunOptions | None = None, *, list_skipped: bool = True
) -> RunOutcome:
    """Preflight every model, then run with progress bars. Shared by ``run`` and ``demo``
    (which says what it skipped in its own words: ``list_skipped=False``)."""
    from bakeoff.backends.base import preflight
    from bakeoff.cli.progress import RichProgress
    from bakeoff.runner.judging import preflight_judges
    from bakeoff.runner.run import RunOptions, execute_plan, model_prices

    for spec in plan.models:
        preflight(spec)
    preflight_judges(plan)  # a judge's missing file or key fails before the database is touched
    model_prices(plan, options or RunOptions())  # a missing price fails before anything is written
    store = open_store(db, create=True)
    console = stderr_console()
    n_samples = sum(len(s) for s in plan.samples.values())
    console.print(
        f"run [bold]{plan.run_id[:12]}[/bold] ({markup(plan.name)}): "
        f"{_count(len(plan.models), 'model')} × {_count(len(plan.tasks), 'task')}, "
        f"{_count(n_samples, 'sample')} per model → {markup(db)}",
        soft_wrap=True,  # a long database path stays on the line, copyable
    )
    for name, reason in plan.unavailable if list_skipped else ():
        console.print(
            f"[yellow]skipped {markup(name)}[/yellow]: {markup(reason, multiline=True)}",
            soft_wrap=True,
        )
    try:
        with RichProgress(console) as progress:
            outcome = execute_plan(plan, store, progress=progress, options=options)
    finally:
        store.close()
    state = "resumed" if outcome.resumed else "new"
    console.print(
        f"{state} run {outcome.run_id[:12]}: {outcome.computed} samples computed, "
        f"{outcome.skipped} already stored, {outcome.failed} failed"
    )
    _print_api_summary(console, outcome)
    if outcome.failed:
        console.print("[yellow]some samples failed; rerun the same command to retry them[/yellow]")
    return outcome


def _print_api_summary(console: Console, outcome: RunOutcome) -> None:
    from bakeoff.runner.fallback import FORMULATION_LABEL

    if outcome.requests_sent or outcome.cache_hits:
        console.print(
            f"API: {outcome.requests_sent} HTTP requests ({outcome.retries} retries), "
            f"{outcome.cache_hits} answered from the request cache, "
            f"${outcome.spent_usd:.4f} spent (${outcome.run_spent_usd:.4f} on this run so far)"
        )
    for model, limits in outcome.rate_limits.items():
        if limits:  # the limits the provider reported, and any backing off on its 429s
            shown = ", ".join(f"{name} {value}" for name, value in limits.items())
            console.print(f"rate limits of {markup(model)}: {markup(shown)}", soft_wrap=True)
    for model, tasks in outcome.fallback_tasks.items():
        console.print(
            f"[yellow]{markup(model)}: no log-probabilities from this API; "
            f"{markup(', '.join(tasks))} scored by {FORMULATION_LABEL}[/yellow]",
            soft_wrap=True,
        )


def print_dry_run(plan: Plan, db: str, options: RunOptions) -> None:
    from bakeoff.backends.base import preflight
    from bakeoff.pricing.catalog import PriceCatalog
    from bakeoff.runner.dry_run import estimate_plan
    from bakeoff.runner.fallback import FORMULATION_LABEL
    from bakeoff.runner.judging import preflight_judges

    for spec in plan.models:
        preflight(spec)
    preflight_judges(plan)
    store = open_store(db, create=False) if Path(db).exists() else None
    try:
        catalog = options.prices or PriceCatalog.load()
        estimates = estimate_plan(plan, store, catalog, use_cache=options.use_cache)
    finally:
        if store is not None:
            store.close()
    console = stdout_console()
    console.print(f"dry run {plan.run_id[:12]} ({markup(plan.name)}): nothing is sent")
    for e in estimates:
        console.print(f"  {_estimate_line(e)}", soft_wrap=True)
    for e in estimates:
        if e.lettered_tasks:
            console.print(
                f"{markup(e.label)}: {markup(', '.join(e.lettered_tasks))} would be scored by "
                f"{FORMULATION_LABEL}",
                soft_wrap=True,
            )
    total = sum(e.usd for e in estimates)
    limit = "" if options.max_cost is None else f" (--max-cost ${options.max_cost:.4f})"
    unknown = [e.label for e in estimates if e.metered and e.price is None]
    console.print(
        f"estimated cost at most ${total:.4f}{limit}"
        + (f", plus {markup(', '.join(unknown))} (no price known)" if unknown else "")
        + ": prompt tokens ≈ characters / 4, output tokens at most max_tokens"
        + " (and reasoning at most the thinking_budget)",
        soft_wrap=True,
    )


def _estimate_line(e: ModelEstimate) -> str:
    if e.price is not None:
        cached = e.price.cache_read_per_1m
        price = (
            f"${e.price.input_per_1m:g} / ${e.price.output_per_1m:g} per 1M"
            + ("" if cached is None else f", cached input ${cached:g}")
            + f", blended 3:1 ${e.price.blended_per_1m:.4g} ({e.price.source})"
        )
        cost = f"${e.usd:.4f}"
    elif e.metered:
        price, cost = "no price in the catalog (add one with --prices)", "unknown"
    else:
        price, cost = "local, no per-token price", "$0"
    return (
        f"{markup(e.label)}: {e.samples} samples, {e.requests} requests ({e.cached} answered by "
        f"the request cache), to send ≈ {e.to_send.prompt_tokens:,} prompt + ≤ "
        f"{e.to_send.max_output_tokens:,} output tokens"
        + (f" + ≤ {thinking:,} reasoning" if (thinking := e.to_send.reasoning_tokens) else "")
        + f"; {markup(price)}; cost ≤ {cost}"
    )


def handle(args: argparse.Namespace) -> int:
    from bakeoff.runner.plan import make_plan

    plan = make_plan(config_from_args(args))
    options = run_options(args)
    if args.dry_run:
        print_dry_run(plan, args.db, options)
        return 0
    outcome = run_plan(plan, args.db, options)
    stdout_console().print(
        f"next: bakeoff report {outcome.run_id[:12]} --db {markup(args.db)}", soft_wrap=True
    )
    return 0 if outcome.failed == 0 else 1


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
