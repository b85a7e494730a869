"""The guide's "Open-ended quality" section: a judge that passes its sanity check lets the
paired comparison speak; one that fails it (a tiny judge, a judge that grades everything the
same) is shown failing, and no winner is named. Runs go through the real runner with scripted
API models and judges; the questions are made up (tests/tasks/test_open_ended.py)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers_scripted_api import LOCAL_URL, prompt_text
from tests.runner.test_graded_runs import Reply, _Executor
from tests.tasks.test_open_ended import write_mt_bench

from bakeoff.core.model import ModelSpec
from bakeoff.core.types import GenerateRequest, GenerationResult, Request, Usage
from bakeoff.report.html import html
from bakeoff.report.markdown import markdown
from bakeoff.report.model import build_report
from bakeoff.report.model.open_ended import judged_tasks
from bakeoff.report.sections import open_ended
from bakeoff.runner.executor import Outcome
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import execute_plan
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.open_ended.mt_bench import MtBench
from bakeoff.tasks.probes import CopyProbe

REFERENCES = {("What is 2+2?", "4"), ("Reverse a list.", "xs[::-1]")}


def _answer_of(text: str) -> tuple[str, str]:
    question = text.partition("[Question]\n")[2].partition("\n")[0]
    answer = text.partition("[The Start of the Assistant's Answer]\n")[2].partition("\n[The")[0]
    return question, answer


def _discerning(spec: ModelSpec, request: Request) -> Outcome:
    """Models: 'good' writes long answers, 'weak' short ones. The judge grades a control's
    reference 10 and its worse answer 2, 'good' 8 and 'weak' 3."""
    assert isinstance(request, GenerateRequest)
    text = prompt_text(request)
    if spec.label in ("good", "weak"):
        reply = "a careful full answer" if spec.label == "good" else "eh"
        return GenerationResult(reply, "stop", Usage(10, 3))
    question, answer = _answer_of(text)
    if "### Assistant:\na careful full answer\n\n[The End" in text:
        grade = 8
    elif "### Assistant:\neh\n\n[The End" in text:
        grade = 3
    elif answer == "a careful full answer":
        grade = 8
    elif answer == "eh":
        grade = 3
    else:
        grade = 10 if (question, answer) in REFERENCES else 2
    return GenerationResult(f"Rating: [[{grade}]]", "stop", Usage(100, 10))


def _flat(spec: ModelSpec, request: Request) -> Outcome:
    """The same models; a judge that grades every answer 5 (it cannot tell anything apart)."""
    if spec.label in ("good", "weak"):
        return _discerning(spec, request)
    return GenerationResult("Rating: [[5]]", "stop", Usage(100, 10))


def _report(tmp_path: Path, reply: Reply, judge: str = "judge") -> tuple[str, str]:
    folder = write_mt_bench(tmp_path / "mt", more_writing=9)
    models = tuple(
        ModelSpec.parse(f"{m}=openai:{m},base_url={LOCAL_URL}") for m in ("good", "weak")
    )
    judges = (ModelSpec.parse(f"{judge}=openai:{judge},base_url={LOCAL_URL}"),)
    plan = make_plan(RunConfig(models=models, judges=judges), tasks=[MtBench(str(folder))])
    store = SqliteStore(tmp_path / "r.db")
    try:
        execute_plan(plan, store, executor=_Executor(reply=reply))
        report = build_report(store, plan.run_id)
    finally:
        store.close()
    blocks = open_ended.blocks(report)
    return markdown(blocks), html(blocks)


def test_a_judge_that_passes_its_sanity_check_lets_the_comparison_speak(tmp_path: Path) -> None:
    text, page = _report(tmp_path, _discerning)
    assert "## Open-ended quality" in text
    assert re.search(r"\| judge \| `openai:judge,base_url=[^`]*` \| 100% \| 24 \| passed \|", text)
    assert "No winner is named" not in text
    assert "good vs weak on mean grade: good better" in text
    assert "8.00" in text
    assert "3.00" in text
    assert "Open-ended quality" in page
    assert "grade-1" in text  # the judge prompt's version, with its hash


def test_a_judge_that_grades_everything_the_same_fails_and_no_winner_is_named(
    tmp_path: Path,
) -> None:
    text, _ = _report(tmp_path, _flat)
    assert "| 0% | 24 | FAILED |" in text
    assert (
        "No winner is named on judged quality: judge graded the known-better answer higher "
        "in 0% of 24 control gradings, below the 80%" in text
    )
    assert "good better" not in text


def test_a_judge_of_a_compared_models_family_is_flagged(tmp_path: Path) -> None:
    folder = write_mt_bench(tmp_path / "mt")
    models = (ModelSpec.parse("good=mock:gemma-3-4b"), ModelSpec.parse("weak=mock:smollm2"))
    judges = (ModelSpec.parse("j=mock:gemma-3-27b"),)
    plan = make_plan(RunConfig(models=models, judges=judges), tasks=[MtBench(str(folder))])
    store = SqliteStore(tmp_path / "r.db")
    try:
        execute_plan(plan, store)
        (task,) = judged_tasks(build_report(store, plan.run_id))
    finally:
        store.close()
    (judge,) = task.judges
    assert judge.self_preference == ("mock:gemma-3-4b",)
    assert not judge.passed  # the mock judge writes no grades: 0% on the controls
    assert any("same family as, mock:gemma-3-4b" in v for v in task.verdicts)
    assert {row.unparsable for row in task.rows} == {1.0}


def test_a_run_without_judged_tasks_gets_no_section(tmp_path: Path) -> None:
    plan = make_plan(
        RunConfig(models=(ModelSpec.parse("a=mock:a"),)), tasks=[CopyProbe("", {"n": "3"})]
    )
    store = SqliteStore(tmp_path / "r.db")
    try:
        execute_plan(plan, store)
        report = build_report(store, plan.run_id)
    finally:
        store.close()
    assert judged_tasks(report) == ()
    assert open_ended.blocks(report) == []


def test_graded_tasks_sit_in_their_own_section_not_among_the_benchmarks(tmp_path: Path) -> None:
    """A judge's grades are not benchmark scores: mt-bench is listed under open-ended quality
    only, so the Benchmarks section cannot show a comparison a failed judge made."""
    folder = write_mt_bench(tmp_path / "mt")
    models = (ModelSpec.parse("good=mock:a"), ModelSpec.parse("weak=mock:b"))
    plan = make_plan(
        RunConfig(models=models, judges=(ModelSpec.parse("j=mock:c"),)),
        tasks=[MtBench(str(folder))],
    )
    store = SqliteStore(tmp_path / "r.db")
    try:
        execute_plan(plan, store)
        report = build_report(store, plan.run_id)
    finally:
        store.close()
    assert [t.name for t in report.section_tasks("open-ended")] == ["mt-bench"]
    assert report.section_tasks("benchmarks") == ()
