"""2. Specs and architecture: what the model files (or the backend, or the offline catalog for
an API model) say about each model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath

from bakeoff.core.types import JSONValue
from bakeoff.report.blocks import Block, Heading, Table
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.cells import mib
from bakeoff.report.model.view import ReportModel

SPEC_ROWS: tuple[tuple[str, str], ...] = (
    ("backend", "backend"),
    ("source", "source"),
    ("architecture", "architecture"),
    ("parameters", "parameters"),
    ("active parameters", "active_parameters"),
    ("mixture of experts", "is_moe"),
    ("layers", "n_layers"),
    ("attention heads / KV heads", "heads"),
    ("context window", "context_length"),
    ("output limit", "max_output_tokens"),
    ("vocabulary", "vocab_size"),
    ("quantization", "quantization"),
    ("file size", "file_bytes"),
    ("chat template", "has_chat_template"),
    ("license", "license"),
    ("open weights", "open_weights"),
    ("sha256", "sha256"),
)
LOCAL_WEIGHT_BACKENDS = frozenset({"llamacpp", "hf"})
"""Backends that load the weights themselves: whatever their license, the weights are open."""
EXTRA_SPEC_KEYS = frozenset({"max_output_tokens", "open_weights"})
"""Spec rows kept in ``extra`` (an API model's catalog entry, or the server's own word)."""


def blocks(report: ReportModel) -> list[Block]:
    rows = tuple(
        (label, *(spec_value(report.model_info[m], key) for m in report.models))
        for label, key in SPEC_ROWS
    )
    return [
        Heading(2, "Specs and architecture"),
        Table(("", *report.models), rows),
        P(
            "From the model files' metadata (GGUF) or the backend; unknown means the source does "
            "not say." + _catalog_note(report),
            muted=True,
        ),
    ]


def spec_value(info: Mapping[str, JSONValue], key: str) -> str:
    if key == "heads":
        heads, kv = info.get("n_heads"), info.get("n_kv_heads")
        return f"{heads} / {kv}" if heads is not None else "unknown"
    extra = info.get("extra")
    value = (extra if isinstance(extra, dict) else {}).get(key) if key in EXTRA_SPEC_KEYS else None
    if key == "open_weights" and value is None and info.get("backend") in LOCAL_WEIGHT_BACKENDS:
        value = True  # the file was loaded here
    value = value if key in EXTRA_SPEC_KEYS else info.get(key)
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in ("parameters", "active_parameters") and isinstance(value, int):
        return f"{value / 1e6:,.1f} M"
    if key == "file_bytes" and isinstance(value, int):
        return mib(value)
    if key == "sha256":
        return f"{str(value)[:16]}…"
    if key == "source" and "/" in str(value):
        return PurePath(str(value)).name  # the file, not this machine's folders
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)[:80]


def _catalog_note(report: ReportModel) -> str:
    """Which values the backend did not report and the offline catalog gave instead."""
    labels = {key: label for label, key in SPEC_ROWS}
    notes = []
    for model in report.models:
        extra = report.model_info[model].get("extra")
        sources = extra.get("spec_sources") if isinstance(extra, dict) else None
        if not isinstance(sources, dict):
            continue
        shown = [key for key in labels if key in sources]
        if shown:
            names = ", ".join(labels[key] for key in shown)
            notes.append(
                f"{model}'s {names} {'is' if len(shown) == 1 else 'are'} from the "
                f"{sources[shown[0]]}"
            )
    return "".join(f" {note}." for note in notes)
