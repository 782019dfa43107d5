"""The load's reader: sends one request exactly as the input gives it and reads its answer,
bounded in time and size, naming what went wrong (stress.errorkinds).

Uses geventhttpclient's HTTPClient (the client under Locust's FastHttpUser) directly, not
Locust's session: that session adds headers the input did not ask for (Accept-Encoding,
Content-Type: application/octet-stream, cookies, User-Agent) and follows redirects. What goes
on the wire is the wire contract (ARCHITECTURE.md): request line, Host, the input's headers in
its order and case, Content-Length when there is a body or the method carries one; the
parent's sender (stress.httpread) sends the same bytes. A chunked body or Expect:
100-continue is framed by stress itself (stress.load.framed, stress.framing).

The body is read through stress.bodyread (the bounded read the parent's sender shares). No
Locust here: tests drive it with a stand-in for geventhttpclient's response.

Blame where it belongs (``fetch_kept``): a request sent on a kept connection that is reset
or closed before any byte of its answer, right after an answer that did not say
``Connection: close``, found a connection the server had dropped after that answer. The
drop is the previous exchange's (the caller charges it to that input: check
``connection_dropped_after_answer``), and the request is sent once more on a new
connection; that second answer is the one judged for it.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gevent
import gevent.queue
from geventhttpclient.header import Headers
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError

from stress import errorkinds, framing
from stress.bodyread import MAX_BODY_BYTES, Body, Stalled, kind_of, stall_message
from stress.load import prepared
from stress.load.framed import fetch_framed
from stress.load.records import Answer
from stress.targets import HttpRequest
from stress.targets.sse import SseDecoder

# geventhttpclient reads the socket this many bytes at a time (its block size).
READ_BYTES = 65536


def classify(error: BaseException) -> str:
    """The error kind of a request that got no usable answer."""
    # geventhttpclient wraps the real cause (RetriesExceeded(original=...)); a gevent.Timeout
    # wrapped that way prints as "0.7 seconds", with no "timed out" to recognise it by.
    return kind_of(
        error,
        timeouts=(gevent.Timeout, socket.timeout),
        resets=(HTTPConnectionClosed,),
        invalid=(HTTPParseError,),
    )


@dataclass(frozen=True)
class Target:
    """Where requests go: the Host header (host[:port], the port left out when it is the
    scheme's own, as httpx writes it) and the URL's own path, put before every request's
    (as httpx's base_url does)."""

    host: str
    prefix: str

    @classmethod
    def of(cls, url: str) -> Target:
        return cls(*framing.authority(url))


def wire_headers(request: HttpRequest, host: str) -> Headers:
    """The header lines HTTPClient is given, in order: Host, then the input's own (it adds
    Content-Length after them). A name the input gives twice in two spellings (a duplicated
    Content-Type) is two lines: geventhttpclient writes a name's lines together, which is
    where the input puts them (stress.inputs.damage.headers)."""
    fields = Headers()
    fields.add("Host", host)
    for name, value in request.headers.items():
        fields.add(name, value)
    return fields


def exact(client: Any) -> Any:
    """``client`` (a geventhttpclient HTTPClient) with no default headers of its own, its
    pool checking idle connections the cheap way (stress.load.prepared.quick)."""
    client.default_headers = client.headers_type()
    return prepared.quick(client)


def arrived(raw: Any) -> bytes:
    """The body bytes that have arrived, waiting for at least one; b"" when the body ended.

    geventhttpclient's public ``read(n)`` waits for n bytes (or the end), which would hold a
    whole stream back; its ``readline`` cannot be bounded in size. So this does what both do
    inside, one socket read at a time: ``recv`` into the parser, take what it decoded
    (chunked transfer coding removed). tests/integration/test_streaming.py pins the timing.
    """
    while True:
        buffered = raw._body_buffer
        if buffered:
            data = bytes(buffered)
            del buffered[:]
            return data
        if raw.message_complete:
            return b""
        sock = raw._sock
        if sock is None:
            raise HTTPConnectionClosed("the connection closed in the middle of the answer")
        try:
            chunk = sock.recv(raw.block_size)
            raw.feed(chunk)
        except BaseException:
            raw.release()
            raise
        if not chunk and not raw.message_complete:
            raw.release()
            raise HTTPConnectionClosed("the connection closed in the middle of the answer")


def _stream(raw: Any, stall: float | None, count: Any) -> Iterator[bytes]:
    """The bytes of a stream as they arrive; a silence longer than ``stall`` raises Stalled
    (``count()``: the events so far, for its message)."""
    while True:
        if stall is None:
            data: bytes | None = arrived(raw)
        else:
            data = None
            with gevent.Timeout(stall, False):
                data = arrived(raw)
            if data is None:
                raise Stalled(stall_message(stall, count(), "events"))
        if not data:
            return
        yield data


def read_stream(
    raw: Any, answer: Answer, stall: float | None, max_bytes: int = MAX_BODY_BYTES
) -> None:
    """Read a text/event-stream answer, timing each event as its bytes arrive.

    A gap with no bytes longer than ``stall`` seconds ends the request (error kind
    stream_stall); the events before it are kept. More than ``max_bytes`` ends it too
    (body_too_large).
    """
    decoder = SseDecoder()
    body = Body(max_bytes)

    def feed(data: bytes) -> None:
        now = time.perf_counter()
        if answer.first_byte is None:
            answer.first_byte = now
        decoder.feed(data, now)

    try:
        body.read(_stream(raw, stall, lambda: len(decoder.events)), feed)
    except Stalled as exc:
        raw.release()
        answer.error_kind, answer.anomaly = errorkinds.STREAM_STALL, str(exc)
    if body.too_large:
        raw.release()
        answer.error_kind = errorkinds.BODY_TOO_LARGE
        if answer.first_byte is None:
            answer.first_byte = time.perf_counter()
    decoder.close(time.perf_counter())
    answer.body = body.bytes()
    answer.events = decoder.events
    if decoder.problem and answer.anomaly is None:
        answer.anomaly = decoder.problem


def read_body(raw: Any, answer: Answer, max_bytes: int) -> bytes:
    """The body, up to ``max_bytes``: past that, reading stops (error kind body_too_large)."""
    body = Body(max_bytes)

    def first(_: bytes) -> None:
        if answer.first_byte is None:
            answer.first_byte = time.perf_counter()

    body.read(iter(lambda: raw.read(READ_BYTES), b""), first)
    if body.too_large:
        answer.error_kind = errorkinds.BODY_TOO_LARGE
        first(b"")
    return body.bytes()


def fetch(
    client: Any,
    request: HttpRequest,
    timeout: float,
    *,
    host: str,
    prefix: str = "",
    stall: float | None = None,
    max_bytes: int = MAX_BODY_BYTES,
    heads: prepared.Heads | None = None,
) -> Answer:
    """Send one request and read the whole answer within ``timeout``, whatever its status.

    ``client`` is a geventhttpclient HTTPClient without default headers (``exact``);
    ``host`` the Host header and ``prefix`` the target URL's own path (``Target``). An event
    stream is read event by event as it arrives (``read_stream``). Reading stops after
    ``max_bytes`` body bytes (error kind body_too_large; the body keeps the first
    ``max_bytes``), so a huge or endless answer costs at most that much memory.

    ``heads``: the load process's encoded request heads (stress.load.prepared), so an
    ordinary request is built once however often it is sent.
    """
    answer = Answer()
    raw = None
    # A new Timeout per request: a reused one, restarted, has been seen to fire early or at
    # once (tests/integration/test_transport_faults.py).
    timer = gevent.Timeout(timeout)
    timer.start()
    try:
        head = None if heads is None else heads.get(request)
        if head is prepared.UNKNOWN:
            assert heads is not None
            path = prefix + request.path if prefix else request.path
            head = heads.put(
                request, prepared.encode(client, request, path, wire_headers(request, host))
            )
        if head is not None:
            raw = prepared.send(client, head, request.body)
        else:
            raw = client.request(
                request.method,
                prefix + request.path if prefix else request.path,
                body=request.body,
                headers=wire_headers(request, host),
            )
        answer.status = raw.status_code
        answer.headers = {name.lower(): value for name, value in raw.items()}
        if answer.headers.get("content-type", "").startswith("text/event-stream"):
            read_stream(raw, answer, stall, max_bytes)
            return answer
        answer.body = read_body(raw, answer, max_bytes)
    except gevent.Timeout as exc:
        answer.error_kind = classify(exc)
    except (OSError, HTTPParseError, ValueError) as exc:
        # ValueError: geventhttpclient refuses a request line or header it cannot write.
        answer.error_kind = classify(exc)
    finally:
        timer.close()
        if raw is not None:
            raw.release()  # closes a connection whose answer was not read to its end
    return answer


@dataclass
class Kept:
    """What one user's reader knows of its kept connection: ``warm`` when the last answer
    was read whole and did not say ``Connection: close`` (its connection went back to the
    pool for the next request)."""

    warm: bool = False


@dataclass(slots=True)  # not frozen: built per request (a frozen one costs more)
class Fetched:
    """One input's answer as ``fetch_kept`` got it. ``dropped``: the answer of a first try
    that found the kept connection dropped (the previous exchange's fault), ``started`` the
    perf_counter time the judged try began (the re-send's when there was one),
    ``dropped_started`` the first try's."""

    answer: Answer
    started: float
    dropped: Answer | None = None
    dropped_started: float = 0.0

    @property
    def blames_previous(self) -> bool:
        """The first try's drop is the previous exchange's: the re-send on a new connection
        got an HTTP answer. When it failed as well, the input itself is the likelier cause;
        it is judged on its re-send and nothing is charged before it."""
        return self.dropped is not None and self.answer.status > 0


def dropped_before_answer(answer: Answer) -> bool:
    """A reset or an end of the connection before any byte of an answer."""
    return answer.error_kind == errorkinds.CONNECTION_RESET and not answer.status


def kept_open(answer: Answer) -> bool:
    """The answer was read whole and leaves its connection open for the next request."""
    if answer.error_kind is not None or not answer.status:
        return False
    return "close" not in (answer.headers or {}).get("connection", "").lower()


def forget_idle(client: Any) -> None:
    """Close the idle connections ``client`` keeps: the next request opens a new one."""
    pool = getattr(client, "_connection_pool", None)
    queue = getattr(pool, "_socket_queue", None)
    if queue is None:
        return
    while not queue.empty():
        try:
            sock = queue.get(block=False)
        except gevent.queue.Empty:
            return
        with contextlib.suppress(OSError):
            sock.close()


def fetch_kept(
    client: Any,
    request: HttpRequest,
    timeout: float,
    *,
    kept: Kept,
    clock: Callable[[], float] = time.perf_counter,
    **options: Any,
) -> Fetched:
    """``fetch`` on the user's kept connection, with the blame put where it belongs (module
    doc): a drop before any answer byte on a warm connection is sent again on a new one.

    A request the sender frames itself (a chunked body, Expect: 100-continue) goes out
    through ``fetch_framed`` on a connection of its own: the kept one is neither used nor
    blamed, and stays as warm as it was."""
    first = clock()
    if request.framed:
        options.pop("heads", None)  # a framed request is never sent prepared
        return Fetched(fetch_framed(client, request, timeout, **options), first)
    answer = fetch(client, request, timeout, **options)
    if not (kept.warm and dropped_before_answer(answer)):
        kept.warm = kept_open(answer)
        return Fetched(answer, first)
    forget_idle(client)
    started = clock()
    again = fetch(client, request, timeout, **options)
    kept.warm = kept_open(again)
    return Fetched(again, started, answer, first)
