"""summary.md: the verdict in Markdown, ready for a CI job summary ($GITHUB_STEP_SUMMARY).

Short by design (CI summaries are read in a sidebar and GitHub caps them at 1 MiB): the
verdict, the totals, what failed, the phases, the families that failed, and the commands that
reproduce the first failures. Every string from the run is escaped so that an input quoting
Markdown or HTML (``|``, backticks, ``<script>``, links) shows as text and cannot break a table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from stress.report.coverage import selection_label
from stress.report.findings import commands, gravest, listed
from stress.report.markup import HIDDEN, decimal, ms, percent, seconds
from stress.rundir import layout
from stress.rundir.write import write_text

# Families listed in the failing-families table; the report has them all.
MAX_FAMILIES = 15
MAX_REPRO = 5
# Characters that start Markdown markup inside a line (list and heading markers only matter
# at the start of a line, where the escaped text never is); < and & become entities.
_SPECIAL = re.compile(r"([\\`*_\[\]|~>])")


def write_markdown(
    summary: Mapping[str, Any], path: Path, failures: Sequence[Mapping[str, Any]] = ()
) -> None:
    write_text(path, render_markdown(summary, failures))


def render_markdown(summary: Mapping[str, Any], failures: Sequence[Mapping[str, Any]] = ()) -> str:
    """summary.md for ``summary``; ``failures`` are the report's top failures, in order."""
    passed = bool(summary.get("passed"))
    totals = summary.get("totals", {})
    latency = totals.get("latency_ms", {})
    run_dir = str(summary.get("run_dir", "RUN_DIR"))
    lines = [
        f"## {'✅' if passed else '❌'} stress: {escape(summary.get('scenario'))} "
        f"{'PASSED' if passed else 'FAILED'}"
        + (" (INCOMPLETE)" if summary.get("incomplete") else ""),
        "",
        *([f"**{escape(summary.get('incomplete'))}**", ""] if summary.get("incomplete") else []),
        escape(summary.get("message")),
        "",
        "| requests | failed | error rate | p50 ms | p95 ms | p99 ms | duration |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {_n(totals.get('requests'))} | {_n(totals.get('failed'))} "
        f"| {_pct(totals.get('error_rate'))} | {_ms(latency.get('p50'))} "
        f"| {_ms(latency.get('p95'))} | {_ms(latency.get('p99'))} "
        f"| {_s(totals.get('duration_s'))} |",
        "",
        *_coverage(summary.get("coverage")),
    ]
    failed = [c for c in summary.get("checks", []) if not c.get("passed")]
    if failed:
        lines += ["### What failed", ""]
        for check in failed:
            phase = f" (phase {escape(check['phase'])})" if check.get("phase") else ""
            lines.append(
                f"- **{escape(check.get('name'))}**{phase}: {escape(check.get('message'))}"
            )
        lines.append("")
    lines += _phases(summary.get("phases", []))
    lines += _goodput(summary.get("goodput", []))
    lines += _families(summary.get("families", []))
    lines += _repro(failures, run_dir)
    comparison = summary.get("comparison")
    if comparison:
        verdict = "REGRESSED" if comparison.get("regressed") else "no regression"
        lines += [
            "### Compared with the previous run",
            "",
            f"**{verdict}** against {code(comparison.get('base_run'))}: "
            f"{escape(comparison.get('message'))}",
            "",
        ]
    notes = summary.get("notes") or []
    if notes:
        lines += ["### Notes", "", *(f"- {escape(note)}" for note in notes), ""]
    lines += [
        f"Full report: {code(run_dir.rstrip('/') + '/' + layout.REPORT)} "
        "(self-contained, opens offline).",
        "",
    ]
    return "\n".join(lines)


def _phases(phases: Iterable[Mapping[str, Any]]) -> list[str]:
    rows = [
        f"| {escape(p.get('name'))}{_status(p.get('status'))} | {_n(p.get('users'))} "
        f"| {_n(p.get('requests'))} "
        f"| {_dec(p.get('rps'))} | {_pct(p.get('error_rate'))} "
        f"| {_ms(p.get('latency_ms', {}).get('p50'))} | {_ms(p.get('latency_ms', {}).get('p95'))} "
        f"| {_ms(p.get('latency_ms', {}).get('p99'))} |"
        for p in phases
    ]
    if not rows:
        return []
    return [
        "### Phases",
        "",
        "| phase | users | requests | req/s | error rate | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]


def _status(status: object) -> str:
    """A phase that did not run to its end: " (not run)", " (stopped early)"."""
    return f" ({escape(status)})" if isinstance(status, str) and status != "ran" else ""


def _goodput(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Good requests per phase and SLO family (slo.per_request), judged where slo.goodput is."""
    lines = []
    for row in rows:
        where = row.get("phase") if row.get("family") is None else f"family {row.get('family')}"
        judged = row.get("passed")
        verdict = "not judged" if judged is None else ("✅" if judged else "❌")
        lines.append(
            f"| {escape(where)} | {_n(row.get('good'))} of {_n(row.get('requests'))} "
            f"| {_pct(row.get('share'))} | {_pct(row.get('limit'))} "
            f"| {_dec(row.get('goodput_rps'))} | {verdict} |"
        )
    if not lines:
        return []
    return [
        "### Good requests",
        "",
        "| goodput of | good requests | share good | least share | goodput req/s | verdict |",
        "|---|---:|---:|---:|---:|---|",
        *lines,
        "",
    ]


def _families(families: Iterable[Mapping[str, Any]]) -> list[str]:
    failing = sorted(
        (f for f in families if f.get("failed")),
        key=lambda f: (-(f.get("failed") or 0), str(f.get("name"))),
    )
    if not failing:
        return []
    rows = [
        f"| {escape(f.get('name'))} | {_n(f.get('requests'))} | {_n(f.get('failed'))} "
        f"| {_pct(f.get('error_rate'))} "
        f"| {escape(', '.join(f'{k}: {v}' for k, v in f.get('checks', {}).items()))} |"
        for f in failing[:MAX_FAMILIES]
    ]
    more = len(failing) - MAX_FAMILIES
    return [
        "### Input families with failures",
        "",
        "| family | requests | failed | error rate | failed checks |",
        "|---|---:|---:|---:|---|",
        *rows,
        *(["", f"and {more} more families; see report.html"] if more > 0 else []),
        "",
    ]


def _coverage(coverage: Mapping[str, Any] | None) -> list[str]:
    """Coverage: inputs sent of generated, and each family selection that did not fully run."""
    if not coverage:
        return []
    partial = [
        selection_label(s)
        for s in coverage.get("selections", [])
        if s.get("ran") != s.get("matching")
    ]
    lines = [f"Coverage: {escape(coverage.get('message'))}."]
    if partial:
        lines[0] += " Families: " + "; ".join(escape(label) for label in partial) + "."
    return [*lines, ""]


def _repro(failures: Sequence[Mapping[str, Any]], run_dir: str) -> list[str]:
    shown = [f for f in listed(failures) if isinstance(f.get("input_id"), str)][:MAX_REPRO]
    if not shown:
        return []
    lines = ["### Reproduce", ""]
    for item in shown:
        replay, curl, _shrink = commands(run_dir, item["input_id"])
        lines.append(
            f"- {escape(gravest(item).get('check'))} on {escape(item.get('family'))}: "
            f"{code(replay)} · {code(curl)}"
        )
    lines.append("")
    return lines


def escape(value: object) -> str:
    """``value`` as inline Markdown text: one line, markup and HTML shown literally."""
    if value is None:
        return ""
    raw = HIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value))
    raw = " ".join(raw.split())
    raw = raw.replace("&", "&amp;").replace("<", "&lt;")
    return _SPECIAL.sub(r"\\\1", raw)


def code(value: object) -> str:
    """``value`` as an inline code span (its fence longer than any backtick run inside)."""
    raw = " ".join(HIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value or "")).split())
    longest = max((len(run) for run in re.findall(r"`+", raw)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if raw.startswith("`") or raw.endswith("`") else ""
    return f"{fence}{pad}{raw}{pad}{fence}"


def _when(value: object, fmt: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    return fmt.format(value)


def _n(value: object) -> str:
    return _when(value, "{:,.0f}")


# Numbers rounded for people, as in report.html (markup.rounded: 1,500 · 95.2 · 0.75%).
_ms = ms
_dec = decimal
_s = seconds
_pct = percent
