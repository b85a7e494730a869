"""A provider's key goes only to the provider's own host (issue 20, item 1).

``OPENAI_API_KEY`` and ``ANTHROPIC_API_KEY`` (and the Anthropic SDK's ``ANTHROPIC_AUTH_TOKEN``)
reach only ``api.openai.com`` / ``api.anthropic.com`` over HTTPS. Any other ``base_url`` gets a
key only when the spec names one (``api_key_env=NAME``), and never over plain HTTP to another
machine unless the spec says ``allow_http=1``. Servers here record every credential header.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from bakeoff.backends._api import KeySource, key_source
from bakeoff.backends._openai_server import auth_headers
from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelSpec
from tests.helpers import run_cli
from tests.helpers_servers import LoopbackServer, MessagesFront, QuietHandler, serving

OPENAI_KEY = "sk-FAKE-openai-env-7d41c0aa"
ANTHROPIC_KEY = "sk-ant-FAKE-env-0b9e2d51"
AUTH_TOKEN = "tok-FAKE-anthropic-env-55f1"
CREDENTIAL_HEADERS = ("authorization", "x-api-key")


def _credentials(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower() in CREDENTIAL_HEADERS}


class RecordingOpenAI(LoopbackServer):
    """``/v1/models`` and streamed ``/v1/chat/completions`` answering "42"; records each
    request's path and credential headers."""

    url_path = "/v1"

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(QuietHandler):
            def _record(self) -> None:
                with server._lock:
                    server.seen.append((self.path, _credentials(self.headers)))

            def do_GET(self) -> None:  # noqa: N802 (http.server names it)
                self._record()
                self._send("application/json", {"object": "list", "data": [{"id": "gpt-x"}]})

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self._record()
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0,
                         "model": "gpt-x"}  # fmt: skip
                events = [
                    {**chunk, "choices": [{"index": 0, "delta": {"content": "42"},
                                           "finish_reason": None}]},
                    {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}},
                ]  # fmt: skip
                body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
                self._send("text/event-stream", body)

            def _send(self, content_type: str, payload: Any) -> None:
                data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
                self.send_response(200)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


class RecordingMessages(MessagesFront):
    """A Messages API server answering "42" itself; records each request's credential headers."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        super().__init__("http://127.0.0.1:9")  # never asked: the answer is made here

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "choices": [{"message": {"content": "42"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 1},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        front, base = self, super()._handler()

        class Recording(base):  # type: ignore[misc,valid-type]
            def do_POST(self) -> None:  # noqa: N802
                front.seen.append(_credentials(self.headers))
                super().do_POST()

        return Recording


ENV = {"OPENAI_API_KEY": OPENAI_KEY, "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
       "ANTHROPIC_AUTH_TOKEN": AUTH_TOKEN}  # fmt: skip


def _run(tmp_path: Any, model: str, env: dict[str, str]) -> None:
    pytest.importorskip(model.split("=", 1)[1].split(":", 1)[0])  # the backend's SDK
    done = run_cli("run", "-m", model, "-t", "arithmetic,n=3", "--db", str(tmp_path / "k.db"),
                   cwd=tmp_path, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_the_openai_key_from_the_environment_stays_off_another_host(tmp_path: Any) -> None:
    with serving(RecordingOpenAI()) as server:
        _run(tmp_path, f"o=openai:gpt-x,base_url={server.base_url}", ENV)
    paths = {path for path, _ in server.seen}
    assert {"/v1/models", "/v1/chat/completions"} <= paths  # it was asked, and answered
    assert [headers for _, headers in server.seen if headers] == []


def test_a_key_the_spec_names_goes_to_the_server_it_names(tmp_path: Any) -> None:
    env = {**ENV, "MY_SERVER_KEY": "sk-FAKE-named-3c1d"}
    with serving(RecordingOpenAI()) as server:
        _run(tmp_path, f"o=openai:gpt-x,base_url={server.base_url},api_key_env=MY_SERVER_KEY",
             env)  # fmt: skip
    assert server.seen
    assert {h.get("authorization") for _, h in server.seen} == {"Bearer sk-FAKE-named-3c1d"}


def test_the_anthropic_key_and_token_stay_off_another_host(tmp_path: Any) -> None:
    with serving(RecordingMessages()) as server:
        _run(tmp_path, f"c=anthropic:claude-x,base_url={server.base_url}", ENV)
    assert len(server.seen) == 3
    assert [headers for headers in server.seen if headers] == []


def test_the_speed_lab_sends_no_key_to_a_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    assert auth_headers(ModelSpec.parse("openai:m,base_url=http://127.0.0.1:8000/v1")) == {}
    assert auth_headers(ModelSpec.parse("openai:m")) == {}  # the lab's default: a local server


OPENAI = {"default_env": "OPENAI_API_KEY", "provider_host": "api.openai.com"}


@pytest.mark.parametrize(
    ("base_url", "options", "env"),
    [
        ("https://api.openai.com/v1", {}, "OPENAI_API_KEY"),
        ("https://api.openai.com/v1", {"api_key_env": "TEAM_KEY"}, "TEAM_KEY"),
        ("http://api.openai.com/v1", {}, None),  # the provider's key never in clear text
        ("https://api.openai.com.attacker.example/v1", {}, None),
        ("https://proxy.example/v1", {}, None),
        ("https://proxy.example/v1", {"api_key_env": "PROXY_KEY"}, "PROXY_KEY"),
        ("http://127.0.0.1:8000/v1", {}, None),
        ("http://127.0.0.1:8000/v1", {"api_key_env": "OPENAI_API_KEY"}, "OPENAI_API_KEY"),
        ("http://localhost:8000/v1", {"api_key_env": "LOCAL_KEY"}, "LOCAL_KEY"),
        ("http://10.0.0.5:8000/v1", {"api_key_env": "K", "allow_http": "1"}, "K"),
    ],
)
def test_the_key_rule(base_url: str, options: dict[str, str], env: str | None) -> None:
    assert key_source("openai", base_url, options, **OPENAI) == KeySource(env)


def test_a_named_key_over_plain_http_to_another_machine_needs_allow_http() -> None:
    with pytest.raises(ConfigError, match="allow_http=1"):
        key_source("openai", "http://10.0.0.5:8000/v1", {"api_key_env": "K"}, **OPENAI)
    with pytest.raises(ConfigError, match="allow_http"):
        key_source("openai", "https://proxy.example/v1", {"allow_http": "maybe"}, **OPENAI)


def test_the_backends_follow_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("openai")
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    local = OpenAICompatBackend(ModelSpec.parse("openai:m,base_url=http://127.0.0.1:9/v1"))
    cloud = OpenAICompatBackend(ModelSpec.parse("openai:m"))
    assert local.api_key() is None
    assert cloud.api_key() == OPENAI_KEY
    with pytest.raises(ConfigError, match="allow_http"):
        OpenAICompatBackend.preflight(
            ModelSpec.parse("openai:m,base_url=http://10.0.0.5/v1,api_key_env=OPENAI_API_KEY")
        )
