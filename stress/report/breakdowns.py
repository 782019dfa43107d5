"""The report's charts by category: input family, check, concurrency, perturbation kind.

Each is drawn from summary.json alone (already aggregated, exact percentiles), so these charts
cost nothing however many records the run has. Category names (families, checks, kinds) can
come from user code, so every one goes through markup.label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from stress.report.markup import label

FAMILY_LATENCY_TITLE = "Latency by input family (exact percentiles)"
HEATMAP_TITLE = "Failure rate by input family and check"
CONCURRENCY_TITLE = "Latency and throughput vs concurrency"
DEGRADATION_TITLE = "Output degradation vs load"
INVARIANCE_TITLE = "Invariance flips by perturbation kind"
# Pixels per category row: 60 families stay readable without a scrollbar.
_ROW_PX = 22
_MIN_HEIGHT = 320


def latency_by_family(families: Sequence[Mapping[str, Any]]) -> go.Figure:
    """p50, p95 and p99 of each family, slowest p95 on top."""
    rows = [f for f in families if f.get("latency_ms", {}).get("p95") is not None]
    rows.sort(key=lambda f: f["latency_ms"]["p95"])
    names = [label(f["name"]) for f in rows]
    figure = go.Figure()
    for quantile, symbol in (("p50", "circle"), ("p95", "diamond"), ("p99", "x")):
        figure.add_trace(
            go.Scatter(
                x=[f["latency_ms"][quantile] for f in rows],
                y=names,
                name=quantile,
                mode="markers",
                marker={"symbol": symbol, "size": 9},
                customdata=[[f["requests"]] for f in rows],
                hovertemplate="%{y}: %{x:,.1f} ms (%{customdata[0]} requests)<extra>"
                + quantile
                + "</extra>",
            )
        )
    figure.update_xaxes(type="log", title_text="latency (ms, log scale)")
    figure.update_yaxes(automargin=True)
    return _layout(figure, FAMILY_LATENCY_TITLE, rows=len(rows))


def failure_heatmap(
    families: Sequence[Mapping[str, Any]], checks: Sequence[Mapping[str, Any]]
) -> go.Figure:
    """Share of each family's requests that each per-request check failed (errors)."""
    names = [str(c["name"]) for c in checks if c.get("kind") == "request"]
    rows = sorted(families, key=lambda f: (-(f.get("failed") or 0), str(f["name"])))
    rows.reverse()  # plotly draws the first row at the bottom
    z, text = [], []
    for family in rows:
        requests = family.get("requests") or 0
        errors = family.get("checks", {})
        warnings = family.get("check_warnings", {})
        z.append([(errors.get(n, 0) / requests * 100) if requests else None for n in names])
        text.append(
            [_cell_text(int(errors.get(n, 0)), int(warnings.get(n, 0)), requests) for n in names]
        )
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[label(n) for n in names],
            y=[label(f["name"]) for f in rows],
            text=text,
            texttemplate="%{text}",
            hovertemplate="%{y} × %{x}: %{z:.2f}% failed<extra></extra>",
            colorscale=[[0, "#f6f8fa"], [0.001, "#ffd8b5"], [1, "#cf222e"]],
            zmin=0,
            zmax=max([v for row in z for v in row if v is not None] + [1.0]),
            colorbar={"title": {"text": "% failed"}},
            xgap=2,
            ygap=2,
        )
    )
    # The check names stand slanted above the grid; a layout title would sit on them, so the
    # title is the top axis's own, which plotly places above its labels.
    figure.update_xaxes(side="top", automargin=True, title={"text": HEATMAP_TITLE})
    figure.update_yaxes(automargin=True)
    _layout(figure, "", rows=len(rows), legend=False)
    figure.update_layout(margin={"t": 40})
    return figure


def _cell_text(errors: int, warnings: int, requests: int) -> str:
    if not errors and not warnings:
        return ""
    shown = f"{errors}/{requests}" if errors else ""
    if warnings:
        shown += f" (+{warnings} warn)" if shown else f"{warnings} warn"
    return shown


def latency_vs_concurrency(concurrency: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Exact percentiles at each active-user count, with the throughput reached there."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    users = [c["users"] for c in concurrency]
    figure.add_trace(
        go.Bar(
            x=users,
            y=[c.get("rps") for c in concurrency],
            name="requests/s",
            marker={"color": "rgba(128, 128, 128, 0.25)"},
            customdata=[[c["requests"], c["seconds"]] for c in concurrency],
            hovertemplate="%{x} users: %{y:.1f} req/s "
            "(%{customdata[0]} requests in %{customdata[1]} s)<extra></extra>",
        ),
        secondary_y=True,
    )
    for quantile, dash in (("p50", "solid"), ("p90", "dot"), ("p99", "dash")):
        figure.add_trace(
            go.Scatter(
                x=users,
                y=[c["latency_ms"][quantile] for c in concurrency],
                name=quantile,
                mode="lines+markers",
                line={"dash": dash},
            ),
            secondary_y=False,
        )
    # Categories, not numbers: bars at 2, 16 and 32 users would be 14 wide and reach below 0.
    figure.update_xaxes(title_text="active users (concurrency)", type="category")
    figure.update_yaxes(title_text="latency (ms)", rangemode="tozero", secondary_y=False)
    figure.update_yaxes(
        title_text="requests per second", rangemode="tozero", showgrid=False, secondary_y=True
    )
    return _layout(figure, CONCURRENCY_TITLE)


def degradation_vs_load(degradation: Mapping[str, Any]) -> go.Figure:
    """Share of answers judged degraded at each load step (stress.report.behaviour)."""
    points = list(degradation.get("points", []))
    by_rate = all(p.get("offered_rps") is not None for p in points) and points
    by_users = all(p.get("users") is not None for p in points) and points
    if by_rate:
        x: list[Any] = [p["offered_rps"] for p in points]
        axis = "offered rate (requests/s)"
    elif by_users:
        x = [p["users"] for p in points]
        axis = "active users (concurrency)"
    else:
        x = [label(p["phase"]) for p in points]
        axis = "phase"
    figure = go.Figure(
        go.Scatter(
            x=x,
            y=[None if p["share"] is None else p["share"] * 100 for p in points],
            mode="lines+markers",
            name="degraded",
            text=[label(p["phase"]) for p in points],
            customdata=[[p["degraded"], p["compared"]] for p in points],
            hovertemplate="%{text}: %{y:.1f}% (%{customdata[0]} of %{customdata[1]})"
            "<extra></extra>",
        )
    )
    figure.update_xaxes(title_text=axis)
    metric = label(degradation.get("metric", "degraded"))
    figure.update_yaxes(title_text=f"% {metric}", rangemode="tozero")
    return _layout(figure, DEGRADATION_TITLE)


def invariance_by_kind(invariance: Mapping[str, Any]) -> go.Figure:
    """Share of (seed, variant) pairs whose answer flipped, per perturbation kind."""
    kinds = sorted(invariance.get("kinds", []), key=lambda k: -(k.get("share") or 0))
    figure = go.Figure(
        go.Bar(
            x=[label(k["kind"]) for k in kinds],
            y=[None if k["share"] is None else k["share"] * 100 for k in kinds],
            customdata=[[k["flips"], k["pairs"]] for k in kinds],
            hovertemplate="%{x}: %{y:.1f}% flipped (%{customdata[0]} of %{customdata[1]} pairs)"
            "<extra></extra>",
            name="flipped",
        )
    )
    figure.update_xaxes(title_text="perturbation kind")
    figure.update_yaxes(title_text="% of pairs whose answer changed", rangemode="tozero")
    return _layout(figure, INVARIANCE_TITLE)


def _layout(figure: go.Figure, title: str, *, rows: int = 0, legend: bool = True) -> go.Figure:
    height = max(_MIN_HEIGHT, 140 + rows * _ROW_PX) if rows else 380
    figure.update_layout(
        title={"text": title},
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 60, "t": 90 if not legend else 60, "b": 50},
        showlegend=legend,
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
    )
    return figure
