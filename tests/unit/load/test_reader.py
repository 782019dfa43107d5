"""The load's reader without Locust or sockets: a stand-in for geventhttpclient's client and
response, driven by gevent (which the reader waits with)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import gevent
import pytest
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError
from geventhttpclient.useragent import RetriesExceeded

from stress import errorkinds
from stress.bodyread import Body, kind_of
from stress.load.reader import Target, classify, exact, fetch, read_body, read_stream
from stress.load.records import Answer
from stress.targets import HttpRequest

PAUSE = object()  # a chunk source's "nothing for a long while"


class Socket:
    def __init__(self, chunks: Iterable[Any]) -> None:
        self.chunks = list(chunks)

    def recv(self, size: int) -> bytes:
        chunk = self.chunks.pop(0) if self.chunks else b""
        if chunk is PAUSE:
            gevent.sleep(5)
            return b""
        assert isinstance(chunk, bytes)
        return chunk


class Raw:
    """What the reader uses of geventhttpclient's HTTPSocketPoolResponse."""

    block_size = 4

    def __init__(self, chunks: Iterable[Any], *, status: int = 200, headers: Any = None) -> None:
        self._sock: Socket | None = Socket(chunks)
        self._body_buffer = bytearray()
        self.message_complete = False
        self.released = False
        self.status_code = status
        self._headers = headers or [("Content-Type", "application/json")]

    def feed(self, chunk: bytes) -> None:
        if chunk:
            self._body_buffer += chunk
        else:
            self.message_complete = True

    def read(self, size: int) -> bytes:
        assert self._sock is not None
        return self._sock.recv(size)

    def items(self) -> list[tuple[str, str]]:
        return list(self._headers)

    def release(self) -> None:
        self.released = True


class Client:
    """What the reader uses of geventhttpclient's HTTPClient; records what it was asked."""

    def __init__(self, answer: Raw | BaseException) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, bytes, dict[str, str]]] = []
        self.default_headers = {"User-Agent": "python/gevent-http-client"}
        self.headers_type = dict

    def request(self, method: str, path: str, *, body: bytes, headers: dict[str, str]) -> Raw:
        self.calls.append((method, path, body, headers))
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def test_the_body_stops_at_the_limit_and_says_so() -> None:
    answer = Answer()
    body = read_body(Raw([b"abcd", b"efgh", b"ijkl"]), answer, max_bytes=6)
    assert body == b"abcdef"
    assert answer.error_kind == errorkinds.BODY_TOO_LARGE
    assert answer.first_byte is not None
    whole = Answer()
    assert read_body(Raw([b"abcd", b"ef"]), whole, max_bytes=6) == b"abcdef"
    assert whole.error_kind is None


def test_a_stream_is_read_event_by_event_and_a_stall_keeps_what_came() -> None:
    raw = Raw([b"data: 1\n\n", b"data: 2\n\n", PAUSE, b"data: 3\n\n"])
    answer = Answer()
    read_stream(raw, answer, stall=0.05)
    assert [event.data for event in answer.events or []] == ["1", "2"]
    assert answer.error_kind == errorkinds.STREAM_STALL
    assert answer.anomaly is not None
    assert "after 2 events" in answer.anomaly
    assert raw.released
    assert answer.body == b"data: 1\n\ndata: 2\n\n"


def test_a_stream_past_the_limit_ends_as_body_too_large() -> None:
    answer = Answer()
    read_stream(Raw([b"data: 1\n\n", b"data: 2\n\n"]), answer, stall=None, max_bytes=12)
    assert answer.error_kind == errorkinds.BODY_TOO_LARGE
    assert answer.body == b"data: 1\n\ndat"
    assert [event.data for event in answer.events or []] == ["1"]


def test_a_request_goes_out_with_host_first_then_the_inputs_headers_as_given() -> None:
    client = exact(Client(Raw([b"{}"], headers=[("Content-Type", "application/json")])))
    assert client.default_headers == {}  # no User-Agent of the client's
    request = HttpRequest("POST", "/v1/chat", {"content-TYPE": "text/plain", "X-A": "1"}, b"x")
    target = Target.of("http://127.0.0.1:8000/base/")
    answer = fetch(client, request, 5.0, host=target.host, prefix=target.prefix)
    method, path, body, headers = client.calls[0]
    assert (method, path, body) == ("POST", "/base/v1/chat", b"x")
    assert list(headers.items()) == [
        ("Host", "127.0.0.1:8000"),
        ("content-TYPE", "text/plain"),
        ("X-A", "1"),
    ]
    assert (answer.status, answer.headers, answer.body) == (
        200,
        {"content-type": "application/json"},
        b"{}",
    )


@pytest.mark.parametrize(
    ("url", "host", "prefix"),
    [
        ("http://example.com", "example.com", ""),
        ("http://example.com:80/", "example.com", ""),
        ("https://example.com:443/v1", "example.com", "/v1"),
        ("https://example.com:8443", "example.com:8443", ""),
        ("http://[::1]:9000/a/b/", "[::1]:9000", "/a/b"),
    ],
)
def test_the_host_header_and_path_prefix_of_a_target(url: str, host: str, prefix: str) -> None:
    assert Target.of(url) == Target(host, prefix)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (gevent.Timeout(0.7), errorkinds.TIMEOUT),
        (RetriesExceeded("u", 1, original=gevent.Timeout(0.7)), errorkinds.TIMEOUT),
        (RetriesExceeded("u", 1, original=ConnectionRefusedError()), errorkinds.CONNECTION_REFUSED),
        (HTTPConnectionClosed("closed"), errorkinds.CONNECTION_RESET),
        (BrokenPipeError(), errorkinds.CONNECTION_RESET),
        (HTTPParseError("bad status line"), errorkinds.INVALID_HTTP),
        (OSError("Name or service not known"), errorkinds.CONNECTION_ERROR),
        (OSError("connect timed out"), errorkinds.TIMEOUT),
    ],
)
def test_errors_are_named_as_the_parents_sender_names_them(error: BaseException, kind: str) -> None:
    assert classify(error) == kind


def test_a_failed_request_has_its_error_kind_and_no_answer() -> None:
    answer = fetch(Client(ConnectionRefusedError()), HttpRequest("GET", "/", {}, b""), 1, host="h")
    assert (answer.status, answer.error_kind) == (0, errorkinds.CONNECTION_REFUSED)


def test_the_shared_body_keeps_at_most_its_limit_whatever_the_chunks() -> None:
    body = Body(10)
    seen: list[bytes] = []
    body.read([b"", b"0123", b"4567", b"89ab", b"cdef"], seen.append)
    assert (body.bytes(), body.too_large, seen) == (b"0123456789", True, [b"0123", b"4567"])
    exact_fit = Body(8)
    exact_fit.read([b"0123", b"4567"])
    assert (exact_fit.bytes(), exact_fit.too_large) == (b"01234567", False)


def test_an_answered_timeout_is_a_hang() -> None:
    assert kind_of(TimeoutError(), answered=True) == errorkinds.HANG
    assert kind_of(TimeoutError()) == errorkinds.TIMEOUT
