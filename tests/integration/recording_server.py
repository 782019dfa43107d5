"""A test target that records every request it receives, byte for byte, with the time.

Run as ``python recording_server.py PORT LOG [--fail-every K] [--delay-ms MS]``. It speaks
OpenAI chat (any POST gets a valid chat completion) and MLflow scoring (POST /invocations
gets a prediction per row), and appends one JSON line to LOG per POST, written before the
answer: ``{"at": Unix time the body was read, "input_id": X-Stress-Input-Id, "agent":
User-Agent, "body_b64": the exact body bytes, "status": the status answered}``. It is the
truth a run's records and failures.jsonl are checked against.

``--fail-every K`` answers 500 to inputs whose id ends in a number divisible by K (every
input for K = 1; none without the option). ``--delay-ms`` holds each answer that long.

``--degrade-every K`` (MLflow): an input whose id number is divisible by K gets another
prediction when another request is in flight at any time while it is (it is held
``--delay-ms`` before the answer is made): a load effect, as batching servers show. A
baseline of one user and the group checks' re-sends, one at a time, get the true
prediction; under load the chosen inputs are answered differently. Each log line says
``"shifted"``: the known truth.
``--flip-every K`` (MLflow): a perturbed input (a payload with ``variant`` other than
"original") whose id number is divisible by K gets another prediction: a known flip rate.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CHAT = {
    "id": "recorded",
    "object": "chat.completion",
    "model": "tiny",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
_NUMBER = re.compile(r"(\d+)$")


def number_of(input_id: str | None) -> int | None:
    """The number an input id ends in (``realistic.chat_prompt-0012`` → 12), else None."""
    found = _NUMBER.search(input_id or "")
    return int(found.group(1)) if found else None


def every(input_id: str | None, k: int) -> bool:
    """True for inputs whose id number is divisible by ``k`` (none for k = 0)."""
    number = number_of(input_id)
    return k > 0 and number is not None and number % k == 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("log", type=Path)
    parser.add_argument("--fail-every", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--degrade-every", type=int, default=0)
    parser.add_argument("--flip-every", type=int, default=0)
    options = parser.parse_args()
    lock = threading.Lock()
    log = options.log.open("a", encoding="utf-8")
    in_flight = [0]
    arrivals = [0]  # POSTs so far: one that arrives while another is held crowds it

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def answer(self, status: int, document: Any) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.startswith("/v1/models"):
                self.answer(200, {"object": "list", "data": [{"id": "tiny"}]})
            else:
                self.answer(200, {"status": "ok"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            at = time.time()
            input_id = self.headers.get("X-Stress-Input-Id")
            agent = self.headers.get("User-Agent", "")
            with lock:
                crowded = in_flight[0] > 0
                in_flight[0] += 1
                arrivals[0] += 1
                seen = arrivals[0]
            try:
                if options.delay_ms:
                    time.sleep(options.delay_ms / 1000)
                with lock:
                    crowded = crowded or arrivals[0] != seen
                self.handle_post(body, at, input_id, agent, crowded)
            finally:
                with lock:
                    in_flight[0] -= 1

        def handle_post(
            self, body: bytes, at: float, input_id: str | None, agent: str, crowded: bool
        ) -> None:
            status, document = 200, CHAT
            shifted = bool(crowded and every(input_id, options.degrade_every))
            if every(input_id, options.fail_every):
                status, document = 500, {"error": {"message": "internal error"}}
            elif self.path.startswith("/invocations"):
                document = {"predictions": self.predict(body, input_id, shifted)}
            with lock:
                line = {
                    "at": at,
                    "input_id": input_id,
                    "agent": agent,
                    "body_b64": base64.b64encode(body).decode("ascii"),
                    "status": status,
                    "shifted": shifted,
                }
                log.write(json.dumps(line) + "\n")
                log.flush()
            self.answer(status, document)

        def predict(self, body: bytes, input_id: str | None, shift: bool) -> list[int]:
            try:
                request = json.loads(body)
                rows = request["dataframe_split"]["data"]
                labels = [int(round(sum(row), 6) * 10) % 3 for row in rows]
            except (ValueError, KeyError, TypeError):
                return [0]
            if every(input_id, options.flip_every) and input_id and "perturbation." in input_id:
                shift = shift or not input_id.startswith("perturbation.original")
            return [(label + 1) % 3 if shift else label for label in labels]

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self) -> tuple[socket.socket, Any]:
            connection, address = super().get_request()
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return connection, address

    Server(("127.0.0.1", options.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
