"""Exact statistics from raw values, shared by the summary, the comparison and the history.

Percentiles use the one method stress uses everywhere (stress.checks.slo.PERCENTILE_METHOD),
so a number in any report equals what pandas' defaults give on the Parquet records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from stress.checks.slo import PERCENTILE_METHOD

QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}


def latency_stats(values: np.ndarray | pd.Series | Sequence[float]) -> dict[str, float | None]:
    """p50/p90/p95/p99/max/mean of raw latencies in ms; all None when there are none."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return {**dict.fromkeys(QUANTILES), "max": None, "mean": None}
    quantiles = np.quantile(array, list(QUANTILES.values()), method=PERCENTILE_METHOD)
    stats: dict[str, float | None] = {
        name: float(value) for name, value in zip(QUANTILES, quantiles, strict=True)
    }
    stats["max"] = float(array.max())
    stats["mean"] = float(array.mean())
    return stats


def span_seconds(records: pd.DataFrame) -> float | None:
    """Seconds from the first send to the last answer; None without records."""
    if records.empty:
        return None
    ends = records["sent_at"] + records["latency_ms"] / 1000
    # Epoch seconds near 1.7e9 carry float noise below a microsecond; no clock is finer.
    return round(float(ends.max() - records["sent_at"].min()), 6)


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars made Python and NaN/Infinity made None, recursively."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value
