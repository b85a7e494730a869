"""One exception tree for everything bakeoff raises on purpose.

`BakeoffError` and its children are *user-facing*: the CLI prints their message on one line and
exits with status 2. Anything else escaping to the CLI is a bug in bakeoff and keeps its traceback.
"""

from __future__ import annotations


class BakeoffError(Exception):
    """Base of all errors that carry a message meant for the user."""

    exit_code = 2


class ConfigError(BakeoffError):
    """Bad command-line input or configuration: unknown backend, unknown task, bad option."""


class DataError(BakeoffError):
    """A dataset is missing or malformed (the message names the file and line)."""


class ModelNotFoundError(BakeoffError):
    """A model file, alias or id cannot be found."""


class MissingDependencyError(BakeoffError):
    """An optional dependency is not installed; the message says which extra to install."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(f"{purpose} needs the '{package}' package: pip install 'bakeoff[{extra}]'")
        self.package = package
        self.extra = extra


class BackendError(BakeoffError):
    """A backend failed in a way the user can act on (server down, bad credentials, ...)."""


class UnsupportedRequestError(BackendError):
    """A task asked a backend for a request kind it does not support."""


class StoreError(BakeoffError):
    """The results store cannot be opened or written (path unwritable, not a bakeoff db, ...)."""


class BudgetExceededError(BakeoffError):
    """A run hit its cost budget; finished samples are stored and the run can be resumed."""
