"""MMLU (cais/mmlu), as lm-evaluation-harness's ``mmlu`` default (v1.0), zero- or k-shot.

Per subject: description "The following are multiple choice questions (with answers) about
{subject, underscores as spaces}." and a blank line; prompt ``{question.strip()}``, then one
line per option ``A. {choice}`` … ``D. {choice}``, then ``Answer:``; choices the letters A–D,
``acc``. Few-shot examples: the first k of the subject's dev split (the harness's ``first_n``
sampler). Several subjects pool into one accuracy over all their questions, which equals the
harness's size-weighted group mean.

Select subjects with ``mmlu:SUBJECT`` or ``subject=a+b+c`` (default: all 57).
"""

from __future__ import annotations

from collections.abc import Mapping

from bakeoff.core.errors import ConfigError, DataError
from bakeoff.core.types import Sample
from bakeoff.tasks.benchmarks._base import BenchmarkTask, as_int
from bakeoff.tasks.benchmarks._fewshot import Doc, round_robin
from bakeoff.tasks.benchmarks._loading import HubSplit, Row, SplitSource, load_split
from bakeoff.tasks.generic import ACC

LETTERS = ("A", "B", "C", "D")
SUBJECTS = (
    "abstract_algebra",
    "anatomy",
    "astronomy",
    "business_ethics",
    "clinical_knowledge",
    "college_biology",
    "college_chemistry",
    "college_computer_science",
    "college_mathematics",
    "college_medicine",
    "college_physics",
    "computer_security",
    "conceptual_physics",
    "econometrics",
    "electrical_engineering",
    "elementary_mathematics",
    "formal_logic",
    "global_facts",
    "high_school_biology",
    "high_school_chemistry",
    "high_school_computer_science",
    "high_school_european_history",
    "high_school_geography",
    "high_school_government_and_politics",
    "high_school_macroeconomics",
    "high_school_mathematics",
    "high_school_microeconomics",
    "high_school_physics",
    "high_school_psychology",
    "high_school_statistics",
    "high_school_us_history",
    "high_school_world_history",
    "human_aging",
    "human_sexuality",
    "international_law",
    "jurisprudence",
    "logical_fallacies",
    "machine_learning",
    "management",
    "marketing",
    "medical_genetics",
    "miscellaneous",
    "moral_disputes",
    "moral_scenarios",
    "nutrition",
    "philosophy",
    "prehistory",
    "professional_accounting",
    "professional_law",
    "professional_medicine",
    "professional_psychology",
    "public_relations",
    "security_studies",
    "sociology",
    "us_foreign_policy",
    "virology",
    "world_religions",
)


class Mmlu(BenchmarkTask):
    name = "mmlu"
    version = "1"
    description = "MMLU: 57-subject multiple-choice exam questions (acc)."
    source = "MMLU (Hendrycks et al. 2021), cais/mmlu"
    license = "MIT"
    reference = "lm-eval mmlu (default) v1.0"
    template = (
        "The following are multiple choice questions (with answers) about {subject}.\\n\\n"
        "{question.strip()}\nA. {choices[0]}\nB. {choices[1]}\nC. {choices[2]}\n"
        "D. {choices[3]}\nAnswer:"
    )
    hub_path = "cais/mmlu"
    eval_split = "test"
    fewshot_split = "dev"
    sampler = "first_n"
    metrics = (ACC,)
    primary_metric = "acc"
    extra_options = frozenset({"subject"})

    def configure(self, arg: str, options: Mapping[str, str]) -> None:
        wanted = arg or options.get("subject", "all")
        self.subjects = SUBJECTS if wanted == "all" else tuple(wanted.split("+"))
        unknown = sorted(set(self.subjects) - set(SUBJECTS))
        if unknown:
            raise ConfigError(f"mmlu: unknown subject {', '.join(unknown)} (e.g. {SUBJECTS[0]})")
        if wanted != "all":
            self.name = f"mmlu:{wanted}"

    def subject_docs(self, subject: str, split: str, *, is_eval: bool) -> list[Doc]:
        source = SplitSource(
            f"{self.name} ({subject})",
            (f"mmlu/{split}/{subject}_{split}", f"mmlu/{subject}/{split}"),
            HubSplit("cais/mmlu", subject, split),
        )
        rows = load_split(source, self.data_dir, is_eval=is_eval)
        return [self._doc(row, index, split, subject) for index, row in enumerate(rows)]

    def _doc(self, row: Row, index: int, split: str, subject: str) -> Doc:
        try:
            choices = row["choices"] if "choices" in row else [row[f"choice{i}"] for i in range(4)]
            options = [str(c) for c in choices]
            if len(options) != 4:
                raise ValueError("expected 4 choices")
            body = "".join(
                f"\n{letter}. {option}" for letter, option in zip(LETTERS, options, strict=True)
            )
            text = f"{str(row['question']).strip()}{body}\nAnswer:"
            description = (
                "The following are multiple choice questions (with answers) about "
                f"{subject.replace('_', ' ')}.\n\n"
            )
            gold = as_int(row["answer"])
        except (KeyError, ValueError, TypeError) as exc:
            raise DataError(f"{self.name}: {subject} {split} row {index + 1}: {exc}") from None
        return Doc(
            f"{subject}-{split}-{index}",
            text,
            LETTERS,
            gold,
            description,
            metadata={"subject": subject},
        )

    def to_doc(self, row: Row, index: int, split: str) -> Doc:  # pragma: no cover - per subject
        raise NotImplementedError

    def _build(self) -> list[Sample]:
        per_subject: list[list[Sample]] = []
        for subject in self.subjects:
            docs = self.subject_docs(subject, self.eval_split, is_eval=True)
            pool = (
                self.subject_docs(subject, self.fewshot_split, is_eval=False) if self.shots else []
            )
            per_subject.append(self.samples_for(docs, pool, self.shots))
        # Interleaved, so that --limit N (the first N samples) covers every subject.
        return round_robin(per_subject)
