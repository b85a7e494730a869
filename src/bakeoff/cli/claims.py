"""``bakeoff check-claims FILE [RUN]``: each claim's verdict against stored measurements."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from bakeoff.cli.common import add_db_option, open_store, stdout_console
from bakeoff.cli.terminal import markup


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check-claims", help="check a YAML list of claims against a stored run"
    )
    parser.add_argument("file", help="claims YAML (see examples/claims.yaml)")
    parser.add_argument(
        "run", nargs="?", help="run id, prefix or name (default: file's, else latest)"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    add_db_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from rich.table import Table

    from bakeoff.report.claims import check_claims, load_claims
    from bakeoff.report.model import build_report

    file_run, claims = load_claims(Path(args.file))
    store = open_store(args.db, create=False)
    try:
        report = build_report(store, args.run or file_run or "latest", max_disagreements=0)
        verdicts = check_claims(report, store, claims)
    finally:
        store.close()
    console = stdout_console()
    if args.format == "json":
        payload = {"run": report.run.run_id, "verdicts": [asdict(v) for v in verdicts]}
        console.out(json.dumps(payload, indent=2, ensure_ascii=False), highlight=False)
        return 0
    table = Table(title=f"claims vs run {markup(report.run.run_id)}", show_lines=True)
    for column in ("claim", "verdict", "evidence"):
        table.add_column(column, overflow="fold")
    colors = {"consistent": "green", "contradicted": "red"}
    for v in verdicts:
        color = colors.get(v.verdict, "yellow")
        table.add_row(
            markup(v.claim, multiline=True),
            f"[{color}]{markup(v.verdict)}[/{color}]",
            markup(v.evidence),
        )
    console.print(table)
    return 0
