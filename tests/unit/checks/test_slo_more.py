"""SLOs beyond error rate and p95: p50/p99, TTFT, goodput, and per-family objectives."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from stress.checks.slo import SloResult, evaluate_slos
from stress.scenario import Scenario, from_dict


def scenario(slo: dict[str, Any]) -> Scenario:
    return from_dict(
        {
            "name": "slo-more",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat", "stream": True},
            "inputs": {"families": {"realistic.chat_prompt": 1, "size.long_prompt": 1}},
            "load": {"phases": [{"name": "load", "users": 1, "duration": "5s"}]},
            "slo": {"error_rate": None, **slo},
        }
    )


def records(ttft: bool = True) -> pd.DataFrame:
    # 100 requests, latency 1..100 ms, TTFT a tenth of it; the first 10 failed; the last 20
    # are the long-prompt family.
    latency = np.arange(1, 101, dtype=float)
    return pd.DataFrame(
        {
            "phase": "load",
            "family": ["realistic.chat_prompt"] * 80 + ["size.long_prompt"] * 20,
            "latency_ms": latency,
            "ttft_ms": latency / 10 if ttft else np.nan,
            "ok": [i >= 10 for i in range(100)],
        }
    )


def judge(slo: dict[str, Any], frame: pd.DataFrame | None = None) -> dict[tuple, SloResult]:
    frame = records() if frame is None else frame
    return {(r.family, r.metric): r for r in evaluate_slos(frame, scenario(slo))}


@pytest.mark.parametrize(
    ("metric", "limit", "actual", "passed"),
    [
        ("p50_ms", 50.5, 50.5, True),
        ("p50_ms", 50.4, 50.5, False),
        ("p99_ms", 99.01, 99.01, True),
        ("p99_ms", 99, 99.01, False),
        ("ttft_p95_ms", 9.6, 9.505, True),
        ("ttft_p95_ms", 9.5, 9.505, False),
    ],
)
def test_latency_quantiles(metric: str, limit: float, actual: float, passed: bool) -> None:
    result = judge({metric: limit})[(None, metric)]
    assert result.actual == pytest.approx(actual)
    assert result.passed is passed


def test_ttft_without_streaming_cannot_pass() -> None:
    result = judge({"ttft_p95_ms": 100}, records(ttft=False))[(None, "ttft_p95_ms")]
    assert result.passed is False
    assert "target.stream: true" in result.message


@pytest.mark.parametrize(
    ("slo", "actual", "passed"),
    [
        ({"goodput": 0.9}, 0.9, True),  # only the 10 failed requests are not good
        ({"goodput": 0.91}, 0.9, False),
        ({"goodput": 0.5, "per_request": {"latency_ms": 60}}, 0.5, True),  # ok, <= 60 ms: 11..60
        ({"goodput": 0.5, "per_request": {"latency_ms": 59}}, 0.49, False),
        # TTFT <= 5 ms: 11..50
        ({"goodput": 0.4, "per_request": {"latency_ms": 60, "ttft_ms": 5}}, 0.4, True),
    ],
)
def test_goodput(slo: dict[str, Any], actual: float, passed: bool) -> None:
    result = judge(slo)[(None, "goodput")]
    assert result.actual == pytest.approx(actual)
    assert result.passed is passed
    assert "goodput" in result.message


def test_family_objectives_judge_only_that_family() -> None:
    results = judge(
        {"families": {"size.long_prompt": {"p95_ms": 99.1, "error_rate": 0, "goodput": 1.0}}}
    )
    p95 = results[("size.long_prompt", "p95_ms")]
    assert p95.actual == pytest.approx(81 + 0.95 * 19)
    assert p95.passed is True
    assert p95.phase == "*"
    assert p95.message.startswith("family 'size.long_prompt': p95 latency")
    assert results[("size.long_prompt", "error_rate")].actual == 0.0
    assert results[("size.long_prompt", "goodput")].passed is True
    assert (None, "p95_ms") not in results  # no scenario-wide p95 was set


def test_phase_override_of_the_new_objectives() -> None:
    results = judge({"p99_ms": 10, "phases": {"load": {"p99_ms": 200}}})
    assert results[(None, "p99_ms")].passed is True
    assert results[(None, "p99_ms")].limit == 200
