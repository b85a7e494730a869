"""LegalBench (Guha et al. 2023): a representative subset, scored by log-likelihood over each
task's label set, with balanced accuracy (LegalBench's own metric for classification tasks).

The subset (``legalbench``), six tasks chosen to cover LegalBench's reasoning types with the
tasks that have a local copy in ``legalbench/TASK/{train,test}.tsv``:

* rule-conclusion: ``hearsay``, ``diversity_1``, ``personal_jurisdiction``, ``abercrombie``
  (five-way; also in HELM's LegalBench subset);
* interpretation: ``proa`` (statutes; HELM subset) and ``cuad_cap_on_liability`` (contracts,
  the CUAD family that is a third of LegalBench's tasks).

Prompts: LegalBench's ``base_prompt.txt`` rule description as the harness ``description``,
its question line as ``doc_to_text``; for ``abercrombie`` and ``proa`` the prompts of the
harness's multiple-choice LegalBench configs. Few-shot: every train example in file order
(LegalBench's protocol: its base prompts are exactly the train rows), ``shots=K`` takes the
first K. Any other LegalBench task: ``legalbench:TASK`` with a generic ``{text}\\nLabel:`` prompt
and the labels seen in its data as choices.

lm-evaluation-harness 0.4.x scores its LegalBench tasks by generation + exact match instead; the
differences are listed in docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bakeoff.core.errors import ConfigError, DataError
from bakeoff.core.types import JSONValue, Sample
from bakeoff.tasks.benchmarks._base import BALANCED_ACC, BenchmarkTask
from bakeoff.tasks.benchmarks._fewshot import Doc, round_robin
from bakeoff.tasks.benchmarks._loading import HubSplit, Row, SplitSource, load_split
from bakeoff.tasks.generic import ACC


@dataclass(frozen=True, slots=True)
class LegalPrompt:
    description: str
    template: str
    """doc_to_text with ``{text}`` for the row's text."""
    choices: tuple[str, ...]


_YES_NO = ("Yes", "No")
PROMPTS: dict[str, LegalPrompt] = {
    "abercrombie": LegalPrompt(
        "A mark is generic if it is the common name for the product. A mark is descriptive if "
        "it describes a purpose, nature, or attribute of the product. A mark is suggestive if it "
        "suggests or implies a quality or characteristic of the product. A mark is arbitrary if "
        "it is a real English word that has no relation to the product. A mark is fanciful if it "
        "is an invented word. Determine the type of each mark (generic, descriptive, suggestive, "
        "arbitrary, fanciful) under the Abercrombie factors.\n\n",
        "Q: {text} What is this type of mark?\nA:",
        ("descriptive", "fanciful", "suggestive", "generic", "arbitrary"),
    ),
    "proa": LegalPrompt(
        "A private right of action is when a regular person, a private citizen, is legally "
        "entitled to enforce their rights under a given statute. Does the clause specify a "
        "private right of action? Answer Yes or No.\n\n",
        "Clause: {text}\nA:",
        _YES_NO,
    ),
    "hearsay": LegalPrompt(
        "Hearsay is an out-of-court statement introduced to prove the truth of the matter "
        "asserted.\n\n",
        "Q: {text} Is there hearsay?\nA:",
        _YES_NO,
    ),
    "diversity_1": LegalPrompt(
        "Diversity jurisdiction exists when there is (1) complete diversity between plaintiffs "
        "and defendants, and (2) the amount-in-controversy (AiC) is greater than $75k.\n\n",
        "Q: {text} Is there diversity jurisdiction?\nA:",
        _YES_NO,
    ),
    "personal_jurisdiction": LegalPrompt(
        "There is personal jurisdiction over a defendant in the state where the defendant is "
        "domiciled, or when (1) the defendant has sufficient contacts with the state, such that "
        "they have availed itself of the privileges of the state and (2) the claim arises out of "
        "the nexus of the defendant's contacts with the state.\n\n",
        "Q: {text} Is there personal jurisdiction?\nA:",
        _YES_NO,
    ),
    "cuad_cap_on_liability": LegalPrompt(
        "Does the clause specify a cap on liability upon the breach of a party\u2019s obligation? "
        "This includes time limitation for the counterparty to bring claims or maximum amount "
        "for recovery.\n\n",
        "Clause: {text}\nLabel:",
        _YES_NO,
    ),
}
SUBSET = tuple(PROMPTS)


def _local_dirs(task: str) -> tuple[str, ...]:
    # The GitHub TSVs name CUAD tasks without the "cuad_" prefix the hub configs use.
    short = task.removeprefix("cuad_")
    return (task,) if short == task else (task, short)


class LegalBench(BenchmarkTask):
    name = "legalbench"
    version = "1"
    description = (
        "LegalBench subset (hearsay, diversity_1, personal_jurisdiction, abercrombie, proa, "
        "cuad_cap_on_liability): balanced accuracy averaged over tasks."
    )
    source = "LegalBench (Guha et al. 2023), nguha/legalbench / HazyResearch/legalbench"
    license = "per task (CC BY 4.0 for most; CUAD tasks CC BY 4.0; see each task's page)"
    reference = "LegalBench base prompts; harness legalbench multiple_choice configs (balanced_acc)"
    hub_path = "nguha/legalbench"
    eval_split = "test"
    fewshot_split = "train"
    sampler = "first_n"
    metrics = (BALANCED_ACC, ACC)
    primary_metric = "balanced_acc"

    def configure(self, arg: str, options: Mapping[str, str]) -> None:
        self.tasks = (arg,) if arg else SUBSET
        if arg:
            self.name = f"legalbench:{arg}"
        self.all_shots = "shots" not in options

    def to_doc(self, row: Row, index: int, split: str) -> Doc:  # pragma: no cover - per task
        raise NotImplementedError

    def task_rows(self, task: str, split: str, *, is_eval: bool) -> list[Row]:
        stems = tuple(f"legalbench/{d}/{split}" for d in _local_dirs(task))
        source = SplitSource(
            f"{self.name} ({task})", stems, HubSplit("nguha/legalbench", task, split)
        )
        return load_split(source, self.data_dir, is_eval=is_eval)

    def task_docs(self, task: str, group: int) -> tuple[list[Doc], list[Doc]]:
        test_rows = self.task_rows(task, "test", is_eval=True)
        train_rows = self.task_rows(task, "train", is_eval=False)
        prompt = PROMPTS.get(task) or _generic_prompt(task, [*train_rows, *test_rows])
        make = _DocMaker(task, prompt, group)
        return make.docs(test_rows, "test"), make.docs(train_rows, "train")

    def _build(self) -> list[Sample]:
        per_task = []
        for group, task in enumerate(self.tasks):
            docs, pool = self.task_docs(task, group)
            k = len(pool) if self.all_shots else self.shots
            per_task.append(self.samples_for(docs, pool, k))
        # Interleaved, so that --limit N (the first N samples) covers every task of the subset.
        return round_robin(per_task)

    def metric_inputs(
        self, pred: int, pred_norm: int, gold: int, sample: Sample
    ) -> dict[str, tuple[float, ...]]:
        group = float(sample.metadata["group"])
        return {"balanced_acc": (float(pred), float(gold), group), "acc": (float(pred == gold),)}

    def prompt_template(self) -> str:
        generic = "{text}\\nLabel:"
        parts = [f"{t}: {PROMPTS[t].template if t in PROMPTS else generic}" for t in self.tasks]
        return " || ".join(parts) + "|' '+label|shots joined by '\\n\\n'"

    def config(self) -> dict[str, JSONValue]:
        out = super().config()
        out["tasks"] = list(self.tasks)
        out["shots"] = "all train examples" if self.all_shots else self.shots
        return out


@dataclass(frozen=True, slots=True)
class _DocMaker:
    task: str
    prompt: LegalPrompt
    group: int

    def docs(self, rows: Sequence[Row], split: str) -> list[Doc]:
        return [self.doc(row, index, split) for index, row in enumerate(rows)]

    def doc(self, row: Row, index: int, split: str) -> Doc:
        label = str(row.get("label", row.get("answer", ""))).strip()
        if label not in self.prompt.choices:
            raise DataError(
                f"legalbench:{self.task}: {split} row {index + 1}: label {label!r} is not one of "
                f"{', '.join(self.prompt.choices)}"
            )
        text = self.prompt.template.format(text=str(row["text"]))
        return Doc(
            f"{self.task}-{split}-{index}",
            text,
            self.prompt.choices,
            self.prompt.choices.index(label),
            self.prompt.description,
            metadata={"task": self.task, "group": self.group},
        )


def _generic_prompt(task: str, rows: Sequence[Row]) -> LegalPrompt:
    labels = sorted({str(r.get("label", r.get("answer", ""))).strip() for r in rows})
    if len(labels) < 2 or any(not label for label in labels):
        raise ConfigError(f"legalbench:{task} is not a classification task bakeoff can score")
    return LegalPrompt("", "{text}\nLabel:", tuple(labels))
