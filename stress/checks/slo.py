"""Service-level objectives per load phase and per family, judged from records.

Objectives: ``error_rate`` (at most), ``p50_ms``/``p95_ms``/``p99_ms`` latency (at most),
``ttft_p95_ms`` (p95 time to first token of streaming targets, at most) and ``goodput`` (at
least this share of the requests with valid inputs are good: no error finding and within
every ``slo.per_request`` limit; stress/checks/goodput.py defines a good request). A goodput
result also carries the good requests per second.

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

``slo.families[name]`` judges one family's requests over all phases, by the limits set there
only (a good request is the same everywhere: ``slo.per_request`` is scenario-wide).

An SLO result is data, like a per-request Finding: evaluating never raises for a bad verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from stress.checks.goodput import measure
from stress.scenario import PhaseKind, PhaseSlo, RequestSlo, Scenario

ERROR_RATE = "error_rate"
P95_MS = "p95_ms"
P50_MS = "p50_ms"
P99_MS = "p99_ms"
TTFT_P95_MS = "ttft_p95_ms"
GOODPUT = "goodput"
# Latency objectives: (metric, quantile, column).
_LATENCIES = (
    (P50_MS, 0.50, "latency_ms"),
    (P95_MS, 0.95, "latency_ms"),
    (P99_MS, 0.99, "latency_ms"),
    (TTFT_P95_MS, 0.95, "ttft_ms"),
)

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
    # Set for a per-family objective (``phase`` is then "*", every phase).
    family: str | None = None
    # Goodput results only: good requests per second (None when nothing was good or timed).
    goodput_rps: float | None = None


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
        limits = _merged(scenario.slo, override)
        results.extend(_more(name, limits, scenario.slo.per_request, group, family=None))
    for family, limits in scenario.slo.families.items():
        group = records[records["family"] == family] if "family" in records else None
        results.extend(_family(family, limits, scenario.slo.per_request, group))
    return results


def _merged(base: PhaseSlo, override: PhaseSlo | None) -> PhaseSlo:
    if override is None:
        return base
    values = {
        key: getattr(override, key) if getattr(override, key) is not None else getattr(base, key)
        for key in PhaseSlo.model_fields
    }
    return PhaseSlo.model_construct(**values)


def _family(
    family: str, limits: PhaseSlo, per_request: RequestSlo | None, group: pd.DataFrame | None
) -> list[SloResult]:
    results = []
    if limits.error_rate is not None:
        results.append(_for_family(_error_rate(family, limits.error_rate, group), family))
    if limits.p95_ms is not None:
        results.append(_for_family(_p95(family, limits.p95_ms, group), family))
    results.extend(_more("*", limits, per_request, group, family=family))
    return results


def _for_family(result: SloResult, family: str) -> SloResult:
    message = result.message.replace(f"phase {family!r}", f"family {family!r}", 1)
    metric, limit, actual, passed = result.metric, result.limit, result.actual, result.passed
    return SloResult("*", metric, limit, actual, passed, message, family)


def _more(
    phase: str,
    limits: PhaseSlo,
    per_request: RequestSlo | None,
    group: pd.DataFrame | None,
    *,
    family: str | None,
) -> list[SloResult]:
    """The objectives beyond error rate and p95: p50, p99, TTFT p95, goodput."""
    label = f"family {family!r}" if family is not None else f"phase {phase!r}"
    results = []
    for metric, quantile, column in _LATENCIES:
        limit = getattr(limits, metric)
        if metric == P95_MS or limit is None:
            continue
        results.append(_quantile(phase, label, metric, quantile, column, limit, group, family))
    if limits.goodput is not None:
        results.append(_goodput(phase, label, limits.goodput, per_request, group, family))
    return results


def _quantile(
    phase: str,
    label: str,
    metric: str,
    quantile: float,
    column: str,
    limit: float,
    group: pd.DataFrame | None,
    family: str | None,
) -> SloResult:
    if group is None or group.empty:
        return _no_requests(phase, metric, limit, label=label, family=family)
    values = group[column].dropna().to_numpy() if column in group else np.array([])
    actual = percentile(values, quantile)
    if actual is None:
        message = (
            f"{label}: no request has a time to first token, so {metric} cannot be judged; "
            f"TTFT needs a streaming target (target.stream: true)"
        )
        return SloResult(phase, metric, limit, None, False, message, family)
    passed = _within(actual, limit)
    verdict = "is within" if passed else "exceeds"
    what = "time to first token" if column == "ttft_ms" else "latency"
    message = (
        f"{label}: p{round(quantile * 100)} {what} {actual:.6g} ms ({len(values)} requests) "
        f"{verdict} the limit of {limit:.6g} ms"
    )
    return SloResult(phase, metric, limit, actual, passed, message, family)


def _goodput(
    phase: str,
    label: str,
    minimum: float,
    per_request: RequestSlo | None,
    group: pd.DataFrame | None,
    family: str | None,
) -> SloResult:
    measured = measure(group, per_request, phase=phase, family=family)
    if measured.share is None:
        if group is None or group.empty:
            return _no_requests(phase, GOODPUT, minimum, label=label, family=family)
        message = (
            f"{label}: no request had a valid input, so goodput cannot be judged; goodput "
            f"counts the requests with valid inputs (families with expect: accept)"
        )
        return SloResult(phase, GOODPUT, minimum, None, False, message, family)
    actual = measured.share
    passed = actual >= minimum or math.isclose(actual, minimum, rel_tol=_REL_TOLERANCE)
    verdict = "meets" if passed else "is below"
    rate = measured.goodput_rps
    per_second = "n/a" if rate is None else f"{rate:.4g}"
    message = (
        f"{label}: {_percent(actual)} of requests with valid inputs were good ({measured.good} "
        f"of {measured.requests}: {describe_good(per_request)}), which {verdict} the minimum "
        f"of {_percent(minimum)}; goodput {per_second} requests/s"
    )
    return SloResult(phase, GOODPUT, minimum, actual, passed, message, family, rate)


def describe_good(limits: RequestSlo | None) -> str:
    """What made a request good, for messages: "no error finding, latency_ms <= 800"."""
    rules = ["no error finding"]
    if limits is not None:
        names = ("latency_ms", "ttft_ms", "tpot_ms", "itl_ms")
        rules += [f"{n} <= {getattr(limits, n):.6g}" for n in names if getattr(limits, n)]
    return ", ".join(rules)


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


def _no_requests(
    phase: str, metric: str, limit: float, *, label: str | None = None, family: str | None = None
) -> SloResult:
    # Zero requests is not "zero errors": a phase that never ran proves nothing, so it fails.
    message = (
        f"{label or f'phase {phase!r}'}: no requests completed, so {metric} cannot be judged; "
        f"check that the target answered and that the run was not stopped before this phase"
    )
    return SloResult(phase, metric, limit, None, False, message, family)


def _within(actual: float, limit: float) -> bool:
    return actual <= limit or math.isclose(actual, limit, rel_tol=_REL_TOLERANCE)


def _percent(fraction: float) -> str:
    # Three significant digits: 0.849%, 1.04%, 12.3%, 5% (the limits as written).
    return f"{fraction * 100:.3g}%"
