"""SQLite store with numbered migrations (``storage/migrations/NNNN_*.sql``).

WAL journaling with ``synchronous=NORMAL`` keeps every committed transaction across a process kill
(``kill -9``, Ctrl-C); each ``save_results`` call is one transaction.

Opening checks the file before anything is written to it (see :mod:`bakeoff.storage._health`):
a file that is not SQLite, not bakeoff's, damaged, or made by a newer bakeoff (a schema version
beyond the last migration here) is refused with one line. Migrations run in one write
transaction that reads the schema version itself, so two processes creating the same new
database at once both succeed: the second finds the tables made.
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from bakeoff.core.errors import ConfigError, StoreError
from bakeoff.core.records import (
    ModelRecord,
    ResultRecord,
    RunRecord,
    RunSummary,
    SampleRecord,
    TaskRecord,
    now_iso,
)
from bakeoff.storage._health import (
    GuardedConnection,
    check_intact,
    damaged,
    is_damage,
    is_sqlite_file,
    one_line_errors,
)
from bakeoff.storage.base import CacheEntry, Store

_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
APPLICATION_ID = 0x62616B65  # "bake": marks the file as a bakeoff database


def _dumps(value: Any) -> str:
    # A lone surrogate in a string comes out of json.dumps as is (ensure_ascii=False); the
    # guarded connection replaces it by U+FFFD on the way in, as it does for plain text columns.
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=True)


def migrations() -> list[tuple[int, str]]:
    """(number, SQL) for every migration file, in order."""
    folder = resources.files("bakeoff.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_RE.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


class SqliteStore(Store):
    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path).expanduser()
        if not create and not self.path.exists():
            raise StoreError(f"no bakeoff database at {self.path} (run 'bakeoff run' first)")
        self._check_writable_location(create)
        if self.path.exists() and not is_sqlite_file(self.path):
            raise StoreError(f"{self.path} is not an SQLite database (nor a bakeoff one)")
        try:
            raw = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use {self.path} as a bakeoff database: {exc}") from None
        raw.row_factory = sqlite3.Row
        self._conn = GuardedConnection(raw, self.path)
        try:
            self._open()
        except BaseException:
            raw.close()
            raise

    def _open(self) -> None:
        try:
            self._check_schema(self._schema_version())  # read only: nothing is written yet
            check_intact(self._conn.raw, self.path)
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise damaged(self.path, str(exc)) from None
            raise StoreError(f"cannot use {self.path} as a bakeoff database: {exc}") from None

    def _check_writable_location(self, create: bool) -> None:
        if self.path.is_dir():
            raise StoreError(f"database path is a directory: {self.path}")
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if not parent.exists():
            raise StoreError(f"cannot create database {self.path}: folder {parent} does not exist")
        if create and not self.path.exists():
            # A file of its own proves the folder writable: creating and deleting the database
            # path itself could delete a database another process has just made there.
            try:
                tempfile.TemporaryFile(dir=parent).close()
            except OSError as exc:
                raise StoreError(f"cannot write database {self.path}: {exc.strerror}") from None

    def _schema_version(self) -> int:
        """The migration the file is at (0: new); StoreError for another program's file."""
        raw = self._conn.raw
        app_id = raw.execute("PRAGMA application_id").fetchall()[0][0]
        version = int(raw.execute("PRAGMA user_version").fetchall()[0][0])
        has_tables = raw.execute("SELECT count(*) FROM sqlite_master").fetchall()[0][0] > 0
        if has_tables and app_id != APPLICATION_ID:
            raise StoreError(f"{self.path} is an SQLite file but not a bakeoff database")
        return version

    def _check_schema(self, version: int) -> None:
        known = max(number for number, _ in migrations())
        if version > known:
            raise StoreError(
                f"{self.path} was made by a newer bakeoff (schema version {version}; this "
                f"bakeoff knows up to {known}): upgrade bakeoff to read it, or use another --db"
            )

    def _migrate(self) -> None:
        pending = migrations()
        if self._schema_version() >= pending[-1][0]:
            return  # up to date: no write lock taken (readers and a running writer go on)
        with self._transaction():
            # Read again under the write lock: another process may have migrated meanwhile.
            version = self._schema_version()
            self._check_schema(version)
            for number, sql in pending:
                if number <= version:
                    continue
                for statement in _split_sql(sql):
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {number}")
            self._conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn.raw, self.path)

    # -- runs -------------------------------------------------------------------------------

    def create_or_resume_run(
        self,
        run: RunRecord,
        models: Sequence[ModelRecord],
        tasks: Sequence[TaskRecord],
        samples: Sequence[SampleRecord],
    ) -> bool:
        existing = self._conn.execute(
            "SELECT run_id FROM runs WHERE run_id = ?", (run.run_id,)
        ).fetchone()
        if existing:
            with self._transaction():
                self._conn.execute(
                    "UPDATE runs SET status = 'running', updated_at = ? WHERE run_id = ?",
                    (now_iso(), run.run_id),
                )
            return True
        with self._transaction():
            self._conn.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run.run_id,
                    run.name,
                    run.status,
                    run.created_at,
                    run.updated_at,
                    _dumps(run.config),
                    _dumps(run.manifest),
                ),
            )
            self._conn.executemany(
                "INSERT INTO run_models VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (run.run_id, m.label, m.spec, m.backend, _dumps(m.info), m.position)
                    for m in models
                ],
            )
            self._conn.executemany(
                "INSERT INTO run_tasks VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run.run_id,
                        t.name,
                        t.version,
                        t.template_hash,
                        t.n_samples,
                        _dumps(t.manifest),
                        t.position,
                    )
                    for t in tasks
                ],
            )
            self._conn.executemany(
                "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run.run_id,
                        s.task,
                        s.sample_id,
                        s.position,
                        _dumps(s.input),
                        _dumps(s.target),
                        _dumps(s.metadata),
                    )
                    for s in samples
                ],
            )
        return False

    def record_model_info(self, run_id: str, label: str, info: dict[str, Any]) -> None:
        """Store what the backend reported; a resumed run must use the very same model file."""
        row = self._conn.execute(
            "SELECT info_json FROM run_models WHERE run_id = ? AND label = ?", (run_id, label)
        ).fetchone()
        if row is None:
            raise StoreError(f"run {run_id[:12]} has no model '{label}'")
        before = json.loads(row["info_json"]).get("sha256")
        after = info.get("sha256")
        if before and after and before != after:
            raise ConfigError(
                f"model '{label}' changed since run {run_id[:12]} started "
                f"(sha256 {before[:12]} -> {after[:12]}); "
                "start a new run with --name or another --db"
            )
        with self._transaction():
            self._conn.execute(
                "UPDATE run_models SET info_json = ? WHERE run_id = ? AND label = ?",
                (_dumps(info), run_id, label),
            )

    def set_status(self, run_id: str, status: str) -> None:
        with self._transaction():
            self._conn.execute(
                "UPDATE runs SET status = ?, updated_at = ? WHERE run_id = ?",
                (status, now_iso(), run_id),
            )

    def finished_sample_ids(self, run_id: str, model: str, task: str) -> set[str]:
        rows = self._conn.execute(
            "SELECT sample_id FROM results WHERE run_id = ? AND model = ? AND task = ? "
            "AND status = 'ok'",
            (run_id, model, task),
        )
        return {row[0] for row in rows}

    def save_results(self, records: Sequence[ResultRecord]) -> None:
        if not records:
            return
        rows = [_result_row(r) for r in records]
        with self._transaction():
            # An "ok" row is final; a "failed" row is replaced by any later attempt.
            self._conn.executemany(
                f"INSERT INTO results VALUES ({', '.join('?' * 21)}) "
                "ON CONFLICT (run_id, model, task, sample_id) DO UPDATE SET "
                "status = excluded.status, error = excluded.error, "
                "prediction = excluded.prediction, target = excluded.target, "
                "correct = excluded.correct, metrics_json = excluded.metrics_json, "
                "details_json = excluded.details_json, outputs_json = excluded.outputs_json, "
                "prompt_tokens = excluded.prompt_tokens, output_tokens = excluded.output_tokens, "
                "prompt_seconds = excluded.prompt_seconds, "
                "output_seconds = excluded.output_seconds, "
                "cached_prompt_tokens = excluded.cached_prompt_tokens, "
                "created_at = excluded.created_at, "
                "output_tokens_estimated = excluded.output_tokens_estimated, "
                "reasoning_tokens = excluded.reasoning_tokens, "
                "first_answer_seconds = excluded.first_answer_seconds "
                "WHERE results.status = 'failed'",
                rows,
            )
            self._conn.execute(
                "UPDATE runs SET updated_at = ? WHERE run_id = ?", (now_iso(), records[0].run_id)
            )

    # -- reading ----------------------------------------------------------------------------

    def list_runs(self) -> list[RunSummary]:
        runs = self._conn.execute("SELECT * FROM runs ORDER BY created_at DESC, run_id").fetchall()
        return [self._summary(row) for row in runs]

    def _summary(self, row: sqlite3.Row) -> RunSummary:
        run_id = row["run_id"]
        models = tuple(
            r[0]
            for r in self._conn.execute(
                "SELECT label FROM run_models WHERE run_id = ? ORDER BY position", (run_id,)
            )
        )
        task_rows = self._conn.execute(
            "SELECT task, n_samples FROM run_tasks WHERE run_id = ? ORDER BY position", (run_id,)
        ).fetchall()
        counts = self._conn.execute(
            "SELECT sum(status = 'ok'), sum(status = 'failed') FROM results WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        return RunSummary(
            run_id=run_id,
            name=row["name"],
            status=row["status"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            models=models,
            tasks=tuple(r["task"] for r in task_rows),
            n_results=int(counts[0] or 0),
            n_failed=int(counts[1] or 0),
            n_expected=len(models) * sum(int(r["n_samples"]) for r in task_rows),
        )

    def resolve_run_id(self, run_ref: str) -> str:
        if run_ref == "latest":
            row = self._conn.execute(
                "SELECT run_id FROM runs ORDER BY updated_at DESC, created_at DESC LIMIT 1"
            ).fetchone()
            if row is None:
                raise StoreError(f"no runs stored in {self.path}")
            return str(row[0])
        rows = self._conn.execute(
            "SELECT run_id FROM runs WHERE run_id LIKE ? OR name = ?",
            (run_ref.replace("%", "") + "%", run_ref),
        ).fetchall()
        if not rows:
            raise StoreError(f"no run '{run_ref}' in {self.path} (see 'bakeoff runs')")
        if len(rows) > 1:
            raise StoreError(f"run reference '{run_ref}' is ambiguous: give more characters")
        return str(rows[0][0])

    def get_run(self, run_id: str) -> RunRecord:
        run_id = self.resolve_run_id(run_id)
        row = self._conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        models = tuple(
            ModelRecord(
                r["label"], r["spec"], r["backend"], json.loads(r["info_json"]), r["position"]
            )
            for r in self._conn.execute(
                "SELECT * FROM run_models WHERE run_id = ? ORDER BY position", (run_id,)
            )
        )
        tasks = tuple(
            TaskRecord(
                r["task"],
                r["version"],
                r["template_hash"],
                r["n_samples"],
                json.loads(r["manifest_json"]),
                r["position"],
            )
            for r in self._conn.execute(
                "SELECT * FROM run_tasks WHERE run_id = ? ORDER BY position", (run_id,)
            )
        )
        return RunRecord(
            run_id=run_id,
            name=row["name"],
            status=row["status"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            config=json.loads(row["config_json"]),
            manifest=json.loads(row["manifest_json"]),
            models=models,
            tasks=tasks,
        )

    def iter_results(
        self, run_id: str, task: str | None = None, model: str | None = None
    ) -> Iterator[ResultRecord]:
        sql = "SELECT r.* FROM results r WHERE r.run_id = ?"
        params: list[str] = [run_id]
        if task is not None:
            sql += " AND r.task = ?"
            params.append(task)
        if model is not None:
            sql += " AND r.model = ?"
            params.append(model)
        sql += " ORDER BY r.task, r.model, r.sample_id"
        for row in self._conn.execute(sql, params):
            yield _result_from_row(row)

    def iter_samples(self, run_id: str, task: str | None = None) -> Iterator[SampleRecord]:
        sql = "SELECT * FROM samples WHERE run_id = ?"
        params: list[str] = [run_id]
        if task is not None:
            sql += " AND task = ?"
            params.append(task)
        sql += " ORDER BY task, position"
        for row in self._conn.execute(sql, params):
            yield SampleRecord(
                task=row["task"],
                sample_id=row["sample_id"],
                position=row["position"],
                input=json.loads(row["input_json"]),
                target=json.loads(row["target_json"]),
                metadata=json.loads(row["metadata_json"]),
            )

    # -- request cache ------------------------------------------------------------------------

    def cached_responses(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):  # SQLite's bound-parameter limit
            part = unique[start : start + 500]
            rows = self._conn.execute(
                "SELECT cache_key, result_json FROM request_cache WHERE cache_key IN "
                f"({', '.join('?' * len(part))})",
                part,
            )
            found.update({row[0]: json.loads(row[1]) for row in rows})
        return found

    def cache_responses(self, entries: Sequence[CacheEntry]) -> None:
        if not entries:
            return
        created = now_iso()
        with self._transaction():
            self._conn.executemany(
                "INSERT INTO request_cache VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (cache_key) DO NOTHING",
                [(e.key, e.backend, e.model, e.kind, _dumps(e.result), created) for e in entries],
            )

    @property
    def connection(self) -> sqlite3.Connection:
        """For read-only views (the web app's paginated queries)."""
        return self._conn.raw

    def close(self) -> None:
        self._conn.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (KeyboardInterrupt included)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path

    def __enter__(self) -> None:
        with one_line_errors(self._path):
            self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        with one_line_errors(self._path):
            if exc_type is None:
                self._conn.execute("COMMIT")
            elif self._conn.in_transaction:  # SQLite may have rolled back already (disk full)
                self._conn.execute("ROLLBACK")


def _split_sql(script: str) -> list[str]:
    """Statements of a migration file (they contain no ';' inside literals)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _result_row(r: ResultRecord) -> tuple[Any, ...]:
    return (
        r.run_id,
        r.model,
        r.task,
        r.sample_id,
        r.status,
        r.error,
        r.prediction,
        r.target,
        None if r.correct is None else int(r.correct),
        _dumps({k: list(v) for k, v in r.metrics.items()}),
        _dumps(r.details),
        _dumps(list(r.outputs)),
        r.prompt_tokens,
        r.output_tokens,
        r.prompt_seconds,
        r.output_seconds,
        r.cached_prompt_tokens,
        r.created_at or now_iso(),
        int(r.output_tokens_estimated),  # added by migration 0005
        r.reasoning_tokens,  # these two: migration 0006
        r.first_answer_seconds,
    )


def _result_from_row(row: sqlite3.Row) -> ResultRecord:
    correct = row["correct"]
    return ResultRecord(
        run_id=row["run_id"],
        model=row["model"],
        task=row["task"],
        sample_id=row["sample_id"],
        status=row["status"],
        prediction=row["prediction"],
        target=row["target"],
        correct=None if correct is None else bool(correct),
        metrics={k: tuple(v) for k, v in json.loads(row["metrics_json"]).items()},
        details=json.loads(row["details_json"]),
        outputs=tuple(json.loads(row["outputs_json"])),
        prompt_tokens=row["prompt_tokens"],
        output_tokens=row["output_tokens"],
        prompt_seconds=row["prompt_seconds"],
        output_seconds=row["output_seconds"],
        cached_prompt_tokens=row["cached_prompt_tokens"],
        error=row["error"],
        created_at=row["created_at"],
        output_tokens_estimated=bool(row["output_tokens_estimated"]),
        reasoning_tokens=row["reasoning_tokens"],
        first_answer_seconds=row["first_answer_seconds"],
    )
