"""stress.httpread: httpx reads bounded in time and size, failures named as the load names them.

The time bound is tested against a real socket on 127.0.0.1 (a thread of this test) that
dribbles its answer: httpx's own timeouts, per read, never end such an answer.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpcore
import httpx
import pytest

from stress import errorkinds, httpread

MiB = 1024 * 1024


def chain(outer: Exception, *causes: BaseException) -> Exception:
    current: BaseException = outer
    for cause in causes:
        current.__cause__ = cause
        current = cause
    return outer


@pytest.mark.parametrize(
    ("error", "answered", "kind"),
    [
        (httpx.ReadTimeout("x"), False, "timeout"),
        (httpx.ConnectTimeout("x"), False, "timeout"),
        (httpx.ReadTimeout("x"), True, "hang"),
        (
            chain(httpx.ConnectError("x"), httpcore.ConnectError("x"), ConnectionRefusedError()),
            False,
            "connection_refused",
        ),
        (
            chain(httpx.ConnectError("x"), socket.gaierror("no such host")),
            False,
            "connection_error",
        ),
        (chain(httpx.ReadError("x"), ConnectionResetError()), False, "connection_reset"),
        (httpx.ReadError("x"), True, "connection_reset"),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            False,
            "connection_reset",
        ),
        (
            httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body: "
                "incomplete chunked read"
            ),
            True,
            "connection_reset",
        ),
        (
            httpx.RemoteProtocolError("illegal status line: bytearray(b'\\x00\\x01')"),
            False,
            "invalid_http",
        ),
        (httpx.UnsupportedProtocol("x"), False, "connection_error"),
    ],
)
def test_classify_names_httpx_failures_as_the_load_does(
    error: httpx.HTTPError, answered: bool, kind: str
) -> None:
    assert httpread.classify(error, answered=answered) == kind
    assert kind in errorkinds.ERROR_KINDS


def mock(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(base_url="http://target", transport=httpx.MockTransport(handler))


def test_send_stops_reading_at_max_bytes() -> None:
    with mock(lambda request: httpx.Response(200, content=b"y" * 5000)) as client:
        reply = httpread.send(
            client, "POST", "/", content=b"{}", headers={}, timeout=5, max_bytes=4096
        )
    assert (reply.status, reply.error_kind, len(reply.body)) == (200, "body_too_large", 4096)
    with mock(lambda request: httpx.Response(200, content=b"y" * 4096)) as client:
        reply = httpread.send(
            client, "POST", "/", content=b"{}", headers={}, timeout=5, max_bytes=4096
        )
    assert (reply.error_kind, len(reply.body)) == (None, 4096)


def test_send_names_a_refused_connection() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", transport=httpread.transport()) as c:
            reply = httpread.send(c, "GET", "/", content=b"", headers={}, timeout=2, max_bytes=MiB)
    assert (reply.status, reply.error_kind) == (0, "connection_refused")


def serve_once(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A one-connection server thread on 127.0.0.1: reads the request, then ``answer``."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def run() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            try:
                while not stop.is_set():
                    answer(connection)
            except OSError:
                pass  # the client went away

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)


DRIBBLED: list[int] = []


@pytest.fixture
def dribbling() -> Iterator[str]:
    """A status line, then a header byte every 0.1 s, for ever (each read well in time);
    DRIBBLED counts the bytes sent until the client went away."""
    started = []
    DRIBBLED.clear()

    def answer(connection: socket.socket) -> None:
        if not started:
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            started.append(True)
        connection.sendall(b"X")
        DRIBBLED.append(1)
        time.sleep(0.1)

    yield from serve_once(answer)


@pytest.fixture
def endless() -> Iterator[str]:
    """A chunked 200 whose chunks never end."""
    started = []

    def answer(connection: socket.socket) -> None:
        if not started:
            connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            started.append(True)
        connection.sendall(b"10000\r\n" + b"z" * 65536 + b"\r\n")

    yield from serve_once(answer)


def test_a_dribbled_header_ends_at_the_timeout(dribbling: str) -> None:
    # The server never stops dribbling: that send returns at all shows the timeout bounds the
    # whole answer, not each read. Not given up at once either: several bytes were read first
    # (about 5 in 0.5 s; no stopwatch, so a loaded machine cannot make this flake).
    with httpx.Client(base_url=dribbling, transport=httpread.transport()) as client:
        reply = httpread.send(
            client, "GET", "/", content=b"", headers={}, timeout=0.5, max_bytes=MiB
        )
    assert (reply.status, reply.error_kind) == (0, "timeout")
    assert len(DRIBBLED) >= 2


def test_an_endless_body_ends_at_max_bytes(endless: str) -> None:
    with httpx.Client(base_url=endless, transport=httpread.transport()) as client:
        reply = httpread.send(client, "GET", "/", content=b"", headers={}, timeout=5, max_bytes=MiB)
    assert (reply.status, reply.error_kind, len(reply.body)) == (200, "body_too_large", MiB)


@pytest.fixture
def stalling() -> Iterator[str]:
    """An event stream: two events at once, then 1 s of silence, then the end."""
    sent = []

    def answer(connection: socket.socket) -> None:
        if not sent:
            head = (
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 40\r\n\r\n"
            )
            connection.sendall(head + b'data: {"a": 1}\n\n' + b'data: {"b": 2}\n\n')
            sent.append(True)
            time.sleep(1.0)
            connection.sendall(b"data: [DONE]\n\n"[:8])
        time.sleep(0.05)

    yield from serve_once(answer)


def test_an_event_stream_silent_past_the_stall_limit_is_a_stall(stalling: str) -> None:
    # Ended by the stall limit: the server's silence lasts 1 s, then it sends "data: [D"; a
    # send that waited it out would hold a third "data:". No stopwatch.
    with httpx.Client(base_url=stalling, transport=httpread.transport()) as client:
        reply = httpread.send(
            client, "GET", "/", content=b"", headers={}, timeout=5, max_bytes=MiB, stall=0.3
        )
    assert (reply.status, reply.error_kind) == (200, "stream_stall")
    assert reply.anomaly is not None
    assert reply.anomaly.startswith("stream stalled: no bytes for 0.3 s")
    assert reply.body.count(b"data:") == 2  # what came before the silence is kept


def test_without_a_stall_limit_the_same_stream_is_waited_for(stalling: str) -> None:
    with httpx.Client(base_url=stalling, transport=httpread.transport()) as client:
        reply = httpread.send(client, "GET", "/", content=b"", headers={}, timeout=5, max_bytes=MiB)
    assert (reply.status, reply.error_kind) == (200, None)
    assert len(reply.body) == 40
