"""Good requests in summary.json and report.html: one row per phase and SLO family.

The standard run (report_runs) with slo.per_request latency_ms 100:
- baseline: 20 valid requests, latency 5..100 ms, all ok: 20 good; span T0 to T0 + 4.85 s.
- load: 20 valid requests (even i, latency 10 (i + 1) ms) of 40; 5 are within 100 ms and
  one of those (seq 20) failed: 4 good; span T0 + 5 s to T0 + 15.15 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from report_runs import SCENARIO_YAML, standard_records, write_run

from stress.report import write_reports
from stress.report.summary import build_summary

LIMITS = "  per_request: {latency_ms: 100}\n"


def scenario(extra: str) -> str:
    return SCENARIO_YAML.replace("  p95_ms: 100\n", "  p95_ms: 100\n" + extra)


def test_judged_goodput_is_one_row_and_one_check_per_phase_and_family(tmp_path: Path) -> None:
    text = scenario(
        LIMITS
        + "  goodput: 90%\n"
        + "  phases: {load: {goodput: 25%}}\n"
        + "  families: {realistic.chat_prompt: {goodput: 50%}}\n"
    )
    summary = build_summary(write_run(tmp_path / "run", standard_records(), scenario=text))
    rows = {(r["phase"], r["family"]): r for r in summary["goodput"]}
    baseline, load = rows[("baseline", None)], rows[("load", None)]
    assert (baseline["good"], baseline["requests"], baseline["share"]) == (20, 20, 1.0)
    assert baseline["goodput_rps"] == pytest.approx(20 / 4.85)
    assert (baseline["limit"], baseline["passed"]) == (0.9, True)
    assert (load["good"], load["requests"], load["share"]) == (4, 20, pytest.approx(0.2))
    assert load["goodput_rps"] == pytest.approx(4 / 10.15)
    assert (load["limit"], load["passed"]) == (0.25, False)
    family = rows[("*", "realistic.chat_prompt")]
    assert (family["good"], family["requests"], family["limit"]) == (24, 40, 0.5)
    assert family["passed"] is True
    checks = [(c["name"], c["phase"], c.get("family"), c["passed"]) for c in summary["checks"]]
    goodput_checks = [c for c in checks if c[0] == "slo.goodput"]
    assert goodput_checks == [
        ("slo.goodput", "baseline", None, True),
        ("slo.goodput", "load", None, False),
        ("slo.goodput", "*", "realistic.chat_prompt", True),
    ]
    assert not any(name == "slo.attainment" for name, *_ in checks)
    (load_slo,) = [s for s in summary["slo"] if s["metric"] == "goodput" and s["phase"] == "load"]
    assert load_slo["goodput_rps"] == pytest.approx(4 / 10.15)
    assert "20% of requests with valid inputs were good (4 of 20" in load_slo["message"]


def test_per_request_limits_alone_report_goodput_and_judge_nothing(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", standard_records(), scenario=scenario(LIMITS))
    summary = build_summary(run_dir)
    assert [(r["phase"], r["good"], r["limit"], r["passed"]) for r in summary["goodput"]] == [
        ("baseline", 20, None, None),
        ("load", 4, None, None),
    ]
    assert not any(c["name"] == "slo.goodput" for c in summary["checks"])
    write_reports(run_dir)
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    section = page[page.index("<h3>Good requests</h3>") :]
    assert "4 of 20" in section
    assert "not judged" in section
    markdown = (run_dir / "summary.md").read_text(encoding="utf-8")
    assert "| load | 4 of 20 | 20% | – | 0.39 | not judged |" in markdown


def test_without_per_request_limits_or_minimum_no_goodput_rows(tmp_path: Path) -> None:
    summary = build_summary(write_run(tmp_path / "run", standard_records()))
    assert summary["goodput"] == []
