"""11. Where the models disagree: samples on which one model is right and another wrong, the end
of the input beside the target and every model's output."""

from __future__ import annotations

from bakeoff.report.blocks import Block, Heading, Table
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.model.view import ReportModel


def blocks(report: ReportModel) -> list[Block]:
    out: list[Block] = [Heading(2, "Where the models disagree")]
    found = False
    for task in report.tasks:
        if not task.disagreements:
            continue
        found = True
        out.append(Heading(3, task.name))
        out.append(
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
        out.append(P("One model in this run: there is nothing to disagree with."))
    elif not found:
        out.append(P("No sample where one model is right and another wrong."))
    return out


def _tail(text: str, limit: int) -> str:
    """The end of a long input (where the question is), marked as cut."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]
