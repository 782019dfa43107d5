"""Parts of summary.json about what the run was set to do and how its load spread: "setup"
(the scenario's phases, checks and SLOs), "from_log", "groups" and "concurrency" (schema in
stress.report.summary)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stress.checks.request import CHECKS
from stress.report.stats import latency_stats
from stress.rundir import layout
from stress.rundir.read import RunData
from stress.scenario import Scenario


def setup_of(run: RunData) -> dict[str, Any]:
    scenario: Scenario = run.scenario
    checks = list(CHECKS) if scenario.checks is None else list(scenario.checks)
    slo = scenario.slo
    return {
        "description": scenario.description,
        "url": run.info.url,
        "model": scenario.target.model,
        "stream": scenario.target.stream,
        "timeout_s": scenario.target.timeout,
        "seed": scenario.inputs.seed,
        "inputs": scenario.inputs.count,
        "families": dict(scenario.inputs.families),
        "phases": [
            {
                "name": phase.name,
                "users": phase.users,
                "spawn_rate": phase.spawn_rate,
                "duration_s": phase.duration,
                # Open loop: requests/s (from start_rate for a ramp, step or sweep).
                "kind": phase.kind.value,
                "open_loop": phase.open_loop,
                "rate": phase.rate,
                "start_rate": phase.start_rate,
                "steps": phase.steps,
            }
            for phase in scenario.load.phases
        ],
        "checks": checks,
        "slo": {
            "error_rate": slo.error_rate,
            "p95_ms": slo.p95_ms,
            "phases": {
                name: {"error_rate": limits.error_rate, "p95_ms": limits.p95_ms}
                for name, limits in slo.phases.items()
            },
        },
        "stress_version": run.info.stress_version,
        # target.metrics: the target's Prometheus endpoint scraped during the load.
        "target_metrics": (
            None
            if scenario.target.metrics is None
            else {
                "url": scenario.target.metrics.url,
                "series": list(scenario.target.metrics.series),
                "interval_s": scenario.target.metrics.interval,
            }
        ),
    }


def from_log(run_dir: Path) -> dict[str, Any] | None:
    """RUN_DIR/logs.json (stress.logs.seeds): the logged requests used and what was scrubbed."""
    path = layout.logs(run_dir)
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def group_rows(families: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for family in families:
        group = groups.setdefault(
            family["group"],
            {"name": family["group"], "families": 0, "requests": 0, "failed": 0},
        )
        group["families"] += 1
        group["requests"] += family["requests"]
        group["failed"] += family["failed"]
    for group in groups.values():
        group["error_rate"] = group["failed"] / group["requests"] if group["requests"] else None
    return sorted(groups.values(), key=lambda group: str(group["name"]))


def per_concurrency(records: pd.DataFrame) -> list[dict[str, Any]]:
    if "offered_rate" in records.columns:
        # An open-loop request's "users" is the in-flight cap, not a concurrency it ran at.
        records = records[records["offered_rate"].isna()]
    if records.empty:
        return []
    seconds = np.floor(records["sent_at"].to_numpy()).astype("int64")
    frame = pd.DataFrame(
        {
            "users": records["users"].to_numpy(),
            "second": seconds,
            "failed": ~records["ok"].to_numpy(dtype=bool),
            "latency_ms": records["latency_ms"].to_numpy(),
        }
    )
    entries = []
    for users, group in frame.groupby("users", sort=True):
        requests = len(group)
        busy = int(group["second"].nunique())
        entries.append(
            {
                "users": int(users),
                "requests": requests,
                "seconds": busy,
                "rps": requests / busy if busy else None,
                "error_rate": float(group["failed"].mean()),
                "latency_ms": latency_stats(group["latency_ms"].to_numpy()),
            }
        )
    return entries
