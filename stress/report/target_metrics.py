"""The target's own metrics (target.metrics) charted beside latency.

One figure, two rows on one time axis (seconds since the first request, as the load charts):
p95 latency per bucket above, the chosen series below, one line per series and label set. A
counter (type ``counter``) is drawn as its rate per second on a right-hand axis, a gauge as
it is. A run whose
scrapes failed or found none of the series gets a note naming what happened, not a chart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from stress.promscrape import read
from stress.report import charts
from stress.report.markup import chart, missing, text
from stress.rundir import layout

# More lines than this would be unreadable: the first ones by name are drawn, the rest named.
MAX_LINES = 12
CHART_ID = "chart-target-metrics"
# A counter's line is its rate: its name ends with this.
RATE = " (per s)"


def samples(scrapes: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per stored sample: at, line (name{labels}), name, type, value."""
    rows = [
        {
            "at": float(scrape["at"]),
            "line": _line_name(sample["name"], sample.get("labels") or {}),
            "name": sample["name"],
            "type": sample.get("type", "gauge"),
            "value": sample.get("value"),
        }
        for scrape in scrapes
        for sample in scrape.get("samples") or []
    ]
    return pd.DataFrame(rows, columns=["at", "line", "name", "type", "value"])


def series_frame(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Each line's values over time (a counter as its rate per second), first MAX_LINES."""
    lines: dict[str, pd.Series] = {}
    for line_name in sorted(frame["line"].unique())[:MAX_LINES]:
        rows = frame[frame["line"] == line_name].sort_values("at")
        values = pd.Series(rows["value"].astype(float).to_numpy(), index=rows["at"].to_numpy())
        if rows["type"].iloc[0] == "counter":
            elapsed = pd.Series(values.index, index=values.index).diff()
            # A counter that went down was reset (the server restarted): no rate there.
            values = (values.diff() / elapsed).where(values.diff() >= 0).iloc[1:]
            line_name += RATE
        lines[line_name] = values
    return lines


def figure(records: pd.DataFrame, frame: pd.DataFrame) -> go.Figure:
    """p95 latency per bucket and the target's series, on one time axis."""
    t0 = float(records["sent_at"].min()) if not records.empty else float(frame["at"].min())
    plot = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=("p95 latency (ms)", "the target's metrics"),
        specs=[[{}], [{"secondary_y": True}]],
    )
    if not records.empty:
        timeline = charts.timeline(records)
        plot.add_trace(
            go.Scatter(x=timeline.frame.index, y=timeline.frame["p95"], name="p95 latency (ms)"),
            row=1,
            col=1,
        )
    for name, values in series_frame(frame).items():
        plot.add_trace(
            go.Scatter(x=values.index - t0, y=values.to_numpy(), name=name, mode="lines"),
            row=2,
            col=1,
            # Rates (tokens/s) dwarf gauges (busy slots): they get the right-hand axis.
            secondary_y=name.endswith(RATE),
        )
    plot.update_xaxes(title_text="seconds since the first request", row=2, col=1)
    plot.update_yaxes(title_text="per second", row=2, col=1, secondary_y=True)
    plot.update_layout(
        title={"text": "Latency and the target's own metrics"},
        template="plotly_white",
        height=560,
        margin={"l": 60, "r": 60, "t": 80, "b": 50},
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.15},
    )
    return plot


def section(run_dir: Path, records: pd.DataFrame, series: Sequence[str]) -> str:
    """The report's part on the target's metrics ("" when target.metrics was not set)."""
    if not series:
        return ""
    scrapes = read(layout.target_metrics(run_dir))
    parts = ["<h3>The target's own metrics</h3>"]
    if not scrapes:
        return parts[0] + missing("target.metrics is set but no scrape was stored")
    errors = Counter(str(s["error"]) for s in scrapes if "error" in s)
    frame = samples(scrapes)
    found = set(frame["name"]) | {_family(name) for name in frame["name"]}
    absent = [name for name in series if name not in found]
    notes = []
    if errors:
        common, count = errors.most_common(1)[0]
        notes.append(f"{sum(errors.values())} of {len(scrapes)} scrapes failed ({count}: {common})")
    if absent:
        notes.append(f"never in the scrapes: {', '.join(absent)}")
    if frame.empty:
        return "".join([*parts, *(missing(note) for note in notes)])
    lines = frame["line"].nunique()
    if lines > MAX_LINES:
        notes.append(f"{lines} series with their labels; the first {MAX_LINES} are drawn")
    parts.append(chart(figure(records, frame), CHART_ID))
    parts += [f'<p class="note">{text(note)}</p>' for note in notes]
    return "".join(parts)


def _line_name(name: str, labels: Mapping[str, str]) -> str:
    if not labels:
        return name
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _family(sample_name: str) -> str:
    """A counter's family name (its samples end in _total or _created)."""
    for suffix in ("_total", "_created"):
        if sample_name.endswith(suffix):
            return sample_name.removesuffix(suffix)
    return sample_name


def comparison(runs: Mapping[str, str | None]) -> str:
    """compare.html's part: comparison_figure, "" when no run scraped its target."""
    plot = comparison_figure(runs)
    if plot is None:
        return ""
    return "<h2>The target's own metrics</h2>" + chart(plot, CHART_ID + "-compare")


def comparison_figure(runs: Mapping[str, str | None]) -> go.Figure | None:
    """The target's series of each run (label → run directory; BASE dashed), on seconds
    since each run's first scrape; None when no run scraped its target."""
    plot = go.Figure()
    drawn = []
    for label, run_dir in runs.items():
        frame = samples(read(layout.target_metrics(Path(run_dir)))) if run_dir else None
        if frame is None or frame.empty:
            continue
        drawn.append(label)
        t0 = float(frame["at"].min())
        for name, values in series_frame(frame).items():
            plot.add_trace(
                go.Scatter(
                    x=values.index - t0,
                    y=values.to_numpy(),
                    name=f"{label} {name}",
                    mode="lines",
                    line={"dash": "dash" if label == "BASE" else "solid"},
                )
            )
    if not drawn:
        return None
    plot.update_xaxes(title_text="seconds since the run's first scrape")
    plot.update_layout(
        title={"text": "The target's own metrics, " + " and ".join(drawn)},
        template="plotly_white",
        height=420,
        legend={"orientation": "h", "y": -0.2},
    )
    return plot
