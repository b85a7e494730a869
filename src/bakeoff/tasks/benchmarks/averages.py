"""Suite scores as the leaderboards compute them: the GLUE score and the SuperGLUE score.

``suite_averages({task name: {metric: value}})`` (values on the stored 0–1 scale, e.g. a report's
per-model estimates) gives ``{"glue": ..., "superglue": ...}``, each ``None`` when a part is
missing (for instance GLUE data not available offline). See ``glue.glue_score`` and
``superglue.superglue_score`` for which metrics are averaged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bakeoff.tasks.benchmarks.glue import glue_score
from bakeoff.tasks.benchmarks.superglue import superglue_score

Scores = Mapping[str, Mapping[str, float]]

SUITE_AVERAGES: dict[str, tuple[str, Callable[[Scores], float | None]]] = {
    "glue": ("GLUE score (leaderboard average)", glue_score),
    "superglue": ("SuperGLUE score (leaderboard average)", superglue_score),
}


def suite_averages(scores: Scores) -> dict[str, float | None]:
    """The leaderboard average of every suite in ``SUITE_AVERAGES`` (None where incomplete)."""
    return {suite: average(scores) for suite, (_, average) in SUITE_AVERAGES.items()}
