"""Suite scores as the leaderboards compute them: the GLUE score and the SuperGLUE score.

``suite_averages({task name: {metric: value}})`` (values on the stored 0–1 scale, e.g. a report's
per-model estimates) gives ``{"glue": ..., "superglue": ...}``, each ``None`` when a part is
missing (for instance GLUE data not available offline). The rule itself (one copy) is in
``bakeoff.stats.suites``, so the report's claims check averages the same way.
"""

from __future__ import annotations

from bakeoff.stats.suites import SUITE_AVERAGES, Scores, suite_averages

__all__ = ["SUITE_AVERAGES", "Scores", "suite_averages"]
