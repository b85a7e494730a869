"""Helpers for the benchmark tests: write small data files, build tasks, fake model outputs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bakeoff.core.types import LoglikelihoodResult
from bakeoff.tasks.base import Task
from bakeoff.tasks.catalog import TaskSpec, build_task


def write_jsonl(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def build(spec: str) -> Task:
    return build_task(TaskSpec.parse(spec))


def results_choosing(
    n_choices: int, chosen: int, *, greedy: bool = False
) -> list[LoglikelihoodResult]:
    """Log-likelihoods under which ``chosen`` is the most likely choice."""
    return [
        LoglikelihoodResult(logprob=-1.0 if i == chosen else -5.0, is_greedy=greedy, n_tokens=1)
        for i in range(n_choices)
    ]


def aggregate(task: Task, metric: str, chosen: Sequence[int]) -> float:
    """The corpus value of ``metric`` when the model picks ``chosen[i]`` on sample i."""
    inputs = []
    for sample, pick in zip(task.samples(), chosen, strict=True):
        score = task.score(sample, results_choosing(len(sample.choices), pick))
        inputs.append(score.metric_inputs[metric])
    return task.metric(metric).aggregate(np.array(inputs, dtype=float))
