"""Encoding and HTTP: bodies that are not the UTF-8 JSON they claim to be, bodies that are
not JSON at all, missing or wrong Content-Type headers, and the request itself bent at the
HTTP level: another method on the endpoint, a duplicated Content-Type, a very long header,
very many headers, a chunked body, Expect: 100-continue. Senders put these on the wire as
written (the input's headers in order and case, its method; a chunked body framed as the
input frames it, stress.framing), so each reaches the server exactly."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable
from typing import Any

from stress.inputs import fastrandom
from stress.inputs.family import ALL_PROTOCOLS, CHAT, Draw, Expect, Family, Kind
from stress.inputs.realistic import prompt_payload, valid

WRONG_CONTENT_TYPES = (
    "text/plain",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=stress",
    "application/jsonl",
    "application/octet-stream",
    "json",
    "",
)
# Spellings of application/json that RFC 9110 says are the same media type.
VALID_CONTENT_TYPES = (
    "application/json; charset=utf-8",
    "application/json;charset=UTF-8",
    "Application/JSON",
    "application/json ; charset=utf-8",
)


def _mangled(name: str, *, non_ascii: bool = False) -> Callable[[Draw], dict[str, Any]]:
    def generate(draw: Draw) -> dict[str, Any]:
        if non_ascii and not draw.context.tabular:
            base, _ = prompt_payload(draw, locale=draw.random.choice(("de_DE", "fr_FR")))
            base["messages"][-1]["content"] += " Grüße, café, naïve, Øresund."
        else:
            base = valid(draw)
        return {"mangle": name, "mangle_seed": draw.random.randrange(1 << 30), "base": base}

    return generate


def _text_of(base: dict[str, Any]) -> str:
    if "messages" in base:
        return str(base["messages"][-1]["content"])
    return json.dumps(base.get("rows", []))


def _non_json(draw: Draw) -> dict[str, Any]:
    base = valid(draw)
    text = _text_of(base)
    forms = (
        f"<request><message>{text}</message></request>",
        f"messages:\n  - role: user\n    content: {json.dumps(text)}\n",
        text,
        urllib.parse.urlencode({"prompt": text}),
    )
    choice = draw.random.randrange(len(forms) + 1)
    if choice == len(forms):  # binary: a msgpack-like header and random bytes
        blob = b"\x82\xa5model\xa4demo" + draw.random.randbytes(draw.random.randint(8, 64))
        return {"body_b64": base64.b64encode(blob).decode("ascii"), "base": base}
    return {"body": forms[choice], "base": base}


def _form(draw: Draw) -> dict[str, Any]:
    base = valid(draw)
    body = urllib.parse.urlencode({"prompt": _text_of(base), "max_tokens": 16})
    return {"body": body, "content_type": "application/x-www-form-urlencoded", "base": base}


def _content_type(values: tuple[str | None, ...]) -> Callable[[Draw], dict[str, Any]]:
    def generate(draw: Draw) -> dict[str, Any]:
        return {"content_type": draw.random.choice(values), "base": valid(draw)}

    return generate


# Methods a POST endpoint must refuse (405) rather than serve or crash on. HEAD is left
# out: its answer has no body, which the readers would wait for.
OTHER_METHODS = ("GET", "PUT", "PATCH", "DELETE", "OPTIONS")


def _other_method(draw: Draw) -> dict[str, Any]:
    return {"method": draw.random.choice(OTHER_METHODS), "base": valid(draw)}


def _duplicate_content_type(draw: Draw) -> dict[str, Any]:
    """Content-Type twice, by a second spelling of its name (headers keep their case)."""
    other = draw.random.choice(("text/plain", "application/xml", "application/json"))
    name = draw.random.choice(("content-type", "CONTENT-TYPE", "Content-type"))
    return {"headers": {name: other}, "base": valid(draw)}


def _long_header(draw: Draw) -> dict[str, Any]:
    size = draw.random.choice((8 * 1024, 16 * 1024, 48 * 1024))
    value = fastrandom.text(draw.random, "abcdefghijklmnopqrstuvwxyz0123456789", size)
    name = draw.random.choice(("X-Request-Note", "Referer", "X-Client-Context"))
    return {"headers": {name: value}, "base": valid(draw)}


def _many_headers(draw: Draw) -> dict[str, Any]:
    count = draw.random.randint(100, 300)
    return {"headers": {f"X-Extra-{i:03d}": str(i) for i in range(count)}, "base": valid(draw)}


# Chunk sizes for a plainly chunked body: the whole body as one chunk (curl's way), or the
# pieces a proxy or a streaming client sends.
PLAIN_CHUNKS: tuple[tuple[int, ...], ...] = ((), (16,), (64,), (7, 100))
# Chunk extensions RFC 9112 says a server must ignore when it does not understand them.
CHUNK_EXTENSIONS = (";note=stress", ";a=1;b=2", ';name="quoted value"', ";ext")


def _chunked(draw: Draw) -> dict[str, Any]:
    sizes = draw.random.choice(PLAIN_CHUNKS)
    framing = {"sizes": list(sizes)}
    return {"headers": {"Transfer-Encoding": "chunked"}, "chunked": framing, "base": valid(draw)}


def _chunked_odd(draw: Draw) -> dict[str, Any]:
    """Legal chunked framing that clients rarely send: 1-byte chunks, upper-case hex sizes,
    chunk extensions, or all three."""
    style = draw.random.randrange(4)
    framing: dict[str, Any] = {"sizes": [1] if style in (0, 3) else [draw.random.choice((10, 26))]}
    if style in (1, 3):
        framing["upper"] = True
    if style in (2, 3):
        framing["extension"] = draw.random.choice(CHUNK_EXTENSIONS)
    return {"headers": {"Transfer-Encoding": "chunked"}, "chunked": framing, "base": valid(draw)}


def _expect_continue(draw: Draw) -> dict[str, Any]:
    return {"headers": {"Expect": "100-continue"}, "base": valid(draw)}


def families() -> list[Family]:
    accept, reject = Expect.ACCEPT, Expect.REJECT

    def family(
        name: str,
        description: str,
        expect: Expect,
        generate: Callable[[Draw], dict[str, Any]],
        why: str,
        protocols: tuple[str, ...] = ALL_PROTOCOLS,
    ) -> Family:
        return Family(f"encoding.{name}", description, expect, Kind.RAW, protocols, generate, why)

    return [
        family(
            "invalid_utf8",
            "a valid JSON body with invalid UTF-8 bytes inserted",
            reject,
            _mangled("invalid_utf8"),
            "decoding errors raised outside the request validator become 500s",
        ),
        family(
            "truncated_json",
            "a valid JSON body cut short",
            reject,
            _mangled("truncated"),
            "what a dropped connection or a buggy client sends",
        ),
        family(
            "bom",
            "a UTF-8 byte-order mark before the JSON",
            Expect.ACCEPT_OR_REFUSE,
            _mangled("bom"),
            "RFC 8259 lets a parser ignore it; Windows tools add it: answer or refuse cleanly",
        ),
        family(
            "utf16",
            "the JSON body encoded as UTF-16 (LE, BE, or with a BOM)",
            reject,
            _mangled("utf16"),
            "some parsers auto-detect it, others read NUL-riddled bytes",
        ),
        family(
            "latin1",
            "the JSON body in ISO-8859-1, so accented letters are invalid UTF-8",
            reject,
            _mangled("latin1", non_ascii=True),
            "the most common real encoding bug: a client that is not UTF-8",
            CHAT,
        ),
        family(
            "overlong_utf8",
            "overlong UTF-8 sequences (C0 AF for '/') or encoded surrogates in a string",
            reject,
            _mangled("overlong_utf8"),
            "lenient decoders turn them into '/' or '.', bypassing filters",
        ),
        family(
            "trailing_garbage",
            "a valid JSON body followed by more bytes (a brace, NUL, text, a second object)",
            reject,
            _mangled("trailing_garbage"),
            "a parser that stops after the first value lets smuggled data through",
        ),
        family(
            "json5_syntax",
            "JSON with a comment, single quotes, an unquoted key or a trailing comma",
            reject,
            _mangled("json5"),
            "JavaScript habits; accepting them means the server is not parsing JSON",
        ),
        family(
            "pretty_printed",
            "the same valid JSON indented with tabs or spaces and CRLF line ends",
            accept,
            _mangled("pretty"),
            "legal whitespace must not change anything",
        ),
        family(
            "escaped_unicode",
            "the same valid JSON with every non-ASCII character as a \\uXXXX escape",
            accept,
            _mangled("escaped_unicode", non_ascii=True),
            "legal escapes (and surrogate pairs) must decode to the same text",
        ),
        family(
            "non_json_body",
            "an XML, YAML, plain-text, form-encoded or binary body labelled application/json",
            reject,
            _non_json,
            "the JSON parser's error must become a 400, not a 500",
        ),
        family(
            "form_body",
            "a form-encoded body with Content-Type application/x-www-form-urlencoded",
            reject,
            _form,
            "HTML forms and curl -d send this; expect 415 or 400",
        ),
        family(
            "missing_content_type",
            "a valid JSON body with no Content-Type header",
            reject,
            _content_type((None,)),
            "frameworks skip JSON parsing without it; handlers then see no body",
        ),
        family(
            "wrong_content_type",
            "a valid JSON body labelled text/plain, XML, form, multipart or octet-stream",
            reject,
            _content_type(WRONG_CONTENT_TYPES),
            "content-type confusion: CSRF via simple requests, parsers chosen by header",
        ),
        family(
            "content_type_params",
            "a valid JSON body with charset parameters or odd casing in Content-Type",
            accept,
            _content_type(VALID_CONTENT_TYPES),
            "equivalent spellings of application/json must be accepted",
        ),
        family(
            "empty_body",
            "no body at all, labelled application/json",
            reject,
            lambda d: {"body": "", "base": valid(d)},
            "reading JSON from an empty body raises in most frameworks",
        ),
        family(
            "other_method",
            "a valid body sent with GET, PUT, PATCH, DELETE or OPTIONS to the POST endpoint",
            reject,
            _other_method,
            "expect 405; a route that dispatches on the path alone runs the model for any verb",
        ),
        family(
            "duplicate_content_type",
            "a valid JSON body with a second Content-Type header (another spelling of the name)",
            Expect.ACCEPT_OR_REFUSE,
            _duplicate_content_type,
            "proxies and servers pick different copies: answer or refuse cleanly, never crash",
        ),
        family(
            "long_header",
            "a valid request with one header of 8, 16 or 48 KiB (a note, a referer, a context)",
            Expect.ACCEPT_OR_REFUSE,
            _long_header,
            "header limits differ by server (431, 400): answer or refuse, never hang or reset",
        ),
        family(
            "many_headers",
            "a valid request with 100-300 extra headers",
            Expect.ACCEPT_OR_REFUSE,
            _many_headers,
            "header tables grow per request: answer or refuse, never a 5xx",
        ),
        family(
            "chunked_body",
            "a valid body sent with Transfer-Encoding: chunked (one chunk, or chunks of 7-100 B)",
            Expect.ACCEPT_OR_REFUSE,
            _chunked,
            "proxies and streaming clients send it: answer or refuse cleanly (411, 400, 501)",
        ),
        family(
            "chunked_odd_framing",
            "a valid chunked body in 1-byte chunks, upper-case hex sizes or chunk extensions",
            Expect.ACCEPT_OR_REFUSE,
            _chunked_odd,
            "legal framing hand-written parsers misread: answer or refuse, never a 500 or a hang",
        ),
        family(
            "expect_continue",
            "a valid body sent after Expect: 100-continue (the body waits for the 100, up to 1 s)",
            Expect.ACCEPT_OR_REFUSE,
            _expect_continue,
            "curl sends it: answer or refuse; a handler that reads before the 100 sees no body",
        ),
    ]
