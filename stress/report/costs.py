"""The cost checks in the report: summary.json's ``cost_growth`` section, the checks entries
of cost_growth and slow_generation, and report.html's table of fitted exponents.

summary.json ``cost_growth``::

    {"judged": bool, "note": str, "max_exponent": float,
     "fits": [{"family": str,          # a family, or "(all)" for every answered valid input
               "measure": "tokens" | "bytes", "points": int,
               "smallest": float, "largest": float,   # input sizes fitted
               "range": "top" | "upper half" | "whole",
               "exponent": float, "stderr": float,     # latency ~ size ** exponent
               "low": float, "high": float,           # its 95% bounds
               "superlinear": bool}],                 # the finding
     "skipped": {family: why},
     "slow_generation": {"judged": bool, "note": str, "answers": int, "slow": int,
                         "examples": [{"input_id", "family", "phase", "seq", "time_ms",
                                       "tokens", "expected_ms"}]},
     "health": {"judged": bool, "note": str, "probes": int, "ready": int,
                "latency_ms": {"p50", "p95", "max": float},   # the probes' own latency
                "contradicted": int,      # ready while a request in flight stalled
                "examples": [{"at", "latency_ms", "stalled", "input_id", "error_kind"}]}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stress.checks import growth, health
from stress.checks.request import group_checks, severity_of
from stress.report.markup import decimal, number, table, text
from stress.rundir.read import RunData
from stress.scenario import Scenario

SEVERITIES = ("error", "warning", "info")


def summarise(run: RunData) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary.json's cost_growth section with its ``health`` part, the checks entries)."""
    result = growth.evaluate(run.run_dir, run.scenario)
    watched = health.evaluate(run.run_dir)
    section = {
        **result.to_json(),
        "max_exponent": run.scenario.growth.max_exponent,
        "health": watched.to_json(),
    }
    return section, [*entries(result, run.scenario), *health_entries(watched, run.scenario)]


def health_entries(result: health.Result, scenario: Scenario) -> list[dict[str, Any]]:
    if health.HEALTH_UNDER_LOAD not in group_checks(scenario.checks) or not result.judged:
        return []
    found = result.contradicted
    if found:
        first = found[0]
        message = (
            f"the readiness endpoint answered ready {len(found)} times while requests timed "
            f"out or stalled (first: {first['stalled']} in flight, e.g. {first['input_id']} "
            f"{first['error_kind']}); {result.note}"
        )
    else:
        message = result.note
    fail_on = {str(severity) for severity in scenario.fail_on}
    severity = severity_of(health.HEALTH_UNDER_LOAD, scenario)
    return [_entry(health.HEALTH_UNDER_LOAD, severity, len(found), message, fail_on)]


def entries(result: growth.Result, scenario: Scenario) -> list[dict[str, Any]]:
    enabled = group_checks(scenario.checks)
    fail_on = {str(severity) for severity in scenario.fail_on}
    found = []
    if growth.COST_GROWTH in enabled:
        over = result.superlinear
        if not result.judged:
            message = result.note
        elif over:
            shown = "; ".join(
                f"{fit.family}: exponent {fit.exponent:.2f} (95% {fit.low:.2f}-{fit.high:.2f}, "
                f"{fit.points} inputs of {fit.smallest:.0f}-{fit.largest:.0f} {fit.measure})"
                for fit in over[:4]
            )
            message = (
                f"latency grows faster than input size ** {scenario.growth.max_exponent:g}: {shown}"
            )
        else:
            worst = max(result.fits, key=lambda fit: fit.exponent)
            message = (
                f"{result.note}; highest exponent {worst.exponent:.2f} ({worst.family}), "
                f"limit {scenario.growth.max_exponent:g}"
            )
        severity = severity_of(growth.COST_GROWTH, scenario)
        found.append(_entry(growth.COST_GROWTH, severity, len(over), message, fail_on))
    if growth.SLOW_GENERATION in enabled:
        slow = result.slow
        if slow:
            first = slow[0]
            message = (
                f"{len(slow)} of {result.answers} answers far slower than their tokens explain; "
                f"slowest: {first.input_id} ({first.phase}, seq {first.seq}) took "
                f"{first.time_ms:.0f} ms for {first.tokens} tokens, expected about "
                f"{first.expected_ms:.0f} ms"
            )
        else:
            message = result.slow_note
        severity = severity_of(growth.SLOW_GENERATION, scenario)
        found.append(_entry(growth.SLOW_GENERATION, severity, len(slow), message, fail_on))
    return found


def _entry(name: str, severity: str, found: int, message: str, fail_on: set[str]) -> dict[str, Any]:
    counts = dict.fromkeys(SEVERITIES, 0)
    counts[severity] = found
    return {
        "name": name,
        "kind": "group",
        "phase": None,
        "passed": not found or severity not in fail_on,
        "errors": counts["error"],
        "warnings": counts["warning"],
        "info": counts["info"],
        "severity": severity,
        "message": message,
    }


def html_section(section: Mapping[str, Any] | None) -> str:
    """report.html's "Cost over input size" part (under latency by family)."""
    if not isinstance(section, Mapping):
        return ""
    fits = section.get("fits") or []
    rows = [
        [
            (text(fit.get("family")), ""),
            (text(fit.get("measure")), ""),
            (number(fit.get("points")), "num"),
            (text(f"{decimal(fit.get('smallest'))}-{decimal(fit.get('largest'))}"), "num"),
            (text(fit.get("range")), ""),
            (decimal(fit.get("exponent")), "num bad" if fit.get("superlinear") else "num"),
            (text(f"{decimal(fit.get('low'))}-{decimal(fit.get('high'))}"), "num"),
        ]
        for fit in fits
    ]
    header = ["family", "size in", "inputs", "sizes", "range", "exponent", "95% bounds"]
    limit = section.get("max_exponent")
    intro = (
        "<p>latency ~ size<sup>exponent</sup>, fitted on a log-log scale (1: linear, 2: "
        f"quadratic); an exponent over {text(decimal(limit))} whose lower bound is over 1 is "
        f"a cost_growth finding. {text(section.get('note'))}</p>"
    )
    watched = section.get("health") or {}
    if watched.get("judged"):
        latency = watched.get("latency_ms") or {}
        tail_health = (
            f"<p>health under load: {number(watched.get('probes'))} probes, "
            f"{number(watched.get('ready'))} ready, latency p50 {decimal(latency.get('p50'))} "
            f"ms, p95 {decimal(latency.get('p95'))} ms, max {decimal(latency.get('max'))} ms; "
            f"ready while requests stalled: {number(watched.get('contradicted'))}</p>"
        )
    else:
        tail_health = ""
    slow = section.get("slow_generation") or {}
    tail = (
        f"<p>slow_generation: {text(slow.get('note'))}; "
        f"slow answers: {number(slow.get('slow'))}</p>"
    )
    return (
        "<h3>Cost over input size</h3>"
        + intro
        + table(header, rows, table_id="table-cost-growth", empty="no fit")
        + tail
        + tail_health
    )
