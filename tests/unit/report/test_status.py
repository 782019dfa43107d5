"""How far a run got (stress.report.status): each phase's status and the INCOMPLETE cause."""

from __future__ import annotations

import pytest

from stress.errors import TargetUnreachable
from stress.report.status import (
    NOT_RUN,
    RAN,
    STOPPED,
    incomplete,
    not_run_check,
    phase_statuses,
)
from stress.rundir.read import RunInfo
from stress.runner import LoadProcessFailed, abort_cause

NAMES = ["warm", "load", "cool"]
STARTED = "2026-01-01T00:00:00+00:00"


def logged(*names: str) -> list[dict[str, object]]:
    return [{"name": name, "started_at": 1.0, "ended_at": 2.0} for name in names]


def test_a_signal_during_the_second_phase_leaves_the_third_not_run() -> None:
    statuses = phase_statuses(
        NAMES, logged("warm", "load"), {"warm": 5, "load": 3}, complete=False, stopped_by="x"
    )
    assert statuses == {"warm": RAN, "load": STOPPED, "cool": NOT_RUN}


def test_a_run_to_its_end_ran_every_phase() -> None:
    statuses = phase_statuses(NAMES, logged(*NAMES), {"warm": 1}, complete=True)
    assert statuses == dict.fromkeys(NAMES, RAN)


def test_without_load_json_the_records_tell_how_far_a_killed_run_got() -> None:
    statuses = phase_statuses(NAMES, None, {"warm": 4, "load": 2}, complete=False)
    assert statuses == {"warm": RAN, "load": STOPPED, "cool": NOT_RUN}


@pytest.mark.parametrize(("before_load", "status"), [(True, NOT_RUN), (False, RAN)])
def test_an_empty_run_is_not_run_only_when_a_named_cause_ended_it_first(
    before_load: bool, status: str
) -> None:
    statuses = phase_statuses(NAMES, None, {}, complete=False, ended_before_load=before_load)
    assert statuses == dict.fromkeys(NAMES, status)


def test_a_slo_of_a_phase_not_run_is_not_failed() -> None:
    check = {"name": "slo.p95_ms", "phase": "cool", "passed": False, "errors": 1, "message": "x"}
    entry = not_run_check(check)
    assert (entry["passed"], entry["errors"], entry["status"]) == (True, 0, NOT_RUN)
    assert "'cool' began" in entry["message"]


@pytest.mark.parametrize(
    ("info", "starts"),
    [
        (RunInfo(started_at=STARTED, complete=True), None),
        (RunInfo(started_at=STARTED, interrupted="SIGTERM"), "INCOMPLETE: interrupted by SIGTERM"),
        (
            RunInfo(started_at=STARTED, finished_at=STARTED, aborted="target unreachable: x"),
            "INCOMPLETE: target unreachable: x",
        ),
        (RunInfo(started_at=STARTED), "INCOMPLETE: killed"),
    ],
)
def test_every_incomplete_says_its_true_cause(info: RunInfo, starts: str | None) -> None:
    said = incomplete(info)
    assert said == starts if starts is None else str(said).startswith(starts)


def test_the_abort_cause_names_the_error() -> None:
    assert abort_cause(TargetUnreachable("http://x: refused\nmore")) == (
        "target unreachable: http://x: refused"
    )
    assert abort_cause(LoadProcessFailed("exit -9")).startswith("the load process died")
    assert abort_cause(ValueError("odd")) == "stress run failed (ValueError): odd"
