"""The guide's sections, in order, as format-neutral blocks (report.blocks renders them).

1 summary · 2 specs · 3 hardware · 4 benchmarks · 5 multilingual · 6 speed · 7 conversation ·
8 safety · 9 cost · 10 use cases · 11 disagreements · 12 methodology. A section with no stored
data says so and names the command that measures it.
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Iterable, Mapping
from pathlib import PurePath

from bakeoff.core.types import JSONValue
from bakeoff.report.blocks import (
    Block,
    Bullets,
    Code,
    Figure,
    Heading,
    Inline,
    Pre,
    Raw,
    Strong,
    Table,
)
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.chat_probe import TRANSCRIPT_MARK, TRANSCRIPT_NOTE, transcript_mark
from bakeoff.report.hardware import CONTEXTS, KV_BYTES_PER_ELEMENT, HardwareRow
from bakeoff.report.model import (
    LETTER_FORMULATION,
    MetricReport,
    ReportModel,
    TaskReport,
    evidence_of,
)
from bakeoff.report.profiles import ParetoPoint, ProfileResult
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
    ("output limit", "max_output_tokens"),
    ("vocabulary", "vocab_size"),
    ("quantization", "quantization"),
    ("file size", "file_bytes"),
    ("chat template", "has_chat_template"),
    ("license", "license"),
    ("open weights", "open_weights"),
    ("sha256", "sha256"),
)
WIN, TIE = "▲", "≈"
ESTIMATE_MARK = "~"
"""Before a figure computed from output tokens of which some are counts of stream chunks
(``ResultRecord.output_tokens_estimated``). Not ≈ (the summary's "no significant difference"):
one sign, one meaning."""
ESTIMATE_NOTE = (
    "output tokens estimated from stream chunks (a chunk may carry several tokens): the server "
    "reported no output-token counts and no tokenizer was given"
)
SECTION_HINTS = {
    "multilingual": (
        "bakeoff run -m … -t script-copy",
        "synthetic, no data needed; -t xcopa -t belebele -t xnli with their data give "
        "per-language accuracy",
    ),
    "conversation": ("bakeoff run -m … -t conversation", "memory across turns, accuracy by depth"),
    "safety": (
        "bakeoff run -m … -t xstest -t bbq",
        "refusal and bias, their data available offline; -t toxicity with an offline "
        "classifier installed",
    ),
}


LOCAL_WEIGHT_BACKENDS = frozenset({"llamacpp", "hf"})
"""Backends that load the weights themselves: whatever their license, the weights are open."""
EXTRA_SPEC_KEYS = frozenset({"max_output_tokens", "open_weights"})
"""Spec rows kept in ``extra`` (an API model's catalog entry, or the server's own word)."""


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
    """▲ for a model that wins a comparison and loses none on this metric, ≈ for one that
    neither wins nor loses; nothing without comparisons."""
    if not metric.comparisons:
        return {}
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
    rows: list[tuple[Inline, ...]] = []
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
                    (
                        score_text(s, metric)
                        + (" " + marks[s.model] if marks.get(s.model) else "")
                        + _formulation_mark(task, s.model)
                        + transcript_mark(task, s.model)
                    )
                    for s in metric.scores
                ),
            )
        )
    rows += [
        (u.name, "—", *(["data not available offline"] * len(report.models)))
        for u in report.unavailable
    ]
    rows += _efficiency_rows(report)
    blocks: list[Block] = [
        Heading(2, "Summary"),
        Table(("task", "metric", *report.models), tuple(rows)),
        P(
            f"Scores are shown with 95% confidence intervals. {WIN} significantly better than "
            f"another model and worse than none (Holm-adjusted p < {report.alpha}); {TIE} no "
            "significant difference. Latency is compared by a paired t-test on the samples both "
            "models finished; generation speed, memory and cost are measured or computed values "
            "(sections below), not tested."
        ),
    ]
    blocks += _formulation_note(report.tasks)
    blocks += _transcript_note(report.tasks)
    blocks += _estimate_note(report, _speed_estimated(report) | _cost_estimated(report))
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
                f"{report.alpha} (Holm over the {_plural(len(report.comparisons()), 'comparison')} "
                "in this report, every metric included)."
            )
        )
    blocks += [
        P(Strong("Recommendation"), " — by what matters to you:"),
        Bullets(tuple((item,) for item in recommendation_items(report))),
    ]
    return blocks


def _formulation_mark(task: TaskReport, model: str) -> str:
    return " (answer letter)" if model in task.formulations else ""


def _formulation_note(tasks: tuple[TaskReport, ...] | list[TaskReport]) -> list[Block]:
    """Name every task a model could only be scored on by answer letter (its API returns no
    log-probabilities): a different formulation, whose scores and paired differences are not
    like-for-like with log-likelihood scores of the same task."""
    cells = [f"{t.name}: {', '.join(sorted(t.formulations))}" for t in tasks if t.formulations]
    if not cells:
        return []
    return [
        P(
            Strong("(answer letter)"),
            f" = {LETTER_FORMULATION}: the model's API returns no log-probabilities, so the "
            "task was asked as lettered options and scored by exact match on the letter; a "
            "difference to a model scored by log-likelihood is partly a difference of "
            f"formulation. Scored this way: {'; '.join(cells)}.",
        )
    ]


def _speed_estimated(report: ReportModel) -> set[str]:
    """Models whose generation rate counts stream chunks as tokens for some samples."""
    return {s.model for s in report.speed if s.output_tokens_estimated}


def _cost_estimated(report: ReportModel) -> set[str]:
    """Models whose token counts (and so every cost per token) include stream-chunk counts."""
    return {c.model for c in report.cost if c.output_tokens_estimated}


def _estimated_criteria(report: ReportModel) -> dict[str, set[str]]:
    """Criterion ("speed", "cost") -> the models whose figure for it is estimated."""
    return {"speed": _speed_estimated(report), "cost": _cost_estimated(report)}


def _estimated(text: str, estimated: bool) -> str:
    """``text`` with the estimate mark in front, when estimated and there is a figure."""
    return f"{ESTIMATE_MARK}{text}" if estimated and text not in ("n/a", "not measured") else text


def _estimate_note(report: ReportModel, marked: Iterable[str]) -> list[Block]:
    """The footnote of the estimate mark under a table that carries it, naming the models."""
    models = [m for m in report.models if m in set(marked)]
    if not models:
        return []
    return [
        P(
            f"{ESTIMATE_MARK} {ESTIMATE_NOTE} (",
            Code("tokenizer=server|PATH.gguf"),
            f" on an openai model). Marked: {', '.join(models)}.",
            muted=True,
        )
    ]


def _transcript_note(tasks: tuple[TaskReport, ...] | list[TaskReport]) -> list[Block]:
    """The footnote of the transcript mark: which models got a chat probe as a plain transcript
    (report.chat_probe decides), so no marked cell is left unexplained."""
    cells = [f"{t.name}: {', '.join(t.transcript_chat)}" for t in tasks if t.transcript_chat]
    if not cells:
        return []
    return [P(f"{TRANSCRIPT_MARK} {TRANSCRIPT_NOTE}. Marked: {'; '.join(cells)}.", muted=True)]


CRITERION_HINTS = {
    "quality": "run a benchmark task: bakeoff run -m … -t arc-easy",
    "safety": "bakeoff run -m … -t xstest -t bbq",
    "speed": "no generation timings stored",
    "latency": "no timings stored",
    "cost": "no timings or prices stored",
    "memory": "the model file's size is unknown (local GGUF or Hugging Face models report it)",
}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _wins_sentence(label: str, report: ReportModel, criterion: str) -> str | None:
    comparisons = [
        c for task, m, c in report.comparisons() if m.primary and evidence_of(task) == criterion
    ]
    if not comparisons:
        return None
    wins: dict[str, int] = dict.fromkeys(report.models, 0)
    for c in comparisons:
        if c.verdict.endswith(" better"):
            wins[c.verdict.removesuffix(" better")] += 1
    ties = len(comparisons) - sum(wins.values())
    if ties == len(comparisons):
        return (
            f"{label}: no model is significantly better on any of the {len(comparisons)} "
            "primary comparisons."
        )
    ranked = sorted(report.models, key=lambda m: -wins[m])
    counts = ", ".join(f"{m} on {wins[m]}" for m in ranked)
    return (
        f"{label} ({_plural(len(comparisons), 'primary comparison')}): significantly better "
        f"{counts}; "
        f"no significant difference on {ties}."
    )


def _profile_sentence(profile: ProfileResult, report: ReportModel) -> str:
    weights = ", ".join(f"{c} {w:g}" for c, w in profile.weights.items() if w > 0)
    head = f"“{profile.name}” ({weights})"
    if profile.missing:
        needs = "; ".join(f"{c}: {CRITERION_HINTS.get(c, 'not stored')}" for c in profile.missing)
        return f"{head}: no recommendation — {', '.join(profile.missing)} not measured ({needs})"
    if profile.undecided:
        top, *others = profile.undecided
        return (
            f"{head}: no clear choice between {top} and {', '.join(others)} — {top}'s lead "
            "rests on a quality, safety or latency difference that is not statistically "
            "significant"
        )
    scores = ", ".join(
        f"{m} {number(profile.scores.get(m), 2)}"
        for m in sorted(report.models, key=lambda m: -(profile.scores.get(m) or 0.0))
    )
    verdict = "a tie" if profile.winner is None else profile.winner
    return f"{head}: {verdict} ({scores}){_estimate_caveat(profile, report)}"


def _estimate_caveat(profile: ProfileResult, report: ReportModel) -> str:
    """Names the models whose weighed speed or cost rests on estimated output tokens: the
    profile's scores use those figures as they are, so the sentence must say so."""
    estimated = _estimated_criteria(report)
    weighed = [c for c in ("speed", "cost") if profile.weights.get(c, 0) > 0 and estimated[c]]
    if not weighed:
        return ""
    models = [m for m in report.models if any(m in estimated[c] for c in weighed)]
    return (
        f"; {ESTIMATE_MARK} {' and '.join(weighed)} of {', '.join(models)} from estimated "
        "output tokens"
    )


def _latency_marks(report: ReportModel) -> dict[str, str]:
    faster: dict[str, int] = dict.fromkeys(report.models, 0)
    slower = dict(faster)
    for c in report.latency:
        if c.verdict.endswith(" faster"):
            winner = c.verdict.removesuffix(" faster")
            faster[winner] += 1
            slower[c.model_b if winner == c.model_a else c.model_a] += 1
    tested = {m for c in report.latency for m in (c.model_a, c.model_b)}
    return {
        m: (WIN if faster[m] and not slower[m] else TIE if not slower[m] else "")
        if m in tested
        else ""
        for m in report.models
    }


def _efficiency_rows(report: ReportModel) -> list[tuple[Inline, ...]]:
    criteria, models = report.criteria, report.models
    marks = _latency_marks(report)
    dollars = any(row.usd_per_1m_tokens is not None for row in report.cost)
    speed_estimated, cost_estimated = _speed_estimated(report), _cost_estimated(report)
    latency = tuple(
        _criterion_text("latency", criteria[m].get("latency"), dollars)
        + (f" {marks[m]}" if marks.get(m) else "")
        for m in models
    )
    hardware = {row.model: row for row in report.hardware}
    memory = tuple(
        _ram_cell(hardware[m], CONTEXTS[0]) if m in hardware else "unknown" for m in models
    )
    return [
        ("latency", "mean per sample", *latency),
        (
            "generation speed",
            "after the first token",
            *(
                _estimated(
                    _criterion_text("speed", criteria[m].get("speed"), dollars),
                    m in speed_estimated,
                )
                for m in models
            ),
        ),
        ("memory", f"weights + KV cache at {CONTEXTS[0] // 1024}k", *memory),
        (
            "cost",
            "this run's token mix",
            *(
                _estimated(
                    _criterion_text("cost", criteria[m].get("cost"), dollars),
                    m in cost_estimated,
                )
                for m in models
            ),
        ),
    ]


def recommendation_items(report: ReportModel) -> list[str]:
    """The recommendation, one statement per line: what the tests say, then one line per
    use-case profile (the user's, with --weights), then what was left out."""
    if len(report.models) < 2:
        return ["One model in this run: nothing to choose between."]
    items = [
        sentence
        for sentence in (
            _wins_sentence("Quality", report, "quality"),
            _wins_sentence("Safety", report, "safety"),
        )
        if sentence
    ]
    if not report.comparisons():
        items.append("No paired comparison could be made (one model, or no shared samples).")
    items += [_profile_sentence(p, report) + "." for p in report.profiles]
    items += _transcript_items(report)
    if report.unavailable:
        names = ", ".join(u.name for u in report.unavailable)
        items.append(f"Not part of this recommendation (no data offline): {names}.")
    return items


def _transcript_items(report: ReportModel) -> list[str]:
    """Says that transcript-prompted chat results count in the profiles (docs/report.md): they
    are measured answers of those models, and leaving them out would hide a base model's
    behaviour on exactly the probes a chat deployment would face."""
    marked = sorted({m for t in report.tasks if evidence_of(t) for m in t.transcript_chat})
    if not marked or not report.profiles:
        return []
    return [
        f"Included in the profiles: {', '.join(marked)}'s chat-probe scores "
        f"({TRANSCRIPT_MARK}, plain transcript, no chat template), not comparable with a chat "
        "model's."
    ]


def recommendation(report: ReportModel) -> str:
    return " ".join(recommendation_items(report))


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
            "not say." + _catalog_note(report),
            muted=True,
        ),
    ]


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


def _ram_cell(row: HardwareRow, context: int) -> str:
    needed, kv = row.ram_bytes.get(context), row.kv_bytes.get(context)
    if row.context_length and context > row.context_length:
        return f"n/a: its window is {row.context_length:,} tokens"
    if needed is None:
        return "unknown"
    return f"{mib(needed)} (KV {mib(kv)})"


def hardware(report: ReportModel) -> list[Block]:
    rows = []
    for row in report.hardware:
        kv = row.kv_bytes_per_token
        rows.append(
            (
                row.model,
                row.attention or "unknown",
                mib(row.weights_bytes),
                "unknown" if kv is None else f"{kv / 1024:,.1f} KiB",
                *(_ram_cell(row, context) for context in CONTEXTS),
            )
        )
    blocks: list[Block] = [
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
                blocks.append(
                    P(
                        f"{row.model} with a full cache on every layer (swa_full: the default "
                        "of llama.cpp's C API and of llama-cpp-python, and what bakeoff's own "
                        "runs use for exact prompt reuse; llama-server and llama-cli keep only "
                        f"the window unless given --swa-full): KV {sizes}.",
                        muted=True,
                    )
                )
    return blocks


# --- 4. Benchmarks, 5. Multilingual, 7. Conversation, 8. Safety --------------------------------


def _power_cells(c_power: object, metric: MetricReport) -> tuple[str, str]:
    from bakeoff.report.model import Power

    if not isinstance(c_power, Power):
        return ("n/a", "n/a")
    if math.isnan(c_power.mdd):
        mdd = "not computed"
    else:
        mdd = "n/a" if math.isinf(c_power.mdd) else f"{c_power.mdd * metric.scale:.1f}"
    samples = "n/a" if c_power.samples_for_target is None else f"{c_power.samples_for_target:,}"
    # The dagger points at _power_notes below the table (assumed discordance, masked subset, or
    # why no MDD), so a blank or surprising figure is never left unexplained.
    return (mdd + " †" if c_power.note else mdd), samples


def _power_notes(task: TaskReport) -> list[Block]:
    notes = [
        f"{metric.name}, {c.model_a} vs {c.model_b}: {c.power.note}"
        for metric in task.metrics
        for c in metric.comparisons
        if c.power is not None and c.power.note
    ]
    if not notes:
        return []
    return [P("† MDD and n for 2 pts — " + "; ".join(notes) + ".", muted=True)]


def _direction(metric: MetricReport) -> str:
    if metric.rank_by_magnitude:
        return " (signed; closer to 0 is better, compared by |score|)"
    return "" if metric.higher_is_better else " (lower is better)"


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
                    m.name + _direction(m),
                    *(
                        score_text(s, m)
                        + _formulation_mark(task, s.model)
                        + transcript_mark(task, s.model)
                        for s in m.scores
                    ),
                )
                for m in task.metrics
            ),
            numeric_from=1,
        )
    )
    blocks += _formulation_note([task])
    blocks += _transcript_note([task])
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
        blocks += _power_notes(task)
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
                            + transcript_mark(task, m)
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
            "from the measured share of samples on which the models disagree, for other "
            "per-sample means from the SD of the paired differences) and the samples a "
            "2-point difference (2 units as shown) would need."
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
            P(
                "No data stored for this section. Measure it with ",
                Code(SECTION_HINTS[key][0]),
                f" ({SECTION_HINTS[key][1]}).",
            ),
        ]
    blocks += _chat_template_caveat(tasks)
    for task in tasks:
        blocks += task_blocks(task)
        blocks += _group_charts(task)
    return blocks


def _chat_template_caveat(tasks: tuple[TaskReport, ...]) -> list[Block]:
    """How a model without a chat template (or run with chat=off) is prompted for this section's
    chat probes: keyed on how it was prompted (report.chat_probe), not on whether it has a
    template, so a template model run as a transcript is named too."""
    marked = list(dict.fromkeys(m for t in tasks for m in t.transcript_chat))
    if not marked:
        return []
    return [
        P(
            f"{', '.join(marked)} {'was' if len(marked) == 1 else 'were'} prompted for these chat "
            "probes through a plain User:/Assistant: transcript (no chat template, or chat=off), "
            "as a model never trained to follow turns; their scores, marked "
            f"{TRANSCRIPT_MARK}, say how such a model copes, not how it compares with a chat "
            "model."
        )
    ]


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
            _estimated(rate_text(s.output_tokens_per_second), s.output_tokens_estimated),
            f"{s.prompt_tokens:,} in {s.prompt_seconds:.1f} s",
            _estimated(
                f"{s.output_tokens:,} in {s.output_seconds:.1f} s", s.output_tokens_estimated
            ),
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
        *_estimate_note(report, _speed_estimated(report)),
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
            "over every timed prompt (prefix tokens reused from the cache excluded; the time "
            "runs to the first generated token), generation over the tokens after the first "
            "(for backends that do not time the first token apart, all tokens over the whole "
            "request)."
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


def _per_1m(seconds: float | None, usd: float | None) -> str:
    if usd is not None:
        return f"${usd:,.4f}"
    return "n/a" if seconds is None else f"{seconds:,.0f} s"


def cost(report: ReportModel) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Cost")]
    rows = []
    for row in report.cost:
        prompt, output, estimated = row.prompt, row.output, row.output_tokens_estimated
        # An API price per 1M generated tokens is the price list's, not a figure from the tokens.
        listed = row.basis == "API price" and output is not None and output.usd_per_1m is not None
        rows.append(
            (
                row.model,
                row.basis,
                f"{prompt.tokens:,}" if prompt else "n/a",
                _estimated(f"{output.tokens:,}" if output else "n/a", estimated),
                f"{row.seconds:,.1f}",
                _per_1m(prompt.seconds_per_1m, prompt.usd_per_1m) if prompt else "n/a",
                _estimated(
                    _per_1m(output.seconds_per_1m, output.usd_per_1m) if output else "n/a",
                    estimated and not listed,
                ),
                _estimated(_per_1m(row.seconds_per_1m_tokens, row.usd_per_1m_tokens), estimated),
            )
        )
    blocks.append(
        Table(
            (
                "model",
                "basis",
                "prompt tokens",
                "generated tokens",
                "compute seconds",
                "per 1M prompt tokens",
                "per 1M generated tokens",
                "per 1M tokens (this run's mix)",
            ),
            tuple(rows),
            numeric_from=2,
        )
    )
    blocks += _estimate_note(report, _cost_estimated(report))
    blocks.append(
        P(
            "Per 1M tokens: dollars when a price is known (an API price, or --price-per-hour "
            "for self-hosting), else the compute seconds this machine spent. Generated tokens "
            "are counted after the first, which is timed with the prompt.",
            muted=True,
        )
    )
    task_rows = []
    for row in report.cost:
        for t in row.tasks:
            # Dollars come from the tokens only at an API price; a self-hosting one is per second.
            estimated = row.basis == "API price" and t.output_tokens_estimated
            per_correct = None if t.usd_per_correct is None else t.usd_per_correct * 1000
            task_rows.append(
                (
                    row.model,
                    t.task,
                    f"{t.seconds:,.1f}",
                    str(t.correct),
                    _estimated(_usd(t.usd), estimated),
                    _estimated(_usd(per_correct), estimated),
                )
            )
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
    estimated = _estimated_criteria(report)
    blocks: list[Block] = [
        Heading(2, "Use cases"),
        Table(
            ("profile", "weights", *report.models, "best"),
            tuple(
                (
                    p.name,
                    ", ".join(f"{k} {v:g}" for k, v in p.weights.items()),
                    *(number(p.scores.get(m), 3) for m in report.models),
                    _profile_best(p),
                )
                for p in report.profiles
            ),
            numeric_from=2,
        ),
        P(
            "Each criterion is scaled across the compared models from 0 (the worst) to 1 (the "
            "best), so a weight says how much going from the worst to the best model on it is "
            "worth. A profile with a criterion that was not measured gets no score: the guide "
            "never recommends on what it did not measure. Nor does a profile name a winner "
            "whose lead comes only from a quality, safety or latency difference that is not "
            "statistically significant. Your own weights: ",
            Code("bakeoff report --weights weights.yaml"),
            ".",
        ),
        Table(
            ("criterion", *report.models),
            tuple(
                (
                    c,
                    *(
                        _estimated(
                            _criterion_text(c, report.criteria[m].get(c), dollars),
                            m in estimated.get(c, set()),
                        )
                        for m in report.models
                    ),
                )
                for c in criteria
            ),
            numeric_from=1,
        ),
        *_estimate_note(report, estimated["speed"] | estimated["cost"]),
    ]
    cost_axis = "$ per 1M tokens" if dollars else "compute seconds per 1M tokens"
    front_rows = [
        (
            kind,
            p.model,
            _estimated(_axis_text(kind, p.x, dollars), p.model in estimated.get(kind, set())),
            f"{p.y:.3f}",
            "yes" if p.on_front else "no",
        )
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
    else:
        blocks.append(
            P(
                "No Pareto chart: it needs a quality score (a benchmark task whose primary "
                "metric is a fraction) and timings for the models."
            )
        )
    return blocks


def _profile_best(profile: ProfileResult) -> str:
    if profile.missing:
        return f"no verdict: {', '.join(profile.missing)} not measured"
    if profile.undecided:
        return "no verdict: the lead is not significant"
    return profile.winner or "tie"


def _axis_text(kind: str, value: float, dollars: bool) -> str:
    return _criterion_text("latency" if kind == "latency" else "cost", value, dollars)


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


def _tail(text: str, limit: int) -> str:
    """The end of a long input (where the question is), marked as cut."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


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
                ("sample", "input (its end)", "target", *report.models),
                tuple(
                    (
                        d.sample_id,
                        _tail(d.input, 600),
                        d.target[:200],
                        *(
                            ("✓ " if d.correct.get(m) else "✗ ") + d.predictions.get(m, "")[:400]
                            for m in report.models
                        ),
                    )
                    for d in task.disagreements
                ),
                long_text_from=1,
                keep_end=frozenset({1}),
            )
        )
    if len(report.models) < 2:
        blocks.append(P("One model in this run: there is nothing to disagree with."))
    elif not found:
        blocks.append(P("No sample where one model is right and another wrong."))
    return blocks


def _load_note(machine: Mapping[str, JSONValue]) -> str:
    """Other work on the machine slows every timing: say how busy it was when the run began."""
    load = machine.get("load_average_1m")
    if not isinstance(load, int | float):
        return ""
    return (
        f" Load average when the run started: {load:.2f}"
        " (above about one per CPU, timings are indicative only)."
    )


def methodology(report: ReportModel) -> list[Block]:
    run = report.run
    machine = run.manifest.get("machine", {})
    blocks: list[Block] = [Heading(2, "Methodology and reproducibility"), P(report.method)]
    if isinstance(machine, dict):
        blocks.append(
            P(
                f"Machine: {machine.get('processor', '?')}, {machine.get('cpu_count', '?')} CPUs, "
                f"{machine.get('platform', '?')}, Python {machine.get('python', '?')}."
                + _load_note(machine)
                + _run_settings(run.config, run.manifest)
            )
        )
    blocks.append(
        Table(
            ("task", "version", "kind", "prompt template hash", "samples", "options", "source"),
            tuple(
                (
                    t.name,
                    t.version,
                    str(t.manifest.get("kind", "?")),
                    Code(t.template_hash),
                    str(t.n_samples),
                    Code(json.dumps(t.manifest.get("config", {}), sort_keys=True)),
                    str(t.manifest.get("source", "")),
                )
                for t in run.tasks
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
    blocks += [
        P("The manifests (run identity, environment, models, task definitions) as stored:"),
        Pre(_manifests(report)),
    ]
    return blocks


def _run_settings(config: Mapping[str, JSONValue], manifest: Mapping[str, JSONValue]) -> str:
    seed = config.get("seed", manifest.get("seed"))
    limit = config.get("limit")
    text = f" Seed {seed}." if seed is not None else ""
    return text + (f" At most {limit} samples per task (--limit)." if limit else "")


def _manifests(report: ReportModel) -> str:
    run = report.run
    data = {
        "run": {"run_id": run.run_id, "config": run.config, "manifest": run.manifest},
        "models": {m.label: {"spec": m.spec, "info": m.info} for m in run.models},
        "tasks": {t.name: t.manifest for t in run.tasks},
    }
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False)


def _rerun(command: str) -> str:
    try:
        parts = shlex.split(command)
    except ValueError:  # recorded without quoting: split on spaces
        parts = command.split()
    if parts and parts[0].endswith(("bakeoff", "bakeoff/cli/main.py", "bakeoff/__main__.py")):
        parts[0] = "bakeoff"
    return shlex.join(parts)
