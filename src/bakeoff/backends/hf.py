"""Hugging Face transformers backend: ``hf:PATH_OR_ID[,gguf_file=NAME,dtype=...,device=...]``.

Scores exactly like lm-evaluation-harness's ``HFLM`` (same pair encoding, same left truncation,
log-softmax over the continuation positions, ``is_greedy`` by argmax) but never recomputes a
context shared by several continuations: a question's context and all its choices go in one
packed row (a tree-shaped attention mask), or, for models that take no custom mask, contexts
run once and every continuation runs on a copy of the context's KV cache. A prefix that every
document of a call shares (few-shot examples) runs once and its keys and values are reused,
also by later calls. Rows are batched to waste least on padding (_hf_batching.py). Only the
logits that predict continuation tokens are computed, which matters for 262k-vocabulary models
such as Gemma, whose output layer costs more than the rest of the network.

Options: ``gguf_file`` (a GGUF file inside the directory; transformers dequantizes it),
``dtype`` (float32 default, bfloat16, float16), ``device`` (auto, cpu, cuda, cuda:N),
``batch_size`` (auto or the number of contexts per forward pass), ``max_length`` (override the
context window), ``threads`` (torch's CPU threads for the whole process; default torch's own:
on a machine shared with other work, fewer threads than cores can be much faster).
Targets: a model directory, a GGUF file path, a hub id, or a bundled alias
(``gemma3-270m``, ``smollm2-135m``, ... as for ``llamacpp``).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import importlib
import inspect
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from bakeoff.backends import models
from bakeoff.backends._hf_batching import plan_batches, shared_prefix
from bakeoff.backends.base import Backend, GenerationOutcome, LoglikelihoodOutcome, RollingOutcome
from bakeoff.core.chat import ChatLoglikelihoodRequest, transcript
from bakeoff.core.errors import (
    BackendError,
    ConfigError,
    MissingDependencyError,
    ModelNotFoundError,
)
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.types import (
    ChatMessage,
    GenerateRequest,
    GenerationResult,
    JSONValue,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RequestFailure,
    RequestKind,
    RollingLoglikelihoodRequest,
    RollingLoglikelihoodResult,
    Usage,
)

Tokens = list[int]
TokenPair = tuple[Tokens, Tokens]
"""(context tokens, continuation tokens), as lm-evaluation-harness's ``_encode_pair`` makes them."""

_DTYPES = ("float32", "bfloat16", "float16")
_OPTIONS = {"gguf_file", "dtype", "device", "batch_size", "max_length", "threads"}
_DEFAULT_MAX_LENGTH = 2048  # the harness's fallback when neither config nor tokenizer says
_TOKENIZER_UNSET = 1000000000000000019884624838656  # transformers' "no model_max_length"


@dataclass(frozen=True, slots=True)
class HFOptions:
    """Parsed ``hf:`` spec: where the weights are and how to run them."""

    pretrained: str
    gguf_file: str | None
    dtype: str
    device: str
    batch_size: int | None  # None = auto
    max_length: int | None
    threads: int | None = None  # None = torch's default


@dataclass(slots=True)
class SharedPrefix:
    """Context tokens that start every row of a call, run once: their keys and values (a cache
    every batch copies), and the seconds that took, charged to the first batch that uses it."""

    tokens: tuple[int, ...]
    cache: Any
    unpaid_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class PairScore:
    logprob: float
    is_greedy: bool
    seconds: float
    cached_tokens: int


def _torch() -> ModuleType:
    try:
        return importlib.import_module("torch")
    except ImportError:
        raise MissingDependencyError("torch", "hf", "the hf backend") from None


def _transformers() -> ModuleType:
    try:
        return importlib.import_module("transformers")
    except ImportError:
        raise MissingDependencyError("transformers", "hf", "the hf backend") from None


def parse_options(spec: ModelSpec) -> HFOptions:
    unknown = sorted(set(spec.options) - _OPTIONS)
    if unknown:
        allowed = ", ".join(sorted(_OPTIONS))
        raise ConfigError(f"hf backend has no option {', '.join(unknown)} (allowed: {allowed})")
    dtype = spec.options.get("dtype", "float32")
    if dtype not in _DTYPES:
        raise ConfigError(f"hf option dtype={dtype!r}: use one of {', '.join(_DTYPES)}")
    device = spec.options.get("device", "auto")
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise ConfigError(f"hf option device={device!r}: use auto, cpu, cuda or cuda:N")
    pretrained, gguf_file = resolve_target(spec.target, spec.options.get("gguf_file"))
    return HFOptions(
        pretrained=pretrained,
        gguf_file=gguf_file,
        dtype=dtype,
        device=device,
        batch_size=_positive_or_auto(spec.options.get("batch_size", "auto"), "batch_size"),
        max_length=_positive_or_auto(spec.options.get("max_length", "auto"), "max_length"),
        threads=_positive_or_auto(spec.options.get("threads", "auto"), "threads"),
    )


def _positive_or_auto(raw: str, name: str) -> int | None:
    if raw == "auto":
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"hf option {name}={raw!r}: use auto or a positive integer")
    return int(raw)


def resolve_target(target: str, gguf_file: str | None) -> tuple[str, str | None]:
    """(directory or hub id, GGUF file name in it) for a target and an optional ``gguf_file``."""
    if target in models.list_aliases():  # the bundled GGUF files, shared with llama.cpp
        path = models.resolve_model_path(target)
        return str(path.parent), path.name
    path = Path(target).expanduser()
    if path.is_file():
        if gguf_file is not None:
            raise ConfigError(f"hf target {target} is a file: drop gguf_file or give its folder")
        if path.suffix.lower() != ".gguf":
            raise ConfigError(f"hf target {target} is a file but not .gguf: give a model folder")
        return str(path.resolve().parent), path.name
    if path.is_dir():
        if gguf_file is not None and not (path / gguf_file).is_file():
            raise ModelNotFoundError(f"GGUF file {gguf_file} not found in {path}")
        return str(path.resolve()), gguf_file
    if target.startswith((".", "/", "~")) or target.lower().endswith(".gguf"):
        raise ModelNotFoundError(f"model not found: {target}")
    return target, gguf_file  # a hub id; loading it needs the network or the hub cache


def rolling_windows(tokens: Tokens, prefix_token: int, max_length: int) -> list[TokenPair]:
    """lm-evaluation-harness's disjoint rolling windows (``context_len=1``) over ``tokens``.

    The first window predicts every token from the prefix token on; each later one predicts the
    next ``max_length`` tokens with as much preceding text as context as fits.
    """
    if not tokens:
        return []
    first = min(max_length, len(tokens))
    windows: list[TokenPair] = [([prefix_token], tokens[:first])]
    predicted = first
    while predicted < len(tokens):
        size = min(len(tokens) - predicted, max_length)
        end = predicted + size
        window = tokens[max(end - max_length - 1, 0) : end - 1]
        windows.append((window[: len(window) - (size - 1)], tokens[end - size : end]))
        predicted += size
    return windows


class HFBackend(Backend):
    name = "hf"
    supports = frozenset(RequestKind)

    def chunk_samples(self, kind: RequestKind) -> int:
        # Log-likelihoods are batched across a call's samples (MedQA, 80 questions: chunks of 8
        # pad ~9% more than chunks of 32); generation runs one request at a time.
        return 8 if kind is RequestKind.GENERATE else 32

    @classmethod
    def preflight(cls, spec: ModelSpec) -> None:
        parse_options(spec)
        _torch()
        _transformers()

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.options = parse_options(spec)
        self.torch = _torch()
        if self.options.threads is not None:
            self.torch.set_num_threads(self.options.threads)
        transformers = _transformers()
        self.device = self._pick_device()
        kwargs: dict[str, Any] = {"dtype": getattr(self.torch, self.options.dtype)}
        if self.options.gguf_file:
            kwargs["gguf_file"] = self.options.gguf_file
        # Progress bars of GGUF dequantization would garble bakeoff's own progress display.
        transformers.utils.logging.disable_progress_bar()
        started = time.perf_counter()
        try:
            tokenizer_kwargs = {k: v for k, v in kwargs.items() if k == "gguf_file"}
            with _without_progress_bars():
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                    self.options.pretrained, **tokenizer_kwargs
                )
                self.model = transformers.AutoModelForCausalLM.from_pretrained(
                    self.options.pretrained, **kwargs
                )
        except (OSError, ValueError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise ModelNotFoundError(
                f"cannot load {spec.target} with transformers: {first_line}"
            ) from None
        self.load_seconds = time.perf_counter() - started
        self.model.to(self.device).eval()
        self.config = self.model.config
        # transformers 5.2x renamed ``past_key_values`` to ``cache``; older ones lack the new name.
        parameters = inspect.signature(self.model.forward).parameters
        self.cache_kwarg = "cache" if "cache" in parameters else "past_key_values"
        self.can_trim_logits = "logits_to_keep" in parameters
        self.max_length = self.options.max_length or self._config_max_length()
        self.prefix_token_id = self._prefix_token_id()
        self._prefix: SharedPrefix | None = None  # kept across calls: the runner sends chunks

    # -- setup ---------------------------------------------------------------------------------

    def _pick_device(self) -> str:
        wanted = self.options.device
        has_cuda = bool(self.torch.cuda.is_available())
        if wanted == "auto":
            return "cuda" if has_cuda else "cpu"
        if wanted.startswith("cuda") and not has_cuda:
            raise ConfigError(f"hf option device={wanted}: no CUDA device is available")
        return wanted

    def _config_max_length(self) -> int:
        # Same precedence as the harness's resolve_max_length: config attributes, then tokenizer.
        config = getattr(self.config, "text_config", None) or self.config
        for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
            value = getattr(config, attr, None)
            if isinstance(value, int) and value > 0:
                return value
        value = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(value, int) and 0 < value != _TOKENIZER_UNSET:
            return value
        return _DEFAULT_MAX_LENGTH

    def _prefix_token_id(self) -> int:
        # The harness conditions empty contexts and the first rolling window on BOS, else EOS.
        for token_id in (self.tokenizer.bos_token_id, self.tokenizer.eos_token_id):
            if token_id is not None:
                return int(token_id)
        raise BackendError(f"{self.spec.target}: tokenizer has neither a BOS nor an EOS token")

    def info(self) -> ModelInfo:
        config = getattr(self.config, "text_config", None) or self.config
        heads = _int_attr(config, "num_attention_heads")
        hidden = _int_attr(config, "hidden_size")
        head_dim = _int_attr(config, "head_dim") or (hidden // heads if hidden and heads else None)
        weights = self._weights_path()
        parameters = int(self.model.num_parameters())
        return ModelInfo(
            name=self.spec.label,
            backend=self.name,
            source=str(weights) if weights else self.options.pretrained,
            sha256=_sha256(weights) if weights else None,
            file_bytes=weights.stat().st_size if weights else None,
            quantization=self.options.dtype
            + (" (dequantized from GGUF)" if self.options.gguf_file else ""),
            architecture=str(getattr(config, "model_type", "")) or None,
            parameters=parameters,
            active_parameters=active_parameters(config, parameters),
            n_layers=_int_attr(config, "num_hidden_layers"),
            n_heads=heads,
            n_kv_heads=_int_attr(config, "num_key_value_heads") or heads,
            embedding_length=hidden,
            head_dim=head_dim,
            context_length=self.max_length,
            vocab_size=_int_attr(config, "vocab_size"),
            expert_count=_int_attr(config, "num_local_experts", "num_experts", "n_routed_experts"),
            expert_used_count=_int_attr(config, "num_experts_per_tok", "moe_topk"),
            has_chat_template=self.has_chat_template,
            license=gguf_license(weights) if weights else readme_license(self.options.pretrained),
            extra=self._info_extra(config),
        )

    def _info_extra(self, config: Any) -> dict[str, JSONValue]:
        extra: dict[str, JSONValue] = {
            "device": self.device,
            "load_seconds": round(self.load_seconds, 2),
        }
        # The guide's KV-cache estimate needs the window of sliding-window layers (Gemma 2/3).
        window = _int_attr(config, "sliding_window")
        if window:
            extra["sliding_window"] = window
        return extra

    def _weights_path(self) -> Path | None:
        if self.options.gguf_file:
            return Path(self.options.pretrained) / self.options.gguf_file
        return None

    def count_tokens(self, text: str) -> int | None:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def close(self) -> None:
        del self.model
        if self.device.startswith("cuda"):
            self.torch.cuda.empty_cache()

    # -- tokenization (the harness's HFLM.tok_encode / _encode_pair) ---------------------------

    def tok_encode(self, text: str) -> Tokens:
        """Tokenizer defaults (BOS for Gemma, none for SmolLM2) unless the text starts with BOS."""
        bos = self.tokenizer.decode(self.prefix_token_id)
        if bos and text.startswith(bos):
            return list(self.tokenizer.encode(text, add_special_tokens=False))
        return list(self.tokenizer.encode(text))

    def context_text(self, request: LoglikelihoodRequest) -> str:
        """The text a request is scored after: a chat request's messages rendered with the chat
        template and a generation prompt (the harness's ``apply_chat_template``), else its
        plain context."""
        if isinstance(request, ChatLoglikelihoodRequest) and request.messages:
            return self.render(request.messages)
        return request.context

    def encode_pair(self, context: str, continuation: str) -> TokenPair:
        if not context:
            cont = list(self.tokenizer.encode(continuation, add_special_tokens=False))
            if cont and cont[0] == self.prefix_token_id:
                return cont[:1], cont[1:]
            return [self.prefix_token_id], cont
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:  # trailing spaces belong to the continuation, as in the harness
            context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
        whole = self.tok_encode(context + continuation)
        context_tokens = self.tok_encode(context)
        return context_tokens, whole[len(context_tokens) :]

    # -- log-likelihood ------------------------------------------------------------------------

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodOutcome]:
        pairs = [self.encode_pair(self.context_text(r), r.continuation) for r in requests]
        scored = self.score_pairs(pairs)
        out: list[LoglikelihoodOutcome] = []
        for (context, continuation), score in zip(pairs, scored, strict=True):
            if isinstance(score, RequestFailure):
                out.append(score)
                continue
            usage = Usage(
                prompt_tokens=len(context) + len(continuation),
                prompt_seconds=score.seconds,
                cached_prompt_tokens=score.cached_tokens,
            )
            out.append(
                LoglikelihoodResult(score.logprob, score.is_greedy, len(continuation), usage)
            )
        return out

    def loglikelihood_rolling(
        self, requests: Sequence[RollingLoglikelihoodRequest]
    ) -> list[RollingOutcome]:
        windows: list[TokenPair] = []
        owners: list[int] = []
        counts: list[int] = []
        for index, request in enumerate(requests):
            tokens = list(self.tokenizer.encode(request.text, add_special_tokens=False))
            counts.append(len(tokens))
            for window in rolling_windows(tokens, self.prefix_token_id, self.max_length):
                windows.append(window)
                owners.append(index)
        scored = self.score_pairs(windows)
        totals = [0.0] * len(requests)
        seconds = [0.0] * len(requests)
        failures: dict[int, RequestFailure] = {}
        for owner, score in zip(owners, scored, strict=True):
            if isinstance(score, RequestFailure):
                failures[owner] = score
            else:
                totals[owner] += score.logprob
                seconds[owner] += score.seconds
        out: list[RollingOutcome] = []
        for index, n_tokens in enumerate(counts):
            if index in failures:
                out.append(failures[index])
                continue
            usage = Usage(prompt_tokens=n_tokens, prompt_seconds=seconds[index])
            out.append(RollingLoglikelihoodResult(totals[index], n_tokens, usage))
        return out

    def score_pairs(self, pairs: Sequence[TokenPair]) -> list[PairScore | RequestFailure]:
        """Score (context, continuation) token pairs; pairs with equal contexts share one pass."""
        truncated = [self._truncate(context, cont) for context, cont in pairs]
        groups: dict[tuple[int, ...], list[int]] = {}
        results: list[PairScore | RequestFailure | None] = [None] * len(pairs)
        for index, (context, continuation) in enumerate(truncated):
            if continuation:
                groups.setdefault(tuple(context), []).append(index)
            else:  # nothing to score; the harness asserts on it
                results[index] = RequestFailure("the continuation encodes to no tokens")
        packed = self.packing is not None
        prefix = self._shared_prefix(list(groups)) if packed or self.plain_attention else None
        skip = len(prefix.tokens) if prefix is not None else 0
        size = _packed_length(truncated, skip) if packed else _context_length(skip)
        ordered = sorted(groups.items(), key=lambda item: -size(item))
        for batch in self._batches(ordered, size, extra_width=skip):
            scores: dict[int, PairScore | RequestFailure]
            try:
                if packed:
                    scores = dict(self._score_packed(batch, truncated, prefix))
                else:
                    scores = dict(self._score_batch(batch, truncated, prefix))
            except RuntimeError as exc:  # out of memory, mostly: fail these, keep the run going
                reason = f"transformers forward failed: {str(exc).splitlines()[0][:200]}"
                scores = {i: RequestFailure(reason) for _, members in batch for i in members}
            for index, score in scores.items():
                results[index] = score
        return [r if r is not None else RequestFailure("not scored") for r in results]

    def _truncate(self, context: Tokens, continuation: Tokens) -> TokenPair:
        # The harness feeds (context + continuation)[-(max_length + 1):][:-1]: same tokens here.
        whole = context + continuation
        if len(whole) <= self.max_length + 1:
            return context, continuation
        kept = whole[-(self.max_length + 1) :]
        continuation = continuation[-self.max_length :]
        return kept[: len(kept) - len(continuation)], continuation

    def _batches(
        self, groups: list[Group], size: Callable[[Group], int], extra_width: int = 0
    ) -> Iterator[list[Group]]:
        """Groups (longest first, by ``size``: the row each becomes) in the batches that waste
        least on padding and pass overheads while fitting the memory budget (plan_batches)."""
        sizes = [size(group) for group in groups]
        budget, most = self._token_budget(), self.options.batch_size
        for rows in plan_batches(sizes, budget=budget, max_rows=most, extra_width=extra_width):
            yield [groups[i] for i in rows]

    def _token_budget(self) -> int:
        """Tokens per forward pass: what a quarter of free memory holds (auto), else large."""
        if self.options.batch_size is not None:
            return 1 << 40
        config = getattr(self.config, "text_config", None) or self.config
        hidden = _int_attr(config, "hidden_size") or 4096
        layers = _int_attr(config, "num_hidden_layers") or 32
        inter = _int_attr(config, "intermediate_size") or 4 * hidden
        # Activations live one layer at a time; the KV cache of every layer stays.
        per_token = 4 * (8 * hidden + 2 * inter + 2 * layers * hidden)
        free = self._free_memory()
        return max(512, min(16384, int(free * 0.25 / per_token)))

    def _free_memory(self) -> int:
        if self.device.startswith("cuda"):
            free, _ = self.torch.cuda.mem_get_info(self.torch.device(self.device))
            return int(free)
        try:
            return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            return 2 << 30

    # -- packed scoring: one forward pass per batch, no KV cache ------------------------------

    @functools.cached_property
    def packing(self) -> str | None:
        """How this model takes a custom attention mask: "tensor" (one 4D mask for every layer),
        "dict" (one per layer type: full and sliding-window attention, as Gemma 2/3), or None
        (no custom mask: contexts then run once and continuations on copies of the KV cache)."""
        config = getattr(self.config, "text_config", None) or self.config
        if getattr(self.config, "_attn_implementation", None) not in ("sdpa", "eager"):
            return None
        if getattr(config, "use_bidirectional_attention", False):
            return None
        types = set(getattr(config, "layer_types", None) or ["full_attention"])
        if types == {"full_attention"}:
            return "tensor"
        decoder = getattr(self.model, "model", None)
        try:
            source = inspect.getsource(type(decoder).forward) if decoder is not None else ""
        except (OSError, TypeError):
            source = ""
        window = _int_attr(config, "sliding_window")
        if types <= {"full_attention", "sliding_attention"} and window and "dict)" in source:
            return "dict"
        return None

    @functools.cached_property
    def plain_attention(self) -> bool:
        """Whether every layer attends to every earlier position (no sliding window, no
        recurrent state). Only then can the KV-cache path put a shared prefix before
        left-padded rows: a sliding window counts cache slots, padding included, and a
        recurrent state would run through the padding."""
        config = getattr(self.config, "text_config", None) or self.config
        types = set(getattr(config, "layer_types", None) or ["full_attention"])
        return types == {"full_attention"} and not getattr(config, "sliding_window", None)

    def _shared_prefix(self, keys: list[tuple[int, ...]]) -> SharedPrefix | None:
        """The prefix these contexts share, run once (or kept from an earlier call), if sharing
        it saves work (see shared_prefix); None otherwise or if running it fails."""
        kept = self._prefix
        chosen = shared_prefix(keys, kept.tokens if kept is not None else None)
        if chosen is None or (kept is not None and chosen == kept.tokens):
            return None if chosen is None else kept
        torch = self.torch
        started = time.perf_counter()
        positions = torch.arange(len(chosen), device=self.device)[None, :]
        inputs: dict[str, Any] = {
            "input_ids": torch.tensor([chosen], device=self.device),
            "position_ids": positions,
            "use_cache": True,
            **({"logits_to_keep": 1} if self.can_trim_logits else {}),
        }
        if self.packing is not None:
            # Packed rows bring their own masks, sliding windows included: a cache that keeps
            # every position of every layer. Otherwise the model makes the cache it needs.
            inputs[self.cache_kwarg] = _transformers().DynamicCache()
            inputs["attention_mask"] = self._tree_masks(torch.zeros_like(positions), positions)
        try:
            with torch.inference_mode():
                output = self.model(**inputs)
        except RuntimeError:  # out of memory, mostly: score without sharing
            return None
        given = self.cache_kwarg in inputs
        cache = inputs[self.cache_kwarg] if given else _output_cache(output, self.cache_kwarg)
        self._prefix = SharedPrefix(chosen, cache, time.perf_counter() - started)
        return self._prefix

    def _score_packed(
        self, batch: list[Group], pairs: Sequence[TokenPair], prefix: SharedPrefix | None = None
    ) -> dict[int, PairScore]:
        """Each group as one row: its context, then every continuation but its last token, each
        continuation attending to the context and to itself only (a tree-shaped attention mask,
        positions continuing from the context). One forward pass scores the whole batch; the
        logits are computed only where they predict continuation tokens. With a ``prefix``, rows
        start after it and attend to a copy of its keys and values."""
        torch = self.torch
        started = time.perf_counter()
        skip = len(prefix.tokens) if prefix is not None else 0
        rows: list[tuple[Tokens, list[int], list[int], list[tuple[int, int]]]] = []
        for key, members in batch:
            tokens, positions = list(key[skip:]), list(range(skip, len(key)))
            segments = [0] * len(tokens)
            branches: list[tuple[int, int]] = []  # (request index, start of its tokens)
            for number, i in enumerate(members, start=1):
                tail = pairs[i][1][:-1]
                branches.append((i, len(tokens)))
                tokens += tail
                positions += range(len(key), len(key) + len(tail))
                segments += [number] * len(tail)
            rows.append((tokens, positions, segments, branches))
        width = max(len(r[0]) for r in rows)
        # Each row's own context tokens: row positions before them belong to the prefix.
        own = [len(key) - skip for key, _ in batch]
        keep = max(len(r[0]) - n + 1 for r, n in zip(rows, own, strict=True))
        pad = self.prefix_token_id

        def padded(values: list[int], fill: int, row: Tokens) -> list[int]:
            return [fill] * (width - len(row)) + values

        ids = torch.tensor([padded(r[0], pad, r[0]) for r in rows], device=self.device)
        position_ids = torch.tensor([padded(r[1], 0, r[0]) for r in rows], device=self.device)
        segments = torch.tensor([padded(r[2], -1, r[0]) for r in rows], device=self.device)
        # The positions that predict continuation tokens: in the last ``keep`` positions (the
        # window the model slices), row r's span is its last context token onwards.
        spans: list[tuple[int, int]] = []  # (start in the gathered rows, count) per batch row
        at_row: list[int] = []
        at_col: list[int] = []
        for r, ((tokens, _, _, _), n) in enumerate(zip(rows, own, strict=True)):
            first = keep - len(tokens) + n - 1
            spans.append((len(at_row), keep - first))
            at_row += [r] * (keep - first)
            at_col += range(first, keep)
        with torch.inference_mode():
            masks = self._tree_masks(segments, position_ids, skip)
            index = (
                torch.tensor(at_row, device=self.device),
                torch.tensor(at_col, device=self.device),
            )
            past: dict[str, Any] = {"use_cache": False}
            if prefix is not None:
                past = {"use_cache": True, self.cache_kwarg: self._prefix_rows(prefix, len(rows))}
            with _output_head_on(self.model, index) as gathered:
                output = self.model(
                    input_ids=ids,
                    attention_mask=masks,
                    position_ids=position_ids,
                    logits_to_keep=keep,
                    **past,
                )
            logits = output.logits
            if gathered and tuple(logits.shape[:2]) == (1, len(at_row)):
                logits = logits[0]
            else:  # the model did not call its output layer as a module: take the rows here
                logits = logits[index]
            scored: dict[int, tuple[float, bool]] = {}
            for r, (_, _, _, branches) in enumerate(rows):
                first, count = spans[r]
                row = torch.log_softmax(logits[first : first + count].float(), dim=-1)
                base = own[r] - 1  # the last context token predicts every first token
                best = row.argmax(-1)
                for i, start in branches:
                    cont = pairs[i][1]
                    at = [base] + [start + t for t in range(len(cont) - 1)]
                    index = torch.tensor([a - base for a in at], device=self.device)
                    wanted = torch.tensor(cont, device=self.device)
                    logprob = float(row[index, wanted].double().sum())
                    scored[i] = (logprob, bool((best[index] == wanted).all()))
        elapsed = time.perf_counter() - started
        if prefix is not None:
            elapsed, prefix.unpaid_seconds = elapsed + prefix.unpaid_seconds, 0.0
        computed = sum(len(r[0]) for r in rows)
        out: dict[int, PairScore] = {}
        for (_, members), n in zip(batch, own, strict=True):
            for position, i in enumerate(members):
                ran = len(pairs[i][1]) - 1 + (n if position == 0 else 0)
                cached = skip + (n if position else 0)
                share = ran / computed if computed else 0.0
                out[i] = PairScore(*scored[i], seconds=elapsed * share, cached_tokens=cached)
        return out

    def _tree_masks(self, segments: Any, positions: Any, past: int = 0) -> Any:
        """The attention mask(s) of packed rows: a token sees earlier tokens of the context
        (segment 0) and of its own continuation; padding (segment -1) sees only itself. With
        ``past`` tokens of a shared prefix in the cache (positions 0 to past - 1), every real
        token also sees those; the mask's key axis is then the prefix, then the row."""
        torch = self.torch
        rows, length = segments.shape
        index = torch.arange(length, device=self.device)
        causal = index[None, :] <= index[:, None]
        query, kv = segments[:, :, None], segments[:, None, :]
        allowed = causal & ((kv == 0) | (kv == query)) & (query >= 0) & (kv >= 0)
        allowed |= torch.eye(length, dtype=torch.bool, device=self.device) & (query < 0)
        key_positions = positions
        if past:
            allowed = torch.cat([(query >= 0).expand(rows, length, past), allowed], dim=2)
            before = torch.arange(past, device=self.device).expand(rows, past)
            key_positions = torch.cat([before, positions], dim=1)
        full = self._as_mask(allowed)
        if self.packing == "tensor":
            return full
        config = getattr(self.config, "text_config", None) or self.config
        window = int(config.sliding_window)
        near = (positions[:, :, None] - key_positions[:, None, :]) < window
        return {"full_attention": full, "sliding_attention": self._as_mask(allowed & near)}

    def _as_mask(self, allowed: Any) -> Any:
        """A boolean (batch, query, key) matrix as the model's attention takes it: boolean for
        SDPA, additive (0 / most negative) for eager attention; one head dimension added."""
        torch = self.torch
        mask = allowed[:, None, :, :]
        if getattr(self.config, "_attn_implementation", None) == "sdpa":
            return mask
        dtype = self.model.dtype
        zero = torch.zeros((), dtype=dtype, device=self.device)
        return torch.where(mask, zero, torch.finfo(dtype).min)

    # -- KV-cache scoring (models without custom attention masks) ------------------------------

    def _prefix_rows(self, prefix: SharedPrefix, rows: int) -> Any:
        """A copy of the prefix's cache with ``rows`` rows: the model appends to it."""
        cache = _fork_cache(prefix.cache)
        cache.reorder_cache(self.torch.zeros(rows, dtype=self.torch.long, device=self.device))
        return cache

    def _score_batch(
        self, batch: list[Group], pairs: Sequence[TokenPair], prefix: SharedPrefix | None = None
    ) -> dict[int, PairScore]:
        """Contexts in one left-padded pass (after the shared ``prefix``'s cache, if any), then
        the continuations' tokens after the first on copies of their context's cache."""
        torch = self.torch
        started = time.perf_counter()
        skip = len(prefix.tokens) if prefix is not None else 0
        contexts = [list(key[skip:]) for key, _ in batch]
        with torch.inference_mode():
            cache, mask, first = self._run_contexts(contexts, prefix)
            rows = [(g, i) for g, (_, members) in enumerate(batch) for i in members]
            tails = [(g, i) for g, i in rows if len(pairs[i][1]) > 1]
            partial: dict[int, tuple[float, bool]] = {}
            for g, i in rows:
                token = pairs[i][1][0]
                partial[i] = (float(first[g, token]), bool(first[g].argmax() == token))
            if tails:
                lengths = torch.tensor([skip + len(c) for c in contexts], device=self.device)
                for chunk in self._row_chunks(tails, pairs):
                    rest = self._run_continuations(chunk, pairs, cache, mask, lengths, len(tails))
                    for i, (logprob, greedy) in rest.items():
                        head_logprob, head_greedy = partial[i]
                        partial[i] = (head_logprob + logprob, head_greedy and greedy)
        elapsed = time.perf_counter() - started
        if prefix is not None:
            elapsed, prefix.unpaid_seconds = elapsed + prefix.unpaid_seconds, 0.0
        computed = sum(len(c) for c in contexts) + sum(len(pairs[i][1]) for _, i in rows)
        out: dict[int, PairScore] = {}
        for context, (_, members) in zip(contexts, batch, strict=True):
            for position, i in enumerate(members):
                share = (len(pairs[i][1]) + (len(context) if position == 0 else 0)) / computed
                cached = skip + (len(context) if position else 0)
                out[i] = PairScore(*partial[i], seconds=elapsed * share, cached_tokens=cached)
        return out

    def _run_contexts(
        self, contexts: list[Tokens], prefix: SharedPrefix | None = None
    ) -> tuple[Any, Any, Any]:
        """One left-padded pass over the contexts: KV cache, mask, next-token log-probs. After a
        ``prefix``, the mask starts with its positions and the rows' positions follow it."""
        torch = self.torch
        width = max(len(c) for c in contexts)
        pad = self.prefix_token_id
        skip = len(prefix.tokens) if prefix is not None else 0
        ids = torch.tensor([[pad] * (width - len(c)) + c for c in contexts], device=self.device)
        own = torch.tensor(
            [[0] * (width - len(c)) + [1] * len(c) for c in contexts], device=self.device
        )
        positions = skip + (own.cumsum(-1) - 1).clamp(min=0)
        inputs: dict[str, Any] = {"input_ids": ids, "position_ids": positions, "use_cache": True}
        mask = own
        if prefix is not None:
            mask = torch.cat([torch.ones_like(own[:, :1]).expand(-1, skip), own], dim=1)
            inputs[self.cache_kwarg] = self._prefix_rows(prefix, len(contexts))
        # Only the last position predicts a continuation token: skip the other logits.
        if self.can_trim_logits:
            inputs["logits_to_keep"] = 1
        output = self.model(attention_mask=mask, **inputs)
        first = torch.log_softmax(output.logits[:, -1, :].float(), dim=-1)
        return _output_cache(output, self.cache_kwarg), mask, first

    def _row_chunks(
        self, rows: list[tuple[int, int]], pairs: Sequence[TokenPair]
    ) -> Iterator[list[tuple[int, int]]]:
        """Continuation rows, longest first, in chunks cut like context batches (plan_batches)
        whose logits (rows x length x vocabulary floats) stay near 256 MB."""
        vocab = int(self.model.get_output_embeddings().weight.shape[0])
        limit = max(1, (256 << 20) // (4 * vocab))
        ordered = sorted(rows, key=lambda row: -len(pairs[row[1]][1]))
        sizes = [len(pairs[i][1]) - 1 for _, i in ordered]
        for chunk in plan_batches(sizes, budget=limit):
            yield [ordered[i] for i in chunk]

    def _run_continuations(
        self,
        chunk: list[tuple[int, int]],
        pairs: Sequence[TokenPair],
        cache: Any,
        mask: Any,
        lengths: Any,
        n_rows: int,
    ) -> dict[int, tuple[float, bool]]:
        """Continuation tokens after the first, on the cached contexts: (log-prob, greedy)."""
        torch = self.torch
        inputs = [pairs[i][1][:-1] for _, i in chunk]
        targets = [pairs[i][1][1:] for _, i in chunk]
        width = max(len(t) for t in inputs)
        pad = self.prefix_token_id
        ids = torch.tensor([t + [pad] * (width - len(t)) for t in inputs], device=self.device)
        tail_mask = torch.tensor(
            [[1] * len(t) + [0] * (width - len(t)) for t in inputs], device=self.device
        )
        groups = torch.tensor([g for g, _ in chunk], device=self.device)
        # reorder_cache selects rows into the cache; fork it unless this chunk is the only user.
        rows_cache = cache if len(chunk) == n_rows else _fork_cache(cache)
        rows_cache.reorder_cache(groups)
        positions = lengths[groups].unsqueeze(1) + torch.arange(width, device=self.device)
        output = self.model(
            input_ids=ids,
            attention_mask=torch.cat([mask[groups], tail_mask], dim=1),
            position_ids=positions,
            use_cache=True,
            **{self.cache_kwarg: rows_cache},
        )
        logits = output.logits.float()
        out: dict[int, tuple[float, bool]] = {}
        for row, ((_, i), target) in enumerate(zip(chunk, targets, strict=True)):
            row_logits = torch.log_softmax(logits[row, : len(target)], dim=-1)
            wanted = torch.tensor(target, device=self.device)
            logprob = float(row_logits.gather(1, wanted.unsqueeze(1)).sum())
            out[i] = (logprob, bool((row_logits.argmax(-1) == wanted).all()))
        return out

    # -- generation ----------------------------------------------------------------------------

    def render(self, prompt: str | tuple[ChatMessage, ...]) -> str:
        """Plain prompts as they are; chat prompts through the tokenizer's chat template.

        A model without a template (a base model) gets the plain ``User: ...\\nAssistant:``
        transcript the llama.cpp backend uses, so both backends see the same text.
        """
        if isinstance(prompt, str):
            return prompt
        if not self.has_chat_template:
            return transcript(prompt)
        messages = [{"role": m.role, "content": m.content} for m in prompt]
        text: str = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return text

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerationOutcome]:
        return [self._generate_one(r) for r in requests]

    def _generate_one(self, request: GenerateRequest) -> GenerationOutcome:
        torch = self.torch
        settings = request.settings
        tokens = self.tok_encode(self.render(request.prompt))
        tokens = tokens[-max(1, self.max_length - settings.max_tokens) :]
        ids = torch.tensor([tokens], device=self.device)
        sampling: dict[str, Any] = {"do_sample": False}
        if not settings.greedy:
            torch.manual_seed(settings.seed)
            sampling = {"do_sample": True, "temperature": settings.temperature}
            sampling["top_p"] = settings.top_p
        stops = list(settings.stop)
        if not isinstance(request.prompt, str) and not self.has_chat_template:
            stops.append("\nUser:")  # the transcript's next turn
        extra: dict[str, Any] = {}
        if stops:
            extra = {"stop_strings": stops, "tokenizer": self.tokenizer}
        started = time.perf_counter()
        try:
            with torch.inference_mode():
                output = self.model.generate(
                    input_ids=ids,
                    attention_mask=torch.ones_like(ids),
                    max_new_tokens=settings.max_tokens,
                    pad_token_id=self.tokenizer.eos_token_id,
                    top_k=None,
                    **sampling,
                    **extra,
                )
        except RuntimeError as exc:
            return RequestFailure(f"transformers generate failed: {str(exc).splitlines()[0]}")
        elapsed = time.perf_counter() - started
        new = output[0, len(tokens) :].tolist()
        text, finish = self._finish(new, stops, settings.max_tokens)
        usage = Usage(prompt_tokens=len(tokens), output_tokens=len(new), output_seconds=elapsed)
        return GenerationResult(text, finish, usage)

    def _finish(self, new: Tokens, stops: Sequence[str], max_tokens: int) -> tuple[str, str]:
        text: str = self.tokenizer.decode(new, skip_special_tokens=True)
        cuts = [text.index(s) for s in stops if s and s in text]
        if cuts:
            return text[: min(cuts)], "stop"
        eos = self.tokenizer.eos_token_id
        if new and (new[-1] == eos or len(new) < max_tokens):
            return text, "stop"
        return text, "length"


Group = tuple[tuple[int, ...], list[int]]
"""A context's tokens and the indices of the requests scored after it."""


def _context_length(skip: int = 0) -> Callable[[Group], int]:
    """The length of a group's context row: its context after a shared prefix's ``skip``."""

    def size(group: Group) -> int:
        return len(group[0]) - skip

    return size


def _packed_length(pairs: Sequence[TokenPair], skip: int = 0) -> Callable[[Group], int]:
    """The length of a group's packed row: its context after the ``skip`` tokens of a shared
    prefix, and all continuation tokens but each continuation's last."""

    def size(group: Group) -> int:
        return len(group[0]) - skip + sum(len(pairs[i][1]) - 1 for i in group[1])

    return size


@contextlib.contextmanager
def _without_progress_bars() -> Iterator[None]:
    """tqdm bars off while active. transformers' GGUF loader draws its "de-quantizing" bar with
    plain tqdm, which its disable_progress_bar() does not reach; tqdm has no switch read at run
    time, so its constructor gets ``disable=True`` here (class attribute, restored after)."""
    try:
        tqdm: Any = importlib.import_module("tqdm")
    except ImportError:
        yield
        return
    original = tqdm.tqdm.__init__

    def quiet(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    tqdm.tqdm.__init__ = quiet
    try:
        yield
    finally:
        tqdm.tqdm.__init__ = original


@contextlib.contextmanager
def _output_head_on(model: Any, index: tuple[Any, Any]) -> Iterator[list[bool]]:
    """While active, the model's output layer (vocabulary projection) sees only the hidden
    states at ``index`` (row and position tensors), as one row. Packed rows need logits on
    spans of different lengths; slicing the same last-N window from every row (all
    ``logits_to_keep`` can do) computes vocabulary-sized rows nobody reads, and for a small model
    with a large vocabulary (Gemma 3 270M: 262k x 640) that projection costs more than the rest
    of the network. What the model does after the layer (Gemma's logit soft-capping) is
    elementwise, so it applies unchanged. Yields a list that holds True once the layer ran."""
    head = model.get_output_embeddings()
    fired: list[bool] = []
    if head is None:
        yield fired
        return

    def gather(_module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        fired.append(True)
        return (args[0][index].unsqueeze(0), *args[1:])

    handle = head.register_forward_pre_hook(gather)
    try:
        yield fired
    finally:
        handle.remove()


def _output_cache(output: Any, cache_kwarg: str) -> Any:
    """The KV cache a forward pass returned (``cache`` in transformers 5.2x, else
    ``past_key_values``)."""
    cache = getattr(output, "cache", None) if cache_kwarg == "cache" else None
    return cache if cache is not None else output.past_key_values


def _fork_cache(cache: Any) -> Any:
    """A cache whose layers can be reordered and extended without touching ``cache``.

    transformers' dynamic cache layers never modify their tensors in place (``reorder_cache``
    index-selects, ``update`` concatenates, both assign new tensors), so copying the container
    and its layer objects is enough; a deep copy would copy every context's keys and values
    once per chunk. Caches of another layout are deep-copied.
    """
    layers = getattr(cache, "layers", None)
    if not isinstance(layers, list) or not all(
        type(layer).__name__.startswith("Dynamic") for layer in layers
    ):
        return copy.deepcopy(cache)
    fork = copy.copy(cache)
    fork.layers = [copy.copy(layer) for layer in layers]
    return fork


def active_parameters(config: Any, parameters: int) -> int | None:
    """Parameters used per token: all of them for a dense model. For a mixture of experts None
    (shown as "unknown"), as the llamacpp backend does: the routed share depends on how each
    architecture names and sizes its expert and shared layers, and a wrong guess is worse."""
    experts = _int_attr(config, "num_local_experts", "num_experts", "n_routed_experts")
    return parameters if experts is None or experts <= 1 else None


def gguf_license(path: Path) -> str | None:
    """The GGUF metadata key ``general.license`` (transformers drops it when dequantizing)."""
    try:
        import gguf

        field = gguf.GGUFReader(path).fields.get("general.license")
        value = field.contents() if field is not None else None
    except (ImportError, OSError, ValueError):
        return None
    return (value.strip() or None) if isinstance(value, str) else None


def readme_license(folder: str) -> str | None:
    """``license:`` from the YAML front matter of a model folder's README.md (a Hugging Face
    model card), a scalar or the first item of a list; None without a local card."""
    try:
        text = (Path(folder) / "README.md").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    front = []
    for line in lines[1:]:
        if line.strip() == "---":
            break
        front.append(line)
    for index, line in enumerate(front):
        if not line.startswith("license:"):
            continue
        value = line.partition(":")[2].strip()
        if not value and index + 1 < len(front):
            value = front[index + 1].strip().removeprefix("- ").strip()
        return value.strip("'\"") or None
    return None


def _int_attr(config: Any, *names: str) -> int | None:
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
