"""Encoding and HTTP: bodies that are not the UTF-8 JSON they claim to be, bodies that are
not JSON at all, and missing or wrong Content-Type headers."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable
from typing import Any

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
    ]
