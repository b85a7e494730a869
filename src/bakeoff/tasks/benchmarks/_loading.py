"""Loading benchmark splits: a local directory first, then the Hugging Face hub, else DataError.

Where a split comes from, in order:

1. ``data_dir=`` (task option): ``<data_dir>/<stem>.{jsonl,tsv,csv,parquet}`` for each candidate
   stem the task declares (e.g. ``glue/cola/validation``). Given explicitly, nothing else is tried.
   ``data_dir`` may also name one file: it is then the evaluation split itself.
2. ``$BAKEOFF_DATA_DIR``: the same lookup there (the tests point it at the shared data).
3. The hub, by dataset id, when the ``datasets`` package is importable (``pip install
   'bakeoff[hub]'``) and the machine is online, at the commit the dataset is pinned to (_hub.py).

A split found nowhere raises DataError naming the task, every path looked for, and the fixes.
Inside :func:`recording_origins`, every split loaded says where it came from (a file, or a hub
id at a commit), for the run's manifest.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import importlib
import importlib.util
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bakeoff.core.errors import DataError
from bakeoff.tasks.benchmarks._hub import load_hub_rows
from bakeoff.tasks.data import read_jsonl

DATA_DIR_ENV = "BAKEOFF_DATA_DIR"
EXTENSIONS = ("jsonl", "tsv", "csv", "parquet")

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class HubSplit:
    """A split on the Hugging Face hub: ``load_dataset(path, name, split=split)``."""

    path: str
    name: str | None
    split: str
    revision: str | None = None
    """A commit to read; None: the one the dataset is pinned to in the user's cache (_hub.py)."""


@dataclass(frozen=True, slots=True)
class SplitSource:
    """Where one split of one task may be found."""

    task: str
    stems: tuple[str, ...]
    """Relative paths without extension, tried in order (e.g. ``arc_easy/test``)."""
    hub: HubSplit | None


_ORIGINS: ContextVar[list[str] | None] = ContextVar("bakeoff_data_origins", default=None)


@contextlib.contextmanager
def recording_origins() -> Iterator[list[str]]:
    """Collects, for the splits loaded inside the block, where each came from: a file's path, or
    ``hub ID[/CONFIG]:SPLIT@COMMIT``."""
    origins: list[str] = []
    token = _ORIGINS.set(origins)
    try:
        yield origins
    finally:
        _ORIGINS.reset(token)


def _loaded_from(origin: str) -> None:
    origins = _ORIGINS.get()
    if origins is not None:
        origins.append(origin)


def load_split(source: SplitSource, data_dir: str | None, *, is_eval: bool = True) -> list[Row]:
    """The rows of one split, from the first place that has it (see the module docstring)."""
    explicit = Path(data_dir).expanduser() if data_dir else None
    if explicit is not None and explicit.is_file():
        if is_eval:
            _loaded_from(str(explicit))
            return read_rows(explicit)
        explicit = explicit.parent  # Few-shot splits sit beside the file given.
    roots = [explicit] if explicit is not None else _env_roots()
    looked: list[str] = []
    for root in roots:
        found = _find_local(root, source.stems)
        if found is not None:
            _loaded_from(str(found))
            return read_rows(found)
        looked.extend(f"{root / stem}.{{{','.join(EXTENSIONS)}}}" for stem in source.stems)
    hub_error = None if explicit is not None else _hub_error_or_rows(source)
    if isinstance(hub_error, list):
        return hub_error
    raise DataError(_missing_message(source, looked, hub_error, explicit is not None))


def _env_roots() -> list[Path]:
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return [Path(value).expanduser()] if value else []


def _find_local(root: Path, stems: Sequence[str]) -> Path | None:
    for stem in stems:
        for extension in EXTENSIONS:
            candidate = root / f"{stem}.{extension}"
            if candidate.is_file():
                return candidate
    return None


def _hub_error_or_rows(source: SplitSource) -> list[Row] | str:
    """Rows from the hub, or a short reason why they could not be had."""
    if source.hub is None:
        return "no hub copy is known for this task"
    # Offline first: it is the reason that holds whether or not `datasets` is installed.
    offline = _hub_offline_reason()
    if offline:
        return offline
    if not _datasets_installed():
        return "the 'datasets' package is not installed"
    hub = source.hub
    try:
        rows, commit = load_hub_rows(hub.path, hub.name, hub.split, hub.revision)
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"hub {hub.path}/{hub.name or ''}:{hub.split} failed ({first_line[:160]})"
    _loaded_from(f"hub {hub.path}{'/' + hub.name if hub.name else ''}:{hub.split}@{commit}")
    return rows


def _datasets_installed() -> bool:
    return importlib.util.find_spec("datasets") is not None


def _hub_offline_reason() -> str | None:
    """Why the hub cannot be reached (None when it can)."""
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(variable, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"offline (${variable} is set)"
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    return None if _reachable(host, port) else f"offline ({host} unreachable)"


@functools.cache
def _reachable(host: str, port: int) -> bool:
    """One short TCP probe per process: ``datasets`` retries an unreachable hub for ~25 s per
    dataset, so a suite of 17 GLUE/SuperGLUE tasks would otherwise wait minutes offline."""
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError:
        return False
    return True


def _missing_message(
    source: SplitSource, looked: list[str], hub_error: str | None, explicit: bool
) -> str:
    where = "; ".join(looked) if looked else f"no data_dir given and ${DATA_DIR_ENV} unset"
    hub_note = f"; {hub_error}" if hub_error else ""
    hub = source.hub
    hub_id = f" (hub id {hub.path}{', ' + hub.name if hub.name else ''})" if hub else ""
    fix = (
        "pass data_dir=DIR"
        if explicit
        else (
            f"pass data_dir=DIR (or set ${DATA_DIR_ENV}) or install bakeoff[hub] and go online"
            + hub_id
        )
    )
    return f"{source.task}: no data: looked for {where}{hub_note}; {fix}"


def read_rows(path: Path) -> list[Row]:
    """Rows of a JSONL, TSV, CSV or Parquet file (by extension)."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "json"):
        return [obj for _, obj in read_jsonl(path)]
    if suffix in ("tsv", "csv"):
        return _read_delimited(path, "\t" if suffix == "tsv" else ",")
    if suffix == "parquet":
        return _read_parquet(path)
    raise DataError(f"{path}: unsupported file type (use .jsonl, .tsv, .csv or .parquet)")


def _read_delimited(path: Path, delimiter: str) -> list[Row]:
    # Some benchmark cells (contract clauses) exceed csv's default 128 KiB field limit.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            rows = [dict(row) for row in reader]
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise DataError(
            f"{path}: malformed {'TSV' if delimiter == chr(9) else 'CSV'} ({exc})"
        ) from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    for lineno, row in enumerate(rows, start=2):
        if None in row:
            raise DataError(f"{path}:{lineno}: more cells than header columns")
    return rows


def _read_parquet(path: Path) -> list[Row]:
    try:
        parquet = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow: pip install pyarrow") from None
    try:
        rows: list[Row] = parquet.read_table(path).to_pylist()
    except Exception as exc:
        raise DataError(f"{path}: cannot read Parquet ({exc})") from None
    return rows
