"""An API backend whose "server" is a Python function: it goes through the real runner (request
cache, chunks, storage) without a socket. ``answer(spec, request)`` makes each generation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bakeoff.backends._api import ApiBackend, ApiLimits, Outcome
from bakeoff.backends.base import Backend
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.types import GenerateRequest, GenerationResult, JSONValue, Request, RequestKind
from bakeoff.runner.executor import LocalExecutor
from bakeoff.runner.plan import Plan
from bakeoff.runner.run import RunOutcome, execute_plan
from bakeoff.storage.sqlite import SqliteStore

LOCAL_URL = "http://127.0.0.1:9/v1"
"""A local URL: no key and no price needed, so preflight and pricing pass; nothing is sent."""

Answer = Callable[[ModelSpec, Request], GenerationResult]


def prompt_text(request: Request) -> str:
    assert isinstance(request, GenerateRequest)
    prompt = request.prompt
    return prompt if isinstance(prompt, str) else " ".join(m.content for m in prompt)


class _Client:
    async def close(self) -> None:
        return None


class ScriptedApi(ApiBackend):
    """Answers generation requests with ``answer``; records the prompts it was sent."""

    name = "scripted"
    supports = frozenset({RequestKind.GENERATE})
    sdk_module = "json"  # no SDK: the answers are made here
    sdk_extra = "openai"
    default_key_env = "SCRIPTED_API_KEY"

    def __init__(self, spec: ModelSpec, answer: Answer) -> None:
        super().__init__(spec, base_url=LOCAL_URL, limits=ApiLimits(), api_key_env="X")
        self.answer = answer
        self.prompts: list[str] = []

    def make_client(self, *, asynchronous: bool) -> Any:
        return _Client()

    async def send(self, client: Any, request: Request) -> Outcome:
        self.prompts.append(prompt_text(request))
        return self.answer(self.spec, request)

    def request_body(self, request: Request) -> dict[str, JSONValue]:
        assert isinstance(request, GenerateRequest)
        return {"prompt": prompt_text(request), **request.settings.as_dict()}

    def info(self) -> ModelInfo:
        return ModelInfo(name=self.spec.target, backend=self.name, source="test")


class ScriptedExecutor(LocalExecutor):
    """Opens a ScriptedApi for every model; keeps them for the test to inspect."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.backends: list[ScriptedApi] = []

    def open(self, spec: ModelSpec) -> Backend:
        backend = ScriptedApi(spec, self.answer)
        self.backends.append(backend)
        return backend


def run_scripted(db: Path, plan: Plan, answer: Answer) -> tuple[RunOutcome, ScriptedExecutor]:
    """Run ``plan`` into the SQLite file ``db`` (request cache on: the default)."""
    store = SqliteStore(db)
    executor = ScriptedExecutor(answer)
    try:
        outcome = execute_plan(plan, store, executor=executor)
    finally:
        store.close()
    return outcome, executor
