"""A report reads stored runs whatever else is loaded: every aggregation a task module registers
(``register_aggregation``) is known once the report's view model is imported, in a fresh
interpreter that has imported nothing else."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

TASKS = Path(__file__).resolve().parents[2] / "src" / "bakeoff" / "tasks"


def _registered_names() -> dict[str, str]:
    """Aggregation name -> the file that registers it, read from the task modules' code."""
    found = {}
    for path in TASKS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "register_aggregation"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found[str(node.args[0].value)] = str(path.relative_to(TASKS))
    return found


def test_the_view_model_knows_every_registered_aggregation() -> None:
    registered = _registered_names()
    assert {"balanced_acc", "masked_mean", "languages_served"} <= set(registered)
    probe = (
        "import bakeoff.report.model\n"
        "from bakeoff.tasks.base import AGGREGATIONS\n"
        "print('\\n'.join(sorted(AGGREGATIONS)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    known = set(done.stdout.split())
    missing = {name: where for name, where in registered.items() if name not in known}
    assert not missing, f"report.model.tasks must import the modules that register {missing}"
