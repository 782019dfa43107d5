"""Start a real third-party model server for the tests in tests/real, and stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx

STARTUP_SECONDS = 120


@contextlib.contextmanager
def serving(
    command: Sequence[str],
    url: str,
    ready: str,
    log_path: Path,
    *,
    name: str,
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Run ``command`` in a process group of its own (servers start children), logging to
    ``log_path``; yield ``url`` once GET ``url + ready`` answers 200 (RuntimeError naming the
    log if it does not within STARTUP_SECONDS); stop that whole group afterwards."""
    with log_path.open("w") as log:
        server = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                try:
                    if httpx.get(url + ready, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"{name} did not start; see {log_path}")
                time.sleep(0.2)
            yield url
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
