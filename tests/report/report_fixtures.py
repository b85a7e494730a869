"""A fixed demo-shaped run (the demo's tasks and model labels), written record by record.

Outcomes follow fixed patterns so every figure in the guide, the claims check and the web app
can be derived by hand: see ``OUTCOMES``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from bakeoff.core.records import ModelRecord, ResultRecord, RunRecord, SampleRecord, TaskRecord
from bakeoff.core.types import JSONValue, Sample
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.base import Task
from bakeoff.tasks.catalog import SUITES
from bakeoff.tasks.probes import ArithmeticChoiceProbe, ArithmeticProbe, CopyProbe, NeedleProbe

GEMMA, SMOL = "gemma3-270m", "smollm2-135m"
GLUE_TASK_NAMES = tuple(SUITES["glue"])
HOSTILE = "<img src=x onerror=\"document.title='pwned';window.pwned=1\">"
Rule = Callable[[int], bool]
# task → (n, gemma right on sample i, smol right on sample i)
OUTCOMES: dict[str, tuple[int, Rule, Rule]] = {
    "arithmetic-mc": (40, lambda i: i % 4 != 0, lambda i: i % 5 < 2),  # 30/40 vs 16/40
    "arithmetic": (40, lambda i: i % 2 == 0, lambda i: i % 2 == 1),  # 20/40 vs 20/40
    "needle": (30, lambda i: i % 3 != 0, lambda i: i % 10 == 0),  # 20/30 vs 3/30
    "copy": (30, lambda i: i % 5 != 0, lambda i: i % 5 != 1),  # 24/30 vs 24/30
}
TASKS = {
    "arithmetic-mc": ArithmeticChoiceProbe,
    "arithmetic": ArithmeticProbe,
    "needle": NeedleProbe,
    "copy": CopyProbe,
}
INFO = {
    GEMMA: {
        "backend": "llamacpp",
        "architecture": "gemma3",
        "parameters": 268_098_176,
        "n_layers": 18,
        "n_heads": 4,
        "n_kv_heads": 1,
        "head_dim": 256,
        "context_length": 32768,
        "vocab_size": 262144,
        "quantization": "Q4_K_M",
        "file_bytes": 253_115_328,
        "sha256": "a" * 64,
        "license": "gemma",
        "extra": {"sliding_window": 512},
    },
    SMOL: {
        "backend": "llamacpp",
        "architecture": "llama",
        "parameters": 134_515_008,
        "n_layers": 30,
        "n_heads": 9,
        "n_kv_heads": 3,
        "embedding_length": 576,
        "context_length": 8192,
        "vocab_size": 49152,
        "quantization": "Q8_0",
        "file_bytes": 145_000_000,
        "sha256": "b" * 64,
        "license": "apache-2.0",
    },
}


ResultFields = Callable[[Task, str, int, Sample], dict[str, Any]]
"""``(task, model label, sample index, sample)`` -> that result's :class:`ResultRecord` fields
other than those :func:`write_run` fills (run_id, model, task, sample_id, status "ok")."""
SampleFields = Callable[[Task, Sample], tuple[Any, Any, Mapping[str, JSONValue]]]
"""``(task, sample)`` -> the stored sample's ``(input, target, metadata)``."""


def write_run(
    path: Path,
    run: RunRecord,
    models: Sequence[ModelRecord],
    tasks: Sequence[tuple[Task, Mapping[str, JSONValue]]],
    result: ResultFields,
    *,
    sample: SampleFields | None = None,
    template_hash: str | None = None,
) -> SqliteStore:
    """Stores ``run`` of ``models`` on ``tasks`` (each with the manifest to store) with an "ok"
    result of every model on every sample, its fields from ``result``. ``sample`` gives what is
    stored of a sample (by default its own input, target and metadata); ``template_hash``, one
    hash for every task (by default each task's own)."""
    task_records, samples, results = [], [], []
    for position, (task, manifest) in enumerate(tasks):
        items = task.samples()
        digest = task.template_hash() if template_hash is None else template_hash
        task_records.append(
            TaskRecord(task.name, task.version, digest, len(items), manifest, position)
        )
        for i, item in enumerate(items):
            fields = sample(task, item) if sample else (item.input, item.target, item.metadata)
            samples.append(SampleRecord(task.name, item.id, i, *fields))
            for model in models:
                results.append(
                    ResultRecord(
                        run_id=run.run_id,
                        model=model.label,
                        task=task.name,
                        sample_id=item.id,
                        status="ok",
                        **result(task, model.label, i, item),
                    )
                )
    store = SqliteStore(path)
    store.create_or_resume_run(run, models, task_records, samples)
    store.save_results(results)
    return store


def demo_store(
    path: Path,
    families: dict[str, str] | None = None,
    metadata: dict[str, dict[str, JSONValue]] | None = None,
    estimated: Collection[tuple[str, str, int]] = (),
) -> SqliteStore:
    """The fixed run; ``families`` overrides tasks' families (to fill the guide's sections),
    ``metadata`` adds to every sample's metadata of a task (to mark it as a real task would),
    ``estimated`` names the results, as (model, task, sample index), whose output tokens are
    stream chunks (``output_tokens_estimated``)."""
    run = RunRecord(
        run_id="fedcba9876543210",
        name="demo-fixed",
        status="complete",
        created_at="2026-01-02T00:00:00+00:00",
        updated_at="2026-01-02T00:00:00+00:00",
        config={},
        manifest={
            "bakeoff_version": "0.0.test",
            "machine": {
                "processor": "Test CPU",
                "cpu_count": 2,
                "platform": "Linux",
                "python": "3.11",
            },
            "command": "bakeoff demo",
            # As a real run records them: one entry per task of the suite, by task name.
            "unavailable_tasks": [
                {
                    "name": name,
                    "reason": "GLUE data not found offline; "
                    "set BAKEOFF_DATA_DIR to a folder holding glue/",
                }
                for name in GLUE_TASK_NAMES
            ],
        },
    )
    models = [
        ModelRecord(label, f"{label}=llamacpp:{label}", "llamacpp", INFO[label], i)
        for i, label in enumerate((GEMMA, SMOL))
    ]
    tasks = []
    for name, (n, _, _) in OUTCOMES.items():
        task = TASKS[name]("", {"n": str(n)})
        manifest = dict(task.manifest())
        if families and name in families:
            manifest["family"] = families[name]
        tasks.append((task, manifest))

    def stored_sample(task: Task, sample: Sample) -> tuple[Any, Any, Mapping[str, JSONValue]]:
        return (
            sample.input,
            sample.target,
            {**sample.metadata, **(metadata or {}).get(task.name, {})},
        )

    def result(task: Task, model: str, i: int, sample: Sample) -> dict[str, Any]:
        _, gemma_rule, smol_rule = OUTCOMES[task.name]
        right = (gemma_rule if model == GEMMA else smol_rule)(i)
        wrong = HOSTILE if (task.name == "arithmetic" and model == SMOL and i == 0) else "0"
        metrics = {task.primary_metric: (float(right),)}
        if task.name == "arithmetic-mc":
            metrics["acc_norm"] = (float(right),)
        base = 0.05 if model == GEMMA else 0.10
        return {
            "prediction": str(sample.target) if right else wrong,
            "target": str(sample.target),
            "correct": right,
            "metrics": metrics,
            "prompt_tokens": 40,
            "output_tokens": 4,
            "output_tokens_estimated": (model, task.name, i) in estimated,
            # Gemma is timed faster on every sample; the jitters (unlike for the two models)
            # give the paired t-test its spread.
            "prompt_seconds": base + (0.001 * (i % 7) if model == GEMMA else 0.002 * (i % 5)),
            "output_seconds": 0.02,
            "created_at": "2026-01-02T00:00:00+00:00",
        }

    return write_run(path, run, models, tasks, result, sample=stored_sample)
