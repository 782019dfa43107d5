"""Requests encoded once, sent as bytes: the load's hot path for ordinary requests.

geventhttpclient's ``request`` builds and checks every request's head anew (the headers
merged twice, each field matched against RFC 9110's grammar, the head encoded) although
a corpus input is the same request every time it is sent. ``Heads`` asks the client to
build each request's head once, the first time it is sent, with the very call ``request``
would make (so the bytes on the wire are the same), and ``send`` then writes head and body
to a pooled connection and reads the answer as ``request`` does.

Only ordinary requests take this path: a POST with a bytes body and neither
``Transfer-Encoding`` nor ``Expect`` among its headers (those the load frames itself:
stress.load.framed). Any other method, and any request the client refuses to build (a bad
header or character), goes through ``client.request`` as before, so it meets the same
errors. POST is never retried by the
client after a send error (RFC 9110 section 9.2.2), so there is no retry here either; a
connection the server dropped is the reader's to handle (stress.load.reader.fetch_kept).

Two calls of the pool's cost more than the work they do, once per request: ``sendall``
asks the kernel for the socket's send buffer size (a system call) before sending a request
that one ``send`` almost always takes whole, and the pool's check that an idle kept
connection is still usable goes through gevent's cooperative ``select`` although its zero
timeout never waits. ``send`` sends once and hands only a remainder to ``sendall``; ``quick``
gives a client's pool the same check made with a plain ``poll`` call.
"""

from __future__ import annotations

import errno
import select
from typing import Any

from gevent.monkey import get_original
from geventhttpclient.response import HTTPSocketPoolResponse

from stress.targets import HttpRequest

# The poll call itself, not gevent's (the load process is monkey-patched); poll, not select,
# which refuses a descriptor from 1024 on (a run with a thousand connections has them).
_poll = get_original("select", "poll")
_POLLIN = getattr(select, "POLLIN", 1)


def alive(sock: Any) -> bool:
    """Whether an idle pooled connection can carry the next request: open, with nothing to
    read and no error or hang-up (a readable idle connection was closed by the server or
    holds bytes nobody asked for). geventhttpclient's own check, made with a plain poll."""
    if sock is None:
        return False
    try:
        fd = sock.fileno()
        if fd < 0:
            return False
        poller = _poll()
        poller.register(fd, _POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


def quick(client: Any) -> Any:
    """``client`` with its pool checking idle connections through ``alive``."""
    pool = getattr(client, "_connection_pool", None)
    if pool is not None and hasattr(pool, "_is_socket_alive"):
        pool._is_socket_alive = alive
    return client


def eligible(request: HttpRequest) -> bool:
    """Whether ``request`` can be sent as prepared bytes (the module doc says which can)."""
    if request.method != "POST" or not isinstance(request.body, bytes):
        return False
    return not request.framed  # Transfer-Encoding or Expect: stress.framing frames those


def encode(client: Any, request: HttpRequest, path: str, headers: Any) -> bytes | None:
    """The head ``client.request(request.method, path, body=request.body, headers=headers)``
    would send (None: send it that way)."""
    if not eligible(request):
        return None
    try:
        head: str = client._build_request(
            "POST", path, body=request.body, headers=headers, chunked=False
        )
        return head.encode("latin-1")
    except Exception:  # refused, or another client version: the usual path then
        return None


UNKNOWN = b"?"  # not encoded yet (a head always ends in CRLF CRLF, so never this)


class Heads:
    """Each request's encoded head, built on its first send (one load process's cache).
    An entry holds its request, so the id it is filed under is never another object's."""

    def __init__(self) -> None:
        self._heads: dict[int, tuple[HttpRequest, bytes | None]] = {}

    def __len__(self) -> int:
        return len(self._heads)

    def get(self, request: HttpRequest) -> bytes | None:
        """The head of ``request``; None: not sent prepared; UNKNOWN: not encoded yet."""
        entry = self._heads.get(id(request))
        return UNKNOWN if entry is None else entry[1]

    def put(self, request: HttpRequest, head: bytes | None) -> bytes | None:
        self._heads[id(request)] = (request, head)
        return head


def send(client: Any, head: bytes, body: bytes) -> Any:
    """Send a prepared POST on one of ``client``'s pooled connections; its answer, as
    ``client.request`` returns it (the response releases the connection)."""
    pool = client._connection_pool
    sock = pool.get_socket()
    data = head + body if body else head
    try:
        sent = sock.send(data)  # a whole request, nearly always: no sendall, no SO_SNDBUF
        if sent < len(data):
            sock.sendall(memoryview(data)[sent:])
    except OSError as exc:
        if exc.errno not in (errno.ECONNRESET, errno.EPIPE):
            pool.release_socket(sock)
            raise
        # The server may have answered (a 413 to a huge body) before closing: read that.
    except BaseException:
        # The request's timeout (a gevent.Timeout) while the server reads nothing: the
        # connection is closed and its place in the pool given back, or after the pool's
        # size of them every later request of this user would wait for a place in vain.
        pool.release_socket(sock)
        raise
    return HTTPSocketPoolResponse(
        sock, pool, block_size=client.block_size, method="POST", headers_type=client.headers_type
    )
