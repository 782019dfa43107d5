"""Strict JSON: what Python's lenient json module lets through but other clients choke on.

Python's json accepts the bare tokens NaN, Infinity and -Infinity, keeps the last of
duplicate keys silently, and is usually called on the whole body; JavaScript's JSON.parse,
Go's encoding/json and most schema validators reject the tokens, and disagree with each other
on duplicates. An answer that only Python can read is a bug for every other client.

Severities (``severity``): a NaN or Infinity token is an error, since it is a number no
model should answer with, not only a format slip; the other problems are warnings.
"""

from __future__ import annotations

from typing import Any

from stress.checks.exchange import ERROR, WARNING
from stress.targets.strictjson import MAX_STRICT_BYTES as MAX_STRICT_BYTES
from stress.targets.strictjson import NON_FINITE, strict

# A NaN or Infinity problem ends with this (its severity is error).
_NON_FINITE = NON_FINITE


def severity(problem: str) -> str:
    """The severity of a strict_problem: error for a NaN or Infinity token, else warning."""
    return ERROR if problem.endswith(_NON_FINITE) else WARNING


def strict_problem(body: bytes) -> str | None:
    """Why ``body`` is not one strict RFC 8259 JSON document (None when it is).

    Checks UTF-8, a byte-order mark, NaN/Infinity tokens, duplicate keys, syntax, and
    anything after the document ("trailing garbage"). The parse is the one the protocol
    adapter already made of the same body (stress.targets.strictjson).
    """
    return strict(body).problem


def media_type(headers: dict[str, str] | Any) -> str:
    """The Content-Type's media type, lower-case, without parameters ("" when absent)."""
    value = headers.get("content-type", "") if headers else ""
    return str(value).partition(";")[0].strip().lower()


def is_json_media_type(media: str) -> bool:
    return media == "application/json" or (media.startswith("application/") and "+json" in media)
