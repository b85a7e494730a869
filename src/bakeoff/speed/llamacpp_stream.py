"""Streaming from llama.cpp in-process (llama-cpp-python), timed per chunk.

The model path comes from the spec, resolved by ``backends.models`` (same aliases and GGUF checks
as the evaluation backend); the streaming itself is separate from the backend's batch API.
llama.cpp's own perf counters (``llama_perf_context``: prompt-eval and eval milliseconds and token
counts) are reset before and read after every request, so each record carries the engine's view
next to the client's.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bakeoff.backends import models
from bakeoff.core.errors import BackendError, ConfigError, MissingDependencyError
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.speed_records import StreamTiming


def import_llama_cpp() -> Any:
    try:
        return importlib.import_module("llama_cpp")
    except ImportError:
        raise MissingDependencyError(
            "llama-cpp-python", "llamacpp", "llama.cpp speed runs"
        ) from None


def resolve_model_path(target: str) -> Path:
    """A GGUF path or bundled alias, resolved exactly as the evaluation backend does."""
    return models.resolve_model_path(target)


def check_model_target(target: str) -> None:
    """Preflight: the file or alias exists (never makes a derived file)."""
    models.check_target(target)


def _int_option(spec: ModelSpec, key: str, default: int) -> int:
    raw = spec.options.get(key)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(
            f"model option {key}={raw!r} in '{spec.label}' is not an integer"
        ) from None


class LlamaCppStreamer:
    """One in-process model; requests run one at a time (a lock), like a single-slot server."""

    def __init__(self, spec: ModelSpec, n_ctx: int) -> None:
        llama_cpp = import_llama_cpp()
        self.path = resolve_model_path(spec.target)
        self.n_ctx = _int_option(spec, "n_ctx", n_ctx)
        self.n_threads = _int_option(spec, "n_threads", os.cpu_count() or 1)
        self.n_batch = _int_option(spec, "n_batch", 512)
        self._llama_cpp = llama_cpp
        # llama.cpp's defaults otherwise, as its servers run (repack kernels on: the evaluation
        # backend turns them off for batch-invariant scores, which costs speed).
        with models.quiet_stderr() as log:  # llama.cpp prints to fd 2 even when not verbose
            try:
                self.llm = llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_batch=self.n_batch,
                    verbose=False,
                )
            except ValueError as exc:  # llama-cpp-python's "Failed to load model from file"
                raise BackendError(f"llama.cpp could not load {self.path}: {exc}; "
                                   f"{log()[-300:].strip()}") from None  # fmt: skip
        self._lock = threading.Lock()
        # Every end-of-generation token (Gemma: <eos>, <end_of_turn>, ...) is suppressed, so each
        # answer has exactly max_tokens tokens.
        vocab = self.llm._model.vocab
        self._no_eog = {
            token: -1e9
            for token in range(self.llm.n_vocab())
            if llama_cpp.llama_vocab_is_eog(vocab, token)
        }
        self._no_eog[int(self.llm.token_eos())] = -1e9

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` alone (no BOS), by the model's own tokenizer."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def prompt_tokens(self, prompt: str) -> int:
        """Tokens the model is fed for ``prompt`` (BOS included, as llama.cpp evaluates it)."""
        return len(self.llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False))

    def stream(self, prompt: str, max_tokens: int, t_sent: float) -> StreamTiming:
        """Generate exactly ``max_tokens`` (EOS suppressed) and time every text chunk."""
        with self._lock:
            # Waiting for the lock is queueing inside the "server", not prompt processing.
            engine_wait_ms = (time.perf_counter() - t_sent) * 1000
            # The KV cache would otherwise reuse the previous prompt's common prefix.
            self.llm.reset()
            self._llama_cpp.llama_perf_context_reset(self.llm.ctx)
            times: list[float] = []
            pieces: list[str] = []
            stream = self.llm.create_completion(
                prompt,
                max_tokens=max_tokens,
                temperature=0.0,
                stream=True,
                logit_bias=self._no_eog,
            )
            finish = None
            for chunk in stream:
                now = time.perf_counter()
                choice = chunk["choices"][0]
                text = choice["text"]
                if text:
                    times.append(now)
                    pieces.append(text)
                finish = choice.get("finish_reason") or finish
            t_end = time.perf_counter()
            perf = self._llama_cpp.llama_perf_context(self.llm.ctx)
            # The engine's own count, like a server's usage: the KV cache holds the prompt and
            # every generated token but the last one sampled (unless an EOG token ended it).
            n_prompt = self.prompt_tokens(prompt)
            generated = int(self.llm.n_tokens) - n_prompt + (finish == "length")
        return StreamTiming(
            t_sent=t_sent,
            t_end=t_end,
            chunk_times=tuple(times),
            chunk_texts=tuple(pieces),
            prompt_tokens=n_prompt,
            output_tokens=generated,
            server={
                "source": "llama_perf_context",
                "engine_wait_ms": engine_wait_ms,
                "finish_reason": finish,
                "prompt_ms": float(perf.t_p_eval_ms),
                "prompt_n": int(perf.n_p_eval),
                "predicted_ms": float(perf.t_eval_ms),
                "predicted_n": int(perf.n_eval),
            },
        )

    def info(self) -> ModelInfo:
        info = model_info_from_gguf(self.path, self.llm.metadata, self.n_ctx)
        settings = {"n_threads": self.n_threads, "n_batch": self.n_batch,
                    "repack": "on (llama.cpp default)", "slots": 1}  # fmt: skip
        return replace(info, extra={**info.extra, **settings})

    def close(self) -> None:
        self.llm.close()


def model_info_from_gguf(path: Path, metadata: dict[str, str], n_ctx: int) -> ModelInfo:
    """The ModelInfo fields the memory estimate needs, read from GGUF metadata."""
    arch = metadata.get("general.architecture", "")

    def number(key: str) -> int | None:
        value = metadata.get(f"{arch}.{key}")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    file_type = metadata.get("general.file_type")
    return ModelInfo(
        name=metadata.get("general.name", path.stem),
        backend="llamacpp",
        source=str(path),
        file_bytes=path.stat().st_size,
        quantization=_FILE_TYPES.get(int(file_type)) if file_type is not None else None,
        architecture=arch or None,
        n_layers=number("block_count"),
        n_heads=number("attention.head_count"),
        n_kv_heads=number("attention.head_count_kv"),
        embedding_length=number("embedding_length"),
        head_dim=number("attention.key_length"),
        context_length=number("context_length"),
        extra={"n_ctx": n_ctx},
    )


# llama.cpp's LLAMA_FTYPE numbers for the common types (enough to label a report).
_FILE_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
               10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S",
               15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16"}  # fmt: skip
