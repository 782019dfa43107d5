"""The Python API without load: validation with overrides, and reading a run's result."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import stress
from stress.api import Finding, RunFailed, RunResult, validate
from stress.errors import RunDirError, ScenarioError, UsageError
from stress.prepare import PreparedRun
from stress.scenario import Scenario

SCENARIO: dict[str, Any] = {
    "name": "t",
    "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat"},
    "inputs": {"seed": 1, "count": 10, "families": {"realistic.chat_prompt": 1}},
    "load": {
        "phases": [
            {"name": "baseline", "users": 1, "duration": "2s"},
            {"name": "load", "users": 4, "duration": "3s"},
        ]
    },
}


def test_a_mapping_is_validated_like_a_file_and_errors_name_the_key() -> None:
    bad = json.loads(json.dumps(SCENARIO))
    bad["load"]["phases"][1]["users"] = -5
    with pytest.raises(ScenarioError) as raised:
        validate(bad)
    assert raised.value.problems == [
        "<scenario>: load.phases[1].users: expected a positive integer, got -5"
    ]


def test_catalog_names_are_checked_for_a_mapping_too() -> None:
    bad = {**SCENARIO, "inputs": {**SCENARIO["inputs"], "families": {"unicode.nul_bytes": 1}}}
    with pytest.raises(ScenarioError, match=r"did you mean 'unicode\.null_bytes'"):
        validate(bad)


def test_key_path_overrides_then_flags_apply_in_that_order() -> None:
    scenario = validate(
        SCENARIO,
        overrides={"load.phases[*].duration": "1s", "inputs.seed": 5},
        users=3,
        name="smoke",
    )
    assert [phase.duration for phase in scenario.load.phases] == [1.0, 1.0]
    assert scenario.load.phases[-1].users == 3
    assert scenario.inputs.seed == 5
    assert scenario.name == "smoke"


def test_an_override_that_breaks_the_scenario_names_the_override(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(json.dumps(SCENARIO), encoding="utf-8")
    with pytest.raises(ScenarioError) as raised:
        validate(path, overrides={"load.phases[0].userz": 2})
    assert raised.value.problems == [
        "overrides: load.phases[0].userz: unknown key 'userz'; did you mean 'users'?"
    ]


def test_a_bad_keyword_is_a_usage_error_naming_the_keyword() -> None:
    with pytest.raises(UsageError) as raised:
        validate(SCENARIO, duration="soon")
    assert str(raised.value) == "duration=: expected a duration like 30s, 2m or 500ms, got 'soon'"
    with pytest.raises(UsageError, match=r"^rate=: the last phase 'load' is closed-loop .* users="):
        validate(SCENARIO, rate=5)


def test_a_scenario_object_is_accepted_and_not_changed() -> None:
    original = validate(SCENARIO)
    again = validate(original, seed=9)
    assert isinstance(again, Scenario)
    assert (original.inputs.seed, again.inputs.seed) == (1, 9)


def test_a_misspelt_keyword_is_a_type_error_not_ignored() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'duraton'; did you mean"):
        validate(SCENARIO, duraton="1s")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'overide'; did you mean 'overrides'"):
        stress.run(SCENARIO, overide={"name": "x"})


def test_anything_else_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="expected a path, a mapping or a"):
        validate(42)  # type: ignore[arg-type]


def test_stress_run_is_the_api_function() -> None:
    import stress.api

    assert stress.run is stress.api.run
    with pytest.raises(ScenarioError, match="expected a positive integer, got 0"):
        stress.run({**SCENARIO, "inputs": {**SCENARIO["inputs"], "count": 0}})


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("stress", ["pydantic", "pandas", "locust", "stress.runner", "stress.api"]),
        ("stress.pytest_plugin", ["pydantic", "pandas", "locust", "stress.api"]),
    ],
)
def test_importing_is_cheap(module: str, absent: list[str]) -> None:
    probe = f"import sys, {module}; print([m for m in {absent!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def failure(input_id: str, *findings: tuple[str, str], phase: str = "load") -> dict[str, Any]:
    return {
        "input_id": input_id,
        "family": input_id.rsplit("-", 1)[0],
        "expect": "reject",
        "phase": phase,
        "check": findings[0][0],
        "message": f"{findings[0][0]} on {input_id}",
        "findings": [
            {
                "check": check,
                "severity": severity,
                "message": f"{check} message",
                "expected": "no 5xx",
                "got": "HTTP 500",
            }
            for check, severity in findings
        ],
        "response": {"status": 500, "error_kind": "http_5xx"},
    }


def write_run(run_dir: Path, *, passed: bool, failures: list[dict[str, Any]]) -> Path:
    run_dir.mkdir(parents=True)
    checks = [
        {
            "name": "not_a_server_error",
            "kind": "request",
            "phase": None,
            "passed": passed,
            "errors": 0 if passed else 3,
            "warnings": 0,
            "info": 0,
            "severity": "error",
            "message": "3 of 10 requests failed",
        },
        {
            "name": "stack_trace_leak",
            "kind": "request",
            "phase": None,
            "passed": True,
            "errors": 0,
            "warnings": 3,
            "info": 0,
            "severity": "warning",
            "message": "warned",
        },
        {
            "name": "slo.p95_ms",
            "kind": "slo",
            "phase": "load",
            "passed": passed,
            "errors": 1,
            "warnings": 0,
            "info": 0,
            "severity": "error",
            "message": "p95 over the limit",
            "family": None,
        },
    ]
    slo = [
        {
            "phase": "load",
            "metric": "p95_ms",
            "limit": 100.0,
            "actual": 150.0,
            "passed": passed,
            "message": "p95 over the limit",
            "family": None,
        }
    ]
    summary = {
        "scenario": "t",
        "passed": passed,
        "message": "PASSED" if passed else "FAILED: x",
        "checks": checks,
        "slo": slo,
        "fail_on": ["error"],
    }
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    lines = [json.dumps(item) for item in failures]
    (run_dir / "failures.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run_dir


def test_findings_are_flattened_errors_first_with_their_replay_command(tmp_path: Path) -> None:
    run_dir = write_run(
        tmp_path / "a run",
        passed=False,
        failures=[
            failure("u.nul-0001", ("stack_trace_leak", "warning")),
            failure("u.nul-0002", ("not_a_server_error", "error"), ("file_path_leak", "warning")),
        ],
    )
    result = RunResult.from_run_dir(run_dir)
    assert [(f.check, f.severity, f.input_id) for f in result.findings] == [
        ("not_a_server_error", "error", "u.nul-0002"),
        ("stack_trace_leak", "warning", "u.nul-0001"),
        ("file_path_leak", "warning", "u.nul-0002"),
    ]
    first = result.findings[0]
    assert isinstance(first, Finding)
    assert (first.family, first.phase, first.status) == ("u.nul", "load", 500)
    assert first.replay == f"stress replay '{run_dir}' --id u.nul-0002"
    assert [check.name for check in result.failed_checks] == ["not_a_server_error", "slo.p95_ms"]
    assert result.slo[0].actual == 150.0
    assert (result.passed, result.exit_code) == (False, 1)


def test_assert_passed_lists_failed_checks_and_findings_that_fail_the_run(tmp_path: Path) -> None:
    failures = [failure(f"u.nul-{i:04d}", ("not_a_server_error", "error")) for i in range(8)]
    failures.append(failure("u.x-0001", ("stack_trace_leak", "warning")))
    result = RunResult.from_run_dir(write_run(tmp_path / "r", passed=False, failures=failures))
    with pytest.raises(RunFailed) as raised:
        result.assert_passed()
    assert isinstance(raised.value, AssertionError)
    assert raised.value.result is result
    message = str(raised.value)
    assert message.startswith("stress run 't' exit 1: FAILED: x\nfailed checks:\n")
    assert "  not_a_server_error: 3 of 10 requests failed" in message
    assert "findings: 8 on 8 input(s); the first 5:" in message
    # Only findings of a fail_on severity, the first five inputs, each with its command.
    assert message.count("error not_a_server_error on u.nul-") == 5
    assert "u.nul-0005" not in message
    assert "stack_trace_leak" not in message
    assert f"stress replay {tmp_path / 'r'} --id u.nul-0000" in message
    assert message.endswith(f"report: {tmp_path / 'r' / 'report.html'}")
    assert "FAILED exit_code=1, failed: not_a_server_error, slo.p95_ms" in repr(result)


def test_a_passed_run_passes_the_assertion(tmp_path: Path) -> None:
    result = RunResult.from_run_dir(write_run(tmp_path / "r", passed=True, failures=[]))
    assert result.assert_passed() is result
    assert result.findings == []
    assert "passed exit_code=0" in repr(result)


def test_a_still_failing_regression_fails_a_run_whose_checks_passed(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "r", passed=True, failures=[])
    summary = json.loads((run_dir / "summary.json").read_text())
    rows = [{"input_id": "u.nul-0001", "verdict": "still fails", "now": "HTTP 500"}]
    result = RunResult(run_dir, summary, 1, rows)
    assert not result.passed
    assert "regression cases that still fail:\n  u.nul-0001: HTTP 500" in result.explain()


def test_a_run_directory_without_a_summary_is_a_run_dir_error(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match=r"summary\.json: missing; .*stress report"):
        RunResult.from_run_dir(tmp_path)


def test_records_are_read_as_a_dataframe(tmp_path: Path) -> None:
    from benchmarks.synthetic import write_synthetic_run

    run_dir = write_synthetic_run(tmp_path / "r", requests=300, part_rows=100)
    result = RunResult(run_dir, {}, 0)
    records = result.records()
    assert len(records) == 300
    assert {"input_id", "latency_ms", "failed_checks"} <= set(records.columns)
    assert list(result.records(["status"]).columns) == ["status"]


def test_an_interrupted_run_raises_keyboard_interrupt_after_its_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during a run: run.py writes the reports and returns 130; the API re-raises, so
    pytest (or a notebook) stops instead of carrying on with the next test."""
    import stress.runner as orchestration

    run_dir = write_run(tmp_path / "r", passed=False, failures=[])
    calls: list[PreparedRun] = []

    def interrupted(prepared: PreparedRun, **options: Any) -> orchestration.RunResult:
        calls.append(prepared)
        return orchestration.RunResult(run_dir, {}, orchestration.INTERRUPTED)

    monkeypatch.setattr(orchestration, "run", interrupted)
    with pytest.raises(KeyboardInterrupt, match=re.escape(f"reports of what ran: {run_dir}")):
        stress.run(SCENARIO, users=2)
    assert calls[0].scenario.load.phases[-1].users == 2


def test_a_trace_phase_in_a_file_is_resolved_like_the_cli_does(tmp_path: Path) -> None:
    """stress.validate(path) fills in a trace phase's absolute path and length, as `stress run`."""
    (tmp_path / "log.jsonl").write_text(
        "".join(f'{{"timestamp": {1_700_000_000 + 2 * i}}}\n' for i in range(6))
    )
    scenario_file = tmp_path / "s.yaml"
    scenario_file.write_text(
        "name: t\ntarget: {url: 'http://127.0.0.1:9', protocol: openai-chat}\n"
        "inputs: {families: {realistic.chat_prompt: 1}}\n"
        "load:\n  phases:\n    - {name: replay, kind: trace, path: log.jsonl, speed: 2}\n"
    )
    import stress.api

    phase = stress.api.validate(scenario_file).load.phases[0]
    assert phase.path == str((tmp_path / "log.jsonl").resolve())
    assert phase.duration is not None
    assert phase.duration > 5.0  # 10 s of log at speed 2
