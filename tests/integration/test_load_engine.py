"""The load engine end to end: workers, open loop, sweeps, a lost worker. Real Locust, real
servers on loopback (the bundled no-op target), short phases."""

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
import numpy as np
import pytest

from stress.demo.noop import NoopServer
from stress.inputs import corpus as corpus_io
from stress.prepare import prepare
from stress.record import read_records
from stress.rundir import layout
from stress.rundir.write import write_lines, write_text, write_traces
from tests.integration.conftest import free_port, stress

pytestmark = pytest.mark.slow

SCENARIO = """\
name: engine
target: {{url: "{url}", protocol: openai-chat, timeout: 5s, max_tokens: 8}}
inputs: {{seed: 5, count: 30, families: {{realistic.chat_prompt: 1}}}}
load:
  phases:
{phases}
slo: {{error_rate: 1%}}
"""

# stress.preflight sends one valid request before the load to targets without a model list.
PREFLIGHT_POSTS = 1


def scenario(tmp_path: Path, url: str, phases: str) -> Path:
    path = tmp_path / "engine.yaml"
    path.write_text(SCENARIO.format(url=url, phases=phases), encoding="utf-8")
    return path


def run_dir_of(stdout: str) -> Path:
    return Path(stdout.strip().splitlines()[-1])


def posts(url: str) -> int:
    return int(httpx.get(url + "/stats", timeout=5).json()["posts"])


@pytest.fixture
def noop(tmp_path: Path) -> Iterator[NoopServer]:
    with NoopServer(log_path=tmp_path / "noop.log") as server:
        yield server


@pytest.fixture
def slow_noop(tmp_path: Path) -> Iterator[NoopServer]:
    with NoopServer(delay_ms=50, log_path=tmp_path / "noop.log") as server:
        yield server


def test_two_local_workers_deliver_every_record_exactly_once(
    tmp_path: Path, noop: NoopServer
) -> None:
    phases = (
        "    - {name: closed, users: 4, spawn_rate: 40, duration: 2s}\n"
        "    - {name: open, rate: 150, arrival: poisson, duration: 2s, max_in_flight: 8}\n"
    )
    result = stress(
        "run",
        str(scenario(tmp_path, noop.url, phases)),
        "--workers",
        "2",
        "--out",
        str(tmp_path / "reports"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    run_dir = run_dir_of(result.stdout)
    records = read_records(run_dir / "records").to_pandas()
    # Every request the target answered is recorded, once: no loss, no duplicate.
    # The target saw every recorded request once, plus the one valid request of the preflight
    # probe (the no-op target lists no models, so the probe sends a request).
    assert len(records) + PREFLIGHT_POSTS == posts(noop.url)
    assert not records.duplicated(["worker", "seq"]).any()
    assert set(records["worker"]) == {1, 2}
    load = json.loads((run_dir / "load.json").read_text())
    assert load["mode"] == "distributed"
    for worker in load["workers"]:
        mine = records[records["worker"] == worker["worker"]]
        # Each worker numbers its requests 1..n and the master got all n of them.
        assert sorted(mine["seq"]) == list(range(1, len(mine) + 1))
        assert worker["written"] == len(mine) == worker["records"]
        assert not worker["lost"]
    # Each worker says where its time per request went (stress.load.stagetime).
    for process in load["processes"][1:]:
        stages = process["time_us"]
        assert stages["sampled"] >= 1, process
        assert all(stages[stage] > 0 for stage in ("parse", "checks", "record", "cpu")), process
    # The workers split the corpus between them.
    inputs = [set(records.loc[records["worker"] == w, "input_id"]) for w in (1, 2)]
    assert not inputs[0] & inputs[1]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["totals"]["requests"] == len(records)
    assert summary["load"]["lost_workers"] == []
    assert "worker 2 joined" in result.stderr


def test_open_loop_latency_counts_from_the_intended_send_time(
    tmp_path: Path, slow_noop: NoopServer
) -> None:
    phases = "    - {name: open, rate: 50, duration: 3s, max_in_flight: 20}\n"
    result = stress(
        "run",
        str(scenario(tmp_path, slow_noop.url, phases)),
        "--out",
        str(tmp_path / "reports"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    run_dir = run_dir_of(result.stdout)
    records = read_records(run_dir / "records").to_pandas().sort_values("intended_at")
    assert len(records) == 150  # constant arrivals: exactly rate × duration
    gaps = np.diff(records["intended_at"].to_numpy())
    assert gaps == pytest.approx(0.02, abs=1e-4)
    assert (records["offered_rate"] == 50).all()
    assert (records["latency_ms"] >= records["service_ms"] - 1e-6).all()
    assert np.median(records["latency_ms"]) == pytest.approx(50, abs=5)
    assert not records["late"].any()  # 20 slots, 2.5 in flight on average
    summary = json.loads((run_dir / "summary.json").read_text())
    phase = summary["phases"][0]
    assert phase["offered_rps"] == pytest.approx(50, rel=0.02)
    assert phase["rps"] == pytest.approx(50, rel=0.05)
    assert phase["late"] == 0
    assert phase["unsent"] == 0


def test_a_sweep_finds_the_rate_the_target_sustains(tmp_path: Path, slow_noop: NoopServer) -> None:
    # 4 slots × 50 ms: the target (with its in-flight cap) can answer 80 requests/s.
    phases = (
        "    - {name: sweep, kind: sweep, start_rate: 30, rate: 150, steps: 5,"
        " step_duration: 1500ms, max_in_flight: 4, until: {p95_ms: 150}}\n"
        "    - {name: after, users: 1, duration: 1s}\n"
    )
    result = stress(
        "run",
        str(scenario(tmp_path, slow_noop.url, phases)),
        "--out",
        str(tmp_path / "reports"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir_of(result.stdout) / "summary.json").read_text())
    sweep = summary["sweep"]
    assert sweep["max_sustainable_rps"] == 60
    assert [s["offered_rps"] for s in sweep["steps"]][:3] == [30, 60, 90]
    assert [s["passed"] for s in sweep["steps"]][:3] == [True, True, False]
    assert sweep["stopped"] == "broken"
    assert sweep["steps"][2]["late"] > 0  # the slots were all busy
    assert "sweep 'sweep': holds the limits up to 60 requests/s" in result.stderr
    assert [p["name"] for p in summary["phases"]] == ["sweep", "after"]
    assert summary["phases"][1]["requests"] > 0  # the run went on after the sweep


def test_a_lost_worker_is_reported_and_the_run_goes_on(tmp_path: Path, noop: NoopServer) -> None:
    phases = "    - {name: load, rate: 100, duration: 6s, max_in_flight: 8}\n"
    path = scenario(tmp_path, noop.url, phases)
    command = [
        sys.executable,
        "-m",
        "stress.cli",
        "run",
        str(path),
        "--workers",
        "2",
        "--out",
        str(tmp_path / "reports"),
    ]
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    pids: dict[int, int] = {}
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert process.stderr is not None
    try:
        for line in process.stderr:
            lines.append(line)
            if "joined" in line:
                number = int(line.split()[1])
                pids[number] = int(line.rsplit("pid", 1)[1].strip(" )\n"))
            if "phase load" in line and 2 in pids:
                time.sleep(1.5)
                os.kill(pids[2], signal.SIGKILL)  # a worker started for this test
                break
            assert time.monotonic() < deadline
        out, err = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = "".join(lines) + err
    assert process.returncode == 0, stderr
    assert "worker 2 lost" in stderr
    run_dir = run_dir_of(out)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["load"]["lost_workers"][0].startswith("worker 2 ")
    records = read_records(run_dir / "records").to_pandas()
    by_worker = records.groupby("worker").size().to_dict()
    assert by_worker[2] > 0  # what it shipped before it died is kept
    # Worker 1 took over the whole rate after the loss: the phase still sent about 600.
    assert len(records) == pytest.approx(600, rel=0.1)


def test_workers_join_from_other_processes_with_stress_worker_and_locust(
    tmp_path: Path, noop: NoopServer
) -> None:
    port = free_port()
    phases = "    - {name: load, rate: 60, duration: 2s, max_in_flight: 4}\n"
    path = scenario(tmp_path, "http://127.0.0.1:9", phases)  # unreachable: --target wins
    master = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stress.cli",
            "run",
            str(path),
            "--target",
            noop.url,
            "--expect-workers",
            "2",
            "--master-bind",
            f"127.0.0.1:{port}",
            "--out",
            str(tmp_path / "reports"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Locust's own command line with the stress locustfile, as Kubernetes tooling runs it.
    locustfile = Path(__file__).resolve().parents[2] / "stress" / "load" / "locustfile.py"
    locust = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(locustfile),
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(port),
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        joined = stress(
            "worker", "--master", f"127.0.0.1:{port}", "--target", noop.url, cwd=tmp_path
        )
        out, err = master.communicate(timeout=120)
        locust_err = locust.communicate(timeout=30)[1]
    finally:
        for process in (master, locust):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert master.returncode == 0, err
    assert joined.returncode == 0, joined.stderr
    assert locust.returncode == 0, locust_err
    assert "start 2 more with `stress worker --master <this host>:" in err
    records = read_records(run_dir_of(out) / "records").to_pandas()
    assert set(records["worker"]) == {1, 2}
    assert len(records) == posts(noop.url) - PREFLIGHT_POSTS == 120


def test_workers_that_never_join_stop_the_run_with_exit_3(tmp_path: Path) -> None:
    phases = "    - {name: load, rate: 10, duration: 1s}\n"
    result = stress(
        "run",
        str(scenario(tmp_path, "builtin:noop", phases)),
        "--expect-workers",
        "1",
        "--master-bind",
        f"127.0.0.1:{free_port()}",
        "--join-timeout",
        "1s",
        "--out",
        str(tmp_path / "reports"),
        cwd=tmp_path,
    )
    assert result.returncode == 3, result.stderr
    assert "--workers: 0 of 1 workers joined within 1s; no load was sent" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_load_process_takes_a_trace_s_times_from_traces_json_not_the_log(
    tmp_path: Path, noop: NoopServer
) -> None:
    log = tmp_path / "trace.txt"
    log.write_text("0\n1\n2\n", encoding="utf-8")
    phases = "    - {name: replay, kind: trace, path: trace.txt, speed: 10}\n"
    prepared = prepare(scenario(tmp_path, noop.url, phases))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_text(layout.scenario(run_dir), prepared.scenario.to_yaml())
    write_lines(layout.corpus(run_dir), map(corpus_io.to_line, prepared.corpus()))
    # Five arrivals where the log has three: what the load sends shows which one it read.
    write_traces(run_dir, {"replay": [0.0, 0.02, 0.04, 0.06, 0.08]}, {})
    log.unlink()  # rotated away before the load starts
    before = posts(noop.url)
    result = subprocess.run(
        [sys.executable, "-m", "stress.load", str(run_dir), noop.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert posts(noop.url) - before == 5
    assert read_records(layout.records(run_dir)).num_rows == 5
