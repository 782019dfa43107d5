"""report.html's load tables: the phases (users, or requests/s for an open-loop phase), the
sweep, the tester's own load and the workers; and how a phase's load is described."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stress.report.markup import counts, decimal, ms, number, percent, seconds, table, text, verdict


def phase_load(phase: Mapping[str, Any]) -> str:
    """How a phase loaded the target, as HTML: users (closed loop) or requests/s (open loop)."""
    rate, start = phase.get("rate"), phase.get("start_rate")
    if not phase.get("open_loop") and rate is None:
        return f"{number(phase.get('users'))} users"
    kind = str(phase.get("kind") or "steady")
    if kind in ("ramp", "step", "sweep") and rate is not None:
        steps = f" in {number(phase.get('steps'))} steps" if phase.get("steps") else ""
        return f"{text(kind)} {decimal(start or 0)} → {decimal(rate)} requests/s{steps}"
    if rate is None:
        return f"{text(kind)}, open loop"
    return f"{decimal(rate)} requests/s" + ("" if kind == "steady" else f" ({text(kind)})")


def phase_line(phase: Mapping[str, Any]) -> str:
    line = f"{text(phase.get('name'))}: {phase_load(phase)} for {seconds(phase.get('duration_s'))}"
    if phase.get("open_loop") or phase.get("rate") is not None:
        return line + " (open loop)"
    return line + f" (spawn {decimal(phase.get('spawn_rate'))} users/s)"


def phases_table(phases: Iterable[Mapping[str, Any]]) -> str:
    rows = []
    for phase in phases:
        latency = phase.get("latency_ms", {})
        load = (
            f"{decimal(phase.get('offered_rps'))} req/s offered"
            if phase.get("open_loop")
            else f"{number(phase.get('users'))} users"
        )
        rows.append(
            [
                # A phase that did not run to its end says so beside its name.
                (text(phase.get("name")) + _status(phase.get("status")), ""),
                (load, "num"),
                (number(phase.get("requests")), "num"),
                (seconds(phase.get("duration_s")), "num"),
                (decimal(phase.get("rps")), "num"),
                (percent(phase.get("error_rate")), "num"),
                *((ms(latency.get(q)), "num") for q in ("p50", "p90", "p95", "p99", "max")),
                (counts(phase.get("error_kinds", {})), ""),
                (counts(phase.get("status_classes", {})), ""),
            ]
        )
    header = ["phase", "load", "requests", "duration", "req/s", "error rate"]
    header += ["p50 ms", "p90 ms", "p95 ms", "p99 ms", "max ms", "error kinds", "status"]
    return table(header, rows, table_id="table-phases")


def _status(status: object) -> str:
    return f" ({text(status)})" if isinstance(status, str) and status != "ran" else ""


def load_sections(summary: Mapping[str, Any]) -> list[str]:
    """The sweep (when the scenario has one), the tester's own load and the workers."""
    parts = []
    sweep = summary.get("sweep")
    if isinstance(sweep, Mapping):
        rows = []
        for step in sweep.get("steps", []):
            rows.append(
                [
                    (number((step.get("step") or 0) + 1), "num"),
                    (decimal(step.get("offered_rps")), "num"),
                    (number(step.get("users")), "num"),
                    (seconds(step.get("duration_s")), "num"),
                    (number(step.get("requests")), "num"),
                    (decimal(step.get("achieved_rps")), "num"),
                    (decimal(step.get("goodput")), "num"),
                    *((ms(step.get(q)), "num") for q in ("p50", "p95", "p99")),
                    (percent(step.get("error_rate")), "num"),
                    (number(step.get("late")), "num"),
                    verdict(bool(step.get("passed"))),
                    (text("; ".join(step.get("reasons") or [])), ""),
                ]
            )
        header = ["step", "offered req/s", "users", "duration", "requests", "achieved req/s"]
        header += ["goodput req/s", "p50 ms", "p95 ms", "p99 ms", "error rate", "late"]
        header += ["verdict", "why"]
        limits = ", ".join(_limit(k, v) for k, v in (sweep.get("limits") or {}).items())
        parts += [
            f'<h2 id="sweep">Sweep: {text(sweep.get("phase"))}</h2>',
            f"<p><b>{text(sweep.get('message'))}</b></p>",
            f"<p>limits: {limits} · max sustainable: "
            f"{decimal(sweep.get('max_sustainable_rps'))} req/s"
            + (
                f" ({number(sweep.get('max_sustainable_users'))} users)"
                if sweep.get("variable") == "users"
                else ""
            )
            + f" · latency bends after: {decimal(sweep.get('knee_rps'))} req/s</p>",
            table(header, rows, empty="no sweep step ran", table_id="table-sweep"),
        ]
    tester = summary.get("tester")
    if isinstance(tester, Mapping) and tester.get("processes"):
        rows = [
            [
                (text(process.get("process")), ""),
                (decimal(process.get("cpu_mean")), "num"),
                (decimal(process.get("cpu_max")), "num"),
                (ms(process.get("lag_max_ms")), "num"),
                (
                    seconds(process.get("saturated_s")),
                    "num bad" if process.get("saturated_s") else "num",
                ),
            ]
            for process in tester.get("processes", [])
        ]
        css = "notes" if tester.get("saturated") else ""
        parts += [
            "<h2>Tester</h2>",
            f'<p class="{css}">{text(tester.get("message"))}</p>',
            table(
                ["process", "CPU % mean", "CPU % max", "event-loop lag max ms", "saturated"],
                rows,
                empty="no samples",
            ),
        ]
    load = summary.get("load")
    workers = load.get("workers", []) if isinstance(load, Mapping) else []
    if isinstance(load, Mapping) and load.get("mode") == "distributed":
        rows = [
            [
                (number(w.get("worker")), "num"),
                (text(w.get("host")), ""),
                (number(w.get("pid")), "num"),
                (number(w.get("records")), "num"),
                ("lost", "bad") if w.get("lost") else ("ok", "good"),
            ]
            for w in workers
        ]
        parts += [
            "<h2>Workers</h2>",
            table(["worker", "host", "pid", "records", "state"], rows, empty="no workers"),
        ]
    return parts


def _limit(key: str, value: object) -> str:
    """A sweep's stop condition for a person: "p95 ≤ 1,500 ms", "error rate ≤ 2%"."""
    if key == "error_rate":
        return f"error rate ≤ {percent(value)}"
    if key.endswith("_ms"):
        return f"{text(key.removesuffix('_ms'))} ≤ {ms(value)} ms"
    return f"{text(key)} {text(value)}"
