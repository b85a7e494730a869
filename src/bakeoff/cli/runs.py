"""``bakeoff runs``: list stored runs."""

from __future__ import annotations

import argparse

from bakeoff.cli.common import add_db_option, open_store, stdout_console
from bakeoff.cli.terminal import markup


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("runs", help="list the runs stored in the database")
    add_db_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from rich.table import Table

    store = open_store(args.db, create=False)
    try:
        runs = store.list_runs()
    finally:
        store.close()
    console = stdout_console()
    if not runs:
        console.print(f"no runs in {markup(args.db)}")
        return 0
    table = Table(title=f"runs in {markup(args.db)}")
    for column in ("run", "name", "status", "models", "tasks", "samples", "failed", "updated"):
        table.add_column(column)
    for run in runs:  # a database may come from anyone: every stored string is made inert
        table.add_row(
            markup(run.run_id[:12]),
            markup(run.name),
            markup(run.status),
            markup(", ".join(run.models)),
            markup(", ".join(run.tasks)),
            f"{run.n_results}/{run.n_expected}",
            str(run.n_failed),
            markup(run.updated_at),
        )
    console.print(table)
    return 0
