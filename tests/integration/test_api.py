"""The Python API and its pytest plugin, for real: short runs against the bundled demo server.

The demo server's deliberate bug (a chat message holding NUL answers 500 with a traceback)
is the finding to look for; ``quirks=False`` fixes it, and the same scenario then passes.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import stress
from examples.test_my_endpoint import SMOKE
from stress.api import RunFailed, RunResult
from tests.integration.conftest import free_port

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow

# The example's scenario: realistic prompts and NUL-holding ones, 1 s + 1 s of load.
SCENARIO = SMOKE
EXAMPLE = Path(__file__).parents[2] / "examples" / "test_my_endpoint.py"


def test_a_run_against_a_buggy_server_fails_with_its_findings(
    stress_run: Callable[..., RunResult], stress_demo_server: Callable[..., Any], tmp_path: Path
) -> None:
    server = stress_demo_server()  # quirks on: NUL → 500 with a traceback
    result = stress_run(SCENARIO, target=server.url, overrides={"target.max_tokens": 8})

    assert (result.passed, result.exit_code, result.interrupted) == (False, 1, False)
    assert result.run_dir.parent == tmp_path / "stress"
    assert result.run_dir.name.startswith("smoke-")
    assert [check.name for check in result.failed_checks] == ["not_a_server_error"]
    errors = [finding for finding in result.findings if finding.severity == "error"]
    assert errors, result.explain()
    assert {(f.check, f.family, f.status) for f in errors} == {
        ("not_a_server_error", "unicode.null_bytes", 500)
    }
    assert any(f.check == "stack_trace_leak" and f.severity == "warning" for f in result.findings)

    records = result.records()
    assert len(records) == result.summary["totals"]["requests"] > 0
    null_bytes = records[records["family"] == "unicode.null_bytes"]
    assert (null_bytes["status"] == 500).all()
    assert (records[records["family"] == "realistic.chat_prompt"]["status"] == 200).all()
    assert result.report_path.is_file()

    with pytest.raises(RunFailed) as raised:
        result.assert_passed()
    message = str(raised.value)
    assert "failed checks:\n  not_a_server_error:" in message
    assert f"error not_a_server_error on {errors[0].input_id}" in message

    # The replay command in a finding re-sends the stored request: it still fails (exit 1).
    command = shlex.split(errors[0].replay)
    assert command[:2] == ["stress", "replay"]
    replayed = subprocess.run(
        [sys.executable, "-m", "stress.cli", *command[1:], "--target", server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replayed.returncode == 1, replayed.stderr
    assert "1 of 1 still fail" in replayed.stderr

    again = RunResult.from_run_dir(result.run_dir)
    assert again.findings == result.findings


def test_a_bad_scenario_raises_scenario_error_before_anything_runs(
    stress_run: Callable[..., RunResult], tmp_path: Path
) -> None:
    with pytest.raises(stress.ScenarioError) as raised:
        stress_run(SCENARIO, overrides={"load.phases[1].users": 0})
    assert raised.value.problems == [
        "overrides: load.phases[1].users: expected a positive integer, got 0"
    ]
    assert not (tmp_path / "stress").exists()


def test_an_unreachable_target_raises_target_unreachable(
    stress_run: Callable[..., RunResult],
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(stress.TargetUnreachable, match=url):
        stress_run(SCENARIO, target=url)


def test_the_plugin_passes_the_example_and_fails_it_on_a_buggy_server(
    pytester: pytest.Pytester,
) -> None:
    example = EXAMPLE.read_text(encoding="utf-8")
    buggy = example.replace("quirks=False", "quirks=True")
    assert buggy != example
    pytester.makepyfile(test_example=example, test_buggy=buggy)
    kept = pytester.path / "kept"
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--stress-out={kept}")
    outcome.assert_outcomes(passed=1, failed=1)
    outcome.stdout.fnmatch_lines(
        [
            "*RunFailed: stress run 'smoke' exit 1: FAILED: not_a_server_error failed *",
            "*failed checks:*",
            "*error not_a_server_error on unicode.null_bytes-* (expected no 5xx*",
            f"*stress replay {kept}/smoke-* --id unicode.null_bytes-*",
            "*Captured stress call*",
            f"*run directory: {kept}/smoke-*",
            "FAILED test_buggy.py::test_endpoint_survives_messy_inputs - *",
        ]
    )
    # --stress-out kept both run directories.
    assert len(list(kept.glob("smoke-*/summary.json"))) == 2
