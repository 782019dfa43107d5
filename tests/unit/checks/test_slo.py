"""SLO verdicts per phase, at and around the limits, from hand-built record frames."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from stress.checks.slo import SloResult, evaluate_slos, percentile
from stress.scenario import Scenario, from_dict


def scenario(slo: dict[str, Any], phases: Sequence[str] = ("baseline", "load")) -> Scenario:
    return from_dict(
        {
            "name": "slo-test",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat"},
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {"phases": [{"name": p, "users": 1, "duration": "5s"} for p in phases]},
            "slo": slo,
        }
    )


def frame(phase: str, latencies: Sequence[float], failed: int = 0) -> pd.DataFrame:
    ok = [index >= failed for index in range(len(latencies))]
    return pd.DataFrame({"phase": phase, "latency_ms": list(latencies), "ok": ok})


def results(
    records: pd.DataFrame, slo: dict[str, Any], **kwargs: Any
) -> dict[tuple[str, str], SloResult]:
    return {(r.phase, r.metric): r for r in evaluate_slos(records, scenario(slo, **kwargs))}


# 1..100 ms: the 0.95 quantile sits at position 0.95 * 99 = 94.05, i.e. 95 + 0.05 * (96 - 95).
ONE_TO_HUNDRED = [float(value) for value in range(1, 101)]
P95_OF_ONE_TO_HUNDRED = 95.05


@pytest.mark.parametrize(
    ("failed", "limit", "passed"),
    [
        (5, "5%", True),  # exactly at the limit passes
        (6, "5%", False),  # one request over
        (5, "4.9%", False),  # limit just below the actual rate
        (5, 0.0501, True),  # limit just above
        (0, 0, True),  # a zero limit with zero failures passes
        (1, 0, False),
    ],
)
def test_error_rate_at_and_around_the_limit(failed: int, limit: object, passed: bool) -> None:
    records = frame("baseline", [10.0] * 100, failed=failed)
    result = results(records, {"error_rate": limit}, phases=["baseline"])[
        ("baseline", "error_rate")
    ]
    assert result.actual == failed / 100
    assert result.passed is passed
    assert (" exceeds " in result.message) is not passed
    assert f"({failed} of 100 requests)" in result.message


def test_a_rate_equal_to_a_fractional_percent_limit_passes() -> None:
    # 7 / 1000 is one bit above float("0.7") / 100; the run is exactly at its limit.
    assert float("0.7") / 100 < 7 / 1000
    records = frame("baseline", [10.0] * 1000, failed=7)
    result = results(records, {"error_rate": "0.7%"}, phases=["baseline"])[
        ("baseline", "error_rate")
    ]
    assert result.passed
    assert "is within the limit of 0.7%" in result.message


@pytest.mark.parametrize(
    ("limit", "passed"),
    [(95.05, True), (95.04, False), (95.06, True), (95, False), (96, True)],
)
def test_p95_is_exact_linear_interpolation(limit: float, passed: bool) -> None:
    records = frame("baseline", ONE_TO_HUNDRED)
    result = results(records, {"error_rate": None, "p95_ms": limit}, phases=["baseline"])[
        ("baseline", "p95_ms")
    ]
    assert result.actual == pytest.approx(P95_OF_ONE_TO_HUNDRED, abs=1e-9)
    assert result.passed is passed


def test_p95_counts_failed_requests_too() -> None:
    # Ten timeouts at 10 s among 100 fast answers: they are what users waited for.
    latencies = [10_000.0] * 10 + [10.0] * 90
    records = frame("baseline", latencies, failed=10)
    result = results(records, {"error_rate": None, "p95_ms": 1000}, phases=["baseline"])[
        ("baseline", "p95_ms")
    ]
    assert result.actual == 10_000.0
    assert not result.passed


def test_phase_overrides_replace_only_the_limits_they_set() -> None:
    records = pd.concat([frame("baseline", ONE_TO_HUNDRED, 2), frame("load", ONE_TO_HUNDRED, 2)])
    slo = {"error_rate": "1%", "p95_ms": 90, "phases": {"load": {"p95_ms": 100}}}
    found = results(records, slo)
    assert [key for key in found] == [
        ("baseline", "error_rate"),
        ("baseline", "p95_ms"),
        ("load", "error_rate"),
        ("load", "p95_ms"),
    ]
    assert found[("baseline", "p95_ms")].limit == 90
    assert not found[("baseline", "p95_ms")].passed
    assert found[("load", "p95_ms")].limit == 100
    assert found[("load", "p95_ms")].passed
    # The override left error_rate alone, so the scenario-wide 1% still judges the load phase.
    assert found[("load", "error_rate")].limit == 0.01
    assert not found[("load", "error_rate")].passed


def test_a_phase_override_can_add_an_objective_the_scenario_does_not_set() -> None:
    records = pd.concat([frame("baseline", ONE_TO_HUNDRED), frame("load", ONE_TO_HUNDRED)])
    found = results(records, {"error_rate": None, "phases": {"load": {"p95_ms": 200}}})
    assert list(found) == [("load", "p95_ms")]
    assert found[("load", "p95_ms")].passed


def test_a_phase_without_requests_fails_every_objective() -> None:
    records = frame("baseline", ONE_TO_HUNDRED)
    found = results(records, {"error_rate": "5%", "p95_ms": 1000})
    for metric in ("error_rate", "p95_ms"):
        result = found[("load", metric)]
        assert not result.passed
        assert result.actual is None
        assert "no requests completed" in result.message
    assert found[("baseline", "error_rate")].passed


def test_no_records_at_all_fails_every_phase() -> None:
    records = frame("baseline", [])
    found = results(records, {"error_rate": "5%"})
    assert [r.passed for r in found.values()] == [False, False]


def test_records_of_an_unknown_phase_are_judged_by_the_scenario_limits() -> None:
    records = pd.concat([frame("baseline", ONE_TO_HUNDRED), frame("renamed", ONE_TO_HUNDRED, 50)])
    found = evaluate_slos(records, scenario({"error_rate": "5%"}, phases=["baseline"]))
    assert [(r.phase, r.passed) for r in found] == [("baseline", True), ("renamed", False)]


def test_percentile_matches_pandas_defaults() -> None:
    values = np.random.default_rng(7).lognormal(3, 1, 1001)
    for q in (0.5, 0.9, 0.95, 0.99):
        assert percentile(values, q) == pd.Series(values).quantile(q)
    assert percentile(np.array([]), 0.95) is None


def test_results_are_frozen() -> None:
    result = evaluate_slos(frame("baseline", [1.0]), scenario({}, phases=["baseline"]))[0]
    with pytest.raises(AttributeError):
        result.passed = False  # type: ignore[misc]
