"""llama.cpp backend, in process: ``llamacpp:PATH|alias[,option=value...]``.

Targets are GGUF files or the bundled aliases of :mod:`bakeoff.backends.models`. Options:
``n_ctx`` (default: the model's context, at most 4096), ``n_threads`` (default: all cores),
``n_batch`` (tokens per decode call, default 512), ``seed`` (added to every request's sampling
seed, default 0), ``chat`` (``auto``: use the model's chat template when it has one, ``on``:
require one, ``off``: always the plain transcript), ``repack`` (``off``, the default: every
token's logits are the same whatever else shares its decode call; ``on``: llama.cpp's repacked
CPU kernels, about 10% faster on K-quants, but scores then shift with batching by up to ~0.1 nat).

Scoring follows lm-evaluation-harness: trailing whitespace of the context moves into the
continuation, the continuation's tokens are ``tokenize(context + continuation)`` minus the
context's, an empty context is replaced by the BOS token (EOS if the model has none), and contexts
too long for the window are truncated on the left. Log-probabilities are computed here from the
model's logits in float64 -- never from llama-cpp-python's ``echo`` log-probabilities, which are
wrong for models without a BOS token such as SmolLM2.

How the work is saved, through llama.cpp's low-level batch API:

* logits are requested only at the positions that predict continuation tokens (Gemma's output
  layer, 262k words wide, costs more than the rest of the network per token);
* a context shared by several continuations (the choices of one question) is evaluated once in
  sequence 0 and every continuation runs in its own sequence on the same KV cells, all in one
  decode call; the context's last logits row is kept, so one-token continuations cost nothing;
* the KV cache keeps the last context, and the next request re-evaluates only what follows the
  common token prefix (few-shot prompts), after ``llama_memory_seq_rm`` drops the rest. Requests
  are sorted so that similar prefixes are neighbours.

Chat prompts use the model's own template (Jinja, from the GGUF metadata). A model without one
-- Gemma 3 270M here is a *base* model -- gets a plain transcript ``User: ...\\nAssistant:``,
with ``\\nUser:`` as an extra stop sequence; ``info().extra["chat_format"]`` says which was used.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from bakeoff.backends import models
from bakeoff.backends.base import Backend, GenerationOutcome, LoglikelihoodOutcome, RollingOutcome
from bakeoff.core.errors import BackendError, ConfigError, MissingDependencyError
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.types import (
    ChatMessage,
    GenerateRequest,
    GenerationResult,
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
"""(context tokens, continuation tokens) as lm-evaluation-harness's ``_encode_pair`` makes them."""
FloatRow = npt.NDArray[np.float32]

_OPTIONS = ("n_ctx", "n_threads", "n_batch", "seed", "chat", "repack")
_CHAT_MODES = ("auto", "on", "off")
_DEFAULT_MAX_CTX = 4096
_DEFAULT_N_BATCH = 512
_MAX_SEQUENCES = 64  # one for the shared context, the rest for its continuations
_MAX_OUTPUT_ROWS = 128  # logits rows per decode call: bounds llama.cpp's output buffer
_KEPT_ROWS = 8  # context-end logits rows kept for later continuations of the same context
# llama.cpp's CPU matrix products take another code path for decode calls of fewer than 8
# tokens, which changes the logits (measured on Gemma Q4_K_M: 0.07 nats on one token). Scoring
# and prompt calls are padded up to this size with throw-away tokens in a scratch sequence, so a
# token's logits never depend on how many others shared its call (cached prefix, batch mates).
_MIN_DECODE_TOKENS = 8
_TRANSCRIPT_STOP = "\nUser:"
_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}


# =============================================================================================
# Pure logic (no llama.cpp): unit-tested without a model
# =============================================================================================


def harness_split(context: str, continuation: str) -> tuple[str, str]:
    """Move the context's trailing whitespace to the front of the continuation (as the harness).

    ``("Q: x\\nA: ", "Paris")`` becomes ``("Q: x\\nA:", " Paris")``: tokenizers attach a space to
    the word after it, so this is where the word's real first token is.
    """
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces == 0:
        return context, continuation
    return context[:-n_spaces], context[-n_spaces:] + continuation


def continuation_tokens(context_tokens: Sequence[int], whole_tokens: Sequence[int]) -> Tokens:
    """The continuation's tokens: those of ``context + continuation`` after the context's count.

    Tokenizing the whole string (not the continuation alone) keeps merges across the boundary
    the way the model saw them in training.
    """
    return list(whole_tokens[len(context_tokens) :])


def fit_window(context: Sequence[int], continuation: Sequence[int], n_ctx: int) -> Tokens:
    """Left-truncate ``context`` so that ``context + continuation[:-1]`` fits ``n_ctx`` tokens.

    The harness's rule (``(context + continuation)[-(n_ctx + 1):][:-1]``); the continuation is
    never cut, so it must hold at most ``n_ctx`` tokens (ValueError otherwise).
    """
    keep = n_ctx + 1 - len(continuation)
    if keep < 1:
        raise ValueError(f"continuation of {len(continuation)} tokens exceeds n_ctx={n_ctx}")
    return list(context[-keep:]) if len(context) > keep else list(context)


def rolling_windows(tokens: Sequence[int], prefix_token: int, max_length: int) -> list[TokenPair]:
    """lm-evaluation-harness's disjoint rolling windows (``context_len=1``) over ``tokens``.

    The first window predicts the first ``max_length`` tokens from the prefix token on; each
    later one predicts the next ``max_length`` tokens (or what is left) with as much preceding
    text as context as fits. Every token is predicted exactly once.
    """
    windows: list[TokenPair] = []
    if not tokens:
        return windows
    first = min(max_length, len(tokens))
    windows.append(([prefix_token], list(tokens[:first])))
    predicted = first
    while predicted < len(tokens):
        size = min(len(tokens) - predicted, max_length)
        end = predicted + size
        context = list(tokens[max(end - max_length - 1, 0) : end - size])
        windows.append((context, list(tokens[end - size : end])))
        predicted = end
    return windows


def score_row(logits: npt.NDArray[np.floating[Any]], target: int) -> tuple[float, bool]:
    """(log-softmax of ``logits`` at ``target`` in float64, whether ``target`` is the argmax)."""
    best = int(np.argmax(logits))
    shifted = np.subtract(logits, logits[best], dtype=np.float64)  # max-shift: exp cannot overflow
    log_norm = float(np.log(np.exp(shifted, out=shifted).sum()))
    return float(logits[target]) - float(logits[best]) - log_norm, best == target


def find_stop(text: str, stops: Sequence[str]) -> int | None:
    """Index of the earliest occurrence of any (non-empty) stop string in ``text``, or None."""
    found = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return min(found) if found else None


def truncate_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` cut before its first stop string, and whether one was found."""
    index = find_stop(text, stops)
    return (text, False) if index is None else (text[:index], True)


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def plain_transcript(messages: Sequence[ChatMessage]) -> str:
    """Chat messages as a plain transcript ending in ``Assistant:``, for template-less models."""
    lines = [f"{_ROLES[m.role]}: {m.content}" for m in messages]
    return "\n".join([*lines, "Assistant:"])


@dataclass(frozen=True, slots=True)
class ScoreGroup:
    """One context and the continuations scored on it in one pass (with their request indices)."""

    context: Tokens
    members: list[tuple[int, Tokens]]


def plan_groups(
    items: Sequence[tuple[int, Tokens, Tokens]], n_ctx: int, max_branches: int
) -> list[ScoreGroup]:
    """Group ``(index, context, continuation)`` items by context, in lexicographic order.

    Sorting puts requests with common token prefixes next to each other, so the KV cache of one
    is reused by the next. A group holds at most ``max_branches`` continuations, and the context
    plus all its continuations' inputs must fit ``n_ctx`` cells; bigger groups are split (the
    parts still share the cached context).
    """
    groups: list[ScoreGroup] = []
    cells = 0
    for index, context, continuation in sorted(items, key=lambda item: (item[1], item[2])):
        need = len(continuation) - 1
        current = groups[-1] if groups else None
        if (
            current is None
            or current.context != context
            or len(current.members) >= max_branches
            or cells + need > n_ctx
        ):
            current = ScoreGroup(context=context, members=[])
            groups.append(current)
            cells = len(context)
        current.members.append((index, continuation))
        cells += need
    return groups


def share_seconds(seconds: float, weights: Sequence[int]) -> list[float]:
    """Split a wall time over requests in proportion to the tokens each had evaluated."""
    total = sum(weights)
    if total == 0:
        return [seconds / len(weights)] * len(weights)
    return [seconds * w / total for w in weights]


# =============================================================================================
# llama.cpp I/O
# =============================================================================================


@dataclass(frozen=True, slots=True)
class LlamaCppOptions:
    n_ctx: int | None  # None: the model's context, at most 4096
    n_threads: int
    n_batch: int
    seed: int
    chat: str
    repack: bool = False


def parse_options(spec: ModelSpec) -> LlamaCppOptions:
    unknown = sorted(set(spec.options) - set(_OPTIONS))
    if unknown:
        raise ConfigError(
            f"llamacpp backend has no option {', '.join(unknown)} (allowed: {', '.join(_OPTIONS)})"
        )
    chat = spec.options.get("chat", "auto")
    if chat not in _CHAT_MODES:
        raise ConfigError(f"llamacpp option chat={chat!r}: use one of {', '.join(_CHAT_MODES)}")
    repack = spec.options.get("repack", "off")
    if repack not in ("on", "off"):
        raise ConfigError(f"llamacpp option repack={repack!r}: use on or off")
    n_ctx = spec.options.get("n_ctx")
    return LlamaCppOptions(
        n_ctx=_int_option("n_ctx", n_ctx, minimum=8) if n_ctx is not None else None,
        n_threads=_int_option("n_threads", spec.options.get("n_threads"), os.cpu_count() or 1),
        n_batch=_int_option("n_batch", spec.options.get("n_batch"), _DEFAULT_N_BATCH, minimum=8),
        seed=_int_option("seed", spec.options.get("seed"), 0, minimum=0),
        chat=chat,
        repack=repack == "on",
    )


def _int_option(name: str, raw: str | None, default: int = 0, minimum: int = 1) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(f"llamacpp option {name}={raw!r}: use an integer >= {minimum}")
    return value


def _import_llama_cpp() -> Any:
    try:
        module = importlib.import_module("llama_cpp")
    except ImportError:
        raise MissingDependencyError(
            "llama-cpp-python", "llamacpp", "the llamacpp backend"
        ) from None
    # llama-cpp-python's log callback prints everything at or above its logger's level; the
    # logger is only set quiet when a `Llama` object is made, which this backend never does.
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
    return module


_backend_ready = False


@dataclass(slots=True)
class _Entry:
    """One token of a decode call; ``on_row`` receives its logits row when it has one."""

    token: int
    pos: int
    seqs: tuple[int, ...]
    on_row: Callable[[FloatRow], None] | None = None


class LlamaSession:
    """A loaded model and one context: tokenizer, metadata, KV-cache bookkeeping, decoding.

    The KV cache's sequence 0 always holds ``self.trunk``, the tokens last evaluated there;
    ``self.rows`` keeps a few logits rows computed at trunk positions, valid while the trunk up
    to them is unchanged.
    """

    def __init__(self, path: Path, options: LlamaCppOptions) -> None:
        global _backend_ready
        self.ll = _import_llama_cpp()
        self.path = path
        if not _backend_ready:
            self.ll.llama_backend_init()
            _backend_ready = True
        model_params = self.ll.llama_model_default_params()
        model_params.n_gpu_layers = 0  # CPU build; a GPU build would need an option for this
        # llama.cpp's CPU "repack" kernels (K-quants on AVX2) pick a different matrix product by
        # batch size, so a token's logits depend on what else was in its decode call (measured
        # on Gemma Q4_K_M: up to 0.3 nats over a 4-token continuation). Off by default: scores
        # must not depend on batching or on which prefix happened to be cached.
        model_params.use_extra_bufts = options.repack
        with models.quiet_stderr() as log:
            self.model = self.ll.llama_model_load_from_file(str(path).encode(), model_params)
            if not self.model:
                raise BackendError(f"llama.cpp could not load {path}: {log()[-300:].strip()}")
            self.vocab = self.ll.llama_model_get_vocab(self.model)
            self.n_ctx_train = int(self.ll.llama_model_n_ctx_train(self.model))
            self.n_ctx = options.n_ctx or min(self.n_ctx_train, _DEFAULT_MAX_CTX)
            self.n_batch = max(min(options.n_batch, self.n_ctx), _MIN_DECODE_TOKENS)
            # llama.cpp reserves an output row per sequence: it refuses more sequences than n_batch.
            self.max_sequences = min(_MAX_SEQUENCES, self.n_batch)
            self.ctx = self._new_context(options)
        # llama.cpp may round the size up; the padding tokens need cells of their own.
        self.n_ctx = min(self.n_ctx, int(self.ll.llama_n_ctx(self.ctx)) - _MIN_DECODE_TOKENS)
        self.memory = self.ll.llama_get_memory(self.ctx)
        self.n_vocab = int(self.ll.llama_vocab_n_tokens(self.vocab))
        self.batch = self.ll.llama_batch_init(self.n_batch, 0, self.max_sequences)
        # Recurrent state cannot be cut at a position: no prefix reuse, one sequence at a time.
        self.reusable = not (
            self.ll.llama_model_is_recurrent(self.model)
            or self.ll.llama_model_is_hybrid(self.model)
        )
        # The last sequence holds the padding of short decode calls; never a branch.
        self.scratch_seq = self.max_sequences - 1 if self.reusable else None
        self.trunk: Tokens = []
        self.rows: dict[int, FloatRow] = {}
        self.metadata = self._read_metadata()

    def _new_context(self, options: LlamaCppOptions) -> Any:
        params = self.ll.llama_context_default_params()
        params.n_ctx = self.n_ctx + _MIN_DECODE_TOKENS
        params.n_batch = self.n_batch
        params.n_ubatch = self.n_batch
        params.n_seq_max = self.max_sequences
        params.kv_unified = True  # sequences share cells: a context is stored once for all choices
        params.swa_full = True  # sliding-window layers keep every position, so rollback is exact
        params.n_threads = options.n_threads
        params.n_threads_batch = options.n_threads
        params.flash_attn_type = self.ll.LLAMA_FLASH_ATTN_TYPE_DISABLED  # as llama_cpp.Llama
        params.no_perf = True
        ctx = self.ll.llama_init_from_model(self.model, params)
        if not ctx:
            self.ll.llama_model_free(self.model)
            raise BackendError(f"llama.cpp could not create a context of {self.n_ctx} tokens")
        return ctx

    def close(self) -> None:
        if self.batch is not None:
            self.ll.llama_batch_free(self.batch)
            self.batch = None
        if self.ctx:
            self.ll.llama_free(self.ctx)
            self.ctx = None
        if self.model:
            self.ll.llama_model_free(self.model)
            self.model = None

    # -- tokens ---------------------------------------------------------------------------

    def tokenize(self, text: str, add_special: bool, parse_special: bool = False) -> Tokens:
        data = text.encode("utf-8")
        capacity = len(data) + 8
        for _ in range(2):
            buffer = (self.ll.llama_token * capacity)()
            n = int(
                self.ll.llama_tokenize(
                    self.vocab, data, len(data), buffer, capacity, add_special, parse_special
                )
            )
            if n >= 0:
                return list(buffer[:n])
            capacity = -n  # too small: llama.cpp says how many tokens it needs
        raise BackendError(f"llama.cpp could not tokenize a text of {len(data)} bytes")

    def piece(self, token: int) -> bytes:
        """The bytes of one token as generated text (control tokens render as nothing)."""
        buffer = ctypes.create_string_buffer(64)
        n = int(self.ll.llama_token_to_piece(self.vocab, token, buffer, len(buffer), 0, False))
        if n < 0:
            buffer = ctypes.create_string_buffer(-n)
            n = int(self.ll.llama_token_to_piece(self.vocab, token, buffer, len(buffer), 0, False))
        return buffer.raw[:n]

    def token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return bytes(self.ll.llama_vocab_get_text(self.vocab, token)).decode("utf-8", "replace")

    @property
    def bos(self) -> int:
        return int(self.ll.llama_vocab_bos(self.vocab))

    @property
    def eos(self) -> int:
        return int(self.ll.llama_vocab_eos(self.vocab))

    @property
    def prefix_token(self) -> int:
        """The harness's stand-in for an empty context: BOS, or EOS when there is no BOS."""
        return self.bos if self.bos >= 0 else self.eos

    def is_eog(self, token: int) -> bool:
        return bool(self.ll.llama_vocab_is_eog(self.vocab, token))

    def chat_template(self) -> str | None:
        raw = self.ll.llama_model_chat_template(self.model, None)
        return bytes(raw).decode("utf-8", "replace") if raw else None

    def _read_metadata(self) -> dict[str, str]:
        out: dict[str, str] = {}
        buffer = ctypes.create_string_buffer(4096)
        for i in range(int(self.ll.llama_model_meta_count(self.model))):
            key = self._meta_string(self.ll.llama_model_meta_key_by_index, i, buffer)
            out[key] = self._meta_string(self.ll.llama_model_meta_val_str_by_index, i, buffer)
        return out

    def _meta_string(self, getter: Any, index: int, buffer: ctypes.Array[ctypes.c_char]) -> str:
        n = int(getter(self.model, index, buffer, len(buffer)))
        if n >= len(buffer):  # truncated (a chat template, say): read again with room for it
            buffer = ctypes.create_string_buffer(n + 1)
            getter(self.model, index, buffer, len(buffer))
        return buffer.value.decode("utf-8", "replace")

    # -- KV cache ---------------------------------------------------------------------------

    def keep_trunk(self, length: int) -> None:
        """Cut sequence 0 back to its first ``length`` tokens (everything if not reusable)."""
        if not self.reusable:
            length = 0
        if length < len(self.trunk) and not self.ll.llama_memory_seq_rm(self.memory, 0, length, -1):
            self.ll.llama_memory_clear(self.memory, True)
            length = 0
        del self.trunk[length:]
        for position in [p for p in self.rows if p >= length]:
            del self.rows[position]

    def reset(self) -> None:
        """Forget the whole cache (after a failed decode, its state is unknown)."""
        self.ll.llama_memory_clear(self.memory, True)
        self.trunk.clear()
        self.rows.clear()

    def fork(self, seq: int) -> None:
        """Let sequence ``seq`` see all of sequence 0's cells (no copy: the cache is unified)."""
        self.ll.llama_memory_seq_cp(self.memory, 0, seq, -1, -1)

    def drop(self, seq: int) -> None:
        self.ll.llama_memory_seq_rm(self.memory, seq, -1, -1)

    def keep_row(self, position: int, row: FloatRow) -> None:
        self.rows[position] = row.copy()  # llama.cpp reuses the buffer at the next decode
        while len(self.rows) > _KEPT_ROWS:
            del self.rows[min(self.rows)]

    # -- decoding ---------------------------------------------------------------------------

    def decode(self, entries: Sequence[_Entry], pad: bool = True) -> None:
        """Run ``entries`` through the model in chunks; rows go to the entries' ``on_row``.

        ``pad=False`` only for one-token generation steps: padding them would make generation
        several times slower, and their logits are only ever compared with other steps'.
        """
        scratch = self.scratch_seq
        for chunk in _chunks(entries, self.n_batch, _MAX_OUTPUT_ROWS):
            padding = _MIN_DECODE_TOKENS - len(chunk) if pad and scratch is not None else 0
            if scratch is None or padding <= 0:
                self._decode_chunk(chunk)
                continue
            filler = [_Entry(self.prefix_token, i, (scratch,)) for i in range(padding)]
            try:
                self._decode_chunk([*chunk, *filler])
            finally:
                self.drop(scratch)

    def _decode_chunk(self, chunk: Sequence[_Entry]) -> None:
        batch = self.batch
        batch.n_tokens = len(chunk)
        # The struct's array fields, fetched once: each attribute access builds a ctypes object.
        tokens, positions, n_seq_ids, seq_ids, wants_row = (
            batch.token,
            batch.pos,
            batch.n_seq_id,
            batch.seq_id,
            batch.logits,
        )
        for i, entry in enumerate(chunk):
            tokens[i] = entry.token
            positions[i] = entry.pos
            n_seq_ids[i] = len(entry.seqs)
            seq_ids_i = seq_ids[i]
            for j, seq in enumerate(entry.seqs):
                seq_ids_i[j] = seq
            wants_row[i] = entry.on_row is not None
        status = int(self.ll.llama_decode(self.ctx, batch))
        if status != 0:
            raise BackendError(f"llama_decode failed (status {status}) on {len(chunk)} tokens")
        for i, entry in enumerate(chunk):
            if entry.on_row is not None:
                entry.on_row(self.row(i))

    def row(self, index: int) -> FloatRow:
        """Logits of the ``index``-th token of the last decode call (a view into llama.cpp)."""
        pointer = self.ll.llama_get_logits_ith(self.ctx, index)
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))


def _chunks(entries: Sequence[_Entry], max_tokens: int, max_rows: int) -> Iterator[list[_Entry]]:
    chunk: list[_Entry] = []
    rows = 0
    for entry in entries:
        with_row = entry.on_row is not None
        if chunk and (len(chunk) >= max_tokens or rows + with_row > max_rows):
            yield chunk
            chunk, rows = [], 0
        chunk.append(entry)
        rows += with_row
    if chunk:
        yield chunk


@dataclass(slots=True)
class _PairScore:
    """Running score of one continuation."""

    continuation: Tokens
    logprob: float = 0.0
    is_greedy: bool = True
    evaluated: int = 0
    cached: int = 0
    seconds: float = 0.0

    def add(self, row: FloatRow, target: int) -> None:
        logprob, greedy = score_row(row, target)
        self.logprob += logprob
        self.is_greedy = self.is_greedy and greedy


class Scorer:
    """Scores (context, continuation) token pairs on a session, sharing contexts and prefixes."""

    def __init__(self, session: LlamaSession) -> None:
        self.session = session

    def score(self, items: Sequence[tuple[int, Tokens, Tokens]]) -> dict[int, _PairScore]:
        """Scores keyed by item index; every continuation has at least one token."""
        s = self.session
        # Sequence 0 is the trunk and the last one the scratch sequence for padding.
        branches = s.max_sequences - 2 if s.reusable else 1
        scores: dict[int, _PairScore] = {}
        try:
            for group in plan_groups(items, s.n_ctx, branches):
                scores.update(self._score_group(group))
        except BaseException:
            s.reset()
            raise
        return scores

    def _score_group(self, group: ScoreGroup) -> dict[int, _PairScore]:
        s = self.session
        started = time.perf_counter()
        context = group.context
        last = len(context) - 1  # the position whose logits predict every first token
        reused = common_prefix_length(s.trunk, context)
        if reused > last and last not in s.rows:
            reused = last  # its logits row is gone: evaluate the last context token again
        s.keep_trunk(reused)
        reused = len(s.trunk)
        scores = {index: _PairScore(continuation=cont) for index, cont in group.members}
        s.decode(self._context_entries(context, reused))
        s.trunk = list(context)
        branched = [pair for pair in scores.values() if len(pair.continuation) > 1]
        seqs = list(range(1, len(branched) + 1))
        for seq in seqs:
            s.fork(seq)
        # A separate decode call: in llama.cpp 0.3.36, tokens shared by several sequences
        # decoded together with other sequences' tokens get wrong logits (measured: 0.16 nats).
        s.decode(self._branch_entries(len(context), zip(seqs, branched, strict=True)))
        for seq in seqs:
            s.drop(seq)
        for pair in scores.values():
            pair.add(s.rows[last], pair.continuation[0])
        self._account(group, scores, len(context) - reused, reused, started)
        return scores

    def _context_entries(self, context: Tokens, reused: int) -> list[_Entry]:
        """The context's tokens after the cached prefix, in sequence 0; the last one's logits
        row (it predicts every continuation's first token) is kept."""
        s = self.session
        last = len(context) - 1
        entries = [_Entry(context[pos], pos, (0,)) for pos in range(reused, len(context))]
        if entries:
            entries[-1].on_row = lambda row: s.keep_row(last, row)
        return entries

    @staticmethod
    def _branch_entries(start: int, branches: Iterable[tuple[int, _PairScore]]) -> list[_Entry]:
        """Each continuation's input tokens (all but its last) in its own sequence from
        position ``start``, each with a logits row that scores the token after it."""
        entries: list[_Entry] = []
        for seq, pair in branches:
            cont = pair.continuation
            for offset, token in enumerate(cont[:-1]):
                scorer = _scorer(pair, cont[offset + 1])
                entries.append(_Entry(token, start + offset, (seq,), scorer))
        return entries

    @staticmethod
    def _account(
        group: ScoreGroup,
        scores: dict[int, _PairScore],
        context_evaluated: int,
        reused: int,
        started: float,
    ) -> None:
        """Usage: the context's new tokens go to the group's first request, which also reused
        the cached prefix; later requests reused the whole context."""
        ordered = [scores[index] for index, _ in group.members]
        for position, pair in enumerate(ordered):
            pair.evaluated = (
                len(pair.continuation) - 1 + (context_evaluated if position == 0 else 0)
            )
            pair.cached = reused if position == 0 else len(group.context)
        seconds = share_seconds(time.perf_counter() - started, [p.evaluated for p in ordered])
        for pair, share in zip(ordered, seconds, strict=True):
            pair.seconds = share


def _scorer(pair: _PairScore, target: int) -> Callable[[FloatRow], None]:
    return lambda row: pair.add(row, target)


@dataclass(slots=True)
class _Generation:
    text: str
    finish_reason: str
    prompt_tokens: int
    cached_tokens: int
    output_tokens: int
    prompt_seconds: float
    output_seconds: float


@dataclass(slots=True)
class _Sampler:
    """A llama.cpp sampler chain: greedy, or top-p + temperature + seeded draw."""

    ll: Any
    temperature: float
    top_p: float
    seed: int
    chain: Any = field(init=False)

    def __post_init__(self) -> None:
        ll = self.ll
        self.chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        if self.temperature == 0.0:
            ll.llama_sampler_chain_add(self.chain, ll.llama_sampler_init_greedy())
            return
        if self.top_p < 1.0:
            ll.llama_sampler_chain_add(self.chain, ll.llama_sampler_init_top_p(self.top_p, 1))
        ll.llama_sampler_chain_add(self.chain, ll.llama_sampler_init_temp(self.temperature))
        ll.llama_sampler_chain_add(self.chain, ll.llama_sampler_init_dist(self.seed))

    def sample(self, ctx: Any) -> int:
        return int(self.ll.llama_sampler_sample(self.chain, ctx, -1))

    def free(self) -> None:
        self.ll.llama_sampler_free(self.chain)


class Generator:
    """Token-by-token generation on sequence 0, reusing the cached prompt prefix."""

    def __init__(self, session: LlamaSession) -> None:
        self.session = session

    def run(
        self, prompt: Tokens, max_tokens: int, stops: Sequence[str], sampler: _Sampler
    ) -> _Generation:
        """Generate after ``prompt`` (left-truncated, as the harness does, to leave room)."""
        s = self.session
        if max_tokens >= s.n_ctx:
            raise ValueError(f"max_tokens={max_tokens} leaves no room in n_ctx={s.n_ctx}")
        prompt = prompt[-(s.n_ctx - max_tokens) :]
        try:
            return self._run(prompt, max_tokens, stops, sampler)
        except BaseException:
            s.reset()
            raise

    def _run(
        self, prompt: Tokens, max_tokens: int, stops: Sequence[str], sampler: _Sampler
    ) -> _Generation:
        s = self.session
        started = time.perf_counter()
        # The last prompt token is always evaluated: its logits pick the first new token.
        s.keep_trunk(min(common_prefix_length(s.trunk, prompt), len(prompt) - 1))
        cached = len(s.trunk)
        self._feed(prompt[cached:])
        first_token_at: float | None = None
        generated = bytearray()
        finish, n_out = "length", 0
        while n_out < max_tokens:
            token = sampler.sample(s.ctx)
            first_token_at = first_token_at or time.perf_counter()
            if s.is_eog(token):
                finish = "stop"
                break
            n_out += 1
            generated += s.piece(token)
            if find_stop(generated.decode("utf-8", "ignore"), stops) is not None:
                finish = "stop"
                break
            if n_out < max_tokens:
                self._feed([token], pad=False)
        ended = time.perf_counter()
        text, _ = truncate_at_stop(generated.decode("utf-8", "ignore"), stops)
        first_token_at = first_token_at or ended
        return _Generation(
            text=text,
            finish_reason=finish,
            prompt_tokens=len(prompt) - cached,
            cached_tokens=cached,
            output_tokens=n_out,
            prompt_seconds=first_token_at - started,
            output_seconds=ended - first_token_at,
        )

    def _feed(self, tokens: Tokens, pad: bool = True) -> None:
        """Evaluate ``tokens`` after the trunk; keep logits for the last one (to sample from)."""
        s = self.session
        start = len(s.trunk)
        entries = [_Entry(token, start + i, (0,)) for i, token in enumerate(tokens)]
        entries[-1].on_row = _ignore_row
        s.decode(entries, pad=pad)
        s.trunk.extend(tokens)


def _ignore_row(row: FloatRow) -> None:
    """Marks an entry whose logits the sampler reads from llama.cpp directly."""


# =============================================================================================
# The backend
# =============================================================================================


class LlamaCppBackend(Backend):
    """A GGUF model run in process by llama.cpp; all three request kinds.

    Generation is greedy when ``temperature == 0`` (deterministic: same prompt, same text) and
    otherwise seeded. Chat prompts use the model's chat template; a model without one (a base
    model such as Gemma 3 270M) gets the plain transcript of :func:`plain_transcript`, and
    ``info().extra["chat_format"]`` records ``"transcript"`` instead of ``"template"``.
    """

    name: ClassVar[str] = "llamacpp"
    supports: ClassVar[frozenset[RequestKind]] = frozenset(RequestKind)

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.options = parse_options(spec)
        self.path = models.resolve_model_path(spec.target)
        self._session = LlamaSession(self.path, self.options)
        self._scorer = Scorer(self._session)
        self._generator = Generator(self._session)
        self._lock = threading.Lock()  # one context: requests run one at a time
        self._template = self._session.chat_template()
        if self.options.chat == "on" and self._template is None:
            raise ConfigError(f"{spec.target} has no chat template (chat=on): use chat=auto")
        self._use_template = self._template is not None and self.options.chat != "off"
        self._formatter: Any = None
        self._info: ModelInfo | None = None

    @classmethod
    def preflight(cls, spec: ModelSpec) -> None:
        parse_options(spec)
        models.check_target(spec.target)

    @property
    def n_ctx(self) -> int:
        return self._session.n_ctx

    def close(self) -> None:
        with self._lock:
            self._session.close()

    # -- info -------------------------------------------------------------------------------

    def info(self) -> ModelInfo:
        if self._info is None:
            self._info = self._build_info()
        return self._info

    def _build_info(self) -> ModelInfo:
        s = self._session
        meta = s.metadata
        arch = meta.get("general.architecture")

        def number(key: str) -> int | None:
            return _to_int(meta.get(f"{arch}.{key}")) if arch else None

        n_heads, n_layers, n_embd = (
            number("attention.head_count"),
            number("block_count"),
            number("embedding_length"),
        )
        experts = number("expert_count")
        parameters = int(s.ll.llama_model_n_params(s.model))
        return ModelInfo(
            name=meta.get("general.name") or self.path.stem,
            backend=self.name,
            source=str(self.path),
            sha256=models.file_sha256(self.path),
            file_bytes=self.path.stat().st_size,
            quantization=quantization_name(_to_int(meta.get("general.file_type"))),
            architecture=arch,
            parameters=parameters,
            active_parameters=parameters if not experts or experts <= 1 else None,
            n_layers=n_layers,
            n_heads=n_heads,
            n_kv_heads=number("attention.head_count_kv"),
            embedding_length=n_embd,
            head_dim=number("attention.key_length") or _ratio(n_embd, n_heads),
            context_length=number("context_length") or s.n_ctx_train,
            vocab_size=s.n_vocab,
            expert_count=experts,
            expert_used_count=number("expert_used_count"),
            has_chat_template=self._template is not None,
            license=meta.get("general.license"),
            extra={
                "n_ctx": s.n_ctx,
                "n_threads": self.options.n_threads,
                "n_batch": s.n_batch,
                "chat_format": "template" if self._use_template else "transcript",
                "adds_bos": bool(s.ll.llama_vocab_get_add_bos(s.vocab)),
                "size_label": meta.get("general.size_label"),
                "sliding_window": number("attention.sliding_window"),
            },
        )

    # -- requests ---------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return len(self._session.tokenize(text, add_special=False))

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodOutcome]:
        with self._lock:
            outcomes: dict[int, LoglikelihoodOutcome] = {}
            items: list[tuple[int, Tokens, Tokens]] = []
            for index, request in enumerate(requests):
                prepared = self._prepare_pair(request.context, request.continuation)
                if isinstance(prepared, (RequestFailure, LoglikelihoodResult)):
                    outcomes[index] = prepared
                else:
                    items.append((index, *prepared))
            for index, pair in self._scorer.score(items).items():
                outcomes[index] = LoglikelihoodResult(
                    logprob=pair.logprob,
                    is_greedy=pair.is_greedy,
                    n_tokens=len(pair.continuation),
                    usage=_pair_usage(pair),
                )
            return [outcomes[i] for i in range(len(requests))]

    def _prepare_pair(
        self, context: str, continuation: str
    ) -> TokenPair | LoglikelihoodResult | RequestFailure:
        """The harness's token pair, fitted to the window; an empty continuation scores 0."""
        s = self._session
        context, continuation = harness_split(context, continuation)
        if context:
            context_tokens = s.tokenize(context, add_special=True)
            whole = s.tokenize(context + continuation, add_special=True)
            cont = continuation_tokens(context_tokens, whole)
        else:
            context_tokens = [s.prefix_token]
            cont = s.tokenize(continuation, add_special=False)
        if not cont:
            return LoglikelihoodResult(logprob=0.0, is_greedy=True, n_tokens=0)
        if not context_tokens:  # e.g. a context that tokenizes to nothing on a BOS-less model
            context_tokens = [s.prefix_token]
        try:
            return fit_window(context_tokens, cont, s.n_ctx), cont
        except ValueError as exc:
            return RequestFailure(reason=str(exc))

    def loglikelihood_rolling(
        self, requests: Sequence[RollingLoglikelihoodRequest]
    ) -> list[RollingOutcome]:
        with self._lock:
            s = self._session
            items: list[tuple[int, Tokens, Tokens]] = []
            owners: dict[int, int] = {}
            for index, request in enumerate(requests):
                tokens = s.tokenize(request.text, add_special=False)
                for context, cont in rolling_windows(tokens, s.prefix_token, s.n_ctx):
                    owners[len(items)] = index
                    items.append((len(items), context, cont))
            totals = [_PairScore(continuation=[]) for _ in requests]
            for item_index, pair in self._scorer.score(items).items():
                total = totals[owners[item_index]]
                total.logprob += pair.logprob
                total.continuation += pair.continuation
                total.evaluated += pair.evaluated
                total.cached += pair.cached
                total.seconds += pair.seconds
            return [
                RollingLoglikelihoodResult(
                    logprob=t.logprob, n_tokens=len(t.continuation), usage=_pair_usage(t)
                )
                for t in totals
            ]

    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerationOutcome]:
        with self._lock:
            return [self._generate_one(request) for request in requests]

    def _generate_one(self, request: GenerateRequest) -> GenerationOutcome:
        settings = request.settings
        prompt, extra_stops = self._render(request.prompt)
        stops = (*settings.stop, *extra_stops)
        sampler = _Sampler(
            self._session.ll,
            settings.temperature,
            settings.top_p,
            (settings.seed + self.options.seed) % 2**32,
        )
        try:
            done = self._generator.run(prompt, settings.max_tokens, stops, sampler)
        except ValueError as exc:
            return RequestFailure(reason=str(exc))
        finally:
            sampler.free()
        return GenerationResult(
            text=done.text,
            finish_reason=done.finish_reason,
            usage=Usage(
                prompt_tokens=done.prompt_tokens,
                output_tokens=done.output_tokens,
                prompt_seconds=done.prompt_seconds,
                output_seconds=done.output_seconds,
                cached_prompt_tokens=done.cached_tokens,
            ),
        )

    def _render(self, prompt: str | tuple[ChatMessage, ...]) -> tuple[Tokens, tuple[str, ...]]:
        """Prompt tokens and extra stop strings for a plain or chat prompt."""
        s = self._session
        stops: tuple[str, ...] = ()
        if isinstance(prompt, str):
            tokens = s.tokenize(prompt, add_special=True)
        elif not self._use_template:
            tokens = s.tokenize(plain_transcript(prompt), add_special=True)
            stops = (_TRANSCRIPT_STOP,)
        else:
            rendered = self._chat_formatter()(messages=[_message_dict(m) for m in prompt])
            # The template writes BOS itself where the model wants one; parse its special tokens.
            tokens = s.tokenize(rendered.prompt, add_special=False, parse_special=True)
        # An empty prompt on a BOS-less model: start from the harness's prefix token.
        return tokens or [s.prefix_token], stops

    def _chat_formatter(self) -> Any:
        if self._formatter is None:
            s = self._session
            chat_format = importlib.import_module("llama_cpp.llama_chat_format")
            self._formatter = chat_format.Jinja2ChatFormatter(
                template=self._template,
                eos_token=s.token_text(s.eos),
                bos_token=s.token_text(s.bos),
                add_generation_prompt=True,
            )
        return self._formatter


def _message_dict(message: ChatMessage) -> dict[str, str]:
    return {"role": message.role, "content": message.content}


def _pair_usage(pair: _PairScore) -> Usage:
    return Usage(
        prompt_tokens=pair.evaluated,
        prompt_seconds=pair.seconds,
        cached_prompt_tokens=pair.cached,
    )


def _to_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _ratio(a: int | None, b: int | None) -> int | None:
    return a // b if a and b else None


def quantization_name(file_type: int | None) -> str | None:
    """llama.cpp's LLAMA_FTYPE number (``general.file_type``) as a name, e.g. 15 -> Q4_K_M."""
    if file_type is None:
        return None
    return _FILE_TYPES.get(file_type, f"ftype {file_type}")


# fmt: off
_FILE_TYPES: Mapping[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE",
}
# fmt: on
