"""Reference sampling chat servers (OpenAI chat/completions): a careful one that samples, and
a careless twin whose answers break under load.

    python -m tests.reference.sampling PORT [--careless FAULT,...]

Careful: every answer is drawn from one fixed distribution (12 to 30 words of ``WORDS``).
With ``temperature`` 0 or a ``seed`` the draw is seeded by the prompt (and the seed), so the
same request gets the same answer; otherwise each request draws afresh (seeded by its
arrival number, so a run is reproducible but answers differ between requests), as a real
LLM sampling at temperature 1 does. ``stream: true`` answers with server-sent events. Bad
requests get a clean 400 with an OpenAI-style error; a prompt over ``MAX_CHARS`` a 400
``context_length_exceeded`` naming the limit.

Careless faults, each only while another request is in flight (a request alone is fine):

    truncate  the answer cut to its first two words
    garble    the answer's words replaced by random letters

Every request takes ``--delay-ms`` (default 20) so that concurrent requests overlap.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import string
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.reference import OtherMethods

FAULTS = ("truncate", "garble")
WORDS = (
    "the",
    "model",
    "reads",
    "every",
    "prompt",
    "and",
    "answers",
    "with",
    "care",
    "so",
    "that",
    "each",
    "reply",
    "stays",
    "short",
    "clear",
    "and",
    "useful",
    "while",
    "the",
    "server",
    "keeps",
    "its",
    "promises",
    "under",
    "load",
    "for",
    "all",
    "users",
    "who",
    "send",
    "requests",
    "at",
    "any",
    "hour",
    "of",
    "the",
    "day",
)
MAX_CHARS = 32_000
MAX_CHOICES = 4
MAX_BODY = 1 << 20


def draw(rng: random.Random, limit: int | None) -> str:
    count = rng.randint(12, 30)
    if limit is not None:
        count = min(count, limit)
    return " ".join(rng.choice(WORDS) for _ in range(count)).capitalize() + "."


def garbled(text: str, rng: random.Random) -> str:
    letters = string.ascii_lowercase
    return " ".join("".join(rng.choice(letters) for _ in range(len(word))) for word in text.split())


class State:
    def __init__(self, faults: set[str], delay: float) -> None:
        self.faults = faults
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.arrivals = 0


def error(message: str, code: str, param: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": code,
        }
    }


def prompt_of(request: dict[str, Any], chat: bool) -> str | None:
    if not chat:
        prompt = request.get("prompt")
        return prompt if isinstance(prompt, str) else None
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    parts = []
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            return None
        content = message.get("content")
        if isinstance(content, list):
            texts = [p.get("text") for p in content if isinstance(p, dict)]
            if not all(isinstance(t, str) for t in texts):
                return None
            content = " ".join(texts)  # type: ignore[arg-type]
        if not isinstance(content, str):
            return None
        parts.append(content)
    return "\n".join(parts)


def answer(
    state: State, request: Any, chat: bool, busy: bool, arrival: int
) -> tuple[int, dict[str, Any], bool]:
    """(status, document, stream) of one request."""
    if not isinstance(request, dict):
        return 400, error("the body must be a JSON object", "invalid_request_error"), False
    prompt = prompt_of(request, chat)
    if prompt is None:
        field = "messages" if chat else "prompt"
        return 400, error(f"'{field}' is missing or malformed", "invalid_type", field), False
    if len(prompt) > MAX_CHARS:
        message = (
            f"This model's maximum context length is {MAX_CHARS} characters; the prompt has "
            f"{len(prompt)}."
        )
        return 400, error(message, "context_length_exceeded", field_name(chat)), False
    model = request.get("model")
    if not isinstance(model, str) or not model:
        return 400, error("'model' must be a non-empty string", "invalid_type", "model"), False
    temperature = request.get("temperature", 1.0)
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        return 400, error("'temperature' must be a number", "invalid_type", "temperature"), False
    if not 0 <= temperature <= 2:
        message = "'temperature' must be between 0 and 2"
        return 400, error(message, "invalid_value", "temperature"), False
    seed = request.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        return 400, error("'seed' must be an integer", "invalid_type", "seed"), False
    limit = request.get("max_tokens", request.get("max_completion_tokens"))
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        return (
            400,
            error("'max_tokens' must be a positive integer", "invalid_value", "max_tokens"),
            False,
        )
    choices = request.get("n", 1)
    if isinstance(choices, bool) or not isinstance(choices, int) or not 1 <= choices <= MAX_CHOICES:
        message = f"'n' must be an integer from 1 to {MAX_CHOICES}"
        return 400, error(message, "invalid_value", "n"), False
    stream = request.get("stream", False)
    if not isinstance(stream, bool):
        return 400, error("'stream' must be a boolean", "invalid_type", "stream"), False
    if temperature == 0 or seed is not None:
        key = f"{seed}\x00{prompt}".encode("utf-8", "surrogatepass")
        rng = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8]))
    else:
        rng = random.Random(arrival)
    texts = []
    for _ in range(choices):
        text = draw(rng, limit)
        if busy and "truncate" in state.faults:
            text = " ".join(text.split()[:2])
        if busy and "garble" in state.faults:
            text = garbled(text, rng)
        texts.append(text)
    tokens = [len(text.split()) for text in texts]
    document = {
        "id": f"ref-{arrival}",
        "object": "chat.completion" if chat else "text_completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": index,
                **({"message": {"role": "assistant", "content": text}} if chat else {"text": text}),
                "finish_reason": "length"
                if limit is not None and tokens[index] >= limit
                else "stop",
            }
            for index, text in enumerate(texts)
        ],
        "usage": {
            "prompt_tokens": max(1, len(prompt) // 4),
            "completion_tokens": sum(tokens),
            "total_tokens": max(1, len(prompt) // 4) + sum(tokens),
        },
    }
    return 200, document, stream


def field_name(chat: bool) -> str:
    return "messages" if chat else "prompt"


def events(document: dict[str, Any], chat: bool) -> bytes:
    """The answer as server-sent events: one chunk a word, then usage, then [DONE]."""
    chunks = []
    for choice in document["choices"]:
        text = choice["message"]["content"] if chat else choice["text"]
        for index, word in enumerate(text.split(" ")):
            piece = word if index == 0 else " " + word
            delta = {"delta": {"content": piece}} if chat else {"text": piece}
            chunk = {
                "id": document["id"],
                "object": "chat.completion.chunk" if chat else "text_completion",
                "model": document["model"],
                "choices": [{"index": choice["index"], **delta, "finish_reason": None}],
            }
            chunks.append(chunk)
        done = {"delta": {}} if chat else {"text": ""}
        chunks.append(
            {
                "id": document["id"],
                "object": "chat.completion.chunk" if chat else "text_completion",
                "model": document["model"],
                "choices": [
                    {"index": choice["index"], **done, "finish_reason": choice["finish_reason"]}
                ],
            }
        )
    chunks.append({"id": document["id"], "choices": [], "usage": document["usage"]})
    lines = [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


def handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(OtherMethods):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def send(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def send_json(self, status: int, document: dict[str, Any]) -> None:
            self.send(status, json.dumps(document).encode())

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path in ("/health", "/v1/health"):
                self.send_json(200, {"status": "ok"})
            elif path == "/v1/models":
                models = [{"id": "ref-sampler", "object": "model"}]
                self.send_json(200, {"object": "list", "data": models})
            else:
                self.send_json(404, error(f"no route {path}", "not_found"))

        def do_POST(self) -> None:
            path = self.path.split("?")[0]
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self.send_json(400, error("bad Content-Length", "invalid_request_error"))
                return
            if length > MAX_BODY:
                self.close_connection = True
                self.send_json(413, error(f"the body is over {MAX_BODY} bytes", "too_large"))
                return
            raw = self.rfile.read(length)
            routes = {"/v1/chat/completions": True, "/v1/completions": False}
            if path not in routes:
                self.send_json(404, error(f"no route {path}", "not_found"))
                return
            chat = routes[path]
            with state.lock:
                state.in_flight += 1
                state.arrivals += 1
                arrival = state.arrivals
            try:
                time.sleep(state.delay)
                with state.lock:
                    busy = state.in_flight > 1
                try:
                    request = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError, RecursionError):
                    self.send_json(400, error("the body is not valid JSON", "invalid_json"))
                    return
                status, document, stream = answer(state, request, chat, busy, arrival)
                if status == 200 and stream:
                    self.send(200, events(document, chat), "text/event-stream")
                else:
                    self.send_json(status, document)
            finally:
                with state.lock:
                    state.in_flight -= 1

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--careless", default="", help=f"comma-separated: {', '.join(FAULTS)}")
    parser.add_argument("--delay-ms", type=float, default=20.0)
    options = parser.parse_args()
    faults = {fault for fault in options.careless.split(",") if fault}
    unknown = faults - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults {sorted(unknown)}; choose from {', '.join(FAULTS)}")
    state = State(faults, options.delay_ms / 1000)
    server = ThreadingHTTPServer(("127.0.0.1", options.port), handler(state))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
