"""Errors first, everywhere a run's failures are listed: the console's list after a run,
report.html's failures section and summary.md's reproduce list. Info findings (a server
version in a header) are never among the first five; warnings come after errors."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from stress.console import print_failure_commands
from stress.report.findings import findings_section, listed, severity, top_failures
from stress.report.markdown import render_markdown


def failure(input_id: str, *severities: str, family: str = "f") -> dict[str, Any]:
    checks = {"error": "status_expectation", "warning": "strict_json"}
    findings = [
        {"check": checks.get(s, "server_version_leak"), "severity": s, "message": f"{s} here"}
        for s in severities
    ]
    return {
        "input_id": input_id,
        "family": family,
        "check": findings[0]["check"],
        "message": findings[0]["message"],
        "findings": findings,
    }


# Stored order as a run writes it: the info lines of the first answers come first.
STORED = [failure(f"info-{n}", "info", family=f"i{n}") for n in range(7)]
STORED += [failure("warn-1", "warning", family="w"), failure("err-1", "info", "error")]
STORED += [failure("err-2", "error", family="e2"), failure("warn-2", "warning", family="w2")]


def test_a_failure_is_as_grave_as_its_gravest_finding() -> None:
    assert severity(failure("a", "info", "error")) == "error"
    assert severity(failure("a", "info", "warning")) == "warning"
    assert severity(failure("a", "info")) == "info"


def test_the_console_lists_errors_then_warnings_and_never_info() -> None:
    console = Console(record=True, width=300)
    print_failure_commands(console, "runs/x", STORED)
    lines = console.export_text().splitlines()
    listed_ids = [line.split()[0] for line in lines if line.startswith("  ") and "  " in line[2:]]
    listed_ids = [i for i in listed_ids if not i.startswith("stress")]
    assert listed_ids == ["err-1", "err-2", "warn-1", "warn-2"]
    assert "7 more with info findings only" in lines[0]


def test_info_is_never_in_the_top_five_of_the_report() -> None:
    failures = top_failures(STORED, {"families": []})
    first = failures[:5]
    assert [severity(item) for item in first] == ["error", "error", "warning", "warning", "info"]
    html = findings_section(failures, "runs/x")
    errors_table = html.split("<details")[0]
    assert "err-1" in errors_table
    assert "info-0" not in errors_table
    assert "7 with info only" in html
    assert html.index("with warnings only") < html.index("with info only")


def test_the_summary_md_reproduce_list_starts_with_errors() -> None:
    summary = {"run_dir": "runs/x", "passed": False, "phases": [], "checks": []}
    text = render_markdown(summary, STORED)
    reproduce = text[text.index("### Reproduce") :]
    assert reproduce.index("status\\_expectation") < reproduce.index("strict\\_json")
    assert "server\\_version\\_leak" not in reproduce
    assert "info-0" not in reproduce


def test_a_short_list_holds_no_info_whatever_its_count() -> None:
    assert [item["input_id"] for item in listed(STORED)] == ["err-1", "err-2", "warn-1", "warn-2"]
