"""Hugging Face hub datasets, pinned to a commit.

A dataset on the hub can change under its id. The first time bakeoff loads one, it asks the hub
which commit the id points at and records it in the user's cache folder
(``$BAKEOFF_CACHE_DIR``, else ``$XDG_CACHE_HOME/bakeoff``, else ``~/.cache/bakeoff``; file
``hub-revisions.json``); every later load asks ``datasets`` for that commit, so a resumed run or
the demo run again next month reads the same rows. The rows themselves are cached by
``datasets`` in its own cache (``~/.cache/huggingface``, or ``$HF_HOME``). Delete an entry of
the file to move to the dataset's newest commit. The commit a split was read at is recorded with
the run (see :func:`bakeoff.tasks.benchmarks._loading.recording_origins`).
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CACHE_ENV = "BAKEOFF_CACHE_DIR"
PINS_FILE = "hub-revisions.json"


def cache_dir() -> Path:
    """bakeoff's folder in the user's cache."""
    explicit = os.environ.get(CACHE_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "bakeoff"


def pins_path() -> Path:
    return cache_dir() / PINS_FILE


def read_pins() -> dict[str, str]:
    """Dataset id → pinned commit; an unreadable file counts as none (it is re-resolved)."""
    try:
        data = json.loads(pins_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str) and v}


def _write_pins(pins: dict[str, str]) -> None:
    path = pins_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(pins, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass  # A read-only cache only costs the pin: the load itself goes on.


def pinned_revision(dataset: str) -> str:
    """The commit ``dataset`` is pinned to, resolved on the hub and recorded the first time."""
    pins = read_pins()
    if dataset in pins:
        return pins[dataset]
    hub = importlib.import_module("huggingface_hub")  # installed with `datasets`
    revision = str(hub.HfApi().dataset_info(dataset).sha)
    pins[dataset] = revision
    _write_pins(pins)
    return revision


def load_hub_rows(
    path: str, name: str | None, split: str, revision: str | None
) -> tuple[list[dict[str, Any]], str]:
    """The rows of one split at ``revision`` (else the pinned one) and the commit they came
    from. Raises ImportError without ``datasets``; any hub error propagates."""
    datasets = importlib.import_module("datasets")
    commit = revision or pinned_revision(path)
    dataset = datasets.load_dataset(path, name, split=split, revision=commit)
    return [dict(row) for row in dataset], commit
