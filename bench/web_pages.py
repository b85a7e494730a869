"""Time ``bakeoff serve``'s pages on a store of 100,000 samples × 2 models (in-process).

    python bench/web_pages.py [--samples 100000]

Seeds a throwaway SQLite file through the normal Store API, then times each page the app
serves: runs list, comparison (per-task aggregates + disagreement join), the first and the last
page of samples (keyset pagination, so both cost the same), and a disagreement-filtered page
deep in the task. Timings on a shared machine are indicative only.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bakeoff.core.records import ModelRecord, ResultRecord, RunRecord, SampleRecord, TaskRecord
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.web.app import App

RUN = "bench000000000000"


def seed(path: Path, n: int) -> None:
    run = RunRecord(
        RUN, "bench", "complete", "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", {}, {}
    )
    models = [
        ModelRecord("a", "a=mock:a", "mock", {}, 0),
        ModelRecord("b", "b=mock:b", "mock", {}, 1),
    ]
    tasks = [
        TaskRecord(
            "big",
            "1",
            "0" * 16,
            n,
            {
                "metrics": [{"name": "exact_match", "binary": True, "scale": 100.0}],
                "primary_metric": "exact_match",
            },
            0,
        )
    ]
    samples = [
        SampleRecord("big", f"s{i:06d}", i, f"question {i} " + "x" * 200, str(i), {})
        for i in range(n)
    ]
    store = SqliteStore(path)
    store.create_or_resume_run(run, models, tasks, samples)
    batch: list[ResultRecord] = []
    for i in range(n):
        for model, right in (("a", i % 3 != 0), ("b", i % 4 != 0)):
            batch.append(
                ResultRecord(
                    RUN,
                    model,
                    "big",
                    f"s{i:06d}",
                    "ok",
                    str(i) if right else "wrong " * 20,
                    str(i),
                    right,
                    {"exact_match": (float(right),)},
                    prompt_tokens=50,
                    output_tokens=5,
                    prompt_seconds=0.01,
                    output_seconds=0.01,
                    created_at="2026-01-01T00:00:00+00:00",
                )
            )
        if len(batch) >= 20_000:
            store.save_results(batch)
            batch = []
    store.save_results(batch)
    store.close()


def timed(app: App, target: str, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        response = app.handle(target)
        times.append(time.perf_counter() - start)
        assert response.status == 200, target
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        start = time.perf_counter()
        seed(path, args.samples)
        print(f"seeded {args.samples:,} samples × 2 models in {time.perf_counter() - start:.1f} s")
        app = App(path)
        last = args.samples - 26
        pages = {
            "runs list": "/",
            "comparison": f"/run/{RUN}",
            "samples, first page": f"/run/{RUN}/samples?task=big",
            "samples, last page": f"/run/{RUN}/samples?task=big&after={last}",
            "disagreements, deep page": f"/run/{RUN}/samples?task=big&disagree=1&after={last // 2}",
            "previous page, deep": f"/run/{RUN}/samples?task=big&before={last // 2}",
        }
        for name, target in pages.items():
            print(f"{name:28s} {timed(app, target) * 1000:8.1f} ms (median of 5)")
        guide = timed(app, f"/run/{RUN}/guide", repeats=1)
        print(f"{'full guide, first request':28s} {guide * 1000:8.1f} ms (then cached)")


if __name__ == "__main__":
    main()
