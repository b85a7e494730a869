"""The floor plan of ``src/bakeoff``, read from the code's own imports with ``ast``.

Every ``import`` counts, at module level, inside functions and under ``TYPE_CHECKING`` alike: a
lazy import still makes the importing module depend on the imported one. Data flows one way,
so a package may import only itself and packages on a lower floor (``LAYERS``), and no two
modules may import each other, directly or around a loop.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "bakeoff"

LAYERS: tuple[frozenset[str], ...] = (
    # Value types, stored records, errors and secrets that every layer shares; imports nothing.
    frozenset({"core"}),
    # Pure computations on core values: statistics, prices, scoring rules. No model is run here.
    frozenset({"stats", "pricing", "scoring"}),
    # Side by side and blind to each other: a task produces requests and scores their results,
    # a backend answers requests. The runner joins them; neither holds the other.
    frozenset({"tasks", "backends"}),
    # Where records are kept; knows records, not who made them.
    frozenset({"storage"}),
    # The speed lab drives backends and keeps its timings in the store.
    frozenset({"speed"}),
    # Runs a plan: tasks' requests through backends into the store.
    frozenset({"runner"}),
    # Reads the store and the statistics into the guide's view model, then renders it.
    frozenset({"report"}),
    # Serves stored runs and reports to a browser.
    frozenset({"web"}),
    # The command line drives everything below it.
    frozenset({"cli"}),
)
FLOOR = {package: floor for floor, packages in enumerate(LAYERS) for package in packages}
ROOT_MODULE = "bakeoff"  # the package's __init__: the version string, on the core floor


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module of ours that ``import name`` loads (a name imported from a module resolves to
    that module); None for a name outside the package."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str) -> Iterator[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            owner = _owner(target)
            if owner is not None and owner != module:
                yield owner


GRAPH = {module: sorted(set(_imports(module))) for module in MODULES}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT_MODULE


def _floor(module: str) -> int:
    package = _package(module)
    if package == ROOT_MODULE:
        return 0
    assert package in FLOOR, f"package bakeoff.{package} has no floor in LAYERS: add it"
    return FLOOR[package]


def test_every_package_has_a_floor() -> None:
    packages = {_package(m) for m in MODULES} - {ROOT_MODULE}
    assert packages <= set(FLOOR), sorted(packages - set(FLOOR))


def test_no_import_reaches_a_higher_floor_or_a_neighbour() -> None:
    wrong = [
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _package(module) != _package(target) and _floor(target) >= _floor(module)
    ]
    assert not wrong, "imports against the floor plan:\n" + "\n".join(wrong)


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return found


def test_no_import_circle() -> None:
    cycles = _cycles()
    assert not cycles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checks_see_a_circle_and_a_wrong_floor() -> None:
    """The walker itself: a planted upward import and a planted circle are found."""
    saved = {m: list(t) for m, t in GRAPH.items()}
    try:
        GRAPH["bakeoff.core.types"].append("bakeoff.report")
        GRAPH["bakeoff.report"].append("bakeoff.core.types")
        assert any("bakeoff.core.types" in c and "bakeoff.report" in c for c in _cycles()), (
            "a planted circle was not found"
        )
        with pytest.raises(AssertionError, match=r"bakeoff\.core\.types -> bakeoff\.report"):
            test_no_import_reaches_a_higher_floor_or_a_neighbour()
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


MAX_LINES = 600


def test_no_source_file_is_over_the_limit() -> None:
    long = {
        str(path.relative_to(SRC)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"files over {MAX_LINES} lines (split them by what they do): {long}"


def test_the_command_line_starts_without_numpy_or_scipy() -> None:
    """``bakeoff --help`` and every subcommand's parser load without the numeric stack; only
    the subcommand that computes imports it."""
    probe = (
        "import sys, bakeoff.cli.main as m\n"
        "heavy = sorted(n for n in ('numpy', 'scipy', 'torch', 'llama_cpp')"
        " if n in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "", f"import bakeoff.cli.main loaded: {done.stdout.strip()}"
