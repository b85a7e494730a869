"""The speed lab's report as blocks: tables, charts and notes from a stored speed run
(report.model.speed_lab), for the guide's speed section and for ``bakeoff speed --report``.

Charts: latency CDF per model (E2E and TTFT, every measured request), aggregate output
throughput vs concurrency, and TTFT vs prompt length (at the lowest concurrency). The table rows
are plain strings, so the command line prints the same figures (cli/speed.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bakeoff.core.speed_records import Scenario
from bakeoff.core.types import JSONValue
from bakeoff.report.blocks import Block, Chart, Figure, Heading, Notes, Table
from bakeoff.report.model.speed_lab import ScenarioRow, SpeedSection
from bakeoff.report.svg import Series, cdf_points, line_chart
from bakeoff.speed.metrics import request_metrics
from bakeoff.stats.latency import LatencySummary

NOT_MEASURABLE = "not measurable here"
DISTRIBUTIONS = (
    ("ttft", "TTFT (queue incl.)"),
    ("server_ttft", "TTFT (queue excl.)"),
    ("queue", "client queue"),
    ("engine_queue", "engine queue"),
    ("itl", "ITL"),
    ("tpot", "TPOT"),
    ("e2e", "E2E"),
)
Rows = tuple[list[str], list[list[str]]]
"""A table as the header and its rows of cells."""


def speed_lab_blocks(section: SpeedSection, level: int) -> list[Block]:
    """The speed lab's report, its title at heading ``level`` (2 on its own page, 3 inside the
    guide's speed section)."""
    sub = level + 1
    blocks: list[Block] = [Heading(level, "Speed under load")]
    for title, (header, rows) in (
        ("Throughput", throughput_rows(section)),
        ("Latency (ms)", latency_rows(section)),
        ("Prompt processing vs generation", phase_rows(section)),
        ("Memory and energy", resource_rows(section)),
    ):
        blocks += [Heading(sub, title), _table(header, rows)]
    blocks.append(Figure(tuple(charts(section))))
    header, rows = distribution_rows(section)
    blocks += [Heading(sub, "Latency distributions"), _table(header, rows)]
    errors = error_rows(section)
    if errors:
        blocks += [
            Heading(sub, "Failed requests"),
            _table(["model", "scenario", "count", "error"], errors),
        ]
    blocks.append(Notes(tuple(note_lines(section))))
    return blocks


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    return Table(tuple(header), tuple(tuple(row) for row in rows))


# -- formatting -----------------------------------------------------------------------------


def ms(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value * 1000:,.1f}"


def num(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def mib(value: JSONValue) -> str:
    return f"{float(value) / 2**20:,.1f} MiB" if isinstance(value, int | float) else "n/a"


def load_text(s: Scenario) -> str:
    return f"c={s.concurrency}" if s.rate is None else f"{s.rate:g} req/s (≤{s.concurrency})"


def slo_text(slo: dict[str, float]) -> str:
    if not slo:
        return "no SLO given"
    return ", ".join(f"{k} ≤ {v * 1000:g} ms" for k, v in slo.items())


def energy_text(energy: dict[str, JSONValue]) -> str:
    per_1k = energy.get("joules_per_1k_tokens")
    if isinstance(per_1k, int | float):
        return f"{per_1k:,.1f} J ({energy.get('source')})"
    return f"{NOT_MEASURABLE} ({energy.get('note') or 'no counter'})"


# -- table rows (shared by the blocks and the CLI) ------------------------------------------


def throughput_rows(section: SpeedSection) -> Rows:
    header = ["model", "prompt", "output", "load", "ok", "failed", "req/s", "out tok/s",
              "goodput req/s", "J / 1k out tok"]  # fmt: skip
    rows = []
    for row in section.rows:
        s = row.summary
        per_1k = row.energy.get("joules_per_1k_tokens")
        rows.append(
            [*_where(row), str(s.n_ok),
             str(s.n_failed), num(s.requests_per_s, 2), num(s.output_tps), num(s.goodput, 2),
             num(per_1k) if isinstance(per_1k, int | float) else NOT_MEASURABLE]
        )  # fmt: skip
    return header, rows


def latency_rows(section: SpeedSection) -> Rows:
    header = ["model", "prompt", "output", "load", "TTFT p50", "TTFT p99", "queue p50",
              "ITL p50", "ITL p99", "TPOT p50", "E2E p50", "E2E p99"]  # fmt: skip
    rows = []
    for row in section.rows:
        lat = row.summary.latency
        rows.append(
            [*_where(row), ms(lat["ttft"].p50), ms(lat["ttft"].p99), ms(lat["queue"].p50),
             ms(lat["itl"].p50), ms(lat["itl"].p99), ms(lat["tpot"].p50), ms(lat["e2e"].p50),
             ms(lat["e2e"].p99)]
        )  # fmt: skip
    return header, rows


def _where(row: ScenarioRow) -> list[str]:
    s = row.scenario
    return [row.model, str(s.prompt_tokens), str(s.output_tokens), load_text(s)]


def distribution_rows(section: SpeedSection) -> Rows:
    header = ["model", "prompt", "output", "load", "metric (ms)", "n", "mean", "p50", "p90", "p95",
              "p99"]  # fmt: skip
    rows = []
    for row in section.rows:
        for key, name in DISTRIBUTIONS:
            d: LatencySummary = row.summary.latency[key]
            rows.append(
                [*_where(row), name, str(d.n), ms(d.mean), ms(d.p50), ms(d.p90), ms(d.p95),
                 ms(d.p99)]
            )  # fmt: skip
    return header, rows


def phase_rows(section: SpeedSection) -> Rows:
    """Prompt processing vs generation speed per prompt × output length, at the lowest load."""
    header = ["model", "prompt tokens", "output tokens", "prompt tok/s (p50)",
              "generation tok/s (p50)", "engine prompt tok/s",
              "engine generation tok/s"]  # fmt: skip
    rows = []
    for row in _lowest_load(section.rows):
        lat = row.summary.latency
        rows.append(
            [row.model, str(row.scenario.prompt_tokens), str(row.scenario.output_tokens),
             num(lat["prompt_tps"].p50), num(lat["generation_tps"].p50),
             _reported(row.engine_prompt_tps), _reported(row.engine_generation_tps)]
        )  # fmt: skip
    return header, rows


def _reported(rate: float | None) -> str:
    return "not reported" if rate is None else num(rate)


def resource_rows(section: SpeedSection) -> Rows:
    header = ["model", "weights", "KV cache/token", "estimate (weights + KV × ctx)",
              "peak RSS (measured)", "GPU memory", "energy per 1k output tokens"]  # fmt: skip
    rows = []
    for model in section.models:
        mem = model.memory
        mine = [r for r in section.rows if r.model == model.label]
        rss = max((r.resources.get("peak_rss_bytes") or 0 for r in mine), default=0)
        gpu = max((r.resources.get("gpu_memory_bytes") or 0 for r in mine), default=0)
        kv = mem.get("kv_bytes_per_token")
        rows.append(
            [model.label, mib(mem.get("weights_bytes")),
             f"{kv:,} B" if isinstance(kv, int) else "n/a",
             f"{mib(mem.get('estimate_bytes'))} @ {mem.get('context')} tokens",
             (mib(rss) + _note(mem.get("peak_rss_note"))) if rss else NOT_MEASURABLE,
             mib(gpu) if gpu else f"{NOT_MEASURABLE} (no NVIDIA GPU/NVML)",
             "; ".join(sorted({energy_text(r.energy) for r in mine})) or "n/a"]
        )  # fmt: skip
    return header, rows


def _note(value: JSONValue) -> str:
    return f" ({value})" if isinstance(value, str) and value else ""


def _lowest_load(rows: Sequence[ScenarioRow]) -> list[ScenarioRow]:
    lowest: dict[tuple[str, int, int], ScenarioRow] = {}
    for row in rows:
        key = (row.model, row.scenario.prompt_tokens, row.scenario.output_tokens)
        if key not in lowest or row.scenario.concurrency < lowest[key].scenario.concurrency:
            lowest[key] = row
    return list(lowest.values())


def error_rows(section: SpeedSection) -> list[list[str]]:
    return [
        [row.model, row.scenario.key(), str(count), error]
        for row in section.rows
        for error, count in row.summary.errors.items()
    ]


def note_lines(section: SpeedSection) -> list[str]:
    slo = section.slo
    meeting = ", ".join(
        f"{m.label} {section.requests[m.label].meeting_slo}/{section.requests[m.label].measured}"
        for m in section.models
    )
    return [
        f"SLO: {slo_text(slo)}" + (f" — requests meeting it: {meeting}" if slo else "") + ".",
        "Times in ms unless marked. TTFT and E2E include the time a request queued in the "
        "client for a concurrency slot (shown as 'queue'); warm-up requests are excluded; "
        "failed requests are counted apart and never averaged in. Token counts come from the "
        "server's usage or the model's tokenizer, never from chunk counts.",
        f"Measured on {section.run.manifest.get('platform', '?')}, {section.run.created_at}; "
        "figures from a shared machine are indicative.",
        *_engine_lines(section),
        *_short_answer_lines(section),
    ]


def _engine_lines(section: SpeedSection) -> list[str]:
    """How each model was served, since speed depends on it (threads, kernels, slots)."""
    lines = []
    for model in section.models:
        info, extra = model.info, model.info.get("extra")
        extra = extra if isinstance(extra, dict) else {}
        if info.get("backend") == "llamacpp":
            lines.append(
                f"{model.label}: llama.cpp in process, n_threads={extra.get('n_threads', '?')}, "
                f"n_batch={extra.get('n_batch', '?')}, repack {extra.get('repack', '?')}; one "
                "request at a time, so at concurrency > 1 requests wait inside the engine (in "
                "'TTFT (queue excl.)', not in the client queue)."
            )
        else:
            lines.append(
                f"{model.label}: OpenAI-compatible server at {info.get('source', '?')}; its "
                "threads, batching and kernels are the server's own settings."
            )
    return lines


def _short_answer_lines(section: SpeedSection) -> list[str]:
    lines = []
    for model in section.models:
        counts = section.requests[model.label]
        if counts.stopped_short:
            lines.append(
                f"{model.label}: {counts.stopped_short} of {counts.measured} answers stopped "
                f"before the requested length (finish reason: {', '.join(counts.finish_reasons)}"
                "; the server ignores ignore_eos, hit a stop, or cut the stream); their figures "
                "use the tokens they actually had."
            )
    return lines


# -- charts ---------------------------------------------------------------------------------


def charts(section: SpeedSection) -> list[Chart]:
    """Per prompt × output shape: E2E and TTFT CDFs (a line per model × load point); then
    throughput vs concurrency and TTFT vs prompt length over all shapes."""
    out = []
    multi_model = len(section.models) > 1
    for (prompt, output), rows in _shapes(section.rows).items():
        shape = f"prompt {prompt}, output {output}"
        series: dict[str, list[Series]] = {"e2e": [], "ttft": []}
        for row in rows:
            recs = [
                request_metrics(r)
                for r in section.measured_ok(row.model)
                if r.scenario == row.scenario
            ]
            label = (f"{row.model} " if multi_model else "") + load_text(row.scenario)
            series["e2e"].append(Series(label, cdf_points(m.e2e * 1000 for m in recs)))
            series["ttft"].append(Series(label, cdf_points(m.ttft * 1000 for m in recs)))
        for key, title, axis in (
            ("e2e", "E2E latency CDF", "end-to-end latency (ms)"),
            ("ttft", "TTFT CDF", "time to first token (ms)"),
        ):
            name = f"{title} ({shape})"
            svg = line_chart(name, series[key], axis, "fraction of requests", True)
            out.append(Chart(f"speed-lab-{key}-p{prompt}-o{output}", name, svg))
    out.append(
        _chart(
            "speed-lab-throughput",
            "output tokens/s vs concurrency",
            [
                Series(
                    f"{m} p{p} o{o}", [(r.scenario.concurrency, r.summary.output_tps) for r in rows]
                )
                for (m, p, o), rows in _group(section.rows).items()
            ],
            "concurrency",
            "aggregate output tokens/s",
        )
    )
    by_output: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for r in _lowest_load(section.rows):
        by_output.setdefault((r.model, r.scenario.output_tokens), []).append(
            (r.scenario.prompt_tokens, r.summary.latency["ttft"].p50 * 1000)
        )
    out.append(
        _chart(
            "speed-lab-ttft-by-prompt",
            "TTFT p50 vs prompt length (lowest concurrency)",
            [Series(f"{m} o{o}", sorted(points)) for (m, o), points in by_output.items()],
            "prompt tokens",
            "TTFT p50 (ms)",
        )
    )
    return out


def _chart(name: str, title: str, series: list[Series], x_label: str, y_label: str) -> Chart:
    return Chart(name, title, line_chart(title, series, x_label, y_label))


def _shapes(rows: Sequence[ScenarioRow]) -> dict[tuple[int, int], list[ScenarioRow]]:
    shapes: dict[tuple[int, int], list[ScenarioRow]] = {}
    for row in rows:
        shapes.setdefault((row.scenario.prompt_tokens, row.scenario.output_tokens), []).append(row)
    return shapes


def _group(rows: Sequence[ScenarioRow]) -> dict[tuple[str, int, int], list[ScenarioRow]]:
    groups: dict[tuple[str, int, int], list[ScenarioRow]] = {}
    for row in rows:
        s = row.scenario
        groups.setdefault((row.model, s.prompt_tokens, s.output_tokens), []).append(row)
    for value in groups.values():
        value.sort(key=lambda r: r.scenario.concurrency)
    return groups
