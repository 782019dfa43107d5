"""Interrupts never invent findings: real signals to `stress run` (and to stress.run()) in
subprocesses, in each way a run is started, against the bundled demo server.

- a terminal's Ctrl-C: SIGINT to the whole foreground process group (os.killpg);
- a background job of a script (`stress run ... &`): started with SIGINT ignored, then
  SIGINT or SIGTERM to its process group;
- the Python API: stress.run() in a script, SIGINT to its process group.

Each run must stop with the signal's exit code, say "INCOMPLETE: interrupted by SIG...", keep
the demo server up until the load stopped (zero connection_refused or connection_reset records,
zero no_connection_error findings), stop the server afterwards, and report the phase it never
reached as "not run" (summary.json, summary.md, junit skipped), not FAILED. A target that is
unreachable leaves a run directory whose report says so (exit 3), not "killed".
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from stress.record import read_records
from tests.integration.conftest import ROOT, free_port, stress
from tests.integration.test_crash_safety import alive, children, wait_until

pytestmark = pytest.mark.slow

SCENARIO = """\
name: interrupts
target: {{url: "{url}", protocol: openai-chat, timeout: 5s, max_tokens: 8}}
inputs: {{seed: 5, count: 40, families: {{realistic.chat_prompt: 1}}}}
load:
  phases:
    - {{name: first, users: 4, spawn_rate: 100, duration: 40s}}
    - {{name: never, users: 2, spawn_rate: 100, duration: 2s}}
degradation: {{enabled: false}}
slo: {{error_rate: 50%, p95_ms: 60000}}
"""
INVENTED = {"connection_refused", "connection_reset"}
API_SCRIPT = """\
import sys

import stress
from stress.lifeline import Terminated

try:
    stress.run(sys.argv[1], out_dir=sys.argv[2])
except KeyboardInterrupt as exc:
    print(f"raised {type(exc).__name__}: {exc}", flush=True)
    sys.exit(143 if isinstance(exc, Terminated) else 130)
print("returned", flush=True)
"""


def ignore_sigint() -> None:
    """What a shell does to a background job of a script: SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start(
    tmp_path: Path, command: list[str], preexec: Callable[[], None] | None = None
) -> tuple[subprocess.Popen[bytes], Path]:
    """The command in a process group of its own (as a shell's job), its output in a file."""
    console = tmp_path / "console.txt"
    with console.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    return process, console


def scenario(tmp_path: Path, url: str = "builtin:demo") -> Path:
    path = tmp_path / "interrupts.yaml"
    path.write_text(SCENARIO.format(url=url), encoding="utf-8")
    return path


def cli(tmp_path: Path) -> list[str]:
    return [sys.executable, "-m", "stress.cli", "run", str(scenario(tmp_path)), "--out", "reports"]


def interrupt_during_load(
    tmp_path: Path, process: subprocess.Popen[bytes], console: Path, sig: signal.Signals
) -> tuple[int, list[int]]:
    """Wait until the load has recorded for a while, signal the process group; its exit code
    and the processes the run had started."""
    kids: list[int] = []
    try:
        wait_until(
            lambda: process.poll() is None and any(tmp_path.glob("reports/*/records/*.parquet")),
            90,
            "the load recorded its first part",
        )
        time.sleep(1.0)
        kids = children(process.pid)
        # Each child (the demo server, the load process) in a session of its own: the
        # signal to this process group reaches `stress run` alone, which stops them in order.
        assert kids
        assert all(os.getsid(pid) == pid for pid in kids), kids
        os.killpg(process.pid, sig)
        code = process.wait(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert kids, console.read_text()
    wait_until(lambda: not any(alive(pid) for pid in kids), 20, f"children {kids} exited")
    return code, kids


def run_dir(tmp_path: Path) -> Path:
    (found,) = (tmp_path / "reports").iterdir()
    return found


def assert_no_invented_findings(directory: Path) -> None:
    records = read_records(directory / "records").to_pandas()
    assert len(records) > 0
    assert set(records["error_kind"].dropna()) & INVENTED == set()
    for line in (directory / "failures.jsonl").read_text(encoding="utf-8").splitlines():
        checks = {f["check"] for f in json.loads(line)["findings"]}
        assert "no_connection_error" not in checks, line


def assert_interrupted(directory: Path, name: str) -> dict[str, object]:
    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    assert str(summary["incomplete"]).startswith(f"INCOMPLETE: interrupted by {name}")
    statuses = {p["name"]: p["status"] for p in summary["phases"]}
    assert statuses == {"first": "stopped early", "never": "not run"}
    slo = [c for c in summary["checks"] if c["kind"] == "slo" and c["phase"] == "never"]
    assert slo
    assert all(c["status"] == "not run" and c["passed"] for c in slo)
    markdown = (directory / "summary.md").read_text(encoding="utf-8")
    assert "| never (not run) |" in markdown
    skipped = ET.parse(directory / "junit.xml").getroot().iter("skipped")
    assert len(list(skipped)) == len(slo)
    assert "INCOMPLETE (interrupted)" in (directory / "report.html").read_text(encoding="utf-8")
    return summary


def test_a_terminal_ctrl_c_reaches_stress_run_not_the_demo_server(tmp_path: Path) -> None:
    process, console = start(tmp_path, cli(tmp_path))
    code, _ = interrupt_during_load(tmp_path, process, console, signal.SIGINT)
    output = console.read_text()
    assert code == 130, output
    assert "Traceback" not in output
    directory = run_dir(tmp_path)
    assert_no_invented_findings(directory)
    assert_interrupted(directory, "SIGINT")
    # The console's phase table (rich may wrap the cell).
    assert re.search(r"never \(not[\s│]*run\)", output), output


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_background_job_with_sigint_ignored_stops_on_either_signal(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    process, console = start(tmp_path, cli(tmp_path), preexec=ignore_sigint)
    got, _ = interrupt_during_load(tmp_path, process, console, sig)
    assert got == code, console.read_text()
    directory = run_dir(tmp_path)
    assert_no_invented_findings(directory)
    assert_interrupted(directory, sig.name)


@pytest.mark.parametrize(
    ("sig", "code", "raised"),
    [(signal.SIGINT, 130, "KeyboardInterrupt"), (signal.SIGTERM, 143, "Terminated")],
)
def test_the_python_api_stops_on_a_signal_and_raises_after_the_reports(
    tmp_path: Path, sig: signal.Signals, code: int, raised: str
) -> None:
    script = tmp_path / "run_api.py"
    script.write_text(API_SCRIPT, encoding="utf-8")
    command = [sys.executable, str(script), str(scenario(tmp_path)), "reports"]
    process, console = start(tmp_path, command)
    got, _ = interrupt_during_load(tmp_path, process, console, sig)
    output = console.read_text()
    assert got == code, output
    assert f"raised {raised}: stress run interrupted" in output
    directory = run_dir(tmp_path)
    assert_no_invented_findings(directory)
    assert_interrupted(directory, sig.name)


def test_an_unreachable_target_leaves_a_run_dir_that_says_so(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = stress("run", str(scenario(tmp_path, url)), "--out", "reports", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    directory = run_dir(tmp_path)
    info = json.loads((directory / "run.json").read_text(encoding="utf-8"))
    assert info["aborted"].startswith("target unreachable")
    assert info["finished_at"] is not None
    reported = stress("report", str(directory), cwd=tmp_path)
    assert "INCOMPLETE: target unreachable" in reported.stdout + reported.stderr
    assert "killed" not in reported.stdout + reported.stderr
    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    assert {p["status"] for p in summary["phases"]} == {"not run"}
