"""Log-likelihood scoring rate of the llamacpp backend vs llama.cpp's raw prompt processing.

For a multiple-choice set (ARC-Easy from ../shared/data when present, else the built-in
``arithmetic-mc`` probe) this script measures, in one process and alternating the two so that
outside load hits both alike:

* **bakeoff**: ``LlamaCppBackend.loglikelihood`` over every (question, choice) request, sent in
  chunks of 8 questions as ``bakeoff run`` sends them, from a cold KV cache;
* **raw**: per question, one token stream -- its context followed by every choice's tokens --
  decoded by llama.cpp directly (logits for the last token only, the cache cleared between
  questions): the model's plain prompt-processing rate, with the same kernels.

Both rates divide the same number, the tokens of those streams (each context once, each
choice once: the least any scorer must run), by each side's wall time, so ``ratio`` is the raw
time over bakeoff's time. (bakeoff may skip a few tokens by reusing a cached prefix across
questions; it also needs a vocabulary-sized logits row for every choice token, which raw
prompt processing does not.) Target ≥ 0.8: scoring must cost little more than
reading the prompt once, although it needs a vocabulary-sized logits row per choice token.

    python bench/scoring_rate.py [--model gemma3-270m] [--n 60] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bakeoff.backends.llamacpp import LlamaCppBackend, harness_split
from bakeoff.backends.models import resolve_model_path
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import LoglikelihoodRequest, LoglikelihoodResult, Request
from bakeoff.tasks.base import Task
from bakeoff.tasks.catalog import TaskSpec, build_task

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CHUNK = 8  # questions per backend call, as `bakeoff run --batch-size 8`


def mc_task(n: int) -> tuple[str, list[list[LoglikelihoodRequest]]]:
    task: Task
    if (SHARED / "arc_easy" / "test.jsonl").is_file():
        task = build_task(TaskSpec("arc-easy", options={"data_dir": str(SHARED)}))
    else:
        task = build_task(TaskSpec("arithmetic-mc", options={"n": str(n)}))
    questions = []
    for sample in list(task.samples())[:n]:
        requests: list[Request] = task.requests(sample)
        questions.append([r for r in requests if isinstance(r, LoglikelihoodRequest)])
    return task.name, questions


def bakeoff_round(
    backend: LlamaCppBackend, questions: Sequence[list[LoglikelihoodRequest]]
) -> tuple[int, float]:
    """(tokens evaluated, seconds) for all questions, from a cold KV cache."""
    backend._session.reset()
    evaluated = 0
    started = time.perf_counter()
    for start in range(0, len(questions), CHUNK):
        flat = [r for q in questions[start : start + CHUNK] for r in q]
        for result in backend.loglikelihood(flat):
            assert isinstance(result, LoglikelihoodResult), result
            evaluated += result.usage.prompt_tokens
    return evaluated, time.perf_counter() - started


def token_streams(
    backend: LlamaCppBackend, questions: Sequence[list[LoglikelihoodRequest]]
) -> list[list[int]]:
    """Per question: its context's tokens followed by every choice's tokens, as one stream."""
    session = backend._session
    streams = []
    for requests in questions:
        context, _ = harness_split(requests[0].context, requests[0].continuation)
        stream = session.tokenize(context, add_special=True)
        for request in requests:
            ctx, cont = harness_split(request.context, request.continuation)
            whole = session.tokenize(ctx + cont, add_special=True)
            stream += whole[len(session.tokenize(ctx, add_special=True)) :]
        streams.append(stream)
    return streams


class RawLlama:
    """llama.cpp's C API with nothing on top: decode a stream, logits for its last token."""

    def __init__(self, path: Path, repack: bool, n_ctx: int = 4096, n_batch: int = 512) -> None:
        import llama_cpp

        self.ll: Any = llama_cpp
        llama_cpp.llama_backend_init()
        params = llama_cpp.llama_model_default_params()
        params.n_gpu_layers = 0
        params.use_extra_bufts = repack
        self.model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
        ctx_params = llama_cpp.llama_context_default_params()
        ctx_params.n_ctx, ctx_params.n_batch, ctx_params.n_ubatch = n_ctx, n_batch, n_batch
        ctx_params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        ctx_params.swa_full = True
        self.ctx = llama_cpp.llama_init_from_model(self.model, ctx_params)
        self.n_batch = n_batch
        self.batch = llama_cpp.llama_batch_init(n_batch, 0, 1)

    def decode(self, tokens: Sequence[int]) -> None:
        ll, batch = self.ll, self.batch
        ll.llama_memory_clear(ll.llama_get_memory(self.ctx), True)
        for start in range(0, len(tokens), self.n_batch):
            part = tokens[start : start + self.n_batch]
            batch.n_tokens = len(part)
            for i, token in enumerate(part):
                batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, start + i, 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = start + i == len(tokens) - 1
            if ll.llama_decode(self.ctx, batch) != 0:
                raise RuntimeError("llama_decode failed")

    def round(self, streams: Sequence[Sequence[int]]) -> tuple[int, float]:
        started = time.perf_counter()
        for stream in streams:
            self.decode(stream)
        return sum(len(s) for s in streams), time.perf_counter() - started

    def close(self) -> None:
        self.ll.llama_batch_free(self.batch)
        self.ll.llama_free(self.ctx)
        self.ll.llama_model_free(self.model)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="gemma3-270m", help="alias or GGUF path")
    parser.add_argument("--n", type=int, default=60, help="questions")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    parser.add_argument("--repack", choices=("on", "off"), default="off")
    args = parser.parse_args(argv)

    name, questions = mc_task(args.n)
    backend = LlamaCppBackend(ModelSpec.parse(f"llamacpp:{args.model},repack={args.repack}"))
    raw = RawLlama(resolve_model_path(args.model), repack=args.repack == "on")
    streams = token_streams(backend, questions)
    n_requests = sum(len(q) for q in questions)
    harness_tokens = sum(
        backend.count_tokens(r.context + r.continuation) + 1 for q in questions for r in q
    )
    print(f"model {args.model} (repack {args.repack}), task {name}: {len(questions)} questions,")
    print(f"  {n_requests} choices, {sum(map(len, streams))} distinct tokens per pass")
    bakeoff_round(backend, questions[:4])  # warm-up: page the weights in, size the buffers
    raw.round(streams[:4])
    distinct = sum(map(len, streams))
    bakeoff_rates, raw_rates = [], []
    for _ in range(args.rounds):
        _, raw_seconds = raw.round(streams)
        raw_rates.append(distinct / raw_seconds)
        evaluated, seconds = bakeoff_round(backend, questions)
        bakeoff_rates.append(distinct / seconds)
        print(
            f"  round: raw {raw_rates[-1]:7.1f} tok/s ({raw_seconds:.2f} s) | bakeoff "
            f"{bakeoff_rates[-1]:7.1f} tok/s ({seconds:.2f} s; {evaluated} tokens evaluated)"
        )
    bakeoff_rate = statistics.median(bakeoff_rates)
    raw_rate = statistics.median(raw_rates)
    seconds_per_pass = distinct / bakeoff_rate
    print(f"raw prompt processing (last logits only): {raw_rate:.1f} tok/s")
    print(f"bakeoff log-likelihood scoring:           {bakeoff_rate:.1f} tok/s")
    print(
        f"as the harness counts (every choice with its whole context): "
        f"{harness_tokens / seconds_per_pass:.1f} tok/s"
    )
    raw.close()
    backend.close()
    print(f"ratio {bakeoff_rate / raw_rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
