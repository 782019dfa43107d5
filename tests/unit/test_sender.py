"""The parent's sender: no header of its own, a stale kept connection is not the input's fault."""

from __future__ import annotations

import httpx

from stress import errorkinds
from stress.sender import Sender

URL = "http://model.test"


def recorder(answers: list[int | Exception], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, content=b"{}")

    return httpx.MockTransport(handle)


def disconnected() -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError("Server disconnected without sending a response.")


def test_only_the_input_s_headers_host_and_content_length_go_out() -> None:
    seen: list[httpx.Request] = []
    with Sender(URL, transport=recorder([200, 200], seen)) as sender:
        sender.send("POST", "/v1/x", {"X-Mixed-Case": "1", "content-type": "text/x"}, b"abc")
        sender.send("GET", "/ready", {}, b"")
    posted, got = seen
    assert posted.headers.raw == [
        (b"Host", b"model.test"),
        (b"X-Mixed-Case", b"1"),
        (b"content-type", b"text/x"),
        (b"Content-Length", b"3"),
    ]
    assert posted.content == b"abc"
    assert [name for name, _ in got.headers.raw] == [b"Host"]


def test_a_reset_on_a_kept_connection_is_sent_again_once() -> None:
    seen: list[httpx.Request] = []
    with Sender(URL, transport=recorder([500, disconnected(), 500], seen)) as sender:
        first = sender.send("POST", "/", {}, b"x")
        second = sender.send("POST", "/", {}, b"x")
    assert (first.status, second.status, second.error_kind) == (500, 500, None)
    assert (sender.sent, sender.reconnects, len(seen)) == (2, 1, 3)


def test_a_reset_on_a_new_connection_is_the_input_s_failure() -> None:
    seen: list[httpx.Request] = []
    answers: list[int | Exception] = [disconnected(), disconnected(), disconnected()]
    with Sender(URL, transport=recorder(answers, seen)) as sender:
        first = sender.send("POST", "/", {}, b"x")
        again = sender.send("POST", "/", {}, b"x")
    assert first.error_kind == again.error_kind == errorkinds.CONNECTION_RESET
    assert (sender.reconnects, len(seen)) == (0, 2)  # nothing was kept: no second try


def test_a_reset_on_a_kept_connection_is_sent_again_and_blames_the_answer_before() -> None:
    # Issue 15's rule, as the load applies it: a drop before any answer byte on a kept
    # connection (a reset too, not only an orderly close) is sent again on a new one.
    seen: list[httpx.Request] = []
    rst = httpx.ReadError("[Errno 104] Connection reset by peer")
    with Sender(URL, transport=recorder([500, rst, 200], seen)) as sender:
        sender.send("POST", "/", {}, b"x")
        assert (sender.dropped, sender.blames_previous) == (None, False)
        reply = sender.send("POST", "/", {}, b"y")
        assert (reply.status, reply.error_kind) == (200, None)
        assert sender.dropped is not None
        assert sender.dropped.error_kind == errorkinds.CONNECTION_RESET
        assert sender.blames_previous
    assert (sender.sent, sender.reconnects, [r.content for r in seen]) == (2, 1, [b"x", b"y", b"y"])


def test_a_reset_on_a_new_connection_too_is_the_input_s_failure() -> None:
    seen: list[httpx.Request] = []
    rst = httpx.ReadError("[Errno 104] Connection reset by peer")
    with Sender(URL, transport=recorder([200, rst, rst, 200], seen)) as sender:
        sender.send("POST", "/", {}, b"x")
        reply = sender.send("POST", "/", {}, b"x")
        assert reply.error_kind == errorkinds.CONNECTION_RESET
        assert sender.dropped is not None
        assert not sender.blames_previous
        # The failed re-send left nothing kept: the next request is not sent twice.
        sender.send("POST", "/", {}, b"x")
        assert (sender.dropped, sender.reconnects, len(seen)) == (None, 1, 4)
