"""12. Methodology and reproducibility: methods, machine, seed and limit, each task's and
model's identity, the command to rerun, and the stored manifests."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping

from bakeoff.core.types import JSONValue
from bakeoff.report.blocks import Block, Code, Heading, Pre, Table
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.model.view import ReportModel


def blocks(report: ReportModel) -> list[Block]:
    run = report.run
    machine = run.manifest.get("machine", {})
    out: list[Block] = [Heading(2, "Methodology and reproducibility"), P(report.method)]
    if isinstance(machine, dict):
        out.append(
            P(
                f"Machine: {machine.get('processor', '?')}, {machine.get('cpu_count', '?')} CPUs, "
                f"{machine.get('platform', '?')}, Python {machine.get('python', '?')}."
                + _load_note(machine)
                + _run_settings(run.config, run.manifest)
            )
        )
    out.append(
        Table(
            ("task", "version", "kind", "prompt template hash", "samples", "options", "source"),
            tuple(
                (
                    t.name,
                    t.version,
                    str(t.manifest.get("kind", "?")),
                    Code(t.template_hash),
                    str(t.n_samples),
                    Code(json.dumps(t.manifest.get("config", {}), sort_keys=True)),
                    str(t.manifest.get("source", "")),
                )
                for t in run.tasks
            ),
        )
    )
    out.append(
        Table(
            ("model", "spec", "sha256"),
            tuple((m.label, Code(m.spec[:120]), Code(m.sha256 or "unknown")) for m in run.models),
        )
    )
    command = run.manifest.get("command")
    if command:
        out += [
            P("Rerun (resumes, or reproduces with a fresh --db):"),
            Pre(_rerun(str(command))),
        ]
    out += [
        P("The manifests (run identity, environment, models, task definitions) as stored:"),
        Pre(_manifests(report)),
    ]
    return out


def _load_note(machine: Mapping[str, JSONValue]) -> str:
    """Other work on the machine slows every timing: say how busy it was when the run began."""
    load = machine.get("load_average_1m")
    if not isinstance(load, int | float):
        return ""
    return (
        f" Load average when the run started: {load:.2f}"
        " (above about one per CPU, timings are indicative only)."
    )


def _run_settings(config: Mapping[str, JSONValue], manifest: Mapping[str, JSONValue]) -> str:
    seed = config.get("seed", manifest.get("seed"))
    limit = config.get("limit")
    text = f" Seed {seed}." if seed is not None else ""
    return text + (f" At most {limit} samples per task (--limit)." if limit else "")


def _manifests(report: ReportModel) -> str:
    run = report.run
    data = {
        "run": {"run_id": run.run_id, "config": run.config, "manifest": run.manifest},
        "models": {m.label: {"spec": m.spec, "info": m.info} for m in run.models},
        "tasks": {t.name: t.manifest for t in run.tasks},
    }
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False)


def _rerun(command: str) -> str:
    try:
        parts = shlex.split(command)
    except ValueError:  # recorded without quoting: split on spaces
        parts = command.split()
    if parts and parts[0].endswith(("bakeoff", "bakeoff/cli/main.py", "bakeoff/__main__.py")):
        parts[0] = "bakeoff"
    return shlex.join(parts)
