"""The llama.cpp backend: pure scoring logic without a model, then the real bundled models.

Model tests (``-m model`` selects them; they skip when llama-cpp-python or the model packages are
missing) check the scores against a plain reference -- ``llama_cpp.Llama(logits_all=True)``,
every token's logits, log-softmax in numpy -- and that sharing contexts and KV-cache prefixes
changes no score. Each model is loaded once per module.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bakeoff.backends import llamacpp as lc
from bakeoff.backends.llamacpp._session import Entry, _chunks
from bakeoff.core.errors import ConfigError, ModelNotFoundError
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import (
    ChatMessage,
    GenerateRequest,
    GenerationResult,
    GenerationSettings,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RequestFailure,
    RollingLoglikelihoodRequest,
    RollingLoglikelihoodResult,
)

# =============================================================================================
# Pure functions
# =============================================================================================


def test_harness_split_moves_trailing_whitespace() -> None:
    assert lc.harness_split("Q: x\nA: ", "Paris") == ("Q: x\nA:", " Paris")
    assert lc.harness_split("A:\n\n", "b") == ("A:", "\n\nb")
    assert lc.harness_split("A:", " b") == ("A:", " b")
    assert lc.harness_split("   ", "b") == ("", "   b")
    assert lc.harness_split("", "b") == ("", "b")


def test_continuation_tokens_come_from_the_whole_encoding() -> None:
    # "ab" + "c" may tokenize as [ab, c] or merge: the continuation is what follows len(context).
    assert lc.continuation_tokens([1, 2], [1, 2, 3, 4]) == [3, 4]
    assert lc.continuation_tokens([1, 2], [1, 5]) == []


def test_fit_window_truncates_the_context_on_the_left() -> None:
    assert lc.fit_window([1, 2, 3], [4, 5], 10) == [1, 2, 3]
    assert lc.fit_window([1, 2, 3, 4, 5], [6, 7], 5) == [2, 3, 4, 5]  # 4 + 2 - 1 == 5
    assert lc.fit_window([1, 2], [3, 4, 5], 3) == [2]
    with pytest.raises(ValueError, match="exceeds n_ctx=3"):
        lc.fit_window([1], [2, 3, 4, 5], 3)


def _harness_windows(tokens: list[int], prefix: int, max_len: int) -> list[tuple[list[int], ...]]:
    """lm-evaluation-harness's get_rolling_token_windows + make_disjoint_window, verbatim."""
    out = []
    pred_len = max_len
    predicted = 0
    first_seq_len = min(max_len, len(tokens))
    out.append(([prefix, *tokens[: first_seq_len - 1]], tokens[:first_seq_len]))
    predicted += first_seq_len
    while predicted < len(tokens):
        window_pred_len = min(len(tokens) - predicted, pred_len)
        window_end = predicted + window_pred_len
        out.append(
            (
                tokens[window_end - max_len - 1 : window_end - 1],
                tokens[window_end - window_pred_len : window_end],
            )
        )
        predicted += window_pred_len
    return [(a[: len(a) - (len(b) - 1)], b) for a, b in out]


@pytest.mark.parametrize("n", [1, 2, 5, 7, 8, 9, 16, 17, 30])
@pytest.mark.parametrize("max_len", [1, 2, 4, 8])
def test_rolling_windows_match_the_harness(n: int, max_len: int) -> None:
    tokens = list(range(100, 100 + n))
    windows = lc.rolling_windows(tokens, 7, max_len)
    assert [tuple(w) for w in windows] == [tuple(w) for w in _harness_windows(tokens, 7, max_len)]
    assert [t for _, cont in windows for t in cont] == tokens  # each token predicted once
    for context, cont in windows:
        assert len(context) >= 1
        assert len(context) + len(cont) - 1 <= max_len
    assert lc.rolling_windows([], 7, 4) == []


def test_score_row_is_a_float64_log_softmax() -> None:
    logits = np.array([1.0, 3.0, 2.0, -1.0], dtype=np.float32)
    expected = logits.astype(np.float64) - np.log(np.exp(logits.astype(np.float64)).sum())
    for target in range(4):
        logprob, greedy = lc.score_row(logits, target)
        assert logprob == pytest.approx(expected[target], abs=1e-12)
        assert greedy == (target == 1)
    big = np.array([1e4, 1e4 - 1, -1e4], dtype=np.float32)  # no overflow on large logits
    assert lc.score_row(big, 0)[0] == pytest.approx(-math.log1p(math.exp(-1)), abs=1e-9)


def test_stop_sequences() -> None:
    assert lc.find_stop("abc. def\nghi", ["\n", "."]) == 3
    assert lc.find_stop("abc", ["x", ""]) is None
    assert lc.truncate_at_stop("The end.\nUser: hi", ["\nUser:"]) == ("The end.", True)
    assert lc.truncate_at_stop("no stop", ["\n"]) == ("no stop", False)
    assert lc.truncate_at_stop("abc", []) == ("abc", False)


def test_common_prefix_and_transcript() -> None:
    assert lc.common_prefix_length([1, 2, 3], [1, 2, 4]) == 2
    assert lc.common_prefix_length([1, 2], [1, 2, 3]) == 2
    assert lc.common_prefix_length([], [1]) == 0
    messages = (ChatMessage("system", "Be brief."), ChatMessage("user", "Hi?"))
    assert lc.plain_transcript(messages) == "System: Be brief.\nUser: Hi?\nAssistant:"


def test_plan_groups_sorts_groups_and_splits() -> None:
    items = [
        (0, [1, 2], [5]),
        (1, [1, 3], [6, 7]),
        (2, [1, 2], [4, 4, 4]),
        (3, [1, 2], [9]),
    ]
    groups = lc.plan_groups(items, n_ctx=100, max_branches=10)
    assert [(g.context, [i for i, _ in g.members]) for g in groups] == [
        ([1, 2], [2, 0, 3]),
        ([1, 3], [1]),
    ]
    by_branches = lc.plan_groups(items, n_ctx=100, max_branches=2)
    assert [[i for i, _ in g.members] for g in by_branches] == [[2, 0], [3], [1]]
    # Context (2 cells) + inputs of [4,4,4] (2 cells) fill n_ctx=4: the rest goes to a new group.
    by_cells = lc.plan_groups(items, n_ctx=4, max_branches=10)
    assert [[i for i, _ in g.members] for g in by_cells] == [[2, 0, 3], [1]]
    assert lc.plan_groups(items[:1], n_ctx=2, max_branches=1)[0].members == [(0, [5])]


def test_chunks_bound_tokens_and_rows() -> None:
    def entry(row: bool) -> Any:
        return Entry(0, 0, (0,), (lambda r: None) if row else None)

    entries = [entry(i % 2 == 0) for i in range(10)]  # 5 rows
    assert [len(c) for c in _chunks(entries, 4, 100)] == [4, 4, 2]
    assert [len(c) for c in _chunks(entries, 100, 2)] == [4, 4, 2]


def test_share_seconds() -> None:
    assert lc.share_seconds(1.0, [3, 1, 0]) == [0.75, 0.25, 0.0]
    assert lc.share_seconds(1.0, [0, 0]) == [0.5, 0.5]


def test_options() -> None:
    opts = lc.parse_options(ModelSpec.parse("llamacpp:m.gguf"))
    assert (opts.n_ctx, opts.n_batch, opts.seed, opts.chat) == (None, 512, 0, "auto")
    assert opts.n_threads >= 1
    opts = lc.parse_options(ModelSpec.parse("llamacpp:m.gguf,n_ctx=1024,n_threads=2,chat=off"))
    assert (opts.n_ctx, opts.n_threads, opts.chat) == (1024, 2, "off")
    for bad, message in [
        ("n_ctx=abc", "n_ctx='abc'"),
        ("n_threads=0", "n_threads='0'"),
        ("chat=maybe", "chat='maybe'"),
        ("temperature=1", "no option temperature"),
    ]:
        with pytest.raises(ConfigError, match=message):
            lc.parse_options(ModelSpec.parse(f"llamacpp:m.gguf,{bad}"))


def test_quantization_names() -> None:
    assert lc.quantization_name(15) == "Q4_K_M"
    assert lc.quantization_name(3) == "Q4_1"
    assert lc.quantization_name(None) is None
    assert lc.quantization_name(999) == "ftype 999"


def test_preflight_refuses_a_missing_file_before_loading() -> None:
    with pytest.raises(ModelNotFoundError, match=r"model file not found: /no/such/model\.gguf"):
        lc.LlamaCppBackend.preflight(ModelSpec.parse("llamacpp:/no/such/model.gguf"))
    with pytest.raises(ConfigError):
        lc.LlamaCppBackend.preflight(ModelSpec.parse("llamacpp:/no/such/model.gguf,chat=x"))


# =============================================================================================
# The real models
# =============================================================================================

MC_CONTEXT = (
    "Question: Which planet is known as the Red Planet?\n"
    "Choices: Venus, Mars, Jupiter, Saturn\nAnswer:"
)
MC_CHOICES = (" Mars", " Venus", " Jupiter, the largest planet", " Saturn and its rings")
FEW_SHOT = (
    "Answer each question with one word.\n\n"
    "Question: What color is the sky on a clear day?\nAnswer: Blue\n\n"
    "Question: What do bees make?\nAnswer: Honey\n\n"
)


@pytest.fixture(scope="module")
def llama_cpp() -> Any:
    return pytest.importorskip("llama_cpp", reason="pip install 'bakeoff[llamacpp]'")


@pytest.fixture(scope="module")
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Hashes and derived models go to a temporary cache, not the user's."""
    folder = tmp_path_factory.mktemp("bakeoff-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BAKEOFF_CACHE_DIR", str(folder))
        yield folder


def _model_path(alias: str) -> Path:
    from bakeoff.backends.models import resolve_model_path

    try:
        return resolve_model_path(alias)
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))


def _open(spec: str) -> lc.LlamaCppBackend:
    return lc.LlamaCppBackend(ModelSpec.parse(spec))


@pytest.fixture(scope="module")
def gemma(llama_cpp: Any, isolated_cache: Path) -> Iterator[lc.LlamaCppBackend]:
    _model_path("gemma3-270m")
    backend = _open("llamacpp:gemma3-270m")
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def smollm(llama_cpp: Any, isolated_cache: Path) -> Iterator[lc.LlamaCppBackend]:
    _model_path("smollm2-135m")
    backend = _open("llamacpp:smollm2-135m")
    yield backend
    backend.close()


class Reference:
    """Plain scoring: the whole token list in one llama.cpp decode call with logits at every
    position, log-softmax in numpy.

    Written against llama.cpp's C API directly rather than ``llama_cpp.Llama``, whose ``eval``
    returns wrong scores for SmolLM2 (no BOS token). As in the backend, repacked kernels are off
    and a call of fewer than 8 tokens is padded with tokens of another sequence (llama.cpp
    computes calls of under 8 tokens another way, with other rounding).
    """

    def __init__(self, llama_cpp: Any, path: Path, n_ctx: int = 1024) -> None:
        ll = self.ll = llama_cpp
        ll.llama_backend_init()
        model_params = ll.llama_model_default_params()
        model_params.n_gpu_layers = 0
        model_params.use_extra_bufts = False
        self.model = ll.llama_model_load_from_file(str(path).encode(), model_params)
        self.vocab = ll.llama_model_get_vocab(self.model)
        self.n_vocab = int(ll.llama_vocab_n_tokens(self.vocab))
        params = ll.llama_context_default_params()
        params.n_ctx = params.n_batch = params.n_ubatch = n_ctx
        params.swa_full = True
        params.n_seq_max, params.kv_unified = 2, True
        params.flash_attn_type = ll.LLAMA_FLASH_ATTN_TYPE_DISABLED
        self.ctx = ll.llama_init_from_model(self.model, params)
        self.batch = ll.llama_batch_init(n_ctx, 0, 1)

    def tokenize(self, text: str, add_special: bool) -> list[int]:
        data = text.encode()
        buffer = (self.ll.llama_token * (len(data) + 8))()
        n = self.ll.llama_tokenize(
            self.vocab, data, len(data), buffer, len(data) + 8, add_special, False
        )
        return list(buffer[:n])

    def bos(self) -> int:
        return int(self.ll.llama_vocab_bos(self.vocab))

    def token_logprobs(self, tokens: Sequence[int]) -> np.ndarray:
        """log P(tokens[i] | tokens[:i]) for i >= 1."""
        ll, batch = self.ll, self.batch
        ll.llama_memory_clear(ll.llama_get_memory(self.ctx), True)
        inputs = list(tokens[:-1])
        entries = [(token, i, 0) for i, token in enumerate(inputs)]
        entries += [(self.bos(), i, 1) for i in range(8 - len(inputs))]
        batch.n_tokens = len(entries)
        for i, (token, pos, seq) in enumerate(entries):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, pos, 1
            batch.seq_id[i][0], batch.logits[i] = seq, seq == 0
        assert ll.llama_decode(self.ctx, batch) == 0
        rows = np.stack(
            [
                np.ctypeslib.as_array(ll.llama_get_logits_ith(self.ctx, i), shape=(self.n_vocab,))
                for i in range(len(inputs))
            ]
        ).astype(np.float64)
        peak = rows.max(axis=1, keepdims=True)
        log_norm = peak[:, 0] + np.log(np.exp(rows - peak).sum(axis=1))
        return rows[np.arange(len(inputs)), tokens[1:]] - log_norm

    def loglikelihood(self, context: str, continuation: str) -> tuple[float, int]:
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:
            context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
        if context:
            ctx = self.tokenize(context, add_special=True)
            cont = self.tokenize(context + continuation, add_special=True)[len(ctx) :]
        else:  # the harness's empty context: the BOS token alone
            ctx, cont = [self.bos()], self.tokenize(continuation, add_special=False)
        return float(self.token_logprobs(ctx + cont)[len(ctx) - 1 :].sum()), len(cont)

    def close(self) -> None:
        self.ll.llama_batch_free(self.batch)
        self.ll.llama_free(self.ctx)
        self.ll.llama_model_free(self.model)


@pytest.fixture(scope="module")
def gemma_ref(llama_cpp: Any) -> Iterator[Reference]:
    ref = Reference(llama_cpp, _model_path("gemma3-270m"))
    yield ref
    ref.close()


@pytest.fixture(scope="module")
def smollm_ref(llama_cpp: Any) -> Iterator[Reference]:
    ref = Reference(llama_cpp, _model_path("smollm2-135m"))
    yield ref
    ref.close()


def _ll(results: Sequence[Any]) -> list[LoglikelihoodResult]:
    assert all(isinstance(r, LoglikelihoodResult) for r in results), results
    return list(results)


def _gen(results: Sequence[Any]) -> GenerationResult:
    (result,) = results
    assert isinstance(result, GenerationResult), result
    return result


def _requests() -> list[LoglikelihoodRequest]:
    questions = [
        MC_CONTEXT,
        FEW_SHOT + "Question: What is frozen water called?\nAnswer:",
        FEW_SHOT + "Question: Which animal barks?\nAnswer:",
    ]
    choices = [MC_CHOICES, (" Ice", " Steam", " Snowflakes falling"), (" Dog", " Cat", " Cow")]
    return [
        LoglikelihoodRequest(q, c) for q, cs in zip(questions, choices, strict=True) for c in cs
    ]


@pytest.mark.model
def test_gemma_info(gemma: lc.LlamaCppBackend) -> None:
    info = gemma.info()
    assert (info.architecture, info.vocab_size, info.context_length) == ("gemma3", 262144, 32768)
    assert (info.n_layers, info.n_heads, info.n_kv_heads) == (18, 4, 1)
    assert (info.embedding_length, info.head_dim) == (640, 256)
    assert info.quantization == "Q4_K_M"
    assert info.parameters is not None
    assert 260e6 < info.parameters < 280e6
    assert info.has_chat_template is False
    assert info.extra["chat_format"] == "transcript"
    assert info.license == "gemma"
    assert info.is_moe is False
    assert info.file_bytes == Path(info.source).stat().st_size
    assert info.sha256 is not None
    assert len(info.sha256) == 64
    assert info.extra["n_ctx"] == gemma.n_ctx == 4096


@pytest.mark.model
def test_smollm2_info(smollm: lc.LlamaCppBackend) -> None:
    info = smollm.info()
    assert (info.architecture, info.vocab_size, info.context_length) == ("llama", 49152, 8192)
    assert (info.n_layers, info.n_heads, info.n_kv_heads, info.embedding_length) == (30, 9, 3, 576)
    assert info.quantization == "Q4_1"
    assert info.parameters is not None
    assert 130e6 < info.parameters < 140e6
    assert info.has_chat_template is True
    assert info.extra["chat_format"] == "template"
    assert info.license == "apache-2.0"
    assert info.sha256 == hashlib.sha256(Path(info.source).read_bytes()).hexdigest()


@pytest.mark.model
def test_scores_match_the_full_logits_reference(
    gemma: lc.LlamaCppBackend, gemma_ref: Reference
) -> None:
    requests = [*_requests(), LoglikelihoodRequest("", "The capital of France is Paris.")]
    for request, result in zip(requests, _ll(gemma.loglikelihood(requests)), strict=True):
        expected, n_tokens = gemma_ref.loglikelihood(request.context, request.continuation)
        assert result.n_tokens == n_tokens
        assert result.logprob == pytest.approx(expected, abs=1e-4), request


@pytest.mark.model
def test_alone_or_batched_same_score(gemma: lc.LlamaCppBackend) -> None:
    requests = _requests()
    batched = _ll(gemma.loglikelihood(requests))
    for request, together in zip(reversed(requests), reversed(batched), strict=True):
        (alone,) = _ll(gemma.loglikelihood([request]))
        assert alone.logprob == pytest.approx(together.logprob, abs=1e-4)
        assert (alone.is_greedy, alone.n_tokens) == (together.is_greedy, together.n_tokens)
    shuffled = [requests[i] for i in (4, 0, 8, 2, 6, 1, 3, 7, 5, 9)]
    for request, result in zip(shuffled, _ll(gemma.loglikelihood(shuffled)), strict=True):
        assert result.logprob == pytest.approx(batched[requests.index(request)].logprob, abs=1e-4)


@pytest.mark.model
def test_shared_context_is_evaluated_once(gemma: lc.LlamaCppBackend) -> None:
    session = gemma._session
    rows: list[int] = []
    real = session._decode_chunk

    def counting(chunk: Sequence[Entry]) -> None:
        rows.append(sum(e.on_row is not None for e in chunk))
        real(chunk)

    context = "A fresh context that no earlier test used: the colour of grass is"
    choices = [" green", " blue", " red", " light green"]
    ctx_tokens = gemma.count_tokens(context) + 1  # + BOS
    session._decode_chunk = counting  # type: ignore[method-assign]
    try:
        first = _ll(gemma.loglikelihood([LoglikelihoodRequest(context, c) for c in choices]))
        again = _ll(gemma.loglikelihood([LoglikelihoodRequest(context, c) for c in choices]))
    finally:
        del session._decode_chunk
    n_cont = [r.n_tokens for r in first]
    assert n_cont[:3] == [1, 1, 1]
    assert n_cont[3] == 2
    # First call: the context once (one logits row, at its end), then one call for the
    # continuation that needs more than its first token (" light" -> " green"). Second call:
    # the context and its last row are cached, so only that continuation runs again.
    assert rows == [1, 1, 1]
    assert sum(r.usage.prompt_tokens + r.usage.cached_prompt_tokens for r in first[:1]) <= (
        ctx_tokens + 1
    )
    assert sum(r.usage.prompt_tokens for r in first) <= ctx_tokens + 1
    # The second time the context and its last logits row are cached: only " light" is run.
    assert sum(r.usage.prompt_tokens for r in again) == 1
    assert all(r.usage.cached_prompt_tokens == ctx_tokens for r in again)
    for a, b in zip(first, again, strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-4)


@pytest.mark.model
def test_few_shot_prefix_is_reused_across_requests(gemma: lc.LlamaCppBackend) -> None:
    prefix_tokens = gemma.count_tokens(FEW_SHOT)
    gemma.loglikelihood([LoglikelihoodRequest(FEW_SHOT + "Question: Who wrote Hamlet?", "x")])
    (second,) = _ll(
        gemma.loglikelihood([LoglikelihoodRequest(FEW_SHOT + "Question: What is 2+2?", " 4")])
    )
    assert second.usage.cached_prompt_tokens >= prefix_tokens - 1
    assert second.usage.prompt_tokens < 15


@pytest.mark.model
def test_scores_do_not_depend_on_the_cached_prefix(gemma: lc.LlamaCppBackend) -> None:
    """A request scored from a cold cache, after a request sharing most of its prefix, and
    after an unrelated one gets the same log-likelihood: how much of the context is re-run
    (here 1 to ~30 tokens, above and below llama.cpp's 8-token kernel switch) changes nothing."""
    target = LoglikelihoodRequest(FEW_SHOT + "Question: What do cows drink?\nAnswer:", " Water")
    warmers = [
        LoglikelihoodRequest(FEW_SHOT + "Question: What do cows eat?\nAnswer:", " Grass"),
        LoglikelihoodRequest(FEW_SHOT + "Question: What", " is"),
        LoglikelihoodRequest("Something else entirely.", " Yes"),
    ]
    gemma._session.reset()
    (cold,) = _ll(gemma.loglikelihood([target]))
    for warmer in warmers:
        gemma.loglikelihood([warmer])
        (warm,) = _ll(gemma.loglikelihood([target]))
        assert warm.logprob == pytest.approx(cold.logprob, abs=1e-4), warmer
        assert warm.is_greedy == cold.is_greedy


@pytest.mark.model
def test_is_greedy_agrees_with_greedy_generation(gemma: lc.LlamaCppBackend) -> None:
    prompt = "The capital of France is"
    settings = GenerationSettings(max_tokens=6)
    text = _gen(gemma.generate([GenerateRequest(prompt, settings)])).text
    (greedy,) = _ll(gemma.loglikelihood([LoglikelihoodRequest(prompt, text)]))
    assert greedy.is_greedy
    assert greedy.n_tokens == 6
    (other,) = _ll(gemma.loglikelihood([LoglikelihoodRequest(prompt, " banana")]))
    assert not other.is_greedy


@pytest.mark.model
def test_greedy_generation_is_deterministic(gemma: lc.LlamaCppBackend) -> None:
    request = GenerateRequest("Once upon a time", GenerationSettings(max_tokens=16))
    first = _gen(gemma.generate([request]))
    gemma.loglikelihood([LoglikelihoodRequest("Something else entirely", " here")])
    second = _gen(gemma.generate([request]))
    assert first.text == second.text
    assert first.text.strip()
    assert first.finish_reason == "length"
    assert first.usage.output_tokens == 16
    assert second.usage.cached_prompt_tokens >= 1
    assert first.usage.prompt_seconds is not None
    assert first.usage.output_seconds is not None


@pytest.mark.model
def test_sampling_is_seeded(gemma: lc.LlamaCppBackend) -> None:
    def sample(seed: int) -> str:
        settings = GenerationSettings(max_tokens=12, temperature=1.0, top_p=0.95, seed=seed)
        return _gen(gemma.generate([GenerateRequest("My favourite food is", settings)])).text

    assert sample(1) == sample(1)
    assert len({sample(seed) for seed in (2, 3, 4)}) > 1


@pytest.mark.model
def test_stop_sequences_are_honoured(gemma: lc.LlamaCppBackend) -> None:
    prompt = "The capital of France is"
    full = _gen(gemma.generate([GenerateRequest(prompt, GenerationSettings(max_tokens=20))]))
    assert "." in full.text, full.text
    stops = (" It is", ".")
    settings = GenerationSettings(max_tokens=20, stop=stops)
    cut = _gen(gemma.generate([GenerateRequest(prompt, settings)]))
    expected = full.text[: min(i for i in (full.text.find(s) for s in stops) if i >= 0)]
    assert cut.text == expected
    assert cut.finish_reason == "stop"
    assert cut.usage.output_tokens < 20


@pytest.mark.model
def test_gemma_chat_uses_a_plain_transcript(gemma: lc.LlamaCppBackend) -> None:
    messages = (ChatMessage("user", "What is the capital of France?"),)
    result = _gen(gemma.generate([GenerateRequest(messages, GenerationSettings(max_tokens=24))]))
    assert "User:" not in result.text
    assert result.usage.prompt_tokens + result.usage.cached_prompt_tokens == (
        1 + gemma.count_tokens("User: What is the capital of France?\nAssistant:")
    )


@pytest.mark.model
def test_smollm2_chat_uses_its_template(smollm: lc.LlamaCppBackend) -> None:
    # What the model answers depends on the CPU kernels llama.cpp was built with (greedy answers
    # of a 135M model flip between builds), so the prompt is what is checked: SmolLM2's ChatML
    # template with its default system turn, written out by hand here.
    question = "Which city is the capital of France?"
    expected_prompt = (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
        f"<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
    )
    expected_tokens = smollm._session.tokenize(
        expected_prompt, add_special=False, parse_special=True
    )
    assert 1 in expected_tokens  # <|im_start|> parsed as the special token, not as text
    messages = (ChatMessage("user", question),)
    result = _gen(smollm.generate([GenerateRequest(messages, GenerationSettings(max_tokens=24))]))
    assert result.usage.prompt_tokens + result.usage.cached_prompt_tokens == len(expected_tokens)
    assert result.text.strip()
    assert "<|im_end|>" not in result.text
    assert "<|im_start|>" not in result.text


@pytest.mark.model
def test_smollm2_without_bos_scores_sensibly(
    smollm: lc.LlamaCppBackend, smollm_ref: Reference
) -> None:
    requests = [
        LoglikelihoodRequest(
            "The capital of France is", " Paris. It is known for the Eiffel Tower."
        ),
        LoglikelihoodRequest("", "The capital of France is Paris."),
        *_requests()[:4],
    ]
    results = _ll(smollm.loglikelihood(requests))
    for request, result in zip(requests, results, strict=True):
        expected, _ = smollm_ref.loglikelihood(request.context, request.continuation)
        assert result.logprob == pytest.approx(expected, abs=1e-4)
    # The echo-logprobs bug gives about -11 for every token; real scores are far better.
    assert results[0].logprob / results[0].n_tokens > -4
    assert results[1].logprob / results[1].n_tokens > -6


@pytest.mark.model
def test_rolling_equals_the_reference_sum(gemma: lc.LlamaCppBackend, gemma_ref: Reference) -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 3 + "Then it ran into the forest."
    (result,) = gemma.loglikelihood_rolling([RollingLoglikelihoodRequest(text)])
    assert isinstance(result, RollingLoglikelihoodResult)
    tokens = gemma_ref.tokenize(text, add_special=False)
    expected = gemma_ref.token_logprobs([gemma_ref.bos(), *tokens]).sum()
    assert result.n_tokens == len(tokens)
    assert result.logprob == pytest.approx(expected, abs=1e-4)


@pytest.mark.model
def test_rolling_windows_on_a_small_context(
    llama_cpp: Any, isolated_cache: Path, smollm_ref: Reference
) -> None:
    small = _open("llamacpp:smollm2-135m,n_ctx=32")
    try:
        window = small.n_ctx
        text = " ".join(f"Line {i}: the number after {i} is {i + 1}." for i in range(12))
        tokens = smollm_ref.tokenize(text, add_special=False)
        assert len(tokens) > 2 * window, "the text must span several windows"
        (result,) = small.loglikelihood_rolling([RollingLoglikelihoodRequest(text)])
        assert isinstance(result, RollingLoglikelihoodResult)
        expected = 0.0
        for context, cont in _harness_windows(tokens, smollm_ref.bos(), window):
            expected += smollm_ref.token_logprobs(context + cont)[len(context) - 1 :].sum()
        assert result.n_tokens == len(tokens)
        assert result.logprob == pytest.approx(expected, abs=1e-4)
        # A continuation longer than the window cannot be scored: a failure, not a crash.
        (too_long,) = small.loglikelihood([LoglikelihoodRequest("a", " b" * (window + 5))])
        assert isinstance(too_long, RequestFailure)
        assert "exceeds n_ctx" in too_long.reason
    finally:
        small.close()


@pytest.mark.model
def test_count_tokens_and_empty_continuation(gemma: lc.LlamaCppBackend) -> None:
    assert gemma.count_tokens("Hello world") == 2
    assert gemma.count_tokens("") == 0
    (empty,) = _ll(gemma.loglikelihood([LoglikelihoodRequest("Hello", "")]))
    assert (empty.logprob, empty.n_tokens, empty.is_greedy) == (0.0, 0, True)


@pytest.mark.model
def test_quantized_variant_loads_and_writes_text(llama_cpp: Any, isolated_cache: Path) -> None:
    _model_path("gemma3-270m")
    backend = _open("llamacpp:gemma3-270m-q3_k_m")
    try:
        assert backend.info().quantization == "Q3_K_M"
        settings = GenerationSettings(max_tokens=12)
        text = _gen(backend.generate([GenerateRequest("The capital of France is", settings)])).text
        assert len(text.split()) >= 5, text  # words, not bytes: it decodes to real text
        q4 = _model_path("gemma3-270m").stat().st_size
        assert backend.info().file_bytes is not None
        assert backend.info().file_bytes < 0.7 * q4  # Q4_0 embeddings: 158 MB vs 253 MB
        (paris,) = _ll(
            backend.loglikelihood([LoglikelihoodRequest("The capital of France is", " Paris")])
        )
        assert paris.logprob > -6
    finally:
        backend.close()
