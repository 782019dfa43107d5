"""Raw payload damage: field operations at paths, verbatim tokens, duplicate keys, byte
manglers and Content-Type replacement, applied to real adapter bodies."""

from __future__ import annotations

import json
import random

import pytest

from stress import framing
from stress.inputs.corpus import Input
from stress.inputs.damage import MANGLERS, Pairs, Token, apply, damage, encode, headers
from stress.scenario import Protocol, Target
from stress.targets import adapter_for

CHAT = Target(url="http://127.0.0.1:9", protocol=Protocol.OPENAI_CHAT, max_tokens=16)
MLFLOW = Target(url="http://127.0.0.1:9", protocol=Protocol.MLFLOW)
PROMPT = {"messages": [{"role": "user", "content": "héllo"}]}
ROWS = {"rows": [{"a": 1.5, "b": 2.0}, {"a": 3.25, "b": 4.0}]}


def raw(payload: dict, *, target: Target = CHAT) -> bytes:
    adapter = adapter_for(target, features=["a", "b"])
    base = ROWS if target is MLFLOW else PROMPT
    return adapter.request(Input("f-0000", "f", "reject", "raw", {"base": base, **payload})).body


def test_encode_writes_tokens_verbatim_and_repeats_keys() -> None:
    document = Pairs([("n", Token("1e400")), ("n", -0.0), ("s", "é\ud800")])
    assert encode(document) == b'{"n": 1e400, "n": -0.0, "s": "\\u00e9\\ud800"}'
    assert encode({"x": [Token("NaN"), "é"]}) == '{"x": [NaN, "é"]}'.encode()


def test_encode_writes_a_list_of_plain_values_as_json_does() -> None:
    plain = [1, 1.5, True, None, "é", float("nan"), -0.0, 10**30, float("-inf")]
    text = '[1, 1.5, true, null, "é", NaN, -0.0, 1000000000000000000000000000000, -Infinity]'
    assert encode({"x": plain}) == f'{{"x": {text}}}'.encode()
    assert encode({"x": [*plain, "\ud800"]}) == (
        '{"x": ' + text[:-1].replace("é", "\\u00e9") + ', "\\ud800"]}'
    ).encode("ascii")
    assert encode(["x"] * 3 + [[Token("1e400")]]) == b'["x", "x", "x", [1e400]]'


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"op": "delete", "path": ["messages", 0, "role"]}, [{"content": "héllo"}]),
        ({"op": "set", "path": ["messages", 7, "role"], "value": None}, None),
        ({"op": "swap", "path": ["messages"]}, {"0": {"role": "user", "content": "héllo"}}),
    ],
)
def test_field_ops_follow_the_path(payload: dict, expected: object) -> None:
    body = json.loads(raw(payload))
    if payload["op"] == "set":  # index 7 wraps around to the only message
        assert body["messages"][0]["role"] is None
    else:
        assert body["messages"] == expected
    assert body["model"] == "demo-ngram"


def test_set_token_reaches_the_wire_as_written() -> None:
    body = raw({"op": "set", "path": ["temperature"], "token": "1e400"})
    assert body.endswith(b', "temperature": 1e400}')
    digits = "1" + "0" * 5000
    body = raw(
        {"op": "set", "path": ["dataframe_split", "data", 3, 1], "token": digits}, target=MLFLOW
    )
    assert f"[3.25, {digits}]".encode() in body  # row index 3 wraps to the second row


def test_duplicate_keeps_the_original_first() -> None:
    body = raw({"op": "duplicate", "path": ["max_tokens"], "value": "many"})
    assert body.endswith(b'"max_tokens": 16, "max_tokens": "many"}')
    pairs = json.loads(body, object_pairs_hook=list)
    assert [k for k, _ in pairs].count("max_tokens") == 2


def test_merge_adds_valid_fields_deeply() -> None:
    document = apply({"a": {"b": 1}}, {"op": "merge", "path": [], "value": {"a": {"c": 2}}})
    assert document == {"a": {"b": 1, "c": 2}}


def test_repeat_and_append_grow_a_list_in_place() -> None:
    document = {"inputs": [{"name": "a", "data": [1]}], "id": "x"}
    repeated = apply(document, {"op": "repeat", "path": ["inputs", 5]})  # 5 wraps to 0
    assert repeated["inputs"] == [{"name": "a", "data": [1]}, {"name": "a", "data": [1]}]
    repeated["inputs"][1]["data"].append(2)  # a copy, not the same object twice
    assert repeated["inputs"][0]["data"] == [1]
    extra = {"name": "b", "data": [0.5]}
    appended = apply(document, {"op": "append", "path": ["inputs"], "value": extra})
    assert appended["inputs"] == [{"name": "a", "data": [1]}, extra]
    assert document["inputs"] == [{"name": "a", "data": [1]}]  # the original is not changed
    with pytest.raises(ValueError, match="append needs a list"):
        apply(document, {"op": "append", "path": ["id"], "value": 1})
    with pytest.raises(ValueError, match="repeat needs a list item"):
        apply(document, {"op": "repeat", "path": ["id"]})


def test_extra_headers_and_method_reach_the_request() -> None:
    sent = {"Content-Type": "application/json", "Accept": "application/json"}
    out = headers({"headers": {"content-type": "text/plain", "X-Note": "n"}}, sent)
    # The second Content-Type line sits right after the first, where clients that group a
    # field's lines write it; a new name goes last.
    assert list(out.items()) == [
        ("Content-Type", "application/json"),
        ("content-type", "text/plain"),
        ("Accept", "application/json"),
        ("X-Note", "n"),
    ]
    target = Target(url="http://127.0.0.1:9", protocol=Protocol.OPENAI_CHAT, max_tokens=16)
    base = {"messages": [{"role": "user", "content": "hi"}]}
    item = Input(
        "encoding.other_method-0000",
        "encoding.other_method",
        "reject",
        "raw",
        {"method": "PUT", "headers": {"X-Note": "n"}, "base": base},
    )
    request = adapter_for(target).request(item)
    assert request.method == "PUT"
    assert request.headers["X-Note"] == "n"
    assert json.loads(request.body)["messages"] == base["messages"]


def test_replacement_body_and_content_type() -> None:
    assert raw({"body": "[]"}) == b"[]"
    assert raw({"body_b64": "AAE="}) == b"\x00\x01"
    sent = {"Content-Type": "application/json", "Accept": "application/json"}
    assert headers({"content_type": None}, sent) == {"Accept": "application/json"}
    assert headers({"content_type": "text/plain"}, sent)["Content-Type"] == "text/plain"
    assert headers({}, sent) == sent
    adapter = adapter_for(CHAT)
    request = adapter.request(
        Input("f-0", "f", "reject", "raw", {"base": PROMPT, "content_type": None})
    )
    assert "Content-Type" not in request.headers
    assert json.loads(request.body)["messages"] == PROMPT["messages"]


@pytest.mark.parametrize("name", sorted(MANGLERS))
def test_manglers_are_deterministic(name: str) -> None:
    body = raw({})
    first = MANGLERS[name](random.Random(5), body)
    assert first == MANGLERS[name](random.Random(5), body)
    assert damage({"mangle": name, "mangle_seed": 5}, body) == first


@pytest.mark.parametrize(
    ("name", "still_json"),
    [
        ("invalid_utf8", False),
        ("truncated", False),
        ("bom", False),
        ("utf16", False),
        ("overlong_utf8", False),
        ("trailing_garbage", False),
        ("json5", False),
        ("deep_nesting", True),
        ("pretty", True),
        ("escaped_unicode", True),
    ],
)
def test_manglers_break_or_keep_json_as_documented(name: str, still_json: bool) -> None:
    for seed in range(8):
        body = MANGLERS[name](random.Random(seed), raw({}))
        try:
            text = body.decode("utf-8")
            document = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError):
            document = None
        if still_json and name != "deep_nesting":
            assert document == json.loads(raw({})), name
        elif not still_json:
            assert document is None, (name, seed)


def test_column_order_and_number_format_keep_the_table() -> None:
    body = raw({}, target=MLFLOW)
    reordered = json.loads(MANGLERS["column_order"](random.Random(1), body))["dataframe_split"]
    assert reordered["columns"] == ["b", "a"]
    assert reordered["data"] == [[2.0, 1.5], [4.0, 3.25]]
    respelled = MANGLERS["number_format"](random.Random(2), body)
    assert respelled != body
    assert json.loads(respelled) == json.loads(body)


def test_a_chunked_payload_frames_the_body_as_it_goes_on_the_wire() -> None:
    target = Target(url="http://127.0.0.1:9", protocol=Protocol.OPENAI_CHAT, max_tokens=16)
    base = {"messages": [{"role": "user", "content": "hi there"}]}
    chunking = {"sizes": [1], "upper": True, "extension": ";n=1"}
    payload = {"headers": {"Transfer-Encoding": "chunked"}, "chunked": chunking, "base": base}
    item = Input(
        "encoding.chunked_odd_framing-0000", "encoding.chunked_odd_framing", "a", "raw", payload
    )
    request = adapter_for(target).request(item)
    plain = adapter_for(target).request(Input("r-0", "r", "accept", "raw", {"base": base}))
    assert request.body == framing.chunked(plain.body, sizes=(1,), upper=True, extension=";n=1")
    assert request.headers["Transfer-Encoding"] == "chunked"
    assert request.framed
    assert not plain.framed
    # Damage first, framing last: a mangled body is framed as it was mangled.
    mangled = {**payload, "body": "[]"}
    assert damage(mangled, plain.body) == framing.chunked(
        b"[]", sizes=(1,), upper=True, extension=";n=1"
    )


def test_an_expect_payload_keeps_the_plain_body() -> None:
    base = {"messages": [{"role": "user", "content": "hi there"}]}
    item = Input(
        "e-0",
        "encoding.expect_continue",
        "a",
        "raw",
        {"headers": {"Expect": "100-continue"}, "base": base},
    )
    request = adapter_for(CHAT).request(item)
    assert json.loads(request.body)["messages"] == base["messages"]
    assert request.headers["Expect"] == "100-continue"
    assert request.framed
