"""A tiny HTTP server for tests: answers every POST with one fixed status and keeps each body.

Run as ``python fake_server.py PORT STATUS BODY_DIR [ARRIVALS]``. Bodies are saved byte for
byte as BODY_DIR/<sha256>.bin so a test can prove that a replay sent exactly the stored bytes;
with ARRIVALS, each POST also appends a JSON line {"at": Unix time it was read, "sha256"} to
that file, in the order the server read them.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    port, status, body_dir = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    arrivals = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    body_dir.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer(b'{"status": "ok"}')

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            at = time.time()
            digest = hashlib.sha256(body).hexdigest()
            (body_dir / f"{digest}.bin").write_bytes(body)
            if arrivals is not None:
                with lock, arrivals.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"at": at, "sha256": digest}) + "\n")
            self._answer(b'{"error": "internal"}' if status >= 400 else b'{"ok": true}')

    class Server(ThreadingHTTPServer):
        # Headers and body go out in two writes; without TCP_NODELAY, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every answer and distort the latencies tests see.
        def get_request(self) -> tuple[socket.socket, object]:
            connection, address = super().get_request()
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return connection, address

    Server(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
