"""The built-in task names and suites, and parsing of ``--task`` / ``--suite`` arguments.

Task spec syntax: ``name[:argument][,key=value...]`` — e.g. ``arithmetic,n=20``,
``mc:questions.jsonl``, ``perplexity:corpus/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bakeoff.core.errors import ConfigError, DataError
from bakeoff.tasks.base import SUITES, TASKS, Task, register_suite, register_task

register_task("mc", "bakeoff.tasks.generic:JsonlMultipleChoiceTask")
register_task("gen", "bakeoff.tasks.generic:JsonlGenerationTask")
register_task("perplexity", "bakeoff.tasks.generic:PerplexityTask")
register_task("arithmetic", "bakeoff.tasks.probes:ArithmeticProbe")
register_task("arithmetic-mc", "bakeoff.tasks.probes:ArithmeticChoiceProbe")
register_task("needle", "bakeoff.tasks.probes:NeedleProbe")
register_task("copy", "bakeoff.tasks.probes:CopyProbe")

# Published benchmarks (src/bakeoff/tasks/benchmarks; docs/benchmarks.md).
_GLUE = (
    ("glue-cola", "Cola"),
    ("glue-sst2", "Sst2"),
    ("glue-mrpc", "Mrpc"),
    ("glue-qqp", "Qqp"),
    ("glue-stsb", "Stsb"),
    ("glue-mnli", "Mnli"),
    ("glue-mnli-mm", "MnliMismatched"),
    ("glue-qnli", "Qnli"),
    ("glue-rte", "Rte"),
    ("glue-wnli", "Wnli"),
)
_SUPERGLUE = (
    ("superglue-boolq", "BoolQ"),
    ("superglue-cb", "Cb"),
    ("superglue-copa", "Copa"),
    ("superglue-multirc", "MultiRc"),
    ("superglue-record", "Record"),
    ("superglue-rte", "SuperGlueRte"),
    ("superglue-wic", "Wic"),
    ("superglue-wsc", "Wsc"),
)
for _name, _cls in _GLUE:
    register_task(_name, f"bakeoff.tasks.benchmarks.glue:{_cls}")
for _name, _cls in _SUPERGLUE:
    register_task(_name, f"bakeoff.tasks.benchmarks.superglue:{_cls}")
register_task("lambada", "bakeoff.tasks.benchmarks.lambada:LambadaOpenAI")
register_task("legalbench", "bakeoff.tasks.benchmarks.legalbench:LegalBench")
register_task("medqa", "bakeoff.tasks.benchmarks.medqa:MedQA")
register_task("mmlu", "bakeoff.tasks.benchmarks.mmlu:Mmlu")
register_task("arc-easy", "bakeoff.tasks.benchmarks.arc:ArcEasy")
register_task("arc-challenge", "bakeoff.tasks.benchmarks.arc:ArcChallenge")
register_task("hellaswag", "bakeoff.tasks.benchmarks.hellaswag:HellaSwag")
register_task("piqa", "bakeoff.tasks.benchmarks.piqa:Piqa")
register_task("winogrande", "bakeoff.tasks.benchmarks.winogrande:WinoGrande")
# Beyond benchmarks: multilingual reach, conversation memory, safety (docs/beyond-benchmarks.md).
register_task("xcopa", "bakeoff.tasks.multilingual:XCopa")
register_task("xnli", "bakeoff.tasks.multilingual:Xnli")
register_task("belebele", "bakeoff.tasks.multilingual:Belebele")
register_task("script-copy", "bakeoff.tasks.multilingual:ScriptCopyProbe")
register_task("tokenizer-efficiency", "bakeoff.tasks.tokenizer_efficiency:TokenizerEfficiency")
register_task("conversation", "bakeoff.tasks.conversation:ConversationProbe")
register_task("xstest", "bakeoff.tasks.safety:XSTest")
register_task("bbq", "bakeoff.tasks.safety:Bbq")
register_task("toxicity", "bakeoff.tasks.safety:ToxicityProbe")
# Open-ended answers graded by the run's judges (--judge; docs/judged.md).
register_task("mt-bench", "bakeoff.tasks.open_ended.mt_bench:MtBench")
register_task("rubric", "bakeoff.tasks.open_ended.rubric:RubricTask")
register_suite("multilingual", ("xcopa", "xnli", "belebele", "tokenizer-efficiency", "script-copy"))
register_suite("conversation", ("conversation",))
register_suite("safety", ("xstest", "bbq", "toxicity"))

register_suite("demo", ("arithmetic-mc", "arithmetic", "needle", "copy"))
register_suite("glue", tuple(name for name, _ in _GLUE))
register_suite("superglue", tuple(name for name, _ in _SUPERGLUE))
register_suite("guide", (*SUITES["glue"], *SUITES["superglue"], "lambada", "legalbench", "medqa"))
# Benchmark aggregations (balanced_acc, macro_f1, pearson, ...) must exist wherever stored
# results are aggregated, including reports that never build a task.
import bakeoff.tasks.benchmarks._metrics  # noqa: E402, F401
from bakeoff.tasks import multilingual as _multilingual  # noqa: E402, F401  (languages_served)
from bakeoff.tasks import safety as _safety  # noqa: E402, F401  (BBQ, XSTest aggregations)
from bakeoff.tasks.open_ended import _graded  # noqa: E402, F401  (graded_mean)


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
        raise ConfigError(f"two tasks share the name {', '.join(duplicates)}: give one ',name=...'")
    return tasks


def build_tasks_lenient(
    task_specs: Sequence[str], suites: Sequence[str]
) -> tuple[list[Task], list[tuple[str, str]]]:
    """Like build_tasks, but a task whose data is missing (DataError) is set aside, not fatal.

    Returns the tasks that built and (task spec, reason) for the others, so a suite such as
    ``guide`` can run offline and the report can list "data not available" rows with the hint.
    Other errors (unknown task, bad option) still raise.
    """
    tasks: list[Task] = []
    missing: list[tuple[str, str]] = []
    for spec in expand(task_specs, suites):
        try:
            tasks.append(build_task(spec))
        except DataError as exc:
            label = f"{spec.name}:{spec.argument}" if spec.argument else spec.name
            missing.append((label, str(exc)))
    names = [t.name for t in tasks]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"two tasks share the name {', '.join(duplicates)}: give one ',name=...'")
    return tasks, missing
