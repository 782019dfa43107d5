"""A small OpenAI-chat-like server for the repro tests, with one deliberate behaviour per mode.

Run as ``python repro_server.py PORT MODE RECEIVED_DIR``. Every POST is saved byte for byte
as RECEIVED_DIR/<n>.body with its headers as RECEIVED_DIR/<n>.json, so a test can prove an
export sent exactly the stored bytes. Modes:

    faulty   500 with a traceback (naming /srv/app/main.py) when a message contains NUL, else
             a completion; every answer's Server header names Python's version
    fixed    400 naming the message when it contains NUL, else a completion
    bidi     500 when the body contains a bidirectional control character, else a completion
    closing  bidi, and the connection closed (without saying so) 0.1 s after every 500
    flaky    500 or a completion, 50% each, from a seeded random stream
    echo     a completion for everything that parses, 400 otherwise
    crashy   500 for every body that is not a valid chat request, else a completion

Bodies that are not a valid chat request get 400 in every mode but flaky and crashy, as a
real server's request validation would answer.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
COMPLETION = {
    "id": "x",
    "object": "chat.completion",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
    "usage": {"completion_tokens": 1},
}


def main() -> None:
    port, mode, received = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    received.mkdir(parents=True, exist_ok=True)
    counter = itertools.count(1)
    lock = threading.Lock()
    rng = random.Random(8)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, Nagle and delayed ACKs add
        # 40 ms to every answer.
        disable_nagle_algorithm = True

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer(200, b'{"status": "ok"}')

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                number = next(counter)
                (received / f"{number}.body").write_bytes(body)
                headers = {name: value for name, value in self.headers.items()}
                (received / f"{number}.json").write_text(json.dumps(headers))
                coin = rng.random()
            if mode == "flaky":
                if coin < 0.5:
                    self._answer(500, b"Internal Server Error", "text/plain")
                else:
                    self._answer(200, json.dumps(COMPLETION).encode())
                return
            try:
                document = json.loads(body.decode("utf-8"))
                texts = [m["content"] for m in document["messages"]]
                assert all(isinstance(t, str) for t in texts)
            except (ValueError, KeyError, TypeError, AssertionError):
                if mode == "crashy":
                    self._answer(500, b"Internal Server Error", "text/plain")
                else:
                    self._answer(400, b'{"error": {"message": "invalid request"}}')
                return
            if mode in ("faulty", "fixed") and any("\x00" in text for text in texts):
                if mode == "faulty":
                    trace = (
                        b"Traceback (most recent call last):\n"
                        b'  File "/srv/app/main.py", line 41, in predict\n'
                        b"ValueError: embedded null"
                    )
                    self._answer(500, trace, "text/plain")
                else:
                    self._answer(400, b'{"error": {"message": "NUL is not allowed"}}')
                return
            if mode in ("bidi", "closing") and BIDI & set("".join(texts)):
                self._answer(500, b"Internal Server Error", "text/plain")
                if mode == "closing":
                    # As uvicorn-style servers do after an error: the connection is closed
                    # without "Connection: close", a moment later, whatever the client sent
                    # on it meanwhile (unread bytes make the close a reset).
                    self.wfile.flush()
                    time.sleep(0.1)
                    self.close_connection = True
                return
            self._answer(200, json.dumps(COMPLETION).encode())

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
