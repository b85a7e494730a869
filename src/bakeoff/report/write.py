"""Write a stored run's report files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bakeoff.core.errors import StoreError
from bakeoff.report.html import render_html
from bakeoff.report.markdown import render_markdown
from bakeoff.report.model import build_report
from bakeoff.storage.base import Store

FORMATS = ("html", "md")


def write_reports(
    store: Store, run_ref: str, out_dir: Path, formats: tuple[str, ...] = FORMATS,
    stem: str = "report",
) -> list[Path]:
    model = build_report(store, run_ref)
    renderers = {"html": render_html, "md": render_markdown}
    written = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        _atomic_write(path, renderers[fmt](model))
        written.append(path)
    return written


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temp file and rename, so an interrupted write never leaves half a report."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise StoreError(f"cannot write report {path}: {exc.strerror}") from None
