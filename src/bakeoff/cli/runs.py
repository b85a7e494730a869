"""``bakeoff runs``: list stored runs."""

from __future__ import annotations

import argparse

from rich.table import Table

from bakeoff.cli.common import add_db_option, open_store, stdout_console


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("runs", help="list the runs stored in the database")
    add_db_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    store = open_store(args.db, create=False)
    try:
        runs = store.list_runs()
    finally:
        store.close()
    console = stdout_console()
    if not runs:
        console.print(f"no runs in {args.db}")
        return 0
    table = Table(title=f"runs in {args.db}")
    for column in ("run", "name", "status", "models", "tasks", "samples", "failed", "updated"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            run.run_id[:12],
            run.name,
            run.status,
            ", ".join(run.models),
            ", ".join(run.tasks),
            f"{run.n_results}/{run.n_expected}",
            str(run.n_failed),
            run.updated_at,
        )
    console.print(table)
    return 0
