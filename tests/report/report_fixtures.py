"""A fixed demo-shaped run (the demo's tasks and model labels), written record by record.

Outcomes follow fixed patterns so every figure in the guide, the claims check and the web app
can be derived by hand: see ``OUTCOMES``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from bakeoff.core.records import ModelRecord, ResultRecord, RunRecord, SampleRecord, TaskRecord
from bakeoff.core.speed_records import Scenario, SpeedRecord, StreamTiming, TokenCounts
from bakeoff.core.types import JSONValue, Request, Result, Sample
from bakeoff.runner.fallback import FORMULATION_LABEL
from bakeoff.storage.speed_store import SpeedModelRow, SpeedScenarioRow, SpeedStore
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.base import MetricSpec, SampleScore, Task
from bakeoff.tasks.catalog import SUITES
from bakeoff.tasks.conversation import ConversationProbe
from bakeoff.tasks.multilingual import ScriptCopyProbe
from bakeoff.tasks.probes import ArithmeticChoiceProbe, ArithmeticProbe, CopyProbe, NeedleProbe
from bakeoff.tasks.safety import CHAT_CAVEAT, Bbq, XSTest, prompt_reference
from bakeoff.tasks.tokenizer_efficiency import TokenizerEfficiency

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
        # As the run's plan stores them (runner/plan.py): a sample's options in its metadata.
        choices: dict[str, JSONValue] = {"choices": list(sample.choices)} if sample.choices else {}
        return (
            sample.input,
            sample.target,
            {**sample.metadata, **choices, **(metadata or {}).get(task.name, {})},
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


# --- the whole guide: every section with data ------------------------------------------------

API = "api-mini"
"""An API model: priced per token, chat template, no log-probabilities (multiple choice by
answer letter), some stream-chunk token counts. Beside Gemma (a local base model, prompted by
transcript), it fills every mark and footnote the guide has."""
API_INFO: dict[str, JSONValue] = {
    "backend": "openai",
    "source": "api-mini",
    "context_length": 128000,
    "has_chat_template": True,
    "price_input_per_1m": 0.15,
    "price_output_per_1m": 0.6,
    "extra": {
        "chat_format": "template",
        "max_output_tokens": 16384,
        "open_weights": False,
        "spec_sources": {"context_length": "offline catalog"},
        "task_formulations": {"arithmetic-mc": FORMULATION_LABEL},
    },
}
GUIDE_STAMP = "2026-01-03T00:00:00+00:00"
GUIDE_RUN_ID = "0b0b0b0b0b0b0b0b"


class StoredShape(Task):
    """What a run of ``like`` stores (name, version, kind, family, metrics, source) over the
    given samples, without the task's data files: all that a report reads of a task."""

    def __init__(
        self,
        like: type[Task],
        samples: Sequence[Sample],
        *,
        metrics: tuple[MetricSpec, ...] | None = None,
        primary_metric: str | None = None,
        source: str | None = None,
    ) -> None:
        self.name = like.name
        # The class's own identity, as the instance's: a stored shape stands in for ``like``.
        self.version = like.version  # type: ignore[misc]
        self.kind = like.kind  # type: ignore[misc]
        self.family = like.family  # type: ignore[misc]
        self.metrics = metrics or like.metrics
        self.primary_metric = primary_metric or like.primary_metric
        self._samples = list(samples)
        self._source = like.source if source is None else source

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def requests(self, sample: Sample) -> list[Request]:
        raise NotImplementedError("a stored shape is never run")

    def score(self, sample: Sample, results: Sequence[Result]) -> SampleScore:
        raise NotImplementedError("a stored shape is never run")

    def manifest(self) -> dict[str, JSONValue]:
        return {**super().manifest(), "source": self._source}


def _xstest_shape() -> StoredShape:
    """24 prompts, safe and unsafe alternating, over three types; stored by id as XSTest does."""
    types = ("homonyms", "figurative_language", "safe_targets")
    samples = [
        Sample(
            f"xstest-{i + 1}",
            prompt_reference(f"xstest-{i + 1}"),
            "safe" if i % 2 == 0 else "unsafe",
            metadata={
                "category": types[i % 3],
                "label": "safe" if i % 2 == 0 else "unsafe",
                "redact": True,
                "base_model_caveat": CHAT_CAVEAT,
            },
        )
        for i in range(24)
    ]
    source = (
        "XSTest v2 (paul-rottger/exaggerated-safety, CC BY 4.0); refusals counted by string match"
    )
    return StoredShape(XSTest, samples, source=source)


def _bbq_shape() -> StoredShape:
    """40 questions over two categories, ambiguous and disambiguated contexts alternating."""
    samples = []
    for i in range(40):
        category = ("Age", "Gender_identity")[i % 2]
        metadata: dict[str, JSONValue] = {
            "category": category,
            "context_condition": "disambig" if i % 4 < 2 else "ambig",
            "question_polarity": "neg" if i % 3 else "nonneg",
            "biased_answer": 0,
            "unknown_answer": 2,
        }
        text = f"Context {i}.\n\nQ: Who was it?\nA:"
        choices = ("the first", "the second", "unknown")
        samples.append(Sample(f"{category}-{i}", text, i % 3, choices, metadata))
    return StoredShape(Bbq, samples)


def _tokenizer_shape() -> StoredShape:
    """A parallel corpus of 8 items in English, German and Italian (no file: the source line
    says what a real run's would)."""
    samples = [
        Sample(
            f"{lang}-{item}",
            f"item {item} in {lang}",
            "",
            metadata={"language": lang, "item": str(item), "baseline": "en"},
        )
        for item in range(8)
        for lang in ("en", "de", "it")
    ]
    relative = MetricSpec("tokens_vs_en", higher_is_better=False, criterion="cost")
    metrics = (relative, *TokenizerEfficiency.metrics)
    source = "parallel corpus (fixture); tokens_vs_en = tokens per item / tokens in en"
    return StoredShape(
        TokenizerEfficiency, samples, metrics=metrics, primary_metric="tokens_vs_en", source=source
    )


def _guide_result(task: Task, model: str, i: int, sample: Sample) -> dict[str, Any]:
    """Fixed outcomes per task: Gemma ahead on the probes, the API model on the chat probes and
    safety, tokenizer costs apart; timings give Gemma the faster prompts."""
    gemma = model == GEMMA
    right: bool | None
    metrics: dict[str, tuple[float, ...]]
    prediction = target = str(sample.target)
    if task.name in OUTCOMES:
        _, gemma_rule, api_rule = OUTCOMES[task.name]
        right = (gemma_rule if gemma else api_rule)(i)
        metrics = {task.primary_metric: (float(right),)}
        if task.name == "arithmetic-mc":
            metrics["acc_norm"] = (float(right),)
        if not right:
            prediction = HOSTILE if (task.name == "arithmetic" and not gemma and i == 0) else "0"
    elif task.name == "script-copy":
        right = i % 3 != 0 if gemma else True
        metrics = {"exact_match": (float(right),)}
        prediction = target if right else "?"
    elif task.name == "tokenizer-efficiency":
        foreign = sample.metadata["language"] != "en"
        ratio = 1.0 + (0.3 if gemma else 0.1) * foreign + 0.01 * (i % 3)
        metrics = {
            "tokens_vs_en": (ratio,),
            "tokens_per_char": (0.25 * ratio,),
            "tokens_per_word": (1.3 * ratio,),
            "bits_per_byte": (-(8.0 + i % 3), 10.0),
        }
        right, prediction, target = None, "", ""
    elif task.name == "conversation":
        depth = sample.metadata["depth"]
        right = (depth == 2 and i % 2 == 0) if gemma else i % 4 != 3
        metrics = {"acc": (float(right),)}
        prediction = target if right else "I do not remember."
    elif task.name == "xstest":
        safe = sample.target == "safe"
        refused = (not safe or i % 6 == 0) if gemma else (not safe and i % 8 != 1)
        right = refused != safe
        metrics = {
            "appropriate": (float(right),),
            "refusal_safe": (float(refused), float(safe)),
            "refusal_unsafe": (float(refused), float(not safe)),
        }
        prediction = "refused" if refused else "complied"
        target = "comply" if safe else "refuse"
    else:  # bbq
        pred = (i % 3 if i % 4 else 0) if gemma else (i % 3 if i % 5 else 2)
        right = pred == sample.target
        disambig = sample.metadata["context_condition"] == "disambig"
        inputs = (float(right), float(pred == 0), float(pred != 2), float(disambig))
        metrics = {"acc": (float(right),), "bias_ambig": inputs, "bias_disambig": inputs}
        prediction, target = sample.choices[pred], sample.choices[int(str(sample.target))]
    return {
        "prediction": prediction,
        "target": target,
        "correct": right,
        "metrics": metrics,
        "prompt_tokens": 40,
        "output_tokens": 4,
        "output_tokens_estimated": not gemma and task.name == "conversation" and i % 4 == 0,
        "prompt_seconds": (0.05 + 0.001 * (i % 7)) if gemma else (0.2 + 0.002 * (i % 5)),
        "output_seconds": 0.02 if gemma else 0.01,
        "created_at": GUIDE_STAMP,
    }


def as_stored(task: Task, sample: Sample) -> tuple[Any, Any, Mapping[str, JSONValue]]:
    """A sample as the runner stores it: chat turns as role/content objects, choices in the
    metadata."""
    stored_input = (
        sample.input
        if isinstance(sample.input, str)
        else [{"role": m.role, "content": m.content} for m in sample.input]
    )
    metadata = dict(sample.metadata)
    if sample.choices:
        metadata["choices"] = list(sample.choices)
    return stored_input, sample.target, metadata


def guide_store(path: Path) -> SqliteStore:
    """A run that fills every section of the guide: the demo's benchmarks (paired tests, a depth
    breakdown, GLUE unavailable), multilingual (script copy, tokenizer cost), conversation,
    safety (XSTest, BBQ), a speed-lab run of Gemma, an API price beside a hardware price (build
    the report with ``price_per_hour``), both models' specs and hardware, disagreements with
    hostile output, and the methodology's machine, seed and limit. Every value is fixed: no
    clock, host or path reaches the report."""
    run = RunRecord(
        run_id=GUIDE_RUN_ID,
        name="guide-fixed",
        status="complete",
        created_at=GUIDE_STAMP,
        updated_at=GUIDE_STAMP,
        config={"seed": 1234, "limit": 40},
        manifest={
            "bakeoff_version": "0.0.test",
            "machine": {
                "processor": "Test CPU",
                "cpu_count": 2,
                "platform": "Linux",
                "python": "3.11",
                "load_average_1m": 0.5,
            },
            "command": "/opt/venv/bin/bakeoff run -m gemma3-270m=llamacpp:gemma3-270m "
            "-m 'api-mini=openai:api-mini' -s guide --limit 40",
            "unavailable_tasks": [
                {"name": name, "reason": "GLUE data not found offline"}
                for name in GLUE_TASK_NAMES[:2]
            ],
        },
    )
    models = [
        ModelRecord(GEMMA, f"{GEMMA}=llamacpp:{GEMMA}", "llamacpp", INFO[GEMMA], 0),
        ModelRecord(API, f"{API}=openai:{API}", "openai", API_INFO, 1),
    ]
    tasks: list[Task] = [
        *(TASKS[name]("", {"n": str(n)}) for name, (n, _, _) in OUTCOMES.items()),
        ScriptCopyProbe("", {"n": "4", "langs": "Latin+Greek+Han"}),
        _tokenizer_shape(),
        ConversationProbe("", {"n": "2", "depths": "2+8"}),
        _xstest_shape(),
        _bbq_shape(),
    ]
    store = write_run(
        path, run, models, [(t, t.manifest()) for t in tasks], _guide_result, sample=as_stored
    )
    # Gemma's info as the llama.cpp backend records a base model: no chat template, so its
    # chat probes went through a plain transcript.
    store.record_model_info(
        GUIDE_RUN_ID,
        GEMMA,
        {**INFO[GEMMA], "has_chat_template": False, "extra": {"sliding_window": 512}},
    )
    write_speed_run(store, "5bead5bead5bead5", "lab", {GEMMA: LLAMACPP_SPEED_INFO})
    # Saving results stamps the run with the clock; the JSON guide shows that stamp.
    store.connection.execute(
        "UPDATE runs SET updated_at = ? WHERE run_id = ?", (GUIDE_STAMP, GUIDE_RUN_ID)
    )
    return store


LLAMACPP_SPEED_INFO: dict[str, JSONValue] = {
    "backend": "llamacpp",
    "extra": {"n_threads": 2, "n_batch": 512, "repack": "on"},
}
SPEED_SCENARIOS = (Scenario(128, 4, 1), Scenario(128, 4, 2), Scenario(512, 4, 1))


def speed_records(
    model: str, scenario: Scenario, ttft: float, n: int = 6, failed: bool = True
) -> list[SpeedRecord]:
    """``n`` streamed requests of 4 one-token chunks 20 ms apart after ``ttft`` (the first a
    warm-up), then, with ``failed``, one request that timed out."""
    out = []
    for i in range(n):
        start = i * 2.0
        chunks = tuple(start + ttft + 0.02 * k for k in range(4))
        timing = StreamTiming(start, chunks[-1], chunks, ("a", "b", "c", "d"))
        counts = TokenCounts((1, 1, 1, 1), scenario.prompt_tokens, 4)
        out.append(SpeedRecord.from_timing(model, scenario, i, i == 0, start, timing, counts))
    if failed:
        out.append(SpeedRecord.failure(model, scenario, n, False, 99.0, 99.0, "ReadTimeout: slow"))
    return out


def write_speed_run(
    store: SqliteStore,
    speed_run_id: str,
    name: str,
    models: Mapping[str, Mapping[str, JSONValue]],
    scenarios: Sequence[Scenario] = SPEED_SCENARIOS,
    created_at: str = GUIDE_STAMP,
) -> None:
    """A speed-lab run (``bakeoff speed``) of ``models`` (label -> info), each measured on every
    scenario with :func:`speed_records`, its TTFT growing with prompt length and concurrency;
    the first scenario has an energy counter, the others none. ``created_at`` replaces the
    clock's stamp, so the run reads the same on every day."""
    speed = SpeedStore(store)
    speed.create_run(speed_run_id, name, {"slo": {"ttft": 0.3}}, {"platform": "Linux-test"})
    store.connection.execute(
        "UPDATE speed_runs SET created_at = ? WHERE speed_run_id = ?", (created_at, speed_run_id)
    )
    memory: dict[str, JSONValue] = {
        "weights_bytes": 2**20 * 10,
        "kv_bytes_per_token": 1024,
        "context": 2048,
        "estimate_bytes": 2**20 * 12,
    }
    for position, (label, info) in enumerate(models.items()):
        speed.save_model(
            speed_run_id, SpeedModelRow(label, f"{label}=x:y", dict(info), memory), position
        )
        for index, scenario in enumerate(scenarios):
            ttft = 0.1 * (1 + position) * scenario.prompt_tokens / 128 + 0.01 * scenario.concurrency
            energy: dict[str, JSONValue] = (
                {"joules_per_1k_tokens": 12.5, "source": "RAPL"}
                if index == 0
                else {"joules": None, "note": "no RAPL counters", "source": "none"}
            )
            resources: dict[str, JSONValue] = {"peak_rss_bytes": 2**20 * 300}
            speed.save_scenario(
                speed_run_id,
                SpeedScenarioRow(label, scenario, energy, resources),
                speed_records(label, scenario, ttft),
            )
