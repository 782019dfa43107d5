"""The run summary (summary.json): every number the report, JUnit and CI need, from records.

Percentiles are exact, from the raw latencies (linear interpolation, as pandas and numpy do by
default); nothing is estimated from buckets. The document has no NaN or Infinity: a value
that does not exist (the p95 of zero requests) is ``null``.

Schema, version 1 (a field is only ever added; a change of meaning bumps schema_version)::

    {
      "schema_version": 1,
      "scenario": str,                    # scenario name
      "run_dir": str,
      "started_at": str | null,           # ISO 8601 from run.json
      "finished_at": str | null,          # null when the run did not finish
      "complete": bool,                   # run.json says the run finished normally
      "target": str,                      # URL the run hit
      "protocol": str,                    # e.g. "openai-chat"
      "passed": bool,                     # every entry of "checks" passed
      "message": str,                     # one line: the verdict and why
      "notes": [str],                     # what was missing or odd in the run directory
      "totals": {
        "requests": int,
        "failed": int,                    # requests with an error-severity finding (ok false)
        "warnings": int,                  # requests not failed but with a warning finding
        "error_rate": float | null,       # failed / requests
        "duration_s": float | null,       # first send to last answer, from the records
        "rps": float | null,              # requests / duration_s
        "latency_ms": LATENCY
      },
      "phases": [{                        # scenario order; phases with no requests included
        "name": str, "users": int, "requests": int, "duration_s": float | null,
        "rps": float | null, "error_rate": float | null, "latency_ms": LATENCY,
        "error_kinds": {kind: int},       # e.g. {"timeout": 3, "http_5xx": 1}
        "status_classes": {cls: int}      # "2xx", "4xx", ..., "no_answer" (status 0)
      }],
      "families": [{                      # by name
        "name": str, "expect": str, "requests": int, "failed": int,
        "error_rate": float | null, "latency_ms": LATENCY,
        "checks": {check: int},           # requests this check failed (error severity)
        "check_warnings": {check: int}    # requests this check warned about
      }],
      "checks": [{
        "name": str,                      # check name, or "slo.error_rate" / "slo.p95_ms"
        "kind": "request" | "slo" | "run",
        "phase": str | null,              # the phase an SLO judged
        "passed": bool,
        "errors": int,                    # requests failed; 1 for a failed SLO or run check
        "warnings": int,                  # requests warned about
        "message": str
      }],
      "slo": [{"phase": str, "metric": str, "limit": float, "actual": float | null,
               "passed": bool, "message": str}],
      "failures": {"stored": int,         # objects in failures.jsonl
                   "inputs": int},        # distinct input ids among them
      "sweep": SWEEP | null,              # the load engine's parts: stress/report/load.py
      "tester": TESTER,                   #   documents these and what "phases" gains
      "load": LOAD                        #   (kind, offered_rps, late, unsent, service_ms)
    }

    LATENCY = {"p50", "p90", "p95", "p99", "max", "mean": float | null}   # milliseconds

Latency statistics cover every request, failed ones included (a timeout is the latency the
user felt). The "checks" list holds one entry per per-request check the scenario ran (its
``checks`` list, or every built-in check), any other check name found in the records, one
entry per SLO result, and the run check ``requests_recorded`` (an empty run proves nothing
and fails). A request check passes when no request got an error finding from it; warnings
never fail a run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stress.checks.request import CHECKS
from stress.checks.slo import PERCENTILE_METHOD, SloResult, evaluate_slos
from stress.report.load import load_report
from stress.rundir import RunData, iter_failures, load_run

SCHEMA_VERSION = 1
RUN_CHECK = "requests_recorded"
ERROR = "error"
WARNING = "warning"

_QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
# A failed verdict lists this many reasons in its one-line message; the rest are counted.
_MAX_REASONS = 4


def build_summary(run_dir: Path) -> dict[str, Any]:
    """summary.json content for ``run_dir``; raises RunDirError when it cannot be read."""
    return summarise(load_run(run_dir))


def summarise(run: RunData) -> dict[str, Any]:
    """The summary of an already loaded run (see the module docstring for the schema)."""
    records = run.records
    failures = _FailureIndex.read(run.run_dir)
    severities = _severities(run)
    slo = evaluate_slos(records, run.scenario)
    load = load_report(run, latency_stats)
    checks = [
        *_request_checks(run, severities, failures),
        *(_slo_check(result) for result in slo),
        *load.checks,
        _run_check(run),
    ]
    passed = all(check["passed"] for check in checks)
    notes = list(run.info.notes) + load.notes
    phases = _phases(run)
    for phase in phases:
        phase.update(load.phases.get(phase["name"], {}))
    if not run.info.complete:
        notes.append(
            "run.json does not mark the run complete: it was interrupted or crashed, so the "
            "numbers cover only what was recorded"
        )
    summary = {
        "schema_version": SCHEMA_VERSION,
        "scenario": run.scenario.name,
        "run_dir": str(run.run_dir),
        "started_at": run.info.started_at,
        "finished_at": run.info.finished_at,
        "complete": run.info.complete,
        "target": run.info.target or run.scenario.target.url,
        "protocol": run.scenario.target.protocol.value,
        "passed": passed,
        "message": _verdict(passed, checks, len(records)),
        "notes": notes,
        "totals": _totals(records, severities),
        "phases": phases,
        "families": _families(records, severities),
        "checks": checks,
        "slo": [asdict(result) for result in slo],
        "failures": {"stored": failures.stored, "inputs": len(failures.inputs)},
        "sweep": load.sweep,
        "tester": load.tester,
        "load": load.load,
    }
    safe: dict[str, Any] = json_safe(summary)
    return safe


def latency_stats(values: np.ndarray | pd.Series) -> dict[str, float | None]:
    """p50/p90/p95/p99/max/mean of raw latencies in ms; all None when there are none."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return {**dict.fromkeys(_QUANTILES), "max": None, "mean": None}
    quantiles = np.quantile(array, list(_QUANTILES.values()), method=PERCENTILE_METHOD)
    stats: dict[str, float | None] = {
        name: float(value) for name, value in zip(_QUANTILES, quantiles, strict=True)
    }
    stats["max"] = float(array.max())
    stats["mean"] = float(array.mean())
    return stats


def span_seconds(records: pd.DataFrame) -> float | None:
    """Seconds from the first send to the last answer; None without records."""
    if records.empty:
        return None
    ends = records["sent_at"] + records["latency_ms"] / 1000
    # Epoch seconds near 1.7e9 carry float noise below a microsecond; no clock is finer.
    return round(float(ends.max() - records["sent_at"].min()), 6)


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars made Python and NaN/Infinity made None, recursively."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


class _FailureIndex:
    """What the report takes from failures.jsonl: finding severities, examples, counts."""

    def __init__(self) -> None:
        self.stored = 0
        self.inputs: set[str] = set()
        # check -> severity -> the first message seen, to show what a failure looks like.
        self.examples: dict[str, dict[str, str]] = {}

    @classmethod
    def read(cls, run_dir: Path) -> _FailureIndex:
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
                severity = WARNING if finding.get("severity") == WARNING else ERROR
                message = finding.get("message")
                if isinstance(message, str):
                    index.examples.setdefault(check, {}).setdefault(severity, message)
        return index

    def example(self, check: str, severity: str) -> str | None:
        return self.examples.get(check, {}).get(severity)


def _severities(run: RunData) -> pd.DataFrame:
    """One row per (request, check) finding: row, check, severity, family, ok."""
    pairs = run.findings.drop_duplicates(["row", "check"]).reset_index(drop=True)
    rows = pairs["row"].to_numpy()
    for column in ("family", "ok"):
        pairs[column] = run.records[column].to_numpy()[rows]
    return pairs[["row", "check", "severity", "family", "ok"]]


def _totals(records: pd.DataFrame, severities: pd.DataFrame) -> dict[str, Any]:
    requests = len(records)
    failed = int((~records["ok"].astype(bool)).sum())
    warned = severities.loc[severities["ok"].astype(bool), "row"].nunique()
    duration = span_seconds(records)
    return {
        "requests": requests,
        "failed": failed,
        "warnings": int(warned),
        "error_rate": failed / requests if requests else None,
        "duration_s": duration,
        "rps": requests / duration if requests and duration else None,
        "latency_ms": latency_stats(records["latency_ms"].to_numpy()),
    }


def _phases(run: RunData) -> list[dict[str, Any]]:
    records = run.records
    groups = {str(name): group for name, group in records.groupby("phase", sort=False)}
    # Open-loop phases report their in-flight cap as users (the Locust users are its slots).
    configured = {
        phase.name: phase.users if phase.users is not None else phase.max_in_flight
        for phase in run.scenario.load.phases
    }
    names = [*configured, *sorted(name for name in groups if name not in configured)]
    phases = []
    for name in names:
        group = groups.get(name, records.iloc[0:0])
        requests = len(group)
        duration = span_seconds(group)
        failed = int((~group["ok"].astype(bool)).sum())
        users = configured.get(name, int(group["users"].max()) if requests else 0)
        status = group["status"].to_numpy()
        # Status 0 means no HTTP answer arrived (timeout, refused, reset).
        classes = np.where(status > 0, np.char.add((status // 100).astype(str), "xx"), "no_answer")
        phases.append(
            {
                "name": name,
                "users": users,
                "requests": requests,
                "duration_s": duration,
                "rps": requests / duration if requests and duration else None,
                "error_rate": failed / requests if requests else None,
                "latency_ms": latency_stats(group["latency_ms"].to_numpy()),
                "error_kinds": _counts(group["error_kind"]),
                "status_classes": _counts(classes),
            }
        )
    return phases


def _families(records: pd.DataFrame, severities: pd.DataFrame) -> list[dict[str, Any]]:
    by_family = severities.groupby(["family", "severity", "check"]).size()
    families = []
    for name, group in records.groupby("family", sort=True):
        requests = len(group)
        failed = int((~group["ok"].astype(bool)).sum())
        families.append(
            {
                "name": str(name),
                "expect": str(group["expect"].iloc[0]),
                "requests": requests,
                "failed": failed,
                "error_rate": failed / requests,
                "latency_ms": latency_stats(group["latency_ms"].to_numpy()),
                "checks": _per_check(by_family, str(name), ERROR),
                "check_warnings": _per_check(by_family, str(name), WARNING),
            }
        )
    return families


def _per_check(counts: pd.Series, family: str, severity: str) -> dict[str, int]:
    try:
        selected = counts.loc[(family, severity)]
    except KeyError:
        return {}
    return {str(check): int(n) for check, n in selected.sort_index().items()}


def _counts(values: pd.Series | pd.Index | np.ndarray) -> dict[str, int]:
    counts = pd.Series(values).dropna().value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    return {str(key): int(n) for key, n in ordered}


def _request_checks(
    run: RunData, severities: pd.DataFrame, failures: _FailureIndex
) -> list[dict[str, Any]]:
    names = list(CHECKS) if run.scenario.checks is None else list(run.scenario.checks)
    names += sorted(set(severities["check"]) - set(names))
    counts = severities.groupby(["check", "severity"]).size()
    requests = len(run.records)
    entries = []
    for name in names:
        errors = int(counts.get((name, ERROR), 0))
        warnings = int(counts.get((name, WARNING), 0))
        example = failures.example(name, ERROR if errors else WARNING)
        first = f"; first: {example}" if example else ""
        if not requests:
            message = "not judged: no requests were recorded"
        elif errors:
            more = f" ({warnings} more with warnings)" if warnings else ""
            message = f"{errors} of {requests} requests failed{more}{first}"
        elif warnings:
            message = f"passed, with warnings on {warnings} of {requests} requests{first}"
        else:
            message = f"no findings in {requests} requests"
        entries.append(
            {
                "name": name,
                "kind": "request",
                "phase": None,
                "passed": errors == 0,
                "errors": errors,
                "warnings": warnings,
                "message": message,
            }
        )
    return entries


def _slo_check(result: SloResult) -> dict[str, Any]:
    return {
        "name": f"slo.{result.metric}",
        "kind": "slo",
        "phase": result.phase,
        "passed": result.passed,
        "errors": 0 if result.passed else 1,
        "warnings": 0,
        "message": result.message,
    }


def _run_check(run: RunData) -> dict[str, Any]:
    requests = len(run.records)
    if requests:
        message = f"{requests} requests recorded"
    else:
        message = (
            f"no requests were recorded in {run.run_dir / 'records'}: the run stopped before "
            f"load began or nothing answered; see the run's console output and run.json"
        )
    return {
        "name": RUN_CHECK,
        "kind": "run",
        "phase": None,
        "passed": requests > 0,
        "errors": 0 if requests else 1,
        "warnings": 0,
        "message": message,
    }


def _verdict(passed: bool, checks: Sequence[Mapping[str, Any]], requests: int) -> str:
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
            reasons.append(f"{check['name']} failed {check['errors']} of {requests} requests")
        else:
            reasons.append(f"{check['name']}: {check['message']}")
    shown = "; ".join(reasons[:_MAX_REASONS])
    more = f"; and {len(reasons) - _MAX_REASONS} more" if len(reasons) > _MAX_REASONS else ""
    return f"FAILED: {shown}{more}"
