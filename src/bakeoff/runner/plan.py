"""Planning: turn a run configuration into a run identity, tasks and their samples.

The run id is a hash of everything that decides *what* is computed (models as specified, tasks
with their versions, prompt templates and options, seed, limit, name). Running the same command
again therefore finds the same run and resumes it.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from bakeoff import __version__
from bakeoff.backends.base import BACKENDS
from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelSpec
from bakeoff.core.records import ModelRecord, RunRecord, SampleRecord, TaskRecord, now_iso
from bakeoff.core.types import JSONValue, Sample
from bakeoff.tasks.base import Task
from bakeoff.tasks.catalog import build_tasks, build_tasks_lenient
from bakeoff.tasks.open_ended import GradedTask


@dataclass(frozen=True, slots=True)
class RunConfig:
    models: tuple[ModelSpec, ...]
    task_specs: tuple[str, ...] = ()
    suites: tuple[str, ...] = ()
    seed: int = 0
    limit: int | None = None
    name: str = ""
    batch_size: int | None = None  # samples per stored chunk; None: the backend's chunk_samples
    judges: tuple[ModelSpec, ...] = ()
    """The run's judges (--judge), for the tasks graded by judges (tasks/open_ended)."""

    def __post_init__(self) -> None:
        if not self.models:
            raise ConfigError("no models given: use --model backend:target (at least one)")
        labels = [m.label for m in self.models]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise ConfigError(
                f"two models share the label {', '.join(repeated)}: name them, e.g. a=llamacpp:..."
            )
        if self.limit is not None and self.limit < 1:
            raise ConfigError("--limit must be at least 1")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError("--batch-size must be at least 1")


@dataclass(slots=True)
class Plan:
    run_id: str
    name: str
    config: dict[str, JSONValue]
    models: tuple[ModelSpec, ...]
    tasks: list[Task]
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    batch_size: int | None = None
    unavailable: list[tuple[str, str]] = field(default_factory=list)
    """(task, reason) for suite tasks whose data is missing: reported, not run."""

    def records(self) -> tuple[RunRecord, list[ModelRecord], list[TaskRecord], list[SampleRecord]]:
        created = now_iso()
        run = RunRecord(
            run_id=self.run_id,
            name=self.name,
            status="running",
            created_at=created,
            updated_at=created,
            config=self.config,
            manifest=run_manifest(self),
        )
        models = [
            ModelRecord(m.label, m.canonical(), m.backend, {}, position)
            for position, m in enumerate(self.models)
        ]
        tasks = [
            TaskRecord(
                t.name, t.version, t.template_hash(), len(self.samples[t.name]), t.manifest(), i
            )
            for i, t in enumerate(self.tasks)
        ]
        samples = [
            SampleRecord(
                task=t.name,
                sample_id=s.id,
                position=position,
                input=_jsonable_input(s),
                target=_jsonable_target(s),
                metadata={**dict(s.metadata), "choices": list(s.choices)}
                if s.choices
                else dict(s.metadata),
            )
            for t in self.tasks
            for position, s in enumerate(self.samples[t.name])
        ]
        return run, models, tasks, samples


def _jsonable_input(sample: Sample) -> JSONValue:
    if isinstance(sample.input, str):
        return sample.input
    return [{"role": m.role, "content": m.content} for m in sample.input]


def _jsonable_target(sample: Sample) -> JSONValue:
    return list(sample.target) if isinstance(sample.target, tuple) else sample.target


def machine_description() -> dict[str, JSONValue]:
    import os

    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        # Other work on the machine slows every timing in the run: record how busy it was.
        "load_average_1m": _load_average(),
    }


def _load_average() -> float | None:
    import os

    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # Windows has no load average
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_manifest(plan: Plan) -> dict[str, JSONValue]:
    return {
        "bakeoff_version": __version__,
        "machine": machine_description(),
        "seed": plan.config.get("seed"),
        "command": shlex.join(sys.argv),
        "unavailable_tasks": [{"name": n, "reason": r} for n, r in plan.unavailable],
    }


def _build(config: RunConfig) -> tuple[list[Task], list[tuple[str, str]]]:
    """Tasks named with --task must load; a suite's task whose data is missing is set aside.

    That lets a suite such as ``guide`` run offline while the report still lists the missing
    tasks with the reason and the way to provide their data.
    """
    from_suites, unavailable = build_tasks_lenient([], config.suites) if config.suites else ([], [])
    named = build_tasks(config.task_specs, []) if config.task_specs else []
    built = from_suites + [t for t in named if t.name not in {s.name for s in from_suites}]
    if not built:
        names = ", ".join(name for name, _ in unavailable)
        first = unavailable[0][1] if unavailable else ""
        raise ConfigError(f"no task has data ({names}); e.g. {first}")
    return built, unavailable


def make_plan(config: RunConfig, tasks: Sequence[Task] | None = None) -> Plan:
    built, unavailable = (list(tasks), []) if tasks is not None else _build(config)
    _give_judges(built, config.judges)
    _check_judge_backends(built)  # before any data loads: a typo costs no download
    samples = {t.name: _limited(t, config.limit) for t in built}
    identity: dict[str, JSONValue] = {
        "models": [m.canonical() for m in config.models],
        "tasks": [
            {"name": t.name, "version": t.version, "template_hash": t.template_hash()}
            for t in built
        ],
        "seed": config.seed,
        "limit": config.limit,
        "name": config.name,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    run_id = digest[:16]
    return Plan(
        run_id=run_id,
        name=config.name or f"run-{run_id[:8]}",
        config=identity,
        models=config.models,
        tasks=built,
        samples=samples,
        batch_size=config.batch_size,
        unavailable=unavailable,
    )


def _give_judges(tasks: Sequence[Task], judges: Sequence[ModelSpec]) -> None:
    """The run's judges go to every task graded by judges; each such task needs one, and a
    judge with no such task to judge is a mistake worth a message."""
    graded = [task for task in tasks if isinstance(task, GradedTask)]
    if judges and not graded:
        raise ConfigError("--judge given, but no task is graded by judges (e.g. -t mt-bench)")
    for task in graded:
        if not judges:
            raise ConfigError(f"{task.name} is graded by judges: add --judge BACKEND:TARGET")
        task.use_judges(judges)


def _check_judge_backends(tasks: Sequence[Task]) -> None:
    for task in tasks:
        for spec in task.judges().values():
            if spec.backend not in BACKENDS:
                known = ", ".join(sorted(BACKENDS.names()))
                raise ConfigError(
                    f"{task.name}: judge backend '{spec.backend}' is unknown (known: {known})"
                )


def _limited(task: Task, limit: int | None) -> list[Sample]:
    samples = list(task.samples())
    return samples if limit is None else samples[:limit]
