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

The package, by what each part does: ``_options`` (the spec's options), ``_session`` (loading,
tokens, the KV cache and padded decode calls), ``_info`` (model info from the GGUF metadata),
``_scoring`` (token pairs, rolling windows, the shared-context scorer), ``_generation`` (stops,
transcripts, sampling, decoding) and ``_backend`` (the backend that joins them).
"""

from __future__ import annotations

from bakeoff.backends.llamacpp._backend import LlamaCppBackend
from bakeoff.backends.llamacpp._generation import (
    Generator,
    find_stop,
    plain_transcript,
    truncate_at_stop,
)
from bakeoff.backends.llamacpp._info import model_info, quantization_name
from bakeoff.backends.llamacpp._options import LlamaCppOptions, parse_options
from bakeoff.backends.llamacpp._scoring import (
    ScoreGroup,
    Scorer,
    TokenPair,
    continuation_tokens,
    fit_window,
    harness_split,
    plan_groups,
    rolling_windows,
    score_row,
    share_seconds,
)
from bakeoff.backends.llamacpp._session import FloatRow, LlamaSession, Tokens, common_prefix_length

__all__ = [
    "FloatRow",
    "Generator",
    "LlamaCppBackend",
    "LlamaCppOptions",
    "LlamaSession",
    "ScoreGroup",
    "Scorer",
    "TokenPair",
    "Tokens",
    "common_prefix_length",
    "continuation_tokens",
    "find_stop",
    "fit_window",
    "harness_split",
    "model_info",
    "parse_options",
    "plain_transcript",
    "plan_groups",
    "quantization_name",
    "rolling_windows",
    "score_row",
    "share_seconds",
    "truncate_at_stop",
]
