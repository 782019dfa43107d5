"""Reference OpenAI-embeddings servers: a careful one whose vectors carry float noise, and a
careless twin whose vectors change under load.

    python -m tests.reference.embeddings PORT [--careless FAULT,...] [--dimensions N]

Careful: ``POST /v1/embeddings`` answers one 1536-dimension unit vector per input, built
from the text's character trigrams (so the same text always gets the same vector), plus
float noise of at most ``NOISE`` (3e-7) per component that differs between requests, as
batching on a real accelerator does: the noise is drawn from a generator seeded by the
request's arrival number, so a run is reproducible but no two answers are byte-identical.
Blank texts are embedded like any other. Bad requests (malformed JSON, deep nesting, wrong
types) get a clean 400 with an OpenAI-style error; an input over ``MAX_CHARS`` a 400
``context_length_exceeded`` naming the limit.

Careless faults, each only while another request is in flight (under load; a request sent
alone is answered correctly, as the group check's re-sends are):

    wrong-vector  the vector of the previous request's text
    zeroed        a vector of zeros
    dimension     a vector of 768 numbers instead of 1536
    nan           one component NaN

Every request takes ``--delay-ms`` (default 20) so that concurrent requests overlap.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.reference import OtherMethods

FAULTS = ("wrong-vector", "zeroed", "dimension", "nan")
DIMENSIONS = 1536
NOISE = 3e-7
MAX_CHARS = 32_000
MAX_BATCH = 64
MAX_BODY = 1 << 20


def embed(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """A unit vector from ``text``'s character trigrams: equal texts, equal vectors."""
    vector = [0.0] * dimensions
    padded = f"  {text.lower()}  "
    for index in range(len(padded) - 2):
        gram = padded[index : index + 3].encode("utf-8", "surrogatepass")
        digest = zlib.crc32(gram)
        vector[digest % dimensions] += 1.0 if digest & 1 << 31 else -1.0
    # A small text-dependent offset everywhere, so no vector is sparse or zero.
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8])
    spread = random.Random(seed)
    vector = [value + spread.uniform(-0.05, 0.05) for value in vector]
    norm = math.sqrt(sum(value * value for value in vector))
    return [value / norm for value in vector]


def noisy(vector: list[float], seed: int) -> list[float]:
    generator = random.Random(seed)
    return [value + generator.uniform(-NOISE, NOISE) for value in vector]


class State:
    def __init__(self, faults: set[str], delay: float) -> None:
        self.faults = faults
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.arrivals = 0
        self.previous = "previous text"


def error(message: str, code: str, param: str | None = None) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }


def answer(state: State, request: Any, busy: bool, arrival: int) -> tuple[int, dict[str, Any]]:
    if not isinstance(request, dict):
        return 400, error("the body must be a JSON object", "invalid_request_error")
    texts = request.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return 400, error(
            "'input' must be a non-empty string or list of strings", "invalid_type", "input"
        )
    if len(texts) > MAX_BATCH:
        return 400, error(f"at most {MAX_BATCH} inputs per request", "batch_too_large", "input")
    longest = max(len(text) for text in texts)
    if longest > MAX_CHARS:
        return 400, error(
            f"This model's maximum context length is {MAX_CHARS} characters; the input has "
            f"{longest}.",
            "context_length_exceeded",
            "input",
        )
    model = request.get("model")
    if not isinstance(model, str) or not model:
        return 400, error("'model' must be a non-empty string", "invalid_type", "model")
    data = []
    for index, text in enumerate(texts):
        vector = noisy(embed(text), arrival * 1000 + index)
        if busy and "wrong-vector" in state.faults:
            vector = embed(state.previous)
        if busy and "zeroed" in state.faults:
            vector = [0.0] * DIMENSIONS
        if busy and "dimension" in state.faults:
            vector = vector[: DIMENSIONS // 2]
        if busy and "nan" in state.faults:
            vector[7] = math.nan
        data.append({"object": "embedding", "index": index, "embedding": vector})
    with state.lock:
        state.previous = texts[-1]
    tokens = sum(max(1, len(text) // 4) for text in texts)
    return 200, {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(OtherMethods):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def send(self, status: int, document: dict[str, Any]) -> None:
            body = json.dumps(
                document
            ).encode()  # NaN goes out as the token NaN, as careless servers do
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path in ("/health", "/v1/health"):
                self.send(200, {"status": "ok"})
            elif path == "/v1/models":
                self.send(200, {"object": "list", "data": [{"id": "ref-embed", "object": "model"}]})
            else:
                self.send(404, error(f"no route {path}", "not_found"))

        def do_POST(self) -> None:
            path = self.path.split("?")[0]
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self.send(400, error("bad Content-Length", "invalid_request_error"))
                return
            if length > MAX_BODY:
                self.close_connection = True
                self.send(413, error(f"the body is over {MAX_BODY} bytes", "request_too_large"))
                return
            raw = self.rfile.read(length)
            if path not in ("/v1/embeddings", "/embeddings"):
                self.send(404, error(f"no route {path}", "not_found"))
                return
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
                    self.send(400, error("the body is not valid JSON", "invalid_json"))
                    return
                status, document = answer(state, request, busy, arrival)
                self.send(status, document)
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
    server = ThreadingHTTPServer(
        ("127.0.0.1", options.port), handler(State(faults, options.delay_ms / 1000))
    )
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
