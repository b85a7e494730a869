"""Markdown rendering of the report view model."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence

from bakeoff.report.model import ReportModel, TaskReport
from bakeoff.report.text import (
    difference_text,
    number,
    p_text,
    rate_text,
    score_text,
    untrusted_markdown,
)

SPEC_ROWS: tuple[tuple[str, str], ...] = (
    ("backend", "backend"),
    ("source", "source"),
    ("architecture", "architecture"),
    ("parameters", "parameters"),
    ("mixture of experts", "is_moe"),
    ("layers", "n_layers"),
    ("attention heads / KV heads", "heads"),
    ("context window", "context_length"),
    ("vocabulary", "vocab_size"),
    ("quantization", "quantization"),
    ("file size", "file_bytes"),
    ("chat template", "has_chat_template"),
    ("sha256", "sha256"),
)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def spec_value(info: dict[str, object], key: str) -> str:
    if key == "heads":
        heads, kv = info.get("n_heads"), info.get("n_kv_heads")
        return f"{heads} / {kv}" if heads is not None else "unknown"
    value = info.get(key)
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "parameters" and isinstance(value, int):
        return f"{value / 1e6:,.1f} M"
    if key == "file_bytes" and isinstance(value, int):
        return f"{value / 2**20:,.1f} MiB"
    if key == "sha256":
        return f"`{str(value)[:16]}…`"
    if isinstance(value, int):
        return f"{value:,}"
    return untrusted_markdown(str(value), limit=80)


def render_markdown(report: ReportModel) -> str:
    run = report.run
    lines = [
        f"# bakeoff report: {' vs '.join(report.models)}",
        "",
        f"Run `{run.run_id}` ({untrusted_markdown(run.name)}), created {run.created_at}, "
        f"status **{run.status}**, bakeoff {run.manifest.get('bakeoff_version', '?')}.",
        "",
    ]
    lines += _summary(report)
    lines += _models(report)
    lines += _speed(report)
    for task in report.tasks:
        lines += _task(task)
    lines += _disagreements(report)
    lines += _methodology(report)
    return "\n".join(lines).rstrip() + "\n"


def _summary(report: ReportModel) -> list[str]:
    lines = ["## Summary", ""]
    header = ["task", "metric", *report.models]
    rows = []
    for task in report.tasks:
        for metric in task.metrics:
            if not metric.primary:
                continue
            rows.append([task.name, metric.name, *(score_text(s, metric) for s in metric.scores)])
    lines += _table(header, rows)
    lines += ["", "Scores are shown with 95% confidence intervals.", ""]
    comparisons = [c for c in report.comparisons() if c[1].primary]
    if comparisons:
        lines += _table(
            ["task", "A vs B", "difference A − B [95% CI]", "p (Holm)", "P(A better)", "verdict"],
            [
                [
                    task.name,
                    f"{c.model_a} vs {c.model_b}",
                    difference_text(c, metric),
                    p_text(c.p_adjusted),
                    number(c.prob_a_better, 2),
                    f"**{c.verdict}**",
                ]
                for task, metric, c in comparisons
            ],
        )
        lines += [
            "",
            f"A verdict names a winner only when the Holm-adjusted p-value is below "
            f"{report.alpha} (over all {len(report.comparisons())} comparisons in this report).",
            "",
        ]
    return lines


def _models(report: ReportModel) -> list[str]:
    lines = ["## Models", ""]
    rows = [
        [label, *(spec_value(dict(report.model_info[m]), key) for m in report.models)]
        for label, key in SPEC_ROWS
    ]
    lines += _table(["", *report.models], rows)
    return [*lines, ""]


def _speed(report: ReportModel) -> list[str]:
    lines = ["## Speed", ""]
    rows = [
        [
            s.model,
            rate_text(s.prompt_tokens_per_second),
            rate_text(s.output_tokens_per_second),
            f"{s.prompt_tokens:,} in {s.prompt_seconds:.1f} s",
            f"{s.output_tokens:,} in {s.output_seconds:.1f} s",
        ]
        for s in report.speed
    ]
    lines += _table(
        ["model", "prompt tokens/s", "generated tokens/s", "prompt timed", "generation timed"],
        rows,
    )
    lines += [
        "",
        "Measured during the run on this machine, one request at a time: prompt processing "
        "over every timed prompt (cached prefix tokens excluded), generation over every "
        "generated token after the first.",
        "",
    ]
    return lines


def _task(task: TaskReport) -> list[str]:
    lines = [f"## Task: {task.name} (v{task.version})", ""]
    if task.description:
        lines += [f"Source: {untrusted_markdown(task.description, 200)}. "
                  f"{task.n_samples} samples.", ""]
    models = [s.model for s in task.metrics[0].scores] if task.metrics else []
    lines += _table(
        ["metric", *models],
        [[m.name + ("" if m.higher_is_better else " (lower is better)"),
          *(score_text(s, m) for s in m.scores)] for m in task.metrics],
    )
    rows = [
        [
            metric.name,
            f"{c.model_a} vs {c.model_b}",
            difference_text(c, metric),
            c.paired.test,
            p_text(c.paired.p_value),
            p_text(c.p_adjusted),
            number(c.prob_a_better, 2),
            str(c.paired.n),
            c.verdict,
        ]
        for metric in task.metrics
        for c in metric.comparisons
    ]
    if rows:
        lines += [""]
        lines += _table(
            ["metric", "A vs B", "A − B [95% CI]", "test", "p", "p (Holm)", "P(A better)", "n",
             "verdict"],
            rows,
        )
    return [*lines, ""]


def _disagreements(report: ReportModel) -> list[str]:
    lines = ["## Where the models disagree", ""]
    any_found = False
    for task in report.tasks:
        if not task.disagreements:
            continue
        any_found = True
        lines += [f"### {task.name}", ""]
        header = ["sample", "input", "target", *report.models]
        rows = [
            [
                d.sample_id,
                untrusted_markdown(d.input[-120:]),
                untrusted_markdown(d.target, 40),
                *(
                    ("✓ " if d.correct.get(m) else "✗ ")
                    + untrusted_markdown(d.predictions.get(m, ""), 60)
                    for m in report.models
                ),
            ]
            for d in task.disagreements
        ]
        lines += [*_table(header, rows), ""]
    if not any_found:
        lines += ["No sample where one model is right and another wrong.", ""]
    return lines


def _methodology(report: ReportModel) -> list[str]:
    run = report.run
    machine = run.manifest.get("machine", {})
    lines = ["## Methodology and reproducibility", "", report.method, ""]
    if isinstance(machine, dict):
        lines += [
            f"Machine: {untrusted_markdown(str(machine.get('processor', '?')))}, "
            f"{machine.get('cpu_count', '?')} CPUs, {machine.get('platform', '?')}, "
            f"Python {machine.get('python', '?')}.",
            "",
        ]
    lines += _table(
        ["task", "version", "prompt template hash", "samples"],
        [[t.name, t.version, f"`{t.template_hash}`", str(t.n_samples)] for t in report.tasks],
    )
    lines += [""]
    lines += _table(
        ["model", "spec", "sha256"],
        [
            [m.label, f"`{untrusted_markdown(m.spec, 120)}`", f"`{m.sha256 or 'unknown'}`"]
            for m in run.models
        ],
    )
    command = run.manifest.get("command")
    if command:
        lines += ["", "Rerun (resumes, or reproduces with a fresh --db):", "", "```",
                  _rerun(str(command)), "```"]
    return [*lines, ""]


def _rerun(command: str) -> str:
    parts = command.split()
    if parts and parts[0].endswith("bakeoff"):
        parts[0] = "bakeoff"
    return " ".join(shlex.quote(p) for p in parts)
