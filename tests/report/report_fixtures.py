"""A fixed demo-shaped run (the demo's tasks and model labels), written record by record.

Outcomes follow fixed patterns so every figure in the guide, the claims check and the web app
can be derived by hand: see ``OUTCOMES``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bakeoff.core.records import ModelRecord, ResultRecord, RunRecord, SampleRecord, TaskRecord
from bakeoff.core.types import JSONValue
from bakeoff.storage.sqlite import SqliteStore
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


def demo_store(
    path: Path,
    families: dict[str, str] | None = None,
    metadata: dict[str, dict[str, JSONValue]] | None = None,
) -> SqliteStore:
    """The fixed run; ``families`` overrides tasks' families (to fill the guide's sections),
    ``metadata`` adds to every sample's metadata of a task (to mark it as a real task would)."""
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
    tasks, samples, results = [], [], []
    for position, (name, (n, gemma_rule, smol_rule)) in enumerate(OUTCOMES.items()):
        task = TASKS[name]("", {"n": str(n)})
        items = task.samples()
        manifest = dict(task.manifest())
        if families and name in families:
            manifest["family"] = families[name]
        tasks.append(
            TaskRecord(
                task.name, task.version, task.template_hash(), len(items), manifest, position
            )
        )
        metric = str(task.manifest()["primary_metric"])
        for i, sample in enumerate(items):
            samples.append(
                SampleRecord(
                    task.name,
                    sample.id,
                    i,
                    sample.input,
                    sample.target,
                    {**sample.metadata, **(metadata or {}).get(name, {})},
                )
            )
            for model, rule, base in ((GEMMA, gemma_rule, 0.05), (SMOL, smol_rule, 0.10)):
                right = rule(i)
                wrong = HOSTILE if (name == "arithmetic" and model == SMOL and i == 0) else "0"
                metrics = {metric: (float(right),)}
                if name == "arithmetic-mc":
                    metrics["acc_norm"] = (float(right),)
                results.append(
                    ResultRecord(
                        run_id=run.run_id,
                        model=model,
                        task=task.name,
                        sample_id=sample.id,
                        status="ok",
                        prediction=str(sample.target) if right else wrong,
                        target=str(sample.target),
                        correct=right,
                        metrics=metrics,
                        prompt_tokens=40,
                        output_tokens=4,
                        # Gemma is timed faster on every sample; the jitters (unlike for the two
                        # models) give the paired t-test its spread.
                        prompt_seconds=base
                        + (0.001 * (i % 7) if model == GEMMA else 0.002 * (i % 5)),
                        output_seconds=0.02,
                        created_at="2026-01-02T00:00:00+00:00",
                    )
                )
    store = SqliteStore(path)
    store.create_or_resume_run(run, models, tasks, samples)
    store.save_results(results)
    return store
