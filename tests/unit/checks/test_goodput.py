"""Good requests from hand-built records: which count as good, their share, rate and judgement."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from stress.checks.goodput import goodput, meets_request_slo
from stress.checks.slo import evaluate_slos
from stress.scenario import RequestSlo, Scenario, from_dict

NAN = math.nan


def scenario(per_request: dict[str, Any] | None, *, stream: bool = True, **extra: Any) -> Scenario:
    slo: dict[str, Any] = {"error_rate": None, **extra}
    if per_request is not None:
        slo["per_request"] = per_request
    return from_dict(
        {
            "name": "goodput-test",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat", "stream": stream},
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {"phases": [{"name": p, "users": 1, "duration": "5s"} for p in ("a", "b")]},
            "slo": slo,
        }
    )


# Phase a: five requests sent over 4 s, the last answered at 4.5 s.
RECORDS = pd.DataFrame(
    {
        "phase": ["a"] * 5,
        "expect": ["accept"] * 5,
        "ok": [True, True, True, False, True],
        "sent_at": [100.0, 101.0, 102.0, 103.0, 104.0],
        "latency_ms": [400.0, 900.0, 300.0, 100.0, 500.0],
        "ttft_ms": [50.0, 60.0, NAN, 40.0, 300.0],
        "tpot_ms": [20.0, 80.0, NAN, 10.0, NAN],
        "itl_ms": [19.0, 70.0, NAN, 9.0, NAN],
    }
)


@pytest.mark.parametrize(
    ("limits", "good"),
    [
        ({}, [True, True, True, False, True]),  # no limits: every success counts
        ({"latency_ms": 500}, [True, False, True, False, True]),
        # a request with no first token (row 2) cannot meet a TTFT limit
        ({"ttft_ms": 100}, [True, True, False, False, False]),
        # one output token (row 4): no TPOT to miss, as in vLLM
        ({"tpot_ms": 50}, [True, False, True, False, True]),
        ({"itl_ms": 20, "latency_ms": 600}, [True, False, True, False, True]),
    ],
)
def test_which_requests_are_good(limits: dict[str, float], good: list[bool]) -> None:
    assert meets_request_slo(RECORDS, RequestSlo(**limits)).tolist() == good


def test_goodput_is_good_requests_per_second_of_the_phase_span() -> None:
    (a, b) = goodput(RECORDS, scenario({"ttft_ms": 100, "tpot_ms": 50}))
    assert (a.phase, a.requests, a.good) == ("a", 5, 1)
    assert a.duration_s == pytest.approx(4.5)
    assert a.goodput_rps == pytest.approx(1 / 4.5)
    assert a.share == pytest.approx(0.2)
    assert (b.phase, b.requests, b.goodput_rps) == ("b", 0, None)


def test_no_per_request_limits_no_goodput() -> None:
    assert goodput(RECORDS, scenario(None)) == []


def test_goodput_minimum_is_judged_per_phase_by_the_per_request_limits() -> None:
    results = evaluate_slos(RECORDS, scenario({"latency_ms": 500}, goodput="60%"))
    assert [(r.phase, r.metric, r.passed) for r in results] == [
        ("a", "goodput", True),  # 3 of 5 = exactly 60%
        ("b", "goodput", False),  # no requests: nothing proven
    ]
    assert results[0].actual == pytest.approx(0.6)
    assert results[0].goodput_rps == pytest.approx(3 / 4.5)
    assert "3 of 5" in results[0].message
    assert "latency_ms <= 500" in results[0].message
    assert "goodput 0.6667 requests/s" in results[0].message
    failing = evaluate_slos(RECORDS, scenario({"latency_ms": 500}, goodput=0.61))
    assert failing[0].passed is False
    assert "is below the minimum of 61%" in failing[0].message


def ninety_percent_good() -> pd.DataFrame:
    # Phase a: 20 requests, one a second, 100 ms each; two (one per family) over 500 ms.
    latency = [100.0] * 20
    latency[3] = latency[13] = 900.0
    return pd.DataFrame(
        {
            "phase": ["a"] * 20,
            "family": ["realistic.chat_prompt"] * 10 + ["size.long_prompt"] * 10,
            "expect": ["accept"] * 20,
            "ok": [True] * 20,
            "sent_at": [100.0 + i for i in range(20)],
            "latency_ms": latency,
        }
    )


@pytest.mark.parametrize(("minimum", "passed"), [(0.85, True), (0.95, False)])
def test_a_phase_with_90_percent_good_requests(minimum: float, passed: bool) -> None:
    limits = scenario({"latency_ms": 500}, stream=False, goodput=minimum)
    (a, b) = evaluate_slos(ninety_percent_good(), limits)
    assert (a.phase, a.metric, a.limit, a.passed) == ("a", "goodput", minimum, passed)
    assert a.actual == pytest.approx(0.9)
    assert a.goodput_rps == pytest.approx(18 / 19.1)  # first send 100 s, last answer 119.1 s
    assert "18 of 20" in a.message
    assert b.passed is False  # phase b never ran


def test_phase_and_family_overrides_of_the_goodput_minimum() -> None:
    limits = scenario(
        {"latency_ms": 500},
        stream=False,
        goodput=0.95,
        phases={"a": {"goodput": 0.85}},
        families={"size.long_prompt": {"goodput": 0.95}},
    )
    results = {(r.phase, r.family): r for r in evaluate_slos(ninety_percent_good(), limits)}
    assert results[("a", None)].passed is True  # the phase override: 90% >= 85%
    assert results[("b", None)].limit == 0.95  # the scenario-wide minimum
    family = results[("*", "size.long_prompt")]
    assert (family.metric, family.limit, family.passed) == ("goodput", 0.95, False)
    assert family.actual == pytest.approx(0.9)  # 9 of the family's 10
    assert family.message.startswith("family 'size.long_prompt': 90% of requests")


def test_per_request_limits_without_a_minimum_report_but_judge_nothing() -> None:
    limits = scenario({"latency_ms": 500}, stream=False)
    assert evaluate_slos(ninety_percent_good(), limits) == []
    (a, b) = goodput(ninety_percent_good(), limits)
    assert (a.phase, a.requests, a.good, a.share) == ("a", 20, 18, pytest.approx(0.9))
    assert a.goodput_rps == pytest.approx(18 / 19.1)
    assert (b.phase, b.requests, b.share) == ("b", 0, None)


def test_a_goodput_minimum_without_per_request_limits_counts_successes() -> None:
    records = ninety_percent_good().assign(ok=[i % 5 != 0 for i in range(20)])
    (a, _) = evaluate_slos(records, scenario(None, stream=False, goodput=0.8))
    assert (a.actual, a.passed) == (pytest.approx(0.8), True)
    assert "16 of 20: no error finding)" in a.message


def test_only_valid_inputs_count_but_the_span_is_the_whole_phase() -> None:
    refused = pd.DataFrame(
        {
            "phase": ["a"],
            "expect": ["reject"],
            "ok": [True],
            "sent_at": [109.0],
            "latency_ms": [500.0],
            "ttft_ms": [NAN],
            "tpot_ms": [NAN],
            "itl_ms": [NAN],
        }
    )
    records = pd.concat([RECORDS, refused], ignore_index=True)
    (a, _) = goodput(records, scenario({"latency_ms": 500}))
    assert (a.requests, a.good) == (5, 3)
    assert a.duration_s == pytest.approx(9.5)
    (result, _) = evaluate_slos(records, scenario({"latency_ms": 500}, goodput=0.6))
    assert result.actual == pytest.approx(0.6)
    only_refused = evaluate_slos(refused, scenario({"latency_ms": 500}, goodput=0.6))[0]
    assert only_refused.passed is False
    assert "no request had a valid input" in only_refused.message


def test_records_from_before_the_streaming_columns_fail_stream_limits() -> None:
    old = RECORDS.drop(columns=["ttft_ms", "tpot_ms", "itl_ms"])
    assert not meets_request_slo(old, RequestSlo(ttft_ms=1000)).any()
    assert meets_request_slo(old, RequestSlo(tpot_ms=1)).tolist() == RECORDS["ok"].tolist()
