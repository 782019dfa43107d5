"""What the load engine adds to the summary: per-phase open-loop figures, the sweep, the
tester's own saturation and the workers. From load.json (written by the load process) and the
raw records; a run without load.json (an older run, or one that crashed) gets what the
records alone can tell.

Summary keys (added to schema version 1; every one is present, null when it does not apply)::

    phases[i] += {
      "kind": "steady" | "ramp" | "step" | "soak" | "sweep",
      "open_loop": bool,
      "offered_rps": float | null,        # open loop: arrivals scheduled / phase duration
      "scheduled": int | null,            # open loop: arrivals the schedule released
      "late": int | null,                 # sent ≥ 2 ms late, after waiting for a free slot
      "unsent": int | null,               # never sent (every slot busy past the timeout,
                                          #   or still waiting when the phase ended)
      "service_ms": LATENCY               # send → answer, without the wait for a slot
    }                                     # (latency_ms is measured from the intended time)
    "sweep": null | {
      "phase": str, "variable": "offered_rps" | "users",
      "limits": {"p50_ms"?, "p95_ms"?, "p99_ms"?, "error_rate"?},
      "steps": [{"step", "offered_rps", "users", "duration_s", "requests", "achieved_rps",
                 "p50", "p95", "p99", "goodput", "error_rate", "late", "unsent",
                 "passed", "reasons": [str]}],       # latencies in ms, rates in requests/s
      "max_sustainable_rps": float | null,   # open loop: offered rate of the last step that
                                             #   held; closed loop: that step's achieved rate
      "max_sustainable_users": int | null,   # closed loop only
      "knee_rps": float | null, "knee_users": int | null,   # where latency bent (see
                                             #   stress.checks.sweep for both definitions)
      "stopped": str | null,                 # "broken", "last step" or why the run stopped
      "passed": bool,                        # some step held
      "message": str
    }
    "tester": {
      "saturated": bool, "message": str,
      "processes": [{"process": str, "worker": int | null, "samples": int,
                     "cpu_mean": float | null, "cpu_max": float | null,
                     "lag_max_ms": float | null, "saturated_s": float}]
    }
    "load": {"mode": "single" | "distributed" | null, "stopped_by": str | null,
             "workers": [{"worker": int, "host", "pid", "records": int, "lost": bool, ...}],
             "lost_workers": [str]}

A sweep adds the check ``slo.sweep`` (kind "slo", phase: the sweep): it passes when at least
one step held. Sweep phases are not judged by the per-phase SLOs (stress.checks.slo).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stress.checks.sweep import StepResult, judge_step, knee, max_sustainable
from stress.rundir import layout
from stress.rundir.read import RunData
from stress.scenario import Phase, PhaseKind

LATENCY_KEYS = ("p50", "p90", "p95", "p99", "max", "mean")


@dataclass
class LoadReport:
    """The summary's load-engine parts (see the module docstring)."""

    phases: dict[str, dict[str, Any]] = field(default_factory=dict)
    sweep: dict[str, Any] | None = None
    tester: dict[str, Any] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_load(run: RunData) -> dict[str, Any]:
    """load.json as a dict; empty when it is missing or unreadable."""
    try:
        document = json.loads(layout.load(run.run_dir).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return document if isinstance(document, dict) else {}


def load_report(run: RunData, latency_stats: Any) -> LoadReport:
    """Everything this module adds to the summary. ``latency_stats`` is summary's function."""
    document = read_load(run)
    logged = {str(p.get("name")): p for p in document.get("phases", []) if isinstance(p, dict)}
    report = LoadReport()
    records = run.records
    groups = {str(name): group for name, group in records.groupby("phase", sort=False)}
    for phase in run.scenario.load.phases:
        report.phases[phase.name] = _phase_extras(
            phase, groups.get(phase.name), logged.get(phase.name, {}), latency_stats
        )
        if phase.kind is PhaseKind.SWEEP:
            report.sweep = _sweep(run, phase, groups.get(phase.name), logged.get(phase.name))
            report.checks.append(_sweep_check(report.sweep))
    report.tester = _tester(document)
    report.load = _load(document)
    if report.tester["saturated"]:
        report.notes.append(report.tester["message"])
    report.notes.extend(report.load["lost_workers"])
    if document.get("stopped_by"):
        report.notes.append(f"the load stopped early: {document['stopped_by']}")
    return report


def _phase_extras(
    phase: Phase, group: pd.DataFrame | None, logged: dict[str, Any], latency_stats: Any
) -> dict[str, Any]:
    counts = logged.get("counts") if isinstance(logged.get("counts"), dict) else None
    started, ended = logged.get("started_at"), logged.get("ended_at")
    duration = (
        ended - started
        if isinstance(started, int | float) and isinstance(ended, int | float)
        else phase.duration
    )
    service = np.array([]) if group is None else group["service_ms"].dropna().to_numpy(dtype=float)
    extras: dict[str, Any] = {
        "kind": phase.kind.value,
        "open_loop": phase.open_loop,
        "offered_rps": None,
        "scheduled": None,
        "late": None,
        "unsent": None,
        "service_ms": latency_stats(service),
    }
    if phase.open_loop:
        scheduled = counts.get("scheduled") if counts else None
        late = counts.get("late") if counts else None
        if late is None and group is not None:
            late = int(group["late"].fillna(False).astype(bool).sum())
        extras.update(
            scheduled=scheduled,
            offered_rps=scheduled / duration if scheduled is not None and duration else None,
            late=late,
            unsent=counts.get("unsent") if counts else None,
        )
    return extras


def _sweep(
    run: RunData, phase: Phase, group: pd.DataFrame | None, logged: dict[str, Any] | None
) -> dict[str, Any]:
    limits = run.scenario.sweep_limits(phase)
    entries = {
        int(s["step"]): s
        for s in (logged or {}).get("steps", [])
        if isinstance(s, dict) and isinstance(s.get("step"), int)
    }
    by_step: dict[int, pd.DataFrame] = {}
    if group is not None and not group.empty:
        for index, rows in group.groupby("step", sort=True):
            by_step[int(index)] = rows
    results: list[StepResult] = []
    for index in sorted(set(entries) | set(by_step)):
        entry = entries.get(index, {})
        rows = by_step.get(index)
        started, ended = entry.get("started_at"), entry.get("ended_at")
        if isinstance(started, int | float) and isinstance(ended, int | float):
            duration = max(float(ended - started), 1e-3)
        else:
            duration = float(phase.step_duration or 0.0) or 1e-3
        counts = entry.get("counts") or {}
        latencies = np.array([]) if rows is None else rows["latency_ms"].to_numpy(dtype=float)
        ok = np.array([], dtype=bool) if rows is None else rows["ok"].to_numpy(dtype=bool)
        offered = entry.get("offered_rps")
        if offered is None and phase.open_loop and rows is not None:
            offered = float(rows["offered_rate"].max())
        users = entry.get("users")
        if users is None and not phase.open_loop and rows is not None:
            users = int(rows["users"].max())
        late = counts.get("late")
        if late is None and rows is not None:
            late = int(rows["late"].fillna(False).astype(bool).sum())
        results.append(
            judge_step(
                latencies,
                ok,
                limits,
                step=index,
                duration_s=duration,
                offered_rps=offered if phase.open_loop else None,
                users=None if phase.open_loop else users,
                late=int(late or 0),
                unsent=int(counts.get("unsent") or 0),
                scheduled=counts.get("scheduled") if phase.open_loop else None,
            )
        )
    best = max_sustainable(results)
    bend = knee(results)
    achieved = {_value(r): r.achieved_rps for r in results}
    sweep: dict[str, Any] = {
        "phase": phase.name,
        "variable": "offered_rps" if phase.open_loop else "users",
        "limits": limits.model_dump(mode="json"),
        "steps": [result.as_dict() for result in results],
        "max_sustainable_rps": best if phase.open_loop else achieved.get(best),
        "max_sustainable_users": None if phase.open_loop or best is None else int(best),
        "knee_rps": bend if phase.open_loop else achieved.get(bend),
        "knee_users": None if phase.open_loop or bend is None else int(bend),
        "stopped": (logged or {}).get("stopped"),
        "passed": best is not None,
    }
    sweep["message"] = _sweep_message(sweep, results, phase.open_loop)
    return sweep


def _value(result: StepResult) -> float | None:
    return result.offered_rps if result.offered_rps is not None else result.users


def _sweep_message(sweep: dict[str, Any], results: list[StepResult], open_loop: bool) -> str:
    unit = "requests/s" if open_loop else "users"
    name = sweep["phase"]
    if not results:
        return f"sweep {name!r}: no step ran"
    best = sweep["max_sustainable_rps"] if open_loop else sweep["max_sustainable_users"]
    broken = next((r for r in results if not r.passed), None)
    if best is None:
        assert broken is not None
        return (
            f"sweep {name!r}: even the first step ({_value(broken):g} {unit}) broke the "
            f"limits: {'; '.join(broken.reasons)}"
        )
    held = f"sweep {name!r}: holds the limits up to {best:g} {unit}"
    if not open_loop and sweep["max_sustainable_rps"] is not None:
        held += f" ({sweep['max_sustainable_rps']:.1f} requests/s achieved)"
    bend = sweep["knee_rps"] if open_loop else sweep["knee_users"]
    knee_text = f"; latency bends after {bend:g} {unit}" if bend is not None else ""
    if broken is None:
        return f"{held}{knee_text}; no step broke them: raise the sweep's top {unit} to find out"
    return f"{held}{knee_text}; broke at {_value(broken):g} {unit}: {'; '.join(broken.reasons)}"


def _sweep_check(sweep: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "slo.sweep",
        "kind": "slo",
        "phase": sweep["phase"],
        "passed": bool(sweep["passed"]),
        "errors": 0 if sweep["passed"] else 1,
        "warnings": 0,
        "message": sweep["message"],
    }


def _tester(document: dict[str, Any]) -> dict[str, Any]:
    processes = [p for p in document.get("processes", []) if isinstance(p, dict)]
    saturated = [p for p in processes if (p.get("saturated_s") or 0) > 0]
    if not processes:
        message = "no tester samples (load.json missing): saturation unknown"
    elif saturated:
        worst = max(saturated, key=lambda p: p.get("saturated_s") or 0)
        message = (
            f"the tester was saturated: {worst.get('process')} at up to "
            f"{worst.get('cpu_max')}% CPU for {worst.get('saturated_s')} s of "
            f"{worst.get('samples')} s (event-loop lag up to {worst.get('lag_max_ms')} ms); "
            f"latencies and rates from those seconds are distorted: rerun with more --workers "
            f"or less load (`stress bench` measures this machine)"
        )
    else:
        busiest = max(processes, key=lambda p: p.get("cpu_max") or 0)
        message = (
            f"the tester kept up: its busiest process ({busiest.get('process')}) peaked at "
            f"{busiest.get('cpu_max')}% CPU"
        )
    return {"saturated": bool(saturated), "message": message, "processes": processes}


def _load(document: dict[str, Any]) -> dict[str, Any]:
    workers = [w for w in document.get("workers", []) if isinstance(w, dict)]
    lost = [
        f"worker {w.get('worker')} ({w.get('host')}, pid {w.get('pid')}) was lost during the "
        f"run; its {w.get('records')} records up to then are included, what it had not yet "
        f"shipped (at most about a second) is missing"
        for w in workers
        if w.get("lost")
    ]
    return {
        "mode": document.get("mode"),
        "stopped_by": document.get("stopped_by"),
        "workers": workers,
        "lost_workers": lost,
    }
