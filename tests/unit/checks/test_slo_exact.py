"""The SLO verdicts beyond error rate and p95, exactly: values, verdicts and messages.

Written against mutation testing (`make mutation`): every field of every result is checked,
so a changed quantile, label, verdict or message is caught.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from stress.checks.slo import evaluate_slos, percentile
from stress.scenario import from_dict

FAMILY = "realistic.chat_prompt"


def records() -> pd.DataFrame:
    rows = [
        {"phase": "baseline", "latency_ms": float(ms), "ttft_ms": float(t)}
        for ms, t in zip((10, 20, 30, 40, 50), (1, 2, 3, 4, 5), strict=True)
    ] + [{"phase": "load", "latency_ms": float(ms), "ttft_ms": math.nan} for ms in (100, 200, 300)]
    return pd.DataFrame([{**row, "ok": True, "family": FAMILY} for row in rows])


def scenario() -> object:
    return from_dict(
        {
            "name": "slo",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat"},
            "inputs": {"families": {FAMILY: 1}},
            "load": {
                "phases": [
                    {"name": "baseline", "users": 1, "duration": "1s"},
                    {"name": "load", "users": 2, "duration": "1s"},
                    {"name": "idle", "users": 1, "duration": "1s"},
                ]
            },
            "slo": {
                "p50_ms": 25,
                "p99_ms": 100,
                "ttft_p95_ms": 10,
                "phases": {"load": {"p50_ms": 1000}},
                "families": {FAMILY: {"p99_ms": 45}},
            },
        }
    )


def test_percentile_is_linear_and_none_when_empty() -> None:
    assert percentile(pd.Series([10.0, 20.0, 30.0, 40.0, 50.0]), 0.99) == pytest.approx(49.6)
    assert percentile(pd.Series([1.0, 2.0]), 0.5) == 1.5
    assert percentile(pd.Series([], dtype=float), 0.5) is None


def test_quantile_objectives_per_phase_and_family_exactly() -> None:
    chosen = ("p50_ms", "p99_ms", "ttft_p95_ms")
    got = [r for r in evaluate_slos(records(), scenario()) if r.metric in chosen]  # type: ignore[arg-type]
    none = (
        "no requests completed, so {} cannot be judged; check that the target answered and "
        "that the run was not stopped before this phase"
    )
    expected = [
        ("baseline", "p50_ms", 25, 30.0, False, None,
         "phase 'baseline': p50 latency 30 ms (5 requests) exceeds the limit of 25 ms"),
        ("baseline", "p99_ms", 100, 49.6, True, None,
         "phase 'baseline': p99 latency 49.6 ms (5 requests) is within the limit of 100 ms"),
        ("baseline", "ttft_p95_ms", 10, 4.8, True, None,
         "phase 'baseline': p95 time to first token 4.8 ms (5 requests) is within the limit "
         "of 10 ms"),
        ("load", "p50_ms", 1000, 200.0, True, None,
         "phase 'load': p50 latency 200 ms (3 requests) is within the limit of 1000 ms"),
        ("load", "p99_ms", 100, 298.0, False, None,
         "phase 'load': p99 latency 298 ms (3 requests) exceeds the limit of 100 ms"),
        ("load", "ttft_p95_ms", 10, None, False, None,
         "phase 'load': no request has a time to first token, so ttft_p95_ms cannot be "
         "judged; TTFT needs a streaming target (target.stream: true)"),
        ("idle", "p50_ms", 25, None, False, None, "phase 'idle': " + none.format("p50_ms")),
        ("idle", "p99_ms", 100, None, False, None, "phase 'idle': " + none.format("p99_ms")),
        ("idle", "ttft_p95_ms", 10, None, False, None,
         "phase 'idle': " + none.format("ttft_p95_ms")),
        ("*", "p99_ms", 45, 293.0, False, FAMILY,
         f"family '{FAMILY}': p99 latency 293 ms (8 requests) exceeds the limit of 45 ms"),
    ]  # fmt: skip
    assert len(got) == len(expected)
    for result, (phase, metric, limit, actual, passed, family, message) in zip(
        got, expected, strict=True
    ):
        assert (result.phase, result.metric, result.limit) == (phase, metric, limit)
        assert result.actual == (None if actual is None else pytest.approx(actual))
        assert (result.passed, result.family, result.message) == (passed, family, message)


def test_a_limit_met_exactly_passes() -> None:
    exact = from_dict(
        {
            "name": "slo",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat"},
            "inputs": {"families": {FAMILY: 1}},
            "load": {"phases": [{"name": "baseline", "users": 1, "duration": "1s"}]},
            "slo": {"p50_ms": 30},
        }
    )
    results = [r for r in evaluate_slos(records(), exact) if r.metric == "p50_ms"]
    # The records of a phase the scenario does not name are judged too, listed last.
    assert [r.phase for r in results] == ["baseline", "load"]
    result = results[0]
    assert (result.actual, result.passed) == (30.0, True)
    assert result.message.endswith("is within the limit of 30 ms")


def test_error_rate_and_p95_per_phase_and_family_exactly() -> None:
    data = records()
    data.loc[0, "ok"] = False  # one failed request in the baseline
    other = "unicode.emoji"
    judged = from_dict(
        {
            "name": "slo",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat"},
            "inputs": {"families": {FAMILY: 1, other: 1}},
            "load": {
                "phases": [
                    {"name": "baseline", "users": 1, "duration": "1s"},
                    {"name": "load", "users": 2, "duration": "1s"},
                    {"name": "idle", "users": 1, "duration": "1s"},
                ]
            },
            "slo": {
                "error_rate": "10%",
                "p95_ms": 45,
                "families": {FAMILY: {"error_rate": "50%"}, other: {"p50_ms": 5}},
            },
        }
    )
    got = [
        (r.phase, r.metric, r.actual, r.passed, r.family, r.message)
        for r in evaluate_slos(data, judged)
    ]
    none = (
        "no requests completed, so {} cannot be judged; check that the target answered and "
        "that the run was not stopped before this phase"
    )
    assert got == [
        ("baseline", "error_rate", 0.2, False, None,
         "phase 'baseline': error rate 20% (1 of 5 requests) exceeds the limit of 10%"),
        ("baseline", "p95_ms", pytest.approx(48.0), False, None,
         "phase 'baseline': p95 latency 48 ms (5 requests) exceeds the limit of 45 ms"),
        ("load", "error_rate", 0.0, True, None,
         "phase 'load': error rate 0% (0 of 3 requests) is within the limit of 10%"),
        ("load", "p95_ms", pytest.approx(290.0), False, None,
         "phase 'load': p95 latency 290 ms (3 requests) exceeds the limit of 45 ms"),
        ("idle", "error_rate", None, False, None, "phase 'idle': " + none.format("error_rate")),
        ("idle", "p95_ms", None, False, None, "phase 'idle': " + none.format("p95_ms")),
        ("*", "error_rate", 0.125, True, FAMILY,
         f"family '{FAMILY}': error rate 12.5% (1 of 8 requests) is within the limit of 50%"),
        ("*", "p50_ms", None, False, other, f"family '{other}': " + none.format("p50_ms")),
    ]  # fmt: skip
