"""bakeoff's `hf` backend vs lm-evaluation-harness's `hf` model on the same samples, timed.

    python bench/vs_lm_eval.py [--model gemma3-270m] [--n 50] [--tasks arc_easy,medqa]
                               [--harness-batch-size 4] [--no-llamacpp]

Both sides load the same GGUF file through transformers (dequantized to float32) and score the
same local data (../shared/data): bakeoff through its benchmark tasks, the harness through task
configs written to a temporary folder that reproduce its own YAMLs (arc_easy, lambada_openai,
medqa_4options, mmlu_*) on local JSONL copies. LegalBench uses the harness's multiple-choice
form with bakeoff's prompts (the harness's own LegalBench configs generate; see docs/parity.md).

Prints, per task, both wall times and "ratio X" (harness time / bakeoff time), the accuracies,
and the share of identical per-sample predictions; then bakeoff's `llamacpp` backend on the same
samples. Model loading is timed apart and excluded. The load average is printed last: timings taken
while other work shares the machine are indicative only.

The test tests/parity/test_lm_eval_parity.py imports this module for the same machinery.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("BAKEOFF_SHARED_DATA", REPO.parent / "shared" / "data"))
LETTERS = ["A", "B", "C", "D"]
MMLU_SUBJECTS = ("anatomy", "high_school_geography", "marketing")
LEGAL_TASKS = ("hearsay", "diversity_1", "abercrombie")


@dataclass
class ParityTask:
    """One harness task and the bakeoff samples that correspond to its first ``n`` documents."""

    harness_name: str
    harness_config: dict[str, Any]
    bakeoff_task: Any  # a bakeoff Task
    samples: list[Any]  # bakeoff Samples, in harness document order
    kind: str = "multiple_choice"  # or "loglikelihood" (LAMBADA: acc = is_greedy)


@dataclass
class SideResult:
    """One side's per-sample predictions (choice index or greedy flag) and accuracy."""

    predictions: list[int]
    correct: list[bool]
    seconds: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return 100.0 * sum(self.correct) / len(self.correct) if self.correct else float("nan")


# -- data for the harness: local JSONL copies in the hub datasets' own layout --------------------


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return str(path)


def _json_source(files: dict[str, str]) -> dict[str, Any]:
    return {"dataset_path": "json", "dataset_kwargs": {"data_files": files}}


def _arc_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        question = raw["question"]
        rows.append(
            {
                "id": raw["id"],
                "question": question["stem"],
                "choices": {
                    "text": [c["text"] for c in question["choices"]],
                    "label": [c["label"] for c in question["choices"]],
                },
                "answerKey": raw["answerKey"],
            }
        )
    return rows


def _medqa_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for raw in csv.DictReader(handle):
            options = ast.literal_eval(raw["options"])
            row: dict[str, Any] = {"sent1": raw["question"]}
            row.update({f"ending{i}": options[letter] for i, letter in enumerate(LETTERS)})
            row["label"] = LETTERS.index(raw["answer_idx"].strip())
            rows.append(row)
    return rows


def _mmlu_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            {
                "question": raw["question"],
                "choices": [raw[f"choice{i}"] for i in range(4)],
                "answer": int(raw["answer"]),
            }
            for raw in csv.DictReader(handle)
        ]


def _tsv_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


# -- the task pairs -----------------------------------------------------------------------------

_ACC = [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}]
_ACC_NORM = [*_ACC, {"metric": "acc_norm", "aggregation": "mean", "higher_is_better": True}]


def _first(samples: Sequence[Any], n: int, key: Callable[[Any], bool] | None = None) -> list[Any]:
    chosen = [s for s in samples if key is None or key(s)]
    return chosen[:n]


def build_tasks(
    data: Path,
    work: Path,
    n: int,
    names: Sequence[str] | None = None,
    legal_shots: int | None = None,
) -> list[ParityTask]:
    """The parity tasks, limited to the first ``n`` documents each (``names`` filters).

    LegalBench takes every train row as a shot (its protocol) unless ``legal_shots`` says fewer.
    """
    from bakeoff.tasks.benchmarks.arc import ArcEasy
    from bakeoff.tasks.benchmarks.lambada import LambadaOpenAI
    from bakeoff.tasks.benchmarks.legalbench import PROMPTS, LegalBench
    from bakeoff.tasks.benchmarks.medqa import MedQA
    from bakeoff.tasks.benchmarks.mmlu import Mmlu

    options = {"data_dir": str(data)}
    tasks: list[ParityTask] = []
    wanted = set(names) if names else None

    def want(name: str) -> bool:
        return wanted is None or name in wanted or name.split("_")[0] in wanted

    if want("lambada_openai"):
        task = LambadaOpenAI("", options)
        config = {
            "task": "parity_lambada_openai",
            **_json_source({"test": str(data / "lambada_openai" / "test.jsonl")}),
            "output_type": "loglikelihood",
            "test_split": "test",
            "doc_to_text": "{{text.split(' ')[:-1]|join(' ')}}",
            "doc_to_target": "{{' '+text.split(' ')[-1]}}",
            "metric_list": [
                {"metric": "perplexity", "aggregation": "perplexity", "higher_is_better": False},
                *_ACC,
            ],
        }
        tasks.append(
            ParityTask(
                "parity_lambada_openai", config, task, _first(task.samples(), n), "loglikelihood"
            )
        )
    if want("arc_easy"):
        task = ArcEasy("", options)
        files = {
            "test": _write_jsonl(
                work / "arc_easy_test.jsonl", _arc_rows(data / "arc_easy" / "test.jsonl")
            ),
        }
        config = {
            "task": "parity_arc_easy",
            **_json_source(files),
            "output_type": "multiple_choice",
            "test_split": "test",
            "doc_to_text": "Question: {{question}}\nAnswer:",
            "doc_to_target": "{{choices.label.index(answerKey)}}",
            "doc_to_choice": "{{choices.text}}",
            "metric_list": _ACC_NORM,
        }
        tasks.append(ParityTask("parity_arc_easy", config, task, _first(task.samples(), n)))
    if want("medqa"):
        task = MedQA("", options)
        files = {
            "test": _write_jsonl(
                work / "medqa_test.jsonl", _medqa_rows(data / "medqa_us" / "test.csv")
            )
        }
        config = {
            "task": "parity_medqa_4options",
            **_json_source(files),
            "output_type": "multiple_choice",
            "test_split": "test",
            # preprocess_medqa.doc_to_text, written as a template
            "doc_to_text": "Question: {{sent1}}\nA. {{ending0}}\nB. {{ending1}}\nC. {{ending2}}\n"
            "D. {{ending3}}\nAnswer:",
            "doc_to_target": "label",
            "doc_to_choice": LETTERS,
            "metric_list": _ACC_NORM,
        }
        tasks.append(ParityTask("parity_medqa_4options", config, task, _first(task.samples(), n)))
    if want("mmlu"):
        task = Mmlu("", {**options, "subject": "+".join(MMLU_SUBJECTS)})
        for subject in MMLU_SUBJECTS:
            test = data / "mmlu" / "test" / f"{subject}_test.csv"
            files = {"test": _write_jsonl(work / f"mmlu_{subject}.jsonl", _mmlu_rows(test))}
            config = {
                "task": f"parity_mmlu_{subject}",
                **_json_source(files),
                "output_type": "multiple_choice",
                "test_split": "test",
                "description": "The following are multiple choice questions (with answers) about "
                f"{subject.replace('_', ' ')}.\n\n",
                "doc_to_text": "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\n"
                "C. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:",
                "doc_to_choice": LETTERS,
                "doc_to_target": "answer",
                "metric_list": _ACC,
            }
            picked = _first(task.samples(), n, lambda s, sub=subject: s.metadata["subject"] == sub)
            tasks.append(ParityTask(f"parity_mmlu_{subject}", config, task, picked))
    if want("legalbench"):
        for legal in LEGAL_TASKS:
            shots = {} if legal_shots is None else {"shots": str(legal_shots)}
            task = LegalBench(legal, {**options, **shots})
            prompt = PROMPTS[legal]
            folder = data / "legalbench" / legal
            train = _tsv_rows(folder / "train.tsv")
            files = {
                "test": _write_jsonl(
                    work / f"legal_{legal}_test.jsonl", _tsv_rows(folder / "test.tsv")
                ),
                "train": _write_jsonl(work / f"legal_{legal}_train.jsonl", train),
            }
            config = {
                "task": f"parity_legalbench_{legal}",
                **_json_source(files),
                "output_type": "multiple_choice",
                "test_split": "test",
                "fewshot_split": "train",
                "num_fewshot": len(train) if legal_shots is None else legal_shots,
                "fewshot_config": {"sampler": "first_n"},
                "description": prompt.description,
                "doc_to_text": prompt.template.replace("{text}", "{{text}}"),
                "doc_to_choice": list(prompt.choices),
                "doc_to_target": "{{" + repr(list(prompt.choices)) + ".index(label.strip())}}",
                "metric_list": _ACC,
            }
            tasks.append(
                ParityTask(f"parity_legalbench_{legal}", config, task, _first(task.samples(), n))
            )
    return tasks


# -- running each side --------------------------------------------------------------------------


def run_bakeoff(backend: Any, task: ParityTask) -> SideResult:
    """Score the task's samples through one backend call (as the runner batches a task)."""
    requests, owners = [], []
    for index, sample in enumerate(task.samples):
        for request in task.bakeoff_task.requests(sample):
            requests.append(request)
            owners.append(index)
    started = time.perf_counter()
    outcomes = backend.loglikelihood(requests)
    seconds = time.perf_counter() - started
    per_sample: list[list[Any]] = [[] for _ in task.samples]
    for owner, outcome in zip(owners, outcomes, strict=True):
        if not hasattr(outcome, "logprob"):
            raise RuntimeError(f"{task.harness_name}: a request failed: {outcome}")
        per_sample[owner].append(outcome)
    predictions, correct = [], []
    for sample, results in zip(task.samples, per_sample, strict=True):
        score = task.bakeoff_task.score(sample, results)
        if task.kind == "loglikelihood":
            predictions.append(int(results[0].is_greedy))
        else:
            predictions.append(int(score.details["pred"]))
        correct.append(bool(score.correct))
    return SideResult(predictions, correct, seconds)


def harness_model(model_dir: str, gguf_file: str, batch_size: int) -> Any:
    """lm-evaluation-harness's own `hf` model loading the GGUF file itself (transformers
    dequantizes it), as ``lm_eval --model hf --model_args pretrained=DIR,gguf_file=FILE``."""
    from lm_eval.models.huggingface import HFLM

    return HFLM(
        pretrained=model_dir,
        gguf_file=gguf_file,
        dtype="float32",
        device="cpu",
        batch_size=batch_size,
    )


def harness_model_on(backend: Any, batch_size: int) -> Any:
    """lm-evaluation-harness's `hf` model (HFLM) wrapping the very transformers model and
    tokenizer the bakeoff `hf` backend loaded: identical weights by construction, one load."""
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=backend.model, tokenizer=backend.tokenizer, batch_size=batch_size)


def run_harness(model: Any, tasks: Sequence[ParityTask], n: int) -> dict[str, SideResult]:
    """Run the harness on the task configs; per-task predictions from its logged samples."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    out: dict[str, SideResult] = {}
    manager = TaskManager()
    for task in tasks:
        started = time.perf_counter()
        results = lm_eval.simple_evaluate(
            model=model,
            tasks=[task.harness_config],
            limit=n,
            log_samples=True,
            task_manager=manager,
            bootstrap_iters=0,
        )
        seconds = time.perf_counter() - started
        logged = sorted(results["samples"][task.harness_name], key=lambda s: s["doc_id"])
        predictions, correct = [], []
        for item in logged:
            responses = [_pair(r) for r in item["filtered_resps"]]
            if task.kind == "loglikelihood":
                predictions.append(int(bool(responses[0][1])))
                correct.append(bool(item["acc"]))
            else:
                scores = [float(r[0]) for r in responses]
                predictions.append(max(range(len(scores)), key=lambda i: (scores[i], -i)))
                correct.append(bool(item["acc"]))
        out[task.harness_name] = SideResult(predictions, correct, seconds)
    return out


def _pair(response: Any) -> tuple[float, bool]:
    # filtered_resps holds (loglikelihood, is_greedy) pairs, nested one level in some versions.
    while isinstance(response[0], list | tuple):
        response = response[0]
    return float(response[0]), bool(response[1])


def agreement(a: SideResult, b: SideResult) -> float:
    same = sum(x == y for x, y in zip(a.predictions, b.predictions, strict=True))
    return 100.0 * same / len(a.predictions) if a.predictions else float("nan")


def resolve_gguf(alias: str) -> tuple[str, str]:
    from bakeoff.backends.hf import resolve_target

    folder, file_name = resolve_target(alias, None)
    assert file_name is not None
    return folder, file_name


# -- the script ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma3-270m", help="bundled alias or GGUF path")
    parser.add_argument("--n", type=int, default=50, help="documents per harness task")
    parser.add_argument("--tasks", default="", help="comma list: lambada_openai,arc_easy,...")
    parser.add_argument("--harness-batch-size", type=int, default=4)
    parser.add_argument(
        "--legal-shots", type=int, default=None, help="LegalBench shots (default: all train rows)"
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--no-llamacpp", action="store_true")
    parser.add_argument(
        "--harness-loads",
        action="store_true",
        help="let lm-eval load the GGUF itself (default: it wraps bakeoff's loaded model)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not args.data.is_dir():
        print(f"shared data not found at {args.data}", file=sys.stderr)
        return 2

    import tempfile

    from bakeoff.backends.base import open_backend
    from bakeoff.core.model import ModelSpec

    with tempfile.TemporaryDirectory() as tmp:
        names = [t for t in args.tasks.split(",") if t]
        tasks = build_tasks(args.data, Path(tmp), args.n, names, args.legal_shots)
        folder, file_name = resolve_gguf(args.model)
        started = time.perf_counter()
        ours = open_backend(ModelSpec.parse(f"hf:{folder}/{file_name}"))
        print(f"load: bakeoff hf {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        if args.harness_loads:
            model = harness_model(folder, file_name, args.harness_batch_size)
        else:
            model = harness_model_on(ours, args.harness_batch_size)
        print(f"load: lm-eval hf {time.perf_counter() - started:.1f} s", flush=True)
        # Task by task, one side after the other: load from other work hits both alike.
        bakeoff: dict[str, SideResult] = {}
        harness: dict[str, SideResult] = {}
        for task in tasks:
            bakeoff[task.harness_name] = run_bakeoff(ours, task)
            harness.update(run_harness(model, [task], args.n))
            ours_now, ref_now = bakeoff[task.harness_name], harness[task.harness_name]
            print(  # as it goes: a long run on a busy machine still shows what it measured
                f"done {task.harness_name}: bakeoff {ours_now.seconds:.1f} s, lm-eval "
                f"{ref_now.seconds:.1f} s, acc {ours_now.accuracy:.1f} vs {ref_now.accuracy:.1f}, "
                f"same {agreement(ours_now, ref_now):.1f}%",
                flush=True,
            )
        ours.close()
        del model
        llama: dict[str, SideResult] = {}
        if not args.no_llamacpp:
            llama = _run_llamacpp(f"{folder}/{file_name}", tasks)
    _print_table(tasks, bakeoff, harness, llama)
    return 0


def _run_llamacpp(path: str, tasks: Sequence[ParityTask]) -> dict[str, SideResult]:
    from bakeoff.backends.base import open_backend
    from bakeoff.core.errors import BakeoffError
    from bakeoff.core.model import ModelSpec

    try:
        backend = open_backend(ModelSpec.parse(f"llamacpp:{path}"))
    except (BakeoffError, ImportError) as exc:
        print(f"llamacpp backend not available: {exc}")
        return {}
    out = {t.harness_name: run_bakeoff(backend, t) for t in tasks}
    backend.close()
    return out


def _print_table(
    tasks: Sequence[ParityTask],
    bakeoff: dict[str, SideResult],
    harness: dict[str, SideResult],
    llama: dict[str, SideResult],
) -> None:
    print(
        f"{'task':34} {'n':>4} {'bakeoff s':>9} {'lm-eval s':>9} {'ratio':>7} "
        f"{'acc ours':>8} {'acc ref':>8} {'same %':>7} {'llamacpp s':>10} {'acc llama':>9}"
    )
    totals = [0.0, 0.0, 0.0]
    mc_totals = [0.0, 0.0]
    for task in tasks:
        ours, ref = bakeoff[task.harness_name], harness[task.harness_name]
        llama_result = llama.get(task.harness_name)
        llama_cols = (
            f"{llama_result.seconds:10.1f} {llama_result.accuracy:9.1f}" if llama_result else ""
        )
        print(
            f"{task.harness_name:34} {len(task.samples):4d} {ours.seconds:9.1f} "
            f"{ref.seconds:9.1f} {ref.seconds / ours.seconds:6.1f}x {ours.accuracy:8.1f} "
            f"{ref.accuracy:8.1f} {agreement(ours, ref):7.1f} {llama_cols}"
        )
        totals[0] += ours.seconds
        totals[1] += ref.seconds
        totals[2] += llama_result.seconds if llama_result else 0.0
        if task.kind == "multiple_choice":
            mc_totals[0] += ours.seconds
            mc_totals[1] += ref.seconds
    ratio = totals[1] / totals[0]
    print(
        f"wall time: bakeoff hf {totals[0]:.1f} s, lm-eval hf {totals[1]:.1f} s, ratio {ratio:.1f}"
    )
    if mc_totals[0]:
        print(f"multiple-choice only: ratio {mc_totals[1] / mc_totals[0]:.1f}")
    if llama:
        print(f"bakeoff llamacpp on the same samples: {totals[2]:.1f} s")
    # Outside load slows both sides alike but makes the absolute times meaningless: say how much.
    print(
        f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
