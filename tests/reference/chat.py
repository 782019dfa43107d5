"""A careful OpenAI-chat-compatible server, and its careless twin.

Run as ``python -m tests.reference.chat PORT [--careless FAULT,...] [--context N]``.

Careful (the default): ``GET /health``, ``GET /v1/models``, ``POST /v1/chat/completions``.
A context of ``--context`` tokens (2048), a token being a whitespace-separated word; a prompt
over it is refused with OpenAI's 400 ``context_length_exceeded`` naming the limit; an empty
or whitespace-only conversation gets a 422 with a JSON error; ``n`` over the two slots gets a
400 JSON error naming the limit; bodies that are not a JSON object, or break the field types
and ranges, get a 400 (415 for a body not labelled JSON) with a JSON error. Everything else
is answered at once, deterministically (the same request, the same answer), with ``n``
choices, never echoing the prompt.

Careless faults (``--careless``, comma-separated):

    over_limit_500        a prompt over the context limit crashes: HTTP 500
    n_ignored             any n is accepted, one choice is answered
    whitespace_hang       a whitespace-only conversation never gets an answer
    html_errors           refusals that name no limit are HTML pages (text/html), not JSON
    refuse_under_limit    prompts over 64 words are refused, naming the whole context as
                          the limit
    chunked_as_empty, expect_without_continue   the HTTP framing faults of
                          tests.reference.FRAMING_FAULTS (a chunked body, Expect: 100-continue)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

from tests.reference import FRAMING_FAULTS, OtherMethods

FAULTS = (
    "over_limit_500",
    "n_ignored",
    "whitespace_hang",
    "html_errors",
    "refuse_under_limit",
    *FRAMING_FAULTS,
)
MODEL = "ref-chat"
SLOTS = 2
MAX_TOKENS = 4096
WORDS = ("sure", "here", "is", "a", "short", "answer", "about", "that", "topic", "today")
# refuse_under_limit refuses prompts of more words than this, naming the whole context.
UNDER_LIMIT = 64
# How long a careless hang lasts: longer than any test's target.timeout.
HANG_SECONDS = 60.0
_NUMBERS = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
}
_INTEGERS = {"max_tokens": (1, MAX_TOKENS), "n": (1, 128), "seed": (-(2**63), 2**63 - 1)}
_KNOWN = {"model", "messages", "stream", "stream_options", "stop", "user", *_NUMBERS, *_INTEGERS}


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _body(raw: bytes, content_type: str) -> dict[str, Any]:
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise Refusal(415, "unsupported_media_type", "send the body as application/json")
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Refusal(400, "invalid_json", f"the body is not JSON in UTF-8: {exc}") from None
    if not isinstance(document, dict):
        raise Refusal(400, "invalid_request_error", "the body must be a JSON object")
    return document


def _validate(document: dict[str, Any]) -> list[str]:
    unknown = sorted(set(document) - _KNOWN)
    if unknown:
        raise Refusal(400, "invalid_request_error", f"unrecognized argument: {unknown[0]}")
    messages = document.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Refusal(400, "invalid_request_error", "messages must be a non-empty list")
    texts = []
    for message in messages:
        if not isinstance(message, dict) or set(message) - {"role", "content", "name"}:
            raise Refusal(400, "invalid_request_error", "each message is {role, content}")
        if message.get("role") not in ("system", "user", "assistant"):
            raise Refusal(400, "invalid_request_error", "role must be system, user or assistant")
        if not isinstance(message.get("content"), str):
            raise Refusal(400, "invalid_request_error", "content must be a string")
        if any(0xD800 <= ord(char) <= 0xDFFF for char in message["content"]):
            raise Refusal(400, "invalid_value", "content is not valid Unicode (lone surrogate)")
        texts.append(message["content"])
    if "model" in document and not (isinstance(document["model"], str) and document["model"]):
        raise Refusal(400, "invalid_request_error", "model must be a non-empty string")
    for name, (low, high) in _NUMBERS.items():
        value = document.get(name)
        if name in document and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not low <= value <= high
        ):
            raise Refusal(400, "invalid_value", f"{name} must be a number from {low} to {high}")
    for name, (low_int, high_int) in _INTEGERS.items():
        value = document.get(name)
        if name in document and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not low_int <= value <= high_int
        ):
            raise Refusal(400, "invalid_value", f"{name} must be an integer from {low_int}")
    stop = document.get("stop")
    if "stop" in document and not (
        isinstance(stop, str)
        or (isinstance(stop, list) and len(stop) <= 4 and all(isinstance(s, str) for s in stop))
    ):
        raise Refusal(400, "invalid_value", "stop must be a string or at most 4 strings")
    for name in ("user",):
        if name in document and not isinstance(document[name], str):
            raise Refusal(400, "invalid_value", f"{name} must be a string")
    if "stream" in document and not isinstance(document["stream"], bool):
        raise Refusal(400, "invalid_value", "stream must be true or false")
    options = document.get("stream_options", {})
    if not isinstance(options, dict) or not isinstance(options.get("include_usage", False), bool):
        raise Refusal(400, "invalid_value", "stream_options must be {include_usage: bool}")
    return texts


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, faults: set[str], context: int) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.faults = faults
        self.context = context


class Handler(OtherMethods):
    protocol_version = "HTTP/1.1"
    server_version = "reference"
    sys_version = ""
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, {"status": "ok"})
        elif self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        else:
            self._refuse(Refusal(404, "not_found", f"no route {self.path}"))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?", 1)[0] != "/v1/chat/completions":
            self._refuse(Refusal(404, "not_found", f"no route {self.path}"))
            return
        try:
            self._answer(_body(raw, self.headers.get("Content-Type", "")))
        except Refusal as refusal:
            self._refuse(refusal)

    def _answer(self, document: dict[str, Any]) -> None:
        faults = self.server.faults
        texts = _validate(document)
        words = sum(len(text.split()) for text in texts)
        if words == 0:
            if "whitespace_hang" in faults:
                time.sleep(HANG_SECONDS)
            raise Refusal(422, "empty_prompt", "the conversation has no text, only whitespace")
        context = self.server.context
        if words > context and "over_limit_500" in faults:
            raise Refusal(500, "internal_error", "IndexError: list index out of range")
        if words > (UNDER_LIMIT if "refuse_under_limit" in faults else context):
            raise Refusal(
                400,
                "context_length_exceeded",
                f"This model's maximum context length is {context} tokens. However, your "
                f"messages resulted in {words} tokens. Please reduce the length of the messages.",
            )
        n = document.get("n", 1)
        if n > SLOTS and "n_ignored" not in faults:
            raise Refusal(400, "invalid_value", f"n must be at most {SLOTS} on this server")
        if "n_ignored" in faults:
            n = 1
        max_tokens = document.get("max_tokens", 16)
        seed = hashlib.sha256(json.dumps(texts).encode("utf-8", "surrogatepass")).digest()
        length = 3 + seed[0] % 6
        content = [WORDS[b % len(WORDS)] for b in seed[1 : 1 + length]][:max_tokens]
        reason = "length" if length > max_tokens else "stop"
        choices = [
            {
                "index": i,
                "message": {"role": "assistant", "content": " ".join(content)},
                "finish_reason": reason,
            }
            for i in range(n)
        ]
        usage = {"prompt_tokens": words, "completion_tokens": len(content) * n}
        usage["total_tokens"] = words + usage["completion_tokens"]
        answer = {
            "id": "chatcmpl-" + seed.hex()[:12],
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": MODEL,
            "choices": choices,
            "usage": usage,
        }
        if document.get("stream"):
            usage_chunk = (document.get("stream_options") or {}).get("include_usage", False)
            self._stream(answer, usage_chunk)
        else:
            self._send(200, answer)

    def _stream(self, answer: dict[str, Any], usage_chunk: bool) -> None:
        events: list[dict[str, Any]] = []
        for choice in answer["choices"]:
            delta = {"role": "assistant", "content": choice["message"]["content"]}
            chunk = {**answer, "object": "chat.completion.chunk"}
            chunk["choices"] = [{"index": choice["index"], "delta": delta, "finish_reason": None}]
            events.append(chunk)
            done = {"index": choice["index"], "delta": {}, "finish_reason": choice["finish_reason"]}
            events.append({**chunk, "choices": [done]})
        if usage_chunk:  # OpenAI's stream_options.include_usage: a last chunk, no choices
            events.append({**answer, "object": "chat.completion.chunk", "choices": []})
        body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        self._raw(200, body.encode(), "text/event-stream")

    def _refuse(self, refusal: Refusal) -> None:
        if "html_errors" in self.server.faults and refusal.code != "context_length_exceeded":
            page = f"<html><body><h1>Error {refusal.status}</h1></body></html>"
            self._raw(refusal.status, page.encode(), "text/html")
            return
        error = {"message": refusal.message, "type": "invalid_request_error", "code": refusal.code}
        self._send(refusal.status, {"error": error})

    def _send(self, status: int, document: Any) -> None:
        self._raw(status, json.dumps(document).encode(), "application/json")

    def _raw(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def parse_faults(text: str) -> set[str]:
    faults = {f for f in text.split(",") if f}
    unknown = faults - set(FAULTS)
    if unknown:
        raise SystemExit(f"--careless: unknown fault(s) {sorted(unknown)}; known: {FAULTS}")
    return faults


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--careless", default="", help="comma-separated faults")
    parser.add_argument("--context", type=int, default=2048)
    args = parser.parse_args(argv)
    server = Server(args.port, parse_faults(args.careless), args.context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        thread.join()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
