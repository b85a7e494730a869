"""The built-in task names and suites, and parsing of ``--task`` / ``--suite`` arguments.

Task spec syntax: ``name[:argument][,key=value...]`` — e.g. ``arithmetic,n=20``,
``mc:questions.jsonl``, ``perplexity:corpus/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bakeoff.core.errors import ConfigError
from bakeoff.tasks.base import SUITES, TASKS, Task, register_suite, register_task

register_task("mc", "bakeoff.tasks.generic:JsonlMultipleChoiceTask")
register_task("gen", "bakeoff.tasks.generic:JsonlGenerationTask")
register_task("perplexity", "bakeoff.tasks.generic:PerplexityTask")
register_task("arithmetic", "bakeoff.tasks.probes:ArithmeticProbe")
register_task("arithmetic-mc", "bakeoff.tasks.probes:ArithmeticChoiceProbe")
register_task("needle", "bakeoff.tasks.probes:NeedleProbe")
register_task("copy", "bakeoff.tasks.probes:CopyProbe")

register_suite("demo", ("arithmetic-mc", "arithmetic", "needle", "copy"))


@dataclass(frozen=True, slots=True)
class TaskSpec:
    name: str
    argument: str = ""
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> TaskSpec:
        head, *option_items = text.strip().split(",")
        name, _, argument = head.partition(":")
        if not name:
            raise ConfigError(f"bad task spec '{text}': expected name[:argument][,key=value]")
        options: dict[str, str] = {}
        for item in option_items:
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise ConfigError(f"bad task option '{item}' in '{text}': expected key=value")
            options[key.strip()] = value.strip()
        return cls(name.strip(), argument.strip(), options)


def build_task(spec: TaskSpec) -> Task:
    factory = TASKS.load(spec.name)
    return factory(spec.argument, spec.options)


def expand(task_specs: Sequence[str], suites: Sequence[str]) -> list[TaskSpec]:
    """Suites first, then single tasks, duplicates removed (first occurrence kept)."""
    texts: list[str] = []
    for suite in suites:
        if suite not in SUITES:
            known = ", ".join(sorted(SUITES))
            raise ConfigError(f"unknown suite '{suite}' (known: {known})")
        texts.extend(SUITES[suite])
    texts.extend(task_specs)
    if not texts:
        raise ConfigError("no tasks given: use --task NAME or --suite NAME")
    specs: list[TaskSpec] = []
    for text in texts:
        spec = TaskSpec.parse(text)
        if spec not in specs:
            specs.append(spec)
    return specs


def build_tasks(task_specs: Sequence[str], suites: Sequence[str]) -> list[Task]:
    tasks = [build_task(spec) for spec in expand(task_specs, suites)]
    names = [t.name for t in tasks]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(
            f"two tasks share the name {', '.join(duplicates)}: give one ',name=...'"
        )
    return tasks
