"""The summary's "checks" list and its one-line verdict (stress.report.summary documents the
schema): one entry per per-request check the scenario ran, with its finding counts by severity
and the first message of its worst one (from failures.jsonl), one per SLO result, and the run
check ``requests_recorded``; then PASSED or FAILED with the first few reasons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from stress.checks.request import CHECKS, severity_of
from stress.checks.slo import SloResult
from stress.rundir import layout
from stress.rundir.read import RunData, iter_failures
from stress.scenario import DEFAULT_CHECKS

RUN_CHECK = "requests_recorded"
ERROR = "error"
WARNING = "warning"
INFO = "info"

# A failed verdict lists this many reasons in its one-line message; the rest are counted.
_MAX_REASONS = 4


class FailureIndex:
    """What the report takes from failures.jsonl: finding severities, examples, counts."""

    def __init__(self) -> None:
        self.stored = 0
        self.inputs: set[str] = set()
        # check -> severity -> the first message seen, to show what a failure looks like.
        self.examples: dict[str, dict[str, str]] = {}

    @classmethod
    def read(cls, run_dir: Path) -> FailureIndex:
        index = cls()
        for item in iter_failures(run_dir):
            index.stored += 1
            input_id = item.get("input_id")
            if isinstance(input_id, str):
                index.inputs.add(input_id)
            findings = item.get("findings")
            for finding in findings if isinstance(findings, list) else []:
                if not isinstance(finding, dict) or not isinstance(finding.get("check"), str):
                    continue
                check = finding["check"]
                severity = finding.get("severity")
                severity = severity if severity in (WARNING, INFO) else ERROR
                message = finding.get("message")
                if isinstance(message, str):
                    index.examples.setdefault(check, {}).setdefault(severity, message)
        return index

    def example(self, check: str, severity: str) -> str | None:
        return self.examples.get(check, {}).get(severity)


def request_check_names(run: RunData) -> list[str]:
    """The per-request checks the scenario ran, in its order (``default`` expanded)."""
    chosen = run.scenario.checks
    if chosen is None:
        return list(CHECKS)
    names: list[str] = []
    for name in chosen:
        expanded = list(CHECKS) if name == DEFAULT_CHECKS else [name]
        names.extend(n for n in expanded if n not in names and (n in CHECKS or ":" in n))
    return names


def request_checks(
    run: RunData, severities: pd.DataFrame, failures: FailureIndex
) -> list[dict[str, Any]]:
    names = request_check_names(run)
    names += sorted(set(severities["check"]) - set(names))
    counts = severities.groupby(["check", "severity"]).size()
    requests = len(run.records)
    fail_on = {str(severity) for severity in run.scenario.fail_on}
    entries = []
    for name in names:
        errors = int(counts.get((name, ERROR), 0))
        warnings = int(counts.get((name, WARNING), 0))
        info = int(counts.get((name, INFO), 0))
        failing = {ERROR: errors, WARNING: warnings, INFO: info}
        passed = not any(failing[severity] for severity in fail_on if severity in failing)
        shown = ERROR if errors else WARNING if warnings else INFO
        example = failures.example(name, shown)
        first = f"; first: {example}" if example else ""
        if not requests:
            message = "not judged: no requests were recorded"
        elif errors:
            more = f" ({warnings} more with warnings)" if warnings else ""
            message = f"{errors} of {requests} requests failed{more}{first}"
        elif warnings:
            verdict = "failed" if not passed else "passed"
            message = f"{verdict}, with warnings on {warnings} of {requests} requests{first}"
        elif info:
            verdict = "failed" if not passed else "passed"
            message = f"{verdict}, with notes on {info} of {requests} requests{first}"
        else:
            message = f"no findings in {requests} requests"
        entries.append(
            {
                "name": name,
                "kind": "request",
                "phase": None,
                "passed": passed,
                "errors": errors,
                "warnings": warnings,
                "info": info,
                "severity": severity_of(name, run.scenario),
                "message": message,
            }
        )
    return entries


def slo_check(result: SloResult) -> dict[str, Any]:
    return {
        "name": f"slo.{result.metric}",
        "kind": "slo",
        "phase": result.phase,
        "passed": result.passed,
        "errors": 0 if result.passed else 1,
        "warnings": 0,
        "info": 0,
        "severity": ERROR,
        "family": result.family,
        "message": result.message,
    }


def run_check(run: RunData) -> dict[str, Any]:
    requests = len(run.records)
    if requests:
        message = f"{requests} requests recorded"
    else:
        message = (
            f"no requests were recorded in {layout.records(run.run_dir)}: the run stopped before "
            f"load began or nothing answered; see the run's console output and run.json"
        )
    return {
        "name": RUN_CHECK,
        "kind": "run",
        "phase": None,
        "passed": requests > 0,
        "errors": 0 if requests else 1,
        "warnings": 0,
        "info": 0,
        "severity": ERROR,
        "message": message,
    }


def verdict_line(passed: bool, checks: Sequence[Mapping[str, Any]], requests: int) -> str:
    if not requests:
        # Every SLO also fails on an empty run; the one reason worth reading is this one.
        run_check = next(check for check in checks if check["kind"] == "run")
        return f"FAILED: {run_check['message']}"
    if passed:
        judged = sum(1 for check in checks if check["kind"] != "run")
        return f"PASSED: {judged} checks and SLOs passed on {requests} requests"
    reasons = []
    for check in checks:
        if check["passed"]:
            continue
        if check["kind"] == "request":
            found = check["errors"] or check["warnings"] or check["info"]
            reasons.append(f"{check['name']} failed {found} of {requests} requests")
        else:
            reasons.append(f"{check['name']}: {check['message']}")
    shown = "; ".join(reasons[:_MAX_REASONS])
    more = f"; and {len(reasons) - _MAX_REASONS} more" if len(reasons) > _MAX_REASONS else ""
    return f"FAILED: {shown}{more}"
