"""The guide's sections, in order, as format-neutral blocks (report.blocks renders them).

1 summary · 2 specs · 3 hardware · 4 benchmarks · 5 multilingual · 6 speed · 7 conversation ·
8 safety · 9 cost · 10 use cases · 11 disagreements · 12 methodology. A section with no stored
data says so and names the command that measures it.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping

from bakeoff.core.types import JSONValue
from bakeoff.report.blocks import Block, Code, Figure, Heading, Inline, Pre, Raw, Strong, Table
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.hardware import CONTEXTS, KV_BYTES_PER_ELEMENT
from bakeoff.report.model import MetricReport, ReportModel, TaskReport
from bakeoff.report.profiles import ParetoPoint
from bakeoff.report.svg import Bar, Point, bar_chart, scatter_chart
from bakeoff.report.text import (
    difference_text,
    interval_text,
    number,
    p_text,
    rate_text,
    score_text,
)

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
    ("vocabulary", "vocab_size"),
    ("quantization", "quantization"),
    ("file size", "file_bytes"),
    ("chat template", "has_chat_template"),
    ("license", "license"),
    ("sha256", "sha256"),
)
WIN, TIE = "▲", "≈"
SECTION_HINTS = {
    "multilingual": "bakeoff run -m … -t xcopa (per-language accuracy; see the task catalog)",
    "conversation": "bakeoff run -m … -t a conversation probe task (accuracy by depth)",
    "safety": "bakeoff run -m … -t xstest -t bbq (refusal and bias)",
}


def spec_value(info: Mapping[str, JSONValue], key: str) -> str:
    if key == "heads":
        heads, kv = info.get("n_heads"), info.get("n_kv_heads")
        return f"{heads} / {kv}" if heads is not None else "unknown"
    value = info.get(key)
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
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)[:80]


def mib(value: float | None) -> str:
    return "unknown" if value is None else f"{value / 2**20:,.1f} MiB"


def build_sections(report: ReportModel) -> list[Block]:
    run = report.run
    blocks: list[Block] = [
        Heading(1, f"bakeoff report: {' vs '.join(report.models)}"),
        P(
            "Run ",
            Code(run.run_id),
            f" ({run.name}), created {run.created_at}, status ",
            Strong(run.status),
            f", bakeoff {run.manifest.get('bakeoff_version', '?')}.",
        ),
    ]
    for section in (
        summary,
        specs,
        hardware,
        benchmarks,
        multilingual,
        speed,
        conversation,
        safety,
        cost,
        use_cases,
        disagreements,
        methodology,
    ):
        blocks += section(report)
    return blocks


# --- 1. Summary -------------------------------------------------------------------------------


def _marks(metric: MetricReport) -> dict[str, str]:
    """▲ for a model that wins a comparison and loses none on this metric, ≈ otherwise."""
    wins = {s.model: 0 for s in metric.scores}
    losses = dict(wins)
    for c in metric.comparisons:
        if c.verdict.endswith(" better"):
            winner = c.verdict.removesuffix(" better")
            loser = c.model_b if winner == c.model_a else c.model_a
            wins[winner] = wins.get(winner, 0) + 1
            losses[loser] = losses.get(loser, 0) + 1
    return {
        m: WIN if wins[m] and not losses[m] else TIE if not wins[m] and not losses[m] else ""
        for m in wins
    }


def summary(report: ReportModel) -> list[Block]:
    rows = []
    for task in report.tasks:
        metric = task.primary
        if metric is None:
            continue
        marks = _marks(metric)
        rows.append(
            (
                task.name,
                metric.name,
                *(
                    (score_text(s, metric) + (" " + marks[s.model] if marks.get(s.model) else ""))
                    for s in metric.scores
                ),
            )
        )
    rows += [
        (u.name, "—", *(["data not available offline"] * len(report.models)))
        for u in report.unavailable
    ]
    blocks: list[Block] = [
        Heading(2, "Summary"),
        Table(("task", "metric", *report.models), tuple(rows)),
        P(
            f"Scores are shown with 95% confidence intervals. {WIN} significantly better than "
            f"every other model on that task (Holm-adjusted p < {report.alpha}); {TIE} no "
            "significant difference."
        ),
    ]
    comparisons = [c for c in report.comparisons() if c[1].primary]
    if comparisons:
        blocks.append(
            Table(
                (
                    "task",
                    "A vs B",
                    "difference A − B [95% CI]",
                    "p (Holm)",
                    "P(A better)",
                    "verdict",
                ),
                tuple(
                    (
                        task.name,
                        f"{c.model_a} vs {c.model_b}",
                        difference_text(c, metric),
                        p_text(c.p_adjusted),
                        number(c.prob_a_better, 2),
                        Strong(c.verdict),
                    )
                    for task, metric, c in comparisons
                ),
                numeric_from=2,
            )
        )
        blocks.append(
            P(
                f"A verdict names a winner only when the Holm-adjusted p-value is below "
                f"{report.alpha} (over all {len(report.comparisons())} comparisons in this report)."
            )
        )
    blocks.append(P(Strong("Recommendation:"), " " + recommendation(report)))
    return blocks


def recommendation(report: ReportModel) -> str:
    comparisons = [c for _, m, c in report.comparisons() if m.primary]
    wins: dict[str, int] = dict.fromkeys(report.models, 0)
    for c in comparisons:
        if c.verdict.endswith(" better"):
            wins[c.verdict.removesuffix(" better")] += 1
    significant = sum(wins.values())
    parts = []
    if not comparisons:
        parts.append("no paired comparison could be made (one model, or no shared samples).")
    elif significant == 0:
        parts.append(
            f"no model is significantly more accurate on any of the {len(comparisons)} primary "
            "comparisons; choose on speed, memory and cost (profiles below)."
        )
    else:
        leader = max(wins, key=lambda m: wins[m])
        others = ", ".join(f"{m} {wins[m]}" for m in report.models if m != leader)
        parts.append(
            f"for accuracy, {leader} — significantly better on {wins[leader]} of "
            f"{len(comparisons)} primary comparisons (others: {others or 'none'})."
        )
    for profile in report.profiles:
        if profile.winner and profile.name != "accuracy first":
            without = f" (not measured: {', '.join(profile.missing)})" if profile.missing else ""
            parts.append(f"For “{profile.name}”: {profile.winner}{without}.")
    if report.unavailable:
        parts.append(
            f"{len(report.unavailable)} requested task(s) had no data offline and are "
            "not part of this recommendation."
        )
    return " ".join(parts)


# --- 2. Specs, 3. Hardware --------------------------------------------------------------------


def specs(report: ReportModel) -> list[Block]:
    rows = tuple(
        (label, *(spec_value(report.model_info[m], key) for m in report.models))
        for label, key in SPEC_ROWS
    )
    return [
        Heading(2, "Specs and architecture"),
        Table(("", *report.models), rows),
        P(
            "From the model files' metadata (GGUF) or the backend; unknown means the source does "
            "not say.",
            muted=True,
        ),
    ]


def hardware(report: ReportModel) -> list[Block]:
    rows = []
    for row in report.hardware:
        kv = row.kv_bytes_per_token
        cells: list[Inline] = [
            row.model,
            mib(row.weights_bytes),
            "unknown" if kv is None else f"{kv / 1024:,.1f} KiB",
        ]
        for context in CONTEXTS:
            needed = row.ram_bytes.get(context)
            text = mib(needed)
            if needed is not None and row.context_length and context > row.context_length:
                text += " (beyond its context window)"
            cells.append(text)
        rows.append(tuple(cells))
    return [
        Heading(2, "Hardware and memory"),
        Table(
            (
                "model",
                "weights",
                "KV cache per token",
                *(f"RAM at {c // 1024}k context" for c in CONTEXTS),
            ),
            tuple(rows),
            numeric_from=1,
        ),
        P(
            f"KV cache per token = 2 × layers × KV heads × head dimension × "
            f"{KV_BYTES_PER_ELEMENT} bytes (f16 cache). RAM = weights + KV cache for the full "
            "context; the runtime's compute buffers add a few hundred MiB on top.",
            muted=True,
        ),
    ]


# --- 4. Benchmarks, 5. Multilingual, 7. Conversation, 8. Safety --------------------------------


def _power_cells(c_power: object, metric: MetricReport) -> tuple[str, str]:
    from bakeoff.report.model import Power

    if not isinstance(c_power, Power):
        return ("n/a", "n/a")
    mdd = "n/a" if math.isinf(c_power.mdd) else f"{c_power.mdd * metric.scale:.1f}"
    samples = "n/a" if c_power.samples_for_target is None else f"{c_power.samples_for_target:,}"
    return mdd, samples


def task_blocks(task: TaskReport) -> list[Block]:
    blocks: list[Block] = [Heading(3, f"{task.name} (v{task.version})")]
    if task.description:
        blocks.append(P(f"Source: {task.description}. {task.n_samples} samples."))
    models = [s.model for s in task.metrics[0].scores] if task.metrics else []
    blocks.append(
        Table(
            ("metric", *models),
            tuple(
                (
                    m.name + ("" if m.higher_is_better else " (lower is better)"),
                    *(score_text(s, m) for s in m.scores),
                )
                for m in task.metrics
            ),
            numeric_from=1,
        )
    )
    rows = []
    for metric in task.metrics:
        for c in metric.comparisons:
            mdd, samples = _power_cells(c.power, metric)
            rows.append(
                (
                    metric.name,
                    f"{c.model_a} vs {c.model_b}",
                    difference_text(c, metric),
                    c.paired.test,
                    p_text(c.paired.p_value),
                    p_text(c.p_adjusted),
                    number(c.prob_a_better, 2),
                    str(c.paired.n),
                    mdd,
                    samples,
                    Strong(c.verdict) if metric.primary else c.verdict,
                )
            )
    if rows:
        blocks.append(
            Table(
                (
                    "metric",
                    "A vs B",
                    "A − B [95% CI]",
                    "test",
                    "p",
                    "p (Holm)",
                    "P(A better)",
                    "n",
                    "MDD",
                    "n for 2 pts",
                    "verdict",
                ),
                tuple(rows),
            )
        )
    for group in task.groups:
        blocks.append(P(f"{task.name} by {group.key} ({group.metric}):"))
        blocks.append(
            Table(
                (group.key, "n", *models),
                tuple(
                    (
                        row.value,
                        str(row.n),
                        *(
                            interval_text(
                                row.scores[m], group.scale, 1 if group.scale >= 100 else 3
                            )
                            for m in models
                        ),
                    )
                    for row in group.rows
                ),
                numeric_from=1,
            )
        )
    return blocks


def benchmarks(report: ReportModel) -> list[Block]:
    blocks: list[Block] = [
        Heading(2, "Benchmarks"),
        P(
            "Each task: score ± 95% CI per model, then the paired difference with its test, raw "
            "and Holm-adjusted p, the paired-bootstrap probability that A beats B, the minimum "
            "detectable difference (MDD, 80% power at α = 0.05 for the n used; for 0/1 metrics "
            "from the measured share of samples on which the models disagree) and the samples a "
            "2-point difference would need."
        ),
    ]
    for task in report.section_tasks("benchmarks"):
        blocks += task_blocks(task)
    if report.unavailable:
        blocks.append(
            Table(
                ("task", "status", "reason"),
                tuple((u.name, "data not available offline", u.reason) for u in report.unavailable),
            )
        )
    if not report.section_tasks("benchmarks") and not report.unavailable:
        blocks.append(
            P(
                "No benchmark task in this run. Run one: ",
                Code("bakeoff run -m … -t arc-easy -t mmlu"),
            )
        )
    return blocks


def _family_section(report: ReportModel, key: str, title: str) -> list[Block]:
    tasks = report.section_tasks(key)
    blocks: list[Block] = [Heading(2, title)]
    if not tasks:
        return [
            *blocks,
            P("No data stored for this section. Measure it with ", Code(SECTION_HINTS[key]), "."),
        ]
    for task in tasks:
        blocks += task_blocks(task)
        blocks += _group_charts(task)
    return blocks


def _group_charts(task: TaskReport) -> list[Block]:
    charts = []
    for group in task.groups:
        for model in (s.model for s in task.metrics[0].scores):
            bars = [
                Bar(
                    row.value,
                    row.scores[model].estimate * group.scale,
                    row.scores[model].low * group.scale,
                    row.scores[model].high * group.scale,
                )
                for row in group.rows
            ]
            charts.append(bar_chart(f"{model}: {task.name} by {group.key}", bars))
    return [Figure(tuple(charts))] if charts else []


def multilingual(report: ReportModel) -> list[Block]:
    return _family_section(report, "multilingual", "Multilingual")


def conversation(report: ReportModel) -> list[Block]:
    return _family_section(report, "conversation", "Conversation")


def safety(report: ReportModel) -> list[Block]:
    return _family_section(report, "safety", "Safety")


# --- 6. Speed ---------------------------------------------------------------------------------


def speed(report: ReportModel) -> list[Block]:
    rows = tuple(
        (
            s.model,
            rate_text(s.prompt_tokens_per_second),
            rate_text(s.output_tokens_per_second),
            f"{s.prompt_tokens:,} in {s.prompt_seconds:.1f} s",
            f"{s.output_tokens:,} in {s.output_seconds:.1f} s",
        )
        for s in report.speed
    )
    blocks: list[Block] = [
        Heading(2, "Speed and efficiency"),
        Table(
            ("model", "prompt tokens/s", "generated tokens/s", "prompt timed", "generation timed"),
            rows,
            numeric_from=1,
        ),
        Figure(
            (
                bar_chart(
                    "prompt processing (tokens/s)",
                    [Bar(s.model, s.prompt_tokens_per_second or math.nan) for s in report.speed],
                ),
                bar_chart(
                    "generation (tokens/s)",
                    [Bar(s.model, s.output_tokens_per_second or math.nan) for s in report.speed],
                ),
            )
        ),
        P(
            "Measured during the run on this machine, one request at a time: prompt processing "
            "over every timed prompt (cached prefix tokens excluded), generation over every "
            "generated token after the first."
        ),
    ]
    if report.speed_section:
        blocks += [Raw(fmt, text) for fmt, text in report.speed_section.items()]
    else:
        blocks.append(
            P(
                "Latency percentiles, throughput under load and memory are measured separately: ",
                Code("bakeoff speed -m …"),
                ".",
            )
        )
    return blocks


# --- 9. Cost, 10. Use cases -------------------------------------------------------------------


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.4f}"


def cost(report: ReportModel) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Cost")]
    rows = []
    for row in report.cost:
        per_1m = "n/a" if row.seconds_per_1m_tokens is None else f"{row.seconds_per_1m_tokens:,.0f}"
        rows.append(
            (
                row.model,
                row.basis,
                f"{row.tokens:,}",
                f"{row.seconds:,.1f}",
                per_1m,
                _usd(row.usd_per_1m_tokens),
            )
        )
    blocks.append(
        Table(
            (
                "model",
                "basis",
                "tokens",
                "compute seconds",
                "seconds per 1M tokens",
                "$ per 1M tokens",
            ),
            tuple(rows),
            numeric_from=2,
        )
    )
    task_rows = [
        (
            row.model,
            t.task,
            f"{t.seconds:,.1f}",
            str(t.correct),
            _usd(t.usd),
            _usd(None if t.usd_per_correct is None else t.usd_per_correct * 1000),
        )
        for row in report.cost
        for t in row.tasks
    ]
    if task_rows:
        blocks.append(
            Table(
                ("model", "task", "seconds", "correct", "$ per task", "$ per 1,000 correct"),
                tuple(task_rows),
                numeric_from=2,
            )
        )
    if report.price_per_hour is None:
        blocks.append(
            P(
                "Dollar figures need a hardware price: ",
                Code("bakeoff report --price-per-hour 0.50"),
                " (self-hosting estimate from the measured throughput, one request at "
                "a time; batching lowers it).",
            )
        )
    else:
        blocks.append(
            P(
                f"Self-hosting estimate at ${report.price_per_hour:,.2f} per hour from "
                "the measured throughput, one request at a time (batching lowers it)."
            )
        )
    return blocks


def _pareto_figure(points: tuple[ParetoPoint, ...], x_label: str, title: str) -> str:
    return scatter_chart(
        title,
        [Point(p.model, p.x, p.y, p.on_front) for p in points],
        x_label,
        "quality (mean primary score)",
    )


def use_cases(report: ReportModel) -> list[Block]:
    criteria = ("quality", "safety", "speed", "latency", "cost", "memory")
    dollars = any(row.usd_per_1m_tokens is not None for row in report.cost)
    blocks: list[Block] = [
        Heading(2, "Use cases"),
        Table(
            ("profile", "weights", *report.models, "best"),
            tuple(
                (
                    p.name,
                    ", ".join(f"{k} {v:g}" for k, v in p.weights.items()),
                    *(number(p.scores.get(m), 3) for m in report.models),
                    (p.winner or "n/a")
                    + (f" (not measured: {', '.join(p.missing)})" if p.missing else ""),
                )
                for p in report.profiles
            ),
            numeric_from=2,
        ),
        P(
            "Each criterion is normalized so the best model scores 1 (quality and safety are "
            "fractions as measured); weights of unmeasured criteria are dropped. "
            "Your own weights: ",
            Code("bakeoff report --weights weights.yaml"),
            ".",
        ),
        Table(
            ("criterion", *report.models),
            tuple(
                (
                    c,
                    *(
                        _criterion_text(c, report.criteria[m].get(c), dollars)
                        for m in report.models
                    ),
                )
                for c in criteria
            ),
            numeric_from=1,
        ),
    ]
    cost_axis = "$ per 1M tokens" if dollars else "compute seconds per 1M tokens"
    front_rows = [
        (kind, p.model, f"{p.x:,.4g}", f"{p.y:.3f}", "yes" if p.on_front else "no")
        for kind, points in (("cost", report.pareto_cost), ("latency", report.pareto_latency))
        for p in points
    ]
    if front_rows:
        blocks.append(
            Table(
                ("axis", "model", "cost or latency", "quality", "Pareto-optimal"),
                tuple(front_rows),
                numeric_from=2,
            )
        )
        blocks.append(
            Figure(
                (
                    _pareto_figure(report.pareto_cost, cost_axis, "quality vs cost"),
                    _pareto_figure(
                        report.pareto_latency, "seconds per sample", "quality vs latency"
                    ),
                )
            )
        )
    return blocks


def _criterion_text(criterion: str, value: float | None, dollars: bool) -> str:
    if value is None:
        return "not measured"
    if criterion == "memory":
        return mib(value)
    if criterion == "speed":
        return f"{value:,.1f} tok/s"
    if criterion == "latency":
        return f"{value:.3f} s/sample"
    if criterion == "cost":
        return f"${value:,.4f} per 1M tokens" if dollars else f"{value:,.0f} s per 1M tokens"
    return f"{value:.3f}"


# --- 11. Disagreements, 12. Methodology -------------------------------------------------------


def disagreements(report: ReportModel) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Where the models disagree")]
    found = False
    for task in report.tasks:
        if not task.disagreements:
            continue
        found = True
        blocks.append(Heading(3, task.name))
        blocks.append(
            Table(
                ("sample", "target", "input", *report.models),
                tuple(
                    (
                        d.sample_id,
                        d.target[:200],
                        d.input[-400:],
                        *(
                            ("✓ " if d.correct.get(m) else "✗ ") + d.predictions.get(m, "")[:400]
                            for m in report.models
                        ),
                    )
                    for d in task.disagreements
                ),
                long_text_from=2,
            )
        )
    if not found:
        blocks.append(P("No sample where one model is right and another wrong."))
    return blocks


def methodology(report: ReportModel) -> list[Block]:
    run = report.run
    machine = run.manifest.get("machine", {})
    blocks: list[Block] = [Heading(2, "Methodology and reproducibility"), P(report.method)]
    if isinstance(machine, dict):
        blocks.append(
            P(
                f"Machine: {machine.get('processor', '?')}, {machine.get('cpu_count', '?')} CPUs, "
                f"{machine.get('platform', '?')}, Python {machine.get('python', '?')}."
            )
        )
    blocks.append(
        Table(
            ("task", "version", "prompt template hash", "samples"),
            tuple(
                (t.name, t.version, Code(t.template_hash), str(t.n_samples)) for t in report.tasks
            ),
        )
    )
    blocks.append(
        Table(
            ("model", "spec", "sha256"),
            tuple((m.label, Code(m.spec[:120]), Code(m.sha256 or "unknown")) for m in run.models),
        )
    )
    command = run.manifest.get("command")
    if command:
        blocks += [
            P("Rerun (resumes, or reproduces with a fresh --db):"),
            Pre(_rerun(str(command))),
        ]
    return blocks


def _rerun(command: str) -> str:
    parts = command.split()
    if parts and parts[0].endswith("bakeoff"):
        parts[0] = "bakeoff"
    return " ".join(shlex.quote(p) for p in parts)
