"""One request with httpx, bounded in time and size, and its error kind as the load names it.

The group checks' re-sends, replay and shrink send with httpx (the load engine with
geventhttpclient); both must name a fault alike (stress.errorkinds, docs/faults.md) and
neither may be held by one. httpx times each socket read, not an answer: a server that
dribbles header bytes, or streams an endless body, would hold it forever. So:

==================  ==========================================================
``send``            sends the request exactly as given (``exact_request``: the
                    wire contract, the bytes the load sends too); reads at most
                    ``max_bytes`` of the body (then stops: body_too_large) within
                    ``timeout`` for the whole answer; an event stream silent for
                    longer than ``stall`` seconds ends as stream_stall (the
                    bounded read and the error kinds are stress.bodyread's, which
                    the load's reader shares)
``transport()``     an httpx transport whose sockets never wait past the
                    deadline of the ``send`` in progress (with another
                    transport, ``send`` checks the time between body chunks only)
==================  ==========================================================
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from stress import errorkinds
from stress.bodyread import Body, Stalled, kind_of, stall_message

if TYPE_CHECKING:
    pass

# Methods whose empty body is still announced (Content-Length: 0), as geventhttpclient and
# curl do.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# The monotonic time by which the answer being read must be complete (None: no bound).
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "stress_httpread_deadline", default=None
)


@dataclass
class Reply:
    """What came back: ``error_kind`` says only what the transport saw (timeout, hang,
    body_too_large, connection_*, invalid_http); status classes and unreadable answers are
    the caller's to name, after parsing."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error_kind: str | None = None
    latency_ms: float = 0.0
    # What went wrong with an event stream while reading it (a stall), for stream_integrity.
    anomaly: str | None = None
    # The transport's own words for a failure (for messages such as the preflight's).
    reason: str | None = None


def send(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    timeout: float,
    max_bytes: int,
    stall: float | None = None,
) -> Reply:
    """Send one request; read its answer (raw bytes, as sent) within ``timeout`` seconds.

    Never raises for a network failure: ``error_kind`` names it (``classify``).
    """
    reply = Reply()
    started = time.perf_counter()
    try:
        read(
            reply,
            client,
            method,
            path,
            content=content,
            headers=headers,
            timeout=timeout,
            max_bytes=max_bytes,
            stall=stall,
        )
    except Stalled as exc:
        reply.error_kind, reply.anomaly = errorkinds.STREAM_STALL, str(exc)
    except httpx.HTTPError as exc:
        reply.error_kind = classify(exc, answered=bool(reply.status))
        reply.reason = str(exc) or type(exc).__name__
    reply.latency_ms = (time.perf_counter() - started) * 1000
    return reply


def read(
    reply: Reply,
    client: httpx.Client,
    method: str,
    path: str,
    *,
    content: bytes | None,
    headers: Mapping[str, str],
    timeout: float,
    max_bytes: int,
    stall: float | None = None,
) -> None:
    """``send`` without the classification: fills ``reply`` as the answer arrives (status,
    headers, the body read so far) and raises httpx's error when one comes (bodyread.Stalled
    when an event stream is silent for longer than ``stall`` seconds)."""
    body = Body(max_bytes)
    deadline = time.monotonic() + timeout
    token = _DEADLINE.set(deadline)
    try:
        request = exact_request(client, method, path, content=content, headers=headers)
        request.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
        response = client.send(request, stream=True)
        try:
            reply.status = response.status_code
            reply.headers = {name.lower(): value for name, value in response.headers.items()}
            # The raw bytes as they arrive (no decompression: the bytes the server sent); a
            # transport that read the answer already (httpx.MockTransport) hands it whole.
            pieces = [response.content] if response.is_stream_consumed else response.iter_raw()
            streamed = reply.headers.get("content-type", "").startswith("text/event-stream")
            watch = stall if streamed else None

            def on_time(_: bytes) -> None:
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("no complete answer within the timeout")

            body.read(_gaps(iter(pieces), watch, deadline, size=lambda: len(body.chunks)), on_time)
            if body.too_large:
                reply.error_kind = errorkinds.BODY_TOO_LARGE
        finally:
            response.close()
    finally:
        _DEADLINE.reset(token)
        reply.body = body.bytes()


def exact_request(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    content: bytes | None,
    headers: Mapping[str, str],
) -> httpx.Request:
    """The request exactly as the input gives it (docs: the wire contract): request line,
    Host, the input's headers in its order and case, Content-Length when there is a body (or
    the method carries one) unless the input gave its own. None of the client's default
    headers (User-Agent, Accept, Accept-Encoding, Connection) and no cookies are added."""
    # The URL as httpx's own build_request makes it (the base URL's path, then ``path``).
    url = client._merge_url(path)
    fields = list(headers.items())
    given = any(name.lower() == "content-length" for name, _ in fields)
    if not content and method.upper() in BODY_METHODS and not given:
        fields.append(("Content-Length", "0"))  # httpx would put it before the input's
    return httpx.Request(method, url, content=content or b"", headers=fields)


def _gaps(
    chunks: Iterator[bytes], stall: float | None, deadline: float, *, size: Callable[[], int]
) -> Iterator[bytes]:
    """``chunks``, each awaited at most ``stall`` seconds (and never past ``deadline``): a
    longer silence raises bodyread.Stalled naming the gap and how many chunks came before it."""
    if stall is None:
        yield from chunks
        return
    while True:
        until = min(deadline, time.monotonic() + stall)
        token = _DEADLINE.set(until)
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except httpx.TimeoutException:
            if until < deadline:
                raise Stalled(stall_message(stall, size(), "reads")) from None
            raise
        finally:
            _DEADLINE.reset(token)
        yield chunk


def classify(error: httpx.HTTPError, *, answered: bool = False) -> str:
    """The error kind of an httpx failure; ``answered``: the status line had arrived."""
    kind = kind_of(
        error,
        timeouts=(httpx.TimeoutException,),
        resets=(httpx.ReadError, httpx.WriteError),
        invalid=(httpx.RemoteProtocolError,),
        answered=answered,
    )
    if kind == errorkinds.INVALID_HTTP:
        # h11's words for a connection closed early; any other complaint is about the bytes.
        text = str(error).lower()
        if "disconnected" in text or "peer closed" in text:
            return errorkinds.CONNECTION_RESET
    return kind


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left before the current deadline."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("no complete answer within the timeout")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, each wait cut at the current ``send``'s deadline."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, bounded, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def transport(*, verify: bool = True) -> httpx.HTTPTransport:
    """An httpx transport whose every socket wait ends at the current ``send``'s deadline."""
    result = httpx.HTTPTransport(verify=verify)
    # httpx offers no public way to hand httpcore a network backend: its pool is rebuilt
    # here as httpx builds it (default limits, HTTP/1.1), with the bounded backend.
    limits = httpx.Limits()
    result._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=verify),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_DeadlineBackend(),
    )
    return result
