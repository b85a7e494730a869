"""Where an OpenAI-compatible server lives, and blocking JSON requests to it (stdlib only).

Below both users on purpose: the ``openai`` backend counts tokens through a server's tokenize
endpoint with this client, and the speed lab (floor above) does too and streams to the same
``Endpoint``, so the code sits in ``backends``, the lower floor, not in either user's package.
The speed lab's asyncio streaming client (:mod:`bakeoff.speed.http_wire`) stays with the lab:
only it times streams.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bakeoff.core.errors import ConfigError

USER_AGENT = "bakeoff-speed"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a server lives: ``https://host:port/prefix`` split once."""

    scheme: str
    host: str
    port: int
    prefix: str  # path without a trailing slash, e.g. "/v1"

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"base_url must start with http:// or https:// and name a host, got {url}"
            )
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f"base_url has a bad port: {url}") from None
        default = 443 if parts.scheme == "https" else 80
        return cls(parts.scheme, parts.hostname, port or default, parts.path.rstrip("/"))

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def root(self) -> str:
        return f"{self.scheme}://{self.host_header}"


@dataclass(frozen=True, slots=True)
class JsonResponse:
    status: int
    data: Any  # parsed JSON, or None when the body is not JSON


class JsonClient:
    """Blocking JSON POSTs on one kept-alive connection (token counting, never timed)."""

    def __init__(self, endpoint: Endpoint, timeout: float = 30.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            kind = (
                http.client.HTTPSConnection
                if self.endpoint.scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = kind(self.endpoint.host, self.endpoint.port, timeout=self.timeout)
        return self._conn

    def post(
        self, path: str, payload: Any, headers: Mapping[str, str] | None = None
    ) -> JsonResponse:
        body = json.dumps(payload).encode()
        all_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        all_headers.update(headers or {})
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.request("POST", path, body=body, headers=all_headers)
                response = conn.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()  # an idle keep-alive connection the server dropped: once more
                if attempt:
                    raise
                continue
            if response.getheader("connection", "").lower() == "close":
                self.close()
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                data = None
            return JsonResponse(response.status, data)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
