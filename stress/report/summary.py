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
      "incomplete": str | null,           # why not: interrupted (SIGINT/SIGTERM) or killed
      "target": str,                      # URL the run hit
      "protocol": str,                    # e.g. "openai-chat"
      "passed": bool,                     # every entry of "checks" passed
      "message": str,                     # one line: the verdict and why
      "notes": [str],                     # what was missing or odd in the run directory
      "fail_on": [str],                   # severities that fail the run, e.g. ["error"]
      "totals": {
        "requests": int,
        "failed": int,                    # requests with an error-severity finding (ok false)
        "warnings": int,                  # requests not failed but with a warning finding
        "info": int,                      # requests with an info finding
        "error_rate": float | null,       # failed / requests
        "duration_s": float | null,       # first send to last answer, from the records
        "rps": float | null,              # requests / duration_s
        "latency_ms": LATENCY
      },
      "phases": [{                        # scenario order; phases with no requests included
        "name": str, "users": int, "requests": int, "duration_s": float | null,
        "rps": float | null, "error_rate": float | null, "latency_ms": LATENCY,
        "error_kinds": {kind: int},       # e.g. {"timeout": 3, "http_5xx": 1}
        "status_classes": {cls: int},     # "2xx", "4xx", ..., "no_answer" (status 0)
        "checks": {check: int},           # findings in this phase per check, error severity
        "check_warnings": {check: int},   # ... warning severity
        "check_info": {check: int},       # ... info severity (group findings included)
        "status": str                     # "ran", "stopped early", "not run" (report.status)
      }],
      "families": [{                      # by name
        "name": str, "expect": str, "requests": int, "failed": int,
        "error_rate": float | null, "latency_ms": LATENCY,
        "checks": {check: int},           # requests this check failed (error severity)
        "check_warnings": {check: int},   # requests this check warned about
        "check_info": {check: int}        # info findings (group findings included)
      }],
      "checks": [{
        "name": str,                      # check name, "module:function", or "slo.<metric>"
        "kind": "request" | "group" | "slo" | "run",
        "phase": str | null,              # the phase an SLO judged ("*": a family SLO)
        "family": str | null,             # SLOs only: the family a family SLO judged
        "passed": bool,                   # no finding of a fail_on severity (SLO: held)
        "errors": int,                    # findings of error severity; 1 for a failed SLO
        "warnings": int,                  # findings of warning severity
        "info": int,                      # findings of info severity
        "severity": str,                  # this check's severity in this scenario
        "message": str
      }],
      "slo": [{"phase": str, "metric": str, "limit": float, "actual": float | null,
               "passed": bool, "message": str, "family": str | null}],
               # "status": "not run" (and passed true): its phase never began, not judged
               # metric: error_rate, p50_ms, p95_ms, p99_ms, ttft_p95_ms, goodput
               # (a goodput entry also has "goodput_rps": good requests per second)
      "goodput": [{                       # with slo.per_request or a goodput minimum set:
        "phase": str, "family": str | null,   # a family row has phase "*"
        "requests": int, "good": int,     # requests with valid inputs; good ones among them
        "share": float | null,            # good / requests
        "goodput_rps": float | null,      # good requests per second of the span
        "limit": float | null,            # the slo goodput minimum (null: not judged)
        "passed": bool | null             # its verdict, also the check slo.goodput (null: none)
      }],
      "failures": {"stored": int,         # objects in failures.jsonl
                   "inputs": int},        # distinct input ids among them
      # Added in schema 1 without a version bump (fields are only ever added):
      "setup": {                          # what was run, from scenario.yaml and run.json
        "description": str, "url": str | null, "model": str, "stream": bool,
        "timeout_s": float, "seed": int, "inputs": int, "families": {name: weight},
        "phases": [{"name": str, "users": int, "spawn_rate": float, "duration_s": float,
                    "kind": str, "open_loop": bool, "rate": float | null,
                    "start_rate": float | null, "steps": int | null}],
        "checks": [str],                  # per-request checks run
        "slo": {"error_rate": float | null, "p95_ms": float | null,
                "phases": {phase: {"error_rate": float | null, "p95_ms": float | null}}},
        "stress_version": str | null
      },
      "groups": [{                        # family groups: the part of a name before the dot
        "name": str, "families": int, "requests": int, "failed": int,
        "error_rate": float | null
      }],
      "concurrency": [{                   # latency vs load: one entry per active-user count
                                          # (closed-loop requests only)
        "users": int, "requests": int,
        "seconds": int,                   # whole seconds with a send at this concurrency
        "rps": float | null,              # requests / seconds
        "error_rate": float | null, "latency_ms": LATENCY
      }],
      "streaming": STREAMING | null,      # stress.report.streaming; null: not a streaming run
      "degradation": DEGRADATION | null,  # stress.report.behaviour; null: not measured
      "invariance": INVARIANCE | null,    # stress.report.behaviour; null: not measured
      "comparison": COMPARISON | null     # stress.report.compare: RUN_DIR/compare.json, if any,
      "from_log": {                       # RUN_DIR/logs.json: inputs.from_log, null without one
        "path": str, "format": str, "entries": int, "usable": int, "used": int,
        "skipped": {reason: int}, "scrubbed": {kind: int},   # values replaced, per kind
        "scrub_skip": [kind], "patterns": [name]
      },
      "degradation_levels": [{                   # one per (phase after the baseline, users level)
        "phase": str, "users": int,
        "compared": int,                  # answers under load compared with the baseline's
        "degraded": int,                  # changed under load AND matched again re-sent alone
        "rate": float | null,             # degraded / compared
        "by_method": {method: int},       # degraded answers per comparison method
        "unstable": int,                  # changed, and changed again re-sent alone (noise)
        "unverified": int                 # changed, not re-sent (budget): not counted
      }],
      "invariance_kinds": [{                    # one per perturbation kind (payload "perturbation")
        "kind": str,
        "groups": int,                    # seed inputs with a compared perturbation
        "compared": int,                  # perturbed inputs compared with their seed
        "flips": int,                     # ... whose answer differs from the seed's
        "flip_rate": float | null,        # flips / compared
        "by_method": {method: int},
        "unanswered": int                 # perturbed inputs or seeds without a 2xx answer
      }],
      "flakiness": {
        "counts": {"deterministic", "flaky", "load_only", "unknown", "not_resent": int},
        "inputs": [{"input_id": str, "family": str, "checks": [str], "phases": [str],
                    "requests": int, "class": str, "attempts": int,
                    "failed_attempts": int, "checks_again": [str]}]
      },
      "group_checks": {
        "degradation": {"judged": bool, "baseline": str, "methods": [str], "note": str,
                        "compared": int, "degraded": int, "rate": float | null,
                        "unstable": int, "unverified": int, "max_rate": float},
        "invariance": {"judged": bool, "methods": [str], "note": str, "groups": int,
                       "compared": int, "flips": int, "flip_rate": float | null,
                       "max_flip_rate": float},
        "flakiness": {"judged": bool, "retries": int, "max_inputs": int}
      },
      "sweep": SWEEP | null,              # the load engine's parts: stress/report/load.py
      "tester": TESTER,                   #   documents these and what "phases" gains
      "load": LOAD,                       #   (kind, offered_rps, late, unsent, service_ms)
      "limits": {                         # stress/report/limits.py: the server's limits
        "declared": {kind: int},          # target.limits (`stress init` probes them)
        "found": [{"kind": str, "value": int | null, "refusals": int, "evidence": str}]
      }
    }

Each family entry also has "group" (str). Group checks from the behaviour documents appear in
"checks" with kind "group" and count in the verdict like any other check.

    LATENCY = {"p50", "p90", "p95", "p99", "max", "mean": float | null}   # milliseconds

Latency statistics cover every request, failed ones included (a timeout is the latency the
user felt). The "checks" list holds one entry per per-request check the scenario ran (its
``checks`` list, or every built-in check), any other check name found in the records, one
entry per group check (degradation, invariance, flakiness), one entry per SLO result, and
the run check ``requests_recorded`` (an empty run proves nothing and fails). A check passes
when none of its findings has a severity in ``fail_on`` (by default only errors fail);
degradation and invariance pass while their rates stay within ``max_rate`` and
``max_flip_rate``; flakiness only classifies and always passes.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stress.checks.slo import GOODPUT, SloResult, evaluate_slos
from stress.report import costs
from stress.report.behaviour import from_group_checks, read_behaviour
from stress.report.behaviour import group_checks as file_checks
from stress.report.compare import read_comparison
from stress.report.coverage import coverage_of
from stress.report.coverage import short as short_coverage
from stress.report.limits import limits_section
from stress.report.load import load_report
from stress.report.setup import from_log, group_rows, per_concurrency, setup_of
from stress.report.stats import json_safe, latency_stats, span_seconds
from stress.report.status import NOT_RUN, incomplete, not_run_check, statuses_of
from stress.report.streaming import streaming_summary
from stress.report.verdict import (
    ERROR,
    INFO,
    WARNING,
    FailureIndex,
    request_checks,
    run_check,
    slo_check,
    verdict_line,
)
from stress.report.verdict import RUN_CHECK as RUN_CHECK
from stress.rundir.read import RunData, load_run
from stress.scenario import Scenario

SCHEMA_VERSION = 1


def build_summary(run_dir: Path) -> dict[str, Any]:
    """summary.json content for ``run_dir``; raises RunDirError when it cannot be read."""
    return summarise(load_run(run_dir))


def summarise(run: RunData) -> dict[str, Any]:
    """The summary of an already loaded run (see the module docstring for the schema)."""
    records = run.records
    failures = FailureIndex.read(run.run_dir)
    severities = _severities(run)
    slo = evaluate_slos(records, run.scenario)
    from stress.checks import groups as group_checks

    groups = group_checks.load(run.run_dir, run.scenario)
    group_findings = group_checks.finding_counts(groups, run.scenario)
    sections = group_checks.summary_sections(groups, run.scenario)
    degradation, invariance = from_group_checks(sections)
    # Documents another tool left in the run directory stand in for what was not measured.
    from_files, invariance_files, behaviour_notes = read_behaviour(run.run_dir)
    degradation = degradation or from_files
    invariance = invariance or invariance_files
    load = load_report(run, latency_stats)
    cost_growth, cost_checks = costs.summarise(run)
    statuses = statuses_of(run, load.load.get("stopped_by"))
    checks = [
        *request_checks(run, severities, failures),
        *group_checks.check_entries(groups, run.scenario),
        *cost_checks,
        *(
            not_run_check(slo_check(result))
            if statuses.get(str(result.phase)) == NOT_RUN
            else slo_check(result)
            for result in slo
        ),
        *(file_checks(degradation) if degradation is from_files else []),
        *(file_checks(invariance) if invariance is invariance_files else []),
        *load.checks,
        run_check(run),
    ]
    passed = all(check["passed"] for check in checks)
    notes = [*run.info.notes, *behaviour_notes, *load.notes]
    phases = _phases(run)
    for phase in phases:
        phase.update(load.phases.get(phase["name"], {}))
        phase["status"] = statuses.get(phase["name"], "ran")
    cause = incomplete(run.info)
    if cause is not None:
        notes.append(cause)
    families = _families(records, severities)
    coverage = coverage_of(run)
    if (partial := short_coverage(coverage)) is not None:
        notes.append(partial)
    summary = {
        "schema_version": SCHEMA_VERSION,
        "scenario": run.scenario.name,
        "run_dir": str(run.run_dir),
        "started_at": run.info.started_at,
        "finished_at": run.info.finished_at,
        "complete": run.info.complete,
        "incomplete": cause,
        "target": run.info.target or run.scenario.target.url,
        "protocol": run.scenario.target.protocol.value,
        "passed": passed,
        "message": verdict_line(passed, checks, len(records)),
        "notes": notes,
        "totals": _totals(records, severities),
        "phases": phases,
        "families": families,
        "checks": checks,
        "slo": [
            {**asdict(r), **({"status": NOT_RUN} if statuses.get(r.phase) == NOT_RUN else {})}
            for r in slo
        ],
        "goodput": _goodput(records, run.scenario, slo),
        "failures": {"stored": failures.stored, "inputs": len(failures.inputs)},
        "setup": setup_of(run),
        "coverage": coverage,  # inputs sent of generated, families: stress/report/coverage.py
        "groups": [],
        "concurrency": per_concurrency(records),
        "streaming": streaming_summary(records),
        "degradation": degradation,
        "invariance": invariance,
        "comparison": read_comparison(run.run_dir, notes),
        "from_log": from_log(run.run_dir),
        "fail_on": [str(severity) for severity in run.scenario.fail_on],
        "degradation_levels": sections["degradation"],
        "invariance_kinds": sections["invariance"],
        "flakiness": sections["flakiness"],
        "group_checks": sections["group_checks"],
        "cost_growth": cost_growth,  # stress.report.costs documents it
        "sweep": load.sweep,
        "tester": load.tester,
        "load": load.load,
        "limits": limits_section(run.run_dir, run.scenario),
    }
    summary["groups"] = group_rows(families)
    _add_finding_counts(summary, severities, group_findings)
    safe: dict[str, Any] = json_safe(summary)
    return safe


def _severities(run: RunData) -> pd.DataFrame:
    """One row per (request, check) finding: row, check, severity, family, phase, ok."""
    pairs = run.findings.drop_duplicates(["row", "check"]).reset_index(drop=True)
    rows = pairs["row"].to_numpy()
    for column in ("family", "phase", "ok"):
        pairs[column] = run.records[column].to_numpy()[rows]
    return pairs[["row", "check", "severity", "family", "phase", "ok"]]


def _add_finding_counts(
    summary: dict[str, Any], severities: pd.DataFrame, group_findings: pd.DataFrame
) -> None:
    """Findings per check and severity into every phase and family entry, group ones too."""
    columns = ["check", "severity", "family", "phase"]
    every = pd.concat([severities[columns], group_findings[columns]], ignore_index=True)
    keys = {ERROR: "checks", WARNING: "check_warnings", INFO: "check_info"}
    for section, column in (("phases", "phase"), ("families", "family")):
        counts = every.dropna(subset=[column]).groupby([column, "severity", "check"]).size()
        for entry in summary[section]:
            for severity, key in keys.items():
                entry[key] = _per_check(counts, str(entry["name"]), severity)
    summary["totals"]["info"] = int(severities.loc[severities["severity"] == INFO, "row"].nunique())


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
                "group": family_group(str(name)),
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


def _goodput(
    records: pd.DataFrame, scenario: Scenario, slo: list[SloResult]
) -> list[dict[str, Any]]:
    """One row per phase and per SLO family: share good, its minimum and goodput (req/s)."""
    from stress.checks.goodput import goodput

    judged = {(r.phase, r.family): r for r in slo if r.metric == GOODPUT}
    rows = []
    for measured in goodput(records, scenario):
        result = judged.get((measured.phase, measured.family))
        rows.append(
            {
                "phase": measured.phase,
                "family": measured.family,
                "requests": measured.requests,
                "good": measured.good,
                "share": measured.share,
                "goodput_rps": measured.goodput_rps,
                "limit": None if result is None else result.limit,
                "passed": None if result is None else result.passed,
            }
        )
    return rows


def family_group(family: str) -> str:
    """The group of a family: the part of its name before the first dot."""
    return family.split(".", 1)[0]
