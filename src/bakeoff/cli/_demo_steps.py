"""What ``bakeoff demo`` says and does beside the run: where the data comes from, what the
samples give, which sections have no data (and how to give it), and the short speed sweep the
guide folds in.

Apart from the parser (cli/demo.py) because it loads the task catalog, the speed lab and Rich.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from rich.console import Console

from bakeoff.cli._speed_output import LiveProgress
from bakeoff.cli.terminal import markup
from bakeoff.core.model import ModelSpec
from bakeoff.runner.plan import Plan
from bakeoff.speed.lab import Progress, SpeedConfig, run_speed
from bakeoff.speed.targets import SUPPORTED
from bakeoff.storage.speed_store import SpeedStore
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.base import TASKS
from bakeoff.tasks.benchmarks._loading import DATA_DIR_ENV
from bakeoff.tasks.sampled import SampledTask, half_width_at_50

DATA_HINT = (
    f"bakeoff demo --data-dir DIR (or {DATA_DIR_ENV}=DIR), DIR laid out as docs/demo.md shows, "
    "or pip install 'bakeoff[hub]' and run online"
)
SPEED_PROMPTS = (128, 384)
"""The demo's speed sweep: one request at a time, a short and a long prompt (tokens), ..."""
SPEED_OUTPUT = 32
"""... this many tokens out, ..."""
SPEED_REQUESTS = 3
"""... and this many measured requests per point (after one warm-up)."""
_SECTIONS = {"benchmark": "benchmarks"}
"""A task family's section in the guide, where the names differ."""


def sample_line(plan: Plan) -> str | None:
    """What the sampled tasks' figures are: estimates, with the interval their n gives."""
    sizes = sorted({len(plan.samples[t.name]) for t in plan.tasks if isinstance(t, SampledTask)})
    if not sizes:
        return None
    n = f"n={sizes[0]}" if len(sizes) == 1 else f"n={sizes[0]}–{sizes[-1]}"
    widths = [f"±{half_width_at_50(size) * 100:.0f}" for size in (sizes[-1], sizes[0])]
    width = widths[0] if widths[0] == widths[-1] else f"{widths[0]} to {widths[-1]}"
    return (
        f"benchmarks, multilingual and safety sets on seeded samples, {n} per task: estimates, "
        f"a 95% interval about {width} points wide at 50% (--full runs the whole sets)"
    )


def data_line(plan: Plan) -> str | None:
    """Where the sampled tasks' data came from: a local folder, the hub, or both."""
    origins = [
        str(origin)
        for task in plan.tasks
        if isinstance(task, SampledTask)
        for origin in task.data_origins
    ]
    if not origins:
        return None
    hub = sum(origin.startswith("hub ") for origin in origins)
    folder = os.environ.get(DATA_DIR_ENV, "").strip()
    places = []
    if len(origins) > hub:
        places.append(f"the folder {folder}" if folder else "local files")
    if hub:
        places.append("the Hugging Face hub (commits pinned in the user's cache)")
    return f"data from {' and '.join(places)}"


def missing_sections(unavailable: Iterable[tuple[str, str]]) -> list[str]:
    """One line per section whose tasks have no data: which tasks, and how to give the data."""
    by_section: dict[str, list[str]] = {}
    for name, _ in unavailable:
        by_section.setdefault(section_of(name), []).append(name)
    return [
        f"{section} not measured ({', '.join(names)}: no data found): {DATA_HINT}"
        for section, names in by_section.items()
    ]


def section_of(task_label: str) -> str:
    """The guide section of a task that could not be built, from its class's family."""
    name = task_label.partition(":")[0]
    family = str(getattr(TASKS.load(name), "family", "benchmark")) if name in TASKS else ""
    return _SECTIONS.get(family, family or "benchmarks")


def speed_config(models: Sequence[ModelSpec]) -> SpeedConfig | None:
    """The demo's sweep over the models the speed lab can time (None when there is none)."""
    timed = tuple(m for m in models if m.backend in SUPPORTED)
    if not timed:
        return None
    return SpeedConfig(
        models=timed,
        prompt_lengths=SPEED_PROMPTS,
        output_tokens=(SPEED_OUTPUT,),
        requests=SPEED_REQUESTS,
        warmup=1,
        name="demo speed sweep",
    )


def run_speed_sweep(config: SpeedConfig, db: str, console: Console) -> str:
    """Measure the sweep into ``db`` (where the guide finds it), or reuse a finished sweep of
    the same configuration: a demo run again does not time the models again."""
    store = SqliteStore(Path(db), create=True)
    try:
        speed = SpeedStore(store)
        done = finished_sweep(speed, config)
        if done is not None:
            console.print(f"speed: reusing the finished sweep {done[:12]}")
            return done
        shown = ", ".join(str(p) for p in config.prompt_lengths)
        labels = ", ".join(m.label for m in config.models)
        console.print(
            f"speed: {config.requests} requests per point, prompts of {shown} tokens, "
            f"{config.output_tokens[0]} tokens out, for {markup(labels)}",
            soft_wrap=True,
        )
        with LiveProgress(console) as live:
            progress = Progress(on_scenario=live.scenario, on_request=live.request)
            return run_speed(config, speed, progress)
    finally:
        store.close()


def finished_sweep(speed: SpeedStore, config: SpeedConfig) -> str | None:
    """The newest stored sweep with exactly this configuration and every scenario saved."""
    wanted = config.as_dict()
    expected = len(config.models) * len(config.scenarios())
    for run in speed.list_runs():
        if run.config == wanted and len(speed.scenarios(run.speed_run_id)) == expected:
            return run.speed_run_id
    return None
