"""Service-level objectives: error rate and p95 latency per load phase, judged from records.

Limits come from the scenario's ``slo`` section; ``slo.phases[name]`` overrides a limit for
one phase (a limit left unset there inherits the scenario-wide one):

    ====================================================  ==========  ==========
    scenario ``slo`` section                              baseline    load
    ====================================================  ==========  ==========
    ``error_rate: 1%``                                    1%          1%
    ``error_rate: 1%, phases: {load: {error_rate: 5%}}``  1%          5%
    ``p95_ms: 500, phases: {load: {p95_ms: 900}}``        500 ms      900 ms
    ``phases: {load: {p95_ms: 900}}`` (no ``p95_ms``)     not judged  900 ms
    ====================================================  ==========  ==========

An SLO result is data, like a per-request Finding: evaluating never raises for a bad verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from stress.scenario import PhaseKind, Scenario

ERROR_RATE = "error_rate"
P95_MS = "p95_ms"

# The only percentile method used anywhere in stress, so the report, the SLO verdict and a
# user recomputing from the Parquet records with pandas' defaults agree to the last digit.
PERCENTILE_METHOD: Final = "linear"

# Limits typed as percentages ("1.1%") go through a float division, so an actual rate equal to
# the limit can differ from it in the last bit; a run exactly at its limit passes.
_REL_TOLERANCE = 1e-9


@dataclass(frozen=True)
class SloResult:
    """The verdict of one objective on one phase. ``actual`` is None when nothing completed."""

    phase: str
    metric: str
    limit: float
    actual: float | None
    passed: bool
    message: str


def percentile(values: np.ndarray | pd.Series, q: float) -> float | None:
    """The exact ``q`` quantile (0..1) of raw values, linear interpolation; None when empty."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return None
    return float(np.quantile(array, q, method=PERCENTILE_METHOD))


def evaluate_slos(records: pd.DataFrame, scenario: Scenario) -> list[SloResult]:
    """Judge every phase of ``scenario`` against its limits, in scenario order.

    ``records`` needs the columns ``phase``, ``ok`` and ``latency_ms``. The error rate is the
    share of requests with ``ok == False`` (an error-severity finding); the p95 is taken over
    every request, failed ones included, since a timeout is exactly the latency users feel.
    A phase with no requests fails each of its objectives. Records of a phase the scenario
    does not name (a renamed phase) are judged by the scenario-wide limits, listed last.
    """
    # A sweep is judged step by step by its own limits (stress.checks.sweep): its last step
    # breaks them by design, so the phase as a whole is not judged here.
    sweeps = {phase.name for phase in scenario.load.phases if phase.kind is PhaseKind.SWEEP}
    names = [phase.name for phase in scenario.load.phases if phase.name not in sweeps]
    by_phase = {str(name): group for name, group in records.groupby("phase", sort=False)}
    names += sorted(name for name in by_phase if name not in names and name not in sweeps)
    results: list[SloResult] = []
    for name in names:
        override = scenario.slo.phases.get(name)
        error_limit = scenario.slo.error_rate
        p95_limit = scenario.slo.p95_ms
        if override is not None:
            error_limit = override.error_rate if override.error_rate is not None else error_limit
            p95_limit = override.p95_ms if override.p95_ms is not None else p95_limit
        group = by_phase.get(name)
        if error_limit is not None:
            results.append(_error_rate(name, error_limit, group))
        if p95_limit is not None:
            results.append(_p95(name, p95_limit, group))
    return results


def _error_rate(phase: str, limit: float, group: pd.DataFrame | None) -> SloResult:
    if group is None or group.empty:
        return _no_requests(phase, ERROR_RATE, limit)
    requests = len(group)
    failed = int((~group["ok"].astype(bool)).sum())
    actual = failed / requests
    passed = _within(actual, limit)
    verdict = "is within" if passed else "exceeds"
    message = (
        f"phase {phase!r}: error rate {_percent(actual)} ({failed} of {requests} requests) "
        f"{verdict} the limit of {_percent(limit)}"
    )
    return SloResult(phase, ERROR_RATE, limit, actual, passed, message)


def _p95(phase: str, limit: float, group: pd.DataFrame | None) -> SloResult:
    actual = None if group is None else percentile(group["latency_ms"].to_numpy(), 0.95)
    if group is None or actual is None:
        return _no_requests(phase, P95_MS, limit)
    passed = _within(actual, limit)
    verdict = "is within" if passed else "exceeds"
    message = (
        f"phase {phase!r}: p95 latency {actual:.6g} ms ({len(group)} requests) "
        f"{verdict} the limit of {limit:.6g} ms"
    )
    return SloResult(phase, P95_MS, limit, actual, passed, message)


def _no_requests(phase: str, metric: str, limit: float) -> SloResult:
    # Zero requests is not "zero errors": a phase that never ran proves nothing, so it fails.
    message = (
        f"phase {phase!r}: no requests completed, so {metric} cannot be judged; check that the "
        f"target answered and that the run was not stopped before this phase"
    )
    return SloResult(phase, metric, limit, None, False, message)


def _within(actual: float, limit: float) -> bool:
    return actual <= limit or math.isclose(actual, limit, rel_tol=_REL_TOLERANCE)


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.4g}%"
