"""health_under_load: the readiness endpoint said ready while requests timed out or stalled.

The probes are the run directory's health file (stress/healthwatch.py, with
``health.enabled``). A probe contradicts the load when it answered ready at a moment a
request was in flight that ended in a timeout, a hang after the headers or a stalled stream
(``sent_at`` <= probe time <= ``sent_at`` + its latency): an orchestrator that trusts the
endpoint keeps routing traffic to a server that is not serving it. Each such probe is a
finding; summary.json's ``health`` section also holds the probes' own latency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stress import errorkinds
from stress.healthwatch import read
from stress.rundir import layout
from stress.rundir.read import load_records

HEALTH_UNDER_LOAD = "health_under_load"
STALLED = (errorkinds.TIMEOUT, errorkinds.HANG, errorkinds.STREAM_STALL)
COLUMNS = ("input_id", "sent_at", "latency_ms", "error_kind")
MAX_LISTED = 20


@dataclass
class Result:
    judged: bool
    note: str
    probes: int = 0
    ready: int = 0
    latency_ms: dict[str, float | None] = field(default_factory=dict)
    contradicted: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "judged": self.judged,
            "note": self.note,
            "probes": self.probes,
            "ready": self.ready,
            "latency_ms": self.latency_ms,
            "contradicted": len(self.contradicted),
            "examples": self.contradicted[:MAX_LISTED],
        }


def evaluate_probes(probes: list[dict[str, Any]], records: pd.DataFrame) -> Result:
    """The check over stored probes and records with ``COLUMNS``."""
    if not probes:
        return Result(False, "not judged: the readiness endpoint was not polled (health.enabled)")
    latencies = np.array([float(p.get("latency_ms") or 0.0) for p in probes])
    stats: dict[str, float | None] = {
        "p50": float(np.percentile(latencies, 50)),
        "p95": float(np.percentile(latencies, 95)),
        "max": float(latencies.max()),
    }
    ready = [p for p in probes if p.get("ready") is True]
    stalled = records[records["error_kind"].isin(STALLED)]
    starts = stalled["sent_at"].to_numpy(dtype=float)
    ends = starts + stalled["latency_ms"].to_numpy(dtype=float) / 1000
    ids = stalled["input_id"].astype(str).to_numpy()
    kinds = stalled["error_kind"].astype(str).to_numpy()
    contradicted = []
    for probe in ready:
        at = float(probe["at"])
        inside = np.flatnonzero((starts <= at) & (at <= ends))
        if inside.size:
            first = int(inside[0])
            contradicted.append(
                {
                    "at": at,
                    "latency_ms": probe.get("latency_ms"),
                    "stalled": int(inside.size),
                    "input_id": str(ids[first]),
                    "error_kind": str(kinds[first]),
                }
            )
    note = f"{len(probes)} probes, {len(ready)} ready; {len(stalled)} requests timed out or stalled"
    return Result(True, note, len(probes), len(ready), stats, contradicted)


def evaluate(run_dir: Path) -> Result:
    probes = read(layout.health(run_dir))
    records = load_records(run_dir, COLUMNS) if probes else pd.DataFrame(columns=COLUMNS)
    return evaluate_probes(probes, records)
