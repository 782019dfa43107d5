"""Reference servers for the verdict tests: for each protocol a careful server (correct
behaviour a nightly gate must stay green on: clean refusals, float noise, sampling) and a
careless twin with planted faults, each of which must give an error-severity finding.

One module per server family (chat.py, embeddings.py, tabular.py, closer.py, ...), each
runnable as ``python -m tests.reference.NAME PORT [--careless FAULT,...]`` and serving
``GET /health``. Only 127.0.0.1, only servers the tests start themselves.
"""

from __future__ import annotations

import io
import json
from http.server import BaseHTTPRequestHandler
from typing import Any

# Faults of the HTTP framing any reference server can plant (its ``server.faults``):
#   chunked_as_empty          a chunked body is read as Content-Length says (no body): the
#                             JSON parse error escapes as a 500
#   expect_without_continue   Expect: 100-continue gets no 100; the body is read from what
#                             has arrived (nothing, from a client that waits): a 500
FRAMING_FAULTS = ("chunked_as_empty", "expect_without_continue")
# The most a chunked request body may carry here (a careful server bounds what it buffers).
MAX_CHUNKED_BYTES = 8 << 20


class OtherMethods(BaseHTTPRequestHandler):
    """Requests in a method other than POST as a careful server handles them: any body read
    first (so the next request on the connection is framed right), and PUT, PATCH, DELETE
    and OPTIONS answered 405 with a JSON error. A bare BaseHTTPRequestHandler answers 501,
    and its do_GET ignores a body: either way the body stays in the stream, where it becomes
    the start of the next request.

    A chunked body (which http.server does not decode) is decoded here and handed to the
    handler as a body of that Content-Length; a malformed one is refused (400) and the
    connection closed. Expect: 100-continue is http.server's own (it sends the 100).
    FRAMING_FAULTS plant the careless twins."""

    _wire_reader: Any = None  # the connection's reader while a decoded body stands in for it

    def _faults(self) -> Any:
        return getattr(self.server, "faults", ())

    def handle_expect_100(self) -> bool:
        if "expect_without_continue" in self._faults():
            return True  # no 100: the handler reads on as if the body were there
        return super().handle_expect_100()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            if self._wire_reader is not None:
                self.rfile, self._wire_reader = self._wire_reader, None

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        faults = self._faults()
        expects = "expect_without_continue" in faults and self.headers.get("Expect")
        if expects and not self._arrived():
            return self._crash("Expecting value: line 1 column 1 (char 0)")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            if "chunked_as_empty" in faults:
                return self._crash("Expecting value: line 1 column 1 (char 0)")
            body = self._dechunked()
            if body is None:
                self.close_connection = True
                self.send_error(400, "malformed chunked body")
                return False
            del self.headers["Content-Length"]
            self.headers["Content-Length"] = str(len(body))
            self._wire_reader, self.rfile = self.rfile, io.BytesIO(body)
        length = int(self.headers.get("Content-Length") or 0)
        if self.command != "POST" and length:
            self.rfile.read(length)
        return True

    def _arrived(self) -> bool:
        """Some of the body has arrived (buffered, or in the socket), without waiting."""
        self.connection.setblocking(False)
        try:
            return bool(self.rfile.peek(1))
        finally:
            self.connection.setblocking(True)

    def _dechunked(self) -> bytes | None:
        """The chunked body read from the connection (None: not chunked framing)."""
        out = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                return None
            if size == 0:
                break
            out += self.rfile.read(size)
            if self.rfile.read(2) != b"\r\n" or len(out) > MAX_CHUNKED_BYTES:
                return None
        while (line := self.rfile.readline(1024)) not in (b"\r\n", b"\n", b""):
            pass  # trailer fields
        return bytes(out)

    def _crash(self, message: str) -> bool:
        """The careless answer: a 500 with the parser's words, the connection closed."""
        body = json.dumps({"error": {"message": message, "type": "internal_error"}}).encode()
        self.close_connection = True
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        return False

    def _method_not_allowed(self) -> None:
        body = json.dumps({"error": {"message": f"method {self.command} is not allowed"}})
        self.send_response(405)
        self.send_header("Content-Type", "application/json")
        self.send_header("Allow", "GET, POST")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _method_not_allowed
