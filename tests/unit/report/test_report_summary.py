"""summary.json from hand-built run directories: numbers, severities, verdicts, edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_runs import (
    SCENARIO_YAML,
    record,
    standard_failures,
    standard_records,
    write_run,
)

from stress.report.summary import build_summary


def by_name(items: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {item["name"]: item for item in items}


def test_totals_are_exact(run_dir: Path) -> None:
    totals = build_summary(run_dir)["totals"]
    assert totals["requests"] == 60
    assert totals["failed"] == 2
    assert totals["warnings"] == 1  # seq 21; seq 23's warning sits on a failed request
    assert totals["error_rate"] == pytest.approx(2 / 60)
    # First send T0, last answer seq 59 at T0 + 14.75 s + 400 ms.
    assert totals["duration_s"] == pytest.approx(15.15)
    assert totals["rps"] == pytest.approx(60 / 15.15)
    # 60 values: 5..100 step 5 and 10..400 step 10; p50 sits between the 30th and 31st.
    assert totals["latency_ms"] == pytest.approx(
        {"p50": 105.0, "p90": 341.0, "p95": 370.5, "p99": 394.1, "max": 400.0, "mean": 9250 / 60}
    )


def test_phases_in_scenario_order(run_dir: Path) -> None:
    phases = build_summary(run_dir)["phases"]
    assert [p["name"] for p in phases] == ["baseline", "load"]
    baseline, load = phases
    assert (baseline["users"], baseline["requests"], baseline["error_rate"]) == (1, 20, 0.0)
    assert baseline["latency_ms"]["p95"] == pytest.approx(95.25)
    assert baseline["status_classes"] == {"2xx": 20}
    assert baseline["error_kinds"] == {}
    assert (load["users"], load["requests"], load["error_rate"]) == (4, 40, 0.05)
    assert load["latency_ms"]["p95"] == pytest.approx(380.5)
    assert load["status_classes"] == {"2xx": 21, "4xx": 18, "5xx": 1}
    assert load["error_kinds"] == {"http_4xx": 18, "http_5xx": 1, "invalid_response": 1}
    assert load["rps"] == pytest.approx(40 / 10.15)


def test_families_count_errors_and_warnings_per_check(run_dir: Path) -> None:
    families = by_name(build_summary(run_dir)["families"])
    assert list(families) == ["malformed.wrong_type", "realistic.chat_prompt"]
    wrong_type = families["malformed.wrong_type"]
    assert (wrong_type["expect"], wrong_type["requests"], wrong_type["failed"]) == ("reject", 20, 1)
    assert wrong_type["checks"] == {"response_shape": 1}
    assert wrong_type["check_warnings"] == {"status_expectation": 2}
    chat = families["realistic.chat_prompt"]
    assert (chat["requests"], chat["failed"], chat["error_rate"]) == (40, 1, 0.025)
    assert chat["checks"] == {"not_a_server_error": 1}
    assert chat["check_warnings"] == {}


def test_checks_list_every_scenario_check_then_slos_then_the_run(run_dir: Path) -> None:
    checks = build_summary(run_dir)["checks"]
    assert [(c["name"], c["kind"], c["phase"]) for c in checks] == [
        ("not_a_server_error", "request", None),
        ("no_timeout", "request", None),
        ("no_connection_error", "request", None),
        ("response_shape", "request", None),
        ("status_expectation", "request", None),
        ("slo.error_rate", "slo", "baseline"),
        ("slo.p95_ms", "slo", "baseline"),
        ("slo.error_rate", "slo", "load"),
        ("slo.p95_ms", "slo", "load"),
        ("requests_recorded", "run", None),
    ]
    verdicts = [(c["passed"], c["errors"], c["warnings"]) for c in checks]
    assert verdicts == [
        (False, 1, 0),
        (True, 0, 0),
        (True, 0, 0),
        (False, 1, 0),
        (True, 0, 2),  # warnings never fail a check
        (True, 0, 0),
        (True, 0, 0),
        (True, 0, 0),  # 2 of 40 = exactly the 5% limit
        (False, 1, 0),
        (True, 0, 0),
    ]
    assert "server error: HTTP 503" in checks[0]["message"]


def test_verdict_and_slo_section(run_dir: Path) -> None:
    summary = build_summary(run_dir)
    assert summary["schema_version"] == 1
    assert (summary["scenario"], summary["protocol"]) == ("report-test", "openai-chat")
    assert summary["target"] == "http://127.0.0.1:9"
    assert summary["complete"] is True
    assert summary["notes"] == []
    assert summary["passed"] is False
    assert summary["message"].startswith("FAILED: not_a_server_error failed 1 of 60 requests")
    assert "380.5 ms" in summary["message"]
    assert [(s["phase"], s["metric"], s["actual"], s["passed"]) for s in summary["slo"]] == [
        ("baseline", "error_rate", 0.0, True),
        ("baseline", "p95_ms", 95.25, True),
        ("load", "error_rate", 0.05, True),
        ("load", "p95_ms", 380.5, False),
    ]
    assert summary["failures"] == {"stored": 3, "inputs": 3}


def test_summary_is_strict_json(run_dir: Path, empty_run_dir: Path) -> None:
    for directory in (run_dir, empty_run_dir):
        summary = build_summary(directory)
        assert json.loads(json.dumps(summary, allow_nan=False)) == summary


def test_severity_falls_back_to_what_failures_jsonl_says_about_the_check(tmp_path: Path) -> None:
    # Without seq 23's own line, its status_expectation finding (on a request that failed
    # response_shape) takes the severity this check had for other reject inputs: warning.
    rows = standard_records()
    failures = [f for f in standard_failures(rows) if f["seq"] != 23]
    summary = build_summary(write_run(tmp_path / "run", rows, failures))
    checks = by_name([c for c in summary["checks"] if c["kind"] == "request"])
    assert (checks["status_expectation"]["errors"], checks["status_expectation"]["warnings"]) == (
        0,
        2,
    )
    assert summary["failures"] == {"stored": 2, "inputs": 2}


def test_severity_comes_from_the_records_without_failures_jsonl(tmp_path: Path) -> None:
    rows = standard_records()
    rows[22].failed_checks = ["status_expectation"]
    rows[22].ok = False
    summary = build_summary(write_run(tmp_path / "run", rows, []))
    checks = by_name([c for c in summary["checks"] if c["kind"] == "request"])
    status = checks["status_expectation"]
    assert (status["errors"], status["warnings"]) == (1, 2)
    assert status["passed"] is False
    assert summary["failures"] == {"stored": 0, "inputs": 0}


def test_a_clean_run_passes_and_warnings_do_not_fail_it(tmp_path: Path) -> None:
    rows = [record(i, latency_ms=20.0) for i in range(10)]
    rows += [record(10 + i, phase="load", users=4, latency_ms=30.0) for i in range(10)]
    rows[-1].warned_checks = ["status_expectation"]
    summary = build_summary(write_run(tmp_path / "run", rows))
    assert summary["passed"] is True
    assert summary["message"].startswith("PASSED: ")
    assert summary["totals"]["warnings"] == 1
    assert all(check["passed"] for check in summary["checks"])


def test_an_empty_run_fails_with_a_message(empty_run_dir: Path) -> None:
    summary = build_summary(empty_run_dir)
    assert summary["passed"] is False
    assert "no requests were recorded" in summary["message"]
    assert summary["totals"]["requests"] == 0
    assert summary["totals"]["error_rate"] is None
    assert summary["totals"]["latency_ms"]["p95"] is None
    assert [p["requests"] for p in summary["phases"]] == [0, 0]
    assert summary["families"] == []
    assert all("no requests completed" in s["message"] for s in summary["slo"])
    assert not any(s["passed"] for s in summary["slo"])
    assert summary["complete"] is False
    # run.json of a killed run: started, never finished, never marked complete.
    assert summary["incomplete"].startswith("INCOMPLETE: killed: `stress run` ended")
    assert summary["incomplete"] in summary["notes"]


def test_an_interrupted_run_says_which_signal(run_dir: Path) -> None:
    assert build_summary(run_dir)["incomplete"] is None  # the fixture finished normally
    info = json.loads((run_dir / "run.json").read_text())
    info.update(complete=False, interrupted="SIGTERM")
    (run_dir / "run.json").write_text(json.dumps(info))
    summary = build_summary(run_dir)
    assert summary["incomplete"].startswith("INCOMPLETE: interrupted by SIGTERM")


def test_an_empty_run_without_slos_still_fails(tmp_path: Path) -> None:
    scenario = SCENARIO_YAML.replace("  error_rate: 5%\n  p95_ms: 100\n", "  error_rate: null\n")
    summary = build_summary(write_run(tmp_path / "run", [], scenario=scenario))
    assert summary["slo"] == []
    assert summary["passed"] is False
    run_check = summary["checks"][-1]
    assert (run_check["name"], run_check["passed"]) == ("requests_recorded", False)


def test_a_phase_that_never_ran_fails_its_slos(tmp_path: Path) -> None:
    rows = [record(i, latency_ms=20.0) for i in range(10)]
    summary = build_summary(write_run(tmp_path / "run", rows))
    assert summary["passed"] is False
    load = [s for s in summary["slo"] if s["phase"] == "load"]
    assert [s["passed"] for s in load] == [False, False]
    assert summary["phases"][1]["requests"] == 0


def test_scenario_checks_choose_the_request_checks(tmp_path: Path) -> None:
    scenario = SCENARIO_YAML + "checks: [no_timeout, not_a_server_error]\n"
    rows = standard_records()
    summary = build_summary(write_run(tmp_path / "run", rows, scenario=scenario))
    names = [c["name"] for c in summary["checks"] if c["kind"] == "request"]
    # Checks the records name but the scenario did not list are still shown, never dropped.
    assert names == ["no_timeout", "not_a_server_error", "response_shape", "status_expectation"]


def test_missing_run_json_and_cut_off_failure_line_are_tolerated(run_dir: Path) -> None:
    (run_dir / "run.json").unlink()
    with (run_dir / "failures.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"input_id": "in-099", "fin')
    summary = build_summary(run_dir)
    assert summary["started_at"] is None
    assert summary["complete"] is False
    assert summary["target"] == "http://127.0.0.1:9"  # from the scenario
    assert any("run.json: missing" in note for note in summary["notes"])
    assert summary["failures"]["stored"] == 3
