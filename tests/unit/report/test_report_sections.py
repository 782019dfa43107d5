"""Report sections that render from data when present and say "not measured" otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from report_runs import XSS, record, standard_failures, standard_records, write_run

from stress.report import breakdowns, write_reports
from stress.report.html import top_failures
from stress.report.markup import label
from stress.report.summary import build_summary

DEGRADATION = {
    "baseline_phase": "baseline",
    "metric": "answers that differ from the baseline answer",
    "points": [
        {"phase": "baseline", "users": 1, "compared": 10, "degraded": 0},
        {"phase": "load", "users": 4, "compared": 10, "degraded": 3},
    ],
    "checks": [
        {
            "name": "degradation_under_load",
            "passed": False,
            "phase": "load",
            "message": "3 of 10 answers degraded under load (limit 10%)",
        }
    ],
}
INVARIANCE = {
    "kinds": [
        {"kind": "typo", "pairs": 20, "flips": 5},
        {"kind": "case", "pairs": 10, "flips": 0},
    ],
    "examples": [
        {
            "kind": "typo",
            "seed_input_id": "in-001",
            "variant_input_id": "in-002",
            "seed_output": "Paris",
            "variant_output": XSS,
        }
    ],
}


def page_of(run_dir: Path) -> str:
    write_reports(run_dir)
    return (run_dir / "report.html").read_text(encoding="utf-8")


def test_behaviour_documents_render_charts_and_their_checks_count(run_dir: Path) -> None:
    (run_dir / "degradation.json").write_text(json.dumps(DEGRADATION), encoding="utf-8")
    (run_dir / "invariance.json").write_text(json.dumps(INVARIANCE), encoding="utf-8")
    summary = build_summary(run_dir)
    assert [p["share"] for p in summary["degradation"]["points"]] == [0.0, 0.3]
    assert [k["share"] for k in summary["invariance"]["kinds"]] == [0.25, 0.0]
    group = [c for c in summary["checks"] if c["kind"] == "group"]
    assert [(c["name"], c["passed"], c["errors"]) for c in group] == [
        ("degradation_under_load", False, 1)
    ]
    assert "degradation_under_load" in summary["message"]
    page = page_of(run_dir)
    assert 'id="chart-degradation"' in page
    assert 'id="chart-invariance"' in page
    # Only streaming is listed as not measured, and it has no section.
    assert "<li><b>Streaming: time to first token" in page
    assert '<h2 id="streaming">' not in page
    assert '<h2 id="degradation">' in page
    assert '<h2 id="invariance">' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the variant answer, escaped
    assert XSS not in page


def test_degradation_is_plotted_against_concurrency() -> None:
    from stress.report.behaviour import _degradation

    figure = breakdowns.degradation_vs_load(_degradation(DEGRADATION))
    assert list(figure.data[0].x) == [1, 4]
    assert list(figure.data[0].y) == [0.0, 30.0]
    assert figure.layout.xaxis.title.text == "active users (concurrency)"


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"points": [{"phase": "x", "compared": -1, "degraded": 0}]}', "points[0].compared"),
        ('{"points": [{"phase": "x", "compared": 2, "degraded": 3}]}', "points[0].degraded"),
        ('{"points": "all of them"}', "points: expected a list, got str"),
        ("{not json", "Expecting property name"),
        ('{"points": [], "checks": [{"name": "x"}]}', "checks[0].passed"),
    ],
)
def test_a_malformed_behaviour_file_is_a_note_not_a_crash(
    run_dir: Path, document: str, problem: str
) -> None:
    (run_dir / "degradation.json").write_text(document, encoding="utf-8")
    summary = build_summary(run_dir)
    assert summary["degradation"] is None
    (note,) = [n for n in summary["notes"] if "degradation.json" in n]
    assert problem in note
    assert "shown as not measured" in note


def test_streaming_values_render_the_streaming_section(tmp_path: Path) -> None:
    rows = standard_records()
    for position, row in enumerate(rows):
        row.ttft_ms = 2.0 + position
    summary = build_summary(write_run(tmp_path / "run", rows))
    streaming = summary["streaming"]
    assert streaming["requests"] == 60
    assert streaming["ttft_ms"]["p50"] == pytest.approx(31.5)
    assert streaming["ttft_ms"]["max"] == 61.0
    page = page_of(tmp_path / "run")
    assert 'id="chart-ttft_ms"' in page
    assert "Time to first token over time" in page
    # Only TTFT was filled in: the other streaming metrics are said to be missing.
    assert "not measured in this run: inter-token latency (ms), output tokens per second" in page


def test_a_non_streaming_run_has_no_streaming_summary(run_dir: Path) -> None:
    assert build_summary(run_dir)["streaming"] is None


def test_a_comparison_in_the_run_directory_is_shown(run_dir: Path) -> None:
    compare = {
        "schema_version": 1,
        "base": {"run_dir": "reports/demo-yesterday"},
        "regressed": True,
        "message": "REGRESSED: all requests: p95 10 → 20 ms",
        "reasons": ["all requests: p95 10 → 20 ms", XSS],
    }
    (run_dir / "compare.json").write_text(json.dumps(compare), encoding="utf-8")
    summary = build_summary(run_dir)
    assert summary["comparison"]["regressed"] is True
    assert summary["comparison"]["base_run"] == "reports/demo-yesterday"
    page = page_of(run_dir)
    assert "<h1>REGRESSED</h1><p>against reports/demo-yesterday</p>" in page
    assert XSS not in page


def test_summary_knows_groups_setup_and_concurrency(run_dir: Path) -> None:
    summary = build_summary(run_dir)
    assert [(g["name"], g["families"], g["requests"], g["failed"]) for g in summary["groups"]] == [
        ("malformed", 1, 20, 1),
        ("realistic", 1, 40, 1),
    ]
    setup = summary["setup"]
    assert (setup["seed"], setup["inputs"], setup["model"]) == (1, 10, "demo-ngram")
    assert [p["name"] for p in setup["phases"]] == ["baseline", "load"]
    assert setup["slo"] == {"error_rate": 0.05, "p95_ms": 100.0, "phases": {}}
    concurrency = summary["concurrency"]
    assert [(c["users"], c["requests"]) for c in concurrency] == [(1, 20), (4, 40)]
    # 20 requests sent 0.25 s apart from a whole second: 5 distinct seconds.
    assert (concurrency[0]["seconds"], concurrency[0]["rps"]) == (5, 4.0)
    assert concurrency[1]["latency_ms"]["p95"] == pytest.approx(380.5)


def test_top_failures_show_each_check_and_family_first_most_frequent_on_top() -> None:
    def item(check: str, family: str, n: int) -> dict[str, Any]:
        return {"check": check, "family": family, "input_id": f"{family}-{n}"}

    items = [item("a", "rare", 1), item("a", "rare", 2), item("b", "common", 1)]
    items += [item("b", "common", 2), item("w", "warned", 1)]
    summary = {
        "families": [
            {"name": "rare", "checks": {"a": 1}},
            {"name": "common", "checks": {"b": 9}},
            {"name": "warned", "check_warnings": {"w": 50}},
        ]
    }
    shown = [i["input_id"] for i in top_failures(items, summary, limit=4)]
    # Errors before warnings, more requests first, then the rest in stored order.
    assert shown == ["common-1", "rare-1", "warned-1", "rare-2"]


def test_chart_labels_from_the_run_are_escaped(tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    rows = [record(i, family=hostile, latency_ms=10.0 + i) for i in range(10)]
    rows[0].ok, rows[0].failed_checks = False, [f"<b>{hostile}</b>"]
    summary = build_summary(write_run(tmp_path / "run", rows))
    heatmap = breakdowns.failure_heatmap(summary["families"], summary["checks"])
    assert list(heatmap.data[0].y) == [label(hostile)]
    assert label(hostile) == '&lt;img src=x onerror="alert(1)"&gt;'
    assert "&lt;b&gt;" in heatmap.data[0].x[-1]
    page = page_of(tmp_path / "run")
    assert "<img src=x" not in page
    assert "onerror=&quot;alert(1)&quot;" in page  # in the tables


def test_latency_by_family_orders_by_p95(run_dir: Path) -> None:
    summary = build_summary(run_dir)
    figure = breakdowns.latency_by_family(summary["families"])
    # Slowest p95 last: plotly draws the last category on top.
    assert list(figure.data[0].y) == ["realistic.chat_prompt", "malformed.wrong_type"]
    p95 = {t.name: list(t.x) for t in figure.data}["p95"]
    assert p95 == sorted(p95)


def test_standard_failures_fixture_is_untouched() -> None:
    # The fixtures above build on it; a change there must be deliberate.
    rows = standard_records()
    assert [f["input_id"] for f in standard_failures(rows)] == ["in-020", "in-021", "in-023"]
