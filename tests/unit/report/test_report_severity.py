"""fail_on and the info severity in summary.json and junit.xml (see report_runs for the run)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from report_runs import standard_failures, standard_records, write_run

from stress.report import build_summary, write_reports


def with_fail_on(run_dir: Path, line: str) -> None:
    path = run_dir / "scenario.yaml"
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


def test_warnings_fail_when_fail_on_lists_them(run_dir: Path) -> None:
    before = {c["name"]: c for c in build_summary(run_dir)["checks"]}
    assert before["status_expectation"]["passed"] is True
    with_fail_on(run_dir, "fail_on: [error, warn]")
    summary = write_reports(run_dir)
    after = {c["name"]: c for c in summary["checks"]}
    assert after["status_expectation"]["passed"] is False
    assert after["status_expectation"]["warnings"] == 2
    assert summary["fail_on"] == ["error", "warning"]
    assert "status_expectation failed 2 of 60 requests" in summary["message"]
    root = ET.parse(run_dir / "junit.xml").getroot()
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "status_expectation")
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["malformed.wrong_type"]


def test_info_findings_are_counted_per_check_phase_and_family(tmp_path: Path) -> None:
    rows = standard_records()
    rows[5].info_checks = ["server_version_leak"]
    rows[30].info_checks = ["server_version_leak"]
    run_dir = write_run(tmp_path / "info-run", rows, standard_failures(rows))
    summary = build_summary(run_dir)
    checks = {c["name"]: c for c in summary["checks"]}
    assert (checks["server_version_leak"]["info"], checks["server_version_leak"]["passed"]) == (
        2,
        True,
    )
    assert summary["totals"]["info"] == 2
    phases = {p["name"]: p for p in summary["phases"]}
    assert phases["baseline"]["check_info"] == {"server_version_leak": 1}
    assert phases["load"]["check_info"] == {"server_version_leak": 1}
    assert phases["load"]["checks"] == {"not_a_server_error": 1, "response_shape": 1}
    families = {f["name"]: f for f in summary["families"]}
    assert families["realistic.chat_prompt"]["check_info"] == {"server_version_leak": 2}
    with_fail_on(run_dir, "fail_on: [info]")
    summary = build_summary(run_dir)
    checks = {c["name"]: c for c in summary["checks"]}
    assert checks["server_version_leak"]["passed"] is False
    assert checks["not_a_server_error"]["passed"] is True  # errors do not fail: not in fail_on
