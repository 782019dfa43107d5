"""Fixtures: the standard run directory (see report_runs) and an empty one."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_runs import standard_failures, standard_records, write_run


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    rows = standard_records()
    return write_run(tmp_path / "report-test-20231114T221319Z", rows, standard_failures(rows))


@pytest.fixture
def empty_run_dir(tmp_path: Path) -> Path:
    return write_run(tmp_path / "empty-run", [], complete=False)
