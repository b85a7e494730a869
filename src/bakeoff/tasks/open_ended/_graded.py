"""Open-ended answers graded 1–10 by judge models (the base of ``mt-bench`` and ``rubric``).

The judges are the run's (``--judge``, given to the task by the plan through ``use_judges``);
a graded task without one cannot be scored, and the plan refuses it. Every judge grades every
answer the task names (``grade_names``: one per turn for MT-Bench). Per answer, the grade is the
mean of the judges' grades that could be read.

What is stored per sample, so that nothing is hidden in a default:

* ``score`` and one metric per graded answer: two columns (grade, 1) when some judge's grade
  could be read, (0, 0) when none could; the ``graded_mean`` aggregation averages the first
  column over the rows whose second is 1. An answer no judge could grade is left out of the mean
  and counted, never given a middle grade.
* ``unparsable``: the share of the sample's verdicts that held no grade (scoring/grades.py), and
  ``judge_failed``: the share of judge requests that failed for good. Both are shown beside the
  grades in the report, as diagnostics (not counted as quality).
* ``details["grades"]``: each judge's grades (null where unreadable or failed).
* ``sanity_<judge>`` (tasks with a control set, ``control_prompts``): per sample, each judge also
  grades a known-better and a known-worse answer to a control question; the metric is 1 when it
  graded the better one strictly higher, 0 otherwise, an unreadable grade included (it counts
  against the judge, stats/judge_checks.py): its mean is the judge's sanity accuracy.
  ``details["sanity"][judge]`` keeps true, false or null (unreadable).

Judged quality is not counted in the recommendation or the profiles (``score`` is a diagnostic
to them, criterion "none"): whether a judge may be trusted is decided per run, from its sanity
accuracy, by the guide's open-ended section (report/model/open_ended.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import (
    GenerateRequest,
    GenerationResult,
    GenerationSettings,
    JSONValue,
    Request,
    RequestFailure,
    RequestKind,
    Result,
    Sample,
)
from bakeoff.scoring.grades import parse_grade
from bakeoff.tasks.base import FloatArray, MetricSpec, SampleScore, Task, register_aggregation
from bakeoff.tasks.generic import int_option
from bakeoff.tasks.open_ended import _prompts

GRADED_MEAN = "graded_mean"


def graded_mean(values: FloatArray) -> float:
    """Columns (grade, graded): the mean grade of the rows that were graded (NaN if none)."""
    if not len(values):
        return float("nan")
    graded = values[:, 1] > 0.5
    return float(np.mean(values[graded, 0])) if graded.any() else float("nan")


register_aggregation(GRADED_MEAN, graded_mean)

SCORE = MetricSpec("score", aggregation=GRADED_MEAN, criterion="none")
UNPARSABLE = MetricSpec("unparsable", higher_is_better=False, scale=100.0, criterion="none")
JUDGE_FAILED = MetricSpec("judge_failed", higher_is_better=False, scale=100.0, criterion="none")
SANITY_PREFIX = "sanity_"


class GradedTask(Task):
    """Subclasses build the samples, the model's requests and, per sample, the judge's prompt
    texts (``grade_prompts``, one per name in ``grade_names``)."""

    kind = RequestKind.GENERATE
    family = "open-ended"
    primary_metric = "score"
    grade_names: tuple[str, ...] = ("answer",)

    def __init__(self, options: Mapping[str, str]) -> None:
        self.settings = GenerationSettings(
            max_tokens=int_option(options, "max_tokens", 1024, minimum=1, maximum=32768)
        )
        self.judge_settings = GenerationSettings(
            max_tokens=int_option(options, "judge_max_tokens", 512, minimum=1, maximum=32768)
        )
        self._judges: dict[str, ModelSpec] = {}
        per_answer = (
            tuple(
                MetricSpec(name, aggregation=GRADED_MEAN, criterion="none")
                for name in self.grade_names
            )
            if len(self.grade_names) > 1
            else ()
        )
        self._base_metrics = (SCORE, *per_answer, UNPARSABLE, JUDGE_FAILED)
        self.metrics = self._base_metrics

    # -- judges --------------------------------------------------------------------------

    def use_judges(self, judges: Sequence[ModelSpec]) -> None:
        labels = [j.label for j in judges]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise ConfigError(
                f"two judges share the label {', '.join(repeated)}: name them, e.g. "
                "--judge j1=llamacpp:..."
            )
        self._judges = {j.label: j for j in judges}
        per_judge = tuple(
            MetricSpec(f"{SANITY_PREFIX}{label}", scale=100.0, criterion="none")
            for label in self._judges
            if self.has_controls()
        )
        self.metrics = (*self._base_metrics, *per_judge)

    def judges(self) -> Mapping[str, ModelSpec]:
        return dict(self._judges)

    def grade_prompts(self, sample: Sample, results: Sequence[Result]) -> list[str]:
        raise NotImplementedError

    def has_controls(self) -> bool:
        """Whether every sample carries a sanity control pair (``control_prompts``)."""
        return False

    def control_prompts(self, sample: Sample) -> list[str]:
        """The judge prompts of the sample's control pair: (known-better, known-worse)."""
        return []

    def judge_requests(self, sample: Sample, results: Sequence[Result]) -> list[Request]:
        texts = [*self.grade_prompts(sample, results), *self.control_prompts(sample)]
        return [GenerateRequest(_prompts.judge_messages(t), self.judge_settings) for t in texts]

    # -- scoring -------------------------------------------------------------------------

    def score(self, sample: Sample, results: Sequence[Result]) -> SampleScore:
        raise ConfigError(f"{self.name} is graded by judges: give one with --judge BACKEND:TARGET")

    def score_judged(
        self,
        sample: Sample,
        results: Sequence[Result],
        verdicts: Mapping[str, Sequence[Result | RequestFailure]],
    ) -> SampleScore:
        grades: dict[str, list[float | None]] = {}
        sanity: dict[str, JSONValue] = {}
        unparsable = failed = total = 0
        answers_graded = len(self.grade_names)
        for label, outcomes in verdicts.items():
            mine: list[float | None] = []
            for outcome in outcomes[:answers_graded]:
                total += 1
                failed += isinstance(outcome, RequestFailure)
                grade = _grade(outcome)
                unparsable += grade is None and not isinstance(outcome, RequestFailure)
                mine.append(grade)
            grades[label] = mine
            control = [_grade(o) for o in outcomes[answers_graded:]]
            if len(control) == 2:
                better, worse = control
                sanity[label] = None if better is None or worse is None else better > worse
        per_answer = [
            _mean([judged[i] for judged in grades.values() if i < len(judged)])
            for i in range(len(self.grade_names))
        ]
        inputs: dict[str, tuple[float, ...]] = {
            "score": _graded(_mean(per_answer)),
            "unparsable": (unparsable / total if total else 0.0,),
            "judge_failed": (failed / total if total else 0.0,),
        }
        if self.has_controls():
            for label in self._judges:
                inputs[f"{SANITY_PREFIX}{label}"] = (float(sanity.get(label) is True),)
        if len(self.grade_names) > 1:
            inputs.update(
                {name: _graded(g) for name, g in zip(self.grade_names, per_answer, strict=True)}
            )
        answers = [r.text for r in results if isinstance(r, GenerationResult)]
        details: dict[str, JSONValue] = {
            "grades": {label: list(values) for label, values in grades.items()},
            "graded": dict(zip(self.grade_names, per_answer, strict=True)),
            **({"sanity": sanity} if self.has_controls() else {}),
        }
        return SampleScore(
            metric_inputs=inputs,
            prediction="\n\n---\n\n".join(answers),
            target="",
            correct=None,
            details=details,
        )

    def judge_config(self) -> dict[str, JSONValue]:
        """The judge prompt's version and hash and the judges' decoding (in ``config``)."""
        return {
            "judge_prompt_version": _prompts.JUDGE_PROMPT_VERSION,
            "judge_prompt_sha256": _prompts.prompt_hash(),
            "judge_generation": self.judge_settings.as_dict(),
            "generation": self.settings.as_dict(),
        }

    def prompt_template(self) -> str:
        return "\n\x1e\n".join(_prompts.TEMPLATES)


def _grade(outcome: Result | RequestFailure) -> float | None:
    if isinstance(outcome, GenerationResult):
        return parse_grade(outcome.text)
    return None


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _graded(grade: float | None) -> tuple[float, float]:
    return (grade, 1.0) if grade is not None else (0.0, 0.0)
