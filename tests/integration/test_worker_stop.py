"""The after_stop rule on Locust workers: a signal to `stress run --workers 1` reaches the
master, which tells its worker the stop instant; the worker sends nothing after it, and an
answer that arrives after it is not judged or recorded, only counted (load.json after_stop),
as a single load process does. A server that holds each answer 1.5 s makes every request in
flight at the signal arrive after it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stress.demo.noop import NoopServer
from tests.integration.test_crash_safety import (
    PREFLIGHT_POSTS,
    alive,
    children,
    end,
    load_started,
    posts,
    run_dir,
)

pytestmark = pytest.mark.slow

SCENARIO = """\
name: workers-stop
target: {{url: "{url}", protocol: openai-chat, timeout: 5s, max_tokens: 8}}
inputs: {{seed: 5, count: 20, families: {{realistic.chat_prompt: 1}}}}
load:
  phases:
    - {{name: load, users: 4, spawn_rate: 100, duration: 30s}}
degradation: {{enabled: false}}
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NoopServer]:
    with NoopServer(delay_ms=1500, log_path=tmp_path / "noop.log") as noop:
        yield noop


def test_a_worker_judges_nothing_after_the_stop_instant(tmp_path: Path, server: NoopServer) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO.format(url=server.url), encoding="utf-8")
    console = tmp_path / "console.txt"
    command = [sys.executable, "-m", "stress.cli", "run", str(scenario), "--out", "reports"]
    with console.open("w") as out:
        process = subprocess.Popen(
            [*command, "--workers", "1"],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    kids: list[int] = []
    try:
        load_started(server.url, process, console)
        time.sleep(2.5)  # answers keep coming every 1.5 s; four are in flight at any time
        kids = children(process.pid)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=90) == 130, console.read_text()
    finally:
        end(process, kids)
    assert not any(alive(pid) for pid in kids)
    directory = run_dir(tmp_path)
    load = json.loads((directory / "load.json").read_text())
    assert load["mode"] == "distributed"
    summary = json.loads((directory / "summary.json").read_text())
    # The requests in flight at the signal were answered after it: counted, not recorded.
    assert 1 <= load["after_stop"] <= 4, load["after_stop"]
    # Every answered request is accounted for once: recorded, or counted after the stop.
    assert summary["totals"]["requests"] + load["after_stop"] == posts(server.url) - PREFLIGHT_POSTS
