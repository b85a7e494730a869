"""Write a stored run's report files."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from bakeoff.core.errors import StoreError
from bakeoff.report.blocks import chart_files
from bakeoff.report.html import render_html
from bakeoff.report.json_out import render_json
from bakeoff.report.markdown import charts_folder, render_markdown
from bakeoff.report.model import ReportModel, build_report
from bakeoff.report.sections import build_sections
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
    folder = charts_folder(stem)
    renderers = {
        "html": render_html,
        "md": lambda report: render_markdown(report, folder),
        "json": render_json,
    }
    written = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        _atomic_write(path, renderers[fmt](model))
        written.append(path)
    if "md" in formats:
        written += _write_charts(model, out_dir / folder)
    return written


def _write_charts(model: ReportModel, folder: Path) -> list[Path]:
    """The Markdown guide's charts as SVG files in its folder (the HTML carries them inline).
    Charts an earlier report left there and this one does not draw are removed, so the folder
    holds exactly what the Markdown links; it is reported as one path."""
    files = chart_files(build_sections(model))
    if not files and not folder.exists():
        return []
    for name, chart in files:
        _atomic_write(folder / name, chart.svg + "\n")
    keep = {name for name, _ in files}
    for stale in folder.glob("*.svg"):
        if stale.name not in keep:
            stale.unlink(missing_ok=True)
    return [folder] if files else []


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
