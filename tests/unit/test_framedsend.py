"""stress.framedsend and its two callers (the parent's Sender, the load's fetch_framed):
the bytes on the wire, the wait for 100 Continue, early answers, failures named."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import h11
import pytest

from stress import framedsend, framing
from stress.load import reader
from stress.sender import Sender
from stress.targets import HttpRequest

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok": 1}\r\n'
CHUNKED = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
EXPECT = {"Content-Type": "application/json", "Expect": "100-continue"}


class Scripted:
    """A one-connection server on 127.0.0.1 whose ``script(connection, server)`` answers;
    ``received`` holds every byte read, ``early`` what had come before the head was read
    whole plus a short look for more (bytes sent with the head, not after a 100)."""

    def __init__(self, script: Callable[[socket.socket, Scripted], None]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.address = ("127.0.0.1", self.listener.getsockname()[1])
        self.received = b""
        self.script = script
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        connection, _ = self.listener.accept()
        connection.settimeout(5)
        with connection, contextlib.suppress(OSError):
            self.script(connection, self)

    def head(self, connection: socket.socket) -> bytes:
        while b"\r\n\r\n" not in self.received:
            self.received += connection.recv(65536)
        return self.received

    def more(self, connection: socket.socket, wait: float) -> bytes:
        connection.settimeout(wait)
        try:
            data = connection.recv(65536)
        except TimeoutError:
            data = b""
        connection.settimeout(5)
        self.received += data
        return data

    def until(self, connection: socket.socket, end: bytes) -> None:
        while not self.received.endswith(end):
            data = connection.recv(65536)
            if not data:
                return
            self.received += data

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[socket.socket, Scripted], None]], Scripted]]:
    servers: list[Scripted] = []

    def start(script: Callable[[socket.socket, Scripted], None]) -> Scripted:
        servers.append(Scripted(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def exchange(server: Scripted, headers: dict[str, str], body: bytes, timeout: float = 5):
    return framedsend.exchange(
        server.address,
        method="POST",
        target="/v1/x",
        host="h",
        headers=headers,
        body=body,
        deadline=time.monotonic() + timeout,
    )


def run(ex: framedsend.Exchange) -> tuple[int, bytes]:
    try:
        ex.open()
        return ex.status, b"".join(ex.pieces())
    finally:
        ex.close()


def test_a_chunked_request_goes_out_exactly_and_a_chunked_answer_is_decoded(serve) -> None:
    body = framing.chunked(b'{"a": 1}', sizes=(1,), upper=True, extension=";n=1")

    def script(connection: socket.socket, server: Scripted) -> None:
        server.head(connection)
        server.until(connection, b"0;n=1\r\n\r\n")
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
        )

    server = serve(script)
    assert run(exchange(server, CHUNKED, body)) == (200, b"{}")
    assert server.received == framing.head("POST", "/v1/x", "h", CHUNKED, body) + body


def test_expect_sends_the_head_alone_and_the_body_after_the_100(serve) -> None:
    seen = []

    def script(connection: socket.socket, server: Scripted) -> None:
        server.head(connection)
        seen.append(server.more(connection, 0.3))  # nothing may come before the 100
        connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        server.until(connection, b"{}")
        connection.sendall(OK)

    server = serve(script)
    ex = exchange(server, EXPECT, b"{}")
    assert run(ex) == (200, b'{"ok": 1}\r\n')
    assert seen == [b""]
    assert ex.continued
    assert server.received == framing.head("POST", "/v1/x", "h", EXPECT, b"{}") + b"{}"


def test_expect_sends_the_body_anyway_when_no_100_comes(serve) -> None:
    def script(connection: socket.socket, server: Scripted) -> None:
        server.head(connection)
        server.until(connection, b"{}")  # no 100: the body must come all the same
        connection.sendall(OK)

    server = serve(script)
    ex = exchange(server, EXPECT, b"{}")
    assert run(ex)[0] == 200
    assert not ex.continued
    assert server.received.endswith(b"\r\n\r\n{}")


def test_a_final_answer_before_the_100_is_the_answer_and_no_body_follows(serve) -> None:
    def script(connection: socket.socket, server: Scripted) -> None:
        server.head(connection)
        connection.sendall(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n")
        server.more(connection, 0.5)

    server = serve(script)
    assert run(exchange(server, EXPECT, b"{}")) == (417, b"")
    assert server.received.endswith(b"\r\n\r\n")  # the body was never sent


def test_a_refusal_sent_before_the_body_was_read_is_read_not_a_reset(serve) -> None:
    body = framing.chunked(b"z" * 4_000_000)  # more than the socket buffers hold

    def script(connection: socket.socket, server: Scripted) -> None:
        server.head(connection)
        connection.sendall(b"HTTP/1.1 411 Length Required\r\nContent-Length: 2\r\n\r\nno")
        connection.shutdown(socket.SHUT_WR)
        time.sleep(0.3)

    server = serve(script)
    assert run(exchange(server, CHUNKED, body)) == (411, b"no")


def test_failures_are_named_as_the_load_names_them(serve) -> None:
    def cut(connection: socket.socket, server: Scripted) -> None:
        server.head(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")

    ex = exchange(serve(cut), {"Transfer-Encoding": "chunked"}, b"0\r\n\r\n")
    with pytest.raises(ConnectionResetError) as caught:
        run(ex)
    assert framedsend.classify(caught.value, answered=True) == "connection_reset"

    def silent(connection: socket.socket, server: Scripted) -> None:
        server.head(connection)
        time.sleep(1.0)

    ex = exchange(serve(silent), {"Transfer-Encoding": "chunked"}, b"0\r\n\r\n", timeout=0.3)
    with pytest.raises(TimeoutError) as timed_out:
        run(ex)
    assert framedsend.classify(timed_out.value) == "timeout"

    def garbage(connection: socket.socket, server: Scripted) -> None:
        server.head(connection)
        connection.sendall(b"NOT HTTP AT ALL\r\n\r\n")

    ex = exchange(serve(garbage), {"Transfer-Encoding": "chunked"}, b"0\r\n\r\n")
    with pytest.raises(h11.RemoteProtocolError) as invalid:
        run(ex)
    assert framedsend.classify(invalid.value) == "invalid_http"


@pytest.mark.parametrize("headers", [CHUNKED, EXPECT], ids=["chunked", "expect"])
def test_the_parent_and_the_load_put_the_same_bytes_on_the_wire(serve, headers) -> None:
    """Sender.send (replay, shrink, probes) and the load's reader.fetch_kept, through one
    path (the reader's pooled client is not used for such a request)."""
    body = framing.chunked(b'{"q": 1}', sizes=(3,)) if "Transfer-Encoding" in headers else b"{}"
    end = b"0\r\n\r\n" if "Transfer-Encoding" in headers else b"{}"

    def script(connection: socket.socket, server: Scripted) -> None:
        server.head(connection)
        if "Expect" in headers:
            connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        server.until(connection, end)
        connection.sendall(OK)

    parent = serve(script)
    with Sender(parent.url + "/base") as sender:
        reply = sender.send("POST", "/v1/x", headers, body)
    assert (reply.status, reply.error_kind, reply.body) == (200, None, b'{"ok": 1}\r\n')

    load = serve(script)

    class Client:  # geventhttpclient's HTTPClient: its address, and no sending through it
        host, port, ssl = load.address[0], load.address[1], False

        def request(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("a framed request went through the client's own framing")

    request = HttpRequest("POST", "/v1/x", dict(headers), body)
    host = f"127.0.0.1:{load.address[1]}"
    kept = reader.Kept(warm=True)
    fetched = reader.fetch_kept(Client(), request, 5, kept=kept, host=host, prefix="/base")
    answer = fetched.answer
    assert kept.warm  # the kept connection was not used, nor forgotten
    assert fetched.dropped is None
    assert (answer.status, answer.error_kind, answer.body) == (200, None, b'{"ok": 1}\r\n')
    ports = str(load.address[1]).encode(), str(parent.address[1]).encode()
    assert load.received.replace(*ports) == parent.received
    assert parent.received.startswith(b"POST /base/v1/x HTTP/1.1\r\nHost: 127.0.0.1:")
    assert parent.received.endswith(body)
