"""report.html: one self-contained page (plotly.js inlined, nothing fetched) for a run.

Every string that came from an input, an answer or the run directory goes through ``_text``:
html.escape, plus characters that hide or reorder text on screen (NUL and other controls,
bidi overrides, zero-width and tag characters, lone surrogates) shown as visible ``\\uXXXX``
codes, since a report that renders an attack input faithfully is itself an attack surface.
"""

from __future__ import annotations

import base64
import binascii
import html
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from stress.report import charts
from stress.rundir import iter_failures, load_records

# The failures table shows the first stored failures; failures.jsonl has them all.
MAX_FAILURES = 50
# Characters of a request or response body shown per failure.
EXCERPT_CHARS = 300

# C0/C1 controls except tab and newline, soft hyphen, Arabic letter mark, zero-width and
# bidi controls, line/paragraph separators, invisible operators, BOM, interlinear
# annotations, noncharacters, lone surrogates and Unicode tag characters.
_HIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff\U000e0000-\U000e007f]"
)

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1400px;
       padding: 0 24px 48px; color: #1f2328; }
h2 { margin-top: 36px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.verdict { padding: 16px 24px; margin: 16px 0; border-radius: 6px; color: white; }
.verdict h1 { margin: 0 0 4px; font-size: 28px; }
.verdict p { margin: 4px 0; }
.passed { background: #1a7f37; }
.failed { background: #cf222e; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.bad { color: #cf222e; font-weight: 600; }
td.good { color: #1a7f37; }
td.warn { color: #9a6700; }
.body { font-family: ui-monospace, monospace; font-size: 12px; white-space: pre-wrap;
        word-break: break-all; max-width: 420px; }
.ctl { background: #fff8c5; color: #9a6700; border-radius: 3px; padding: 0 1px; }
.chart { margin: 12px 0 24px; }
.notes { background: #fff8c5; padding: 8px 24px; border-radius: 6px; }
"""

Cell = tuple[str, str]  # (html, css class)


def write_html(
    run_dir: Path,
    summary: Mapping[str, Any],
    path: Path,
    *,
    records: pd.DataFrame | None = None,
) -> None:
    """Write report.html for ``run_dir`` to ``path``.

    ``summary`` is build_summary's result. ``records`` (with charts.COLUMNS) saves reading
    the records again when the caller already has them; raises RunDirError when unreadable.
    """
    if records is None:
        records = load_records(run_dir, charts.COLUMNS)
    failures = list(itertools.islice(iter_failures(run_dir), MAX_FAILURES))
    path.write_text(render(summary, records, failures), encoding="utf-8")


def render(
    summary: Mapping[str, Any], records: pd.DataFrame, failures: Sequence[Mapping[str, Any]]
) -> str:
    """The page as a string (see write_html)."""
    passed = bool(summary.get("passed"))
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>stress: {_text(summary.get('scenario'))} "
        f"{'PASSED' if passed else 'FAILED'}</title>",
        f"<style>{_CSS}</style>",
        # plotly.js once, inline: the report must open offline and from an archive years on.
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>",
        f'<script charset="utf-8">{get_plotlyjs()}</script>',
        "</head><body>",
        _banner(summary),
        "<h2>Service-level objectives</h2>",
        _slo_table(summary.get("slo", [])),
        "<h2>Checks</h2>",
        _checks_table([c for c in summary.get("checks", []) if c.get("kind") != "slo"]),
        "<h2>Phases</h2>",
        _phases_table(summary.get("phases", [])),
        *_load_sections(summary),
        "<h2>Input families</h2>",
        _families_table(summary.get("families", [])),
        "<h2>Charts</h2>",
        *_charts(records, summary.get("totals", {})),
        f"<h2>Top failures (first {len(failures)} of "
        f"{_number(summary.get('failures', {}).get('stored'))} stored)</h2>",
        _failures_table(failures),
        "</body></html>",
    ]
    return "\n".join(parts)


def _text(value: object) -> str:
    """``value`` as HTML text: escaped, with hidden characters shown as codes."""
    if value is None:
        return ""
    text = str(value)
    out = []
    last = 0
    for match in _HIDDEN.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        code = ord(match.group())
        shown = f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
        out.append(f'<span class="ctl">{shown}</span>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _banner(summary: Mapping[str, Any]) -> str:
    passed = bool(summary.get("passed"))
    totals = summary.get("totals", {})
    facts = [
        f"scenario <b>{_text(summary.get('scenario'))}</b>",
        f"target {_text(summary.get('target'))} ({_text(summary.get('protocol'))})",
        f"duration {_seconds(totals.get('duration_s'))}",
        f"{_number(totals.get('requests'))} requests",
        f"{_number(totals.get('failed'))} failed ({_percent(totals.get('error_rate'))})",
        f"started {_text(summary.get('started_at') or 'unknown')}",
    ]
    notes = summary.get("notes") or []
    note_html = (
        '<div class="notes"><ul>' + "".join(f"<li>{_text(n)}</li>" for n in notes) + "</ul></div>"
        if notes
        else ""
    )
    return (
        f'<header class="verdict {"passed" if passed else "failed"}">'
        f"<h1>{'PASSED' if passed else 'FAILED'}</h1>"
        f"<p>{' · '.join(facts)}</p>"
        f"<p>{_text(summary.get('message'))}</p></header>{note_html}"
    )


def _slo_table(results: Iterable[Mapping[str, Any]]) -> str:
    rows = []
    for result in results:
        metric = result.get("metric")
        show = _percent if metric == "error_rate" else _ms
        rows.append(
            [
                (_text(result.get("phase")), ""),
                (_text(metric), ""),
                (show(result.get("limit")), "num"),
                (show(result.get("actual")), "num"),
                _verdict(bool(result.get("passed"))),
                (_text(result.get("message")), ""),
            ]
        )
    header = ["phase", "metric", "limit", "actual", "verdict", "message"]
    return _table(header, rows, empty="no SLOs configured (slo.error_rate and slo.p95_ms unset)")


def _checks_table(checks: Iterable[Mapping[str, Any]]) -> str:
    rows = []
    for check in checks:
        warnings = int(check.get("warnings") or 0)
        rows.append(
            [
                (_text(check.get("name")), ""),
                (_number(check.get("errors")), "num"),
                (_number(warnings), "num warn" if warnings else "num"),
                _verdict(bool(check.get("passed"))),
                (_text(check.get("message")), ""),
            ]
        )
    return _table(["check", "errors", "warnings", "verdict", "message"], rows)


def _phases_table(phases: Iterable[Mapping[str, Any]]) -> str:
    rows = []
    for phase in phases:
        latency = phase.get("latency_ms", {})
        rows.append(
            [
                (_text(phase.get("name")), ""),
                (_number(phase.get("users")), "num"),
                (_number(phase.get("requests")), "num"),
                (_seconds(phase.get("duration_s")), "num"),
                (_float(phase.get("rps")), "num"),
                (_percent(phase.get("error_rate")), "num"),
                *((_ms(latency.get(q)), "num") for q in ("p50", "p90", "p95", "p99", "max")),
                (_counts(phase.get("error_kinds", {})), ""),
                (_counts(phase.get("status_classes", {})), ""),
            ]
        )
    header = ["phase", "users", "requests", "duration", "req/s", "error rate"]
    header += ["p50 ms", "p90 ms", "p95 ms", "p99 ms", "max ms", "error kinds", "status"]
    return _table(header, rows)


def _load_sections(summary: Mapping[str, Any]) -> list[str]:
    """The sweep (when the scenario has one), the tester's own load and the workers."""
    parts = []
    sweep = summary.get("sweep")
    if isinstance(sweep, Mapping):
        rows = []
        for step in sweep.get("steps", []):
            rows.append(
                [
                    (_number((step.get("step") or 0) + 1), "num"),
                    (_float(step.get("offered_rps")), "num"),
                    (_number(step.get("users")), "num"),
                    (_seconds(step.get("duration_s")), "num"),
                    (_number(step.get("requests")), "num"),
                    (_float(step.get("achieved_rps")), "num"),
                    (_float(step.get("goodput")), "num"),
                    *((_ms(step.get(q)), "num") for q in ("p50", "p95", "p99")),
                    (_percent(step.get("error_rate")), "num"),
                    (_number(step.get("late")), "num"),
                    _verdict(bool(step.get("passed"))),
                    (_text("; ".join(step.get("reasons") or [])), ""),
                ]
            )
        header = ["step", "offered req/s", "users", "duration", "requests", "achieved req/s"]
        header += ["goodput req/s", "p50 ms", "p95 ms", "p99 ms", "error rate", "late"]
        header += ["verdict", "why"]
        limits = ", ".join(f"{k} {v}" for k, v in (sweep.get("limits") or {}).items())
        parts += [
            f"<h2>Sweep: {_text(sweep.get('phase'))}</h2>",
            f"<p><b>{_text(sweep.get('message'))}</b></p>",
            f"<p>limits: {_text(limits)} · max sustainable: "
            f"{_float(sweep.get('max_sustainable_rps'))} req/s"
            + (
                f" ({_number(sweep.get('max_sustainable_users'))} users)"
                if sweep.get("variable") == "users"
                else ""
            )
            + f" · latency bends after: {_float(sweep.get('knee_rps'))} req/s</p>",
            _table(header, rows, empty="no sweep step ran"),
        ]
    tester = summary.get("tester")
    if isinstance(tester, Mapping):
        rows = [
            [
                (_text(process.get("process")), ""),
                (_float(process.get("cpu_mean")), "num"),
                (_float(process.get("cpu_max")), "num"),
                (_ms(process.get("lag_max_ms")), "num"),
                (
                    _seconds(process.get("saturated_s")),
                    "num bad" if process.get("saturated_s") else "num",
                ),
            ]
            for process in tester.get("processes", [])
        ]
        css = "notes" if tester.get("saturated") else ""
        parts += [
            "<h2>Tester</h2>",
            f'<p class="{css}">{_text(tester.get("message"))}</p>',
            _table(
                ["process", "CPU % mean", "CPU % max", "event-loop lag max ms", "saturated"],
                rows,
                empty="no samples",
            ),
        ]
    load = summary.get("load")
    workers = load.get("workers", []) if isinstance(load, Mapping) else []
    if isinstance(load, Mapping) and load.get("mode") == "distributed":
        rows = [
            [
                (_number(w.get("worker")), "num"),
                (_text(w.get("host")), ""),
                (_number(w.get("pid")), "num"),
                (_number(w.get("records")), "num"),
                ("lost", "bad") if w.get("lost") else ("ok", "good"),
            ]
            for w in workers
        ]
        parts += [
            "<h2>Workers</h2>",
            _table(["worker", "host", "pid", "records", "state"], rows, empty="no workers"),
        ]
    return parts


def _families_table(families: Iterable[Mapping[str, Any]]) -> str:
    rows = []
    for family in families:
        latency = family.get("latency_ms", {})
        rows.append(
            [
                (_text(family.get("name")), ""),
                (_text(family.get("expect")), ""),
                (_number(family.get("requests")), "num"),
                (_number(family.get("failed")), "num bad" if family.get("failed") else "num"),
                (_percent(family.get("error_rate")), "num"),
                *((_ms(latency.get(q)), "num") for q in ("p50", "p95", "p99")),
                (_counts(family.get("checks", {})), ""),
                (_counts(family.get("check_warnings", {})), ""),
            ]
        )
    header = ["family", "expect", "requests", "failed", "error rate", "p50 ms", "p95 ms"]
    header += ["p99 ms", "failed checks", "warnings"]
    return _table(header, rows)


def _charts(records: pd.DataFrame, totals: Mapping[str, Any]) -> list[str]:
    config = {"displaylogo": False, "responsive": True}
    return [
        '<div class="chart">'
        + pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=False,
            config=config,
            default_height="380px",
            # Fixed ids keep two reports of the same run byte-identical.
            div_id=f"chart-{number}",
        )
        + "</div>"
        for number, figure in enumerate(charts.figures(records, totals))
    ]


def _failures_table(failures: Iterable[Mapping[str, Any]]) -> str:
    rows = []
    for number, item in enumerate(failures, 1):
        request = _mapping(item.get("request"))
        response = _mapping(item.get("response"))
        checks, messages = _findings(item)
        rows.append(
            [
                (_number(number), "num"),
                (_text(item.get("input_id")), ""),
                (_text(item.get("family")), ""),
                (_text(item.get("phase")), ""),
                (checks, ""),
                (messages, ""),
                (_text(_status(response)), ""),
                (_text(_excerpt(_request_body(request))), "body"),
                (_text(_excerpt(response.get("body_excerpt"))), "body"),
            ]
        )
    header = ["#", "input", "family", "phase", "check", "message", "status"]
    header += ["request body", "response body"]
    return _table(header, rows, empty="no failures stored")


def _findings(item: Mapping[str, Any]) -> tuple[str, str]:
    """The failure's checks (warnings marked) and messages, one line each, as HTML."""
    findings = [f for f in item.get("findings") or [] if isinstance(f, Mapping)]
    if not findings:
        return _text(item.get("check")), _text(item.get("message"))
    checks = [
        _text(f.get("check")) + (" (warning)" if f.get("severity") == "warning" else "")
        for f in findings
    ]
    return "<br>".join(checks), "<br>".join(_text(f.get("message")) for f in findings)


def _status(response: Mapping[str, Any]) -> str:
    status, kind = response.get("status"), response.get("error_kind")
    if not status:
        return f"no answer ({kind})" if kind else "no answer"
    return f"{status} ({kind})" if kind else str(status)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _request_body(request: Mapping[str, Any]) -> str | None:
    if isinstance(request.get("body"), str):
        return str(request["body"])
    encoded = request.get("body_b64")
    if not isinstance(encoded, str):
        return None
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return "(body_b64 is not valid base64)"
    # Not UTF-8, so show the bytes: \xNN for each one that is not.
    return raw.decode("utf-8", "backslashreplace")


def _excerpt(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= EXCERPT_CHARS else f"{text[:EXCERPT_CHARS]}… ({len(text)} chars)"


def _table(header: Sequence[str], rows: Sequence[Sequence[Cell]], *, empty: str = "none") -> str:
    if not rows:
        return f"<p><i>{_text(empty)}</i></p>"
    head = "".join(f"<th>{_text(name)}</th>" for name in header)
    body = "".join(
        "<tr>" + "".join(_cell(content, css) for content, css in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(content: str, css: str) -> str:
    return f'<td class="{css}">{content}</td>' if css else f"<td>{content}</td>"


def _verdict(passed: bool) -> Cell:
    return ("passed", "good") if passed else ("FAILED", "bad")


def _counts(counts: Mapping[str, Any]) -> str:
    return ", ".join(f"{_text(key)}: {_number(n)}" for key, n in counts.items())


def _when_number(format_: Callable[[float], str]) -> Callable[[object], str]:
    def show(value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "–"
        return format_(float(value))

    return show


_ms = _when_number(lambda v: f"{v:,.2f}")
_seconds = _when_number(lambda v: f"{v:,.1f} s")
_percent = _when_number(lambda v: f"{v * 100:.4g}%")
_float = _when_number(lambda v: f"{v:,.2f}")
_number = _when_number(lambda v: f"{v:,.0f}")
