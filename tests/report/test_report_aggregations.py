"""A report reads stored runs whatever else is loaded: every aggregation a task module registers
(``register_aggregation``) is found by ``MetricSpec.aggregate`` in a fresh interpreter that has
imported nothing but tasks.base (``AGGREGATION_MODULES`` names the modules it loads)."""

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


def test_every_registered_aggregation_is_found_by_its_stored_name() -> None:
    registered = _registered_names()
    assert {"balanced_acc", "masked_mean", "languages_served"} <= set(registered)
    probe = (
        "import numpy as np\n"
        "from bakeoff.core.errors import ConfigError\n"
        "from bakeoff.tasks.base import AGGREGATIONS, MetricSpec\n"
        "try:\n"
        "    MetricSpec('m', aggregation='no-such-aggregation').aggregate(np.zeros((1, 1)))\n"
        "except ConfigError:\n"
        "    pass\n"
        "print('\\n'.join(sorted(AGGREGATIONS)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    known = set(done.stdout.split())
    missing = {name: where for name, where in registered.items() if name not in known}
    assert not missing, f"tasks.base.AGGREGATION_MODULES must name the modules of {missing}"
