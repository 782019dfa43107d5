"""Fixtures that start local servers for integration tests and stop exactly those processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

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


@pytest.fixture
def error_server(tmp_path: Path) -> Iterator[FakeServer]:
    """A local target that answers every POST with HTTP 500."""
    port = free_port()
    bodies = tmp_path / "bodies"
    process = subprocess.Popen(
        [sys.executable, str(HERE / "fake_server.py"), str(port), "500", str(bodies)]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("fake server did not start") from None
                time.sleep(0.05)
        yield FakeServer(url, bodies)
    finally:
        process.terminate()
        process.wait(timeout=10)


def stress(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the stress CLI in a child process (the way a user does), bounded in time."""
    return subprocess.run(
        [sys.executable, "-m", "stress.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
    )
