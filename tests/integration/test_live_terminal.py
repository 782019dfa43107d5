"""The live view in a real terminal: `stress run` in a tmux pane, captured mid-run.

tmux (Debian's package; .ci/run installs it) runs on a socket of this test's own, so the
session it kills is only the one it started; its pane is 80 columns wide, a terminal's
default. The pane is read with `tmux capture-pane -p`
until the live view shows the load phase with a failing check, then again once the run has
ended: the live view is gone and the summary follows.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("tmux") is None,
        reason="tmux is not installed (.ci/run installs it: apt-get install -y tmux)",
    ),
]

# The demo server answers inputs with NUL bytes with an HTTP 500: a failing check early on.
SCENARIO = """\
name: live
target: {url: "builtin:demo", protocol: openai-chat, timeout: 10s, max_tokens: 16}
inputs:
  seed: 7
  count: 120
  families: {realistic.chat_prompt: 1, unicode.null_bytes: 1}
load:
  phases:
    - {name: warm, users: 2, spawn_rate: 2, duration: 2s}
    - {name: load, users: 4, spawn_rate: 4, duration: 12s}
slo: {error_rate: 1%, p95_ms: 5000}
"""

DONE = "STRESS-EXIT="


def tmux(socket: str, *args: str) -> str:
    result = subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10, check=True
    )
    return result.stdout


def wait_for(socket: str, session: str, seconds: float, ready: re.Pattern[str]) -> str:
    """The pane (with its scrollback) once ``ready`` matches it, polled for ``seconds``."""
    deadline = time.monotonic() + seconds
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux(socket, "capture-pane", "-p", "-S", "-300", "-t", session)
        if ready.search(screen):
            return screen
        time.sleep(0.3)
    raise AssertionError(f"the pane never matched {ready.pattern!r}; it shows:\n{screen}")


def test_the_live_view_shows_progress_eta_figures_and_failures_in_a_terminal(
    tmp_path: Path,
) -> None:
    (tmp_path / "live.yaml").write_text(SCENARIO, encoding="utf-8")
    command = (
        f"cd {shlex.quote(str(tmp_path))} && "
        f"PYTHONPATH={shlex.quote(str(ROOT))} {shlex.quote(sys.executable)} -m stress.cli "
        f"run live.yaml --out reports; echo {DONE}$?; sleep 120"
    )
    socket = f"stress-live-test-{os.getpid()}"
    session = "live"
    tmux(socket, "new-session", "-d", "-s", session, "-x", "80", "-y", "24", command)
    try:
        mid = wait_for(
            socket, session, 90, re.compile(r"phase load .*ETA[\s\S]*failing families: ")
        )
        live = mid[mid.index("phase load ━") :]
        assert re.search(r"phase load ━+[╸╺]?━*\s+\d+% 0:\d\d of 0:12 ETA 0:\d\d", live), live
        figures, errors = live.splitlines()[1:3]
        assert re.search(r"users 4 +[\d.]+ requests/s", figures), figures
        assert re.search(r"p50 \d+ ms  p95 \d+ ms \(SLO 5000 ms\)", figures), figures
        assert re.search(r"errors [\d.]+% \(SLO 1\.00%\)  \d+ of [\d,]+ requests", errors)
        assert "failing checks: not_a_server_error " in live
        assert "failing families: unicode.null_bytes " in live
        assert "users    4  rps" not in mid  # the plain progress lines are not printed
        end = wait_for(socket, session, 120, re.compile(DONE + r"\d"))
        after = end[end.index("phase load: 4 users") :]
        assert "ETA" not in after  # the live view left no frame behind ...
        assert "load done: " in after  # ... and the lines and the summary follow it
        assert re.search(r"FAILED  report: .*report\.html", after)
        assert f"{DONE}1" in after
    finally:
        subprocess.run(
            ["tmux", "-L", socket, "kill-session", "-t", session], capture_output=True, timeout=10
        )
