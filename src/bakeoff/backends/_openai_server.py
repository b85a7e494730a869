"""An OpenAI-compatible server as bakeoff's own client reaches it: where it is, which key it gets,
and how its model's tokens are counted.

Shared by the ``openai`` backend (token counts for streams that report none) and the speed lab
(which also streams): the lab sits on a higher floor than the backends, so the code both use
lives here, in ``backends``, and the lab's streaming stays in :mod:`bakeoff.speed.http_stream`.

Token counts come from the model's tokenizer: a local GGUF (``tokenizer=PATH``, vocab only) or
the server's tokenize endpoint (llama-cpp-python ``/extras/tokenize``, llama.cpp and vLLM
``/tokenize``).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

from bakeoff.backends import models
from bakeoff.backends._api import check_base_url, key_source
from bakeoff.backends._http_json import Endpoint, JsonClient
from bakeoff.backends._openai_payloads import DEFAULT_KEY_ENV, PROVIDER_HOST
from bakeoff.core import secrets
from bakeoff.core.errors import BackendError, ConfigError, MissingDependencyError
from bakeoff.core.model import ModelSpec

# Where the speed lab looks when a spec names no base_url: a server on this machine. (The
# ``openai`` backend always passes its own base_url, OpenAI's API by default.)
LOCAL_SERVER_URL = "http://127.0.0.1:8000/v1"


def endpoint_of(spec: ModelSpec) -> Endpoint:
    raw = spec.options.get("base_url", LOCAL_SERVER_URL)
    endpoint = Endpoint.parse(raw)
    # The spec is stored (canonical form): credentials or a query in the URL would be too.
    check_base_url("openai", raw)
    return endpoint


def auth_headers(spec: ModelSpec) -> dict[str, str]:
    """The bearer key, by the rule every client of bakeoff follows (``key_source`` in
    :mod:`bakeoff.backends._api`): ``$OPENAI_API_KEY`` to ``https://api.openai.com`` only, the
    variable named by ``api_key_env`` to any server, else nothing; read from the environment,
    else the keyring (service ``bakeoff``, user = that name). Every key read is registered for
    redaction, so server errors quoting it are cleaned before they are stored or shown."""
    raw = spec.options.get("base_url", LOCAL_SERVER_URL)
    endpoint_of(spec)  # the URL checked first: its error is the one to show
    name = key_source(
        "openai", raw, spec.options, default_env=DEFAULT_KEY_ENV, provider_host=PROVIDER_HOST
    ).env
    if name is None:
        return {}
    key = secrets.api_key(name)
    if key:
        return {"Authorization": f"Bearer {key}"}
    raise ConfigError(
        f"model '{spec.label}' needs an API key: set the environment variable {name} (or "
        f"store it with: keyring set {secrets.KEYRING_SERVICE} {name})"
    )


class ServerTokenCounter:
    """Counts tokens of one server's model (synchronous: used to build prompts and to count
    answers). The tokenizer is found on the first count: the spec's GGUF, else the server's
    tokenize endpoint; a server without one is a ``BackendError`` naming the way out."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.endpoint = endpoint_of(spec)
        self.headers = auth_headers(spec)  # the streams of the speed lab send them too
        self._counter: Callable[[str], int] | None = None
        self._json: JsonClient | None = None

    def count_tokens(self, text: str) -> int:
        if self._counter is None:
            self._counter = self._make_counter()
        return self._counter(text)

    def close(self) -> None:
        if self._json is not None:
            self._json.close()

    def _make_counter(self) -> Callable[[str], int]:
        path = self.spec.options.get("tokenizer")
        if path:
            return _gguf_counter(path)
        client = self._json = JsonClient(self.endpoint)
        for url, body in (
            ("/extras/tokenize", _llama_cpp_python_body),
            ("/tokenize", self._tokenize_body),
        ):
            try:
                response = client.post(url, body(""), self.headers)
            except OSError as exc:
                raise BackendError(
                    f"cannot reach {self.endpoint.root} for '{self.spec.label}': {exc}"
                ) from None
            data = response.data
            if response.status == 200 and isinstance(data, dict) and "tokens" in data:
                return _remote_counter(client, url, body, self.headers)
        raise BackendError(
            f"cannot count tokens for '{self.spec.label}': the server has no tokenize endpoint; "
            "pass tokenizer=PATH.gguf in the model spec"
        )

    def _tokenize_body(self, text: str) -> dict[str, Any]:
        # llama.cpp's server reads "content", vLLM's "prompt" (+ "model"); each ignores the other.
        return {"content": text, "prompt": text, "model": self.spec.target}


def gguf_vocab(path: str) -> Any:
    """The tokenizer (and metadata) of a GGUF file or bundled alias, without its weights."""
    try:
        llama_cpp = importlib.import_module("llama_cpp")
    except ImportError:
        raise MissingDependencyError(
            "llama-cpp-python", "llamacpp", "a GGUF tokenizer (tokenizer=PATH.gguf)"
        ) from None
    return llama_cpp.Llama(
        model_path=str(models.resolve_model_path(path)), vocab_only=True, verbose=False
    )


def _gguf_counter(path: str) -> Callable[[str], int]:
    vocab = gguf_vocab(path)
    return lambda text: len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def _llama_cpp_python_body(text: str) -> dict[str, Any]:
    return {"input": text}


def _remote_counter(
    client: JsonClient,
    url: str,
    body: Callable[[str], dict[str, Any]],
    headers: dict[str, str],
) -> Callable[[str], int]:
    """Count via the server; the tokens it returns for "" (a BOS, usually) are subtracted."""

    def tokens(text: str) -> int:
        response = client.post(url, body(text), headers)
        if response.status != 200 or not isinstance(response.data, dict):
            raise BackendError(f"tokenize endpoint {url} answered HTTP {response.status}")
        return len(response.data["tokens"])

    offset = tokens("")
    return functools.lru_cache(maxsize=65536)(lambda text: tokens(text) - offset)
