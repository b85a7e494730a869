"""Self-contained HTML rendering: inline CSS and SVG, no script, nothing fetched from a network.

Everything that comes from a model or a dataset goes through ``untrusted_html``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bakeoff.report.markdown import SPEC_ROWS, spec_value
from bakeoff.report.model import MetricReport, ReportModel, TaskReport
from bakeoff.report.svg import Bar, bar_chart
from bakeoff.report.text import (
    difference_text,
    number,
    p_text,
    rate_text,
    score_text,
    untrusted_html,
)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#1d1d1d;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #d0d0d0;padding:.3em .55em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.better{font-weight:bold;color:#245c10}.nosig{color:#666}
pre,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88em}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:.5em;margin:0}
.ok{color:#245c10}.bad{color:#a40000}.muted{color:#666}
.charts{display:flex;flex-wrap:wrap;gap:1em}
@media print{body{max-width:none}h2{page-break-after:avoid}table,svg{page-break-inside:avoid}}
"""


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric_from: int = 99) -> str:
    """Cells are pre-escaped HTML fragments; columns from ``numeric_from`` are right-aligned."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell}</td>' if i >= numeric_from else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _verdict_html(verdict: str) -> str:
    css = "nosig" if verdict.startswith("no significant") else "better"
    return f'<span class="{css}">{untrusted_html(verdict)}</span>'


def render_html(report: ReportModel) -> str:
    run = report.run
    title = f"bakeoff report: {' vs '.join(report.models)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No network: the policy forbids every fetch; styles are inline.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{untrusted_html(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{untrusted_html(title)}</h1>",
        f'<p class="muted">Run <code>{untrusted_html(run.run_id)}</code> '
        f"({untrusted_html(run.name)}), created {untrusted_html(run.created_at)}, status "
        f"<b>{untrusted_html(run.status)}</b>, bakeoff "
        f"{untrusted_html(str(run.manifest.get('bakeoff_version', '?')))}.</p>",
        _summary(report),
        _models(report),
        _speed(report),
        *(_task(task) for task in report.tasks),
        _disagreements(report),
        _methodology(report),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(report: ReportModel) -> str:
    rows = []
    charts = []
    for task in report.tasks:
        for metric in task.metrics:
            if metric.primary:
                rows.append(
                    [untrusted_html(task.name), untrusted_html(metric.name)]
                    + [untrusted_html(score_text(s, metric)) for s in metric.scores]
                )
                charts.append(_metric_chart(task, metric))
    comparisons = [c for c in report.comparisons() if c[1].primary]
    verdicts = _table(
        ["task", "A vs B", "difference A − B [95% CI]", "p (Holm)", "P(A better)", "verdict"],
        [
            [
                untrusted_html(task.name),
                untrusted_html(f"{c.model_a} vs {c.model_b}"),
                difference_text(c, metric),
                p_text(c.p_adjusted),
                number(c.prob_a_better, 2),
                _verdict_html(c.verdict),
            ]
            for task, metric, c in comparisons
        ],
        numeric_from=2,
    ) if comparisons else ""
    return (
        "<h2>Summary</h2>"
        + _table(["task", "metric", *map(untrusted_html, report.models)], rows, numeric_from=2)
        + "<p>Scores with 95% confidence intervals.</p>"
        + verdicts
        + f"<p>A verdict names a winner only when the Holm-adjusted p-value is below "
        f"{report.alpha} (over all {len(report.comparisons())} comparisons).</p>"
        + f'<div class="charts">{"".join(charts)}</div>'
    )


def _metric_chart(task: TaskReport, metric: MetricReport) -> str:
    bars = [
        Bar(
            s.model,
            s.interval.estimate * metric.scale,
            s.interval.low * metric.scale,
            s.interval.high * metric.scale,
        )
        for s in metric.scores
    ]
    return bar_chart(f"{task.name}: {metric.name} (95% CI)", bars)


def _models(report: ReportModel) -> str:
    rows = [
        [label, *(untrusted_html(_plain(spec_value(dict(report.model_info[m]), key)))
                  for m in report.models)]
        for label, key in SPEC_ROWS
    ]
    return "<h2>Models</h2>" + _table(["", *map(untrusted_html, report.models)], rows)


def _plain(markdown_value: str) -> str:
    """spec_value formats for Markdown; undo its code ticks and escapes for HTML."""
    return markdown_value.replace("`", "").replace("\\", "")


def _speed(report: ReportModel) -> str:
    rows = [
        [
            untrusted_html(s.model),
            rate_text(s.prompt_tokens_per_second),
            rate_text(s.output_tokens_per_second),
            f"{s.prompt_tokens:,} in {s.prompt_seconds:.1f} s",
            f"{s.output_tokens:,} in {s.output_seconds:.1f} s",
        ]
        for s in report.speed
    ]
    charts = [
        bar_chart(
            "prompt processing (tokens/s)",
            [Bar(s.model, s.prompt_tokens_per_second or float("nan")) for s in report.speed],
        ),
        bar_chart(
            "generation (tokens/s)",
            [Bar(s.model, s.output_tokens_per_second or float("nan")) for s in report.speed],
        ),
    ]
    return (
        "<h2>Speed</h2>"
        + _table(
            ["model", "prompt tokens/s", "generated tokens/s", "prompt timed", "generation timed"],
            rows,
            numeric_from=1,
        )
        + f'<div class="charts">{"".join(charts)}</div>'
        + "<p>Measured during the run on this machine, one request at a time.</p>"
    )


def _task(task: TaskReport) -> str:
    models = [s.model for s in task.metrics[0].scores] if task.metrics else []
    scores = _table(
        ["metric", *map(untrusted_html, models)],
        [
            [untrusted_html(m.name + ("" if m.higher_is_better else " (lower is better)"))]
            + [untrusted_html(score_text(s, m)) for s in m.scores]
            for m in task.metrics
        ],
        numeric_from=1,
    )
    rows = [
        [
            untrusted_html(metric.name),
            untrusted_html(f"{c.model_a} vs {c.model_b}"),
            difference_text(c, metric),
            untrusted_html(c.paired.test),
            p_text(c.paired.p_value),
            p_text(c.p_adjusted),
            number(c.prob_a_better, 2),
            str(c.paired.n),
            _verdict_html(c.verdict),
        ]
        for metric in task.metrics
        for c in metric.comparisons
    ]
    comparisons = _table(
        ["metric", "A vs B", "A − B [95% CI]", "test", "p", "p (Holm)", "P(A better)", "n",
         "verdict"],
        rows,
    ) if rows else ""
    source = f"<p>Source: {untrusted_html(task.description)}. {task.n_samples} samples.</p>"
    return (
        f"<h2>Task: {untrusted_html(task.name)} (v{untrusted_html(task.version)})</h2>"
        + source + scores + comparisons
    )


def _disagreements(report: ReportModel) -> str:
    parts = ["<h2>Where the models disagree</h2>"]
    for task in report.tasks:
        if not task.disagreements:
            continue
        parts.append(f"<h3>{untrusted_html(task.name)}</h3>")
        rows = []
        for d in task.disagreements:
            cells = [
                untrusted_html(d.sample_id),
                f"<pre>{untrusted_html(d.input[-400:])}</pre>",
                f"<pre>{untrusted_html(d.target)}</pre>",
            ]
            for model in report.models:
                mark = '<span class="ok">✓</span>' if d.correct.get(model) else (
                    '<span class="bad">✗</span>'
                )
                cells.append(f"{mark}<pre>{untrusted_html(d.predictions.get(model, ''))}</pre>")
            rows.append(cells)
        parts.append(_table(["sample", "input", "target", *map(untrusted_html, report.models)],
                            rows))
    if len(parts) == 1:
        parts.append("<p>No sample where one model is right and another wrong.</p>")
    return "".join(parts)


def _methodology(report: ReportModel) -> str:
    run = report.run
    tasks = _table(
        ["task", "version", "prompt template hash", "samples"],
        [
            [untrusted_html(t.name), untrusted_html(t.version),
             f"<code>{untrusted_html(t.template_hash)}</code>", str(t.n_samples)]
            for t in report.tasks
        ],
    )
    models = _table(
        ["model", "spec", "sha256"],
        [
            [untrusted_html(m.label), f"<code>{untrusted_html(m.spec)}</code>",
             f"<code>{untrusted_html(m.sha256 or 'unknown')}</code>"]
            for m in run.models
        ],
    )
    machine = run.manifest.get("machine", {})
    machine_text = ""
    if isinstance(machine, dict):
        machine_text = untrusted_html(
            f"Machine: {machine.get('processor', '?')}, {machine.get('cpu_count', '?')} CPUs, "
            f"{machine.get('platform', '?')}, Python {machine.get('python', '?')}."
        )
    command = str(run.manifest.get("command", ""))
    return (
        "<h2>Methodology and reproducibility</h2>"
        f"<p>{untrusted_html(report.method)}</p><p>{machine_text}</p>"
        + tasks
        + models
        + (f"<p>Command:</p><pre>{untrusted_html(command)}</pre>" if command else "")
    )
