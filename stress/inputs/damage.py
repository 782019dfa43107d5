"""Damage a valid request body as a raw payload describes, deterministically.

A raw payload always has ``base`` (the valid prompt or rows the adapter builds a body from)
and says what to do to that body's bytes, by exactly one of:

==========================================  ===============================================
keys                                        effect
==========================================  ===============================================
``body`` (text) or ``body_b64`` (bytes)     replace the body (schema-driven inputs, non-JSON
                                            bodies, top-level non-objects)
``op``, ``path`` and ``value`` or ``token``  change one field of the parsed body: ``delete``,
                                            ``set`` (``token`` is written as it is, e.g.
                                            ``1e400``), ``swap`` (array <-> object),
                                            ``duplicate`` (the key twice, ``value`` last),
                                            ``merge`` (deep-merge ``value`` at ``path``),
                                            ``repeat`` (a list item twice), ``append``
                                            (``value`` at the end of a list)
``mangle`` and ``mangle_seed``              byte-level damage by a function of MANGLERS
==========================================  ===============================================

and may carry ``content_type``: the Content-Type header to send instead (``null``: none),
``headers``: more headers to send as written, ``method``: the HTTP method to send instead
of the protocol's, and ``chunked``: the damaged body framed as chunks (stress.framing.chunked's
keywords: ``sizes``, ``extension``, ``upper``), sent with the Transfer-Encoding its
``headers`` give.
Integer path elements are taken modulo the array's length, so one path fits any body.
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from stress import framing
from stress.inputs.schemas import ANY


class Token(str):
    """JSON text written into the body verbatim (``1e400``, ``NaN``, ``-0``, 5,000 digits)."""

    __slots__ = ()


class Pairs(list[tuple[str, Any]]):
    """An object whose keys may repeat, written in this order."""

    __slots__ = ()


def encode(document: Any) -> bytes:
    """JSON bytes as a client sends them (base.dumps's spacing), with Tokens and Pairs.

    Lone surrogates cannot be encoded as UTF-8, so such a body goes out ASCII-escaped.
    """
    try:
        return _text(document, ascii_only=False).encode("utf-8")
    except UnicodeEncodeError:
        return _text(document, ascii_only=True).encode("ascii")


def _text(value: Any, *, ascii_only: bool) -> str:
    if isinstance(value, Token):
        return str(value)
    if isinstance(value, Pairs | dict):
        items = value if isinstance(value, Pairs) else value.items()
        inner = ", ".join(
            f"{json.dumps(key, ensure_ascii=ascii_only)}: {_text(item, ascii_only=ascii_only)}"
            for key, item in items
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        if type(value) is list and all(type(item) in _SCALARS for item in value):
            # No Token, Pairs or container in it: json writes it as the loop below would.
            return json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)
        return "[" + ", ".join(_text(item, ascii_only=ascii_only) for item in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)


# Values json writes as _text does (a Token is a str subclass, written verbatim instead).
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _step(container: Any, part: str | int) -> str | int:
    """The concrete key of ``part`` in ``container`` (indices wrap around)."""
    if isinstance(container, list):
        if not container:
            raise ValueError("cannot address an item of an empty array")
        return (0 if part == ANY else int(part)) % len(container)
    if isinstance(container, dict):
        return str(part)
    raise ValueError(f"cannot address {part!r} inside a {type(container).__name__}")


def _parent(document: Any, path: Sequence[str | int]) -> tuple[Any, str | int]:
    if not path:
        raise ValueError("an empty path has no parent")
    node = document
    for part in path[:-1]:
        key = _step(node, part)
        node = node[key]
    return node, _step(node, path[-1])


def _swapped(value: Any) -> Any:
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    if isinstance(value, dict):
        return list(value.values())
    raise ValueError(f"swap needs an array or an object, got {type(value).__name__}")


def _merge(into: Any, value: Any) -> Any:
    if isinstance(into, dict) and isinstance(value, dict):
        out = dict(into)
        for key, item in value.items():
            out[key] = _merge(out[key], item) if key in out else item
        return out
    return value


def apply(document: Any, payload: Mapping[str, Any]) -> Any:
    """The document with the payload's field operation applied (``document`` is not changed)."""
    document = json.loads(json.dumps(document, allow_nan=True))  # a private deep copy
    op = payload["op"]
    path = list(payload.get("path") or [])
    value = Token(payload["token"]) if "token" in payload else payload.get("value")
    if op == "merge":
        if not path:
            return _merge(document, value)
        parent, key = _parent(document, path)
        parent[key] = _merge(parent[key], value)
        return document
    if not path:
        raise ValueError(f"op {op!r} needs a path")
    parent, key = _parent(document, path)
    if op == "delete":
        if isinstance(parent, dict):
            parent.pop(key, None)
        else:
            del parent[key]
    elif op == "set":
        if isinstance(parent, dict) or key in range(len(parent)):
            parent[key] = value
    elif op == "swap":
        parent[key] = _swapped(parent[key])
    elif op == "repeat":  # the list item at ``path`` twice in a row
        if not isinstance(parent, list) or not isinstance(key, int):
            raise ValueError(f"repeat needs a list item, got {path!r}")
        parent.insert(key + 1, json.loads(json.dumps(parent[key], allow_nan=True)))
    elif op == "append":  # ``value`` added at the end of the list at ``path``
        if not isinstance(parent[key], list):
            raise ValueError(f"append needs a list, got {path!r}")
        parent[key].append(value)
    elif op == "duplicate":
        if not isinstance(parent, dict) or key not in parent:
            raise ValueError(f"duplicate needs an existing object key, got {path!r}")
        pairs = Pairs(parent.items())
        pairs.append((str(key), value))
        return _replace(document, path[:-1], pairs)
    else:
        raise ValueError(f"unknown op {op!r}")
    return document


def _replace(document: Any, path: Sequence[str | int], new: Any) -> Any:
    if not path:
        return new
    parent, key = _parent(document, path)
    parent[key] = new
    return document


# ------------------------------------------------------------------ byte-level damage
def invalid_utf8(rng: random.Random, body: bytes) -> bytes:
    """Insert bytes that are never valid UTF-8 (lone continuation bytes, 0xC0/0xC1/0xFE/0xFF)."""
    out = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(out) + 1)
        out[position:position] = bytes([rng.choice((0x80, 0xBF, 0xC0, 0xC1, 0xFE, 0xFF))])
    return bytes(out)


def truncated(rng: random.Random, body: bytes) -> bytes:
    """Cut a JSON body short, as a dropped connection or a buggy client would."""
    return body[: rng.randrange(1, max(2, len(body) - 1))]


def bom(rng: random.Random, body: bytes) -> bytes:
    """A UTF-8 byte-order mark before the JSON (RFC 8259 forbids sending one)."""
    return b"\xef\xbb\xbf" + body


def utf16(rng: random.Random, body: bytes) -> bytes:
    """The same JSON in UTF-16 (with or without a BOM), as some Windows clients send."""
    text = body.decode("utf-8")
    return text.encode(rng.choice(("utf-16", "utf-16-le", "utf-16-be")), "surrogatepass")


def latin1(rng: random.Random, body: bytes) -> bytes:
    """The JSON in ISO-8859-1: accented letters become single bytes that are not UTF-8."""
    return body.decode("utf-8").encode("latin-1", "replace")


# Overlong encodings of '/' and '.', and UTF-8-encoded surrogates: decoders that accept them
# have let path traversal and filter bypasses through.
_OVERLONG = (b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xc0\xae", b"\xed\xa0\x80")


def overlong_utf8(rng: random.Random, body: bytes) -> bytes:
    """Insert overlong UTF-8 sequences or encoded surrogates inside a JSON string."""
    out = bytearray(body)
    quotes = [i for i, byte in enumerate(out) if byte == 0x22] or [0]
    for _ in range(rng.randint(1, 3)):
        position = rng.choice(quotes) + 1
        out[position:position] = rng.choice(_OVERLONG)
    return bytes(out)


_TRAILERS = (b"}", b"\x00", b" garbage", b'{"extra": 1}', b"\n\n[]", b",")


def trailing_garbage(rng: random.Random, body: bytes) -> bytes:
    """Valid JSON followed by more bytes: a lenient parser reads the first value only."""
    return body + rng.choice(_TRAILERS)


_KEY = re.compile(rb'"([A-Za-z_][A-Za-z0-9_]*)":')


def json5(rng: random.Random, body: bytes) -> bytes:
    """JSON5 and JavaScript habits JSON does not allow: comments, single quotes, unquoted
    keys, a trailing comma."""
    style = rng.randrange(4)
    if style == 0:
        return b"// sent by client v2\n" + body
    if style == 1:
        return _KEY.sub(rb"'\1':", body, count=1)
    if style == 2:
        return _KEY.sub(rb"\1:", body, count=1)
    stripped = body.rstrip()
    return stripped[:-1] + b", " + stripped[-1:]


def pretty(rng: random.Random, body: bytes) -> bytes:
    """The same JSON pretty-printed with tabs or spaces and CRLF line ends (still valid)."""
    document = json.loads(body)
    text = json.dumps(document, ensure_ascii=False, allow_nan=True, indent=rng.choice((2, "\t")))
    if rng.random() < 0.5:
        text = text.replace("\n", "\r\n")
    return text.encode("utf-8", "surrogatepass")


def escaped_unicode(rng: random.Random, body: bytes) -> bytes:
    """The same JSON with every non-ASCII character as a \\uXXXX escape (still valid)."""
    return json.dumps(json.loads(body), ensure_ascii=True, allow_nan=True).encode("ascii")


def deep_nesting(rng: random.Random, body: bytes) -> bytes:
    """An extra key whose value is an array nested 1,000 to 100,000 levels deep."""
    depth = rng.choice((1_000, 10_000, 100_000))
    stripped = body.rstrip()
    return stripped[:-1] + b', "nested": ' + b"[" * depth + b"]" * depth + b"}"


def column_order(rng: random.Random, body: bytes) -> bytes:
    """A dataframe_split body with its columns (and every row's values) in another order."""
    document = json.loads(body)
    split = document.get("dataframe_split") if isinstance(document, dict) else None
    if not isinstance(split, dict) or len(split.get("columns", [])) < 2:
        return body
    size = len(split["columns"])
    order = list(range(size))
    while order == sorted(order):
        rng.shuffle(order)
    split["columns"] = [split["columns"][i] for i in order]
    split["data"] = [[values[i] for i in order] for values in split["data"]]
    return encode(document)


_SPELLINGS: tuple[Callable[[float], str], ...] = (
    lambda v: f"{v:.6f}",
    lambda v: f"{v:e}",
    lambda v: f"{v:E}",
    lambda v: repr(v),
)


def number_format(rng: random.Random, body: bytes) -> bytes:
    """The same numbers spelled differently (5.1, 5.100000, 5.100000e+00): same values."""

    def respell(value: Any) -> Any:
        if isinstance(value, list):
            return [respell(item) for item in value]
        if isinstance(value, dict):
            return {key: respell(item) for key, item in value.items()}
        if isinstance(value, float) and value == value and abs(value) != float("inf"):
            text = rng.choice(_SPELLINGS)(value)
            return Token(text) if float(text) == value else value
        return value

    return encode(respell(json.loads(body)))


MANGLERS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "invalid_utf8": invalid_utf8,
    "truncated": truncated,
    "bom": bom,
    "utf16": utf16,
    "latin1": latin1,
    "overlong_utf8": overlong_utf8,
    "trailing_garbage": trailing_garbage,
    "json5": json5,
    "pretty": pretty,
    "escaped_unicode": escaped_unicode,
    "deep_nesting": deep_nesting,
    "column_order": column_order,
    "number_format": number_format,
}


def damage(payload: Mapping[str, Any], body: bytes) -> bytes:
    """The bytes to send for a raw payload, given the adapter's valid ``body``."""
    damaged = _damaged(payload, body)
    if "chunked" in payload:
        return framing.chunked(damaged, **payload["chunked"])
    return damaged


def _damaged(payload: Mapping[str, Any], body: bytes) -> bytes:
    if "body_b64" in payload:
        return base64.b64decode(payload["body_b64"])
    if "body" in payload:
        return str(payload["body"]).encode("utf-8")
    if "op" in payload:
        return encode(apply(json.loads(body), payload))
    if "mangle" in payload:
        return MANGLERS[payload["mangle"]](random.Random(payload["mangle_seed"]), body)
    return body


def headers(payload: Mapping[str, Any], sent: Mapping[str, str]) -> dict[str, str]:
    """The request headers for a raw payload: ``content_type`` replaces Content-Type;
    ``headers`` are added after the others as written (a name in another case is a second
    header of that name on the wire)."""
    out = dict(sent)
    if "content_type" in payload:
        for name in [n for n in out if n.lower() == "content-type"]:
            del out[name]
        if payload["content_type"] is not None:
            out["Content-Type"] = str(payload["content_type"])
    for name, value in (payload.get("headers") or {}).items():
        out = _with_header(out, str(name), str(value))
    return out


def _with_header(headers: dict[str, str], name: str, value: str) -> dict[str, str]:
    """``headers`` and one more: at the end, or right after the lines of the same name in
    other spellings (so it is a second line of that field, where HTTP clients that group a
    field's lines write it: the load's and the parent's senders then agree byte for byte)."""
    items = list(headers.items())
    same = [i for i, (existing, _) in enumerate(items) if existing.lower() == name.lower()]
    if name in headers or not same:
        return {**headers, name: value}
    items.insert(same[-1] + 1, (name, value))
    return dict(items)
