"""report.html: one self-contained page (plotly.js inlined, nothing fetched) for a run.

It answers, in page order: did it pass (verdict banner), what broke (the findings: errors
first, warnings collapsed, with the commands that reproduce each), the SLOs and checks, which
input families broke (a heatmap of the families with findings; all of them one click away),
at what load (latency with its SLO line, throughput and errors over time with phase
boundaries, latency vs concurrency), then degradation, invariance, streaming and the
comparison when the run measured them, and what was run. Sections the run did not measure
are one list at the end, not empty charts. Tables sort by a click on a column and filter by
typed text (a small inline script, markup.SCRIPT).

Every string that came from an input, an answer or the run directory goes through
markup.text (page) or markup.label (charts); see stress.report.markup.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from stress.report import breakdowns, charts, costs, streaming
from stress.report.coverage import selection_label
from stress.report.findings import MAX_FAILURES as MAX_FAILURES
from stress.report.findings import commands as commands
from stress.report.findings import excerpt, findings_section
from stress.report.findings import top_failures as top_failures
from stress.report.load_tables import load_sections, phase_line, phases_table
from stress.report.markup import (
    chart,
    command,
    counts,
    decimal,
    details,
    facts,
    missing,
    ms,
    number,
    page,
    percent,
    seconds,
    table,
    text,
    verdict,
)
from stress.report.status import NOT_RUN
from stress.report.target_metrics import section as target_metrics_section
from stress.rundir import layout
from stress.rundir.read import iter_failures, load_records, report_columns
from stress.rundir.write import write_text

SECTIONS = (
    ("failures", "Findings"),
    ("slo", "Service-level objectives"),
    ("checks", "Checks"),
    ("families", "What failed, by input family"),
    ("load", "Latency and throughput under load"),
    ("family-latency", "Latency by input family"),
    ("degradation", "Output degradation under load"),
    ("invariance", "Invariance under perturbation"),
    ("streaming", "Streaming: time to first token, inter-token latency, tokens/s"),
    ("comparison", "Compared with a previous run"),
    ("run", "What was run"),
    ("not-measured", "Not measured in this run"),
)
NOT_MEASURED = "not measured in this run"
# Sections shown only when the run measured them, and what the page says otherwise.
OPTIONAL = {
    "degradation": "no degradation.json in the run directory (the check that compares answers "
    "under load with the baseline phase did not run)",
    "invariance": "no invariance.json in the run directory (no perturbation families were "
    "checked against their seed inputs)",
    "streaming": "not a streaming run (no request has a time to first token or inter-token "
    "latency)",
}
# The families table starts open when it is this short.
OPEN_FAMILIES = 15
# Latency by input family plots this many (the highest p95) before the full chart.
SLOWEST = 20

# Backwards-compatible name for the escaping function.
_text = text


def write_html(
    run_dir: Path,
    summary: Mapping[str, Any],
    path: Path,
    *,
    records: pd.DataFrame | None = None,
    failures: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Write report.html for ``run_dir`` to ``path``.

    ``summary`` is build_summary's result. ``records`` (with charts.COLUMNS and the streaming
    columns) saves reading the records again when the caller already has them; raises
    RunDirError when unreadable. ``failures`` (top_failures' result) saves reading them.
    """
    if records is None:
        records = load_records(run_dir, [c for c in report_columns() if c != "input_id"])
    if failures is None:
        failures = top_failures(iter_failures(run_dir), summary)
    series = ((summary.get("setup") or {}).get("target_metrics") or {}).get("series") or []
    target = target_metrics_section(run_dir, records, series)
    write_text(path, render(summary, records, failures, target_metrics=target))


def render(
    summary: Mapping[str, Any],
    records: pd.DataFrame,
    failures: Sequence[Mapping[str, Any]],
    *,
    target_metrics: str = "",
) -> str:
    """The page as a string (see write_html); ``target_metrics`` is the target's own
    metrics beside latency (stress.report.target_metrics), when the run scraped them."""
    passed = bool(summary.get("passed"))
    title = f"stress: {summary.get('scenario')} {'PASSED' if passed else 'FAILED'}"
    families = list(summary.get("families", []))
    checks = list(summary.get("checks", []))
    stored = summary.get("failures", {}).get("stored")
    run_dir = str(summary.get("run_dir", "RUN_DIR"))
    slo = (summary.get("setup") or {}).get("slo")
    figures = charts.figures(records, summary.get("totals", {}), slo)
    shown = _measured(summary, records)
    body = [
        _heading("failures", f" (first {len(failures)} of {number(stored)} stored)"),
        findings_section(failures, run_dir),
        _heading("slo"),
        _slo_table(summary.get("slo", []), bool(summary.get("goodput"))),
        _goodput_table(summary.get("goodput", [])),
        _heading("checks"),
        _checks_table([c for c in checks if c.get("kind") != "slo"]),
        _heading("families"),
        _heatmap(families, checks),
        _families_table(families),
        _heading("load"),
        chart(figures[0], "chart-latency"),
        target_metrics,
        chart(figures[1], "chart-throughput"),
        chart(figures[2], "chart-errors"),
        _concurrency(summary.get("concurrency", []), summary.get("totals", {})),
        chart(figures[3], "chart-histogram"),
        _tokens_rate(summary.get("streaming"), "streaming" in shown),
        "<h3>Phases</h3>",
        phases_table(summary.get("phases", [])),
        *load_sections(summary),
        _heading("family-latency"),
        _family_latency(families),
        costs.html_section(summary.get("cost_growth")),
    ]
    if "degradation" in shown:
        body += [_heading("degradation"), _degradation(summary["degradation"])]
    if "invariance" in shown:
        body += [_heading("invariance"), _invariance(summary["invariance"])]
    if "streaming" in shown:
        body += [_heading("streaming"), _streaming(summary["streaming"], records)]
    if "comparison" in shown:
        body += [_heading("comparison"), _comparison(summary["comparison"])]
    body += [_heading("run"), _setup(summary)]
    absent = [key for key in (*OPTIONAL, "comparison") if key not in shown]
    body += [_heading("not-measured"), _not_measured(absent, run_dir)]
    keys = [key for key, _ in SECTIONS if key in shown or key not in (*OPTIONAL, "comparison")]
    return page(title, [_banner(summary), _nav(keys), *body])


def _measured(summary: Mapping[str, Any], records: pd.DataFrame) -> set[str]:
    """The optional sections this run has data for."""
    shown = set()
    degradation, invariance = summary.get("degradation"), summary.get("invariance")
    if isinstance(degradation, Mapping) and degradation.get("points"):
        shown.add("degradation")
    if isinstance(invariance, Mapping) and invariance.get("kinds"):
        shown.add("invariance")
    stats = summary.get("streaming")
    if isinstance(stats, Mapping) and (stats.get(streaming.TTFT) or stats.get(streaming.ITL)):
        shown.add("streaming")
    if summary.get("comparison"):
        shown.add("comparison")
    return shown


def _not_measured(absent: Sequence[str], run_dir: str) -> str:
    reasons = dict(OPTIONAL)
    reasons["comparison"] = (
        "no comparison in this run directory; compare it with an earlier run of the same "
        f"scenario: stress compare BASE_RUN {shlex.quote(run_dir)}"
    )
    items = "".join(
        f"<li><b>{text(dict(SECTIONS)[key])}</b>: {text(reasons[key])}</li>" for key in absent
    )
    return f'<ul class="missing">{items}</ul>' if items else "<p>every section was measured</p>"


def _tokens_rate(stats: Mapping[str, Any] | None, streamed: bool) -> str:
    """Output tokens/s of a run that did not stream (a streaming run has its own section)."""
    rates = stats.get(streaming.TOKENS_PER_S) if isinstance(stats, Mapping) else None
    if streamed or not rates:
        return ""
    return (
        "<p>output tokens per second (tokens over the whole answer time): "
        + ", ".join(f"{q} {decimal(rates.get(q))}" for q in ("p1", "p10", "p50", "p90"))
        + " (the low percentiles are the slow tail)</p>"
    )


def _heading(key: str, suffix: str = "") -> str:
    name = dict(SECTIONS)[key]
    return f'<h2 id="{key}">{text(name)}{text(suffix)}</h2>'


def _nav(keys: Sequence[str]) -> str:
    names = dict(SECTIONS)
    links = "".join(f'<a href="#{key}">{text(names[key])}</a>' for key in keys)
    return f"<nav>{links}</nav>"


def _banner(summary: Mapping[str, Any]) -> str:
    passed = bool(summary.get("passed"))
    totals = summary.get("totals", {})
    items = [
        f"scenario <b>{text(summary.get('scenario'))}</b>",
        f"target {text(summary.get('target'))} ({text(summary.get('protocol'))})",
        f"duration {seconds(totals.get('duration_s'))}",
        f"{number(totals.get('requests'))} requests",
        f"{number(totals.get('failed'))} failed ({percent(totals.get('error_rate'))})",
        f"p95 {ms(totals.get('latency_ms', {}).get('p95'))} ms",
        f"started {text(summary.get('started_at') or 'unknown')}",
    ]
    notes = summary.get("notes") or []
    note_html = (
        '<div class="notes"><ul>' + "".join(f"<li>{text(n)}</li>" for n in notes) + "</ul></div>"
        if notes
        else ""
    )
    return (
        f'<header class="verdict {"passed" if passed else "failed"}">'
        f"<h1>{'PASSED' if passed else 'FAILED'}{_incomplete(summary)}</h1>"
        f"<p>{' · '.join(items)}</p>"
        f"<p>{text(summary.get('message'))}</p></header>{note_html}"
    )


def _incomplete(summary: Mapping[str, Any]) -> str:
    """ " · INCOMPLETE (interrupted)" / "(killed)" after the verdict of a run cut short."""
    why = summary.get("incomplete")
    if not why:
        return ""
    # report.status.incomplete: "INCOMPLETE: interrupted by SIGINT; ...", "INCOMPLETE:
    # killed: ...", "INCOMPLETE: target unreachable: ...": the cause before its details.
    how = str(why).removeprefix("INCOMPLETE: ").split(":", 1)[0].split(";", 1)[0]
    how = "interrupted" if how.startswith("interrupted by") else how
    return f" · INCOMPLETE ({text(how)})"


def _setup(summary: Mapping[str, Any]) -> str:
    setup = summary.get("setup") or {}
    run_dir = str(summary.get("run_dir", "RUN_DIR"))
    phases = "<br>".join(phase_line(p) for p in setup.get("phases", []))
    weights = setup.get("families", {})
    total = sum(float(w) for w in weights.values()) or 1.0
    coverage = summary.get("coverage") or {}
    families = ", ".join(
        [text(selection_label(s)) for s in coverage.get("selections", [])]
        or [f"{text(name)} ({float(w) / total * 100:.0f}%)" for name, w in weights.items()]
    )
    sent = f"; {text(coverage['message'])}" if coverage.get("message") else ""
    slo = setup.get("slo", {})
    limits = [_limits(slo)] if _limits(slo) else []
    for phase, override in (slo.get("phases") or {}).items():
        limits.append(f"phase {text(phase)}: {_limits(override)}")
    scenario_file = f"{run_dir.rstrip('/')}/{layout.SCENARIO}"
    rows = [
        ("scenario", f"<b>{text(summary.get('scenario'))}</b> {text(setup.get('description'))}"),
        ("target", f"{text(summary.get('target'))} → {text(setup.get('url') or '')}"),
        (
            "protocol",
            f"{text(summary.get('protocol'))}, model {text(setup.get('model'))}, "
            f"{'streaming' if setup.get('stream') else 'not streaming'}, "
            f"timeout {seconds(setup.get('timeout_s'))}",
        ),
        (
            "inputs",
            f"{number(setup.get('inputs'))} inputs from seed {text(setup.get('seed'))}: "
            f"{families}{sent}",
        ),
        *_log_row(summary.get("from_log")),
        ("load phases", phases),
        ("checks", ", ".join(text(c) for c in setup.get("checks", []))),
        ("SLOs", "; ".join(limit for limit in limits if limit) or "none"),
        (
            "when",
            f"started {text(summary.get('started_at') or 'unknown')}, finished "
            f"{text(summary.get('finished_at') or 'not recorded')}"
            + ("" if summary.get("complete") else " (the run did not finish normally)"),
        ),
        ("run directory", f"{text(run_dir)} (stress {text(setup.get('stress_version'))})"),
        (
            "run it again",
            command(f"stress run {shlex.quote(scenario_file)}")
            + command(f"stress report {shlex.quote(run_dir)}"),
        ),
    ]
    return facts(rows)


def _log_row(log: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The "logged requests" row: what inputs.from_log gave (stress.logs)."""
    if not log:
        return []
    from stress.logs.report import describe

    return [("logged requests", f"{text(log.get('path'))}: {text(describe(log))}")]


def _limits(slo: Mapping[str, Any]) -> str:
    parts = []
    if slo.get("error_rate") is not None:
        parts.append(f"error rate ≤ {percent(slo.get('error_rate'))}")
    if slo.get("p95_ms") is not None:
        parts.append(f"p95 ≤ {ms(slo.get('p95_ms'))} ms")
    return ", ".join(parts)


def _slo_table(results: Iterable[Mapping[str, Any]], goodput: bool = False) -> str:
    rows = []
    for result in results:
        metric = result.get("metric")
        if metric == "goodput":
            continue  # a row of the goodput table

        show = percent if metric == "error_rate" else ms
        rows.append(
            [
                (text(result.get("phase")), ""),
                (text(metric), ""),
                (show(result.get("limit")), "num"),
                (show(result.get("actual")), "num"),
                (NOT_RUN, "")
                if result.get("status") == NOT_RUN
                else verdict(bool(result.get("passed"))),
                (text(result.get("message")), ""),
            ]
        )
    header = ["phase", "metric", "limit", "actual", "verdict", "message"]
    if not rows and goodput:
        return ""
    return table(header, rows, empty="no SLOs configured (slo.error_rate and slo.p95_ms unset)")


def _goodput_table(rows: Iterable[Mapping[str, Any]]) -> str:
    """Good requests per phase and SLO family (slo.per_request), judged where slo.goodput is."""
    cells = []
    for row in rows:
        judged = row.get("passed")
        where = row.get("phase") if row.get("family") is None else f"family {row.get('family')}"
        cells.append(
            [
                (text(where), ""),
                (f"{number(row.get('good'))} of {number(row.get('requests'))}", "num"),
                (percent(row.get("share")), "num"),
                (percent(row.get("limit")) if judged is not None else "not judged", "num"),
                (decimal(row.get("goodput_rps")), "num"),
                verdict(bool(judged)) if judged is not None else ("", ""),
            ]
        )
    if not cells:
        return ""
    header = ["goodput of", "good requests", "share good", "least share", "goodput req/s", ""]
    return "<h3>Good requests</h3>" + table(header, cells)


def _checks_table(checks: Iterable[Mapping[str, Any]]) -> str:
    """The checks that failed or warned; those without a finding one click away."""
    checks = list(checks)
    found = [c for c in checks if not c.get("passed") or c.get("errors") or c.get("warnings")]
    clean = [c for c in checks if c not in found]
    header = ["check", "kind", "errors", "warnings", "verdict", "message"]
    parts = [table(header, _check_rows(found), table_id="table-checks", empty="no findings")]
    if clean:
        names = ", ".join(text(c.get("name")) for c in clean)
        parts.append(
            details(
                f"{number(len(clean))} checks without a finding",
                f"<p>{names}</p>" + table(header, _check_rows(clean), table_id="table-clean"),
            )
        )
    return "".join(parts)


def _check_rows(checks: Iterable[Mapping[str, Any]]) -> list[list[tuple[str, str]]]:
    rows = []
    for check in checks:
        warnings = int(check.get("warnings") or 0)
        rows.append(
            [
                (text(check.get("name")), ""),
                (text(check.get("kind")), ""),
                (number(check.get("errors")), "num"),
                (number(warnings), "num warn" if warnings else "num"),
                verdict(bool(check.get("passed"))),
                (text(check.get("message")), ""),
            ]
        )
    return rows


def _heatmap(families: Sequence[Mapping[str, Any]], checks: Sequence[Mapping[str, Any]]) -> str:
    """The families with a finding against the checks that found something; the full grid of
    every family and check one click away."""
    if not families:
        return missing("no requests recorded, so no input family was judged")
    found = [f for f in families if f.get("failed") or f.get("checks") or f.get("check_warnings")]
    names = {str(n) for f in found for n in (*f.get("checks", {}), *f.get("check_warnings", {}))}
    full = chart(breakdowns.failure_heatmap(families, checks), "chart-heatmap-all")
    summary = (
        f"all {number(len(families))} families × "
        f"{number(sum(1 for c in checks if c.get('kind') == 'request'))} request checks"
    )
    if not found:
        return missing("no input family had a finding") + details(summary, full)
    focused = [c for c in checks if str(c.get("name")) in names]
    parts = [
        f"<p>{number(len(found))} of {number(len(families))} input families had a finding.</p>",
        chart(breakdowns.failure_heatmap(found, focused), "chart-heatmap"),
    ]
    if len(found) < len(families) or len(focused) < len(checks):
        parts.append(details(summary, full))
    return "".join(parts)


def _families_table(families: Iterable[Mapping[str, Any]]) -> str:
    rows = []
    for family in families:
        latency = family.get("latency_ms", {})
        rows.append(
            [
                (text(family.get("name")), ""),
                (text(family.get("expect")), ""),
                (number(family.get("requests")), "num"),
                (number(family.get("failed")), "num bad" if family.get("failed") else "num"),
                (percent(family.get("error_rate")), "num"),
                *((ms(latency.get(q)), "num") for q in ("p50", "p95", "p99")),
                (counts(family.get("checks", {})), ""),
                (counts(family.get("check_warnings", {})), ""),
            ]
        )
    header = ["family", "expect", "requests", "failed", "error rate", "p50 ms", "p95 ms"]
    header += ["p99 ms", "failed checks", "warnings"]
    if not rows:
        return ""
    return details(
        f"table of all {number(len(rows))} families (sortable, filterable)",
        table(header, rows, table_id="table-families"),
        open_=len(rows) <= OPEN_FAMILIES,
    )


def _concurrency(concurrency: Sequence[Mapping[str, Any]], totals: Mapping[str, Any]) -> str:
    if not concurrency:
        if totals.get("requests"):
            return missing("no closed-loop phase: open-loop phases are by offered rate (phases)")
        return missing("no requests recorded")
    if len(concurrency) == 1:
        only = concurrency[0]
        return (
            f"<p>Every closed-loop request ran at {number(only.get('users'))} users: "
            f"{decimal(only.get('rps'))} req/s, p95 {ms(only.get('latency_ms', {}).get('p95'))} "
            "ms (no latency-vs-concurrency chart for a single point).</p>"
        )
    return chart(breakdowns.latency_vs_concurrency(concurrency), "chart-concurrency")


def _family_latency(families: Sequence[Mapping[str, Any]]) -> str:
    """The SLOWEST families by p95; every family one click away."""
    if not families:
        return missing("no requests recorded")
    timed = [f for f in families if (f.get("latency_ms") or {}).get("p95") is not None]
    timed.sort(key=lambda f: -float(f["latency_ms"]["p95"]))
    if len(timed) <= SLOWEST:
        return chart(breakdowns.latency_by_family(families), "chart-family-latency")
    return (
        f"<p>The {SLOWEST} families with the highest p95 of {number(len(timed))}.</p>"
        + chart(breakdowns.latency_by_family(timed[:SLOWEST]), "chart-family-latency")
        + details(
            f"all {number(len(timed))} families",
            chart(breakdowns.latency_by_family(timed), "chart-family-latency-all"),
        )
    )


def _degradation(document: Mapping[str, Any] | None) -> str:
    if not document or not document.get("points"):
        return missing(
            f"{NOT_MEASURED}: no degradation.json in the run directory (the check that "
            "compares answers under load with the baseline phase did not run)"
        )
    return chart(breakdowns.degradation_vs_load(document), "chart-degradation") + _group_checks(
        document
    )


def _invariance(document: Mapping[str, Any] | None) -> str:
    if not document or not document.get("kinds"):
        return missing(
            f"{NOT_MEASURED}: no invariance.json in the run directory (no perturbation "
            "families were checked against their seed inputs)"
        )
    examples = document.get("examples", [])
    rows = [
        [
            (text(e.get("kind")), ""),
            (text(e.get("seed_input_id")), ""),
            (text(e.get("variant_input_id")), ""),
            (text(excerpt(e.get("seed_output"))), "body"),
            (text(excerpt(e.get("variant_output"))), "body"),
        ]
        for e in examples
    ]
    parts = [chart(breakdowns.invariance_by_kind(document), "chart-invariance")]
    if rows:
        header = ["kind", "seed input", "variant input", "seed answer", "variant answer"]
        parts.append(table(header, rows))
    return "".join(parts) + _group_checks(document)


def _group_checks(document: Mapping[str, Any]) -> str:
    rows = [
        [(text(c.get("name")), ""), verdict(bool(c.get("passed"))), (text(c.get("message")), "")]
        for c in document.get("checks", [])
    ]
    return table(["check", "verdict", "message"], rows) if rows else ""


def _streaming(stats: Mapping[str, Any] | None, records: pd.DataFrame) -> str:
    if not stats:
        return missing(
            f"{NOT_MEASURED}: not a streaming run (no request has a time to first token, "
            "inter-token latency or tokens/s)"
        )
    rows = []
    for column in (streaming.TTFT, streaming.ITL):
        values = stats.get(column)
        if values:
            rows.append(
                [(text(streaming.TITLES[column]), "")]
                + [(ms(values.get(q)), "num") for q in ("p50", "p90", "p95", "p99", "max")]
            )
    parts = [table(["metric", "p50", "p90", "p95", "p99", "max"], rows, empty="no latency values")]
    rates = stats.get(streaming.TOKENS_PER_S)
    if rates:
        parts.append(
            "<p>output tokens per second: "
            + ", ".join(f"{q} {decimal(rates.get(q))}" for q in ("p1", "p10", "p50", "p90"))
            + " (the low percentiles are the slow tail)</p>"
        )
    for column, figure in charts.streaming_figures(records).items():
        parts.append(chart(figure, f"chart-{column}"))
    absent = [
        streaming.TITLES[c]
        for c in streaming.COLUMNS
        if c not in records.columns or not records[c].notna().any()
    ]
    if absent:
        parts.append(missing(f"{NOT_MEASURED}: " + ", ".join(absent)))
    return "".join(parts)


def _comparison(comparison: Mapping[str, Any]) -> str:
    regressed = bool(comparison.get("regressed"))
    reasons = "".join(f"<li>{text(r)}</li>" for r in comparison.get("reasons", []))
    return (
        f'<div class="verdict {"failed" if regressed else "passed"}">'
        f"<h1>{'REGRESSED' if regressed else 'no regression'}</h1>"
        f"<p>against {text(comparison.get('base_run'))}</p>"
        f"<p>{text(comparison.get('message'))}</p></div>"
        + (f"<ul>{reasons}</ul>" if reasons else "")
        + f'<p>Details: <a href="{text(comparison.get("file", layout.COMPARE_HTML))}">'
        "compare.html</a> in this run directory.</p>"
    )
