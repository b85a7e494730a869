"""The skip hints name real extras, and README's full install is the one CI makes."""

from __future__ import annotations

import re
import tomllib

from bakeoff.core.errors import MissingDependencyError
from tests.helpers import REPO
from tests.helpers_extras import EXTRA_OF_MODULE, missing_extra_reason, with_install_hint

_FULL_INSTALL = re.compile(r"pip install (?:-q )?-e '\.\[([a-z,]+)\]'")


def _extras(text: str) -> set[str]:
    """The extras of the one ``pip install -e '.[...]'`` in ``text`` naming the most."""
    found = [set(m.group(1).split(",")) for m in _FULL_INSTALL.finditer(text)]
    assert found, "no pip install -e '.[...]' line"
    return max(found, key=len)


def test_a_missing_module_gets_the_extra_that_brings_it() -> None:
    reason = "could not import 'openai': No module named 'openai'"
    assert with_install_hint(reason) == f"{reason} (pip install 'bakeoff[openai]')"
    sub = "could not import 'lm_eval.api.task': No module named 'lm_eval'"
    assert with_install_hint(sub).endswith("(pip install 'bakeoff[lmeval]')")
    # A reason that says what to install already, or a module no extra brings, is kept.
    own = "needs llama-cpp-python[server]: pip install 'bakeoff[server]'"
    assert with_install_hint(own) == own
    other = "could not import 'nosuchmodule': No module named 'nosuchmodule'"
    assert with_install_hint(other) == other
    assert with_install_hint("shared benchmark data not found") == "shared benchmark data not found"


def test_the_hints_name_extras_of_pyproject_and_readme_installs_them_all_as_ci_does() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    declared = set(pyproject["project"]["optional-dependencies"])
    assert set(EXTRA_OF_MODULE.values()) <= declared
    readme = _extras((REPO / "README.md").read_text(encoding="utf-8"))
    ci = _extras((REPO / ".ci" / "run").read_text(encoding="utf-8"))
    assert readme == ci
    # Every extra a test may skip for (hub's pyarrow comes with lmeval's datasets in CI).
    assert set(EXTRA_OF_MODULE.values()) - {"hub"} <= readme


def test_a_missing_dependency_error_skips_only_where_its_package_is_absent() -> None:
    absent = MissingDependencyError("no-such-distribution-x9", "openai", "the openai backend")
    assert missing_extra_reason(absent) == (
        "the openai backend needs the 'no-such-distribution-x9' package: "
        "pip install 'bakeoff[openai]' (not installed here)"
    )
    # Installed and still failing is a failure, as is any other error.
    assert missing_extra_reason(MissingDependencyError("numpy", "dev", "x")) is None
    assert missing_extra_reason(ImportError("No module named 'openai'")) is None
