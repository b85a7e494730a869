"""Reasoning models on the wire: scripted local servers send the streams and usage objects the
providers document, and the backends must keep the thinking apart from the answer, count the
reasoning tokens the server reports (or the tokenizer counts), time the first answer token apart
from the first token, and send the spec's reasoning settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.helpers_reasoning import PAUSE, anthropic_stream, openai_stream
from tests.helpers_servers import SseScript, serving

from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import GenerateRequest, GenerationResult, GenerationSettings

pytest.importorskip("openai")
pytest.importorskip("anthropic")


@pytest.fixture
def script() -> Iterator[SseScript]:
    with serving(SseScript()) as server:
        yield server


def _generate(spec: str, prompt: str = "2+2?", max_tokens: int = 16) -> GenerationResult:
    from bakeoff.backends.base import open_backend

    backend = open_backend(ModelSpec.parse(spec))
    try:
        request = GenerateRequest(prompt, GenerationSettings(max_tokens=max_tokens))
        (outcome,) = backend.generate([request])
    finally:
        backend.close()
    assert isinstance(outcome, GenerationResult), outcome
    return outcome


def test_openai_reasoning_usage_is_stored_and_settings_are_sent(script: SseScript) -> None:
    usage = {
        "prompt_tokens": 12,
        "completion_tokens": 90,
        "total_tokens": 102,
        "prompt_tokens_details": {"cached_tokens": 8},
        "completion_tokens_details": {"reasoning_tokens": 84},
    }
    script.replies.append(openai_stream([], ["The answer", " is 4."], usage, "reasoning"))
    result = _generate(
        f"openai:o-like,base_url={script.base_url},reasoning_effort=High,thinking_budget=200"
    )
    assert result.text == "The answer is 4."
    assert result.usage.reasoning_tokens == 84
    assert result.usage.output_tokens == 90
    assert result.usage.cached_prompt_tokens == 8
    (body,) = script.bodies
    assert body["reasoning_effort"] == "high"
    assert body["max_tokens"] == 16 + 200  # the answer's limit plus room to think


def test_reasoning_content_deltas_are_kept_out_of_the_answer_and_timed_apart(
    script: SseScript,
) -> None:
    # llama.cpp's server (--reasoning-format deepseek) and DeepSeek: thinking in its own field,
    # usage without a reasoning breakdown, so the named tokenizer counts the thinking.
    usage = {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}
    thinking = ["Two plus", " two is", " four."]
    script.replies.append(openai_stream(thinking, ["4"], usage, "reasoning_content"))
    result = _generate(f"openai:r1,base_url={script.base_url},tokenizer=server")
    assert result.text == "4"
    assert result.usage.reasoning_tokens == 5  # "Two plus two is four." in words
    assert result.usage.first_answer_seconds is not None
    assert result.usage.prompt_seconds is not None
    assert result.usage.first_answer_seconds >= result.usage.prompt_seconds + PAUSE * 0.8


def test_reasoning_tokens_are_unknown_without_a_report_or_a_tokenizer(script: SseScript) -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}
    script.replies.append(openai_stream(["hmm"], ["4"], usage, "reasoning"))
    script.replies.append(openai_stream([], ["4"], usage, "reasoning"))
    thought = _generate(f"openai:r1,base_url={script.base_url}")
    plain = _generate(f"openai:r1,base_url={script.base_url}")
    assert (thought.text, thought.usage.reasoning_tokens) == ("4", None)
    assert (plain.text, plain.usage.reasoning_tokens) == ("4", 0)


@pytest.mark.parametrize(
    ("option", "marks", "answer"),
    [
        ("", ("<think>", "</think>"), "The answer is 7."),
        (",think_end=[/THINK]", ("[THINK]", "[/THINK]"), "The answer is 7."),  # Magistral's
        (
            ",think_end=none",
            ("<think>", "</think>"),
            "<think>3 + 4 = 8? no.</think> The answer is 7.",
        ),
    ],
)
def test_a_think_section_in_the_text_is_cut_at_its_end_marker(
    script: SseScript, option: str, marks: tuple[str, str], answer: str
) -> None:
    pieces = [marks[0], "3 + 4 = 8?", " no.", marks[1], " The answer", " is 7."]
    usage = {"prompt_tokens": 5, "completion_tokens": 11, "total_tokens": 16}
    reply = openai_stream([], pieces, usage, "reasoning", pause_at=4)
    script.replies.append(reply)
    result = _generate(f"openai:qwen3,base_url={script.base_url},tokenizer=server{option}")
    assert result.text == answer
    if option == ",think_end=none":
        assert result.usage.reasoning_tokens == 0
        return
    assert result.usage.reasoning_tokens == 6  # "3 + 4 = 8? no." in words
    assert result.usage.first_answer_seconds is not None
    assert result.usage.prompt_seconds is not None
    assert result.usage.first_answer_seconds >= result.usage.prompt_seconds + PAUSE * 0.8


def test_openai_cloud_bodies_leave_sampling_out_for_reasoning_models() -> None:
    from bakeoff.backends import _openai_payloads as payloads

    request = GenerateRequest("hi", GenerationSettings(max_tokens=64))
    options = payloads.parse_options("gpt-5", {"reasoning_effort": "low", "thinking_budget": "512"})
    body = payloads.generation_body(request, options)
    assert body["max_completion_tokens"] == 576
    assert body["reasoning_effort"] == "low"
    assert "temperature" not in body
    assert "top_p" not in body
    plain = payloads.generation_body(request, payloads.parse_options("gpt-4o", {}))
    assert plain["temperature"] == 0.0
    assert "reasoning_effort" not in plain
    with pytest.raises(ConfigError, match="reasoning_effort"):
        payloads.parse_options("gpt-5", {"reasoning_effort": "very high"})


# --- Anthropic's extended thinking -------------------------------------------------------------


@pytest.fixture
def anthropic_script() -> Iterator[SseScript]:
    with serving(SseScript(url_path="")) as server:
        yield server


def test_anthropic_thinking_blocks_are_kept_apart_and_counted(
    anthropic_script: SseScript,
) -> None:
    script = anthropic_script
    reply = anthropic_stream(["Let me add.", " 2+2=4."], ["4"], {"thinking_tokens": 140})
    script.replies.append(reply)
    spec = (
        f"anthropic:claude-x,base_url={script.base_url},thinking_budget=2048,reasoning_effort=low"
    )
    result = _generate(spec)
    assert result.text == "4"
    usage = result.usage
    assert (usage.output_tokens, usage.reasoning_tokens, usage.cached_prompt_tokens) == (
        150,
        140,
        6,
    )
    assert usage.prompt_tokens == 20 + 6  # input_tokens counts only the uncached rest
    assert usage.first_answer_seconds is not None
    assert usage.prompt_seconds is not None
    assert usage.first_answer_seconds >= usage.prompt_seconds + PAUSE * 0.8
    (body,) = script.bodies
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] == 16 + 2048
    assert body["output_config"] == {"effort": "low"}
    assert "temperature" not in body
    assert "top_p" not in body


def test_anthropic_reasoning_is_unknown_when_thinking_came_unreported(
    anthropic_script: SseScript,
) -> None:
    script = anthropic_script
    script.replies.append(anthropic_stream(["hmm"], ["4"], None))
    script.replies.append(anthropic_stream([], ["4"], None))
    base = f"anthropic:claude-x,base_url={script.base_url}"
    thought = _generate(base + ",thinking_budget=1024")
    plain = _generate(base)
    assert (thought.text, thought.usage.reasoning_tokens) == ("4", None)
    assert (plain.text, plain.usage.reasoning_tokens) == ("4", 0)
    assert script.bodies[1]["temperature"] == 0.0  # no thinking: sampling as before


def test_anthropic_refuses_a_budget_under_the_apis_minimum() -> None:
    from bakeoff.backends.anthropic_messages import parse_reasoning

    with pytest.raises(ConfigError, match="at least 1024"):
        parse_reasoning(ModelSpec.parse("anthropic:claude-x,thinking_budget=100"))


@pytest.mark.parametrize(
    ("text", "end", "thinking", "answer"),
    [
        ("<think>a</think>\n\nB", "</think>", "a", "B"),
        ("a</think> B", "</think>", "a", "B"),  # the template opened <think> in the prompt
        ("<think>a, still thinking", "</think>", "a, still thinking", ""),  # cut while thinking
        ("plain answer", "</think>", "", "plain answer"),
        ("<think>a</think>B", None, "", "<think>a</think>B"),
        ("x</think>y</think>z", "</think>", "x", "y</think>z"),  # the first marker ends it
    ],
)
def test_split_thinking(text: str, end: str | None, thinking: str, answer: str) -> None:
    from bakeoff.core.thinking import split_thinking

    split = split_thinking(text, end)
    assert (split.thinking, split.answer) == (thinking, answer)
