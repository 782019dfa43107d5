"""An OpenAI-chat server for the cost checks: amplification, input_echo, runaway_generation,
cost_growth.

Careful: small JSON answers and small JSON errors (a 400 that names the problem, never the
input), at most ``max_tokens`` output tokens (``usage.completion_tokens`` says how many),
latency linear in the prompt's length (2 ms + 3 µs a character).

Careless twin, ``--careless FAULT,...`` (default: all of them):

- ``echo``: every 400 quotes the whole request body and pads it to 12 times its size (at
  least 20,000 bytes): input_echo and amplification;
- ``amplify``: answers to requests of 1,400 to 4,000 bytes carry a ``debug`` field 50
  times the request's size: amplification;
- ``runaway``: 10 tokens more than ``max_tokens``, and usage says so: runaway_generation;
- ``quadratic``: latency 2 ms + 300 ms x (characters / 32,000)²: cost_growth;
- ``stall``: one valid request in 8 waits 3 s before it answers (past a 2 s client timeout)
  while ``/health`` keeps answering ok: health_under_load.

Run: ``python -m tests.reference.amplifier PORT [--careless echo,amplify,...]``; serves
``GET /health`` and ``GET /v1/models``. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import itertools
import json
import socket
import time
from http.server import ThreadingHTTPServer
from typing import Any

from tests.reference import OtherMethods

FAULTS = ("echo", "amplify", "runaway", "quadratic", "stall")
MODEL = "tiny"
MAX_PROMPT_CHARS = 32_000
MAX_TOKENS_CAP = 4_096
WORDS = ("the", "answer", "is", "a", "short", "reply", "from", "a", "careful", "model")
# The answer this server writes has this many words unless max_tokens says fewer.
ANSWER_WORDS = 12
# The amplify fault answers requests of this many bytes (and up to AMPLIFY_TO_BYTES): 50
# times 1,400 is over the 64 KiB floor; larger ones are left alone, so that their answers'
# transfer time does not blur the latency the quadratic fault shows.
STALL_EVERY = 8
STALL_S = 3.0
_COUNTER = itertools.count()
AMPLIFY_FROM_BYTES = 1_400
AMPLIFY_TO_BYTES = 4_000


class Problem(ValueError):
    """A request the server refuses with 400 (the message names the field, not the value)."""


def _prompt_chars(document: Any) -> int:
    if not isinstance(document, dict):
        raise Problem("the body must be a JSON object")
    messages = document.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Problem("'messages' must be a non-empty list")
    total = 0
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise Problem("each message needs a string 'content'")
        if message.get("role") not in ("system", "user", "assistant"):
            raise Problem("each message needs a role: system, user or assistant")
        total += len(message["content"])
    if total > MAX_PROMPT_CHARS:
        raise Problem(f"context_length_exceeded: at most {MAX_PROMPT_CHARS} characters")
    return total


def _max_tokens(document: dict[str, Any]) -> int:
    value = document.get("max_tokens", 16)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_TOKENS_CAP:
        raise Problem(f"'max_tokens' must be an integer from 1 to {MAX_TOKENS_CAP}")
    return value


class Handler(OtherMethods):
    faults: frozenset[str] = frozenset()
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every small answer, which would hide the latency
        # the server means to show.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, document: Any) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:  # the client gave up (a stalled answer): nothing to tell it
            self.close_connection = True

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, {"status": "ok"})
        elif self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        else:
            self._send(404, {"error": {"message": "not found", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found", "type": "not_found"}})
            return
        try:
            try:
                document = json.loads(body)
            except (ValueError, RecursionError):
                raise Problem("the body is not valid JSON") from None
            chars = _prompt_chars(document)
            max_tokens = _max_tokens(document)
        except Problem as problem:
            self._refuse(str(problem), body)
            return
        if "stall" in self.faults and next(_COUNTER) % STALL_EVERY == STALL_EVERY - 1:
            time.sleep(STALL_S)
        time.sleep(self._latency(chars))
        words = min(ANSWER_WORDS, max_tokens)
        if "runaway" in self.faults:
            words = max_tokens + 10
        text = " ".join(WORDS[i % len(WORDS)] for i in range(words))
        answer: dict[str, Any] = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "length" if words >= max_tokens else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": max(1, chars // 4),
                "completion_tokens": words,
                "total_tokens": max(1, chars // 4) + words,
            },
        }
        if "amplify" in self.faults and AMPLIFY_FROM_BYTES <= len(body) < AMPLIFY_TO_BYTES:
            answer["debug"] = "x" * (50 * len(body))
        self._send(200, answer)

    def _latency(self, chars: int) -> float:
        if "quadratic" in self.faults:
            return 0.002 + 0.3 * (chars / MAX_PROMPT_CHARS) ** 2
        return 0.002 + 3e-6 * chars

    def _refuse(self, message: str, body: bytes) -> None:
        error: dict[str, Any] = {"message": message, "type": "invalid_request_error"}
        if "echo" in self.faults:
            error["request"] = body.decode("utf-8", "replace")
            error["padding"] = "." * max(20_000, 12 * len(body))
        self._send(400, {"error": error})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--careless", nargs="?", const=",".join(FAULTS), default="")
    options = parser.parse_args(argv)
    faults = frozenset(f for f in options.careless.split(",") if f)
    unknown = faults - set(FAULTS)
    if unknown:
        parser.error(f"unknown fault(s) {sorted(unknown)}; choose from {', '.join(FAULTS)}")
    Handler.faults = faults
    server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
