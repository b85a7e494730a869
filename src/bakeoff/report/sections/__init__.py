"""The guide's sections, in order, as format-neutral blocks (report.blocks; report.markdown and
report.html render them).

One module per section; :data:`GUIDE` is the table of contents. A new section is a module with
``blocks(report) -> list[Block]`` and one line in :data:`GUIDE`. A section with no stored data
says so and names the command that measures it.
"""

from __future__ import annotations

from collections.abc import Callable

from bakeoff.report.blocks import Block
from bakeoff.report.model.view import ReportModel
from bakeoff.report.sections import (
    benchmarks,
    conversation,
    cost,
    disagreements,
    hardware,
    methodology,
    multilingual,
    open_ended,
    reasoning,
    safety,
    specs,
    speed,
    summary,
    title,
    use_cases,
)

GUIDE: tuple[Callable[[ReportModel], list[Block]], ...] = (
    title.blocks,
    summary.blocks,  # 1
    specs.blocks,  # 2
    hardware.blocks,  # 3
    benchmarks.blocks,  # 4
    multilingual.blocks,  # 5
    speed.blocks,  # 6
    conversation.blocks,  # 7
    open_ended.blocks,  # 7b: only for runs with judged open-ended tasks
    safety.blocks,  # 8
    cost.blocks,  # 9
    reasoning.blocks,  # 9b: only for runs whose answers spent reasoning tokens
    use_cases.blocks,  # 10
    disagreements.blocks,  # 11
    methodology.blocks,  # 12
)


def build_sections(report: ReportModel) -> list[Block]:
    return [block for section in GUIDE for block in section(report)]
