"""The summary's one-line verdict (stress.report.verdict): what it counts and how many reasons
a failed run's line names."""

from __future__ import annotations

from typing import Any

from stress.report.verdict import RUN_CHECK, verdict_line


def entry(name: str, kind: str, passed: bool, errors: int = 0, message: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "passed": passed,
        "errors": errors,
        "warnings": 0,
        "info": 0,
        "message": message,
    }


RAN = entry(RUN_CHECK, "run", True, message="10 requests recorded")


def test_a_passed_run_counts_its_checks_and_slos_but_not_the_run_check() -> None:
    checks = [entry("not_a_server_error", "request", True), entry("slo.p95_ms", "slo", True), RAN]
    assert verdict_line(True, checks, 10) == "PASSED: 2 checks and SLOs passed on 10 requests"


def test_a_failed_run_names_four_reasons_and_counts_the_rest() -> None:
    failing = [entry(f"check_{i}", "request", False, errors=i + 1) for i in range(5)]
    failing.append(entry("slo.p95_ms", "slo", False, message="p95 900 ms > 500 ms"))
    line = verdict_line(False, [*failing, entry("quiet", "request", True), RAN], 10)
    assert line == (
        "FAILED: check_0 failed 1 of 10 requests; check_1 failed 2 of 10 requests; "
        "check_2 failed 3 of 10 requests; check_3 failed 4 of 10 requests; and 2 more"
    )


def test_an_empty_run_says_only_that_nothing_was_recorded() -> None:
    empty = entry(RUN_CHECK, "run", False, errors=1, message="no requests were recorded in X")
    checks = [entry("slo.p95_ms", "slo", False, message="no requests"), empty]
    assert verdict_line(False, checks, 0) == "FAILED: no requests were recorded in X"
