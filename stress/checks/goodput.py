"""Goodput: completed requests per second that meet every per-request SLO, per phase.

This is vLLM's definition (after DistServe): a request is *good* when it succeeded (``ok``:
no error-severity finding) and is within every limit of the scenario's ``slo.per_request``
(``latency_ms``, ``ttft_ms``, ``tpot_ms``, ``itl_ms``). Goodput is good requests divided by the
phase's span (first send to last answer, the same span summary.json's rps uses); attainment
is good requests divided by the requests counted. Only requests with valid inputs (``expect``
accept) are counted: a malformed input cleanly refused is correct but serves no one, and the
status checks judge it. docs/metrics.md defines the per-request metrics.

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
    """One phase: how many requests met every per-request limit, per second and in share."""

    phase: str
    requests: int
    good: int
    duration_s: float | None
    goodput_rps: float | None
    attainment: float | None


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


def goodput(records: pd.DataFrame, scenario: Scenario) -> list[Goodput]:
    """Goodput of every phase, in scenario order; empty without ``slo.per_request``."""
    limits = scenario.slo.per_request
    if limits is None:
        return []
    names = [phase.name for phase in scenario.load.phases]
    by_phase = {str(name): group for name, group in records.groupby("phase", sort=False)}
    names += sorted(name for name in by_phase if name not in names)
    results = []
    for name in names:
        group = by_phase.get(name)
        if group is None or group.empty:
            results.append(Goodput(name, 0, 0, None, None, None))
            continue
        # The span covers the whole phase (every request); the count only the valid inputs.
        ends = group["sent_at"] + group["latency_ms"] / 1000
        span = round(float(ends.max() - group["sent_at"].min()), 6)
        counted = served(group)
        good = int(meets_request_slo(counted, limits).sum())
        rate = good / span if span > 0 else None
        share = good / len(counted) if len(counted) else None
        results.append(Goodput(name, len(counted), good, span, rate, share))
    return results
