"""HTML pages of ``bakeoff serve``. No script at all; styles come from one same-origin file.

Everything from the store (run names, model labels, inputs, outputs) passes through ``esc``;
a model's output is data, never markup.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from bakeoff.stats import Interval, holm, mcnemar_exact, newcombe_paired_interval, wilson_interval
from bakeoff.web.queries import RunRow, SampleRow, TaskStats

MAX_CELL_CHARS = 2000
ALPHA = 0.05
CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;
color:#1d1d1d;line-height:1.4}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em;width:100%}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font-size:.88em;max-height:14em;
overflow:auto}
.ok{color:#245c10;font-weight:bold}.bad{color:#a40000;font-weight:bold}.muted{color:#666}
nav a,.pager a{margin-right:1em}form{margin:.8em 0}
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{esc(title)}</title><link rel="stylesheet" href="/static/style.css"></head>'
        f'<body><nav><a href="/">runs</a></nav><h1>{esc(title)}</h1>{body}</body></html>'
    )


def run_url(run_id: str, suffix: str = "", **query: object) -> str:
    params = {k: v for k, v in query.items() if v not in (None, "", False)}
    tail = ("?" + urlencode(params)) if params else ""
    return f"/run/{quote(run_id, safe='')}{suffix}{tail}"


def runs_page(runs: Sequence[RunRow]) -> str:
    if not runs:
        return page("bakeoff runs", "<p>No runs stored yet: <code>bakeoff run …</code></p>")
    rows = "".join(
        f'<tr><td><a href="{esc(run_url(r.run_id))}">{esc(r.run_id)}</a></td>'
        f"<td>{esc(r.name)}</td><td>{esc(r.status)}</td><td>{esc(r.created_at)}</td>"
        f"<td>{esc(', '.join(r.models))}</td><td>{esc(', '.join(r.tasks))}</td></tr>"
        for r in runs
    )
    return page(
        "bakeoff runs",
        '<table id="runs"><thead><tr><th>run</th><th>name</th>'
        "<th>status</th><th>created</th><th>models</th><th>tasks</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>",
    )


def _pair_form(run: RunRow, pair: Sequence[str], action: str, extra: str = "") -> str:
    def select(name: str, chosen: str) -> str:
        options = "".join(
            f'<option value="{esc(m)}"{" selected" if m == chosen else ""}>{esc(m)}</option>'
            for m in run.models
        )
        return f'<label>{name} <select name="{name}">{options}</select></label> '

    return (
        f'<form method="get" action="{esc(action)}">{select("a", pair[0])}'
        f'{select("b", pair[1])}{extra}<button type="submit">show</button></form>'
    )


def _score(counts: tuple[int, int, int, int] | None) -> str:
    if not counts or counts[2] == 0:
        return '<td class="num muted">no scored results</td>'
    _, failed, scored, correct = counts
    ci = wilson_interval(correct, scored)
    failed_text = f" ({failed} failed)" if failed else ""
    return (
        f'<td class="num">{100 * ci.estimate:.1f} [{100 * ci.low:.1f}, {100 * ci.high:.1f}]'
        f" n={scored}{failed_text}</td>"
    )


@dataclass(frozen=True, slots=True)
class PairedRow:
    """One task's paired accuracy comparison of A and B (McNemar exact, Newcombe interval)."""

    n: int
    difference: Interval
    p_value: float
    p_holm: float = math.nan


def paired_rows(stats: Sequence[TaskStats]) -> dict[str, PairedRow]:
    """Per task with shared scored samples: A − B with McNemar's p, Holm-adjusted over the
    tasks on the page (the guide adjusts over all its comparisons, so its p can be larger)."""
    raw = {}
    for t in stats:
        both, only_a, only_b, neither = t.paired
        n = both + only_a + only_b + neither
        if n:
            interval = newcombe_paired_interval(both, only_a, only_b, neither)
            raw[t.task] = PairedRow(n, interval, mcnemar_exact(only_a, only_b))
    adjusted = holm([row.p_value for row in raw.values()])
    return {
        task: PairedRow(row.n, row.difference, row.p_value, p)
        for (task, row), p in zip(raw.items(), adjusted, strict=True)
    }


def _paired_cells(row: PairedRow | None, pair: Sequence[str]) -> str:
    if row is None:
        return '<td class="num muted">no shared scored samples</td><td></td><td></td>'
    d = row.difference
    p = "<0.001" if row.p_holm < 0.001 else f"{row.p_holm:.3f}"
    if row.p_holm < ALPHA and d.estimate != 0:
        verdict = (
            f'<strong class="ok">{esc(pair[0] if d.estimate > 0 else pair[1])} better</strong>'
        )
    else:
        verdict = '<span class="muted">no significant difference</span>'
    return (
        f'<td class="num">{100 * d.estimate:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}] '
        f'n={row.n}</td><td class="num">{esc(p)}</td><td>{verdict}</td>'
    )


def comparison_page(
    run: RunRow,
    pair: Sequence[str],
    stats: Sequence[TaskStats],
    unavailable: Sequence[dict[str, Any]],
) -> str:
    a, b = pair
    paired = paired_rows(stats)
    rows = []
    for t in stats:
        samples = run_url(run.run_id, "/samples", task=t.task, a=a, b=b)
        disagree = run_url(run.run_id, "/samples", task=t.task, a=a, b=b, disagree=1)
        rows.append(
            f'<tr><td>{esc(t.task)}</td><td class="num">{t.n_samples:,}</td>'
            f"{_score(t.by_model.get(a))}{_score(t.by_model.get(b))}"
            f"{_paired_cells(paired.get(t.task), pair)}"
            f'<td class="num"><a href="{esc(disagree)}">{t.disagreements:,}</a></td>'
            f'<td><a href="{esc(samples)}">all samples</a></td></tr>'
        )
    for item in unavailable:
        rows.append(
            f"<tr><td>{esc(item.get('name', '?'))}</td><td></td>"
            f'<td colspan="5" class="muted">data not available offline: '
            f"{esc(item.get('reason', ''))}</td><td></td><td></td></tr>"
        )
    table = (
        '<table id="comparison"><thead><tr><th>task</th><th>samples</th>'
        f"<th>{esc(a)}: accuracy % [95% CI]</th><th>{esc(b)}: accuracy % [95% CI]</th>"
        f"<th>{esc(a)} − {esc(b)} [95% CI]</th><th>p (Holm)</th><th>verdict</th>"
        "<th>disagreements (one right, one wrong)</th><th></th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    guide = run_url(run.run_id, "/guide")
    body = (
        f'<p class="muted">{esc(run.name)} · {esc(run.status)} · created {esc(run.created_at)}'
        f"</p>{_pair_form(run, pair, run_url(run.run_id))}{table}"
        '<p class="muted">Accuracy = share of scored samples marked correct (Wilson interval). '
        "The difference uses the samples both models scored: Newcombe interval, McNemar's exact "
        f"test, p Holm-adjusted over the tasks above (the guide adjusts over every metric's "
        f"comparisons, so its p can be larger); a verdict needs p &lt; {ALPHA}. "
        f'All metrics, power and the recommendation: <a href="{esc(guide)}">the full '
        "comparison guide</a>.</p>"
    )
    return page(f"{a} vs {b}", body)


def cell_text(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, list) and all(isinstance(m, dict) for m in value):
        text = "\n".join(f"{m.get('role', '?')}: {m.get('content', '')}" for m in value)
    else:
        text = json.dumps(value, ensure_ascii=False)
    if len(text) <= MAX_CELL_CHARS:
        return text
    # Keep both ends: a long prompt ends with its question, a long answer starts with it.
    head, tail = MAX_CELL_CHARS // 3, MAX_CELL_CHARS - MAX_CELL_CHARS // 3
    return f"{text[:head]}\n[… {len(text) - head - tail:,} characters …]\n{text[-tail:]}"


def _target_cell(row: SampleRow) -> str:
    """The target as the models' answers read: a multiple-choice target is stored as the index
    of the right option, so its text is shown, with the option's letter and index beside it."""
    target = row.target
    if isinstance(target, int) and not isinstance(target, bool) and 0 <= target < len(row.choices):
        letter = f"{chr(ord('A') + target)}, " if target < 26 else ""
        where = f"choice {letter}index {target} of {len(row.choices)}"
        return (
            f"<td><pre>{esc(cell_text(row.choices[target]))}</pre>"
            f'<span class="muted">{esc(where)}</span></td>'
        )
    return f"<td><pre>{esc(cell_text(target))}</pre></td>"


def _output_cell(output: tuple[str | None, int | None, str | None]) -> str:
    prediction, correct, status = output
    if status is None:
        return '<td class="muted">not run</td>'
    if status == "failed":
        return '<td class="bad">failed</td>'
    mark = (
        '<span class="ok">✓</span> '
        if correct == 1
        else '<span class="bad">✗</span> '
        if correct == 0
        else ""
    )
    return f"<td>{mark}<pre>{esc(cell_text(prediction or ''))}</pre></td>"


def samples_page(
    run: RunRow,
    task: str,
    pair: Sequence[str],
    rows: Sequence[SampleRow],
    *,
    total: int,
    disagree_only: bool,
    has_prev: bool,
    has_next: bool,
) -> str:
    a, b = pair
    options = "".join(
        f'<option value="{esc(t)}"{" selected" if t == task else ""}>{esc(t)}</option>'
        for t in run.tasks
    )
    checked = " checked" if disagree_only else ""
    extra = (
        f'<label>task <select name="task">{options}</select></label> '
        f'<label><input type="checkbox" name="disagree" value="1"{checked}> only '
        "disagreements</label> "
    )
    body_rows = "".join(
        f'<tr><td class="num">{r.position}</td><td>{esc(r.sample_id)}</td>'
        f"<td><pre>{esc(cell_text(r.input))}</pre></td>{_target_cell(r)}"
        f"{_output_cell(r.outputs[0])}{_output_cell(r.outputs[1])}</tr>"
        for r in rows
    )
    common = {"task": task, "a": a, "b": b, "disagree": 1 if disagree_only else None}
    pager = []
    if has_prev and rows:
        pager.append(
            f'<a rel="prev" href="{esc(run_url(run.run_id, "/samples", **common, before=rows[0].position))}">'  # noqa: E501
            "← previous</a>"
        )
    if has_next and rows:
        pager.append(
            f'<a rel="next" href="{esc(run_url(run.run_id, "/samples", **common, after=rows[-1].position))}">'  # noqa: E501
            "next →</a>"
        )
    table = (
        '<table id="samples"><thead><tr><th>#</th><th>sample</th><th>input</th><th>target</th>'
        f"<th>{esc(a)}</th><th>{esc(b)}</th></tr></thead><tbody>{body_rows}</tbody></table>"
        if rows
        else "<p>No sample on this page.</p>"
    )
    back = f'<a href="{esc(run_url(run.run_id, a=a, b=b))}">comparison</a>'
    what = "disagreements" if disagree_only else "samples"
    body = (
        f'<p class="muted">{back} · {esc(task)}: {total:,} samples; showing {len(rows)} '
        f"{what}</p>{_pair_form(run, pair, run_url(run.run_id, '/samples'), extra)}{table}"
        f'<p class="pager">{"".join(pager)}</p>'
    )
    return page(f"{task}: {a} vs {b}", body)


BUILDING_REFRESH_S = 5


def building_page(run_id: str, name: str) -> str:
    """Shown while the guide of a large run is being built; reloads itself (no script)."""
    guide = run_url(run_id, "/guide")
    body = (
        f"<p>The comparison guide of run {esc(run_id)} ({esc(name)}) is being built: every "
        "stored result is read and every difference tested, which takes a while for a large "
        f"run. This page reloads every {BUILDING_REFRESH_S} s; or "
        f'<a href="{esc(guide)}">reload it</a>. The comparison and the samples are ready now: '
        f'<a href="{esc(run_url(run_id))}">comparison</a>.</p>'
    )
    refresh = f'<meta http-equiv="refresh" content="{BUILDING_REFRESH_S}">'
    return page("building the guide…", body).replace("<head>", "<head>" + refresh, 1)


def error_page(message: str, title: str = "not found") -> str:
    return page(title, f"<p>{esc(message)}</p>")
