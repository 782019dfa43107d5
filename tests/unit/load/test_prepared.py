"""Prepared requests (stress.load.prepared): the bytes a prepared request puts on the wire are
the ones geventhttpclient's own ``request`` puts there, and only ordinary requests take that
path."""

from __future__ import annotations

import os
import resource
import socket
from typing import Any

import gevent
import pytest
from geventhttpclient.client import HTTPClient
from geventhttpclient.connectionpool import ConnectionPool

from stress.load import prepared
from stress.load.reader import exact, fetch, wire_headers
from stress.targets import HttpRequest

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Sock:
    """A connection that records what was sent and answers ANSWER; one ``send`` takes at
    most ``takes`` bytes (a full send buffer takes part of a request)."""

    takes = 1 << 30

    def __init__(self) -> None:
        self.sent = b""
        self._answer = ANSWER
        self.calls: list[str] = []

    def send(self, data: bytes) -> int:
        self.calls.append("send")
        taken = bytes(data[: self.takes])
        self.sent += taken
        return len(taken)

    def sendall(self, data: bytes | memoryview) -> None:
        self.calls.append("sendall")
        self.sent += bytes(data)

    def recv(self, size: int) -> bytes:
        data, self._answer = self._answer[:size], self._answer[size:]
        return data

    def recv_into(self, buffer: Any) -> int:
        data = self.recv(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        pass


class Pool:
    size = 1

    def __init__(self) -> None:
        self.socks: list[Sock] = []
        self.released: list[Sock] = []

    def get_socket(self) -> Sock:
        self.socks.append(Sock())
        return self.socks[-1]

    def return_socket(self, sock: Sock) -> None:
        pass

    def release_socket(self, sock: Sock) -> None:
        self.released.append(sock)

    def close(self) -> None:
        pass


def client() -> Any:
    made = exact(HTTPClient("127.0.0.1", 8000))
    made._connection_pool = Pool()
    return made


def chat(**headers: str) -> HttpRequest:
    fields = {"Content-Type": "application/json", **headers}
    return HttpRequest("POST", "/v1/chat/completions", fields, b'{"messages": []}')


@pytest.mark.parametrize(
    "request_",
    [
        chat(),
        chat(Authorization="Bearer sk-x", **{"content-type": "text/plain"}),
        HttpRequest("POST", "/invocations?x=1", {}, b""),
        HttpRequest("POST", "/p", {"X-Many": "a" * 9000}, b"\x00\xff" * 40),
    ],
)
def test_a_prepared_request_puts_the_clients_own_bytes_on_the_wire(request_: HttpRequest) -> None:
    theirs, ours = client(), client()
    answer = theirs.request(
        request_.method, request_.path, body=request_.body, headers=wire_headers(request_, "h")
    )
    assert answer.status_code == 200
    head = prepared.encode(ours, request_, request_.path, wire_headers(request_, "h"))
    assert head is not None
    raw = prepared.send(ours, head, request_.body)
    assert raw.status_code == 200
    assert raw.read() == b"{}"
    assert ours._connection_pool.socks[0].sent == theirs._connection_pool.socks[0].sent


@pytest.mark.parametrize(
    "request_",
    [
        HttpRequest("GET", "/v1/models", {}, b""),
        HttpRequest("PUT", "/p", {}, b"{}"),
        chat(**{"Transfer-Encoding": "chunked"}),
        chat(**{"expect": "100-continue"}),
        chat(**{"X-Bad": "one\r\nInjected: yes"}),  # the client refuses it: its own error
        chat(**{"X-Name": "é€"}),  # not latin-1: the client fails it when sending
    ],
)
def test_only_ordinary_requests_are_prepared(request_: HttpRequest) -> None:
    assert prepared.encode(client(), request_, request_.path, wire_headers(request_, "h")) is None


def test_a_head_is_made_once_per_request_object() -> None:
    heads, made = prepared.Heads(), client()
    first, twin = chat(), chat()
    assert heads.get(first) is prepared.UNKNOWN
    head = heads.put(first, prepared.encode(made, first, first.path, wire_headers(first, "h")))
    assert heads.get(first) is head
    assert heads.get(twin) is prepared.UNKNOWN  # equal content, another object
    assert len(heads) == 1


def test_fetch_sends_a_prepared_request_once_encoded_and_answers_it() -> None:
    heads, made = prepared.Heads(), client()
    request_ = chat()
    for _ in range(3):
        answer = fetch(made, request_, 5.0, host="h", heads=heads)
        assert (answer.status, answer.body, answer.error_kind) == (200, b"{}", None)
    assert len(heads) == 1
    sent = [sock.sent for sock in made._connection_pool.socks]
    assert len(set(sent)) == 1
    assert sent[0].startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")


def test_a_request_goes_out_in_one_send_when_the_socket_takes_it_all() -> None:
    made, request_ = client(), chat()
    head = prepared.encode(made, request_, request_.path, wire_headers(request_, "h"))
    assert head is not None
    prepared.send(made, head, request_.body)
    sock = made._connection_pool.socks[0]
    assert sock.calls == ["send"]
    assert sock.sent == head + request_.body


def test_what_one_send_leaves_goes_out_with_sendall(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Sock, "takes", 7)
    made, request_ = client(), chat(**{"X-Long": "v" * 3000})
    head = prepared.encode(made, request_, request_.path, wire_headers(request_, "h"))
    assert head is not None
    raw = prepared.send(made, head, request_.body)
    sock = made._connection_pool.socks[0]
    assert sock.calls == ["send", "sendall"]
    assert sock.sent == head + request_.body  # every byte, once, in order
    assert raw.read() == b"{}"


def test_an_idle_connection_is_alive_until_closed_or_readable() -> None:
    ours, server = socket.socketpair()
    try:
        assert prepared.alive(ours)
        server.sendall(b"x")  # bytes nobody asked for: not reusable
        assert not prepared.alive(ours)
        ours.recv(1)
        assert prepared.alive(ours)
        server.close()  # the server closed it (a FIN is readable)
        assert not prepared.alive(ours)
    finally:
        ours.close()
    assert not prepared.alive(ours)  # closed here: fileno -1
    assert not prepared.alive(None)


def test_a_clients_pool_checks_idle_connections_with_alive() -> None:
    made = exact(HTTPClient("127.0.0.1", 8000))
    assert isinstance(made._connection_pool, ConnectionPool)
    ours, server = socket.socketpair()
    try:
        assert made._connection_pool._is_socket_alive(ours)
        server.close()
        assert not made._connection_pool._is_socket_alive(ours)
        assert made._connection_pool._is_socket_alive.__name__ == prepared.alive.__name__
    finally:
        ours.close()


def test_a_timeout_while_sending_gives_the_connection_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def stuck(self: Sock, data: bytes) -> int:
        raise gevent.Timeout(0.5)  # the request's timeout, while the server reads nothing

    monkeypatch.setattr(Sock, "send", stuck)
    made, request_ = client(), chat()
    head = prepared.encode(made, request_, request_.path, wire_headers(request_, "h"))
    assert head is not None
    with pytest.raises(gevent.Timeout):
        prepared.send(made, head, request_.body)
    pool = made._connection_pool
    assert pool.released == pool.socks  # closed, and its place in the pool given back


def test_a_connection_on_a_descriptor_past_1023_is_still_checked() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1600:
        pytest.skip(f"this machine allows {hard} open files; the test needs 1,600")
    if soft < 1600:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1600, hard))
    ours, server = socket.socketpair()
    high = socket.socket(fileno=os.dup2(ours.fileno(), 1500))
    ours.close()
    try:
        assert high.fileno() == 1500
        assert prepared.alive(high)  # select() would refuse the descriptor: "not alive"
        server.close()
        assert not prepared.alive(high)
    finally:
        high.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
