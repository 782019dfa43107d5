"""A raw-socket HTTP/1.1 server that records the exact bytes of every request it gets.

Started by a test on 127.0.0.1 (port 0). Each connection is served in a thread, keep-alive:
read the head up to the blank line (answer 100 Continue to an Expect: 100-continue of an
input whose id ends in an even digit, and nothing to the others), then
Content-Length bytes of body, or a chunked body up to its last chunk; record head and body
as they came; answer a minimal 200 with a JSON body. Nothing is parsed beyond what framing
needs, so every header line, its case and its order stay as sent.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
# A connection silent this long is closed (every request loop ends).
IDLE_SECONDS = 10.0


class CaptureServer:
    """``with CaptureServer() as server``: ``server.url``; ``server.requests`` the raw bytes
    of each request, in arrival order."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> CaptureServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._closed.set()
        self._listener.close()
        self._thread.join(timeout=5)

    def take(self) -> list[bytes]:
        """The requests recorded so far, and forget them."""
        with self._lock:
            taken, self.requests = self.requests, []
        return taken

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(IDLE_SECONDS)
        buffered = b""
        with connection:
            while not self._closed.is_set():
                try:
                    while b"\r\n\r\n" not in buffered:
                        data = connection.recv(65536)
                        if not data:
                            return
                        buffered += data
                    head, _, buffered = buffered.partition(b"\r\n\r\n")
                    # 100 Continue to inputs whose id ends in an even digit; the others get
                    # none, and must be sent their body all the same.
                    expects = header(head, "Expect") == "100-continue" and not buffered
                    if expects and (header(head, "X-Stress-Input-Id") or "0")[-1] in "02468":
                        connection.sendall(CONTINUE)
                    while (size := body_end(head, buffered)) is None:
                        data = connection.recv(65536)
                        if not data:
                            return
                        buffered += data
                    body, buffered = buffered[:size], buffered[size:]
                    with self._lock:
                        self.requests.append(head + b"\r\n\r\n" + body)
                    connection.sendall(ANSWER)
                except OSError:
                    return


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def body_end(head: bytes, buffered: bytes) -> int | None:
    """Where the body of the request with ``head`` ends in ``buffered`` (None: not yet)."""
    if (header(head, "Transfer-Encoding") or "").lower() == "chunked":
        return chunked_end(buffered)
    size = content_length(head)
    return size if len(buffered) >= size else None


def chunked_end(buffered: bytes) -> int | None:
    """Where a chunked body at the start of ``buffered`` ends (after its last chunk and the
    empty trailer line), or None while it is incomplete."""
    position = 0
    while True:
        end = buffered.find(b"\r\n", position)
        if end < 0:
            return None
        size = int(buffered[position:end].split(b";", 1)[0], 16)
        position = end + 2
        if size == 0:
            break
        position += size + 2
    while True:
        end = buffered.find(b"\r\n", position)
        if end < 0:
            return None
        if end == position:
            return end + 2
        position = end + 2


def header(request: bytes, name: str) -> str | None:
    """The value of header ``name`` (any case) in a recorded request."""
    head = request.partition(b"\r\n\r\n")[0]
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            return value.strip().decode("latin-1")
    return None
