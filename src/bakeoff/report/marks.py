"""The guide's signs and their footnotes: ▲ and ≈ (paired verdicts), "(answer letter)", ‡
(a chat probe prompted by transcript) and ~ (estimated output tokens). Every sign is explained
under the table that carries it; one sign, one meaning."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bakeoff.report.blocks import Block, Code, Strong
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.model.chat_probe import (
    TRANSCRIPT_MARK,
    TRANSCRIPT_NOTE,
    transcript_chat_result,
)
from bakeoff.report.model.view import LETTER_FORMULATION, MetricReport, ReportModel, TaskReport

WIN, TIE = "▲", "≈"
ESTIMATE_MARK = "~"
"""Before a figure computed from output tokens of which some are counts of stream chunks
(``ResultRecord.output_tokens_estimated``). Not ≈ (the summary's "no significant difference"):
one sign, one meaning."""
ESTIMATE_NOTE = (
    "output tokens estimated from stream chunks (a chunk may carry several tokens): the server "
    "reported no output-token counts and no tokenizer was given"
)


def metric_marks(metric: MetricReport) -> dict[str, str]:
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


def latency_marks(report: ReportModel) -> dict[str, str]:
    """The same signs for the paired latency comparisons ("<model> faster")."""
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


def formulation_mark(task: TaskReport, model: str) -> str:
    return " (answer letter)" if model in task.formulations else ""


def formulation_note(tasks: Sequence[TaskReport]) -> list[Block]:
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


def transcript_mark(task: TaskReport, model: str) -> str:
    return f" {TRANSCRIPT_MARK}" if transcript_chat_result(task, model) else ""


def transcript_note(tasks: Sequence[TaskReport]) -> list[Block]:
    """The footnote of the transcript mark: which models got a chat probe as a plain transcript
    (report.model.chat_probe decides), so no marked cell is left unexplained."""
    cells = [f"{t.name}: {', '.join(t.transcript_chat)}" for t in tasks if t.transcript_chat]
    if not cells:
        return []
    return [P(f"{TRANSCRIPT_MARK} {TRANSCRIPT_NOTE}. Marked: {'; '.join(cells)}.", muted=True)]


def speed_estimates(report: ReportModel) -> set[str]:
    """Models whose generation rate counts stream chunks as tokens for some samples."""
    return {s.model for s in report.speed if s.output_tokens_estimated}


def cost_estimates(report: ReportModel) -> set[str]:
    """Models whose token counts (and so every cost per token) include stream-chunk counts."""
    return {c.model for c in report.cost if c.output_tokens_estimated}


def estimates_by_criterion(report: ReportModel) -> dict[str, set[str]]:
    """Criterion ("speed", "cost") -> the models whose figure for it is estimated."""
    return {"speed": speed_estimates(report), "cost": cost_estimates(report)}


def estimate_marked(text: str, is_estimate: bool) -> str:
    """``text`` with the estimate mark in front, when estimated and there is a figure."""
    return f"{ESTIMATE_MARK}{text}" if is_estimate and text not in ("n/a", "not measured") else text


def estimate_note(report: ReportModel, marked: Iterable[str]) -> list[Block]:
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
