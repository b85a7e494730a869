"""Multilingual reach: per-language accuracy (XCOPA, XNLI, Belebele) and synthetic script probes.

Every sample carries ``metadata["language"]``, so the report can break any metric down by
language; :func:`language_table` and :func:`languages_served` turn stored records into the
per-language table and the "languages served" count.

* ``xcopa`` — XCOPA (Ponti et al. 2020, CC BY 4.0), 11 languages; prompt and connectors as
  lm-evaluation-harness's ``xcopa_*`` tasks (``lm_eval/tasks/xcopa/utils.py``): the premise with
  its final period dropped, then " because"/" therefore" in the language; choices with their first
  letter lower-cased; ``acc`` over 2 choices. Local ``xcopa/LANG/test.LANG.jsonl`` or hub
  ``cambridgeltl/xcopa``.
* ``xnli`` — XNLI (Conneau et al. 2018), hub ``facebook/xnli``, validation split, the harness's
  ``xnli_*`` prompt: ``"{premise}, {right}?"`` + ``" {Yes|Also|No}, {hypothesis}"`` per language.
* ``belebele`` — Belebele (Bandarkar et al. 2023), hub ``facebook/belebele``, the harness's prompt
  (``P: ... Q: ... A: ... D: ...`` then ``Answer：``, choices A-D).
* ``script-copy`` — SYNTHETIC: copy random letter strings written in one of 12 scripts
  (2-shot, exact match). No external data; every sample's metadata says ``synthetic: true``.

Samples are ordered item-major (item 0 in every language, then item 1, ...), so ``--limit``
keeps every language in the run. Options: ``langs=et+sw+zh`` (``+``-separated; default all),
``n`` (items per language), ``data_dir``.
"""

from __future__ import annotations

import dataclasses
import random
from abc import abstractmethod
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from bakeoff.core.errors import ConfigError, DataError
from bakeoff.core.records import ResultRecord, SampleRecord
from bakeoff.core.types import (
    GenerationSettings,
    JSONValue,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Request,
    RequestKind,
    Result,
    Sample,
)
from bakeoff.scoring.text import first_line
from bakeoff.tasks.base import FloatArray, MetricSpec, SampleScore, Task, register_aggregation
from bakeoff.tasks.benchmarks._loading import HubSplit, Row, SplitSource, load_split
from bakeoff.tasks.generic import (
    ACC,
    ACC_NORM,
    EXACT_MATCH,
    MAX_GENERATED_SAMPLES,
    GenerationTask,
    int_option,
    reject_unknown_options,
)

if TYPE_CHECKING:
    from bakeoff.stats import Interval

XCOPA_CONNECTORS: dict[str, tuple[str, str]] = {
    # (cause, effect), from lm-evaluation-harness lm_eval/tasks/xcopa/utils.py
    "et": ("sest", "seetõttu"),
    "ht": ("poukisa", "donk sa"),
    "id": ("karena", "maka"),
    "it": ("perché", "quindi"),
    "qu": ("imataq", "chaymi"),
    "sw": ("kwa sababu", "kwa hiyo"),
    "ta": ("காரணமாக", "எனவே"),
    "th": ("เพราะ", "ดังนั้น"),
    "tr": ("çünkü", "bu yüzden"),
    "vi": ("bởi vì", "vì vậy"),
    "zh": ("因为", "所以"),
}

XNLI_WORDS: dict[str, tuple[str, str, str, str]] = {
    # (question word, entailment, neutral, contradiction), from lm_eval/tasks/xnli/utils.py
    "ar": ("صحيح", "نعم", "لذا", "رقم"),
    "bg": ("правилно", "да", "така", "не"),
    "de": ("richtig", "Ja", "Auch", "Nein"),
    "el": ("σωστός", "Ναί", "Έτσι", "όχι"),
    "en": ("right", "Yes", "Also", "No"),
    "es": ("correcto", "Sí", "Asi que", "No"),
    "fr": ("correct", "Oui", "Aussi", "Non"),
    "hi": ("सही", "हाँ", "इसलिए", "नहीं"),
    "ru": ("правильно", "Да", "Так", "Нет"),
    "sw": ("sahihi", "Ndiyo", "Hivyo", "Hapana"),
    "th": ("ถูกต้อง", "ใช่", "ดังนั้น", "ไม่"),
    "tr": ("doğru", "Evet", "Böylece", "Hayır"),
    "ur": ("صحیح", "جی ہاں", "اس لئے", "نہیں"),
    "vi": ("đúng", "Vâng", "Vì vậy", "Không"),
    "zh": ("正确", "是的", "所以", "不是的"),
}

BELEBELE_DEFAULT_LANGS = (
    "eng_Latn",
    "deu_Latn",
    "fra_Latn",
    "spa_Latn",
    "ita_Latn",
    "rus_Cyrl",
    "zho_Hans",
    "jpn_Jpan",
    "arb_Arab",
    "hin_Deva",
    "swh_Latn",
    "tur_Latn",
)


DEFAULT_SERVED = 0.6
"""Default accuracy a language must credibly reach to count as served (``served=`` option)."""


def served_count(values: FloatArray) -> float:
    """Columns (correct 0/1, language index, threshold): how many languages are *served*.

    A language is served when the lower end of the 95% Wilson interval of its accuracy reaches
    the threshold, so a handful of lucky answers never counts (the same rule as
    :func:`languages_served`, over the stored per-sample inputs, so the report can bootstrap it).
    """
    if not len(values):
        return float("nan")
    from bakeoff.stats import wilson_interval  # scipy: imported only when aggregating

    threshold = float(values[0, 2])
    served = 0
    for language in np.unique(values[:, 1]):
        hits = values[values[:, 1] == language, 0]
        if wilson_interval(int(np.sum(hits)), len(hits)).low >= threshold:
            served += 1
    return float(served)


register_aggregation("languages_served", served_count)


def served_metric(threshold: float) -> MetricSpec:
    return MetricSpec(f"languages_served_{threshold * 100:g}pct", aggregation="languages_served")


def float_option(options: Mapping[str, str], name: str, default: float) -> float:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"option {name}={raw!r} must be a number") from None
    if not 0.0 < value < 1.0:
        raise ConfigError(f"option {name}={raw} must be an accuracy between 0 and 1, e.g. 0.6")
    return value


def parse_languages(options: Mapping[str, str], known: Sequence[str], task: str) -> list[str]:
    """``langs=a+b+c`` (``+`` because ``,`` separates task options); default: all ``known``."""
    raw = options.get("langs", "").strip()
    if not raw:
        return list(known)
    languages = [part.strip() for part in raw.split("+") if part.strip()]
    unknown = [lang for lang in languages if lang not in known]
    if unknown:
        raise ConfigError(
            f"task '{task}': unknown language {', '.join(unknown)} (known: {', '.join(known)})"
        )
    return languages


def interleave(per_language: Mapping[str, Sequence[Sample]]) -> list[Sample]:
    """Item-major order: a --limit then keeps every language (item 0 of each, item 1, ...)."""
    out: list[Sample] = []
    longest = max((len(s) for s in per_language.values()), default=0)
    for index in range(longest):
        for samples in per_language.values():
            if index < len(samples):
                out.append(samples[index])
    return out


class LanguageChoiceTask(Task):
    """Log-likelihood multiple choice in many languages; subclasses turn rows into samples."""

    kind = RequestKind.LOGLIKELIHOOD
    family = "multilingual"
    metrics: tuple[MetricSpec, ...] = (ACC,)
    primary_metric = "acc"
    languages_known: ClassVar[tuple[str, ...]]
    hub_path: ClassVar[str]
    eval_split: ClassVar[str] = "test"
    reference: ClassVar[str] = ""
    template: ClassVar[str] = ""

    def __init__(self, arg: str = "", options: Mapping[str, str] | None = None) -> None:
        options = dict(options or {})
        reject_unknown_options(self.name, options, {"langs", "n", "data_dir", "name", "served"})
        if arg:
            raise ConfigError(f"task '{self.name}' takes no ':argument' (use langs=...)")
        self.languages = parse_languages(options, self.known_languages(options), self.name)
        self.n = int_option(options, "n", 0, minimum=0)
        self.data_dir = options.get("data_dir") or None
        self.served_threshold = float_option(options, "served", DEFAULT_SERVED)
        self.served = served_metric(self.served_threshold)
        self.metrics = (*type(self).metrics, self.served)
        if options.get("name"):
            self.name = options["name"]
        self.source_line = (
            f"{type(self).source}. {self.served.name}: of the {len(self.languages)} languages "
            f"run, those whose accuracy has a 95% Wilson lower bound of at least "
            f"{self.served_threshold:.0%}"
        )
        self._samples = interleave({lang: self._load(lang) for lang in self.languages})

    def manifest(self) -> dict[str, JSONValue]:
        # The source line states this configuration's choices (detector, scorer, baseline...).
        return {**super().manifest(), "source": self.source_line}

    def known_languages(self, options: Mapping[str, str]) -> tuple[str, ...]:
        return self.languages_known

    def stems(self, language: str) -> tuple[str, ...]:
        return ()

    def _load(self, language: str) -> list[Sample]:
        source = SplitSource(
            f"{self.name} [{language}]",
            self.stems(language),
            HubSplit(self.hub_path, language, self.eval_split),
        )
        rows = load_split(source, self.data_dir)
        rows = rows[: self.n] if self.n else rows
        samples = []
        for index, row in enumerate(rows):
            try:
                samples.append(self.to_sample(row, index, language))
            except (KeyError, ValueError, TypeError, IndexError) as exc:
                raise DataError(
                    f"{self.name} [{language}]: row {index + 1} is not in the expected format "
                    f"({type(exc).__name__}: {exc})"
                ) from None
        if not samples:
            raise DataError(f"{self.name} [{language}]: no rows")
        return samples

    @abstractmethod
    def to_sample(self, row: Row, index: int, language: str) -> Sample:
        """One data row as a sample; KeyError/ValueError become a DataError naming the row."""

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def continuation(self, choice: str) -> str:
        return " " + choice

    def requests(self, sample: Sample) -> list[Request]:
        assert isinstance(sample.input, str)
        return [LoglikelihoodRequest(sample.input, self.continuation(c)) for c in sample.choices]

    def score(self, sample: Sample, results: Sequence[Result]) -> SampleScore:
        logprobs = [_logprob(r) for r in results]
        gold = int(sample.target) if isinstance(sample.target, int | str) else 0
        pred = int(np.argmax(logprobs))
        lengths = [max(len(c), 1) for c in sample.choices]
        pred_norm = int(np.argmax([lp / n for lp, n in zip(logprobs, lengths, strict=True)]))
        inputs: dict[str, tuple[float, ...]] = {"acc": (float(pred == gold),)}
        if any(m.name == "acc_norm" for m in self.metrics):
            inputs["acc_norm"] = (float(pred_norm == gold),)
        language = self.languages.index(str(sample.metadata["language"]))
        inputs[self.served.name] = (float(pred == gold), float(language), self.served_threshold)
        return SampleScore(
            metric_inputs=inputs,
            prediction=sample.choices[pred],
            target=sample.choices[gold],
            correct=pred == gold,
            details={"logprobs": logprobs, "pred": pred, "gold": gold},
        )

    def prompt_template(self) -> str:
        return self.template

    def config(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {
            "languages": self.languages,
            "n": self.n,
            "split": self.eval_split,
            "reference": self.reference,
            "served_threshold": self.served_threshold,
        }
        if self.data_dir:
            out["data_dir"] = self.data_dir
        return out


def _logprob(result: Result) -> float:
    if not isinstance(result, LoglikelihoodResult):
        raise TypeError(f"expected a log-likelihood result, got {type(result).__name__}")
    return result.logprob


class XCopa(LanguageChoiceTask):
    name = "xcopa"
    version = "1"
    description = "XCOPA causal commonsense in 11 languages, per-language accuracy (acc)."
    source = "XCOPA (cambridgeltl/xcopa, CC BY 4.0), translations of COPA's test items"
    reference = "lm-eval xcopa_* v1.0"
    template = "{premise without final period} {because|therefore in the language}| {choice}"
    languages_known = tuple(XCOPA_CONNECTORS)
    hub_path = "cambridgeltl/xcopa"

    def stems(self, language: str) -> tuple[str, ...]:
        return (f"xcopa/{language}/{self.eval_split}.{language}",)

    def to_sample(self, row: Row, index: int, language: str) -> Sample:
        cause, effect = XCOPA_CONNECTORS[language]
        connector = cause if row["question"] == "cause" else effect
        # The harness drops the premise's last character (its period) before the connector.
        context = str(row["premise"]).strip()[:-1] + f" {connector}"
        choices = (_lower_first(str(row["choice1"])), _lower_first(str(row["choice2"])))
        item = row.get("idx", index)
        return Sample(
            f"{language}-{item}",
            context,
            int(row["label"]),
            choices,
            {"language": language, "item": item, "question": row["question"]},
        )


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


class Xnli(LanguageChoiceTask):
    name = "xnli"
    version = "1"
    description = "XNLI natural language inference in 15 languages, per-language accuracy."
    source = "XNLI (facebook/xnli on the Hugging Face hub, CC BY-NC 4.0)"
    reference = "lm-eval xnli_* v1.0"
    template = "{premise}, {right}?| {Yes|Also|No}, {hypothesis}"
    languages_known = tuple(XNLI_WORDS)
    hub_path = "facebook/xnli"
    eval_split = "validation"

    def stems(self, language: str) -> tuple[str, ...]:
        return (f"xnli/{language}/{self.eval_split}",)

    def to_sample(self, row: Row, index: int, language: str) -> Sample:
        question, yes, also, no = XNLI_WORDS[language]
        hypothesis = str(row["hypothesis"])
        choices = tuple(f"{word}, {hypothesis}" for word in (yes, also, no))
        return Sample(
            f"{language}-{index}",
            f"{row['premise']}, {question}?",
            int(row["label"]),
            choices,
            {"language": language, "item": index},
        )


class Belebele(LanguageChoiceTask):
    name = "belebele"
    version = "1"
    description = "Belebele reading comprehension (FLORES passages), per-language accuracy."
    source = "Belebele (facebook/belebele on the Hugging Face hub, CC BY-SA 4.0)"
    reference = "lm-eval belebele_* v0.0"
    template = "P: {passage}\\nQ: {question}\\nA: ..\\nB: ..\\nC: ..\\nD: ..\\nAnswer：| {A-D}"
    metrics = (ACC, ACC_NORM)
    hub_path = "facebook/belebele"
    languages_known = BELEBELE_DEFAULT_LANGS

    def known_languages(self, options: Mapping[str, str]) -> tuple[str, ...]:
        # Belebele has 122 language variants: any hub config name (e.g. zul_Latn) is accepted.
        requested = tuple(p.strip() for p in options.get("langs", "").split("+") if p.strip())
        return requested or self.languages_known

    def stems(self, language: str) -> tuple[str, ...]:
        return (f"belebele/{language}",)

    def to_sample(self, row: Row, index: int, language: str) -> Sample:
        answers = [str(row[f"mc_answer{i}"]) for i in range(1, 5)]
        text = (
            f"P: {row['flores_passage']}\nQ: {str(row['question']).strip()}\n"
            + "".join(f"{letter}: {a}\n" for letter, a in zip("ABCD", answers, strict=True))
            + "Answer："
        )
        gold = ["1", "2", "3", "4"].index(str(row["correct_answer_num"]))
        return Sample(
            f"{language}-{index}",
            text,
            gold,
            ("A", "B", "C", "D"),
            {"language": language, "item": index},
        )


# -- synthetic probe --------------------------------------------------------------------------

SCRIPTS: dict[str, str] = {
    # Letters drawn for each script (a plain, unaccented subset of each Unicode block).
    "Latin": "abcdefghijklmnopqrstuvwxyz",
    "Cyrillic": "абвгдежзийклмнопрстуфхцчшщыэюя",
    "Greek": "αβγδεζηθικλμνξοπρστυφχψω",
    "Arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "Hebrew": "אבגדהוזחטיכלמנסעפצקרשת",
    "Devanagari": "कखगघङचछजझञटठडढणतथदधनपफबभमयरलवशषसह",
    "Tamil": "கஙசஞடணதநபமயரலவழளறன",
    "Thai": "กขคฆงจฉชซฌญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรลวศษสหฬอฮ",
    "Georgian": "აბგდევზთიკლმნოპჟრსტუფქღყშჩცძწჭხჯჰ",
    "Hangul": "가나다라마바사아자차카타파하고노도로모보소오조초코토포호",
    "Han": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去",
    "Kana": "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめも",
}


class ScriptCopyProbe(GenerationTask):
    """SYNTHETIC: copy random letter groups written in one script (2-shot, exact match)."""

    name = "script-copy"
    version = "1"
    family = "multilingual"
    description = "SYNTHETIC probe: copy random strings in 12 writing systems (exact match)."
    source = (
        "SYNTHETIC: random letter groups generated by bakeoff (seeded; no external data, no "
        "translations, no real words); tests handling of each script, not language knowledge"
    )
    settings = GenerationSettings(max_tokens=48, stop=("\n",))
    # Copying random letters tests script handling, not language knowledge: shown in the
    # guide, never counted as quality evidence in the recommendation.
    metrics = (dataclasses.replace(EXACT_MATCH, criterion="none"),)

    def __init__(self, arg: str = "", options: Mapping[str, str] | None = None) -> None:
        options = dict(options or {})
        reject_unknown_options(self.name, options, {"n", "seed", "langs"})
        self.scripts = parse_languages(options, tuple(SCRIPTS), self.name)
        self.n = int_option(options, "n", 10, minimum=1, maximum=MAX_GENERATED_SAMPLES)
        self.seed = int_option(options, "seed", 0)
        rng = random.Random(f"bakeoff:{self.name}:{self.seed}")
        per_script: dict[str, list[Sample]] = {}
        self._shots: dict[str, str] = {}
        for script in self.scripts:
            shots = [_groups(rng, SCRIPTS[script], 3) for _ in range(2)]
            self._shots[script] = "".join(f"Text: {s}\nCopy: {s}\n\n" for s in shots)
            per_script[script] = [
                Sample(
                    f"{script.lower()}-{i:03d}",
                    text,
                    text,
                    metadata={"language": script, "script": script, "synthetic": True},
                )
                for i, text in enumerate(
                    _groups(rng, SCRIPTS[script], rng.randint(2, 4)) for _ in range(self.n)
                )
            ]
        self._samples = interleave(per_script)

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def prompt(self, sample: Sample) -> str:
        assert isinstance(sample.input, str)
        return f"{self._shots[str(sample.metadata['script'])]}Text: {sample.input}\nCopy:"

    def extract(self, text: str) -> str:
        return first_line(text)

    def prompt_template(self) -> str:
        return "2-shot 'Text: {letters}\\nCopy: {letters}' per script"

    def config(self) -> dict[str, JSONValue]:
        return {"scripts": self.scripts, "n": self.n, "seed": self.seed, "synthetic": True}


def _groups(rng: random.Random, letters: str, groups: int) -> str:
    return " ".join("".join(rng.choice(letters) for _ in range(3)) for _ in range(groups))


# -- tables from stored records ---------------------------------------------------------------


def language_table(
    samples: Mapping[str, SampleRecord],
    results: Sequence[ResultRecord],
    metric: str = "acc",
) -> dict[str, dict[str, Interval]]:
    """model -> language -> Wilson interval of ``metric`` (a 0/1 metric), from stored records."""
    # Imported here: bakeoff.stats loads scipy, and the catalog imports this module.
    from bakeoff.stats import metric_interval

    values: dict[str, dict[str, list[tuple[float, ...]]]] = defaultdict(lambda: defaultdict(list))
    for record in results:
        sample = samples.get(record.sample_id)
        if record.status != "ok" or sample is None or metric not in record.metrics:
            continue
        language = sample.metadata.get("language")
        if language is not None:
            values[record.model][str(language)].append(tuple(record.metrics[metric]))
    return {
        model: {
            lang: metric_interval(np.asarray(rows, dtype=np.float64), _mean_column, True, True)
            for lang, rows in sorted(per_lang.items())
        }
        for model, per_lang in values.items()
    }


def _mean_column(values: np.ndarray) -> float:
    return float(np.mean(values[:, 0])) if len(values) else float("nan")


def languages_served(per_language: Mapping[str, Interval], threshold: float) -> list[str]:
    """Languages whose accuracy is credibly at least ``threshold``: the *lower* bound of the 95%
    interval must reach it, so a handful of lucky answers never counts as serving a language."""
    if not 0.0 < threshold < 1.0:
        raise ConfigError(f"accuracy threshold must be between 0 and 1, got {threshold}")
    return sorted(lang for lang, iv in per_language.items() if iv.low >= threshold)
