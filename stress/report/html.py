"""report.html: one self-contained page (plotly.js inlined, nothing fetched) for a run.

It answers, in page order: did it pass (verdict banner, SLOs, checks), what was run, what
broke and under which inputs (family × check heatmap, families, top failures with the commands
that reproduce each), at what load (latency, throughput and errors over time with phase
boundaries, latency vs concurrency, output degradation vs load), invariance, streaming, and
what changed since the previous run. A section without data in this run says so ("not
measured in this run") rather than showing an empty chart.

Every string that came from an input, an answer or the run directory goes through
markup.text (page) or markup.label (charts); see stress.report.markup.
"""

from __future__ import annotations

import base64
import binascii
import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from stress.report import breakdowns, charts, streaming
from stress.report.markup import (
    chart,
    command,
    counts,
    decimal,
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
from stress.rundir import layout
from stress.rundir.read import iter_failures, load_records, report_columns
from stress.rundir.write import write_text

# The failures table shows this many stored failures: one per (check, family) first, then
# the rest in the order they were stored; failures.jsonl has them all.
MAX_FAILURES = 50
# Characters of a request or response body shown per failure.
EXCERPT_CHARS = 300
SECTIONS = (
    ("run", "What was run"),
    ("slo", "Service-level objectives"),
    ("checks", "Checks"),
    ("families", "What failed, by input family"),
    ("failures", "Top failures"),
    ("load", "Latency and throughput under load"),
    ("family-latency", "Latency by input family"),
    ("degradation", "Output degradation under load"),
    ("invariance", "Invariance under perturbation"),
    ("streaming", "Streaming: time to first token, inter-token latency, tokens/s"),
    ("comparison", "Compared with a previous run"),
)
NOT_MEASURED = "not measured in this run"

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
    write_text(path, render(summary, records, failures))


def top_failures(
    items: Iterable[Mapping[str, Any]], summary: Mapping[str, Any], *, limit: int = MAX_FAILURES
) -> list[Mapping[str, Any]]:
    """The failures worth showing first: one per (check, family), most frequent first.

    Frequency is how many requests of the family failed that check (summary["families"]),
    errors before warnings; the remaining slots go to further failures in stored order.
    """
    weights: dict[tuple[str, str], tuple[int, int]] = {}
    for family in summary.get("families", []):
        name = str(family.get("name"))
        for check, n in family.get("checks", {}).items():
            weights[(str(check), name)] = (1, int(n))
        for check, n in family.get("check_warnings", {}).items():
            weights.setdefault((str(check), name), (0, int(n)))
    first: dict[tuple[str, str], Mapping[str, Any]] = {}
    rest: list[Mapping[str, Any]] = []
    for item in items:
        key = (str(item.get("check")), str(item.get("family")))
        if key not in first:
            first[key] = item
        elif len(rest) < limit:
            rest.append(item)
    ordered = sorted(first, key=lambda key: weights.get(key, (0, 0)), reverse=True)
    chosen = [first[key] for key in ordered][:limit]
    return chosen + rest[: limit - len(chosen)]


def render(
    summary: Mapping[str, Any], records: pd.DataFrame, failures: Sequence[Mapping[str, Any]]
) -> str:
    """The page as a string (see write_html)."""
    passed = bool(summary.get("passed"))
    title = f"stress: {summary.get('scenario')} {'PASSED' if passed else 'FAILED'}"
    families = list(summary.get("families", []))
    checks = list(summary.get("checks", []))
    stored = summary.get("failures", {}).get("stored")
    figures = charts.figures(records, summary.get("totals", {}))
    body = [
        _banner(summary),
        _nav(),
        _heading("run"),
        _setup(summary),
        _heading("slo"),
        _slo_table(summary.get("slo", []), bool(summary.get("goodput"))),
        _goodput_table(summary.get("goodput", [])),
        _heading("checks"),
        _checks_table([c for c in checks if c.get("kind") != "slo"]),
        _heading("families"),
        _heatmap(families, checks),
        _families_table(families),
        _heading("failures", f" (first {len(failures)} of {number(stored)} stored)"),
        "<p>One row per check and input family first, the most frequent on top. Every "
        "command runs on this run directory; <code>failures.jsonl</code> holds them all.</p>",
        _failures_table(failures, str(summary.get("run_dir", "RUN_DIR"))),
        _heading("load"),
        chart(figures[0], "chart-latency"),
        chart(figures[1], "chart-throughput"),
        chart(figures[2], "chart-errors"),
        _concurrency(summary.get("concurrency", [])),
        chart(figures[3], "chart-histogram"),
        "<h3>Phases</h3>",
        _phases_table(summary.get("phases", [])),
        *_load_sections(summary),
        _heading("family-latency"),
        _family_latency(families),
        _heading("degradation"),
        _degradation(summary.get("degradation")),
        _heading("invariance"),
        _invariance(summary.get("invariance")),
        _heading("streaming"),
        _streaming(summary.get("streaming"), records),
        _heading("comparison"),
        _comparison(summary.get("comparison"), str(summary.get("run_dir", "RUN_DIR"))),
    ]
    return page(title, body)


def _heading(key: str, suffix: str = "") -> str:
    name = dict(SECTIONS)[key]
    return f'<h2 id="{key}">{text(name)}{text(suffix)}</h2>'


def _nav() -> str:
    links = "".join(f'<a href="#{key}">{text(name)}</a>' for key, name in SECTIONS)
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
    # summary._incomplete says "INCOMPLETE: interrupted by ..." or "INCOMPLETE: killed: ...".
    how = str(why).removeprefix("INCOMPLETE: ").split(" ", 1)[0].rstrip(":")
    return f" · INCOMPLETE ({text(how)})"


def _setup(summary: Mapping[str, Any]) -> str:
    setup = summary.get("setup") or {}
    run_dir = str(summary.get("run_dir", "RUN_DIR"))
    phases = "<br>".join(
        f"{text(p.get('name'))}: {number(p.get('users'))} users for "
        f"{seconds(p.get('duration_s'))} (spawn {decimal(p.get('spawn_rate'))} users/s)"
        for p in setup.get("phases", [])
    )
    weights = setup.get("families", {})
    total = sum(float(w) for w in weights.values()) or 1.0
    families = ", ".join(
        f"{text(name)} ({float(w) / total * 100:.0f}%)" for name, w in weights.items()
    )
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
            f"{number(setup.get('inputs'))} inputs from seed {text(setup.get('seed'))}: {families}",
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
                verdict(bool(result.get("passed"))),
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
    return table(["check", "kind", "errors", "warnings", "verdict", "message"], rows)


def _heatmap(families: Sequence[Mapping[str, Any]], checks: Sequence[Mapping[str, Any]]) -> str:
    if not families:
        return missing("no requests recorded, so no input family was judged")
    return chart(breakdowns.failure_heatmap(families, checks), "chart-heatmap")


def _phases_table(phases: Iterable[Mapping[str, Any]]) -> str:
    rows = []
    for phase in phases:
        latency = phase.get("latency_ms", {})
        rows.append(
            [
                (text(phase.get("name")), ""),
                (number(phase.get("users")), "num"),
                (number(phase.get("requests")), "num"),
                (seconds(phase.get("duration_s")), "num"),
                (decimal(phase.get("rps")), "num"),
                (percent(phase.get("error_rate")), "num"),
                *((ms(latency.get(q)), "num") for q in ("p50", "p90", "p95", "p99", "max")),
                (counts(phase.get("error_kinds", {})), ""),
                (counts(phase.get("status_classes", {})), ""),
            ]
        )
    header = ["phase", "users", "requests", "duration", "req/s", "error rate"]
    header += ["p50 ms", "p90 ms", "p95 ms", "p99 ms", "max ms", "error kinds", "status"]
    return table(header, rows)


def _load_sections(summary: Mapping[str, Any]) -> list[str]:
    """The sweep (when the scenario has one), the tester's own load and the workers."""
    parts = []
    sweep = summary.get("sweep")
    if isinstance(sweep, Mapping):
        rows = []
        for step in sweep.get("steps", []):
            rows.append(
                [
                    (number((step.get("step") or 0) + 1), "num"),
                    (decimal(step.get("offered_rps")), "num"),
                    (number(step.get("users")), "num"),
                    (seconds(step.get("duration_s")), "num"),
                    (number(step.get("requests")), "num"),
                    (decimal(step.get("achieved_rps")), "num"),
                    (decimal(step.get("goodput")), "num"),
                    *((ms(step.get(q)), "num") for q in ("p50", "p95", "p99")),
                    (percent(step.get("error_rate")), "num"),
                    (number(step.get("late")), "num"),
                    verdict(bool(step.get("passed"))),
                    (text("; ".join(step.get("reasons") or [])), ""),
                ]
            )
        header = ["step", "offered req/s", "users", "duration", "requests", "achieved req/s"]
        header += ["goodput req/s", "p50 ms", "p95 ms", "p99 ms", "error rate", "late"]
        header += ["verdict", "why"]
        limits = ", ".join(f"{k} {v}" for k, v in (sweep.get("limits") or {}).items())
        parts += [
            f'<h2 id="sweep">Sweep: {text(sweep.get("phase"))}</h2>',
            f"<p><b>{text(sweep.get('message'))}</b></p>",
            f"<p>limits: {text(limits)} · max sustainable: "
            f"{decimal(sweep.get('max_sustainable_rps'))} req/s"
            + (
                f" ({number(sweep.get('max_sustainable_users'))} users)"
                if sweep.get("variable") == "users"
                else ""
            )
            + f" · latency bends after: {decimal(sweep.get('knee_rps'))} req/s</p>",
            table(header, rows, empty="no sweep step ran"),
        ]
    tester = summary.get("tester")
    if isinstance(tester, Mapping):
        rows = [
            [
                (text(process.get("process")), ""),
                (decimal(process.get("cpu_mean")), "num"),
                (decimal(process.get("cpu_max")), "num"),
                (ms(process.get("lag_max_ms")), "num"),
                (
                    seconds(process.get("saturated_s")),
                    "num bad" if process.get("saturated_s") else "num",
                ),
            ]
            for process in tester.get("processes", [])
        ]
        css = "notes" if tester.get("saturated") else ""
        parts += [
            "<h2>Tester</h2>",
            f'<p class="{css}">{text(tester.get("message"))}</p>',
            table(
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
                (number(w.get("worker")), "num"),
                (text(w.get("host")), ""),
                (number(w.get("pid")), "num"),
                (number(w.get("records")), "num"),
                ("lost", "bad") if w.get("lost") else ("ok", "good"),
            ]
            for w in workers
        ]
        parts += [
            "<h2>Workers</h2>",
            table(["worker", "host", "pid", "records", "state"], rows, empty="no workers"),
        ]
    return parts


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
    return table(header, rows)


def _concurrency(concurrency: Sequence[Mapping[str, Any]]) -> str:
    if not concurrency:
        return missing("no requests recorded")
    return chart(breakdowns.latency_vs_concurrency(concurrency), "chart-concurrency")


def _family_latency(families: Sequence[Mapping[str, Any]]) -> str:
    if not families:
        return missing("no requests recorded")
    return chart(breakdowns.latency_by_family(families), "chart-family-latency")


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
            (text(_excerpt(e.get("seed_output"))), "body"),
            (text(_excerpt(e.get("variant_output"))), "body"),
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


def _comparison(comparison: Mapping[str, Any] | None, run_dir: str) -> str:
    if not comparison:
        return missing(
            "no comparison in this run directory; compare it with an earlier run of the same "
            f"scenario: stress compare BASE_RUN {shlex.quote(run_dir)}"
        )
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


def _failures_table(failures: Iterable[Mapping[str, Any]], run_dir: str) -> str:
    """Two rows per failure: what failed and how to reproduce it; then the bodies, wide."""
    blocks = []
    for position, item in enumerate(failures, 1):
        request = _mapping(item.get("request"))
        response = _mapping(item.get("response"))
        checks, messages = _findings(item)
        where = (
            f"<b>{text(item.get('input_id'))}</b><br>family {text(item.get('family'))}"
            f"<br>phase {text(item.get('phase'))}"
        )
        method_path = f"{text(request.get('method'))} {text(request.get('path'))}"
        blocks.append(
            '<tbody class="failure">'
            f'<tr><td class="num" rowspan="2">{number(position)}</td><td>{where}</td>'
            f"<td>{checks}</td><td>{messages}</td><td>{text(_status(response))}</td>"
            f"<td>{_commands(run_dir, item.get('input_id'))}</td></tr>"
            f'<tr><td colspan="2"><b>request</b> {method_path}'
            f'<div class="body">{text(_excerpt(_request_body(request)))}</div></td>'
            f'<td colspan="3"><b>response</b>'
            f'<div class="body">{text(_excerpt(response.get("body_excerpt")))}</div></td></tr>'
            "</tbody>"
        )
    if not blocks:
        return "<p><i>no failures stored</i></p>"
    head = "".join(
        f"<th>{name}</th>"
        for name in ("#", "input", "check", "message", "status", "reproduce (on this run)")
    )
    return f'<table class="failures"><thead><tr>{head}</tr></thead>{"".join(blocks)}</table>'


def commands(run_dir: str, input_id: object) -> list[str]:
    """The shell commands that replay, export and shrink one stored failure."""
    where = shlex.quote(run_dir)
    which = shlex.quote(str(input_id))
    return [
        f"stress replay {where} --id {which}",
        f"stress repro {where} --id {which} --format curl",
        f"stress shrink {where} --id {which}",
    ]


def _commands(run_dir: str, input_id: object) -> str:
    if not isinstance(input_id, str):
        return ""
    return "".join(command(line) for line in commands(run_dir, input_id))


def _findings(item: Mapping[str, Any]) -> tuple[str, str]:
    """The failure's checks (warnings marked) and messages, one line each, as HTML."""
    findings = [f for f in item.get("findings") or [] if isinstance(f, Mapping)]
    if not findings:
        return text(item.get("check")), text(item.get("message"))
    checks = [
        text(f.get("check")) + (" (warning)" if f.get("severity") == "warning" else "")
        for f in findings
    ]
    return "<br>".join(checks), "<br>".join(text(f.get("message")) for f in findings)


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
    raw = str(value)
    return raw if len(raw) <= EXCERPT_CHARS else f"{raw[:EXCERPT_CHARS]}… ({len(raw)} chars)"
