"""Good requests, per phase and per family: their share and their rate (goodput).

The one definition of a *good* request (vLLM's, after DistServe): its input was valid
(``expect`` accept), it succeeded (``ok``: no error-severity finding) and it is within every
limit set in the scenario's ``slo.per_request`` (``latency_ms``, ``ttft_ms``, ``tpot_ms``,
``itl_ms``). Without ``slo.per_request`` a good request is a valid one that succeeded.

The share good is good requests divided by the requests with valid inputs (a malformed input
cleanly refused is correct but serves no one; the status checks judge it); ``slo.goodput`` is
the least share, judged in stress/checks/slo.py. Goodput is good requests divided by the span
(first send to last answer of every request, the same span summary.json's rps uses).
docs/metrics.md defines the per-request metrics.

A request without a TTFT (no output token arrived) does not meet a ``ttft_ms`` limit; one
without a TPOT or ITL (a single output token) meets those limits, as in vLLM, since it had
no second token to be late.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from stress.scenario import RequestSlo, Scenario

# The record columns goodput reads.
GOODPUT_COLUMNS = (
    "phase",
    "expect",
    "ok",
    "sent_at",
    "latency_ms",
    "ttft_ms",
    "tpot_ms",
    "itl_ms",
)
# Limits a request without the metric fails (True) or meets (False).
_MISSING_FAILS = {"latency_ms": True, "ttft_ms": True, "tpot_ms": False, "itl_ms": False}


@dataclass(frozen=True)
class Goodput:
    """One phase (or one family, ``phase`` "*"): how many requests were good, in share and
    per second. ``requests`` counts the requests with valid inputs."""

    phase: str
    requests: int
    good: int
    duration_s: float | None
    goodput_rps: float | None
    share: float | None
    family: str | None = None


def meets_request_slo(records: pd.DataFrame, limits: RequestSlo) -> pd.Series:
    """A boolean per record: succeeded and within every limit set in ``limits``."""
    good = records["ok"].astype(bool)
    for column, missing_fails in _MISSING_FAILS.items():
        limit = getattr(limits, column)
        if limit is None:
            continue
        if column in records:
            values = pd.to_numeric(records[column], errors="coerce")
        else:
            values = pd.Series(float("nan"), index=records.index)
        within = values.le(limit)
        if not missing_fails:
            within |= values.isna()
        good &= within
    return good


def served(records: pd.DataFrame) -> pd.DataFrame:
    """The records goodput counts: those whose input was valid (all, without ``expect``)."""
    if "expect" not in records:
        return records
    return records[records["expect"] == "accept"]


def measure(
    group: pd.DataFrame | None, limits: RequestSlo | None, *, phase: str, family: str | None
) -> Goodput:
    """Good requests of ``group`` (one phase's or one family's records) under ``limits``."""
    if group is None or group.empty:
        return Goodput(phase, 0, 0, None, None, None, family)
    # The span covers every request; the count only the valid inputs.
    span = None
    if "sent_at" in group:
        ends = group["sent_at"] + group["latency_ms"] / 1000
        span = round(float(ends.max() - group["sent_at"].min()), 6)
    counted = served(group)
    good = int(meets_request_slo(counted, limits or RequestSlo()).sum())
    rate = good / span if span else None
    share = good / len(counted) if len(counted) else None
    return Goodput(phase, len(counted), good, span, rate, share, family)


def goodput(records: pd.DataFrame, scenario: Scenario) -> list[Goodput]:
    """Good requests of every phase, in scenario order, then of every family with SLOs;
    empty when the scenario sets neither ``slo.per_request`` nor a ``goodput`` minimum."""
    slo = scenario.slo
    minima = [slo.goodput, *(p.goodput for p in slo.phases.values())]
    minima += [f.goodput for f in slo.families.values()]
    if slo.per_request is None and all(m is None for m in minima):
        return []
    names = [phase.name for phase in scenario.load.phases]
    by_phase = {str(name): group for name, group in records.groupby("phase", sort=False)}
    names += sorted(name for name in by_phase if name not in names)
    results = [measure(by_phase.get(n), slo.per_request, phase=n, family=None) for n in names]
    for family in slo.families:
        group = records[records["family"] == family] if "family" in records else None
        results.append(measure(group, slo.per_request, phase="*", family=family))
    return results
