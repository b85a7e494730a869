"""``bakeoff demo``: the bundled head-to-head, Gemma 3 270M vs SmolLM2 135M, then the report."""

from __future__ import annotations

import argparse
from pathlib import Path

from bakeoff.cli.common import add_db_option, open_store, stdout_console
from bakeoff.cli.run import run_plan
from bakeoff.cli.terminal import markup

DEFAULT_MODELS = ("gemma3-270m=llamacpp:gemma3-270m", "smollm2-135m=llamacpp:smollm2-135m")
QUANTIZED_MODEL = "gemma3-270m-q3=llamacpp:gemma3-270m-q3_k_m"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="compare the bundled Gemma 3 270M and SmolLM2 135M on the built-in probe suite",
    )
    parser.add_argument(
        "--quantized",
        action="store_true",
        help="add a third model: Gemma re-quantized to Q3_K_M (the quantization trade-off)",
    )
    parser.add_argument("--limit", type=int, help="at most N samples per task")
    parser.add_argument("-o", "--out-dir", default=".", help="folder for report.html/report.md")
    add_db_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from bakeoff.core.model import ModelSpec
    from bakeoff.report.write import write_reports  # numpy/scipy only when a report is written
    from bakeoff.runner.plan import RunConfig, make_plan

    models = DEFAULT_MODELS + ((QUANTIZED_MODEL,) if args.quantized else ())
    config = RunConfig(
        models=tuple(ModelSpec.parse(m) for m in models),
        suites=("demo",),
        limit=args.limit,
        name="demo" + ("-quantized" if args.quantized else ""),
    )
    plan = make_plan(config)
    outcome = run_plan(plan, args.db)
    store = open_store(args.db, create=False)
    try:
        written = write_reports(store, outcome.run_id, Path(args.out_dir))
    finally:
        store.close()
    console = stdout_console()
    for path in written:
        console.print(f"wrote {markup(path)}")
    return 0 if outcome.failed == 0 else 1
