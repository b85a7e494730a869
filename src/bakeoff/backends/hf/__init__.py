"""Hugging Face transformers backend: ``hf:PATH_OR_ID[,gguf_file=NAME,dtype=...,device=...]``.

Scores exactly like lm-evaluation-harness's ``HFLM`` (same pair encoding, same left truncation,
log-softmax over the continuation positions, ``is_greedy`` by argmax) but never recomputes a
context shared by several continuations: a question's context and all its choices go in one
packed row (a tree-shaped attention mask), or, for models that take no custom mask, contexts
run once and every continuation runs on a copy of the context's KV cache. A prefix that every
document of a call shares (few-shot examples) runs once and its keys and values are reused,
also by later calls. Rows are batched to waste least on padding (``_batching``). Only the
logits that predict continuation tokens are computed, which matters for 262k-vocabulary models
such as Gemma, whose output layer costs more than the rest of the network.

Options: ``gguf_file`` (a GGUF file inside the directory; transformers dequantizes it),
``dtype`` (float32 default, bfloat16, float16), ``device`` (auto, cpu, cuda, cuda:N),
``batch_size`` (auto or the number of contexts per forward pass), ``max_length`` (override the
context window), ``threads`` (torch's CPU threads for the whole process; default torch's own:
on a machine shared with other work, fewer threads than cores can be much faster).
Targets: a model directory, a GGUF file path, a hub id, or a bundled alias
(``gemma3-270m``, ``smollm2-135m``, ... as for ``llamacpp``).

The package, by what each part does: ``_options`` (the spec), ``_model`` (loading, model info,
tokens and chat prompts; ``_info`` holds the facts transformers' config leaves out),
``_masks`` (which attention the model takes, packed rows' masks), ``_prefix`` (the shared
prefix's cache), ``_packed`` and ``_kv_cache`` (the two ways a batch is scored), ``_scoring``
(requests to batches), ``_batching`` (the batch planner), ``_generation`` and ``_backend``.
Each part is a class that extends the one below it, so all read the same loaded model:
``HFBackend`` is ``LoglikelihoodScoring`` (``PackedScoring`` and ``CacheScoring``, both on
``PrefixSharing`` on ``AttentionMasks``) and ``TextGeneration``, all on ``LoadedModel``.
"""

from __future__ import annotations

from bakeoff.backends.hf._backend import HFBackend
from bakeoff.backends.hf._batching import plan_batches, shared_prefix
from bakeoff.backends.hf._info import active_parameters, gguf_license, readme_license
from bakeoff.backends.hf._options import HFOptions, parse_options, resolve_target
from bakeoff.backends.hf._pairs import PairScore, SharedPrefix, TokenPair, Tokens
from bakeoff.backends.hf._scoring import rolling_windows

__all__ = [
    "HFBackend",
    "HFOptions",
    "PairScore",
    "SharedPrefix",
    "TokenPair",
    "Tokens",
    "active_parameters",
    "gguf_license",
    "parse_options",
    "plan_batches",
    "readme_license",
    "resolve_target",
    "rolling_windows",
    "shared_prefix",
]
