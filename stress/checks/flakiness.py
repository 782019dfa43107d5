"""Flakiness: every failing input, re-sent alone a few times after the run, classified.

==============  ==========================================================================
class           meaning
==============  ==========================================================================
deterministic   every re-send fails again: a plain bug, reproducible with one request
flaky           some re-sends fail and some pass, or it passes alone but also failed in
                the low-concurrency baseline: it fails at random
load_only       failed only in phases above the baseline and passes every re-send alone:
                a capacity or concurrency bug
unknown         no re-send got an HTTP answer (the target went away after the run)
not_resent      beyond flakiness.max_inputs or the time budget
==============  ==========================================================================

"Fails" means a finding whose severity is in the scenario's ``fail_on``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from stress.checks.request import CONNECTION_KINDS
from stress.checks.resend import Resend

FLAKINESS = "flakiness"
CLASSES = ("deterministic", "flaky", "load_only", "unknown", "not_resent")
COLUMNS = (
    "seq",
    "worker",
    "input_id",
    "family",
    "phase",
    "failed_checks",
    "warned_checks",
    "info_checks",
)
_BY_SEVERITY = {"error": "failed_checks", "warning": "warned_checks", "info": "info_checks"}


@dataclass(frozen=True)
class Failing:
    """An input with at least one failing finding during the load."""

    input_id: str
    family: str
    checks: tuple[str, ...]
    phases: tuple[str, ...]
    requests: int


def failing_inputs(records: pd.DataFrame, fail_on: Sequence[str]) -> list[Failing]:
    """Inputs that failed, in the order of their first failure; ``records`` needs COLUMNS."""
    if records.empty:
        return []
    ordered = records.sort_values(["seq", "worker"], kind="stable")
    columns = [_BY_SEVERITY[severity] for severity in fail_on if severity in _BY_SEVERITY]
    families: dict[str, str] = {}
    checks: dict[str, set[str]] = {}
    phases: dict[str, dict[str, None]] = {}
    requests: dict[str, int] = {}
    for row in ordered.itertuples(index=False):
        failed: set[str] = set()
        for column in columns:
            value = getattr(row, column, None)
            if value is not None and len(value):
                failed.update(str(check) for check in value)
        if not failed:
            continue
        input_id = str(row.input_id)
        families.setdefault(input_id, str(row.family))
        checks.setdefault(input_id, set()).update(failed)
        phases.setdefault(input_id, {})[str(row.phase)] = None
        requests[input_id] = requests.get(input_id, 0) + 1
    return [
        Failing(
            input_id,
            family,
            tuple(sorted(checks[input_id])),
            tuple(phases[input_id]),
            requests[input_id],
        )
        for input_id, family in families.items()
    ]


def classify(
    failing: Failing, attempts: Sequence[Resend], fail_on: Sequence[str], baseline: str
) -> dict[str, object]:
    """The summary entry of one failing input, given its re-sends."""
    failed = [a for a in attempts if any(severity in fail_on for _, severity in a.findings)]
    again = sorted({c for a in failed for c, severity in a.findings if severity in fail_on})
    if not attempts:
        verdict = "not_resent"
    elif all(a.status == 0 and a.error_kind in CONNECTION_KINDS for a in attempts):
        verdict = "unknown"
    elif len(failed) == len(attempts):
        verdict = "deterministic"
    elif failed or baseline in failing.phases:
        verdict = "flaky"
    else:
        verdict = "load_only"
    return {
        "input_id": failing.input_id,
        "family": failing.family,
        "checks": list(failing.checks),
        "phases": list(failing.phases),
        "requests": failing.requests,
        "class": verdict,
        "attempts": len(attempts),
        "failed_attempts": len(failed),
        "checks_again": again,
    }


def summarise(
    failing: Sequence[Failing],
    resends: Iterable[Resend],
    fail_on: Sequence[str],
    baseline: str,
) -> dict[str, object]:
    """summary.json's "flakiness": counts per class and one entry per failing input."""
    attempts: dict[str, list[Resend]] = {}
    for resend in resends:
        if resend.purpose == FLAKINESS:
            attempts.setdefault(resend.input_id, []).append(resend)
    inputs = [classify(f, attempts.get(f.input_id, []), fail_on, baseline) for f in failing]
    counts = dict.fromkeys(CLASSES, 0)
    for entry in inputs:
        counts[str(entry["class"])] += 1
    return {"counts": counts, "inputs": inputs}
