"""A loaded GGUF model and its one llama.cpp context: loading, tokens, metadata, the KV
cache's bookkeeping (which tokens sequence 0 holds, which logits rows are kept) and the
padded decode calls that scoring and generation both go through."""

from __future__ import annotations

import ctypes
import importlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bakeoff.backends import models
from bakeoff.backends.llamacpp._options import LlamaCppOptions
from bakeoff.core.errors import BackendError, MissingDependencyError

Tokens = list[int]
FloatRow = npt.NDArray[np.float32]

_DEFAULT_MAX_CTX = 4096
_MAX_SEQUENCES = 64  # one for the shared context, the rest for its continuations
_MAX_OUTPUT_ROWS = 128  # logits rows per decode call: bounds llama.cpp's output buffer
_KEPT_ROWS = 8  # context-end logits rows kept for later continuations of the same context
# llama.cpp's CPU matrix products take another code path for decode calls of fewer than 8
# tokens, which changes the logits (measured on Gemma Q4_K_M: 0.07 nats on one token). Scoring
# and prompt calls are padded up to this size with throw-away tokens in a scratch sequence, so a
# token's logits never depend on how many others shared its call (cached prefix, batch mates).
_MIN_DECODE_TOKENS = 8


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


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
class Entry:
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

    def decode(self, entries: Sequence[Entry], pad: bool = True) -> None:
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
            filler = [Entry(self.prefix_token, i, (scratch,)) for i in range(padding)]
            try:
                self._decode_chunk([*chunk, *filler])
            finally:
                self.drop(scratch)

    def _decode_chunk(self, chunk: Sequence[Entry]) -> None:
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


def _chunks(entries: Sequence[Entry], max_tokens: int, max_rows: int) -> Iterator[list[Entry]]:
    chunk: list[Entry] = []
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
