"""Reference servers for the verdict tests: for each protocol a careful server (correct
behaviour a nightly gate must stay green on: clean refusals, float noise, sampling) and a
careless twin with planted faults, each of which must give an error-severity finding.

One module per server family (chat.py, embeddings.py, tabular.py, closer.py, ...), each
runnable as ``python -m tests.reference.NAME PORT [--careless FAULT,...]`` and serving
``GET /health``. Only 127.0.0.1, only servers the tests start themselves.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler


class OtherMethods(BaseHTTPRequestHandler):
    """Requests in a method other than POST as a careful server handles them: any body read
    first (so the next request on the connection is framed right), and PUT, PATCH, DELETE
    and OPTIONS answered 405 with a JSON error. A bare BaseHTTPRequestHandler answers 501,
    and its do_GET ignores a body: either way the body stays in the stream, where it becomes
    the start of the next request."""

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        length = int(self.headers.get("Content-Length") or 0)
        if self.command != "POST" and length:
            self.rfile.read(length)
        return True

    def _method_not_allowed(self) -> None:
        body = json.dumps({"error": {"message": f"method {self.command} is not allowed"}})
        self.send_response(405)
        self.send_header("Content-Type", "application/json")
        self.send_header("Allow", "GET, POST")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _method_not_allowed
