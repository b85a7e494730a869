"""3. Hardware and memory: weights, KV cache per token (sliding windows counted) and the RAM
each model needs at 4k and 32k of context."""

from __future__ import annotations

from bakeoff.report import charts
from bakeoff.report.blocks import Block, Heading, Table
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.cells import mib, ram_cell
from bakeoff.report.model.hardware import CONTEXTS, KV_BYTES_PER_ELEMENT
from bakeoff.report.model.view import ReportModel


def blocks(report: ReportModel) -> list[Block]:
    rows = []
    for row in report.hardware:
        kv = row.kv_bytes_per_token
        rows.append(
            (
                row.model,
                row.attention or "unknown",
                mib(row.weights_bytes),
                "unknown" if kv is None else f"{kv / 1024:,.1f} KiB",
                *(ram_cell(row, context) for context in CONTEXTS),
            )
        )
    out: list[Block] = [
        Heading(2, "Hardware and memory"),
        Table(
            (
                "model",
                "attention",
                "weights",
                "KV cache per token (all layers)",
                *(f"RAM/VRAM at {c // 1024}k context" for c in CONTEXTS),
            ),
            tuple(rows),
            numeric_from=2,
        ),
        *charts.memory(report),
        P(
            "KV cache per token and layer = 2 × KV heads × head dimension × "
            f"{KV_BYTES_PER_ELEMENT} bytes (f16 cache); a full-attention layer keeps every "
            "position of the context, a sliding-window layer its window plus one 512-token "
            "micro-batch (as llama.cpp allocates it). Which layers use the window is llama.cpp's "
            "per-architecture pattern; the GGUF gives only the window. RAM (or VRAM when "
            "offloaded) = weights + "
            "KV cache for that context; the runtime's compute buffers add a few hundred MiB.",
            muted=True,
        ),
    ]
    for row in report.hardware:
        if row.full_cache_bytes:
            sizes = ", ".join(
                f"{mib(size)} at {context // 1024}k"
                for context, size in row.full_cache_bytes.items()
                if size is not None
            )
            if sizes:
                out.append(
                    P(
                        f"{row.model} with a full cache on every layer (swa_full: the default "
                        "of llama.cpp's C API and of llama-cpp-python, and what bakeoff's own "
                        "runs use for exact prompt reuse; llama-server and llama-cli keep only "
                        f"the window unless given --swa-full): KV {sizes}.",
                        muted=True,
                    )
                )
    return out
