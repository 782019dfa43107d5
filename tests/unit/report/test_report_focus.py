"""The focused report: findings first, the heatmap of families with findings, sections only
for what the run measured, SLO lines, open-loop phases by rate, numbers rounded for people."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from report_runs import record, standard_failures, standard_records, write_run

from stress.report import charts, write_reports
from stress.report.findings import findings_section
from stress.report.html import _heatmap
from stress.report.load_tables import phase_line
from stress.report.markup import percent, rounded, table
from stress.report.setup import per_concurrency
from stress.report.summary import build_summary


def page_of(run_dir: Path) -> str:
    write_reports(run_dir)
    return (run_dir / "report.html").read_text(encoding="utf-8")


def test_a_run_without_streaming_values_has_no_streaming_section(run_dir: Path) -> None:
    page = page_of(run_dir)
    assert '<h2 id="streaming">' not in page
    assert '<a href="#streaming">' not in page
    assert "<li><b>Streaming: time to first token" in page


def test_a_run_with_only_tokens_per_second_has_no_streaming_section(tmp_path: Path) -> None:
    # A non-streaming answer still has a tokens/s (tokens over the whole answer time).
    rows = standard_records()
    for row in rows:
        row.output_tokens_per_s = 40.0
    page = page_of(write_run(tmp_path / "run", rows))
    assert '<h2 id="streaming">' not in page
    assert "output tokens per second (tokens over the whole answer time): p1 40" in page


def test_a_streaming_run_has_its_section(tmp_path: Path) -> None:
    rows = standard_records()
    for position, row in enumerate(rows):
        row.ttft_ms = 2.0 + position
    page = page_of(write_run(tmp_path / "run", rows))
    assert '<h2 id="streaming">' in page
    assert '<a href="#streaming">' in page
    assert "<li><b>Streaming" not in page


def test_the_heatmap_shows_only_families_with_findings(tmp_path: Path) -> None:
    rows = standard_records()
    rows += [record(100 + i, family="clean.quiet_family", phase="load", users=4) for i in range(5)]
    summary = build_summary(write_run(tmp_path / "run", rows, standard_failures(rows)))
    html = _heatmap(summary["families"], summary["checks"])
    focused, full = html.split("<details>", 1)
    assert "clean.quiet_family" not in focused
    assert "malformed.wrong_type" in focused
    assert "realistic.chat_prompt" in focused
    # Only the checks that found something are columns of the focused grid.
    assert "response_shape" in focused
    assert "no_timeout" not in focused
    # Every family and every check, one click away.
    assert "all 3 families" in full
    assert "clean.quiet_family" in full
    assert "no_timeout" in full


def test_findings_show_errors_first_and_collapse_warnings(run_dir: Path) -> None:
    failures = standard_failures(standard_records())
    html = findings_section(failures, str(run_dir))
    shown, collapsed = html.split("<details>", 1)
    # in-021 failed only a warning check; in-020 and in-023 had an error.
    assert "in-020" in shown
    assert "in-023" in shown
    assert "in-021" not in shown
    assert "1 with warnings only" in collapsed
    assert "in-021" in collapsed
    page = page_of(run_dir)
    assert page.index('<h2 id="failures">') < page.index('<h2 id="slo">')


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1500.0, "1,500"),
        (380.4, "380"),
        (95.25, "95.2"),
        (12.0, "12"),
        (1.5, "1.5"),
        (0.7494, "0.75"),
        (0.0, "0"),
        (0.00001, "≈0"),
    ],
)
def test_numbers_are_rounded_for_people(value: float, shown: str) -> None:
    assert rounded(value) == shown


def test_percentages_are_rounded_for_people(run_dir: Path) -> None:
    assert percent(0.007494) == "0.75%"
    assert percent(0.05) == "5%"
    page = page_of(run_dir)
    assert "p95 ≤ 100 ms" in page
    assert "100.00" not in page


def _records(phases: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """``phases``: name -> (first second, seconds); one request per second."""
    rows = [
        {
            "phase": name,
            "users": 2,
            "sent_at": 1_700_000_000.0 + second,
            "latency_ms": 50.0,
            "error_kind": None,
            "ok": True,
        }
        for name, (start, length) in phases.items()
        for second in range(start, start + length)
    ]
    return pd.DataFrame(rows)


def test_latency_and_error_charts_draw_the_slo_limits_per_phase() -> None:
    records = _records({"baseline": (0, 5), "load": (5, 5)})
    slo = {"error_rate": 0.02, "p95_ms": 800.0, "phases": {"load": {"p95_ms": 1500.0}}}
    latency, _, errors, _ = charts.figures(records, {}, slo)
    (line,) = [t for t in latency.data if t.name == "p95 limit (SLO)"]
    assert list(line.y) == [800.0, 800.0, None, 1500.0, 1500.0, None]
    assert list(line.x)[:2] == [0.0, 4.0]
    (rate,) = [t for t in errors.data if t.name == "error-rate limit (SLO)"]
    assert list(rate.y) == [2.0, 2.0, None, 2.0, 2.0, None]


def test_no_slo_no_limit_line() -> None:
    latency, _, errors, _ = charts.figures(_records({"a": (0, 3)}), {}, {})
    assert not [t for t in (*latency.data, *errors.data) if "limit" in str(t.name)]


def test_open_loop_phases_are_described_by_rate() -> None:
    sweep = {"name": "sweep", "kind": "sweep", "open_loop": True, "rate": 20.0}
    sweep |= {"start_rate": 5.0, "steps": 3, "duration_s": 12.0, "users": None, "spawn_rate": 10}
    assert phase_line(sweep) == "sweep: sweep 5 → 20 requests/s in 3 steps for 12 s (open loop)"
    steady = {"name": "load", "kind": "steady", "open_loop": True, "rate": 200.0}
    assert phase_line(steady | {"duration_s": 60.0}) == "load: 200 requests/s for 60 s (open loop)"
    users = {"name": "b", "kind": "steady", "open_loop": False, "rate": None, "users": 2}
    assert phase_line(users | {"duration_s": 4.0, "spawn_rate": 2.0}) == (
        "b: 2 users for 4 s (spawn 2 users/s)"
    )


def test_open_loop_requests_are_not_plotted_against_users() -> None:
    records = _records({"baseline": (0, 4), "sweep": (4, 6)})
    records["offered_rate"] = [None] * 4 + [5.0] * 6
    records.loc[4:, "users"] = 64  # the in-flight cap an open-loop record carries
    entries = per_concurrency(records)
    assert [(e["users"], e["requests"]) for e in entries] == [(2, 4)]


def test_long_sortable_tables_get_a_filter_box() -> None:
    rows = [[(str(n), "num")] for n in range(11)]
    html = table(["n"], rows, table_id="table-n")
    assert '<input class="filter" type="search" data-table="table-n"' in html
    assert '<table class="sortable" id="table-n">' in html
    short = table(["n"], rows[:3], table_id="table-n")
    assert "<input" not in short
    assert 'class="sortable"' in short


def test_latency_vs_users_needs_two_user_counts() -> None:
    from stress.report.html import _concurrency

    latency = {"p50": 40.0, "p90": 70.0, "p95": 80.0, "p99": 90.0}
    point = {"users": 2, "requests": 10, "seconds": 5, "rps": 2.0, "latency_ms": latency}
    assert 'id="chart-concurrency"' in _concurrency([point, point | {"users": 8}], {})
    single = _concurrency([point], {"requests": 10})
    assert "chart-concurrency" not in single
    assert "Every closed-loop request ran at 2 users: 2 req/s, p95 80 ms" in single
    assert "no closed-loop phase" in _concurrency([], {"requests": 10})


def test_sweep_limits_read_as_limits() -> None:
    from stress.report.load_tables import load_sections

    sweep = {"phase": "sweep", "limits": {"p95_ms": 1500.0, "error_rate": 0.02}, "steps": []}
    (html,) = [part for part in load_sections({"sweep": sweep}) if "limits:" in part]
    assert "limits: p95 ≤ 1,500 ms, error rate ≤ 2%" in html


def test_latency_by_family_plots_the_slowest_first() -> None:
    from stress.report.html import SLOWEST, _family_latency

    families = [
        {"name": f"f.{n:02d}", "requests": 5, "latency_ms": {"p50": n, "p95": n, "p99": n}}
        for n in range(SLOWEST + 5)
    ]
    html = _family_latency(families)
    shown, everything = html.split("<details>", 1)
    assert f"The {SLOWEST} families with the highest p95 of {SLOWEST + 5}." in shown
    assert '"f.24"' in shown  # the slowest
    assert '"f.04"' not in shown  # the fastest five are one click away
    assert '"f.04"' in everything
    few = _family_latency(families[:3])
    assert "<details>" not in few
