"""What the API backends (OpenAI-compatible, Anthropic) share: one event loop, limits, retries.

* **One event loop per backend**, in a background thread, with one SDK client for the backend's
  life (its connection pool is reused across batches). :meth:`ApiBackend.submit` schedules a
  batch on it and returns a future at once, so the runner can keep several chunks in flight;
  a gate of ``concurrency`` bounds the requests on the wire across all of them.
* **Rate limits**: ``rpm`` and ``tpm`` are token buckets (a 10-second burst, then an even pace;
  :mod:`bakeoff.backends._rate_limit`), tokens estimated as prompt characters / 4 +
  ``max_tokens`` and corrected by the usage the server reports. The gate halves on a 429 and
  climbs back one by one; the ``x-ratelimit-*`` / ``anthropic-ratelimit-*`` headers are kept.
* **Keys** follow one rule (:func:`key_source`, which the speed lab's client follows too): the
  provider's key from the environment goes only to the provider's own host over HTTPS; any
  other ``base_url`` gets a key only when the spec names its variable (``api_key_env=NAME``),
  and never over plain HTTP to another machine unless the spec says ``allow_http=1``. A client
  that sends no key sends no credential header at all (not even the SDK's placeholder).
* **Retries**: 408, 409, 429, 5xx, connection errors, timeouts and streams cut short are retried
  with exponential backoff and full jitter, honouring Retry-After and ``retry-after-ms``
  (capped at 30 s); other 4xx fail fast with the server's message; 401/403/404 stop the run
  (every request would fail alike). The SDK's own retries are off (``max_retries=0``) so they
  never stack with these; ``retries`` counts ours.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import ipaddress
import logging
import math
import random
import threading
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlparse

from bakeoff.backends._rate_limit import AdaptiveConcurrency, RateLimiter
from bakeoff.backends._rate_limit import TokenBucket as TokenBucket  # re-exported
from bakeoff.backends.base import Backend, GenerationOutcome, LoglikelihoodOutcome
from bakeoff.core import secrets
from bakeoff.core.errors import (
    BackendError,
    BakeoffError,
    ConfigError,
    MissingDependencyError,
    UnsupportedRequestError,
)
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import (
    GenerateRequest,
    JSONValue,
    LoglikelihoodRequest,
    Request,
    RequestFailure,
    Result,
)

T = TypeVar("T")
Outcome = Result | RequestFailure

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 429})
LIMIT_OPTIONS = frozenset({"concurrency", "timeout", "max_retries", "rpm", "tpm"})
"""Options that change how requests are sent, never what they ask: not part of cache keys."""
CHARS_PER_TOKEN = 4
_MAX_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class ApiLimits:
    concurrency: int = 8
    timeout: float = 60.0
    max_retries: int = 5
    rpm: float | None = None
    tpm: float | None = None


def parse_limits(backend: str, options: Mapping[str, str]) -> ApiLimits:
    return ApiLimits(
        concurrency=int_option(backend, options, "concurrency", 8, minimum=1),
        timeout=float_option(backend, options, "timeout", 60.0, minimum=0.001),
        max_retries=int_option(backend, options, "max_retries", 5, minimum=0),
        rpm=float_option(backend, options, "rpm", None, minimum=0.001),
        tpm=float_option(backend, options, "tpm", None, minimum=1.0),
    )


def int_option(
    backend: str, options: Mapping[str, str], name: str, default: int, *, minimum: int
) -> int:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{backend} option {name}={raw!r} must be an integer") from None
    if value < minimum:
        raise ConfigError(f"{backend} option {name}={raw!r} must be at least {minimum}")
    return value


def float_option(
    backend: str,
    options: Mapping[str, str],
    name: str,
    default: T,
    *,
    minimum: float,
) -> float | T:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{backend} option {name}={raw!r} must be a number") from None
    if not math.isfinite(value) or value < minimum:
        raise ConfigError(f"{backend} option {name}={raw!r} must be at least {minimum}")
    return value


def check_base_url(backend: str, raw: str) -> str:
    base_url = raw.rstrip("/")
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"{backend} base_url '{base_url}' must be an http(s) URL with a host")
    if parsed.username or parsed.password or parsed.query:
        raise ConfigError(
            f"{backend} base_url must not carry credentials or a query; use api_key_env instead"
        )
    return base_url


def check_api_key_env(backend: str, name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ConfigError(
            f"{backend} option api_key_env={name!r} must name an environment variable"
        )
    return name


KEY_OPTIONS = frozenset({"api_key_env", "allow_http"})
"""Options that decide which key goes where (:func:`key_source`); every HTTP backend takes them."""


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where a client's key comes from; holds no secret."""

    env: str | None
    """The environment variable (and keyring user) holding the key; None: send no key."""


def is_loopback_host(host: str) -> bool:
    """This machine: ``localhost``, 127.0.0.0/8, ::1 (and the unspecified 0.0.0.0 / ::, which
    a connection reaches here too)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def key_source(
    backend: str,
    base_url: str,
    options: Mapping[str, str],
    *,
    default_env: str,
    provider_host: str,
) -> KeySource:
    """The one rule for which key goes to ``base_url`` (see the module docstring).

    * ``api_key_env=NAME`` given: the key in ``$NAME`` (or the keyring), wherever the URL is —
      the user named it for this server;
    * else the provider's own host (``provider_host``) over HTTPS: its usual key,
      ``default_env``;
    * else no key: a key in the environment for one provider is never handed to another host
      (a local server, a proxy, a look-alike name) that did not ask for it by name.

    A key bound for another machine over plain ``http://`` is refused (ConfigError) unless
    ``allow_http=1``: it would cross the network readable to anyone on the way.
    """
    allow_http = options.get("allow_http", "0").strip()
    if allow_http not in ("0", "1"):
        raise ConfigError(f"{backend} option allow_http={allow_http!r} must be 1 or 0")
    parsed = urlparse(base_url)
    host = (parsed.hostname or "").lower()
    named = options.get("api_key_env")
    if named is not None:
        env = check_api_key_env(backend, named)
    elif host == provider_host and parsed.scheme == "https":
        env = default_env
    else:
        return KeySource(None)
    if parsed.scheme != "https" and not is_loopback_host(host) and allow_http == "0":
        raise ConfigError(
            f"{backend} would send the key in {env} to {host} over plain http, readable on the "
            f"way: use an https base_url, or add allow_http=1 to the model spec to send it anyway"
        )
    return KeySource(env)


def refuse_key_options(backend: str, options: Mapping[str, str], env_default: str) -> None:
    for name in options:
        if name.lower() in ("api_key", "key", "token", "apikey", "auth"):
            raise ConfigError(
                f"never put an API key in the model spec: set {env_default} (or name another "
                f"environment variable with api_key_env=NAME, or store it in the keyring under "
                f"service '{secrets.KEYRING_SERVICE}', user {env_default})"
            )
    del backend


# --- retry policy (pure) ------------------------------------------------------------------------


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS or 500 <= status <= 599


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_after_from(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds a rate-limited response asks us to wait; None if it names no wait.

    ``retry-after-ms`` (milliseconds, sent by OpenAI and Azure) wins over ``Retry-After``:
    it is the more precise of the two when a server sends both, and the SDKs read it first too.
    Either way :func:`backoff_seconds` caps the wait.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            ms = float(raw_ms.strip())
        except ValueError:
            ms = math.nan
        if math.isfinite(ms):
            return max(0.0, ms / 1000.0)
    return parse_retry_after(headers.get("retry-after"), now=now)


def backoff_seconds(
    attempt: int,
    retry_after: float | None = None,
    *,
    base: float = 0.5,
    cap: float = _MAX_BACKOFF_SECONDS,
    rng: random.Random | None = None,
) -> float:
    """Exponential backoff with full jitter; a server's Retry-After wins (capped)."""
    if retry_after is not None:
        return min(retry_after, cap)
    ceiling = min(cap, base * (2 ** max(0, attempt)))
    return (rng or random).uniform(0.0, ceiling)


def estimate_tokens(request: Request) -> tuple[int, int]:
    """(prompt, output) tokens a request may use, before any tokenizer is known.

    Prompt: characters / 4 (English prose averages about that on GPT and Claude tokenizers);
    output: ``max_tokens`` for generation (an upper bound), 1 for an echo request.
    """
    if isinstance(request, GenerateRequest):
        prompt = request.prompt
        chars = len(prompt) if isinstance(prompt, str) else sum(len(m.content) + 4 for m in prompt)
        return math.ceil(chars / CHARS_PER_TOKEN) + 1, request.settings.max_tokens
    if isinstance(request, LoglikelihoodRequest):
        return math.ceil(len(request.context + request.continuation) / CHARS_PER_TOKEN) + 1, 1
    return math.ceil(len(request.text) / CHARS_PER_TOKEN) + 1, 1


# --- the event loop thread --------------------------------------------------------------------


class _LoopThread:
    """An asyncio loop running forever in a daemon thread; coroutines are handed to it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def stop(self, final: Coroutine[Any, Any, None] | None = None) -> None:
        if final is not None:
            with contextlib.suppress(Exception):
                self.submit(final).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


# --- the shared backend -----------------------------------------------------------------------


class StreamCutError(Exception):
    """A stream that ended without its final event (a connection cut mid-way): retried."""


class ApiBackend(Backend):
    """Base of the HTTP API backends. Subclasses make the SDK client and send one request."""

    sdk_module: str
    sdk_extra: str
    default_key_env: str

    def __init__(
        self, spec: ModelSpec, *, base_url: str, limits: ApiLimits, api_key_env: str | None
    ) -> None:
        super().__init__(spec)
        self.base_url = base_url
        self.limits = limits
        self.api_key_env = api_key_env
        self.sdk = _import_sdk(self.sdk_module, self.sdk_extra, self.name)
        self._transport_errors = _transport_errors()
        self.limiter = RateLimiter(limits.rpm, limits.tpm)
        self.retries = 0
        self.requests_sent = 0
        self._loop: _LoopThread | None = None
        self._client: Any = None
        self.gate = AdaptiveConcurrency(limits.concurrency)  # backs off on 429s, then recovers

    # -- what subclasses provide ---------------------------------------------------------------

    @abstractmethod
    def make_client(self, *, asynchronous: bool) -> Any:
        """An SDK client with ``max_retries=0`` (our retries replace the SDK's)."""

    @abstractmethod
    async def send(self, client: Any, request: Request) -> Outcome:
        """Send one request (through :meth:`with_retries`) and return its outcome."""

    @abstractmethod
    def request_body(self, request: Request) -> dict[str, JSONValue]:
        """The request's payload exactly as sent, for the request cache key."""

    # -- keys ------------------------------------------------------------------------------

    def api_key(self) -> str | None:
        """The key this backend sends (see :func:`key_source`); None when it sends none."""
        if self.api_key_env is None:
            return None
        return secrets.api_key(self.api_key_env)

    def client_credentials(self, *, asynchronous: bool, headers: Sequence[str]) -> dict[str, Any]:
        """Keyword arguments giving an SDK client its key, or, with none to send, a placeholder
        the SDK insists on and an HTTP client that strips the credential ``headers`` from every
        request: an SDK left without a key looks in the environment for its provider's."""
        key = self.api_key()
        if key:
            return {"api_key": key}

        def strip(request: Any) -> None:
            for name in headers:
                request.headers.pop(name, None)

        async def strip_async(request: Any) -> None:
            strip(request)

        if asynchronous:
            http = self.sdk.DefaultAsyncHttpxClient(event_hooks={"request": [strip_async]})
        else:
            http = self.sdk.DefaultHttpxClient(event_hooks={"request": [strip]})
        return {"api_key": "no-key-sent", "http_client": http}

    # -- the cache key ---------------------------------------------------------------------

    def fingerprint(self, request: Request) -> dict[str, JSONValue]:
        """(backend, base URL, model, full request body): what decides the server's answer."""
        return {
            "backend": self.name,
            "base_url": self.base_url,
            "model": self.spec.target,
            "body": self.request_body(request),
        }

    @property
    def concurrency(self) -> int:
        return self.limits.concurrency

    @property
    def rate_limits(self) -> dict[str, str]:
        return self.gate.report()  # for the run summary (see AdaptiveConcurrency.report)

    # -- batches ---------------------------------------------------------------------------

    def submit(self, requests: Sequence[Request]) -> concurrent.futures.Future[list[Outcome]]:
        """Schedule a batch; the future holds one outcome per request, in order."""
        for request in requests:
            if request.kind not in self.supports:
                raise UnsupportedRequestError(self._unsupported(request.kind))
            self.validate(request)
        return self.loop_thread().submit(self._batch(list(requests)))

    def loop_thread(self) -> _LoopThread:
        if self._loop is None:
            self._loop = _LoopThread(f"bakeoff-{self.name}-{self.spec.label}")
        return self._loop

    def validate(self, request: Request) -> None:
        """Raise a BakeoffError for a request this configuration can never send."""

    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerationOutcome]:
        return self._wait(self.submit(requests))  # type: ignore[return-value]

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodOutcome]:
        return self._wait(self.submit(requests))  # type: ignore[return-value]

    @staticmethod
    def _wait(future: concurrent.futures.Future[list[Outcome]]) -> list[Outcome]:
        return future.result()

    async def _batch(self, requests: list[Request]) -> list[Outcome]:
        client = self._async_client()
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._bounded(client, r)) for r in requests]
        except BaseExceptionGroup as group_error:  # a fatal error: the others were cancelled
            raise _first_bakeoff_error(group_error) from None
        return [task.result() for task in tasks]

    def _async_client(self) -> Any:
        if self._client is None:
            self._client = self.make_client(asynchronous=True)
        return self._client

    async def _bounded(self, client: Any, request: Request) -> Outcome:
        async with self.gate:
            return await self.send(client, request)

    async def with_retries(
        self, what: str, call: Callable[[], Awaitable[T]], estimated_tokens: int = 0
    ) -> T | RequestFailure:
        """Run ``call`` (one HTTP request) under the rate limits, retrying what may pass later."""
        sdk = self.sdk
        attempt = 0
        while True:
            await self.limiter.acquire(estimated_tokens)
            retry_after: float | None = None
            try:
                self.requests_sent += 1
                result = await call()
                self.gate.succeeded()
                return result
            except sdk.APIStatusError as error:
                status, message = int(error.status_code), server_message(error)
                self.gate.note(getattr(error.response, "headers", None))
                self._raise_if_fatal(status, message)
                if not is_retryable_status(status):
                    return RequestFailure(f"{what}: HTTP {status}: {message}")
                if attempt >= self.limits.max_retries:
                    return RequestFailure(
                        f"{what}: HTTP {status} after {attempt + 1} attempts: {message}"
                    )
                headers = getattr(error.response, "headers", None) or {}
                if status == 429:
                    self.gate.rate_limited()
                retry_after = retry_after_from(headers)
                why = f"HTTP {status}"
            except (sdk.APIConnectionError, StreamCutError, *self._transport_errors) as error:
                why = _failure_kind(error)
                if attempt >= self.limits.max_retries:
                    return RequestFailure(
                        f"{what}: {why} after {attempt + 1} attempts ({type(error).__name__})"
                    )
            except (sdk.APIError, ValueError, KeyError, TypeError, IndexError) as error:
                # A response we cannot read (malformed JSON, missing fields): not retried.
                detail = secrets.redact(" ".join(str(error).split()))[:200]
                return RequestFailure(
                    f"{what}: unreadable response ({type(error).__name__}: {detail})"
                )
            attempt += 1
            self.retries += 1
            delay = backoff_seconds(attempt - 1, retry_after)
            log.info(
                "%s (%s): %s, retry %d/%d in %.2fs",
                what,
                self.spec.label,
                why,
                attempt,
                self.limits.max_retries,
                delay,
            )
            await asyncio.sleep(delay)

    def _raise_if_fatal(self, status: int, message: str) -> None:
        if status in (401, 403):
            sent = (
                f"the API key from {self.api_key_env}"
                if self.api_key_env
                else "the request, sent without a key (name one with api_key_env=NAME)"
            )
            raise BackendError(
                f"{self.name} backend ({self.spec.label}): {self.base_url} refused {sent} "
                f"(HTTP {status}: {message})"
            )
        if status == 404:
            raise BackendError(
                f"{self.name} backend ({self.spec.label}): model '{self.spec.target}' or "
                f"endpoint not found at {self.base_url} (HTTP 404: {message})"
            )

    # -- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        loop, client = self._loop, self._client
        self._loop, self._client = None, None
        if loop is None:
            return

        async def close_client() -> None:
            # Batches still in flight (an interrupted run) are cancelled, not left dangling.
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            if client is not None:
                await client.close()

        loop.stop(close_client())


def _import_sdk(module: str, extra: str, backend: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(module, extra, f"the {backend} backend") from None


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Raw HTTP transport errors that can escape an SDK while a stream is being read."""
    found: list[type[BaseException]] = []
    for module_name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        error = getattr(module, "TransportError", None)
        if isinstance(error, type) and issubclass(error, BaseException):
            found.append(error)
    return tuple(found)


def _failure_kind(error: BaseException) -> str:
    if isinstance(error, StreamCutError):
        return "incomplete stream"
    return "timeout" if "Timeout" in type(error).__name__ else "connection error"


def _first_bakeoff_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first_bakeoff_error(error)
        if isinstance(error, BakeoffError):
            return error
    return group.exceptions[0]


def server_message(error: Any) -> str:
    """The server's own error message, on one line, shortened, with any known key redacted."""
    body = getattr(error, "body", None)
    message: Any = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if message is None:
            message = body.get("detail")
    if not message:
        message = getattr(error, "message", None) or str(error)
    return secrets.redact(" ".join(str(message).split()))[:300]
