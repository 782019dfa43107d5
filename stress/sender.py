"""The parent process's one sender: the preflight, the group checks' re-sends, replay, shrink
and the regression corpus all send through ``Sender``.

Each request goes out as the input gives it (wire contract, ARCHITECTURE.md): the client adds
no header of its own (httpx's default Accept, Accept-Encoding, Connection and User-Agent are
removed; Host and Content-Length are the only ones added). Each answer is read through
stress.httpread: bounded in time (the whole answer within ``timeout``) and size
(``max_bytes``, then body_too_large), an event stream silent for longer than ``stall``
ended as stream_stall, every failure named with the load's error kinds.

Connections are kept between requests, as the load keeps them, except where the server
closed one: after an answer that says ``Connection: close`` the next request opens a new
connection. Blame where it belongs (issue 15's rule, as the load's
stress.load.reader.fetch_kept applies it): a request on a kept connection that had served a
complete answer, dropped before any byte of its answer (reset, or closed), found a
connection the server dropped after that answer without saying so. The request is sent once
more on a new connection and that answer is what counts; only when it fails on the new
connection too is the failure the input's. ``dropped`` keeps the first try of the last send
(None when there was none) and ``blames_previous`` says whether the drop is the previous
exchange's (the re-send got an HTTP answer), for a caller that charges it there (replay's
connection_dropped_after_answer).

A request the sender frames itself (a chunked body, Expect: 100-continue: stress.framing)
goes out through stress.framedsend on a connection of its own, as the load sends it: httpx
would chunk a chunked body again and does not wait for the 100.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import TracebackType
from urllib.parse import urlsplit

import h11
import httpx

from stress import defaults, errorkinds, framedsend, framing, httpread
from stress.bodyread import Body, Stalled

# httpx's own default request headers: none of them goes out unless the input sets it.
_CLIENT_DEFAULTS = ("Accept", "Accept-Encoding", "Connection", "User-Agent")


class Sender:
    """Sends requests to one base URL, one at a time (see the module doc).

    ``transport`` replaces the network (tests pass an httpx.MockTransport); by default each
    connection pool is httpread's deadline-bounded one.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = defaults.TIMEOUT,
        max_bytes: int = defaults.MAX_BODY_BYTES,
        stall: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.stall = stall
        self._transport = transport
        self._client = self._new_client()
        # A connection that served a complete answer is open for the next request.
        self._warm = False
        self.sent = 0  # requests asked for (a retry on a new connection is not one more)
        self.reconnects = 0  # of which were sent again on a new connection
        # The last send's first try when it found the kept connection dropped, else None.
        self.dropped: httpread.Reply | None = None
        self._last_status = 0

    def _new_client(self) -> httpx.Client:
        client = httpx.Client(
            base_url=self.url,
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
            transport=self._transport or httpread.transport(),
        )
        for name in _CLIENT_DEFAULTS:
            client.headers.pop(name, None)
        return client

    def fresh(self) -> None:
        """Drop every kept connection: the next request opens a new one (replay sends each
        stored case so, as the load met it: a case's own fault, not a connection left by the
        case before)."""
        self._reconnect()

    def _reconnect(self) -> None:
        """Drop every kept connection: the next request opens a new one."""
        if self._transport is None:  # a transport handed in is the caller's to keep
            self._client.close()
            self._client = self._new_client()
        self._warm = False

    def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        timeout: float | None = None,
        max_bytes: int | None = None,
    ) -> httpread.Reply:
        """Send one request and read its answer; never raises for a network failure."""
        self.sent += 1
        self.dropped = None
        if framing.by_sender(headers):
            return self._framed(method, path, headers, body, timeout, max_bytes)
        reply = self._once(method, path, headers, body, timeout, max_bytes)
        if self._warm and dropped_before_answer(reply):
            # The server dropped the kept connection after its last answer: not this input's
            # failure unless a new connection fails too. One more try, on a new connection.
            self.reconnects += 1
            self.dropped = reply
            self._reconnect()
            reply = self._once(method, path, headers, body, timeout, max_bytes)
        self._last_status = reply.status
        if "close" in reply.headers.get("connection", "").lower():
            self._reconnect()
        else:
            # A failed read leaves no connection behind (httpcore drops it); a complete
            # answer leaves one open for the next request.
            self._warm = reply.error_kind is None
        return reply

    def _once(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        timeout: float | None,
        max_bytes: int | None,
    ) -> httpread.Reply:
        return httpread.send(
            self._client,
            method,
            path,
            content=body,
            headers=headers,
            timeout=self.timeout if timeout is None else timeout,
            max_bytes=self.max_bytes if max_bytes is None else max_bytes,
            stall=self.stall,
        )

    def _framed(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        timeout: float | None,
        max_bytes: int | None,
    ) -> httpread.Reply:
        """``send`` for a request the sender frames itself (module doc)."""
        if self._transport is not None:
            # A transport handed in (a test's MockTransport) stands for the network.
            return self._once(method, path, headers, body, timeout, max_bytes)
        reply = httpread.Reply()
        parts = urlsplit(self.url)
        host, prefix = framing.authority(self.url)
        tls = parts.scheme == "https"
        started = time.perf_counter()
        exchange = framedsend.exchange(
            (parts.hostname or "", parts.port or (443 if tls else 80)),
            method=method,
            target=prefix + path,
            host=host,
            headers=dict(headers),
            body=body,
            deadline=time.monotonic() + (self.timeout if timeout is None else timeout),
            tls=tls,
        )
        content = Body(self.max_bytes if max_bytes is None else max_bytes)
        try:
            exchange.open()
            reply.status, reply.headers = exchange.status, exchange.headers
            streamed = reply.headers.get("content-type", "").startswith("text/event-stream")
            content.read(exchange.pieces(stall=self.stall if streamed else None))
            if content.too_large:
                reply.error_kind = errorkinds.BODY_TOO_LARGE
        except Stalled as exc:
            reply.error_kind, reply.anomaly = errorkinds.STREAM_STALL, str(exc)
        except (OSError, h11.ProtocolError) as exc:
            reply.error_kind = framedsend.classify(exc, answered=bool(reply.status))
            reply.reason = str(exc) or type(exc).__name__
        finally:
            exchange.close()
        reply.body = content.bytes()
        reply.latency_ms = (time.perf_counter() - started) * 1000
        return reply

    @property
    def blames_previous(self) -> bool:
        """The last send's first try found the kept connection dropped and the re-send on a
        new connection got an HTTP answer: the drop is the previous exchange's. When the
        re-send failed as well, the input itself is the likelier cause."""
        return self.dropped is not None and self._last_status > 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def dropped_before_answer(reply: httpread.Reply) -> bool:
    """A reset or an end of the connection before any byte of an answer (as the load's
    reader.dropped_before_answer says it)."""
    return reply.error_kind == errorkinds.CONNECTION_RESET and not reply.status
