"""Time ``bakeoff serve``'s pages on a store of 100,000 samples × 2 models (in-process).

    python bench/web_pages.py [--samples 100000] [--db FILE]

Seeds a throwaway SQLite file through the normal Store API, then times each page the app
serves: runs list, comparison (per-task aggregates + disagreement join), the first and the last
page of samples (keyset pagination, so both cost the same), and a disagreement-filtered page
deep in the task. Timings on a shared machine are indicative only. ``--db FILE`` keeps the seeded
file (and reuses it when it already holds the benchmark run), so repeated timings skip seeding.
"""

from __future__ import annotations

import argparse
import sqlite3
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


def _seeded(path: Path, n: int) -> bool:
    if not path.exists():
        return False
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT n_samples FROM run_tasks WHERE run_id = ?", (RUN,)).fetchone()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return row is not None and row[0] == n


def timed(app: App, target: str, repeats: int = 5) -> tuple[float, float]:
    """Seconds of the first request and the median of the next ``repeats`` (the comparison's
    aggregates are cached after the first)."""
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        response = app.handle(target)
        times.append(time.perf_counter() - start)
        assert response.status == 200, target
    return times[0], statistics.median(times[1:])


def guide_ready(app: App, target: str) -> tuple[float, float]:
    """Seconds the first guide request took to answer, and until the guide was served."""
    start = time.perf_counter()
    first = app.handle(target)
    answered = time.perf_counter() - start
    while "is being built" in first.body:
        time.sleep(0.5)
        first = app.handle(target)
    assert first.status == 200, first.body[:200]
    return answered, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="keep (or reuse) the seeded SQLite file here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "bench.db"
        if not _seeded(path, args.samples):
            start = time.perf_counter()
            seed(path, args.samples)
            elapsed = time.perf_counter() - start
            print(f"seeded {args.samples:,} samples × 2 models in {elapsed:.1f} s")
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
        print(f"{'page':28s} {'first':>10s} {'then (median of 5)':>20s}")
        for name, target in pages.items():
            first, then = timed(app, target)
            print(f"{name:28s} {first * 1000:7.1f} ms {then * 1000:17.1f} ms")
        answered, ready = guide_ready(app, f"/run/{RUN}/guide")
        print(
            f"{'full guide':28s} {answered * 1000:7.1f} ms (a 'being built' page), "
            f"served after {ready:.1f} s, then cached"
        )


if __name__ == "__main__":
    main()
