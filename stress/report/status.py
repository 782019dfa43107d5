"""How far a run got: each phase's status and, for a run that did not finish, its true cause.

Pure functions of run.json (stress.rundir.read.RunInfo), load.json and the records' phases;
summary.py puts them into summary.json, and every report reads them from there.

A phase is ``ran`` (started and ended on its own), ``stopped early`` (the load stopped while it
ran: a signal, a limit) or ``not run`` (the run stopped before it began). A phase not run is
not judged: its SLOs are reported "not run" (JUnit: skipped), never FAILED.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stress.rundir.read import RunData, RunInfo

RAN = "ran"
STOPPED = "stopped early"
NOT_RUN = "not run"


def phase_statuses(
    names: Sequence[str],
    logged: Sequence[Mapping[str, Any]] | None,
    requests: Mapping[str, int],
    *,
    complete: bool,
    stopped_by: str | None = None,
    ended_before_load: bool = False,
) -> dict[str, str]:
    """Each phase's status, in ``names`` order.

    ``logged`` is load.json's ``phases`` (None when there is no load.json: a run killed with
    its load process, or one that never reached the load); ``requests`` the records per phase;
    ``stopped_by`` load.json's reason the load stopped early. ``ended_before_load``: run.json
    names a signal or an error that ended the run, so without load.json or any record the
    load never began; without a named cause (a kill) an empty run is judged as it is.
    """
    if logged is not None:
        started = [str(p.get("name")) for p in logged if p.get("started_at") is not None]
        last = started[-1] if started else None
        return {
            name: NOT_RUN
            if name not in started
            else STOPPED
            if name == last and stopped_by
            else RAN
            for name in names
        }
    # No load.json: only the records tell. A complete run ran every phase.
    if complete:
        return dict.fromkeys(names, RAN)
    reached = [name for name in names if requests.get(name, 0) > 0]
    last = reached[-1] if reached else None
    if last is None:
        return dict.fromkeys(names, NOT_RUN if ended_before_load else RAN)
    statuses = {}
    for index, name in enumerate(names):
        if index > names.index(last):
            statuses[name] = NOT_RUN
        else:
            statuses[name] = STOPPED if name == last else RAN
    return statuses


def statuses_of(run: RunData, stopped_by: str | None) -> dict[str, str]:
    """Each phase's status from the run's load.json and records."""
    from stress.report.load import read_load

    document = read_load(run)
    logged = document.get("phases")
    names = [phase.name for phase in run.scenario.load.phases]
    counts = run.records["phase"].value_counts() if len(run.records) else {}
    return phase_statuses(
        names,
        logged if isinstance(logged, list) else None,
        {str(name): int(n) for name, n in dict(counts).items()},
        complete=run.info.complete,
        stopped_by=stopped_by,
        ended_before_load=bool(run.info.interrupted or run.info.aborted),
    )


def incomplete(info: RunInfo) -> str | None:
    """Why the run did not finish normally, in words (None: it did)."""
    if info.complete:
        return None
    if info.interrupted:
        return (
            f"INCOMPLETE: interrupted by {info.interrupted}; the load was stopped early, so the "
            f"numbers cover only what was recorded"
        )
    if info.aborted:
        return (
            f"INCOMPLETE: {info.aborted}; the numbers cover only what was recorded before "
            f"`stress run` stopped"
        )
    if info.started_at is not None and info.finished_at is None:
        return (
            "INCOMPLETE: killed: `stress run` ended without finishing (killed, e.g. SIGKILL or "
            "out of memory, or crashed), so the numbers cover only what was recorded until then"
        )
    return (
        "INCOMPLETE: run.json does not mark the run complete: it was interrupted or crashed, so "
        "the numbers cover only what was recorded"
    )


def not_run_check(check: dict[str, Any]) -> dict[str, Any]:
    """An SLO check of a phase that never ran: not judged, so not failed."""
    return {
        **check,
        "passed": True,
        "errors": 0,
        "status": NOT_RUN,
        "message": f"not run: the run stopped before phase {check.get('phase')!r} began",
    }
