"""report.html: self-contained, escaped, with charts built from aggregated data."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_runs import standard_failures, standard_records, write_run

from stress.report import charts, write_reports
from stress.report.html import SECTIONS, _text, render
from stress.report.summary import build_summary


@pytest.fixture
def page(run_dir: Path) -> str:
    write_reports(run_dir)
    return (run_dir / "report.html").read_text(encoding="utf-8")


def without_plotlyjs(page: str) -> str:
    from plotly.offline import get_plotlyjs

    assert page.count(get_plotlyjs()) == 1  # embedded exactly once
    return page.replace(get_plotlyjs(), "")


def test_inputs_and_answers_are_escaped(page: str) -> None:
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_hidden_characters_are_shown_not_rendered(page: str) -> None:
    assert "\x00" not in page
    assert "\u202e" not in page
    # The lone surrogate and NUL from the answer excerpt appear as visible codes.
    assert '<span class="ctl">\\u0000</span>' in page
    assert '<span class="ctl">\\u202e</span>' in page
    assert '<span class="ctl">\\ud800</span>' in page


def test_page_is_self_contained(page: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE)
    assert not re.search(r"<link[^>]*\bhref\s*=", page, re.IGNORECASE)
    # plotly.js itself names cdn.plot.ly as the default topojson (map) URL; no chart here is
    # a map, and nothing outside that bundle may point at a CDN.
    rest = without_plotlyjs(page)
    assert "cdn.plot.ly" not in rest
    assert "https://" not in rest.replace("http://127.0.0.1:9", "")


CHART_IDS = (
    "chart-heatmap",
    "chart-heatmap-all",
    "chart-latency",
    "chart-throughput",
    "chart-errors",
    "chart-concurrency",
    "chart-histogram",
    "chart-family-latency",
)


def test_page_has_the_verdict_every_section_and_the_charts(page: str) -> None:
    assert '<header class="verdict failed"><h1>FAILED</h1>' in page
    assert "report-test" in page
    for title in charts.TITLES:
        assert title in page
    for chart_id in CHART_IDS:
        assert f'id="{chart_id}"' in page
    assert page.count('class="plotly-graph-div"') == len(CHART_IDS)
    absent = ("degradation", "invariance", "streaming", "comparison")
    for key, heading in SECTIONS:
        if key in absent:
            assert f'<h2 id="{key}">' not in page
            assert f'<a href="#{key}">' not in page
            assert f"<li><b>{heading}</b>: " in page  # listed as not measured
        else:
            assert f'<h2 id="{key}">{heading}' in page
            assert f'<a href="#{key}">' in page
    assert '<td class="num">380</td>' in page  # the failing p95 (380.5 ms) in the SLO table
    # No group checks, no streaming values, no comparison here: one list says so, no fake chart.
    assert page.count("<h2 id=") == len(SECTIONS) - len(absent)
    assert "no comparison in this run directory" in page


def test_what_was_run_says_what_and_how_to_run_it_again(page: str, run_dir: Path) -> None:
    assert "10 inputs from seed 1: realistic.chat_prompt (100%)" in page
    assert "baseline: 1 users for 5 s (spawn 10 users/s)" in page
    assert "load: 4 users for 10 s" in page
    assert "error rate ≤ 5%, p95 ≤ 100 ms" in page
    assert f"stress run {run_dir}/scenario.yaml" in page
    assert f"stress report {run_dir}" in page


def test_every_failure_shows_the_commands_that_reproduce_it(page: str, run_dir: Path) -> None:
    for input_id in ("in-020", "in-021", "in-023"):
        assert f"stress replay {run_dir} --id {input_id}" in page
        assert f"stress repro {run_dir} --id {input_id} --format curl" in page
        assert f"stress shrink {run_dir} --id {input_id}" in page


def test_failure_rows_show_every_finding(page: str) -> None:
    assert "response_shape<br>status_expectation (warning)" in page
    assert "missing choices[0].message<br>accepted invalid input: HTTP 200" in page


def test_binary_request_bodies_show_their_bytes(tmp_path: Path) -> None:
    rows = standard_records()
    failures = standard_failures(rows)[:1]
    del failures[0]["request"]["body"]
    failures[0]["request"]["body_b64"] = base64.b64encode(b"\xff\xfe<b>").decode()
    run_dir = write_run(tmp_path / "run", rows, failures)
    write_reports(run_dir)
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "\\xff\\xfe&lt;b&gt;" in page


def test_an_empty_run_renders(empty_run_dir: Path) -> None:
    write_reports(empty_run_dir)
    page = (empty_run_dir / "report.html").read_text(encoding="utf-8")
    # The fixture's run.json is that of a killed run: never marked complete, no finish time.
    assert "<h1>FAILED · INCOMPLETE (killed)</h1>" in page
    assert "no requests were recorded" in page
    # One per timeline chart; the heatmap, family and concurrency charts say so instead.
    assert page.count("no requests recorded") == 7
    assert "no failures stored" in page


def test_charts_aggregate_into_bounded_buckets() -> None:
    # 40k requests over an hour: 3600 s / 1500 buckets -> 3 s buckets, 1200 points.
    rng = np.random.default_rng(1)
    count = 40_000
    sent = np.sort(rng.uniform(0, 3600, count)) + 1_700_000_000.0
    records = pd.DataFrame(
        {
            "phase": np.where(sent < 1_700_000_000.0 + 600, "baseline", "load"),
            "users": np.where(sent < 1_700_000_000.0 + 600, 1, 8).astype("int32"),
            "sent_at": sent,
            "latency_ms": rng.lognormal(4, 0.5, count),
            "error_kind": pd.Series([None] * count, dtype=object),
            "ok": np.ones(count, dtype=bool),
        }
    )
    line = charts.timeline(records)
    assert line.width == 3
    assert len(line.frame) <= charts.MAX_BUCKETS
    assert int(line.frame["requests"].sum()) == count
    assert list(line.phases) == ["baseline", "load"]
    figures = charts.figures(records, {"latency_ms": {"p50": 50.0}})
    for figure in figures:
        for trace in figure.data:
            assert len(trace.x) <= charts.MAX_BUCKETS


def test_timeline_numbers_are_exact_per_bucket() -> None:
    t0 = 1_700_000_000.0
    records = pd.DataFrame(
        {
            "phase": ["a", "a", "a", "b", "b"],
            "users": [1, 1, 1, 3, 3],
            "sent_at": [t0, t0 + 0.2, t0 + 0.9, t0 + 2.5, t0 + 2.6],
            "latency_ms": [10.0, 20.0, 30.0, 100.0, 200.0],
            "error_kind": [None, None, "timeout", None, None],
            "ok": [True, True, False, True, False],
        }
    )
    line = charts.timeline(records)
    assert line.width == 1
    assert line.frame["requests"].tolist() == [3, 0, 2]
    assert line.frame.loc[0, "p50"] == 20.0
    assert line.frame.loc[2, "p50"] == 150.0
    assert np.isnan(line.frame.loc[1, "p50"])  # an empty second is a gap, not a zero
    assert line.frame["users"].tolist()[::2] == [1, 3]
    # The failed request without a transport error failed a check on its answer.
    assert line.errors.to_dict("list") == {"failed_check": [0, 0, 1], "timeout": [1, 0, 0]}
    assert line.phases == {"a": (0.0, pytest.approx(0.9)), "b": (2.5, pytest.approx(2.6))}


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a<b>&\"'", "a&lt;b&gt;&amp;&quot;&#x27;"),
        ("x\x00y", 'x<span class="ctl">\\u0000</span>y'),
        ("\u202eevil", '<span class="ctl">\\u202e</span>evil'),
        ("zero\u200bwidth", 'zero<span class="ctl">\\u200b</span>width'),
        ("tag\U000e0041", 'tag<span class="ctl">\\U000e0041</span>'),
        ("line\nbreak\ttab", "line\nbreak\ttab"),
        ("日本語 ok", "日本語 ok"),
    ],
)
def test_text_escapes_and_reveals(raw: str, shown: str) -> None:
    assert _text(raw) == shown


def test_render_tolerates_malformed_failure_lines(run_dir: Path) -> None:
    summary = build_summary(run_dir)
    records = pd.DataFrame({column: [] for column in charts.COLUMNS})
    page = render(summary, records, [{"request": "not a mapping", "findings": [1, None]}])
    assert '<h2 id="failures">Findings (first 1 of 3 stored)</h2>' in page
    json.dumps(summary)  # the summary was not mutated into something unserialisable
