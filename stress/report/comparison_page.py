"""compare.html and compare.md: a comparison (stress.report.compare) for people and for CI.

compare.html is self-contained like report.html; every string from the runs goes through
markup.text or markup.label, every answer excerpt too.
"""

from __future__ import annotations

import itertools
import json
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from stress.report.findings import commands
from stress.report.markdown import code, escape
from stress.report.markup import (
    Cell,
    chart,
    command,
    decimal,
    facts,
    label,
    missing,
    ms,
    number,
    page,
    percent,
    signed_percent,
    table,
    text,
)
from stress.report.target_metrics import comparison as target_comparison
from stress.rundir import layout
from stress.rundir.write import write_text

_RED, _GREY = "#cf222e", "#8c959f"


def write_comparison(document: Mapping[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write compare.json, compare.html and compare.md into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": layout.compare_json(out_dir),
        "html": layout.compare_html(out_dir),
        "md": layout.compare_md(out_dir),
    }
    text_json = json.dumps(document, indent=2, ensure_ascii=True, allow_nan=False) + "\n"
    write_text(paths["json"], text_json)
    write_text(paths["html"], render_comparison(document))
    write_text(paths["md"], render_comparison_markdown(document))
    return paths


def render_comparison(document: Mapping[str, Any]) -> str:
    regressed = bool(document.get("regressed"))
    base, new = document.get("base", {}), document.get("new", {})
    title = f"stress compare: {'REGRESSED' if regressed else 'no regression'}"
    body = [
        f'<header class="verdict {"failed" if regressed else "passed"}">'
        f"<h1>{'REGRESSED' if regressed else 'No regression'}</h1>"
        f"<p>BASE {text(base.get('run_dir'))} ({text(base.get('started_at'))}) → NEW "
        f"{text(new.get('run_dir'))} ({text(new.get('started_at'))})</p>"
        f"<p>{text(document.get('message'))}</p></header>",
        _notes(document.get("notes", [])),
        "<h2>Regressions</h2>",
        _reasons(document.get("reasons", [])),
        "<h2>The two runs</h2>",
        _runs(document),
        "<h2>Latency and errors per phase</h2>",
        _rows_table([document.get("totals", {}), *document.get("phases", [])]),
        target_comparison({"BASE": base.get("run_dir"), "NEW": new.get("run_dir")}),
        "<h2>Latency and errors per input family</h2>",
        _family_chart(document.get("families", [])),
        _rows_table(document.get("families", [])),
        "<h2>Behaviour drift: answers that changed on the same inputs</h2>",
        _drift(document.get("drift", {})),
        "<h2>Label distribution</h2>",
        _labels(document.get("labels", {})),
        "<h2>Answer length distribution</h2>",
        _lengths(document.get("lengths", {})),
        "<h2>New failures</h2>",
        _failures(document.get("failures", {}), "new", str(new.get("run_dir", "NEW"))),
        "<h2>Fixed failures</h2>",
        _failures(document.get("failures", {}), "fixed", str(base.get("run_dir", "BASE"))),
        "<h2>Thresholds</h2>",
        facts((name, text(value)) for name, value in document.get("thresholds", {}).items()),
    ]
    return page(title, body)


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    return '<div class="notes"><ul>' + "".join(f"<li>{text(n)}</li>" for n in notes) + "</ul></div>"


def _reasons(reasons: Sequence[str]) -> str:
    if not reasons:
        return "<p>none: every difference is within the thresholds below.</p>"
    return "<ul>" + "".join(f"<li>{text(r)}</li>" for r in reasons) + "</ul>"


def _runs(document: Mapping[str, Any]) -> str:
    base, new = document.get("base", {}), document.get("new", {})
    corpus = document.get("corpus", {})
    rows = [
        ("scenario", f"{text(base.get('scenario'))} → {text(new.get('scenario'))}"),
        ("requests", f"{number(base.get('requests'))} → {number(new.get('requests'))}"),
        ("error rate", f"{percent(base.get('error_rate'))} → {percent(new.get('error_rate'))}"),
        ("p95", f"{ms(base.get('p95_ms'))} → {ms(new.get('p95_ms'))} ms"),
        (
            "inputs",
            f"{number(corpus.get('shared_inputs'))} shared with identical bytes, "
            f"{number(corpus.get('changed_inputs'))} with the same id but other bytes, "
            f"{number(corpus.get('base_only'))} only in BASE, "
            f"{number(corpus.get('new_only'))} only in NEW"
            + ("" if corpus.get("same_seed", True) else " (the seeds differ)"),
        ),
    ]
    return facts(rows)


def _rows_table(rows: Sequence[Mapping[str, Any]]) -> str:
    cells: list[list[Cell]] = []
    for row in rows:
        if not row:
            continue
        before, after = row.get("base", {}), row.get("new", {})
        lat_b, lat_a = before.get("latency_ms", {}), after.get("latency_ms", {})
        cells.append(
            [
                (text(row.get("name")), ""),
                (f"{number(before.get('requests'))} → {number(after.get('requests'))}", "num"),
                (f"{ms(lat_b.get('p50'))} → {ms(lat_a.get('p50'))}", "num"),
                (f"{ms(lat_b.get('p95'))} → {ms(lat_a.get('p95'))}", "num"),
                (
                    signed_percent(row.get("p95_change")),
                    "num bad" if row.get("latency_regressed") else "num",
                ),
                (
                    f"{percent(before.get('error_rate'))} → {percent(after.get('error_rate'))}",
                    "num",
                ),
                (
                    _points(row.get("error_rate_change")),
                    "num bad" if row.get("errors_regressed") else "num",
                ),
                (_p(row.get("error_p_value")), "num"),
            ]
        )
    header = ["", "requests", "p50 ms", "p95 ms", "p95 change", "error rate", "change", "p"]
    return table(header, cells, empty="nothing to compare")


def _change(show: Any, before: object, after: object) -> str:
    return f"{show(before)} → {show(after)}"


def _points(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    return f"{value * 100:+.2f} pts"


def _p(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    return f"{value:.2g}"


def _family_chart(families: Sequence[Mapping[str, Any]]) -> str:
    rows = [f for f in families if f.get("p95_change") is not None]
    if not rows:
        return ""
    rows.sort(key=lambda f: f["p95_change"])
    figure = go.Figure(
        go.Bar(
            x=[f["p95_change"] * 100 for f in rows],
            y=[label(f["name"]) for f in rows],
            orientation="h",
            marker={
                "color": ["#cf222e" if f.get("latency_regressed") else "#8c959f" for f in rows]
            },
            hovertemplate="%{y}: %{x:+.1f}%<extra>p95 change</extra>",
        )
    )
    figure.update_layout(
        title={"text": "p95 latency change per family, NEW vs BASE (red: regression)"},
        template="plotly_white",
        height=max(320, 140 + 22 * len(rows)),
        margin={"l": 60, "r": 40, "t": 60, "b": 50},
    )
    figure.update_xaxes(title_text="% change of p95", zeroline=True)
    figure.update_yaxes(automargin=True)
    return chart(figure, "chart-family-p95")


def _drift(drift: Mapping[str, Any]) -> str:
    if not drift.get("compared"):
        return missing("no input was answered in both runs, so answers could not be compared")
    parts = [
        f"<p><b>{number(drift.get('changed'))} of {number(drift.get('compared'))}</b> shared "
        f"inputs ({percent(drift.get('share'))}) got an answer in NEW that BASE never gave. "
        f"BASE's own inconsistency (inputs it answered more than once with different answers): "
        f"{percent(drift.get('base_inconsistency'))}; beyond it: "
        f"{percent(drift.get('excess'))}.</p>"
    ]
    by_family = [f for f in drift.get("by_family", []) if f.get("compared")]
    if by_family:
        figure = go.Figure(
            go.Bar(
                x=[label(f["family"]) for f in by_family],
                y=[f["share"] * 100 for f in by_family],
                customdata=[[f["changed"], f["compared"]] for f in by_family],
                hovertemplate="%{x}: %{y:.1f}% (%{customdata[0]} of %{customdata[1]})"
                "<extra></extra>",
            )
        )
        figure.update_layout(
            title={"text": "Share of inputs whose answer changed, per family"},
            template="plotly_white",
            height=380,
            margin={"l": 60, "r": 40, "t": 60, "b": 120},
        )
        figure.update_yaxes(title_text="% of inputs", rangemode="tozero")
        parts.append(chart(figure, "chart-drift"))
    rows = [
        [
            (text(e.get("input_id")), ""),
            (text(e.get("family")), ""),
            (text(e.get("base_output")), "body"),
            (text(e.get("new_output")), "body"),
        ]
        for e in drift.get("examples", [])
    ]
    if rows:
        parts.append("<h3>Examples</h3>")
        parts.append(table(["input", "family", "BASE answer", "NEW answer"], rows))
    return "".join(parts)


def _labels(labels: Mapping[str, Any]) -> str:
    before, after = labels.get("base", {}), labels.get("new", {})
    if labels.get("psi") is None:
        return missing(f"not compared: {labels.get('note') or 'no labels'}")
    names = sorted(set(before) | set(after))
    total_b, total_a = sum(before.values()) or 1, sum(after.values()) or 1
    figure = go.Figure(
        [
            go.Bar(
                x=[label(n) for n in names],
                y=[before.get(n, 0) / total_b * 100 for n in names],
                name="BASE",
            ),
            go.Bar(
                x=[label(n) for n in names],
                y=[after.get(n, 0) / total_a * 100 for n in names],
                name="NEW",
            ),
        ]
    )
    figure.update_layout(
        title={
            "text": f"{label(labels.get('source'))}: share of answers (PSI {labels['psi']:.3f})"
        },
        template="plotly_white",
        height=380,
        barmode="group",
        margin={"l": 60, "r": 40, "t": 60, "b": 80},
    )
    figure.update_yaxes(title_text="% of answers", rangemode="tozero")
    verdict = "shifted beyond the threshold" if labels.get("regressed") else "within the threshold"
    return f"<p>PSI {decimal(labels['psi'])}: {verdict}.</p>" + chart(figure, "chart-labels")


def _lengths(lengths: Mapping[str, Any]) -> str:
    if lengths.get("psi") is None:
        return missing("not compared: a run has no answered requests of shared inputs")
    before, after = lengths.get("base", {}), lengths.get("new", {})
    histogram = lengths.get("histogram", {})
    edges = histogram.get("edges", [])
    centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    figure = go.Figure(
        [
            go.Scatter(
                x=centres,
                y=[v * 100 for v in histogram.get("base", [])],
                name="BASE",
                line={"shape": "hvh"},
            ),
            go.Scatter(
                x=centres,
                y=[v * 100 for v in histogram.get("new", [])],
                name="NEW",
                line={"shape": "hvh", "dash": "dot"},
            ),
        ]
    )
    figure.update_layout(
        title={"text": f"Answer length ({label(lengths.get('source'))})"},
        template="plotly_white",
        height=380,
        margin={"l": 60, "r": 40, "t": 60, "b": 50},
    )
    figure.update_xaxes(title_text=label(lengths.get("source")))
    figure.update_yaxes(title_text="% of answers", rangemode="tozero")
    verdict = "shifted beyond the thresholds" if lengths.get("regressed") else "within thresholds"
    summary = (
        f"<p>median {decimal(before.get('p50'))} → {decimal(after.get('p50'))}, p90 "
        f"{decimal(before.get('p90'))} → {decimal(after.get('p90'))}; PSI "
        f"{decimal(lengths.get('psi'))}, KS D {decimal(lengths.get('ks_statistic'))} "
        f"(p = {_p(lengths.get('ks_p_value'))}): {verdict}.</p>"
    )
    return summary + chart(figure, "chart-lengths")


def _failures(failures: Mapping[str, Any], which: str, run_dir: str) -> str:
    items = failures.get(which, [])
    count = failures.get(f"{which}_count", 0)
    rows = [
        [
            (text(item.get("input_id")), ""),
            (text(item.get("family")), ""),
            (text(item.get("check")), ""),
            (f"{number(item.get('failed'))} of {number(item.get('sent'))}", "num"),
            (text(item.get("message")), ""),
            ("".join(command(c) for c in commands(run_dir, item.get("input_id"))[:2]), ""),
        ]
        for item in items
    ]
    intro = f"<p>{number(count)} (input, check) pairs"
    if which == "new":
        intro += (
            f" that failed in NEW and never in BASE; {number(failures.get('consistent_count'))}"
            " of them failed on every send (those count as a regression), the others are"
            f" intermittent. {number(failures.get('still_count'))} failed in both runs.</p>"
        )
    else:
        intro += " that failed in BASE and passed in NEW.</p>"
    if len(items) < count:
        intro += f"<p>The first {len(items)} are listed.</p>"
    header = ["input", "family", "check", "failed/sent", "message", "reproduce"]
    return intro + table(header, rows, empty="none")


def render_comparison_markdown(document: Mapping[str, Any]) -> str:
    regressed = bool(document.get("regressed"))
    base, new = document.get("base", {}), document.get("new", {})
    failures = document.get("failures", {})
    drift = document.get("drift", {})
    lines = [
        f"## {'❌ REGRESSED' if regressed else '✅ no regression'}: stress compare",
        "",
        f"BASE {code(base.get('run_dir'))} → NEW {code(new.get('run_dir'))}",
        "",
        escape(document.get("message")),
        "",
    ]
    if document.get("differences"):
        differences = document["differences"]
        lines += [
            "### Compared although the runs differ (--allow-different-runs)",
            "",
            *(f"- {escape(d)}" for d in differences),
            "",
        ]
    if document.get("reasons"):
        lines += ["### Regressions", "", *(f"- {escape(r)}" for r in document["reasons"]), ""]
    rows = [document.get("totals", {}), *document.get("phases", [])]
    lines += [
        "| | p95 ms BASE → NEW | change | error rate BASE → NEW |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        if not row:
            continue
        b, a = row["base"], row["new"]
        lines.append(
            f"| {escape(row['name'])} | {_md(b['latency_ms']['p95'])} → "
            f"{_md(a['latency_ms']['p95'])} | {signed_percent(row.get('p95_change'))} "
            f"| {percent(b.get('error_rate'))} → {percent(a.get('error_rate'))} |"
        )
    lines += [
        "",
        f"Answers changed on {drift.get('changed', 0)} of {drift.get('compared', 0)} shared "
        f"inputs; {failures.get('new_count', 0)} new and {failures.get('fixed_count', 0)} "
        "fixed failures.",
        "",
    ]
    for item in failures.get("new", [])[:5]:
        replay = commands(str(new.get("run_dir", "NEW")), item.get("input_id"))[0]
        lines.append(
            f"- new: {escape(item.get('check'))} on {escape(item.get('input_id'))}: {code(replay)}"
        )
    lines += [
        "",
        f"Details: {code(shlex.quote(str(new.get('run_dir', 'NEW'))) + '/' + layout.COMPARE_HTML)}",
    ]
    return "\n".join(lines) + "\n"


def _md(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    return f"{value:,.1f}"
