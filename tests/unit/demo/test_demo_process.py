"""DemoServerProcess: a real `python -m stress.demo` child, started and stopped."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from stress.demo.process import DemoServerProcess


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_process_serves_and_is_gone_after_exit(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    with DemoServerProcess(log_path=log, slots=2, quirks=False) as demo:
        pid = demo.pid
        assert demo.url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=demo.url, trust_env=False) as http:
            assert http.get("/health").json()["slots"] == 2
            nul = {"messages": [{"role": "user", "content": "\u0000"}]}
            assert http.post("/v1/chat/completions", json=nul).status_code == 400  # no quirks
        assert pid_exists(pid)
    assert not pid_exists(pid)
    assert log.read_text() == ""  # the server prints nothing at log level warning


def test_process_that_dies_raises_naming_the_log(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    with (
        pytest.raises(RuntimeError, match=f"exited with code 2.*{log}"),
        DemoServerProcess(log_path=log, slots=0),
    ):
        pass
    assert "slots: expected a positive integer" in log.read_text()
