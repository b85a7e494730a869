"""The recommendation, one statement per line: what the paired tests say about quality and
safety, one line per use-case profile naming its winner or why it names none, and what was left
out. The guide's summary lists it; the JSON report carries it as text."""

from __future__ import annotations

from bakeoff.report.cells import plural
from bakeoff.report.marks import ESTIMATE_MARK, estimates_by_criterion
from bakeoff.report.model.chat_probe import TRANSCRIPT_MARK
from bakeoff.report.model.profiles import ProfileResult
from bakeoff.report.model.view import ReportModel, evidence_of
from bakeoff.report.text import number

CRITERION_HINTS = {
    "quality": "run a benchmark task: bakeoff run -m … -t arc-easy",
    "safety": "bakeoff run -m … -t xstest -t bbq",
    "speed": "no generation timings stored",
    "latency": "no timings stored",
    "cost": "no timings or prices stored",
    "memory": "the model file's size is unknown (local GGUF or Hugging Face models report it)",
}


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


def recommendation(report: ReportModel) -> str:
    return " ".join(recommendation_items(report))


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
        f"{label} ({plural(len(comparisons), 'primary comparison')}): significantly better "
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
    estimated = estimates_by_criterion(report)
    weighed = [c for c in ("speed", "cost") if profile.weights.get(c, 0) > 0 and estimated[c]]
    if not weighed:
        return ""
    models = [m for m in report.models if any(m in estimated[c] for c in weighed)]
    return (
        f"; {ESTIMATE_MARK} {' and '.join(weighed)} of {', '.join(models)} from estimated "
        "output tokens"
    )


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
