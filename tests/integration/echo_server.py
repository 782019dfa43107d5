"""A chat server for tests that echoes the credentials it was sent, the nasty case for secrets.

Run as ``python echo_server.py PORT LOG TOKEN CUSTOM KEY``. Every POST must carry
``Authorization: Bearer TOKEN``, ``X-Custom-Secret: CUSTOM`` and ``?api_key=KEY`` (else 401).
A readable chat request is answered 200 with the request's path and headers as the model's
answer (so the secrets land in the answer text, its excerpt and digest) and in a response
header; a body that is not JSON gets a 500 "debug page" quoting them (one that is not even
UTF-8, a plain 500). LOG gets one JSON line per
POST: the input id and whether the credentials were right (never their values).
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


def main() -> None:
    port, log_path = int(sys.argv[1]), Path(sys.argv[2])
    token, custom, key = sys.argv[3:6]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # No product version in the Server header (that would be a finding of its own).
        server_version = "echo"
        sys_version = ""

        def log_message(self, *args: object) -> None:
            pass

        def answer(self, status: int, body: bytes, echo: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Debug-Echo", echo)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            models = {"object": "list", "data": [{"id": "tiny", "object": "model"}]}
            self.answer(200, json.dumps(models).encode(), "")

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            query = parse_qs(urlsplit(self.path).query)
            authorised = (
                self.headers.get("Authorization") == f"Bearer {token}"
                and self.headers.get("X-Custom-Secret") == custom
                and query.get("api_key") == [key]
            )
            with lock, log_path.open("a", encoding="utf-8") as log:
                line = {"input_id": self.headers.get("X-Stress-Input-Id"), "ok": authorised}
                log.write(json.dumps(line) + "\n")
            echo = (
                f"path={self.path} authorization={self.headers.get('Authorization')} "
                f"custom={self.headers.get('X-Custom-Secret')}"
            )
            if not authorised:
                self.answer(401, b'{"error": {"message": "bad credentials"}}', "")
                return
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                # A plain 500 that echoes nothing: a failure a standalone script can judge.
                self.answer(500, b'{"error": "internal"}', "")
                return
            try:
                json.loads(text)
            except ValueError:
                page = f"Traceback (most recent call last):\n  debug: {echo}\nValueError: bad JSON"
                self.answer(500, page.encode(), echo)
                return
            completion = {
                "id": "echo",
                "object": "chat.completion",
                "model": "tiny",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": f"you sent {echo}"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
            }
            self.answer(200, json.dumps(completion).encode(), echo)

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
