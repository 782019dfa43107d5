"""write_reports: the three files, and clear errors for directories that are not runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_runs import MESSY, standard_failures, standard_records, write_run

from stress.errors import RunDirError, ScenarioError
from stress.report import build_summary, write_reports


def test_writes_three_files_and_returns_the_summary(run_dir: Path) -> None:
    summary = write_reports(run_dir)
    written = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert written == summary == build_summary(run_dir)
    assert (run_dir / "report.html").stat().st_size > 0
    assert (run_dir / "junit.xml").stat().st_size > 0
    assert not list(run_dir.glob("*.tmp"))


def test_reports_are_reproducible(run_dir: Path) -> None:
    write_reports(run_dir)
    first = [(run_dir / name).read_bytes() for name in ("summary.json", "report.html")]
    write_reports(run_dir)
    assert [(run_dir / name).read_bytes() for name in ("summary.json", "report.html")] == first


def test_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(RunDirError, match=r"nope: no such run directory; pass a directory"):
        write_reports(missing)


def test_a_file_is_not_a_run_directory(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(RunDirError, match=r"summary\.json: is a file, not a run directory"):
        write_reports(path)


def test_missing_scenario(run_dir: Path) -> None:
    (run_dir / "scenario.yaml").unlink()
    with pytest.raises(RunDirError, match=r"scenario\.yaml: missing; every run writes"):
        write_reports(run_dir)


def test_a_damaged_records_part_is_named(run_dir: Path) -> None:
    parts = sorted((run_dir / "records").glob("*.parquet"))
    assert len(parts) == 3  # 60 rows in parts of 25
    parts[1].write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(RunDirError) as caught:
        write_reports(run_dir)
    message = str(caught.value)
    assert message.startswith(f"{parts[1]}: cannot read the records")
    assert "move it out of" in message


def test_messy_finding_messages_reach_every_file_intact_or_escaped(tmp_path: Path) -> None:
    # A check message can quote the answer: NUL, bidi override, lone surrogate, <script>.
    rows = standard_records()
    failures = standard_failures(rows)
    failures[0]["findings"][0]["message"] = f"server error: HTTP 503: {MESSY}"
    run_dir = write_run(tmp_path / "run", rows, failures)
    summary = write_reports(run_dir)
    assert MESSY in summary["checks"][0]["message"]
    assert json.loads((run_dir / "summary.json").read_text(encoding="utf-8")) == summary
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page
    junit = (run_dir / "junit.xml").read_text(encoding="utf-8")
    assert "\x00" not in junit
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in junit


def test_an_invalid_scenario_is_a_scenario_error(run_dir: Path) -> None:
    (run_dir / "scenario.yaml").write_text("name: x\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"scenario\.yaml: target: required key is missing"):
        write_reports(run_dir)
