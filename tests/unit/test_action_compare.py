"""action/run.py and `stress compare`'s exit 5 (the runs differ): a note of its own in the job
summary naming what differs, nothing compared, the run's verdict standing; any other compare
failure is still an error of the job. A stand-in stress command (no network) plays run and
compare."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKE = """\
import sys
from pathlib import Path

command = sys.argv[1]
if command == "run":
    out = Path(sys.argv[sys.argv.index("--out") + 1])
    run_dir = out / "run-1"
    run_dir.mkdir(parents=True)
    (run_dir / "scenario.yaml").write_text("name: x\\n")
    (run_dir / "summary.md").write_text("# summary\\n")
    print(run_dir)
    sys.exit(0)
if command == "compare":
    sys.stderr.write("error: the runs differ: inputs.seed 1 and 2\\n")
    sys.exit(int({compare_code}))
sys.exit(0)
"""


def action(tmp_path: Path, compare_code: int) -> tuple[int, dict[str, str], str, str]:
    fake = tmp_path / "fake_stress.py"
    fake.write_text(FAKE.replace("{compare_code}", str(compare_code)), encoding="utf-8")
    base = tmp_path / "base"
    base.mkdir()
    (base / "scenario.yaml").write_text("name: x\n", encoding="utf-8")
    outputs, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    env = {
        **os.environ,
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, str(ROOT / "action" / "run.py"), "--scenario", "s.yaml"]
    command += ["--out", str(tmp_path / "reports"), "--compare-with", str(base)]
    command += ["--fail-on", "checks,regression", "--stress", sys.executable, str(fake)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    found = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return result.returncode, found, summary.read_text(), result.stderr


def test_runs_that_differ_are_not_compared_and_the_run_s_verdict_stands(tmp_path: Path) -> None:
    code, outputs, summary, stderr = action(tmp_path, 5)
    assert code == 0
    assert outputs["exit-code"] == "0"
    assert outputs["regressed"] == ""
    assert outputs["passed"] == "true"
    assert "not compared with" in summary
    assert "the two runs differ" in summary
    assert "inputs.seed 1 and 2" in summary  # what compare said differs
    assert "--allow-different-runs" in summary
    assert "inputs.seed 1 and 2" in stderr  # and the log keeps it


@pytest.mark.parametrize("compare_code", [2, 4])
def test_other_compare_failures_are_still_errors(tmp_path: Path, compare_code: int) -> None:
    code, outputs, summary, _ = action(tmp_path, compare_code)
    assert code == compare_code
    assert outputs["exit-code"] == str(compare_code)
    assert f"`stress compare` exited {compare_code}" in summary
    assert "not compared with" not in summary
