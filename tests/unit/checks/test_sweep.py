"""Sweep steps judged from raw latencies: limits, sustained rate, goodput, knee."""

from __future__ import annotations

import numpy as np
import pytest

from stress.checks.sweep import judge_step, knee, max_sustainable
from stress.scenario import Until


def step(latencies: list[float], ok: list[bool] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    values = np.array(latencies, dtype=float)
    flags = np.ones(len(values), dtype=bool) if ok is None else np.array(ok)
    defaults: dict[str, object] = {"step": 0, "duration_s": 1.0}
    defaults.update(kwargs)
    return judge_step(values, flags, defaults.pop("limits", Until(p95_ms=100)), **defaults)  # type: ignore[arg-type]


def test_a_step_within_its_limits_holds() -> None:
    result = step(list(range(1, 101)), offered_rps=100.0)
    # linear interpolation over 1..100: p95 = 95.05
    assert result.p95 == pytest.approx(95.05)
    assert result.passed
    assert result.reasons == []
    assert result.achieved_rps == 100
    assert result.goodput_rps == 100


def test_a_step_over_its_p95_breaks_and_says_why() -> None:
    result = step(list(range(1, 101)), limits=Until(p95_ms=90))
    assert not result.passed
    assert result.reasons == ["p95 95.05 ms > 90 ms"]
    # goodput counts only the answers within the latency limit
    assert result.goodput_rps == 90


def test_errors_break_a_step_over_its_error_rate() -> None:
    ok = [True] * 97 + [False] * 3
    result = step([1.0] * 100, ok, limits=Until(error_rate=0.02))
    assert result.error_rate == pytest.approx(0.03)
    assert not result.passed
    assert "error rate 3.0000% > 2.0000%" in result.reasons


def test_an_open_loop_step_that_did_not_send_its_offered_rate_breaks() -> None:
    result = step([1.0] * 90, offered_rps=100.0, limits=Until(p95_ms=100))
    assert not result.passed
    assert result.reasons == ["sent 90 of 100 offered requests (90 of 100 req/s)"]


def test_outstanding_requests_count_with_the_time_they_have_waited() -> None:
    done = [5.0] * 90
    fast = step(done, offered_rps=100.0)
    assert not fast.passed  # only 90 of 100 came back
    slow = step(done, offered_rps=100.0, outstanding_ms=[250.0] * 10)
    assert slow.p95 == pytest.approx(250.0)
    assert slow.reasons == ["p95 250 ms > 100 ms"]


def test_a_step_with_no_requests_breaks() -> None:
    result = step([], limits=Until(error_rate=0.5))
    assert not result.passed
    assert result.reasons == ["no requests completed"]


def rates(p95s: list[float], passed: list[bool]):  # type: ignore[no-untyped-def]
    out = []
    for index, (p95, held) in enumerate(zip(p95s, passed, strict=True)):
        limit = Until(p95_ms=1e9 if held else 1.0)
        count = 10 * (index + 1)
        out.append(step([p95] * count, step=index, offered_rps=float(count), limits=limit))
    return out


def test_max_sustainable_is_the_last_step_held_before_the_first_break() -> None:
    assert max_sustainable(rates([5, 6, 7, 8], [True, True, False, True])) == 20
    assert max_sustainable(rates([5, 6], [True, True])) == 20
    assert max_sustainable(rates([5, 6], [False, True])) is None
    assert max_sustainable([]) is None


def test_knee_is_the_last_step_before_latency_bends() -> None:
    assert knee(rates([10, 11, 12, 30, 90], [True] * 5)) == 30
    assert knee(rates([10, 9, 12, 13], [True] * 4)) is None  # never 1.5 × the best
    assert knee(rates([10], [True])) is None


def test_a_poisson_step_is_judged_against_what_its_schedule_released() -> None:
    # 25 requests/s for 3 s is 75 on average; this Poisson step happened to release 68.
    held = step([5.0] * 68, duration_s=3.0, offered_rps=25.0, scheduled=68)
    assert held.passed
    short = step([5.0] * 60, duration_s=3.0, offered_rps=25.0, scheduled=68)
    assert short.reasons == ["sent 60 of 68 offered requests (20 of 25 req/s)"]
