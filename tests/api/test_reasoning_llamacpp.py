"""A real llama.cpp server (llama-cpp-python's) whose model thinks in the open: the bundled
SmolLM2 135M, shown three worked answers of the form ``<think>Not W. a + b makes V.</think> V``
(W a wrong value), writes a think section of its own before each answer, greedy. Its thinking
names a wrong number first, so a grader reading the whole text takes that one; bakeoff must
score the answer after ``</think>`` (and keep the raw text when told ``think_end=none``)."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers_servers import llama_cpp_python_server

from bakeoff.core.model import ModelSpec
from bakeoff.core.types import GenerationSettings, Sample
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import execute_plan
from bakeoff.scoring.text import first_number
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.probes import ArithmeticProbe

pytestmark = pytest.mark.model
N = 6


class ThinkingArithmetic(ArithmeticProbe):
    """The arithmetic probe with worked answers that think first (the only change: the prompt,
    and room for the thinking)."""

    name = "arithmetic-think"
    settings = GenerationSettings(max_tokens=40, stop=("\n",))

    def prompt(self, sample: Sample) -> str:
        rng = random.Random(1)
        shots = []
        for _ in range(3):
            a, b = rng.randint(10, 40), rng.randint(10, 40)
            wrong = a + b + rng.choice((-10, 10))
            shots.append(
                f"Q: What is {a} + {b}?\nA: <think>Not {wrong}. {a} plus {b} makes {a + b}."
                f"</think> {a + b}\n\n"
            )
        return f"{''.join(shots)}Q: What is {sample.input}?\nA:"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("openai")
    pytest.importorskip("llama_cpp")
    for module in ("fastapi", "uvicorn", "sse_starlette", "starlette_context"):
        pytest.importorskip(module, reason="needs llama-cpp-python[server]")
    from bakeoff.backends.models import resolve_model_path

    path = str(resolve_model_path("smollm2-135m"))
    log = tmp_path_factory.mktemp("server") / "server.log"
    with llama_cpp_python_server(path, log) as base_url:
        yield base_url


def test_a_thinking_local_model_is_scored_on_its_final_answer(server: str, tmp_path: Path) -> None:
    base = f"openai:smollm2,base_url={server},api=completions,repeat_penalty=1.0,tokenizer=server"
    specs = (ModelSpec.parse(f"cut={base}"), ModelSpec.parse(f"raw={base},think_end=none"))
    task = ThinkingArithmetic("", {"n": str(N)})
    plan = make_plan(RunConfig(models=specs), tasks=[task])
    store = SqliteStore(tmp_path / "b.db")
    try:
        assert execute_plan(plan, store).failed == 0
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "b.db") as conn:
        rows = conn.execute(
            "SELECT model, sample_id, target, correct, outputs_json, reasoning_tokens FROM results"
        ).fetchall()
    texts = {(m, s): json.loads(o)[0]["text"] for m, s, _, _, o, _ in rows}
    marks = {(m, s): (t, bool(c), r) for m, s, t, c, _, r in rows}
    thought = [s for (m, s), text in texts.items() if m == "raw" and "</think>" in text]
    assert len(thought) >= N // 2, texts  # the model did think in the open
    for sample in thought:
        text = texts["raw", sample]
        answer = text.partition("</think>")[2]
        target, raw_correct, _ = marks["raw", sample]
        _, cut_correct, reasoning = marks["cut", sample]
        assert raw_correct == (first_number(text) == target)  # think_end=none: all is read
        assert cut_correct == (first_number(answer) == target)  # the answer only
        assert texts["cut", sample] == answer.lstrip()
        assert reasoning > 0  # its thinking, counted by the server's tokenizer
    # The thinking's first number is a decoy: reading it changes the score.
    assert any(marks["raw", s][1] != marks["cut", s][1] for s in thought)
