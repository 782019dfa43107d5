"""Fixtures that start local servers for integration tests and stop exactly those processes."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FakeServer:
    url: str
    bodies: Path


@contextlib.contextmanager
def script_server(script: str, *args: str, health: str = "/health") -> Iterator[str]:
    """Run ``python tests/integration/SCRIPT PORT ARGS...`` on a free loopback port; yield its
    URL once ``health`` answers (at most 15 s); stop exactly that process afterwards."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(HERE / script), str(port), *args])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, script, health=health)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def reference_server(module: str, *args: str) -> Iterator[str]:
    """``python -m tests.reference.MODULE PORT ARGS...`` (a careful or careless reference
    server) on a free loopback port; yield its URL once /health answers; stop it by PID."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", f"tests.reference.{module}", str(port), *args], cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, f"tests.reference.{module}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def error_server(tmp_path: Path) -> Iterator[FakeServer]:
    """A local target that answers every POST with HTTP 500."""
    bodies = tmp_path / "bodies"
    with script_server("fake_server.py", "500", str(bodies)) as url:
        yield FakeServer(url, bodies)


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], name: str, *, health: str = "/health"
) -> None:
    """Wait (at most 15 s) until ``url`` + ``health`` answers with any status; RuntimeError if
    the server's ``process`` exits first or it never does."""
    deadline = time.monotonic() + 15
    while True:
        try:
            httpx.get(url + health, timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{name} did not start") from None
            time.sleep(0.05)


def stress(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the stress CLI in a child process (the way a user does), bounded in time.

    ``env`` adds variables to this process's environment for the child.
    """
    return subprocess.run(
        [sys.executable, "-m", "stress.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **(env or {})},
    )


@dataclass
class ModelServer:
    """tests/integration/model_server.py running on ``url``; ``log`` has one line a request."""

    url: str
    log: Path
    pid: int
    options: list[str] = field(default_factory=list)

    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]


@pytest.fixture
def model_server(tmp_path: Path) -> Iterator[Callable[..., ModelServer]]:
    """Start model servers with the given command-line options; each stops at the end."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*options: str) -> ModelServer:
        port = free_port()
        log = tmp_path / f"model-server-{port}.jsonl"
        process = subprocess.Popen(
            [sys.executable, str(HERE / "model_server.py"), str(port), str(log), *options]
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        # Any status (a 401 from a server that wants a key) shows it is up.
        wait_until_up(url, process, "model server")
        return ModelServer(url, log, process.pid, list(options))

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def error_findings(run_dir: Path) -> collections.Counter[str]:
    """Error-severity findings per check in a run's failures.jsonl."""
    found: collections.Counter[str] = collections.Counter()
    for line in (run_dir / "failures.jsonl").read_text().splitlines():
        for finding in json.loads(line)["findings"]:
            if finding["severity"] == "error":
                found[finding["check"]] += 1
    return found


def init_and_run(
    url: str,
    tmp_path: Path,
    protocol: str,
    model: str,
    target: dict[str, Any] | None = None,
    *,
    spawn_rate: int = 4,
) -> tuple[Path, dict[str, Any]]:
    """`stress init`, shortened (80 inputs; a 1 s baseline at 1 user, then 2 s at 4 users
    spawned ``spawn_rate`` a second; ``target`` keys set), `stress run`: the run directory
    and its summary."""
    path = tmp_path / "scenario.yaml"
    made = stress(
        *("init", url, "--protocol", protocol, "--model", model, "-o", str(path)),
        "--no-input",
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr + made.stdout
    scenario = yaml.safe_load(path.read_text())
    scenario["inputs"]["count"] = 80
    scenario["load"]["phases"] = [
        {"name": "baseline", "users": 1, "spawn_rate": 1, "duration": "1s"},
        {"name": "load", "users": 4, "spawn_rate": spawn_rate, "duration": "2s"},
    ]
    scenario["target"].update(target or {})
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    done = stress("run", str(path), "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr + done.stdout
    run_dir = Path(done.stdout.strip().splitlines()[0])
    return run_dir, json.loads((run_dir / "summary.json").read_text())
