"""Write a stored run's report files."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from bakeoff.core.errors import StoreError
from bakeoff.report.html import render_html
from bakeoff.report.json_out import render_json
from bakeoff.report.markdown import render_markdown
from bakeoff.report.model import build_report
from bakeoff.storage.base import Store

FORMATS = ("html", "md")
ALL_FORMATS = ("html", "md", "json")


def write_reports(
    store: Store,
    run_ref: str,
    out_dir: Path,
    formats: tuple[str, ...] = FORMATS,
    stem: str = "report",
    *,
    profiles: Mapping[str, Mapping[str, float]] | None = None,
    price_per_hour: float | None = None,
) -> list[Path]:
    model = build_report(store, run_ref, profiles=profiles, price_per_hour=price_per_hour)
    renderers = {"html": render_html, "md": render_markdown, "json": render_json}
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
        # mkstemp creates 0600; a report is an ordinary file (umask decides, as for open()).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        raise StoreError(f"cannot write report {path}: {exc.strerror}") from None
