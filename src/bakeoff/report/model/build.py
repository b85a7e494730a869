"""Build the guide's view model (report.model.view) from a stored run, and nothing else: the
store is the only input, the renderers the only readers."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping

from bakeoff.core.records import ResultRecord
from bakeoff.core.types import JSONValue
from bakeoff.report.model.chat_probe import transcript_chat_models
from bakeoff.report.model.cost import cost_row
from bakeoff.report.model.criteria import criteria, pareto_points, tested_support
from bakeoff.report.model.hardware import hardware_row
from bakeoff.report.model.profiles import DEFAULT_PROFILES, score_profiles
from bakeoff.report.model.reasoning import reasoning_section
from bakeoff.report.model.speed_lab import speed_lab_for
from bakeoff.report.model.tasks import apply_holm, formulations, task_report
from bakeoff.report.model.timing import latency_comparisons, speed_summary
from bakeoff.report.model.view import ReportModel, UnavailableTask
from bakeoff.storage.base import Store


def build_report(
    store: Store,
    run_ref: str,
    max_disagreements: int = 5,
    *,
    profiles: Mapping[str, Mapping[str, float]] | None = None,
    price_per_hour: float | None = None,
) -> ReportModel:
    run = store.get_run(run_ref)
    models = tuple(m.label for m in run.models)
    results = list(store.iter_results(run.run_id))
    by_task: dict[str, list[ResultRecord]] = defaultdict(list)
    for record in results:
        by_task[record.task].append(record)
    info = {m.label: m.info for m in run.models}
    tasks = []
    for task in run.tasks:
        samples = {s.sample_id: s for s in store.iter_samples(run.run_id, task.name)}
        report = task_report(
            task.name,
            task.manifest,
            task.version,
            task.template_hash,
            task.n_samples,
            models,
            by_task[task.name],
            samples,
            max_disagreements,
        )
        tasks.append(
            dataclasses.replace(
                report,
                formulations=formulations(task.name, info),
                transcript_chat=transcript_chat_models(report.family, samples.values(), info),
            )
        )
    apply_holm(tasks)
    speed = tuple(speed_summary(model, results) for model in models)
    hardware = tuple(hardware_row(m, info[m]) for m in models)
    task_order = [t.name for t in run.tasks]
    cost = tuple(cost_row(m, info[m], results, price_per_hour, task_order) for m in models)
    values = criteria(models, tasks, speed, hardware, cost, results)
    latency = latency_comparisons(models, results)
    return ReportModel(
        run=run,
        models=models,
        model_info=info,
        tasks=tuple(tasks),
        speed=speed,
        hardware=hardware,
        cost=cost,
        price_per_hour=price_per_hour,
        criteria=values,
        profiles=score_profiles(
            models, values, profiles or DEFAULT_PROFILES, tested_support(tasks, latency)
        ),
        pareto_cost=pareto_points(values, "cost"),
        pareto_latency=pareto_points(values, "latency"),
        unavailable=_unavailable(run.manifest),
        latency=latency,
        speed_lab=speed_lab_for(store, models),
        reasoning=reasoning_section(models, info, results),
    )


def _unavailable(manifest: Mapping[str, JSONValue]) -> tuple[UnavailableTask, ...]:
    items = manifest.get("unavailable_tasks")
    if not isinstance(items, list):
        return ()
    return tuple(
        UnavailableTask(str(item.get("name", "?")), str(item.get("reason", "")))
        for item in items
        if isinstance(item, dict)
    )
