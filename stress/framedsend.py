"""One request the sender frames itself (stress.framing: a chunked body, Expect:
100-continue) sent on a connection of its own, its answer read with h11, bounded in time.

The load (gevent's patched sockets) and the parent's sender (stress.sender) both send such a
request through ``Exchange``, so both put the same bytes on the wire: ``framing.head`` and
the body as stored. With ``Expect: 100-continue`` the head goes first; the body follows when
the server says ``100 Continue``, or after ``framing.EXPECT_WAIT`` seconds of silence (as
curl does: a server that never sends 100 still gets the body). A final answer before that
(a 417, a refusal) is the answer, and the body is not sent. The connection is closed after
the answer: a server that misreads the framing leaves bytes in the stream that must not
become the next input's request.

Failures raise the standard library's exceptions (TimeoutError, ConnectionResetError,
OSError) or h11's ProtocolError for bytes that are not HTTP; ``classify`` names them with
the load's error kinds.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

import h11

from stress import framing
from stress.bodyread import Stalled, kind_of, stall_message

READ_BYTES = 65536
# Response heads larger than this are not HTTP a client reads (h11's own default is 16 KiB).
MAX_HEAD_BYTES = 1 << 20


def classify(error: BaseException, *, answered: bool = False) -> str:
    """The error kind of a failed ``Exchange`` (``answered``: its status line had come)."""
    return kind_of(error, invalid=(h11.ProtocolError,), answered=answered)


class Exchange:
    """``open()`` connects, sends and reads up to the final status and headers;
    ``pieces()`` then yields the body as it arrives; ``close()`` ends the connection.

    ``deadline`` is a ``clock()`` time by which everything must be done (TimeoutError past
    it); ``verify``: check the TLS certificate of an https target.
    """

    def __init__(
        self,
        address: tuple[str, int],
        *,
        method: str,
        head: bytes,
        body: bytes,
        expect: bool,
        deadline: float,
        tls: bool = False,
        verify: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        self.method = method
        self.head = head
        self.body = body
        self.expect = expect
        self.deadline = deadline
        self.tls = tls
        self.verify = verify
        self.clock = clock
        self.status = 0
        self.headers: dict[str, str] = {}
        self.continued = False  # the server said 100 Continue
        self._sock: socket.socket | None = None
        self._parser = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        # h11 parses the answer only after a request of its own: a stand-in with the same
        # method (a HEAD's answer has no body), whose bytes are thrown away.
        self._parser.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        self._parser.send(h11.EndOfMessage())

    def _left(self) -> float:
        left = self.deadline - self.clock()
        if left <= 0:
            raise TimeoutError("no complete answer within the timeout")
        return left

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=self._left())
        if not self.tls:
            return sock
        context = ssl.create_default_context()
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context.wrap_socket(sock, server_hostname=self.address[0])

    def _event(self, wait: float | None = None) -> Any:
        """The next h11 event, reading the socket as needed: at most ``wait`` seconds
        (then None), never past the deadline."""
        assert self._sock is not None
        while True:
            event = self._parser.next_event()
            if event is not h11.NEED_DATA:
                return event
            left = self._left()
            self._sock.settimeout(left if wait is None else min(left, wait))
            try:
                data = self._sock.recv(READ_BYTES)
            except TimeoutError:
                if wait is not None and wait < left:
                    return None
                raise
            if not data:
                return self._eof()
            self._parser.receive_data(data)

    def _eof(self) -> Any:
        """The server closed the connection: the end of an answer read until the close
        (EndOfMessage), no answer at all (ConnectionClosed), or a connection reset in the
        middle of one (ConnectionResetError)."""
        self._parser.receive_data(b"")
        try:
            event = self._parser.next_event()
        except h11.RemoteProtocolError as exc:
            raise ConnectionResetError(
                "the connection closed before the answer was complete"
            ) from exc
        return event  # h11 raises rather than wait for more once the input has ended

    def open(self) -> None:
        """Send the request and read up to the final answer's status and headers."""
        self._sock = self._connect()
        self._sock.settimeout(self._left())
        self._sock.sendall(self.head)
        final = None
        if self.body and self.expect:
            final = self._await_continue()
        failed: OSError | None = None
        if final is None and self.body:
            try:
                self._sock.settimeout(self._left())
                self._sock.sendall(self.body)
            except (BrokenPipeError, ConnectionResetError) as exc:
                failed = exc  # the server may have answered already and closed: read it
        try:
            while final is None:
                event = self._event()
                if isinstance(event, h11.Response):
                    final = event
                elif isinstance(event, h11.ConnectionClosed):
                    raise ConnectionResetError("the connection closed before any answer")
        except (OSError, h11.ProtocolError):
            if failed is not None:
                raise failed from None
            raise
        self.status = final.status_code
        self.headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in final.headers
        }

    def _await_continue(self) -> h11.Response | None:
        """Wait for 100 Continue up to EXPECT_WAIT, then send the body; a final answer that
        comes first is returned (the body is then not sent)."""
        waited_until = self.clock() + framing.EXPECT_WAIT
        while (wait := waited_until - self.clock()) > 0:
            event = self._event(wait)
            if event is None:
                break
            if isinstance(event, h11.InformationalResponse):
                if event.status_code == 100:
                    self.continued = True
                    break
                continue
            if isinstance(event, h11.Response):
                return event
            if isinstance(event, h11.ConnectionClosed):
                raise ConnectionResetError("the connection closed before any answer")
        return None

    def pieces(self, *, stall: float | None = None) -> Iterator[bytes]:
        """The body's bytes as they arrive (chunked transfer coding removed); a silence
        longer than ``stall`` seconds raises bodyread.Stalled."""
        count = 0
        while True:
            event = self._event(stall)
            if event is None:
                raise Stalled(stall_message(stall or 0.0, count, "reads"))
            if isinstance(event, h11.Data):
                count += 1
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def exchange(
    address: tuple[str, int],
    *,
    method: str,
    target: str,
    host: str,
    headers: dict[str, str],
    body: bytes,
    deadline: float,
    tls: bool = False,
    verify: bool = True,
) -> Exchange:
    """The ``Exchange`` of one request as the wire contract writes it (``framing.head``):
    ``target`` is the request line's path, ``host`` the Host header."""
    return Exchange(
        address,
        method=method,
        head=framing.head(method, target, host, headers, body),
        body=body,
        expect=framing.expects_continue(headers),
        deadline=deadline,
        tls=tls,
        verify=verify,
    )
