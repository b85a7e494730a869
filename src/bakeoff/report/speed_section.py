"""The speed section of a report, from stored speed records: tables plus inline SVG charts.

Charts: latency CDF per model (E2E and TTFT, every measured request), aggregate output
throughput vs concurrency, and TTFT vs prompt length (at the lowest concurrency). They follow
``report/svg.py``: inline SVG, no script, the same palette, untrusted labels escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bakeoff.core.speed_records import Scenario, SpeedRecord
from bakeoff.core.types import JSONValue
from bakeoff.report.svg import PALETTE
from bakeoff.report.text import untrusted_html, untrusted_markdown
from bakeoff.speed.metrics import (
    ScenarioSummary,
    meets_slo,
    request_metrics,
    summarize,
)
from bakeoff.stats.latency import LatencySummary
from bakeoff.storage.speed_store import SpeedModelRow, SpeedRunRow, SpeedStore

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


@dataclass(frozen=True, slots=True)
class ScenarioRow:
    model: str
    scenario: Scenario
    summary: ScenarioSummary
    energy: dict[str, JSONValue]
    resources: dict[str, JSONValue]


@dataclass(frozen=True, slots=True)
class SpeedSection:
    run: SpeedRunRow
    models: list[SpeedModelRow]
    rows: list[ScenarioRow]
    records: list[SpeedRecord]
    slo: dict[str, float]

    def measured_ok(self, model: str) -> list[SpeedRecord]:
        return [r for r in self.records if r.model == model and r.status == "ok" and not r.warmup]


def build_speed_section(store: SpeedStore, ref: str | None = None) -> SpeedSection:
    run = store.get_run(store.resolve(ref))
    raw_slo = run.config.get("slo") or {}
    slo = {str(k): float(v) for k, v in dict(raw_slo).items()}
    records = store.records(run.speed_run_id)
    rows = []
    for row in store.scenarios(run.speed_run_id):
        mine = [r for r in records if r.model == row.model and r.scenario == row.scenario]
        rows.append(
            ScenarioRow(row.model, row.scenario, summarize(mine, slo), row.energy, row.resources)
        )
    return SpeedSection(run, store.models(run.speed_run_id), rows, records, slo)


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


# -- table rows (shared by Markdown, HTML and the CLI) ------------------------------------------


def throughput_rows(section: SpeedSection) -> tuple[list[str], list[list[str]]]:
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


def latency_rows(section: SpeedSection) -> tuple[list[str], list[list[str]]]:
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


def distribution_rows(section: SpeedSection) -> tuple[list[str], list[list[str]]]:
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


def phase_rows(section: SpeedSection) -> tuple[list[str], list[list[str]]]:
    """Prompt processing vs generation speed per prompt × output length, at the lowest load."""
    header = ["model", "prompt tokens", "output tokens", "prompt tok/s (p50)",
              "generation tok/s (p50)", "engine prompt tok/s",
              "engine generation tok/s"]  # fmt: skip
    rows = []
    for row in _lowest_load(section.rows):
        lat = row.summary.latency
        engine_pp, engine_tg = _engine_rates(section, row)
        rows.append(
            [row.model, str(row.scenario.prompt_tokens), str(row.scenario.output_tokens),
             num(lat["prompt_tps"].p50),
             num(lat["generation_tps"].p50), engine_pp, engine_tg]
        )  # fmt: skip
    return header, rows


def resource_rows(section: SpeedSection) -> tuple[list[str], list[list[str]]]:
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


def _engine_rates(section: SpeedSection, row: ScenarioRow) -> tuple[str, str]:
    """The engine's own rates (llama.cpp perf counters / server timings), when it reports them."""
    recs = [r for r in section.measured_ok(row.model) if r.scenario == row.scenario]
    pp = [_rate(r.server, "prompt_n", "prompt_ms") for r in recs]
    tg = [_rate(r.server, "predicted_n", "predicted_ms") for r in recs]
    return _median_text(pp), _median_text(tg)


def _rate(server: object, n_key: str, ms_key: str) -> float:
    if not isinstance(server, dict):
        return math.nan
    n, t = server.get(n_key), server.get(ms_key)
    if isinstance(n, int | float) and isinstance(t, int | float) and t > 0:
        return float(n) / (float(t) / 1000.0)
    return math.nan


def _median_text(values: Sequence[float]) -> str:
    finite = sorted(v for v in values if math.isfinite(v))
    if not finite:
        return "not reported"
    mid = len(finite) // 2
    median = finite[mid] if len(finite) % 2 else (finite[mid - 1] + finite[mid]) / 2
    return num(median)


def error_rows(section: SpeedSection) -> list[list[str]]:
    return [
        [row.model, row.scenario.key(), str(count), error]
        for row in section.rows
        for error, count in row.summary.errors.items()
    ]


def note_lines(section: SpeedSection) -> list[str]:
    slo = section.slo
    good = [
        sum(meets_slo(request_metrics(r), slo) for r in section.measured_ok(m.label))
        for m in section.models
    ]
    return [
        f"SLO: {slo_text(slo)}"
        + (
            " — requests meeting it: "
            + ", ".join(
                f"{m.label} {g}/{len(section.measured_ok(m.label))}"
                for m, g in zip(section.models, good, strict=True)
            )
            if slo
            else ""
        )
        + ".",
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
        recs = section.measured_ok(model.label)
        short = [r for r in recs if r.output_tokens < r.scenario.output_tokens]
        if short:
            reasons = sorted({str(r.server.get("finish_reason") or "not given") for r in short})
            lines.append(
                f"{model.label}: {len(short)} of {len(recs)} answers stopped before the requested "
                f"length (finish reason: {', '.join(reasons)}; the server ignores ignore_eos, "
                "hit a stop, or cut the stream); their figures use the tokens they actually had."
            )
    return lines


# -- charts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    points: list[tuple[float, float]]


def line_chart(
    title: str,
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    steps: bool = False,
    width: int = 560,
    height: int = 300,
) -> str:
    """Lines (or steps, for CDFs) with axes labelled at min/max; non-finite points dropped."""
    left, right, top, bottom = 56, 170, 28, 40
    pts = [(x, y) for s in series for x, y in s.points if math.isfinite(x) and math.isfinite(y)]
    x0, x1 = (min(p[0] for p in pts), max(p[0] for p in pts)) if pts else (0.0, 1.0)
    y1 = max((p[1] for p in pts), default=1.0) or 1.0
    x1 = x1 if x1 > x0 else x0 + 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - y / y1 * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{untrusted_html(title)}">',
        f'<text x="4" y="16" font-size="13" font-weight="bold">{untrusted_html(title)}</text>',
        f'<path d="M{left} {top}V{top + plot_h}H{left + plot_w}" stroke="#222" fill="none"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="11" text-anchor="end">{_tick(y1)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="11" text-anchor="end">0</text>',
        f'<text x="{left}" y="{height - 22}" font-size="11">{_tick(x0)}</text>',
        f'<text x="{left + plot_w}" y="{height - 22}" font-size="11" text-anchor="end">'
        f"{_tick(x1)}</text>",
        f'<text x="{left + plot_w / 2}" y="{height - 6}" font-size="11" text-anchor="middle">'
        f"{untrusted_html(x_label)}</text>",
        f'<text x="12" y="{top + plot_h / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2})">{untrusted_html(y_label)}</text>',
    ]
    for index, s in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        points = [(x, y) for x, y in s.points if math.isfinite(x) and math.isfinite(y)]
        if points:
            parts.append(_path(points, sx, sy, color, steps))
        parts.append(
            f'<rect x="{width - right + 10}" y="{top + index * 18}" width="10" height="10" '
            f'fill="{color}"/><text x="{width - right + 24}" y="{top + 9 + index * 18}" '
            f'font-size="11">{untrusted_html(s.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _tick(value: float) -> str:
    """Axis labels people read at a glance: 2,010 rather than 2.01e+03."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _path(
    points: list[tuple[float, float]],
    sx: Callable[[float], float],
    sy: Callable[[float], float],
    color: str,
    steps: bool,
) -> str:
    d = f"M{sx(points[0][0]):.1f} {sy(points[0][1]):.1f}"
    for x, y in points[1:]:
        d += f"H{sx(x):.1f}V{sy(y):.1f}" if steps else f"L{sx(x):.1f} {sy(y):.1f}"
    dots = ""
    if not steps:  # a step CDF has one vertex per request: dots would only clutter it
        dots = "".join(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{color}"/>' for x, y in points
        )
    return f'<path d="{d}" stroke="{color}" stroke-width="2" fill="none"/>{dots}'


def cdf_points(values: Iterable[float]) -> list[tuple[float, float]]:
    xs = sorted(v for v in values if math.isfinite(v))
    return [(x, (i + 1) / len(xs)) for i, x in enumerate(xs)]


def charts(section: SpeedSection) -> list[str]:
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
            out.append(
                line_chart(f"{title} ({shape})", series[key], axis, "fraction of requests", True)
            )
    out.append(
        line_chart(
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
        line_chart(
            "TTFT p50 vs prompt length (lowest concurrency)",
            [Series(f"{m} o{o}", sorted(points)) for (m, o), points in by_output.items()],
            "prompt tokens",
            "TTFT p50 (ms)",
        )
    )
    return out


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


# -- renderers ------------------------------------------------------------------------------


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(untrusted_markdown(c) for c in row) + " |" for row in rows]
    return lines


def speed_markdown(section: SpeedSection) -> str:
    lines = ["## Speed under load", ""]
    for title, (header, rows) in (
        ("Throughput", throughput_rows(section)),
        ("Latency (ms)", latency_rows(section)),
        ("Prompt processing vs generation", phase_rows(section)),
        ("Memory and energy", resource_rows(section)),
        ("Latency distributions", distribution_rows(section)),
    ):
        lines += [f"### {title}", "", *_md_table(header, rows), ""]
    errors = error_rows(section)
    if errors:
        lines += [
            "### Failed requests",
            "",
            *_md_table(["model", "scenario", "count", "error"], errors),
            "",
        ]
    lines += [f"- {untrusted_markdown(line, 400)}" for line in note_lines(section)]
    return "\n".join(lines) + "\n"


def _html_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th>{untrusted_html(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{untrusted_html(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def speed_html(section: SpeedSection) -> str:
    parts = ["<h2>Speed under load</h2>"]
    for title, (header, rows) in (
        ("Throughput", throughput_rows(section)),
        ("Latency (ms)", latency_rows(section)),
        ("Prompt processing vs generation", phase_rows(section)),
        ("Memory and energy", resource_rows(section)),
    ):
        parts.append(f"<h3>{title}</h3>{_html_table(header, rows)}")
    parts.append(f'<div class="charts">{"".join(charts(section))}</div>')
    header, rows = distribution_rows(section)
    parts.append(f"<h3>Latency distributions</h3>{_html_table(header, rows)}")
    errors = error_rows(section)
    if errors:
        parts.append(
            "<h3>Failed requests</h3>"
            + _html_table(["model", "scenario", "count", "error"], errors)
        )
    parts.append("".join(f"<p>{untrusted_html(line)}</p>" for line in note_lines(section)))
    return "".join(parts)


def speed_html_page(section: SpeedSection) -> str:
    """A standalone page (``bakeoff speed --report``): no script, nothing fetched."""
    from bakeoff.report.html import CSS

    title = "bakeoff speed: " + " vs ".join(m.label for m in section.models)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{untrusted_html(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{untrusted_html(title)}</h1>{speed_html(section)}</body></html>"
    )
