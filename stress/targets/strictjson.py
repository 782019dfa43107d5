"""One strict RFC 8259 parse of an answer body, shared by the adapter and the strict_json check.

Every 2xx JSON answer is read twice on the load's hot path: by its protocol adapter (the
document) and by the strict_json check (is it JSON every client can read?). A strict parse
gives both: when it succeeds, its document is exactly what Python's lenient json would have
made of the same bytes (no duplicate keys, no NaN or Infinity, nothing after the document),
so the adapter takes it; only a body the strict parse refuses is parsed a second time,
leniently. The last body's result is kept (by identity: the same bytes object), so the
check that follows the adapter does not parse again.

Strict means: UTF-8, no byte-order mark, no NaN/Infinity tokens, no duplicate keys, valid
syntax, and nothing after the document ("trailing garbage").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Insignificant whitespace in RFC 8259; Python's str.strip would also drop \v, \f, NBSP...
JSON_WHITESPACE = " \t\n\r"
# Bodies beyond this are parsed leniently only (oversize_answer covers them).
MAX_STRICT_BYTES = 4 * 1024 * 1024
NON_FINITE = "(JSON has no NaN or Infinity)"


class _StrictError(ValueError):
    pass


def _no_constants(name: str) -> Any:
    raise _StrictError(f"the non-standard token {name} {NON_FINITE}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _StrictError(f"the key {key[:60]!r} twice in one object")
        seen.add(key)
    raise AssertionError("unreachable: fewer keys than pairs means a key came twice")


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


@dataclass(frozen=True)
class Strict:
    """A body's strict parse: its document when ``problem`` is None, else why it is not
    one strict JSON document."""

    document: Any
    problem: str | None


def _strict(body: bytes) -> Strict:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Strict(None, f"not valid UTF-8 (byte {exc.start})")
    if text.startswith("\ufeff"):
        return Strict(None, "starts with a byte-order mark, which JSON forbids")
    start = len(text) - len(text.lstrip(JSON_WHITESPACE))
    try:
        document, end = _DECODER.raw_decode(text, start)
    except _StrictError as exc:
        return Strict(None, f"contains {exc}")
    except json.JSONDecodeError as exc:
        return Strict(None, f"not valid JSON: {exc.msg} at character {exc.pos}")
    except RecursionError:
        return Strict(None, "nested too deeply to parse")
    rest = text[end:].lstrip(JSON_WHITESPACE)
    if rest:
        return Strict(
            None,
            f"has trailing data after the JSON document at character {end}: {rest[:40]!r}",
        )
    return Strict(document, None)


_last: tuple[bytes, Strict] | None = None


def strict(body: bytes) -> Strict:
    """The strict parse of ``body`` (the last body's is remembered: see the module doc)."""
    global _last
    last = _last
    if last is not None and last[0] is body:
        return last[1]
    result = _strict(body)
    _last = (body, result)
    return result


def loads(body: bytes) -> tuple[Any, str | None]:
    """Decode a JSON answer as Python's lenient json does; the second item names the
    problem, if any (strict where it can: see the module doc)."""
    if len(body) <= MAX_STRICT_BYTES:
        parsed = strict(body)
        if parsed.problem is None:
            return parsed.document, None
    try:
        return json.loads(body.decode("utf-8")), None
    except UnicodeDecodeError:
        return None, "answer is not valid UTF-8"
    except json.JSONDecodeError as exc:
        return None, f"answer is not valid JSON: {exc.msg} at byte {exc.pos}"
