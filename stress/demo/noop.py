"""A no-op target: answers every request at once with a canned, valid answer (asyncio, raw HTTP).

It exists to measure the tester, not a model: `stress bench` and the benchmarks load it to
find this machine's ceiling, and the latency benchmarks give it a known fixed delay (and a
stall) so the measured latency can be compared with the truth. It speaks just enough
HTTP/1.1 (keep-alive, Content-Length bodies) for the load engine; it is not a general server.

    python -m stress.demo.noop --port 8001 [--delay-ms 20] [--stall-at 4 --stall-for 1]

POST /invocations answers an MLflow prediction, any other POST an OpenAI chat completion;
GET /stats answers ``{"posts": <POSTs answered so far>, "hold_ms_p50": <median real delay>}``
and any other GET
``{"status": "ok"}``. ``--stall-at S --stall-for D``: the answers to requests
arriving in [S, S + D) seconds after the first POST are all held until S + D, as a server
that froze for D seconds would do.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from stress.lifeline import die_with_parent

CHAT = json.dumps(
    {
        "id": "noop",
        "object": "chat.completion",
        "model": "noop",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
).encode()
MLFLOW = b'{"predictions": [0]}'
HEALTH = b'{"status": "ok"}'

# A request head larger than this is refused: the no-op target must not grow without bound.
MAX_HEAD_BYTES = 64 * 1024


def response(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


ANSWERS = {"chat": response(CHAT), "mlflow": response(MLFLOW), "health": response(HEALTH)}
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Timing:
    """When to answer: after a fixed delay, and never inside the stall window."""

    def __init__(self, *, delay_s: float, stall_at: float | None, stall_for: float) -> None:
        self.delay_s = delay_s
        self.stall_at = stall_at
        self.stall_for = stall_for
        self.first: float | None = None
        # POST requests answered so far (GET /stats): tests count what really arrived.
        self.posts = 0
        # How long delayed answers were really held, in ms (the most recent million).
        self.holds: collections.deque[float] = collections.deque(maxlen=1_000_000)

    def answer_at(self, arrived: float) -> float:
        """Monotonic time at which a request that arrived at ``arrived`` is answered."""
        if self.first is None:
            self.first = arrived
        due = arrived + self.delay_s
        if self.stall_at is not None:
            start = self.first + self.stall_at
            end = start + self.stall_for
            if start <= arrived < end:
                due = max(due, end)
        return due


class NoopProtocol(asyncio.Protocol):
    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD_BYTES:
                    self._refuse()
                return
            head = self.buffer[:end]
            length = 0
            marker = head.lower().find(b"\r\ncontent-length:")
            if marker >= 0:
                line_end = head.find(b"\r\n", marker + 2)
                value = head[marker + 17 : line_end if line_end >= 0 else len(head)]
                try:
                    length = int(value.strip())
                except ValueError:
                    self._refuse()
                    return
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self._answer(head)

    def _answer(self, head: bytes) -> None:
        if head.startswith(b"GET /stats"):
            holds = sorted(self.timing.holds)
            median = holds[len(holds) // 2] if holds else None
            body = json.dumps({"posts": self.timing.posts, "hold_ms_p50": median}).encode()
            answer = response(body)
        elif head.startswith(b"GET"):
            answer = ANSWERS["health"]
        elif head.startswith(b"POST /invocations"):
            answer = ANSWERS["mlflow"]
        else:
            answer = ANSWERS["chat"]
        if head.startswith(b"POST"):
            self.timing.posts += 1
        assert self.transport is not None
        if self.timing.delay_s <= 0 and self.timing.stall_at is None:
            self.transport.write(answer)
            return
        now = time.monotonic()
        wait = self.timing.answer_at(now) - now
        loop = asyncio.get_running_loop()
        loop.call_later(max(wait, 0.0), self._write, answer, now)

    def _write(self, answer: bytes, arrived: float) -> None:
        # The delay this answer really got (timers fire up to a millisecond late): the
        # truth a latency measurement is compared with.
        self.timing.holds.append((time.monotonic() - arrived) * 1000)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer)

    def _refuse(self) -> None:
        assert self.transport is not None
        self.transport.write(BAD_REQUEST)
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(
    host: str, port: int, *, delay_ms: float = 0.0, stall_at: float | None, stall_for: float
) -> None:
    timing = Timing(delay_s=delay_ms / 1000, stall_at=stall_at, stall_for=stall_for)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: NoopProtocol(timing), host, port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


class NoopServer:
    """``python -m stress.demo.noop`` on a free loopback port, for a ``with`` block.

    Entering waits until it answers (RuntimeError naming the log after ``startup_timeout``);
    leaving stops exactly that process (SIGTERM, then SIGKILL).
    """

    def __init__(
        self,
        *,
        delay_ms: float = 0.0,
        stall_at: float | None = None,
        stall_for: float = 0.0,
        log_path: Path | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.delay_ms = delay_ms
        self.stall_at = stall_at
        self.stall_for = stall_for
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> NoopServer:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        command = [sys.executable, "-m", "stress.demo.noop", "--port", str(self.port)]
        command += ["--delay-ms", str(self.delay_ms)]
        if self.stall_at is not None:
            command += ["--stall-at", str(self.stall_at), "--stall-for", str(self.stall_for)]
        log = self.log_path.open("ab") if self.log_path is not None else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                # Its own session: a Ctrl-C at the terminal (SIGINT to the foreground process
                # group) reaches `stress run`, which stops the load first, then this server.
                start_new_session=True,
                preexec_fn=die_with_parent(),  # no orphaned server if we are SIGKILLed
            )
        finally:
            if not isinstance(log, int):
                log.close()
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    where = self.log_path or "its output"
                    raise RuntimeError(f"the no-op server did not start; see {where}") from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stress.demo.noop", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--stall-at", type=float, default=None)
    parser.add_argument("--stall-for", type=float, default=0.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(
                args.host,
                args.port,
                delay_ms=args.delay_ms,
                stall_at=args.stall_at,
                stall_for=args.stall_for,
            )
        )


if __name__ == "__main__":
    main()
