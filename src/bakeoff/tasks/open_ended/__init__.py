"""Open-ended answers judged by models: MT-Bench and your own prompts graded against a rubric
(docs/judged.md). The judges are the run's ``--judge`` models, given by the plan."""

from bakeoff.tasks.open_ended._graded import GradedTask

__all__ = ["GradedTask"]
