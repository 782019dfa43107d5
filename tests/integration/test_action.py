"""The GitHub Action's run script (action/run.py) run here as the action runs it: real runs of
a short builtin:demo scenario, the job summary and the step outputs in files, the verdict as
--fail-on asks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

# Null bytes make the demo server answer 500: the run's checks fail.
SCENARIO = """\
name: action
target: {url: builtin:demo, protocol: openai-chat, timeout: 10s, max_tokens: 16}
inputs:
  seed: 1234
  count: 30
  families: {unicode.null_bytes: 1, realistic.chat_prompt: 2}
load:
  phases:
    - {name: load, users: 2, spawn_rate: 2, duration: 5s}
"""


def action(tmp_path: Path, name: str, *flags: str) -> tuple[int, dict[str, str], str]:
    """Run the script as action.yml does; its exit code, step outputs and job summary."""
    outputs, summary = tmp_path / f"{name}.out", tmp_path / f"{name}.md"
    env = {**os.environ, "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "action" / "run.py"), "--scenario", "action.yaml", *flags],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    pairs = outputs.read_text(encoding="utf-8").splitlines() if outputs.exists() else []
    found = dict(line.split("=", 1) for line in pairs)
    text = summary.read_text(encoding="utf-8") if summary.exists() else ""
    assert found, result.stderr
    return result.returncode, found, text


def test_the_action_runs_compares_and_judges(tmp_path: Path) -> None:
    (tmp_path / "action.yaml").write_text(SCENARIO, encoding="utf-8")

    code, first, summary = action(tmp_path, "first", "--fail-on", "never", "--duration", "3s")
    assert code == 0  # the checks failed, but --fail-on never
    assert first["passed"] == "false"
    assert first["regressed"] == ""
    assert first["exit-code"] == "0"
    run_dir = tmp_path / first["run-dir"]
    assert (run_dir / "junit.xml").is_file()
    assert first["junit"].endswith("junit.xml")
    assert summary.strip() == (run_dir / "summary.md").read_text(encoding="utf-8").strip()

    code, second, summary = action(
        tmp_path, "second", "--fail-on", "regression", "--compare-with", first["run-dir"]
    )
    assert second["regressed"] in ("true", "false")
    assert code == (1 if second["regressed"] == "true" else 0)
    new = tmp_path / second["run-dir"]
    assert (new / "compare.json").is_file()
    assert (new / "compare.md").read_text(encoding="utf-8").strip() in summary
    assert "compare" in (new / "summary.md").read_text(encoding="utf-8").lower()

    code, third, summary = action(
        tmp_path, "third", "--fail-on", "checks", "--compare-with", "nothing-here"
    )
    assert code == 1
    assert third["passed"] == "false"
    assert third["regressed"] == ""
    assert "no earlier run at `nothing-here`" in summary


def test_a_broken_scenario_fails_with_stress_s_code(tmp_path: Path) -> None:
    (tmp_path / "action.yaml").write_text("name: broken\nload: 5\n", encoding="utf-8")
    code, outputs, summary = action(tmp_path, "broken", "--fail-on", "never")
    assert code == 2
    assert outputs["exit-code"] == "2"
    assert outputs["run-dir"] == ""
    assert "`stress run` exited 2 without a run directory" in summary
