"""10. Use cases: one weighted score per profile, the criteria they weigh, and the Pareto fronts
of quality against cost and latency."""

from __future__ import annotations

from bakeoff.report import charts
from bakeoff.report.blocks import Block, Code, Heading, Table
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.cells import criterion_text
from bakeoff.report.marks import estimate_marked, estimate_note, estimates_by_criterion
from bakeoff.report.model.profiles import ProfileResult
from bakeoff.report.model.view import ReportModel
from bakeoff.report.text import number


def blocks(report: ReportModel) -> list[Block]:
    criteria = ("quality", "safety", "speed", "latency", "cost", "memory")
    dollars = any(row.usd_per_1m_tokens is not None for row in report.cost)
    estimated = estimates_by_criterion(report)
    out: list[Block] = [
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
                        estimate_marked(
                            criterion_text(c, report.criteria[m].get(c), dollars),
                            m in estimated.get(c, set()),
                        )
                        for m in report.models
                    ),
                )
                for c in criteria
            ),
            numeric_from=1,
        ),
        *estimate_note(report, estimated["speed"] | estimated["cost"]),
    ]
    front_rows = [
        (
            kind,
            p.model,
            estimate_marked(_axis_text(kind, p.x, dollars), p.model in estimated.get(kind, set())),
            f"{p.y:.3f}",
            "yes" if p.on_front else "no",
        )
        for kind, points in (("cost", report.pareto_cost), ("latency", report.pareto_latency))
        for p in points
    ]
    if front_rows:
        out.append(
            Table(
                ("axis", "model", "cost or latency", "quality", "Pareto-optimal"),
                tuple(front_rows),
                numeric_from=2,
            )
        )
        out += charts.pareto(report, dollars)
    else:
        out.append(
            P(
                "No Pareto chart: it needs a quality score (a benchmark task whose primary "
                "metric is a fraction) and timings for the models."
            )
        )
    return out


def _profile_best(profile: ProfileResult) -> str:
    if profile.missing:
        return f"no verdict: {', '.join(profile.missing)} not measured"
    if profile.undecided:
        return "no verdict: the lead is not significant"
    return profile.winner or "tie"


def _axis_text(kind: str, value: float, dollars: bool) -> str:
    return criterion_text("latency" if kind == "latency" else "cost", value, dollars)
