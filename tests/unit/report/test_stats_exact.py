"""stress.report.stats exactly (written against mutation testing, `make mutation`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from stress.report.stats import json_safe, latency_stats, span_seconds


def test_latency_stats_exactly() -> None:
    assert latency_stats([]) == dict.fromkeys(("p50", "p90", "p95", "p99", "max", "mean"))
    stats = latency_stats(pd.Series([50.0, 10.0, 40.0, 20.0, 30.0]))
    assert list(stats) == ["p50", "p90", "p95", "p99", "max", "mean"]
    assert stats == pytest.approx(
        {"p50": 30.0, "p90": 46.0, "p95": 48.0, "p99": 49.6, "max": 50.0, "mean": 30.0}
    )
    assert all(type(value) is float for value in stats.values())


def test_span_runs_from_the_first_send_to_the_last_answer() -> None:
    assert span_seconds(pd.DataFrame({"sent_at": [], "latency_ms": []})) is None
    start = 1_767_261_600.0
    records = pd.DataFrame(
        {"sent_at": [start + 1, start, start + 0.5], "latency_ms": [2000.0, 500.0, 100.0]}
    )
    assert span_seconds(records) == 3.0  # the first send at start, the last answer at +3 s
    assert span_seconds(records.assign(latency_ms=[0.0, 0.0, 0.0])) == 1.0


def test_json_safe_makes_numpy_python_and_non_finite_none() -> None:
    value = {
        "i": np.int64(3),
        1: [np.float64(math.nan), np.bool_(True), (1.5, math.inf, -math.inf)],
        "b": False,
        "s": "x",
        "n": None,
    }
    safe = json_safe(value)
    assert safe == {"i": 3, "1": [None, True, [1.5, None, None]], "b": False, "s": "x", "n": None}
    assert type(safe["i"]) is int
    assert type(safe["1"][1]) is bool
    assert type(safe["b"]) is bool
    assert type(json_safe(np.float32(0.5))) is float
