"""A careful text classifier (POST JSON text -> label and score), and its careless twin.

Run as ``python -m tests.reference.classifier PORT [--careless FAULT,...]``.

Careful (the default): ``GET /health``, ``GET /openapi.json`` (its own OpenAPI document, so
`stress init` finds it), ``POST /classify`` with ``{"text": str}`` (at most ``MAX_CHARS``
characters) answered ``{"label": "positive" | "negative" | "neutral", "score": 0..1}``,
deterministically: a sentiment lexicon of its own (not stress's) counted over the words of
the text after NFKC and case folding, so letter case, spacing, punctuation, typos outside
the opinion words and other names, places or numbers leave the label alone. Refusals are
FastAPI-style 422s with a JSON ``detail`` list: text missing, not a string or not valid
Unicode; empty or whitespace-only text; text over ``MAX_CHARS``
(``string_too_long`` with ``ctx.max_length``, as pydantic writes it); unknown keys. A body
that is not a JSON object in UTF-8 gets a 400, one not labelled JSON a 415, both JSON.

Careless faults (``--careless``, comma-separated):

    whitespace_500        whitespace-only text crashes: HTTP 500
    html_errors           refusals other than the length limit are HTML pages
    refuse_under_limit    texts over 1,000 characters are refused, naming MAX_CHARS as the limit
    case_sensitive        the lexicon is matched without case folding: "GREAT" is no opinion,
                          so shouting or Title Case moves a review to neutral
    space_split           words are split on single spaces only: a word next to a tab or a
                          newline ("great\n") is not found, so extra whitespace flips labels
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import unicodedata
from http.server import ThreadingHTTPServer
from typing import Any

from tests.reference import OtherMethods

FAULTS = ("whitespace_500", "html_errors", "refuse_under_limit", "case_sensitive", "space_split")
MAX_CHARS = 4096
UNDER_LIMIT = 1000
LABELS = ("positive", "negative", "neutral")
# The classifier's own opinion words (a superset of what stress generates, written here).
POSITIVE = frozenset(
    re.findall(
        r"\w+",
        "good great excellent wonderful superb fantastic brilliant perfect love adore enjoy "
        "like recommend endorse delighted happy pleased amazing",
    )
)
NEGATIVE = frozenset(
    re.findall(
        r"\w+",
        "bad poor terrible awful horrible dreadful appalling hate detest loathe regret lament "
        "broken disappointed angry useless worst",
    )
)
NEUTRAL = frozenset(
    re.findall(
        r"\w+",
        "average ordinary unremarkable mediocre okay ok acceptable adequate expected "
        "anticipated fine",
    )
)
_WORDS = re.compile(r"\w+")
_EDGES = ".,;:!?()\"'"


def classify(text: str, faults: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """The label and score of ``text``: opinion words counted, the larger side wins."""
    text = unicodedata.normalize("NFKC", text)
    if "case_sensitive" not in faults:
        text = text.casefold()
    if "space_split" in faults:
        words = [word.strip(_EDGES) for word in text.split(" ")]
    else:
        words = _WORDS.findall(text)
    positive = sum(word in POSITIVE for word in words)
    negative = sum(word in NEGATIVE for word in words)
    neutral = sum(word in NEUTRAL for word in words)
    if positive == negative:
        label = "neutral"
        score = 0.5 + 0.1 * min(neutral, 4)
    else:
        label = "positive" if positive > negative else "negative"
        score = 0.5 + 0.5 * abs(positive - negative) / (positive + negative)
    return {"label": label, "score": round(score, 4)}


OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "reference classifier", "version": "1"},
    "paths": {
        "/classify": {
            "post": {
                "operationId": "classify",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["text"],
                                "additionalProperties": False,
                                "properties": {"text": {"type": "string", "maxLength": MAX_CHARS}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "the label",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["label", "score"],
                                    "properties": {
                                        "label": {"type": "string", "enum": list(LABELS)},
                                        "score": {"type": "number", "minimum": 0, "maximum": 1},
                                    },
                                }
                            }
                        },
                    },
                    "422": {"description": "invalid text"},
                },
            }
        }
    },
}


class Refusal(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status, self.detail = status, detail


def _field_error(kind: str, message: str, **context: Any) -> Refusal:
    error: dict[str, Any] = {"type": kind, "loc": ["body", "text"], "msg": message}
    if context:
        error["ctx"] = context
    return Refusal(422, [error])


def _constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, faults: set[str]) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.faults = faults


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
        elif self.path == "/openapi.json":
            self._send(200, OPENAPI)
        else:
            self._send(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?", 1)[0] != "/classify":
            self._send(404, {"detail": "Not Found"})
            return
        try:
            self._send(200, self._classify(raw))
        except Refusal as refusal:
            self._refuse(refusal)

    def _classify(self, raw: bytes) -> dict[str, Any]:
        media = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            raise Refusal(415, "send the body as application/json")
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise Refusal(400, f"the body is not JSON in UTF-8: {exc}") from None
        if not isinstance(body, dict):
            raise Refusal(422, [{"type": "model_type", "loc": ["body"], "msg": "an object"}])
        if set(body) - {"text"}:
            raise Refusal(422, [{"type": "extra_forbidden", "loc": ["body"], "msg": "unknown key"}])
        text = body.get("text")
        if not isinstance(text, str):
            raise _field_error("string_type", "Input should be a valid string")
        if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
            raise _field_error("string_unicode", "Input should be a valid Unicode string")
        if not text.strip():
            if "whitespace_500" in self.server.faults:
                raise Refusal(500, "ZeroDivisionError: division by zero")
            raise _field_error("string_too_short", "the text is empty or only whitespace")
        limit = UNDER_LIMIT if "refuse_under_limit" in self.server.faults else MAX_CHARS
        if len(text) > limit:
            raise _field_error(
                "string_too_long",
                f"String should have at most {MAX_CHARS} characters",
                max_length=MAX_CHARS,
            )
        return classify(text, self.server.faults)

    def _refuse(self, refusal: Refusal) -> None:
        limit = isinstance(refusal.detail, list) and refusal.detail[0]["type"] == "string_too_long"
        if "html_errors" in self.server.faults and not limit and refusal.status < 500:
            page = f"<html><body><h1>{refusal.status}</h1></body></html>".encode()
            self._raw(refusal.status, page, "text/html")
            return
        self._send(refusal.status, {"detail": refusal.detail})

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
    parser = argparse.ArgumentParser(description="a careful text classifier")
    parser.add_argument("port", type=int)
    parser.add_argument("--careless", default="", help="comma-separated faults")
    args = parser.parse_args(argv)
    server = Server(args.port, parse_faults(args.careless))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        thread.join()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
