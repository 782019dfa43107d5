"""Run the demo server in a child process for a run whose target is `builtin:demo`.

    with DemoServerProcess(log_path=run_dir / "demo-server.log") as demo:
        run_load_against(demo.url)   # "http://127.0.0.1:<port>"

The server runs in its own process, not a thread, so that its CPU work does not share a GIL
with the load generator and stopping it is a clean process exit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

from stress.lifeline import die_with_parent

__all__ = ["DemoServerProcess"]

# Short enough that start-up is noticed within a few tens of milliseconds of being ready.
_POLL_INTERVAL = 0.05
_STOP_TIMEOUT = 5.0


class DemoServerProcess:
    """Start `python -m stress.demo` on a free loopback port; stop exactly that process.

    `log_path` receives the server's stdout and stderr (appended); None discards them.
    Entering waits until ``GET /health`` answers 200, at most `startup_timeout` seconds,
    and raises RuntimeError naming the log file if the server exits or never gets ready.
    """

    def __init__(
        self,
        *,
        slots: int = 4,
        token_ms: float = 1.0,
        max_queue: int = 256,
        quirks: bool = True,
        log_path: Path | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.slots = slots
        self.token_ms = token_ms
        self.max_queue = max_queue
        self.quirks = quirks
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. "http://127.0.0.1:51234"."""
        if self.port is None:
            raise RuntimeError("the demo server is not running; use DemoServerProcess as `with`")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """Process id of the server."""
        if self._process is None:
            raise RuntimeError("the demo server is not running; use DemoServerProcess as `with`")
        return self._process.pid

    def __enter__(self) -> DemoServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and wait until it is healthy (what `with` does on entry)."""
        if self._process is not None:
            raise RuntimeError("the demo server is already running")
        self.port = _free_port()
        command = [
            sys.executable,
            "-m",
            "stress.demo",
            "--port",
            str(self.port),
            "--slots",
            str(self.slots),
            "--token-ms",
            str(self.token_ms),
            "--max-queue",
            str(self.max_queue),
        ]
        if not self.quirks:
            command.append("--no-quirks")
        output: IO[bytes] | int = subprocess.DEVNULL
        if self.log_path is not None:
            self._log = output = self.log_path.open("ab")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            env=_child_env(),
            # Its own session (setsid): a Ctrl-C at the terminal, or a SIGINT to the whole
            # process group of a background job, reaches `stress run` and not this server,
            # which is stopped only after the load (stop()).
            start_new_session=True,
            # SIGTERM when whoever started it dies, even by SIGKILL: no orphaned server.
            preexec_fn=die_with_parent(),
        )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 5 s); safe to call twice."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _wait_healthy(self) -> None:
        assert self._process is not None
        health = f"{self.url}/health"
        deadline = time.monotonic() + self.startup_timeout
        where = (
            f"see {self.log_path}"
            if self.log_path is not None
            else "pass log_path to DemoServerProcess to capture its output"
        )
        # trust_env=False: an HTTP(S)_PROXY from the environment must not capture loopback.
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while True:
                code = self._process.poll()
                if code is not None:
                    raise RuntimeError(
                        f"the demo server exited with code {code} before it was ready; {where}"
                    )
                try:
                    if client.get(health).status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the demo server did not answer GET {health} with 200 within"
                        f" {self.startup_timeout:g} s; {where}"
                    )
                time.sleep(_POLL_INTERVAL)


def _free_port() -> int:
    """A loopback port that was free a moment ago.

    The port is released before the child binds it, so another process could take it in
    between; on a loopback interface that race is rare, and the child then exits with
    "address already in use" in its log, which start() reports.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _child_env() -> dict[str, str]:
    """The parent's environment, with this package importable even when not installed."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # the directory holding stress/
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = package_root if not existing else os.pathsep.join([package_root, existing])
    return env
