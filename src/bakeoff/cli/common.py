"""Options and helpers shared by subcommands.

Parsers import this module, so it stays light: the store and Rich load when a command runs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from bakeoff.storage.sqlite import SqliteStore

DEFAULT_DB = "bakeoff.db"


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get("BAKEOFF_DB", DEFAULT_DB),
        help="SQLite results file (default: ./bakeoff.db, or $BAKEOFF_DB)",
    )


def open_store(path: str, *, create: bool) -> SqliteStore:
    from bakeoff.storage.sqlite import SqliteStore

    return SqliteStore(Path(path), create=create)


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)
