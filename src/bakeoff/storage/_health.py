"""A database file bakeoff cannot use, named on one line; and text made safe to store.

* **Damage** (a page overwritten, a file cut short) shows as SQLITE_CORRUPT or SQLITE_NOTADB,
  but only when the damaged page is read: a run that reads only an intact index would "resume"
  and compute nothing. So a store checks the structure of every page when it opens
  (``PRAGMA quick_check``, about 0.2 s per 200 MB) and before it writes anything; damage found
  later (a file changed under a running command) is reported the same way.
* **Busy or failing files** (locked past the timeout, disk full, read-only) are one line too.
  Anything else SQLite raises (a constraint broken, an SQL mistake) is a bug and keeps its
  traceback.
* **Text** goes in with every lone surrogate replaced by U+FFFD (see
  :mod:`bakeoff.core.surrogates`): SQLite stores UTF-8, which cannot hold one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bakeoff.core.errors import StoreError
from bakeoff.core.surrogates import replace_lone_surrogates

SQLITE_MAGIC = b"SQLite format 3\x00"
_DAMAGE_CODES = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def damaged(path: Path, detail: str) -> StoreError:
    detail = " ".join(detail.split())[:200]
    return StoreError(
        f"the database {path} is damaged ({detail}); check it with: "
        f"sqlite3 '{path}' 'PRAGMA integrity_check' — restore a copy or use another --db"
    )


def is_damage(error: sqlite3.Error) -> bool:
    name = str(getattr(error, "sqlite_errorname", "") or "")
    return name.startswith(_DAMAGE_CODES) or "malformed" in str(error)


def as_store_error(path: Path, error: sqlite3.Error) -> StoreError | None:
    """The one-line error for a damaged, busy or failing file; None for a bug of ours."""
    if is_damage(error):
        return damaged(path, str(error))
    if isinstance(error, sqlite3.OperationalError):
        return StoreError(f"cannot use the database {path}: {error}")
    return None


@contextmanager
def one_line_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.DatabaseError as error:
        translated = as_store_error(path, error)
        if translated is None:
            raise
        raise translated from None


def is_sqlite_file(path: Path) -> bool:
    """False for a file with content that is not SQLite (an empty file is a new database)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError:
        return True  # not readable here: SQLite's own error says why
    return not head or head == SQLITE_MAGIC


def check_intact(conn: sqlite3.Connection, path: Path) -> None:
    """StoreError naming the damage when any page of the file is damaged."""
    with one_line_errors(path):
        rows = conn.execute("PRAGMA quick_check(1)").fetchall()
    verdict = str(rows[0][0]) if rows else "no answer from quick_check"
    if verdict != "ok":
        raise damaged(path, verdict.replace("*** in database main ***", ""))


def clean_row(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(replace_lone_surrogates(v) if isinstance(v, str) else v for v in values)


class GuardedCursor:
    """Rows of one statement; a page read while fetching them fails on one line too."""

    def __init__(self, cursor: sqlite3.Cursor, path: Path) -> None:
        self._cursor = cursor
        self._path = path

    def fetchone(self) -> Any:
        with one_line_errors(self._path):
            return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        with one_line_errors(self._path):
            return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        with one_line_errors(self._path):
            yield from self._cursor


class GuardedConnection:
    """An SQLite connection whose statements take only storable text and fail on one line."""

    def __init__(self, raw: sqlite3.Connection, path: Path) -> None:
        self.raw = raw
        self.path = path

    def execute(self, sql: str, params: Sequence[Any] = ()) -> GuardedCursor:
        with one_line_errors(self.path):
            return GuardedCursor(self.raw.execute(sql, clean_row(params)), self.path)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with one_line_errors(self.path):
            self.raw.executemany(sql, [clean_row(row) for row in rows])

    def close(self) -> None:
        self.raw.close()
