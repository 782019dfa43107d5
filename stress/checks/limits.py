"""Limits a server names when it refuses: read from the refusal, never guessed.

``parse(status, body)`` reads one 4xx answer and returns the ``Limit`` it names, or None:
OpenAI-style error codes (``context_length_exceeded``), llama.cpp's ``n_ctx``, FastAPI and
pydantic's ``max_length``, HTTP 413, and messages with a number ("maximum context length is
4096 tokens", "`inputs` tokens + `max_new_tokens` must be <= 2048", "batch-size must be <= 8").
``Size.of(body)`` measures a request the same ways (characters, words, bytes, rows), and
``Limit.relation(size)`` says whether the request was surely over the limit, surely under it,
or cannot tell (tokens are not characters: the bounds are a word count below and the UTF-8
bytes plus the completion above). A ``LimitBook`` keeps what one run learned.

Like the other check modules it imports only the standard library: exported reproducers
carry a copy (stress.repro.oracle).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# The kinds of limit, in the words of the scenario key target.limits.
PROMPT_TOKENS = "prompt_tokens"  # the context window (prompt, sometimes plus completion)
OUTPUT_TOKENS = "max_tokens"  # the completion's tokens
PROMPT_CHARS = "prompt_chars"  # a text field's characters (FastAPI max_length)
BATCH = "batch_size"  # rows, instances or inputs in one request
BODY_BYTES = "body_bytes"  # the request body's bytes
CHOICES = "n"  # completions per request (OpenAI's n): the server's slots
KINDS = (PROMPT_TOKENS, OUTPUT_TOKENS, PROMPT_CHARS, BATCH, BODY_BYTES, CHOICES)

OVER = "over"
UNDER = "under"
UNKNOWN = "unknown"

# Read at most this much of an error body.
_READ = 16384
# A chat template adds a few tokens per message around the text.
_TOKENS_PER_MESSAGE = 8
_NUMBER = r"(\d[\d,_]{0,12})"
_AT_MOST = r"(?:at most|maximum(?: of)?|limit(?: is| of)?|up to|no more than)"
_LE = r"(?:<=|≤|at most|less than or equal to|no more than)"
_ITEMS = r"(?:rows|instances|inputs|items|records|texts)\b"

# Error codes and types that name a kind of limit without its number.
_CODES = {
    "context_length_exceeded": PROMPT_TOKENS,
    "exceed_context_size_error": PROMPT_TOKENS,
    "string_above_max_length": PROMPT_CHARS,
    "request_too_large": BODY_BYTES,
    "payload_too_large": BODY_BYTES,
}
# (kind, pattern with the number as group 1), tried in order: the first match wins.
_MESSAGES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        # Batch sizes first: "batch size 64 > maximum allowed batch size 32" names tokens nowhere.
        (BATCH, rf"batch[ _-]?size (?:must be )?(?:<=|≤|at most|of at most) {_NUMBER}"),
        (BATCH, rf"max(?:imum)?(?: allowed)?[ _-]?batch[ _-]?size(?: is| of|:|=)? {_NUMBER}"),
        (
            BATCH,
            rf"{_AT_MOST} {_NUMBER} {_ITEMS}",
        ),
        (BATCH, rf"(?:too many|more than) {_NUMBER} (?:rows|instances|inputs|records|texts)\b"),
        # Choices per request: "n must be at most 2", "n: must be <= 1".
        (
            CHOICES,
            rf"\bn`?:? (?:must be |should be )?{_LE} {_NUMBER}",
        ),
        # The prompt and completion together (TGI), before the completion alone.
        (PROMPT_TOKENS, rf"tokens \+ `?max_new_tokens`? must be <= {_NUMBER}"),
        # Output tokens, before the context: "max_new_tokens must be <= 1024".
        (OUTPUT_TOKENS, rf"max_new_tokens`? must be <= {_NUMBER}"),
        (OUTPUT_TOKENS, rf"supports at most {_NUMBER} completion tokens"),
        # The context window.
        (PROMPT_TOKENS, rf"must have less than {_NUMBER} tokens"),
        (PROMPT_TOKENS, rf"exceeds? (?:the )?context window of {_NUMBER}"),
        (PROMPT_TOKENS, rf"maximum (?:model|context|sequence|input) length (?:of |is )?{_NUMBER}"),
        (PROMPT_TOKENS, rf"\d+ tokens > {_NUMBER} maximum"),
        (
            PROMPT_TOKENS,
            rf"(?:context|n_ctx)(?: size| length| window)?(?: is|:|=| of)?(?: only)? {_NUMBER} "
            r"tokens",
        ),
        (PROMPT_TOKENS, rf"(?:at most|maximum(?: of)?|limit(?: is| of)?|up to) {_NUMBER} tokens"),
        # Characters of a text field.
        (
            PROMPT_CHARS,
            rf"{_AT_MOST} {_NUMBER} char(?:acter)?s",
        ),
        # The body.
        (BODY_BYTES, rf"(?:body|payload|request|entity|upload)[^.\d]{{0,40}}?{_NUMBER} ?bytes"),
        (BODY_BYTES, rf"max(?:imum)?[ _]body[ _]size(?: is| of|:|=)? {_NUMBER}"),
    )
)
# A message naming a kind of limit without a number that any of the patterns reads.
_WORDS = (
    (
        PROMPT_TOKENS,
        re.compile(r"context (?:length|size|window)|too many tokens|prompt is too long", re.I),
    ),
    (BODY_BYTES, re.compile(r"request entity too large|payload too large|body too large", re.I)),
    (BATCH, re.compile(r"batch[ _-]?size", re.I)),
    (CHOICES, re.compile(r"only one completion choice", re.I)),
)


@dataclass(frozen=True)
class Size:
    """What one request measures: prompt characters, words and UTF-8 bytes, messages, rows,
    the completion tokens it asked for, the body's bytes. None where it has no such thing."""

    chars: int | None = None
    # The longest single text: a limit in characters may be per field.
    longest: int | None = None
    words: int | None = None
    text_bytes: int | None = None
    messages: int = 0
    rows: int | None = None
    max_tokens: int | None = None
    body_bytes: int | None = None
    n: int | None = None

    @classmethod
    def of(cls, body: bytes | None, payload: Mapping[str, Any] | None = None) -> Size:
        """Measure a request from its body (JSON), else from the corpus payload."""
        document: Any = None
        if body:
            try:
                document = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                document = None
        if not isinstance(document, Mapping):
            document = payload if isinstance(payload, Mapping) else {}
        texts = list(_texts(document))
        joined = "\n".join(texts)
        rows = _rows(document)
        max_tokens = document.get("max_tokens", document.get("max_completion_tokens"))
        n = document.get("n")
        return cls(
            chars=len(joined) if texts else None,
            longest=max(map(len, texts)) if texts else None,
            words=len(joined.split()) if texts else None,
            text_bytes=len(joined.encode("utf-8", "surrogatepass")) if texts else None,
            messages=len(texts),
            rows=rows,
            max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
            body_bytes=len(body) if body is not None else None,
            n=n if type(n) is int else None,
        )


def _texts(document: Mapping[str, Any]) -> Iterator[str]:
    messages = document.get("messages")
    if isinstance(messages, list):
        for message in messages:
            content = message.get("content") if isinstance(message, Mapping) else None
            if isinstance(content, str):
                yield content
            elif isinstance(content, list):
                for part in content:
                    if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                        yield part["text"]
    for key in ("prompt", "input", "text", "inputs"):
        value = document.get(key)
        if isinstance(value, str):
            yield value
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            yield from value


def _rows(document: Mapping[str, Any]) -> int | None:
    for key in ("rows", "instances", "dataframe_records"):
        value = document.get(key)
        if isinstance(value, list):
            return len(value)
    split = document.get("dataframe_split")
    if isinstance(split, Mapping) and isinstance(split.get("data"), list):
        return len(split["data"])
    inputs = document.get("inputs")
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], Mapping):
        shape = inputs[0].get("shape")  # KServe v2: the first dimension is the batch
        if isinstance(shape, list) and shape and isinstance(shape[0], int):
            return shape[0]
    return None


@dataclass(frozen=True)
class Limit:
    """A limit the server named: its kind, its value (None: named without a number) and the
    words that named it (at most 160 characters)."""

    kind: str
    value: int | None
    evidence: str = ""

    def describe(self) -> str:
        value = "a limit" if self.value is None else f"{self.value:,}"
        return f"{self.kind} {value}"

    def relation(self, size: Size) -> str:
        """OVER when the request surely exceeds this limit, UNDER when it surely fits, else
        UNKNOWN (no number, or tokens that characters cannot decide)."""
        if self.value is None:
            return UNKNOWN
        low: int | None
        high: int | None
        if self.kind == PROMPT_TOKENS:
            if size.words is None or size.text_bytes is None:
                return UNKNOWN
            # Each word is at least one token; no token is shorter than a byte.
            low = size.words
            high = size.text_bytes + _TOKENS_PER_MESSAGE * size.messages + (size.max_tokens or 0)
        elif self.kind == OUTPUT_TOKENS:
            low = high = size.max_tokens
        elif self.kind == PROMPT_CHARS:
            low, high = size.longest, size.chars
        elif self.kind == BATCH:
            low = high = size.rows
        elif self.kind == CHOICES:
            low = high = 1 if size.n is None else size.n
        else:
            low = high = size.body_bytes
        if low is None or high is None:
            return UNKNOWN
        if low > self.value:
            return OVER
        if high <= self.value:
            return UNDER
        return UNKNOWN


def parse(status: int, body: bytes | str) -> Limit | None:
    """The limit a refusal names, or None (a 2xx, a 5xx, or a refusal naming no limit)."""
    if not 400 <= status < 500:
        return None
    text = body[:_READ].decode("utf-8", "replace") if isinstance(body, bytes) else body[:_READ]
    try:
        document: Any = json.loads(text)
    except ValueError:
        document = None
    messages = list(_messages(document)) if document is not None else [text]
    codes = {str(c).lower() for c in _codes(document)} if document is not None else set()
    found = _structured(document)
    if found is not None:
        return found
    for message in messages:
        for kind, pattern in _MESSAGES:
            match = pattern.search(message)
            if match:
                value = _int(match.group(1))
                if value is not None:
                    return Limit(kind, value, _evidence(message))
    for code in codes:
        if code in _CODES:
            return Limit(_CODES[code], None, _evidence(" ".join(messages) or code))
    if status == 413:
        return Limit(BODY_BYTES, None, _evidence(" ".join(messages) or "HTTP 413"))
    for message in messages:
        for kind, words in _WORDS:
            if words.search(message):
                return Limit(kind, None, _evidence(message))
    return None


def _int(text: str) -> int | None:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        return None
    return value if 0 < value < 10**12 else None


def _evidence(text: str) -> str:
    return " ".join(text.split())[:160]


def _messages(document: Any) -> Iterator[str]:
    """Every human-readable string of an error body: message, detail, error, msg."""
    if isinstance(document, str):
        yield document
    elif isinstance(document, Mapping):
        for key in ("message", "detail", "error", "msg", "error_message", "description"):
            if key in document:
                yield from _messages(document[key])
    elif isinstance(document, list):
        for value in document[:20]:
            yield from _messages(value)


def _codes(document: Any) -> Iterator[Any]:
    if isinstance(document, Mapping):
        for key in ("code", "type", "error_code"):
            if isinstance(document.get(key), str):
                yield document[key]
        for key in ("error", "detail"):
            yield from _codes(document.get(key))
    elif isinstance(document, list):
        for value in document[:20]:
            yield from _codes(value)


def _structured(document: Any) -> Limit | None:
    """Limits given as fields: llama.cpp's ``n_ctx``, pydantic's ``ctx.max_length``."""
    if isinstance(document, Mapping):
        error = document.get("error")
        if (
            isinstance(error, Mapping)
            and isinstance(error.get("n_ctx"), int)
            and error["n_ctx"] > 0
        ):
            return Limit(PROMPT_TOKENS, error["n_ctx"], _evidence(str(error.get("message", ""))))
        detail = document.get("detail")
        if isinstance(detail, list):
            for item in detail[:20]:
                if not isinstance(item, Mapping):
                    continue
                context = item.get("ctx")
                limit = context.get("max_length") if isinstance(context, Mapping) else None
                if not isinstance(limit, int) or limit <= 0:
                    continue
                message = str(item.get("msg", ""))
                kind = BATCH if item.get("type") in ("too_long", "list_too_long") else PROMPT_CHARS
                return Limit(kind, limit, _evidence(message))
    return None


@dataclass
class LimitBook:
    """The limits known for one run: those the scenario declares (target.limits) and those
    refusals named since. A refusal naming a kind without a number takes the known value."""

    known: dict[str, int] = field(default_factory=dict)

    def learn(self, limit: Limit) -> Limit:
        """Record ``limit``; return it with its value filled in from what was known."""
        if limit.value is None:
            value = self.known.get(limit.kind)
            return limit if value is None else Limit(limit.kind, value, limit.evidence)
        if limit.kind not in self.known or limit.value < self.known[limit.kind]:
            self.known[limit.kind] = limit.value
        return limit

    def beyond(self, size: Size) -> Limit | None:
        """A known limit ``size`` is surely over, or None."""
        for kind, value in self.known.items():
            limit = Limit(kind, value, "learned")
            if limit.relation(size) == OVER:
                return limit
        return None
