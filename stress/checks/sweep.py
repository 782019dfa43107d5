"""Sweeps: does one step hold its limits, which rate is the most the target sustains, and
where does latency bend. Pure numpy/pandas over raw records, used twice with the same rules:
live by the load engine (to stop the sweep at the first broken step) and afterwards by the
report (summary["sweep"]), so both agree.

A step holds when every limit of the sweep's ``until`` holds over its requests (percentiles
exact, linear interpolation, as everywhere in stress) and, in the open loop, the tester sent
at least SUSTAINED_SHARE of the offered requests: a target (or tester) that cannot keep up
with the offered rate has not sustained it, whatever the latency of what it did answer.

    max_sustainable   the offered rate (users, closed loop) of the last step that held before
                      the first step that broke; None when the first step broke
    knee              the offered rate (users) of the last step before median latency
                      first rose above KNEE_FACTOR times the lowest median of the steps
                      before it; None when latency never bent that much (the median, not
                      the p95: a short step at a low rate has too few requests for a steady
                      p95)
    goodput           per second of the step, requests that were ok and, when ``until`` has
                      latency limits, answered within the tightest of them (DistServe's
                      goodput: requests meeting every per-request objective)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stress.checks.slo import PERCENTILE_METHOD
from stress.scenario import Until

# A step that sent fewer than this share of its offered requests did not sustain the rate.
SUSTAINED_SHARE = 0.95
# Latency has "bent" once a step's median exceeds this multiple of the best one before it.
KNEE_FACTOR = 1.5

_QUANTILES = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}


@dataclass(frozen=True)
class StepResult:
    """One sweep step, judged. Latencies in ms; rates in requests/s."""

    step: int
    offered_rps: float | None
    users: int | None
    duration_s: float
    requests: int
    achieved_rps: float
    p50: float | None
    p95: float | None
    p99: float | None
    error_rate: float | None
    goodput_rps: float
    late: int
    unsent: int
    passed: bool
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "offered_rps": self.offered_rps,
            "users": self.users,
            "duration_s": self.duration_s,
            "requests": self.requests,
            "achieved_rps": self.achieved_rps,
            "p50": self.p50,
            "p95": self.p95,
            "p99": self.p99,
            "goodput": self.goodput_rps,
            "error_rate": self.error_rate,
            "late": self.late,
            "unsent": self.unsent,
            "passed": self.passed,
            "reasons": list(self.reasons),
        }


def judge_step(
    latencies_ms: np.ndarray,
    ok: np.ndarray,
    limits: Until,
    *,
    step: int,
    duration_s: float,
    offered_rps: float | None = None,
    users: int | None = None,
    late: int = 0,
    unsent: int = 0,
    scheduled: int | None = None,
    outstanding_ms: Sequence[float] = (),
) -> StepResult:
    """Judge one step from its requests' latencies and ok flags.

    ``outstanding_ms``: requests of the step still unanswered, each with how long it has
    waited so far (a lower bound of its latency); the live judgement passes them so that a
    step whose slowest requests have not even come back yet is not judged on the fast ones.
    """
    waited = np.asarray(outstanding_ms, dtype=float)
    done = np.asarray(latencies_ms, dtype=float)
    values = np.concatenate([done, waited]) if waited.size else done
    passed_ok = np.asarray(ok, dtype=bool)
    requests = int(done.size)
    reasons: list[str] = []
    stats: dict[str, float | None] = {}
    for key, q in _QUANTILES.items():
        stats[key] = (
            float(np.quantile(values, q, method=PERCENTILE_METHOD)) if values.size else None
        )
        limit = getattr(limits, key)
        actual = stats[key]
        if limit is not None and actual is not None and actual > limit:
            reasons.append(f"{key[:-3]} {actual:.6g} ms > {limit:.6g} ms")
    error_rate = float((~passed_ok).sum() / requests) if requests else None
    if limits.error_rate is not None and error_rate is not None and error_rate > limits.error_rate:
        reasons.append(f"error rate {error_rate:.4%} > {limits.error_rate:.4%}")
    sent = requests + waited.size
    achieved = sent / duration_s if duration_s > 0 else 0.0
    if offered_rps is not None and offered_rps > 0:
        # What the schedule released is the yardstick (a Poisson step offers a random
        # count); the mean rate × duration only when that count is unknown.
        offered = scheduled if scheduled is not None else offered_rps * duration_s
        if sent < SUSTAINED_SHARE * offered:
            reasons.append(
                f"sent {sent} of {offered:.0f} offered requests "
                f"({achieved:.6g} of {offered_rps:.6g} req/s)"
            )
    if not values.size:
        reasons.append("no requests completed")
    latency_limits = [
        limit for limit in (limits.p50_ms, limits.p95_ms, limits.p99_ms) if limit is not None
    ]
    good = passed_ok
    if latency_limits:
        good = good & (done <= min(latency_limits))
    return StepResult(
        step=step,
        offered_rps=offered_rps,
        users=users,
        duration_s=duration_s,
        requests=requests,
        achieved_rps=achieved,
        p50=stats["p50_ms"],
        p95=stats["p95_ms"],
        p99=stats["p99_ms"],
        error_rate=error_rate,
        goodput_rps=float(good.sum()) / duration_s if duration_s > 0 else 0.0,
        late=late,
        unsent=unsent,
        passed=not reasons,
        reasons=reasons,
    )


def load_value(result: StepResult) -> float | None:
    """What the sweep varies: the offered rate, or the users of a closed-loop sweep."""
    if result.offered_rps is not None:
        return result.offered_rps
    return None if result.users is None else float(result.users)


def max_sustainable(results: Sequence[StepResult]) -> float | None:
    """The load of the last step that held before the first one that broke."""
    best = None
    for result in results:
        if not result.passed:
            break
        best = load_value(result)
    return best


def knee(results: Sequence[StepResult]) -> float | None:
    """The load of the last step before median latency rose above KNEE_FACTOR × the best."""
    best: float | None = None
    previous: StepResult | None = None
    for result in results:
        if result.p50 is None:
            continue
        if best is not None and previous is not None and result.p50 > KNEE_FACTOR * best:
            return load_value(previous)
        best = result.p50 if best is None else min(best, result.p50)
        previous = result
    return None
