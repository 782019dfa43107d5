"""The report's charts over time, built from records aggregated into time buckets with pandas.

Nothing is plotted per request: a million-request run becomes at most MAX_BUCKETS points per
series, so report.html stays a few hundred kilobytes plus plotly.js however long the run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from stress.checks.slo import PERCENTILE_METHOD
from stress.report import streaming
from stress.report.markup import label

LATENCY_TITLE = "Latency percentiles over time"
THROUGHPUT_TITLE = "Throughput and failed requests over time, by error kind"
ERRORS_TITLE = "Error rate over time, by error kind"
HISTOGRAM_TITLE = "Latency histogram"
TITLES = (LATENCY_TITLE, THROUGHPUT_TITLE, ERRORS_TITLE, HISTOGRAM_TITLE)
STREAMING_TITLES = {
    streaming.TTFT: "Time to first token over time",
    streaming.ITL: "Inter-token latency over time",
    streaming.TOKENS_PER_S: "Output tokens per second over time",
}
FAILED_CHECK = "failed_check"

# 1 s buckets up to a 25-minute run; longer runs get wider buckets (2 s, 3 s, ...). About
# 1500 points per series is finer than a screen shows and keeps each chart ~50 kB.
MAX_BUCKETS = 1500
HISTOGRAM_BINS = 60
# Latencies are plotted on a log axis, which cannot show 0; a 0.1 ms floor is below any
# network round trip.
_MIN_LATENCY_MS = 0.1
# The columns the charts read.
COLUMNS = ("phase", "users", "sent_at", "latency_ms", "error_kind", "ok")
_PHASE_COLOURS = ("rgba(99, 110, 250, 0.07)", "rgba(0, 204, 150, 0.07)")


@dataclass(frozen=True)
class Timeline:
    """Records counted per time bucket. ``frame`` is indexed by bucket start (s since t0)."""

    width: int
    frame: pd.DataFrame
    # phase name -> (first send, last send) in seconds since t0, in order of first send.
    phases: dict[str, tuple[float, float]]
    # error kind -> failed requests of that kind per bucket.
    errors: pd.DataFrame


def bucket_width(span_s: float) -> int:
    """Whole seconds per bucket so that a run of ``span_s`` has at most MAX_BUCKETS."""
    return max(1, math.ceil(span_s / MAX_BUCKETS))


def timeline(records: pd.DataFrame) -> Timeline:
    """Bucket ``records`` (COLUMNS) by send time."""
    t0 = float(records["sent_at"].min())
    elapsed = records["sent_at"] - t0
    width = bucket_width(float(elapsed.max()))
    bucket = (elapsed // width).astype("int64").to_numpy()
    index = pd.RangeIndex(int(bucket.max()) + 1)
    grouped = records.groupby(bucket)
    levels = [0.5, 0.9, 0.95, 0.99]
    latency = grouped["latency_ms"].quantile(levels, interpolation=PERCENTILE_METHOD)
    frame = latency.unstack().reindex(index)
    frame.columns = pd.Index(["p50", "p90", "p95", "p99"])
    frame["requests"] = grouped.size().reindex(index, fill_value=0)
    frame["users"] = grouped["users"].max().reindex(index)
    if "offered_rate" in records.columns and records["offered_rate"].notna().any():
        # Open loop: the arrival rate the schedule offered (a daily curve, spikes, a trace).
        frame["offered"] = grouped["offered_rate"].mean().reindex(index)
    failed = ~records["ok"].astype(bool).to_numpy()
    # A failed request with no transport error was answered, but the answer failed a check.
    kinds = records["error_kind"].astype(object).where(records["error_kind"].notna(), FAILED_CHECK)
    errors = (
        pd.crosstab(bucket[failed], kinds.to_numpy()[failed])
        if failed.any()
        else pd.DataFrame(index=index)
    ).reindex(index, fill_value=0)
    frame.index = frame.index * width
    errors.index = errors.index * width
    spans = elapsed.groupby(records["phase"], sort=False).agg(["min", "max"]).sort_values("min")
    phases = {str(name): (float(row["min"]), float(row["max"])) for name, row in spans.iterrows()}
    return Timeline(width, frame, phases, errors)


def figures(
    records: pd.DataFrame, totals: Mapping[str, Any], slo: Mapping[str, Any] | None = None
) -> list[go.Figure]:
    """The four charts, in page order; ``totals`` is the summary's "totals" entry and ``slo``
    its setup's "slo" (error_rate, p95_ms, per-phase overrides), drawn as limit lines."""
    if records.empty:
        return [_empty(title) for title in TITLES]
    line = timeline(records)
    slo = slo or {}
    return [
        _latency(line, _limits(slo, "p95_ms", line.phases)),
        _throughput(line),
        _errors(line, _limits(slo, "error_rate", line.phases)),
        _histogram(records["latency_ms"].to_numpy(), totals.get("latency_ms", {})),
    ]


def _limits(
    slo: Mapping[str, Any], key: str, phases: Mapping[str, tuple[float, float]]
) -> dict[str, float]:
    """Phase name -> the SLO limit ``key`` that applies there (a phase's own, else the run's)."""
    overrides = slo.get("phases") or {}
    limits = {}
    for name in phases:
        value = (overrides.get(name) or {}).get(key)
        value = slo.get(key) if value is None else value
        if isinstance(value, int | float) and not isinstance(value, bool):
            limits[name] = float(value)
    return limits


def _limit_line(
    figure: go.Figure, line: Timeline, limits: Mapping[str, float], name: str, scale: float
) -> None:
    """The SLO limit as a red dashed step over each phase it applies to (one legend entry)."""
    x: list[float | None] = []
    y: list[float | None] = []
    for phase, limit in limits.items():
        start, end = line.phases[phase]
        x += [start, max(end, start + line.width), None]
        y += [limit * scale, limit * scale, None]
    if x:
        style = {"dash": "dash", "color": "#cf222e", "width": 1.5}
        figure.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines", line=style))


def _latency(line: Timeline, p95_limits: Mapping[str, float] | None = None) -> go.Figure:
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    x = line.frame.index.to_numpy()
    for name, dash in (("p50", "solid"), ("p95", "dot"), ("p99", "dash")):
        trace = go.Scatter(x=x, y=line.frame[name].to_numpy(), name=name, line={"dash": dash})
        figure.add_trace(trace, secondary_y=False)
    _limit_line(figure, line, p95_limits or {}, "p95 limit (SLO)", 1.0)
    users = line.frame["users"].to_numpy(dtype=float)
    if "offered" in line.frame.columns:
        # An open-loop phase has no users: its arrival rate is on the throughput chart.
        users = np.where(line.frame["offered"].isna().to_numpy(), users, np.nan)
    if np.isfinite(users).any():
        trace = go.Scatter(
            x=x,
            y=users,
            name="active users",
            line={"shape": "hv", "color": "grey", "width": 1},
            opacity=0.6,
        )
        figure.add_trace(trace, secondary_y=True)
        # Headroom above the highest user count, so the line stays below the phase names.
        top = float(np.nanmax(users)) * 1.3 or 1.0
        figure.update_yaxes(
            title_text="users",
            range=[0, top],
            showgrid=False,
            tickformat="d",
            secondary_y=True,
        )
    figure.update_yaxes(title_text="latency (ms)", rangemode="tozero", secondary_y=False)
    return _finish(figure, LATENCY_TITLE, line)


def _throughput(line: Timeline) -> go.Figure:
    figure = go.Figure()
    x = line.frame.index.to_numpy()
    rate = line.frame["requests"].to_numpy() / line.width
    figure.add_trace(go.Scatter(x=x, y=rate, name="requests/s", line={"shape": "hv"}))
    if "offered" in line.frame.columns:
        offered = line.frame["offered"].to_numpy()
        style = {"shape": "hv", "dash": "dot", "color": "grey"}
        figure.add_trace(go.Scatter(x=x, y=offered, name="offered requests/s", line=style))
    for kind in sorted(line.errors.columns, key=str):
        failed = line.errors[kind].to_numpy() / line.width
        figure.add_trace(
            go.Bar(x=x, y=failed, name=f"failed/s: {label(kind)}", width=line.width, offset=0)
        )
    figure.update_layout(barmode="stack", bargap=0)
    figure.update_yaxes(title_text="requests per second", rangemode="tozero")
    return _finish(figure, THROUGHPUT_TITLE, line)


def _errors(line: Timeline, limits: Mapping[str, float] | None = None) -> go.Figure:
    figure = go.Figure()
    x = line.frame.index.to_numpy()
    requests = line.frame["requests"].to_numpy().astype(float)
    # An empty bucket has no rate at all (a gap), not a zero rate.
    denominator = np.where(requests > 0, requests, np.nan)
    for kind in sorted(line.errors.columns, key=str):
        share = line.errors[kind].to_numpy() / denominator * 100
        figure.add_trace(go.Scatter(x=x, y=share, name=label(kind), stackgroup="errors"))
    if line.errors.empty or not line.errors.to_numpy().any():
        figure.add_trace(go.Scatter(x=x, y=np.zeros(len(x)), name="no failed requests"))
    _limit_line(figure, line, limits or {}, "error-rate limit (SLO)", 100.0)
    figure.update_yaxes(title_text="failed requests (%)", rangemode="tozero")
    return _finish(figure, ERRORS_TITLE, line)


def _histogram(latencies: np.ndarray, stats: Mapping[str, Any]) -> go.Figure:
    values = np.maximum(latencies.astype(float), _MIN_LATENCY_MS)
    low, high = float(values.min()), float(values.max())
    high = high if high > low else low * 1.01
    # Log-spaced bins: latency tails span orders of magnitude (10 ms answers, 30 s timeouts).
    edges = np.geomspace(low, high, HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(values, bins=edges)
    figure = go.Figure(
        go.Scatter(
            x=edges,
            y=np.append(counts, counts[-1]),
            name="requests",
            line={"shape": "hv"},
            fill="tozeroy",
        )
    )
    top = int(counts.max()) if counts.size else 1
    for name, dash in (("p50", "dot"), ("p95", "dash"), ("p99", "dashdot")):
        value = stats.get(name)
        if isinstance(value, int | float):
            # A two-point trace, not a shape: shapes on a log axis take log10 coordinates.
            where = max(float(value), _MIN_LATENCY_MS)
            figure.add_trace(
                go.Scatter(
                    x=[where, where],
                    y=[0, top],
                    name=f"{name} {float(value):,.1f} ms",
                    mode="lines",
                    line={"dash": dash, "width": 1.5},
                )
            )
    figure.update_xaxes(type="log", title_text="latency (ms, log scale)")
    figure.update_yaxes(title_text="requests")
    return _layout(figure, HISTOGRAM_TITLE)


def streaming_figures(records: pd.DataFrame) -> dict[str, go.Figure]:
    """Percentiles over time of each streaming column present (see stress.report.streaming)."""
    columns = streaming.present(records)
    if not columns:
        return {}
    line = timeline(records)
    t0 = float(records["sent_at"].min())
    bucket = ((records["sent_at"] - t0) // line.width).astype("int64").to_numpy()
    figures = {}
    for column in columns:
        values = records[column].astype(float)
        if column == streaming.TOKENS_PER_S:
            # For a rate the slow tail is the low end.
            names, levels = ("p1", "p10", "p50"), [0.01, 0.1, 0.5]
        else:
            names, levels = ("p50", "p90", "p99"), [0.5, 0.9, 0.99]
        quantiles = values.groupby(bucket).quantile(levels, interpolation=PERCENTILE_METHOD)
        frame = quantiles.unstack().reindex(pd.RangeIndex(len(line.frame)))
        frame.index = frame.index * line.width
        figure = go.Figure()
        for position, (name, dash) in enumerate(zip(names, ("solid", "dot", "dash"), strict=True)):
            figure.add_trace(
                go.Scatter(
                    x=frame.index.to_numpy(),
                    y=frame.iloc[:, position].to_numpy(),
                    name=name,
                    line={"dash": dash},
                )
            )
        figure.update_yaxes(title_text=streaming.TITLES[column], rangemode="tozero")
        figures[column] = _finish(figure, STREAMING_TITLES[column], line)
    return figures


def _finish(figure: go.Figure, title: str, line: Timeline) -> go.Figure:
    _mark_phases(figure, line.phases, line.width)
    figure.update_xaxes(title_text=f"seconds since the first request ({line.width} s buckets)")
    return _layout(figure, title)


def _mark_phases(figure: go.Figure, phases: Mapping[str, tuple[float, float]], width: int) -> None:
    for number, (name, (start, end)) in enumerate(phases.items()):
        figure.add_vrect(
            x0=start,
            x1=max(end, start + width),
            fillcolor=_PHASE_COLOURS[number % len(_PHASE_COLOURS)],
            line_width=0,
            layer="below",
            annotation_text=label(name),
            annotation_position="top left",
        )


def _layout(figure: go.Figure, title: str) -> go.Figure:
    figure.update_layout(
        title={"text": title},
        template="plotly_white",
        height=380,
        margin={"l": 60, "r": 60, "t": 60, "b": 50},
        hovermode="x unified",
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
    )
    return figure


def _empty(title: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(
        text="no requests recorded", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper"
    )
    return _layout(figure, title)
