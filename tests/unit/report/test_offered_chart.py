"""The throughput chart shows the offered arrival rate of open-loop phases (a daily curve,
spikes, a trace), next to the requests/s achieved."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stress.report import charts


def records(offered: list[float | None]) -> pd.DataFrame:
    t0 = 1_700_000_000.0
    n = len(offered)
    return pd.DataFrame(
        {
            "phase": ["p"] * n,
            "users": [4] * n,
            "sent_at": [t0 + 0.5 * i for i in range(n)],
            "latency_ms": [10.0] * n,
            "error_kind": [None] * n,
            "ok": [True] * n,
            "offered_rate": pd.Series(offered, dtype="float64"),
        }
    )


def test_the_offered_rate_is_averaged_per_bucket_and_drawn() -> None:
    frame = records([2.0, 4.0, 10.0, 10.0, 1.0, 3.0])
    line = charts.timeline(frame)
    assert line.frame["offered"].tolist() == pytest.approx([3.0, 10.0, 2.0])
    throughput = charts.figures(frame, {})[1]
    [offered] = [t for t in throughput.data if t.name == "offered requests/s"]
    assert list(offered.y) == pytest.approx([3.0, 10.0, 2.0])


def test_a_closed_loop_run_has_no_offered_line() -> None:
    frame = records([None, None, None])
    assert "offered" not in charts.timeline(frame).frame.columns
    throughput = charts.figures(frame, {})[1]
    assert all(t.name != "offered requests/s" for t in throughput.data)
    assert not np.isnan(charts.timeline(frame).frame["requests"]).any()
