"""The `hf` backend on the real SmolLM2 GGUF (dequantized by transformers): shared-context
scoring equals one-request-at-a-time scoring and a direct full-logits reference; greedy
generation is deterministic; options and paths fail with one-line errors."""

from __future__ import annotations

import copy
import dataclasses
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bakeoff.backends.base import BACKENDS, open_backend, preflight
from bakeoff.backends.hf import (
    active_parameters,
    gguf_license,
    parse_options,
    readme_license,
    rolling_windows,
)
from bakeoff.core.chat import chat_request
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

LONG = (
    "The committee met on Tuesday to review the budget. After a long discussion about "
    "maintenance, salaries and the new library wing, the members agreed to postpone the vote "
    "until the auditors had finished their report. Question: when will the vote happen?\nAnswer:"
)
REQUESTS = [
    LoglikelihoodRequest("The capital of France is", " Paris"),
    LoglikelihoodRequest("The capital of France is", " London"),
    LoglikelihoodRequest("The capital of France is", " a city called Berlin in Germany"),
    LoglikelihoodRequest(LONG, " after the audit report"),
    LoglikelihoodRequest(LONG, " on Tuesday"),
    LoglikelihoodRequest(LONG, " never"),
    LoglikelihoodRequest("2 + 2 =", " 4"),
    LoglikelihoodRequest("Trailing space here ", "moves into the continuation"),
    LoglikelihoodRequest("", "An empty context is conditioned on the prefix token."),
]


@pytest.fixture(scope="module")
def smol() -> Iterator[Any]:
    pytest.importorskip("torch", reason="torch not installed (pip install 'bakeoff[hf]')")
    pytest.importorskip("transformers", reason="transformers not installed (bakeoff[hf])")
    pytest.importorskip("gguf", reason="gguf not installed (bakeoff[hf])")
    try:
        spec = ModelSpec.parse("hf:smollm2-135m")
        preflight(spec)
        backend = open_backend(spec)
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    yield backend
    backend.close()


def _variant(backend: Any, **options: Any) -> Any:
    """The loaded backend with other options (loading SmolLM2 again costs ~20 s each time)."""
    other = copy.copy(backend)
    other.options = dataclasses.replace(backend.options, **options)
    other.max_length = options.get("max_length") or backend.max_length
    return other


def _reference(backend: Any, request: LoglikelihoodRequest) -> tuple[float, bool]:
    """log P(continuation | context) from one plain forward pass over all logits, the harness's
    way: float32 log-softmax over the vocabulary (its bias, ~2e-5 nats a token on a 49k
    vocabulary, is then shared), summed in float64."""
    torch = backend.torch
    context, continuation = backend.encode_pair(request.context, request.continuation)
    with torch.inference_mode():
        ids = torch.tensor([(context + continuation)[:-1]])
        logits = backend.model(ids).logits[0, -len(continuation) :].float()
        logprobs = torch.log_softmax(logits, dim=-1).double()
        wanted = torch.tensor(continuation)
        total = float(logprobs.gather(1, wanted.unsqueeze(1)).sum())
        return total, bool((logprobs.argmax(-1) == wanted).all())


@pytest.mark.model
def test_shared_context_batch_equals_per_request_and_reference(smol: Any) -> None:
    batched = smol.loglikelihood(REQUESTS)
    assert all(isinstance(r, LoglikelihoodResult) for r in batched)
    for request, together in zip(REQUESTS, batched, strict=True):
        alone = smol.loglikelihood([request])[0]
        assert isinstance(together, LoglikelihoodResult)
        assert isinstance(alone, LoglikelihoodResult)
        reference, greedy = _reference(smol, request)
        assert together.logprob == pytest.approx(alone.logprob, abs=1e-4)
        assert together.logprob == pytest.approx(reference, abs=1e-4)
        assert together.is_greedy == alone.is_greedy == greedy
        assert together.logprob < 0
    # Choices after the first of a shared context reuse its KV cache.
    assert [r.usage.cached_prompt_tokens > 0 for r in batched[:3]] == [False, True, True]


@pytest.fixture(scope="module")
def harness(smol: Any) -> Any:
    """lm-evaluation-harness's own HFLM on the very model object the backend loaded."""
    huggingface = pytest.importorskip(
        "lm_eval.models.huggingface", reason="lm-evaluation-harness not installed (bakeoff[lmeval])"
    )
    return huggingface.HFLM(pretrained=smol.model, tokenizer=smol.tokenizer, batch_size=4)


def _harness_scores(lm: Any, pairs: list[tuple[str, str]]) -> list[tuple[float, bool]]:
    from lm_eval.api.instance import Instance

    instances = [
        Instance("loglikelihood", doc={}, arguments=pair, idx=i) for i, pair in enumerate(pairs)
    ]
    return [(float(lp), bool(greedy)) for lp, greedy in lm.loglikelihood(instances)]


@pytest.mark.model
def test_scores_equal_lm_eval_hflm_on_the_same_model(smol: Any, harness: Any) -> None:
    ours = smol.loglikelihood(REQUESTS)
    theirs = _harness_scores(harness, [(r.context, r.continuation) for r in REQUESTS])
    for result, (logprob, greedy) in zip(ours, theirs, strict=True):
        assert isinstance(result, LoglikelihoodResult)
        assert result.logprob == pytest.approx(logprob, abs=1e-4)
        assert result.is_greedy == greedy


@pytest.mark.model
def test_chat_requests_are_rendered_like_the_harness_apply_chat_template(
    smol: Any, harness: Any
) -> None:
    messages = (
        ChatMessage("system", "The following are multiple choice questions about colours.\n\n"),
        ChatMessage("user", "What colour is the sky?\nA. green\nB. blue\nAnswer:"),
    )
    history = [{"role": m.role, "content": m.content} for m in messages]
    rendered = harness.apply_chat_template(history, add_generation_prompt=True)
    assert smol.context_text(chat_request(messages, "B")) == rendered
    ours = smol.loglikelihood([chat_request(messages, c) for c in ("A", "B")])
    theirs = _harness_scores(harness, [(rendered, "A"), (rendered, "B")])
    for result, (logprob, greedy) in zip(ours, theirs, strict=True):
        assert isinstance(result, LoglikelihoodResult)
        assert result.logprob == pytest.approx(logprob, abs=1e-4)
        assert result.is_greedy == greedy


@pytest.mark.model
def test_batch_size_option_and_small_token_budget_give_the_same_scores(smol: Any) -> None:
    auto = [r.logprob for r in smol.loglikelihood(REQUESTS) if isinstance(r, LoglikelihoodResult)]
    one = _variant(smol, batch_size=1)
    single = [r.logprob for r in one.loglikelihood(REQUESTS) if isinstance(r, LoglikelihoodResult)]
    assert single == pytest.approx(auto, abs=1e-4)


@pytest.mark.model
def test_trailing_space_moves_to_the_continuation_like_the_harness(smol: Any) -> None:
    context, continuation = smol.encode_pair("Trailing space here ", "word")
    assert smol.tokenizer.decode(context) == "Trailing space here"
    assert smol.tokenizer.decode(continuation) == " word"


@pytest.mark.model
def test_left_truncation_keeps_the_last_max_length_tokens(smol: Any) -> None:
    short = _variant(smol, max_length=12)
    request = LoglikelihoodRequest(LONG, " after the audit report")
    context, continuation = short.encode_pair(request.context, request.continuation)
    kept = (context + continuation)[-13:]
    result = short.loglikelihood([request])[0]
    torch = short.torch
    with torch.inference_mode():
        logits = short.model(torch.tensor([kept[:-1]])).logits[0, -len(continuation) :]
        logprobs = torch.log_softmax(logits.float(), dim=-1).double()
        expected = float(logprobs.gather(1, torch.tensor(continuation).unsqueeze(1)).sum())
    assert isinstance(result, LoglikelihoodResult)
    assert result.logprob == pytest.approx(expected, abs=1e-4)


@pytest.mark.model
def test_rolling_loglikelihood_sums_the_windows(smol: Any) -> None:
    text = "Perplexity is computed over windows of the model's context, one after another."
    whole = smol.loglikelihood_rolling([RollingLoglikelihoodRequest(text)])[0]
    assert isinstance(whole, RollingLoglikelihoodResult)
    tokens = smol.tokenizer.encode(text, add_special_tokens=False)
    assert whole.n_tokens == len(tokens)
    # One window: the same as scoring the text after the prefix token.
    direct = smol.score_pairs([([smol.prefix_token_id], tokens)])[0]
    assert whole.logprob == pytest.approx(direct.logprob, abs=1e-4)
    windowed = _variant(smol, max_length=8).loglikelihood_rolling(
        [RollingLoglikelihoodRequest(text)]
    )[0]
    assert isinstance(windowed, RollingLoglikelihoodResult)
    assert windowed.logprob < 0
    assert windowed.logprob != pytest.approx(whole.logprob, abs=1e-3)


@pytest.mark.model
def test_greedy_generation_is_deterministic_and_stops(smol: Any) -> None:
    settings = GenerationSettings(max_tokens=12, stop=("\n",))
    request = GenerateRequest("Write the numbers from one to five: one, two,", settings)
    first, second = smol.generate([request, request])
    assert isinstance(first, GenerationResult)
    assert isinstance(second, GenerationResult)
    assert first.text == second.text
    assert "\n" not in first.text
    assert first.text.strip()
    assert first.usage.output_tokens > 0


@pytest.mark.model
def test_chat_prompts_use_the_tokenizer_template(smol: Any) -> None:
    rendered = smol.render((ChatMessage("user", "Say hi."),))
    assert "Say hi." in rendered
    assert rendered != "Say hi."
    assert rendered.startswith("<|im_start|>")
    settings = GenerationSettings(max_tokens=8)
    result = smol.generate([GenerateRequest((ChatMessage("user", "Say hi."),), settings)])[0]
    assert isinstance(result, GenerationResult)
    assert result.text.strip()


@pytest.mark.model
def test_info_comes_from_the_model_config(smol: Any) -> None:
    info = smol.info()
    assert info.backend == "hf"
    assert info.architecture == "llama"
    assert info.n_layers == 30
    assert info.n_heads == 9
    assert info.n_kv_heads == 3
    assert info.vocab_size == 49152
    assert info.context_length == 8192
    assert info.parameters is not None
    assert 100e6 < info.parameters < 200e6
    assert info.has_chat_template is True
    assert info.is_moe is False
    assert info.active_parameters == info.parameters  # dense: every parameter is used
    assert info.license == "apache-2.0"  # the GGUF's general.license
    assert info.sha256 is not None
    assert len(info.sha256) == 64


def test_active_parameters_dense_or_unknown_for_experts() -> None:
    dense = types.SimpleNamespace(num_hidden_layers=2)
    assert active_parameters(dense, 1000) == 1000
    assert active_parameters(types.SimpleNamespace(num_local_experts=1), 1000) == 1000
    for key in ("num_local_experts", "num_experts", "n_routed_experts"):
        assert active_parameters(types.SimpleNamespace(**{key: 8}), 1000) is None


def test_license_from_model_card_front_matter(tmp_path: Path) -> None:
    assert readme_license(str(tmp_path)) is None  # no card
    card = tmp_path / "README.md"
    card.write_text("---\nlanguage: en\nlicense: apache-2.0\ntags: [x]\n---\n# Model\n")
    assert readme_license(str(tmp_path)) == "apache-2.0"
    card.write_text("---\nlicense:\n  - 'mit'\n---\n")
    assert readme_license(str(tmp_path)) == "mit"
    # A license: line in the body is not metadata.
    card.write_text("# Model\n\nlicense: gemma\n")
    assert readme_license(str(tmp_path)) is None


def test_license_from_gguf_metadata(tmp_path: Path) -> None:
    gguf = pytest.importorskip("gguf", reason="gguf not installed (bakeoff[hf])")
    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_license("gemma")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert gguf_license(path) == "gemma"
    assert gguf_license(tmp_path / "missing.gguf") is None


def test_rolling_windows_match_the_harness_layout() -> None:
    tokens = list(range(10))
    assert rolling_windows(tokens, -1, 4) == [
        ([-1], [0, 1, 2, 3]),
        ([3], [4, 5, 6, 7]),
        ([5, 6, 7], [8, 9]),
    ]
    assert rolling_windows([], -1, 4) == []


def test_rolling_windows_equal_lm_eval_utils_when_installed() -> None:
    utils = pytest.importorskip("lm_eval.utils", reason="lm-evaluation-harness not installed")
    for length in (1, 7, 16, 33):
        tokens = list(range(100, 100 + length))
        expected = [
            utils.make_disjoint_window(w)
            for w in utils.get_rolling_token_windows(tokens, 0, 8, context_len=1)
        ]
        assert rolling_windows(tokens, 0, 8) == expected


def test_registered_and_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    assert "hf" in BACKENDS
    with pytest.raises(ConfigError, match="dtype"):
        parse_options(ModelSpec.parse("hf:some/model,dtype=int3"))
    with pytest.raises(ConfigError, match="no option"):
        parse_options(ModelSpec.parse("hf:some/model,n_ctx=4"))
    with pytest.raises(ConfigError, match="batch_size"):
        parse_options(ModelSpec.parse("hf:some/model,batch_size=0"))
    with pytest.raises(ModelNotFoundError, match="not found"):
        parse_options(ModelSpec.parse(f"hf:{tmp_path}/missing.gguf"))
    with pytest.raises(ModelNotFoundError, match=r"nope\.gguf"):
        parse_options(ModelSpec.parse(f"hf:{tmp_path},gguf_file=nope.gguf"))
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"GGUF")
    options = parse_options(ModelSpec.parse(f"hf:{weights},device=cpu,batch_size=8,threads=1"))
    assert (options.pretrained, options.gguf_file) == (str(tmp_path.resolve()), "model.gguf")
    assert (options.device, options.batch_size, options.dtype) == ("cpu", 8, "float32")
    assert options.threads == 1
    with pytest.raises(ConfigError, match="threads"):
        parse_options(ModelSpec.parse("hf:some/model,threads=many"))


@pytest.mark.model
def test_an_empty_continuation_fails_alone(smol: Any) -> None:
    empty, fine = smol.loglikelihood(
        [LoglikelihoodRequest("Some context", ""), LoglikelihoodRequest("Some context", " ok")]
    )
    assert isinstance(empty, RequestFailure)
    assert "no tokens" in empty.reason
    assert isinstance(fine, LoglikelihoodResult)


SHOTS = "".join(
    f"Review: {text}\nSentiment: {label}\n\n"
    for text, label in [
        ("The plot was thin but the acting carried it.", "positive"),
        ("I walked out after twenty minutes.", "negative"),
        ("A warm, funny film with a great cast.", "positive"),
        ("Dull, long and badly lit.", "negative"),
    ]
)
FEW_SHOT = [
    LoglikelihoodRequest(f"{SHOTS}Review: {text}\nSentiment:", choice)
    for text in ("Loved every minute.", "The sound was awful.", "It was fine, I guess.")
    for choice in (" positive", " negative", " neither good nor bad")
]


@pytest.mark.model
def test_a_prefix_shared_by_documents_runs_once_and_changes_no_score(smol: Any) -> None:
    fresh = _variant(smol)
    fresh._prefix = None
    shared = fresh.loglikelihood(FEW_SHOT)
    prefix = fresh._prefix
    assert prefix is not None
    assert smol.tokenizer.decode(list(prefix.tokens)).startswith(SHOTS.rstrip())
    for request, result in zip(FEW_SHOT, shared, strict=True):
        assert isinstance(result, LoglikelihoodResult)
        reference, greedy = _reference(smol, request)
        assert result.logprob == pytest.approx(reference, abs=1e-4)
        assert result.is_greedy == greedy
        # Every request reads the shots from the cache; choices after the first, its question too.
        assert result.usage.cached_prompt_tokens >= len(prefix.tokens)
    # The next call (the runner's next chunk) reuses the kept prefix: same object, same scores.
    again = fresh.loglikelihood(FEW_SHOT[3:6])
    assert fresh._prefix is prefix
    assert [r.logprob for r in again] == pytest.approx([r.logprob for r in shared[3:6]], abs=1e-5)


@pytest.mark.model
def test_models_without_custom_masks_share_the_prefix_through_the_kv_cache(smol: Any) -> None:
    """The KV-cache path (models that take no custom attention mask: flash-attention, hybrid
    layers) runs the shared prefix once too, with the model's own cache and masks."""
    plain = _variant(smol)
    plain.__dict__["packing"] = None  # as for a model whose attention takes no custom mask
    plain._prefix = None
    results = plain.loglikelihood(FEW_SHOT)
    assert plain._prefix is not None
    assert len(plain._prefix.tokens) > 40
    for request, result in zip(FEW_SHOT, results, strict=True):
        assert isinstance(result, LoglikelihoodResult)
        reference, greedy = _reference(smol, request)
        assert result.logprob == pytest.approx(reference, abs=1e-4)
        assert result.is_greedy == greedy
        assert result.usage.cached_prompt_tokens >= len(plain._prefix.tokens)
