"""Strict JSON: what Python's lenient json module lets through but other clients choke on.

Python's json accepts the bare tokens NaN, Infinity and -Infinity, keeps the last of
duplicate keys silently, and is usually called on the whole body; JavaScript's JSON.parse,
Go's encoding/json and most schema validators reject the tokens, and disagree with each other
on duplicates. An answer that only Python can read is a bug for every other client.

Severities (``severity``): a NaN or Infinity token is an error, since it is a number no
model should answer with, not only a format slip; the other problems are warnings.
"""

from __future__ import annotations

import json
from typing import Any

from stress.checks.exchange import ERROR, WARNING

# Insignificant whitespace in RFC 8259; Python's str.strip would also drop \v, \f, NBSP...
_JSON_WHITESPACE = " \t\n\r"
# Bodies beyond this are not parsed twice on the load path (oversize_answer covers them).
MAX_STRICT_BYTES = 4 * 1024 * 1024


class _StrictError(ValueError):
    pass


_NON_FINITE = "(JSON has no NaN or Infinity)"


def _no_constants(name: str) -> Any:
    raise _StrictError(f"the non-standard token {name} {_NON_FINITE}")


def severity(problem: str) -> str:
    """The severity of a strict_problem: error for a NaN or Infinity token, else warning."""
    return ERROR if problem.endswith(_NON_FINITE) else WARNING


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _StrictError(f"the key {key[:60]!r} twice in one object")
        result[key] = value
    return result


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def strict_problem(body: bytes) -> str | None:
    """Why ``body`` is not one strict RFC 8259 JSON document (None when it is).

    Checks UTF-8, a byte-order mark, NaN/Infinity tokens, duplicate keys, syntax, and
    anything after the document ("trailing garbage").
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 (byte {exc.start})"
    if text.startswith("\ufeff"):
        return "starts with a byte-order mark, which JSON forbids"
    start = len(text) - len(text.lstrip(_JSON_WHITESPACE))
    try:
        _, end = _DECODER.raw_decode(text, start)
    except _StrictError as exc:
        return f"contains {exc}"
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {exc.msg} at character {exc.pos}"
    except RecursionError:
        return "nested too deeply to parse"
    rest = text[end:].lstrip(_JSON_WHITESPACE)
    if rest:
        return f"has trailing data after the JSON document at character {end}: {rest[:40]!r}"
    return None


def media_type(headers: dict[str, str] | Any) -> str:
    """The Content-Type's media type, lower-case, without parameters ("" when absent)."""
    value = headers.get("content-type", "") if headers else ""
    return str(value).partition(";")[0].strip().lower()


def is_json_media_type(media: str) -> bool:
    return media == "application/json" or (media.startswith("application/") and "+json" in media)
