"""Streaming metrics in the report: time to first token, inter-token latency, tokens per second.

The report reads these nullable record columns when the record schema has them and a run
filled them; a non-streaming run leaves them null and the report says "not a streaming run":

    =================  ==========================================================  =========
    column             meaning                                                      unit
    =================  ==========================================================  =========
    ``ttft_ms``        send → first event carrying output                           ms
    ``itl_ms``         per request: (last token − first token) / (tokens − 1)        ms
    ``output_tokens_   per request: output tokens / end-to-end latency               tokens/s
    per_s``
    =================  ==========================================================  =========

docs/metrics.md defines each once (stress/targets/timing.py computes them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stress.report.stats import latency_stats

TTFT = "ttft_ms"
ITL = "itl_ms"
TOKENS_PER_S = "output_tokens_per_s"
COLUMNS = (TTFT, ITL, TOKENS_PER_S)
TITLES = {
    TTFT: "time to first token (ms)",
    ITL: "inter-token latency (ms)",
    TOKENS_PER_S: "output tokens per second",
}
# Tokens per second: the slow tail is the low percentiles.
_RATE_QUANTILES = {"p1": 0.01, "p10": 0.10, "p50": 0.50, "p90": 0.90}


def present(records: pd.DataFrame) -> list[str]:
    """The streaming columns ``records`` has with at least one value, in COLUMNS order."""
    return [c for c in COLUMNS if c in records.columns and records[c].notna().any()]


def streaming_summary(records: pd.DataFrame) -> dict[str, Any] | None:
    """summary["streaming"]: null for a run with no streaming values at all.

    ``{"requests": int,                      # requests with a time to first token
       "ttft_ms": LATENCY | null, "itl_ms": LATENCY | null,
       "output_tokens_per_s": {"p1", "p10", "p50", "p90", "mean": float} | null}``
    """
    columns = present(records)
    if not columns:
        return None
    result: dict[str, Any] = {
        "requests": int(records[TTFT].notna().sum()) if TTFT in columns else 0
    }
    for column in (TTFT, ITL):
        values = _values(records, column) if column in columns else None
        result[column] = latency_stats(values) if values is not None else None
    rates = _values(records, TOKENS_PER_S) if TOKENS_PER_S in columns else None
    if rates is None:
        result[TOKENS_PER_S] = None
    else:
        quantiles = np.quantile(rates, list(_RATE_QUANTILES.values()), method="linear")
        stats = {name: float(q) for name, q in zip(_RATE_QUANTILES, quantiles, strict=True)}
        stats["mean"] = float(rates.mean())
        result[TOKENS_PER_S] = stats
    return result


def _values(records: pd.DataFrame, column: str) -> np.ndarray:
    values: np.ndarray = records[column].to_numpy(dtype=float, na_value=np.nan)
    finite: np.ndarray = values[np.isfinite(values)]
    return finite
