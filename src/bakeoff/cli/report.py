"""``bakeoff report``: write report.html and report.md for a stored run."""

from __future__ import annotations

import argparse
from pathlib import Path

from bakeoff.cli.common import add_db_option, open_store, stdout_console
from bakeoff.cli.terminal import markup
from bakeoff.core.errors import ConfigError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("report", help="write the comparison report of a stored run")
    parser.add_argument("run", nargs="?", default="latest", help="run id, prefix or name")
    parser.add_argument("-o", "--out-dir", default=".", help="folder for the report files")
    parser.add_argument(
        "--format",
        action="append",
        choices=("html", "md", "json"),
        help="html, md and/or json (default html and md)",
    )
    parser.add_argument(
        "--weights", metavar="FILE", help="YAML use-case profiles: {profile: {criterion: weight}}"
    )
    parser.add_argument(
        "--price-per-hour",
        type=float,
        metavar="USD",
        help="hardware price per hour, for the self-hosting cost estimate",
    )
    add_db_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out-dir {out_dir} is not a folder")
    from bakeoff.report.model.profiles import load_weights
    from bakeoff.report.write import write_reports  # numpy/scipy only when a report is written

    profiles = load_weights(Path(args.weights)) if args.weights else None
    if args.price_per_hour is not None and not args.price_per_hour >= 0:
        raise ConfigError("--price-per-hour must be a number >= 0")
    store = open_store(args.db, create=False)
    try:
        written = write_reports(
            store,
            args.run,
            out_dir,
            tuple(args.format or ("html", "md")),
            profiles=profiles,
            price_per_hour=args.price_per_hour,
        )
    finally:
        store.close()
    console = stdout_console()
    for path in written:
        console.print(f"wrote {markup(path)}")
    return 0
