"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from tests.data_formats import write_all
from tests.helpers import SHARED_DATA
from tests.helpers_extras import missing_extra_reason, with_install_hint


def _hint_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    # A skip's longrepr is (path, line, reason): name the extra to install in the reason.
    if report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        path, line, reason = report.longrepr
        report.longrepr = (path, line, with_install_hint(str(reason)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[Any]:
    outcome = yield
    report = outcome.get_result()
    reason = missing_extra_reason(call.excinfo.value) if call.excinfo else None
    if reason is not None and report.failed:
        # The code under test says an extra is missing, and it is: skipped, not failed.
        path, line, _ = item.reportinfo()
        report.outcome = "skipped"
        report.longrepr = (str(path), (line or 0) + 1, reason)
    _hint_skip(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[Any]:
    outcome = yield
    _hint_skip(outcome.get_result())


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"shared benchmark data not found at {SHARED_DATA} (set $BAKEOFF_SHARED_DATA to a "
            "folder laid out as ../shared/data); the same loaders are tested on small files in "
            "tests/data_formats.py"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def format_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder laid out as ../shared/data, a few invented rows per dataset
    (tests/data_formats.py), so the loaders and scorers are tested where the shared copy is not.
    Shared by the session: tests read it and never write into it."""
    return write_all(tmp_path_factory.mktemp("format_data"))
