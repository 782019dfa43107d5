"""`stress run` killed or interrupted for real, in subprocesses, against a server that counts.

SIGKILL of `stress run` at any moment: its children (the load process, a builtin server) die
with it, the load process first writes what it has, so the records lose at most the last
second of requests; `stress report` then works on the directory and says INCOMPLETE (killed).
SIGINT / SIGTERM: the load stops, the report is written, exit 130 / 143.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stress.demo.noop import NoopServer
from stress.record import read_records
from tests.integration.conftest import ROOT, stress

pytestmark = pytest.mark.slow

SCENARIO = """\
name: crash
target: {{url: "{url}", protocol: openai-chat, timeout: 5s, max_tokens: 8}}
inputs: {{seed: 5, count: 50, families: {{realistic.chat_prompt: 1}}}}
load:
  phases:
    - {{name: load, users: 4, spawn_rate: 100, duration: 30s}}
degradation: {{enabled: false}}
slo: {{error_rate: 1%}}
"""
# stress.preflight sends one valid request before the load to a target without a model list.
PREFLIGHT_POSTS = 1


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NoopServer]:
    # 20 ms an answer: about 200 requests/s from 4 users, a steady, countable stream.
    with NoopServer(delay_ms=20, log_path=tmp_path / "noop.log") as noop:
        yield noop


def posts(url: str) -> int:
    return int(httpx.get(url + "/stats", timeout=5).json()["posts"])


def start_run(tmp_path: Path, url: str) -> tuple[subprocess.Popen[str], Path]:
    scenario = tmp_path / "crash.yaml"
    scenario.write_text(SCENARIO.format(url=url), encoding="utf-8")
    console = tmp_path / "console.txt"
    with console.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "stress.cli", "run", str(scenario), "--out", "reports"],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    return process, console


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def wait_until(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:g}s: {what}")
        time.sleep(0.05)


def load_started(url: str, process: subprocess.Popen[str], console: Path) -> None:
    def started() -> bool:
        assert process.poll() is None, console.read_text()
        return posts(url) > PREFLIGHT_POSTS

    wait_until(started, 60, "the load began")


def end(process: subprocess.Popen[str] | subprocess.Popen[bytes], kids: list[int]) -> None:
    """Cleanup after a failed assertion: the run and the children it started, by PID."""
    if process.poll() is None:
        process.kill()
        process.wait()
    for pid in kids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def run_dir(tmp_path: Path) -> Path:
    (found,) = (tmp_path / "reports").iterdir()
    return found


@pytest.mark.parametrize("after", [2.0, 5.0])
def test_sigkill_keeps_all_but_the_last_second_and_report_says_killed(
    tmp_path: Path, server: NoopServer, after: float
) -> None:
    process, console = start_run(tmp_path, server.url)
    kids: list[int] = []
    try:
        load_started(server.url, process, console)
        time.sleep(after)
        kids = children(process.pid)
        assert kids, "the load process runs as a child of stress run"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        # The load process gets SIGTERM from the kernel, finishes its requests in flight,
        # writes its records and exits: no orphan keeps loading the target.
        wait_until(lambda: not any(alive(pid) for pid in kids), 15, f"children {kids} exited")
    finally:
        end(process, kids)
    sent = posts(server.url) - PREFLIGHT_POSTS
    directory = run_dir(tmp_path)
    records = read_records(directory / "records", columns=["sent_at", "latency_ms"])
    survived = records.num_rows
    frame = records.to_pandas()
    span = frame["sent_at"].max() - frame["sent_at"].min()
    rate = survived / span
    lost = sent - survived
    print(
        f"\nSIGKILL after {after:g}s of load: {survived} records survived of {sent} requests "
        f"the server saw ({lost} lost; {rate:.0f} requests/s, so 1 s = {rate:.0f} requests)"
    )
    assert survived > 0
    assert 0 <= lost <= rate * 1.0, (survived, sent, rate)
    info = json.loads((directory / "run.json").read_text())
    assert info["complete"] is False
    assert info["finished_at"] is None
    assert not (directory / "summary.json").exists()

    # What a SIGKILL in the middle of writing a part leaves: a temporary file, ignored.
    (directory / "records" / "w0-999999.parquet.tmp").write_bytes(b"PAR1\x00\x01 cut off")
    reported = stress("report", str(directory), cwd=tmp_path)
    assert reported.returncode in (0, 1), reported.stderr
    assert "Traceback" not in reported.stderr
    assert "INCOMPLETE: killed" in reported.stderr
    summary = json.loads((directory / "summary.json").read_text())
    assert summary["complete"] is False
    assert summary["incomplete"].startswith("INCOMPLETE: killed")
    assert summary["totals"]["requests"] == survived
    page = (directory / "report.html").read_text(encoding="utf-8")
    assert "INCOMPLETE (killed)" in page
    # The orphaned load process knew why it was stopped: not "interrupted".
    assert "stress run was killed; the load process stopped with it" in page
    assert "(INCOMPLETE)" in (directory / "summary.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigint_and_sigterm_stop_the_load_and_write_the_report(
    tmp_path: Path, server: NoopServer, sig: signal.Signals, code: int
) -> None:
    process, console = start_run(tmp_path, server.url)
    kids: list[int] = []
    try:
        load_started(server.url, process, console)
        time.sleep(1.5)
        kids = children(process.pid)
        began = time.monotonic()
        process.send_signal(sig)
        assert process.wait(timeout=60) == code, console.read_text()
        stopped_in = time.monotonic() - began
    finally:
        end(process, kids)
    assert not any(alive(pid) for pid in kids)
    output = console.read_text()
    assert "interrupted: stopping the load and writing the report" in output
    assert f"INCOMPLETE: interrupted by {sig.name}" in output
    assert "Traceback" not in output
    directory = run_dir(tmp_path)
    info = json.loads((directory / "run.json").read_text())
    assert info["complete"] is False
    assert info["interrupted"] == sig.name
    summary = json.loads((directory / "summary.json").read_text())
    assert summary["incomplete"].startswith(f"INCOMPLETE: interrupted by {sig.name}")
    # Every request the server answered is accounted for: recorded, or (answered after the
    # stop instant, so not judged) counted in load.json's after_stop; none is sent after it.
    after_stop = json.loads((directory / "load.json").read_text())["after_stop"]
    assert summary["totals"]["requests"] + after_stop == posts(server.url) - PREFLIGHT_POSTS
    assert after_stop <= 4  # at most one request in flight per user
    assert "INCOMPLETE (interrupted)" in (directory / "report.html").read_text(encoding="utf-8")
    assert (directory / "junit.xml").exists()
    # A 30 s phase, stopped well before its end: the signal came 1.5 s into the load and
    # the drain waits at most one timeout (5 s). On the run's own clock (the records), with
    # a margin of 18 s for a loaded machine; a load that ignored the signal would span 30 s.
    sent = read_records(directory / "records", columns=["sent_at"]).to_pandas()["sent_at"]
    assert sent.max() - sent.min() < 25, stopped_in


def test_sigkill_takes_the_builtin_demo_server_and_the_load_process_with_it(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "demo.yaml"
    scenario.write_text(
        SCENARIO.format(url="builtin:demo").replace("duration: 30s", "duration: 60s"),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "stress.cli", "run", str(scenario), "--out", "reports"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    kids: list[int] = []
    try:
        # Both children up: the demo server, then the load process.
        wait_until(lambda: len(children(process.pid)) >= 2, 90, "demo server and load started")
        kids = children(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        wait_until(lambda: not any(alive(pid) for pid in kids), 15, f"children {kids} exited")
    finally:
        end(process, kids)
