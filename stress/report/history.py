"""`stress history DIR`: trends across many run directories (nightly runs side by side).

Finds run directories under DIR (DIR itself, its children and grandchildren: the layout of a
reports/ folder and of downloaded CI artifacts), orders them by start time, and charts per
scenario: p95 latency (overall and per phase), error rate, failed requests by family group,
and behaviour drift from one run to the next (share of shared inputs whose answer changed,
from the records' ``output_digest``). Inputs are matched by their bytes (the digest of the
corpus line without its id and origin, stress.report.pair.input_digest), not by their id: after
a seed change the same id names another input, and an input sent under another id is the
same. Each run's numbers come from its summary.json when that is current, otherwise from its
records. history.json holds the same data::

    {"schema_version": 1, "root": str,
     "runs": [{"run_dir": str, "scenario": str, "started_at": str | null, "passed": bool,
               "requests": int, "error_rate": float | null, "p95_ms": float | null,
               "phases": {phase: p95 | null}, "groups": {group: failed requests},
               "drift": float | null,          # vs the previous run of the same scenario
               "drift_compared": int,          # inputs (by their bytes) answered in both
               "regressed": bool | null}],     # its compare.json verdict, if any
     "notes": [str]}
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from stress.errors import RunDirError, StressError
from stress.report.markup import chart, label, missing, ms, number, page, percent, table, text
from stress.report.pair import corpus_digests
from stress.report.summary import SCHEMA_VERSION, summarise
from stress.rundir import layout
from stress.rundir.read import load_records, load_run
from stress.rundir.write import write_text

_COLOURS = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#57606a")


def find_runs(root: Path) -> list[Path]:
    """Run directories (holding scenario.yaml and records/) at most two levels below root."""
    if not root.is_dir():
        raise RunDirError(
            f"{root}: no such directory; pass the folder that holds the run directories, "
            f"e.g. reports/"
        )
    candidates = [root, *root.glob("*"), *root.glob("*/*")]
    return sorted({p for p in candidates if layout.is_run_dir(p)})


def build_history(
    root: Path, *, scenario: str | None = None, last: int | None = None
) -> dict[str, Any]:
    """history.json content; raises RunDirError when no run directory is found."""
    notes: list[str] = []
    runs = []
    for run_dir in find_runs(root):
        try:
            summary = _summary(run_dir, notes)
        except StressError as exc:
            notes.append(f"{run_dir}: skipped ({exc})")
            continue
        if scenario is not None and summary.get("scenario") != scenario:
            continue
        runs.append((run_dir, summary))
    if not runs:
        which = f" of scenario {scenario!r}" if scenario else ""
        raise RunDirError(
            f"{root}: no run directories{which} found (a run directory holds scenario.yaml "
            f"and records/); pass the folder `stress run --out` wrote into, e.g. reports/"
        )
    runs.sort(key=lambda item: (str(item[1].get("started_at") or ""), str(item[0])))
    if last is not None:
        runs = runs[-last:]
    entries = []
    previous: dict[str, pd.DataFrame] = {}
    for run_dir, summary in runs:
        answers = _answers(run_dir, notes)
        name = str(summary.get("scenario"))
        drift, compared = _drift(previous.get(name), answers)
        previous[name] = answers
        totals = summary.get("totals", {})
        entries.append(
            {
                "run_dir": str(run_dir),
                "scenario": name,
                "started_at": summary.get("started_at"),
                "passed": bool(summary.get("passed")),
                "requests": totals.get("requests", 0),
                "error_rate": totals.get("error_rate"),
                "p95_ms": totals.get("latency_ms", {}).get("p95"),
                "phases": {
                    str(p["name"]): p.get("latency_ms", {}).get("p95")
                    for p in summary.get("phases", [])
                },
                "groups": {str(g["name"]): g["failed"] for g in summary.get("groups", [])},
                "drift": drift,
                "drift_compared": compared,
                "regressed": (summary.get("comparison") or {}).get("regressed"),
            }
        )
    return {"schema_version": 1, "root": str(root), "runs": entries, "notes": notes}


def write_history(document: Mapping[str, Any], out: Path) -> dict[str, Path]:
    """Write ``out`` (history.html) and history.json beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    json_path = layout.history_json(out.parent)
    write_text(json_path, json.dumps(document, indent=2, allow_nan=False) + "\n")
    write_text(out, render_history(document, out.parent))
    return {"html": out, "json": json_path}


def _summary(run_dir: Path, notes: list[str]) -> dict[str, Any]:
    path = layout.summary(run_dir)
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        if (
            isinstance(summary, dict)
            and summary.get("schema_version") == SCHEMA_VERSION
            and "groups" in summary
        ):
            return summary
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        pass
    # No summary.json, or one from an older stress: recompute it from the records.
    return summarise(load_run(run_dir))


def _answers(run_dir: Path, notes: list[str] | None = None) -> pd.DataFrame:
    """Distinct (input, output_digest) pairs of a run's answered requests; ``input`` is the
    digest of the input's bytes (its id when the run kept no corpus.jsonl, with a note)."""
    table = load_records(run_dir, ["input_id", "output_digest"]).dropna()
    digests = corpus_digests(run_dir)
    if digests is None:
        if notes is not None:
            notes.append(f"{run_dir}: no corpus.jsonl; its inputs are matched by id for drift")
        inputs = "id:" + table["input_id"].astype(str)
    else:
        inputs = table["input_id"].map(digests).fillna("id:" + table["input_id"].astype(str))
    frame = pd.DataFrame({"input": inputs, "output_digest": table["output_digest"]})
    return frame.drop_duplicates()


def _drift(before: pd.DataFrame | None, after: pd.DataFrame) -> tuple[float | None, int]:
    if before is None:
        return None, 0
    compared = set(before["input"]) & set(after["input"])
    if not compared:
        return None, 0
    common = before.merge(after, on=["input", "output_digest"])
    unchanged = set(common["input"]) & compared
    return (len(compared) - len(unchanged)) / len(compared), len(compared)


def render_history(document: Mapping[str, Any], base: Path) -> str:
    runs = list(document.get("runs", []))
    scenarios = list(dict.fromkeys(str(r["scenario"]) for r in runs))
    failed = sum(1 for r in runs if not r["passed"])
    body = [
        '<header class="verdict neutral">'
        f"<h1>History: {len(runs)} runs</h1>"
        f"<p>{text(document.get('root'))} · scenarios {text(', '.join(scenarios))} · "
        f"{failed} failed · from {text(runs[0].get('started_at'))} to "
        f"{text(runs[-1].get('started_at'))}</p></header>",
        _notes(document.get("notes", [])),
        chart(_trend(runs, scenarios, "p95_ms", "p95 latency per run", "p95 (ms)"), "h-p95"),
        _phase_chart(runs, scenarios),
        chart(
            _trend(runs, scenarios, "error_rate", "Error rate per run", "% failed", 100.0), "h-err"
        ),
        _groups_chart(runs),
        _drift_chart(runs, scenarios),
        "<h2>Runs</h2>",
        _runs_table(runs, base),
    ]
    return page("stress history", body)


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    return '<div class="notes"><ul>' + "".join(f"<li>{text(n)}</li>" for n in notes) + "</ul></div>"


def _x(run: Mapping[str, Any]) -> str:
    return str(run.get("started_at") or run["run_dir"])


def _trend(
    runs: Sequence[Mapping[str, Any]],
    scenarios: Sequence[str],
    key: str,
    title: str,
    axis: str,
    scale: float = 1.0,
) -> go.Figure:
    figure = go.Figure()
    for number_, name in enumerate(scenarios):
        mine = [r for r in runs if r["scenario"] == name]
        figure.add_trace(
            go.Scatter(
                x=[_x(r) for r in mine],
                y=[None if r[key] is None else r[key] * scale for r in mine],
                name=label(name),
                mode="lines+markers",
                line={"color": _COLOURS[number_ % len(_COLOURS)]},
                marker={
                    "size": 9,
                    "symbol": ["circle" if r["passed"] else "x" for r in mine],
                },
                text=[label(Path(r["run_dir"]).name) for r in mine],
                hovertemplate="%{text}: %{y:,.2f}<extra></extra>",
            )
        )
    return _layout(figure, f"{title} (× marks a failed run)", axis)


def _phase_chart(runs: Sequence[Mapping[str, Any]], scenarios: Sequence[str]) -> str:
    figure = go.Figure()
    for name in scenarios:
        mine = [r for r in runs if r["scenario"] == name]
        phases = list(dict.fromkeys(p for r in mine for p in r["phases"]))
        for phase in phases:
            figure.add_trace(
                go.Scatter(
                    x=[_x(r) for r in mine],
                    y=[r["phases"].get(phase) for r in mine],
                    name=label(f"{name}: {phase}" if len(scenarios) > 1 else phase),
                    mode="lines+markers",
                )
            )
    return chart(_layout(figure, "p95 latency per phase", "p95 (ms)"), "h-phases")


def _groups_chart(runs: Sequence[Mapping[str, Any]]) -> str:
    groups = sorted({g for r in runs for g in r["groups"]})
    if not groups:
        return missing("no failed requests in any run")
    figure = go.Figure(
        [
            go.Bar(
                x=[_x(r) for r in runs],
                y=[r["groups"].get(group, 0) for r in runs],
                name=label(group),
            )
            for group in groups
        ]
    )
    figure.update_layout(barmode="stack")
    return chart(_layout(figure, "Failed requests by input family group", "requests"), "h-groups")


def _drift_chart(runs: Sequence[Mapping[str, Any]], scenarios: Sequence[str]) -> str:
    if not any(r["drift"] is not None for r in runs):
        return missing("drift: no two runs of one scenario answered the same inputs")
    figure = _trend(
        runs,
        scenarios,
        "drift",
        "Behaviour drift: inputs whose answer changed since the previous run",
        "% of shared inputs",
        100.0,
    )
    return chart(figure, "h-drift")


def _runs_table(runs: Sequence[Mapping[str, Any]], base: Path) -> str:
    rows = []
    for run in reversed(runs):
        report = layout.report(Path(run["run_dir"]))
        href = urllib.parse.quote(os.path.relpath(report, base))
        link = f'<a href="{text(href)}">{text(Path(run["run_dir"]).name)}</a>'
        regressed = run.get("regressed")
        rows.append(
            [
                (text(run.get("started_at")), ""),
                (link, ""),
                (text(run["scenario"]), ""),
                ("passed", "good") if run["passed"] else ("FAILED", "bad"),
                (number(run["requests"]), "num"),
                (percent(run["error_rate"]), "num"),
                (ms(run["p95_ms"]), "num"),
                (percent(run["drift"]), "num"),
                ("–" if regressed is None else ("REGRESSED" if regressed else "no"), ""),
            ]
        )
    header = ["started", "run", "scenario", "verdict", "requests", "error rate", "p95 ms"]
    header += ["drift", "compare"]
    return table(header, rows)


def _layout(figure: go.Figure, title: str, axis: str) -> go.Figure:
    figure.update_layout(
        title={"text": title},
        template="plotly_white",
        height=380,
        margin={"l": 60, "r": 40, "t": 60, "b": 50},
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
    )
    figure.update_yaxes(title_text=axis, rangemode="tozero")
    return figure
