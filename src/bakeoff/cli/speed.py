"""``bakeoff speed``: latency and throughput under load, memory and energy, per request stored.

Example: ``bakeoff speed -m llamacpp:gemma3-270m --concurrency 1,2 --prompt-lengths 128,512
--output-tokens 64,256 --requests 8 --slo ttft=500ms,itl=50ms``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bakeoff.cli.common import add_db_option, open_store, stdout_console
from bakeoff.cli.terminal import plain
from bakeoff.core.errors import ConfigError

if TYPE_CHECKING:
    from bakeoff.speed.lab import SpeedConfig


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
    from bakeoff.core.model import ModelSpec
    from bakeoff.speed.lab import SpeedConfig
    from bakeoff.speed.metrics import parse_slo

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


def handle(args: argparse.Namespace) -> int:
    from bakeoff.cli._speed_output import LiveProgress, print_tables, write_report
    from bakeoff.report.model.speed_lab import build_speed_section
    from bakeoff.speed.lab import Progress as LabProgress
    from bakeoff.speed.lab import run_speed
    from bakeoff.storage.speed_store import SpeedStore

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
        report = plain(args.report)
        console.print(f"wrote {report}.md and {report}.html", markup=False)
    return 0
