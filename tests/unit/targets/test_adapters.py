"""Adapters: inputs become exact request bytes; recorded answers become outcomes. No sockets."""

from __future__ import annotations

import json

import pytest

from stress.inputs.corpus import Input
from stress.scenario import Protocol, Target
from stress.targets import adapter_for

CHAT = Target(url="http://127.0.0.1:9", protocol=Protocol.OPENAI_CHAT, max_tokens=16)
MLFLOW = Target(url="http://127.0.0.1:9", protocol=Protocol.MLFLOW)
COLUMNS = ["sepal_length", "sepal_width"]
PROMPT = {"messages": [{"role": "user", "content": "héllo\x00\u202e"}]}
ROWS = {"rows": [{"sepal_length": 5.1, "sepal_width": float("nan")}]}

COMPLETION = (
    b'{"id":"c1","object":"chat.completion","model":"demo-ngram","choices":[{"index":0,'
    b'"message":{"role":"assistant","content":"The weather is mild."},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}'
)
STREAM = (
    b'data: {"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"The "},"finish_reason":null}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"end"},"finish_reason":null}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}\n\n'
    b"data: [DONE]\n\n"
)
JSON_HEADERS = {"content-type": "application/json"}
SSE_HEADERS = {"content-type": "text/event-stream"}


def item(kind: str, payload: dict) -> Input:
    return Input("f-0000", "f", "accept", kind, payload)


def test_chat_prompt_request_is_exact_json() -> None:
    request = adapter_for(CHAT).request(item("prompt", PROMPT))
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert body == {"model": "demo-ngram", "messages": PROMPT["messages"], "max_tokens": 16}
    assert "héllo".encode() in request.body  # UTF-8 on the wire, not \\u escapes


def test_lone_surrogate_goes_out_as_json_escape() -> None:
    payload = {"messages": [{"role": "user", "content": "a\ud800b"}]}
    request = adapter_for(CHAT).request(item("prompt", payload))
    assert b"\\ud800" in request.body
    request.body.decode("ascii")


def test_streaming_target_asks_for_stream_and_usage() -> None:
    target = CHAT.model_copy(update={"stream": True})
    body = json.loads(adapter_for(target).request(item("prompt", PROMPT)).body)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("pick", range(6))
def test_missing_field_removes_messages(pick: int) -> None:
    payload = {"op": "missing_field", "pick": pick, "wrong_value": None, "base": PROMPT}
    body = json.loads(adapter_for(CHAT).request(item("mutation", payload)).body)
    assert "messages" not in body
    assert body["model"] == "demo-ngram"


@pytest.mark.parametrize("pick", range(6))
@pytest.mark.parametrize("wrong", [None, 5, "text", [1], True])
def test_wrong_type_always_changes_a_json_type(pick: int, wrong: object) -> None:
    payload = {"op": "wrong_type", "pick": pick, "wrong_value": wrong, "base": PROMPT}
    body = json.loads(adapter_for(CHAT).request(item("mutation", payload)).body)
    valid = {"model": "demo-ngram", "messages": PROMPT["messages"], "max_tokens": 16}
    changed = [key for key in valid if body.get(key) != valid[key]]
    assert len(changed) == 1
    (key,) = changed
    assert body[key] is not None
    assert type(body[key]) is not type(valid[key])


def test_raw_family_mangles_bytes_deterministically() -> None:
    payload = {"mangle": "invalid_utf8", "mangle_seed": 7, "base": PROMPT}
    first = adapter_for(CHAT).request(item("raw", payload)).body
    assert first == adapter_for(CHAT).request(item("raw", payload)).body
    with pytest.raises(UnicodeDecodeError):
        first.decode("utf-8")


def test_mlflow_rows_keep_nan_token() -> None:
    request = adapter_for(MLFLOW, features=COLUMNS).request(item("rows", ROWS))
    assert request.path == "/invocations"
    assert request.body == (
        b'{"dataframe_split": {"columns": ["sepal_length", "sepal_width"], "data": [[5.1, NaN]]}}'
    )


def test_chat_completion_is_parsed() -> None:
    outcome = adapter_for(CHAT).parse(200, JSON_HEADERS, COMPLETION)
    assert outcome.problem is None
    assert (outcome.text, outcome.output_tokens, outcome.finish_reason) == (
        "The weather is mild.",
        5,
        "stop",
    )
    assert outcome.digest() == adapter_for(CHAT).parse(200, JSON_HEADERS, COMPLETION).digest()


def test_stream_is_joined_and_usage_read() -> None:
    outcome = adapter_for(CHAT).parse(200, SSE_HEADERS, STREAM)
    assert (outcome.problem, outcome.text, outcome.output_tokens) == (None, "The end", 2)
    assert outcome.finish_reason == "length"


@pytest.mark.parametrize(
    ("body", "headers", "problem"),
    [
        (b"not json", JSON_HEADERS, "answer is not valid JSON"),
        (b"\xff\xfe", JSON_HEADERS, "answer is not valid UTF-8"),
        (b"[]", JSON_HEADERS, "answer is not a JSON object"),
        (b'{"choices": []}', JSON_HEADERS, "answer has no 'choices' list"),
        (b'{"choices": [{"message": {"content": 3}}]}', JSON_HEADERS, "content is missing"),
    ],
)
def test_bad_chat_answers_name_the_problem(body: bytes, headers: dict, problem: str) -> None:
    outcome = adapter_for(CHAT).parse(200, headers, body)
    assert outcome.problem is not None
    assert problem in outcome.problem


@pytest.mark.parametrize(
    ("body", "anomaly"),
    [
        (STREAM.replace(b"data: [DONE]\n\n", b""), "without 'data: [DONE]'"),
        (b"data: {oops\n\n", "malformed stream chunk"),
        (b'data: {"error": {"message": "out of memory"}}\n\n', "carried an error: out of memory"),
        (b"data: \xff\n\n", "not valid UTF-8"),
    ],
)
def test_broken_streams_are_anomalies_not_shape_problems(body: bytes, anomaly: str) -> None:
    outcome = adapter_for(CHAT).parse(200, SSE_HEADERS, body)
    assert outcome.problem is None
    assert outcome.anomaly is not None
    assert anomaly in outcome.anomaly


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"predictions": [0, 1]}', None),
        (b'{"predictions": [0.5, NaN]}', None),
        (b'{"result": [1]}', "answer has no 'predictions' key"),
        (b'{"predictions": 1}', "'predictions' is not a list (or a dict of columns)"),
        (b"[0, 2]", None),  # MLflow 1.x answered with the bare list
        (b'{"predictions": [[0.1, Infinity]]}', None),
    ],
)
def test_mlflow_answers(body: bytes, problem: str | None) -> None:
    outcome = adapter_for(MLFLOW, features=COLUMNS).parse(200, JSON_HEADERS, body)
    assert outcome.problem == problem


def test_error_statuses_are_not_shape_checked() -> None:
    outcome = adapter_for(CHAT).parse(500, JSON_HEADERS, b"Traceback ...")
    assert outcome.problem is None
    assert outcome.output is None
