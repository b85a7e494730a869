"""Tokenizer efficiency: tokens per character and per word, per language of a parallel corpus.

Why it matters: a language that needs twice the tokens for the same content costs twice as much
per API call and fills the context window twice as fast (Petrov et al., "Language Model Tokenizers
Introduce Unfairness Between Languages", NeurIPS 2023, call the ratio to English the tokenization
*premium*).

Design (how it fits the runner): the task ``tokenizer-efficiency`` issues one *rolling
log-likelihood* request per (language, item). Its result carries ``n_tokens`` — the tokens the
model's own tokenizer makes of the text, special tokens excluded (the lm-evaluation-harness
convention every backend here follows) — and the log-likelihood, which gives bits per byte per
language for free: how well the model *models* each language, a figure that tokenization cannot
flatter. With ``method=count`` it issues *tokenize* requests instead: the same counts from the
tokenizer alone, no forward pass (quick tables, or a backend that counts tokens but cannot score
text), without bits per byte. Either way the figures go through the ordinary plan → runner →
store path, resume, and reach the report like any task; the task never holds a backend.
:func:`measure_tokenizer_efficiency` builds the same table from any token counter (a
tokenizer loaded on its own, in tests and notebooks); both feed :func:`efficiency_table`.

Corpora (the ``:PATH`` argument):

* none: XCOPA (11 languages, translations of the same COPA items), read from ``data_dir=`` or
  ``$BAKEOFF_DATA_DIR/xcopa`` (or hub ``cambridgeltl/xcopa``); one item's text is
  ``premise + " " + choice1 + " " + choice2``, aligned across languages by XCOPA's ``idx``.
  English is COPA's own test split, which XCOPA translated item for item (same ``idx``): from
  ``super_glue/copa/test.jsonl`` or ``copa/test.jsonl`` under the data folder, or hub
  ``aps/super_glue`` (config ``copa``). By default English joins when it can be found; asked for
  explicitly (``langs=en+...``) it must be.
* a directory of ``LANG.txt`` files, one sentence per line, line N of every file a translation of
  the same sentence (FLORES-200 ``devtest`` files renamed, for example).

Baseline for the relative figure (``baseline=LANG``): English when the corpus has it. Without
English (XCOPA offline, with no COPA copy) the default is Italian (``it``), the highest-resource
language in XCOPA (a corpus with neither takes its first language alphabetically); the metric
is then named ``tokens_vs_it``, so no table can pass it off as a comparison with English.

Per sample (one language, one item) the task asks for the rolling log-likelihood (or the token
count) of the text and, outside the baseline language, of the baseline's text of the same item,
and stores
``tokens_vs_<baseline>`` = tokens(language, item) / tokens(baseline, item) — the primary metric,
whose per-language means (the report's breakdown by ``language``) are the tokenization premium —
plus tokens per character, tokens per whitespace word and bits per byte. Words are
whitespace-separated; for scripts written without spaces (Chinese, Thai, Japanese) tokens per
word is not reported (``whitespace_words: false`` in the sample metadata).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bakeoff.core.errors import ConfigError, DataError, UnsupportedRequestError
from bakeoff.core.records import ResultRecord, SampleRecord
from bakeoff.core.types import (
    JSONValue,
    Request,
    RequestKind,
    Result,
    RollingLoglikelihoodRequest,
    RollingLoglikelihoodResult,
    Sample,
    TokenizeRequest,
    TokenizeResult,
)
from bakeoff.tasks.base import MetricSpec, SampleScore, Task
from bakeoff.tasks.benchmarks._loading import HubSplit, SplitSource, load_split
from bakeoff.tasks.generic import int_option, reject_unknown_options
from bakeoff.tasks.multilingual import XCOPA_CONNECTORS, interleave, parse_languages

NO_SPACE_LANGUAGES = frozenset({"zh", "th", "ja", "lo", "km", "my", "bo"})
"""ISO 639-1 codes of languages written without spaces between words."""

# Token counts are a cost (price per call, context used), not answer quality: the report must
# not count a tokenizer that needs fewer tokens as a quality win.
TOKENS_PER_CHAR = MetricSpec("tokens_per_char", higher_is_better=False, criterion="cost")
TOKENS_PER_WORD = MetricSpec("tokens_per_word", higher_is_better=False, criterion="cost")
BITS_PER_BYTE = MetricSpec("bits_per_byte", higher_is_better=False, aggregation="bits_per_unit")

METHODS = ("loglikelihood", "count")
"""``method=``: rolling log-likelihoods (counts and bits per byte) or tokenize requests (counts)."""

ParallelCorpus = dict[str, dict[str, str]]
"""language -> item id -> text; the same item id in two languages is the same content."""


def load_xcopa_corpus(
    languages: Sequence[str], data_dir: str | None, split: str = "test"
) -> ParallelCorpus:
    corpus: ParallelCorpus = {}
    for lang in languages:
        source = SplitSource(
            f"tokenizer-efficiency [xcopa {lang}]",
            (f"xcopa/{lang}/{split}.{lang}",),
            HubSplit("cambridgeltl/xcopa", lang, split),
        )
        rows = load_split(source, data_dir)
        try:
            corpus[lang] = {
                str(row.get("idx", i)): f"{row['premise']} {row['choice1']} {row['choice2']}"
                for i, row in enumerate(rows)
            }
        except KeyError as exc:
            raise DataError(f"xcopa [{lang}]: rows lack the field {exc}") from None
    return corpus


def load_copa_english(data_dir: str | None, split: str = "test") -> dict[str, str]:
    """COPA's English items (the source XCOPA translated), keyed by ``idx`` like XCOPA's."""
    source = SplitSource(
        "tokenizer-efficiency [copa en]",
        (f"super_glue/copa/{split}", f"copa/{split}"),
        HubSplit("aps/super_glue", "copa", split),
    )
    rows = load_split(source, data_dir)
    try:
        return {
            str(row.get("idx", i)): f"{row['premise']} {row['choice1']} {row['choice2']}"
            for i, row in enumerate(rows)
        }
    except KeyError as exc:
        raise DataError(f"copa [en]: rows lack the field {exc}") from None


def load_text_corpus(directory: Path) -> ParallelCorpus:
    """``LANG.txt`` files, one sentence per line, aligned by line number."""
    files = sorted(directory.glob("*.txt"))
    if not files:
        raise DataError(f"{directory}: no LANG.txt files (one sentence per line, aligned)")
    corpus: ParallelCorpus = {}
    for file in files:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, OSError) as exc:
            raise DataError(f"cannot read {file} as UTF-8 text: {exc}") from None
        corpus[file.stem] = {str(i + 1): line for i, line in enumerate(lines) if line.strip()}
    lengths = {len(lines) for lines in corpus.values()}
    if len(lengths) > 1:
        counts = ", ".join(f"{lang}={len(items)}" for lang, items in corpus.items())
        raise DataError(f"{directory}: files are not aligned (non-empty lines: {counts})")
    return corpus


def text_units(text: str, language: str) -> tuple[int, int | None, int]:
    """(characters, whitespace words or None for scripts without spaces, UTF-8 bytes)."""
    words = None if language in NO_SPACE_LANGUAGES else len(re.split(r"\s+", text.strip()))
    return len(text), words, len(text.encode("utf-8"))


class TokenizerEfficiency(Task):
    name = "tokenizer-efficiency"
    version = "2"
    kind = RequestKind.LOGLIKELIHOOD_ROLLING
    family = "multilingual"
    metrics: tuple[MetricSpec, ...] = (TOKENS_PER_CHAR, TOKENS_PER_WORD, BITS_PER_BYTE)
    primary_metric = "tokens_per_char"
    description = "Tokens per character/word and bits per byte per language of a parallel corpus."
    source = (
        "XCOPA (cambridgeltl/xcopa, CC BY 4.0) with COPA's English when found (BSD-2-Clause), "
        "or the parallel corpus given"
    )

    def __init__(self, arg: str = "", options: Mapping[str, str] | None = None) -> None:
        options = dict(options or {})
        reject_unknown_options(
            self.name, options, {"langs", "n", "baseline", "data_dir", "name", "method"}
        )
        self.method = options.get("method") or "loglikelihood"
        if self.method not in METHODS:
            raise ConfigError(
                f"{self.name}: method={self.method!r} is not one of {', '.join(METHODS)}"
            )
        if self.method == "count":
            # Per instance, as the request kind the runner sizes chunks by and the report shows.
            vars(self)["kind"] = RequestKind.TOKENIZE
        self.path = arg
        self.data_dir = options.get("data_dir") or None
        self.n = int_option(options, "n", 100, minimum=0)
        corpus = self._corpus(options)
        self.languages = sorted(corpus)
        self.baseline = options.get("baseline") or _default_baseline(self.languages)
        if self.baseline not in corpus:
            raise ConfigError(
                f"baseline language '{self.baseline}' is not in the corpus "
                f"(has: {', '.join(self.languages)})"
            )
        if options.get("name"):
            self.name = options["name"]
        self.relative_metric = f"tokens_vs_{self.baseline}"
        self.metrics = (
            MetricSpec(self.relative_metric, higher_is_better=False, criterion="cost"),
            TOKENS_PER_CHAR,
            TOKENS_PER_WORD,
            # A token count runs no model: there is no likelihood to give bits per byte.
            *((BITS_PER_BYTE,) if self.method == "loglikelihood" else ()),
        )
        self.primary_metric = self.relative_metric
        corpus_name = self.path or "XCOPA (cambridgeltl/xcopa, CC BY 4.0)"
        if not self.path and "en" in corpus:
            corpus_name += " with COPA's English test items (BSD-2-Clause)"
        relative = f"{self.relative_metric} = tokens per item / tokens of the same item in "
        relative += self.baseline
        if self.baseline != "en":
            relative += " (no English in this corpus" + (
                ": COPA's English test split was not found)" if not self.path else ")"
            )
        self.source_line = f"{corpus_name}; {relative}; counts by each model's own tokenizer"
        self._baseline_texts = corpus[self.baseline]
        # Baseline first in every round, so that a --limit keeps it beside the others.
        order = [self.baseline, *(lang for lang in self.languages if lang != self.baseline)]
        self._samples = interleave({lang: self._lang_samples(lang, corpus) for lang in order})

    def manifest(self) -> dict[str, JSONValue]:
        # The source line states this configuration's choices (detector, scorer, baseline...).
        return {**super().manifest(), "source": self.source_line}

    def _corpus(self, options: Mapping[str, str]) -> ParallelCorpus:
        if self.path:
            directory = Path(self.path).expanduser()
            if not directory.is_dir():
                raise DataError(f"parallel corpus not found (need a directory): {directory}")
            corpus = load_text_corpus(directory)
            languages = parse_languages(options, tuple(sorted(corpus)), self.name)
            return {lang: corpus[lang] for lang in languages}
        known = ("en", *XCOPA_CONNECTORS)
        languages = parse_languages(options, known, self.name)
        explicit = bool(options.get("langs", "").strip())
        corpus = load_xcopa_corpus([lang for lang in languages if lang != "en"], self.data_dir)
        if "en" in languages:
            try:
                corpus["en"] = load_copa_english(self.data_dir)
            except DataError:
                if explicit:
                    raise
        return corpus

    def _lang_samples(self, language: str, corpus: ParallelCorpus) -> list[Sample]:
        items = list(corpus[language].items())
        items = items[: self.n] if self.n else items
        samples = []
        for item, text in items:
            chars, words, n_bytes = text_units(text, language)
            metadata: dict[str, JSONValue] = {
                "language": language,
                "item": item,
                "chars": chars,
                "words": words,
                "bytes": n_bytes,
                "whitespace_words": words is not None,
                "baseline": self.baseline,
            }
            if language != self.baseline and item not in self._baseline_texts:
                raise DataError(
                    f"{self.name}: item {item} of '{language}' has no '{self.baseline}' version"
                )
            samples.append(Sample(f"{language}-{item}", text, "", metadata=metadata))
        return samples

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def _request(self, text: str) -> Request:
        if self.method == "count":
            return TokenizeRequest(text)
        return RollingLoglikelihoodRequest(text)

    def requests(self, sample: Sample) -> list[Request]:
        assert isinstance(sample.input, str)
        own = [self._request(sample.input)]
        if sample.metadata["language"] == self.baseline:
            return own
        baseline_text = self._baseline_texts[str(sample.metadata["item"])]
        return [*own, self._request(baseline_text)]

    def score(self, sample: Sample, results: Sequence[Result]) -> SampleScore:
        counted: list[RollingLoglikelihoodResult | TokenizeResult] = []
        for result in results:
            if not isinstance(result, RollingLoglikelihoodResult | TokenizeResult):
                raise TypeError("expected rolling log-likelihood or tokenize results")
            counted.append(result)
        own = counted[0]
        base = counted[1] if len(counted) > 1 else own
        chars = int(sample.metadata["chars"])
        words = sample.metadata.get("words")
        inputs: dict[str, tuple[float, ...]] = {"tokens_per_char": (own.n_tokens / chars,)}
        details: dict[str, JSONValue] = {
            "n_tokens": own.n_tokens,
            "baseline_tokens": base.n_tokens,
        }
        if isinstance(own, RollingLoglikelihoodResult):
            inputs["bits_per_byte"] = (own.logprob, float(sample.metadata["bytes"]))
            details["logprob"] = own.logprob
        if base.n_tokens:
            inputs[self.relative_metric] = (own.n_tokens / base.n_tokens,)
        if words:
            inputs["tokens_per_word"] = (own.n_tokens / int(words),)
        return SampleScore(
            metric_inputs=inputs,
            prediction=f"{own.n_tokens} tokens ({base.n_tokens} in {self.baseline})",
            target="",
            details=details,
        )

    def prompt_template(self) -> str:
        if self.method == "count":
            return "token count of each text and of its baseline version, no special tokens"
        return (
            "rolling log-likelihood of each text and of its baseline version; n_tokens excludes "
            "special tokens"
        )

    def config(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {
            "corpus": self.path or "xcopa",
            "languages": self.languages,
            "n": self.n,
            "baseline": self.baseline,
        }
        if self.method != "loglikelihood":  # only when set: existing runs keep their identity
            out["method"] = self.method
        if self.data_dir:
            out["data_dir"] = self.data_dir
        return out


def _default_baseline(languages: Sequence[str]) -> str:
    """English when present; else Italian (XCOPA's highest-resource language); else the first."""
    return next((lang for lang in ("en", "it") if lang in languages), languages[0])


# -- tables -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenCount:
    language: str
    item: str
    tokens: int
    chars: int
    words: int | None


@dataclass(frozen=True, slots=True)
class LanguageEfficiency:
    """One row of the table. Means are over items; ``relative`` over items shared with the
    baseline: mean of tokens(language, item) / tokens(baseline, item) (1.0 for the baseline)."""

    language: str
    items: int
    tokens: int
    tokens_per_char: float
    tokens_per_word: float | None
    relative: float | None


def efficiency_table(counts: Iterable[TokenCount], baseline: str) -> dict[str, LanguageEfficiency]:
    by_lang: dict[str, dict[str, TokenCount]] = defaultdict(dict)
    for count in counts:
        by_lang[count.language][count.item] = count
    base = by_lang.get(baseline, {})
    table = {}
    for language, items in sorted(by_lang.items()):
        rows = list(items.values())
        per_word = [r.tokens / r.words for r in rows if r.words]
        ratios = [
            r.tokens / base[r.item].tokens for r in rows if r.item in base and base[r.item].tokens
        ]
        table[language] = LanguageEfficiency(
            language=language,
            items=len(rows),
            tokens=sum(r.tokens for r in rows),
            tokens_per_char=float(np.mean([r.tokens / max(r.chars, 1) for r in rows])),
            tokens_per_word=float(np.mean(per_word)) if per_word else None,
            relative=float(np.mean(ratios)) if ratios else None,
        )
    return table


def table_from_records(
    samples: Mapping[str, SampleRecord], results: Sequence[ResultRecord], baseline: str
) -> dict[str, dict[str, LanguageEfficiency]]:
    """model -> language -> row, from a stored ``tokenizer-efficiency`` task."""
    counts: dict[str, list[TokenCount]] = defaultdict(list)
    for record in results:
        sample = samples.get(record.sample_id)
        n_tokens = record.details.get("n_tokens")
        if record.status != "ok" or sample is None or not isinstance(n_tokens, int):
            continue
        meta = sample.metadata
        words = meta.get("words")
        counts[record.model].append(
            TokenCount(
                str(meta["language"]),
                str(meta["item"]),
                n_tokens,
                int(meta["chars"]),
                int(words) if words else None,
            )
        )
    return {model: efficiency_table(rows, baseline) for model, rows in counts.items()}


def measure_tokenizer_efficiency(
    count_tokens: Callable[[str], int | None], corpus: ParallelCorpus, baseline: str
) -> dict[str, LanguageEfficiency]:
    """The same table straight from a token counter (a tokenizer's, no special tokens): no
    run, no store. ``count_tokens`` giving None means the tokenizer cannot count."""
    counts = []
    for language, items in corpus.items():
        for item, text in items.items():
            tokens = count_tokens(text)
            if tokens is None:
                raise UnsupportedRequestError(
                    f"the token counter cannot count tokens (no count for {language} item {item})"
                )
            chars, words, _ = text_units(text, language)
            counts.append(TokenCount(language, item, tokens, chars, words))
    return efficiency_table(counts, baseline)


def format_table(table: Mapping[str, LanguageEfficiency], baseline: str) -> str:
    """A plain-text table (for logs and the docs)."""
    lines = [f"{'lang':<6}{'items':>6}{'tok/char':>10}{'tok/word':>10}{'vs ' + baseline:>9}"]
    for row in table.values():
        per_word = f"{row.tokens_per_word:.2f}" if row.tokens_per_word is not None else "-"
        rel = f"{row.relative:.2f}" if row.relative is not None else "-"
        lines.append(
            f"{row.language:<6}{row.items:>6}{row.tokens_per_char:>10.3f}{per_word:>10}{rel:>9}"
        )
    return "\n".join(lines)
