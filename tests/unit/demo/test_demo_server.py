"""The demo server's HTTP behaviour, driven in-process through Starlette's TestClient."""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stress.demo.lm import count_tokens
from stress.demo.server import SLOW_PATH_SECONDS, create_app
from stress.demo.tabular import COLUMNS, load_iris

# Starlette >= 1.x wants the `httpx2` package for its TestClient and warns when it falls back
# to `httpx` (a project dependency). The fallback works; only that one warning is silenced,
# so filterwarnings=error still catches everything else.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(token_ms=0)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def strict_client() -> Iterator[TestClient]:
    with TestClient(create_app(token_ms=0, quirks=False)) as test_client:
        yield test_client


def chat_body(content: str = "How do I cook rice?", **options: Any) -> dict[str, Any]:
    return {"model": "demo", "messages": [{"role": "user", "content": content}], **options}


def sse_chunks(client: TestClient, body: dict[str, Any]) -> list[Any]:
    """The decoded `data:` payloads of a streamed answer; "[DONE]" stays a string."""
    with client.stream("POST", CHAT, json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    payloads = [line.removeprefix("data: ") for line in lines]
    return [p if p == "[DONE]" else json.loads(p) for p in payloads]


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "slots": 4, "in_use": 0, "queued": 0}


def test_models_lists_the_one_model_answers_report(client: TestClient) -> None:
    listed = client.get("/v1/models").json()
    chat = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 3}
    answered = client.post("/v1/chat/completions", json=chat).json()
    assert [model["id"] for model in listed["data"]] == [answered["model"]]


def test_chat_answer_has_openai_shape_and_usage(client: TestClient) -> None:
    body = {
        "model": "anything",
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "How do I cook rice?"},
        ],
    }
    response = client.post(CHAT, json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["id"].startswith("chatcmpl-")
    assert answer["object"] == "chat.completion"
    assert isinstance(answer["created"], int)
    assert answer["model"] == "demo-ngram"
    [choice] = answer["choices"]
    assert choice["index"] == 0
    assert choice["message"]["role"] == "assistant"
    content = choice["message"]["content"]
    assert content[:1].isupper()
    assert choice["finish_reason"] in ("stop", "length")
    usage = answer["usage"]
    assert usage["prompt_tokens"] == 4 + 6  # "You are helpful ." + "How do I cook rice ?"
    assert usage["completion_tokens"] == count_tokens(content) > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_same_prompt_gives_same_answer(client: TestClient) -> None:
    first = client.post(CHAT, json=chat_body(temperature=1.0)).json()
    second = client.post(CHAT, json=chat_body(temperature=1.0)).json()
    assert first["choices"][0]["message"] == second["choices"][0]["message"]
    assert first["id"] != second["id"]


def test_max_tokens_is_honoured(client: TestClient) -> None:
    answer = client.post(CHAT, json=chat_body(max_tokens=3)).json()
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["usage"]["completion_tokens"] == 3
    assert count_tokens(answer["choices"][0]["message"]["content"]) == 3


def test_stream_matches_non_streaming_answer(client: TestClient) -> None:
    options: dict[str, Any] = {"max_tokens": 40, "temperature": 0.8, "seed": 7}
    plain = client.post(CHAT, json=chat_body(**options)).json()
    chunks = sse_chunks(
        client, chat_body(stream=True, stream_options={"include_usage": True}, **options)
    )

    assert chunks[-1] == "[DONE]"
    *content_chunks, finish, usage_chunk, _ = chunks
    assert {c["object"] for c in chunks[:-1]} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks[:-1]}) == 1
    assert content_chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in content_chunks)
    assert text == plain["choices"][0]["message"]["content"]
    assert len(content_chunks) - 1 == plain["usage"]["completion_tokens"]  # one per token
    assert finish["choices"][0] == {
        "index": 0,
        "delta": {},
        "finish_reason": plain["choices"][0]["finish_reason"],
    }
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == plain["usage"]


def test_stream_without_usage_has_no_usage_chunk(client: TestClient) -> None:
    chunks = sse_chunks(client, chat_body(stream=True, max_tokens=2))
    assert chunks[-1] == "[DONE]"
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert all("usage" not in c for c in chunks[:-1])


USER = [{"role": "user", "content": "hi"}]

INVALID_CHAT_BODIES = [
    pytest.param([1, 2], None, id="body-not-object"),
    pytest.param({"model": "m"}, "messages", id="messages-missing"),
    pytest.param({"messages": []}, "messages", id="messages-empty"),
    pytest.param({"messages": "hi"}, "messages", id="messages-not-list"),
    pytest.param({"messages": ["hi"]}, "messages[0]", id="message-not-object"),
    pytest.param({"messages": [{"role": "user"}]}, "messages[0].content", id="content-missing"),
    pytest.param(
        {"messages": [{"role": "user", "content": 5}]}, "messages[0].content", id="content-int"
    ),
    pytest.param(
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
        "messages[0].content",
        id="content-parts",
    ),
    pytest.param(
        {"messages": [*USER, {"role": "wizard", "content": "hi"}]},
        "messages[1].role",
        id="unknown-role",
    ),
    pytest.param({"messages": [{"content": "hi"}]}, "messages[0].role", id="role-missing"),
    pytest.param({"messages": USER, "max_tokens": 0}, "max_tokens", id="max-tokens-zero"),
    pytest.param({"messages": USER, "max_tokens": 1025}, "max_tokens", id="max-tokens-big"),
    pytest.param({"messages": USER, "max_tokens": 2.5}, "max_tokens", id="max-tokens-float"),
    pytest.param({"messages": USER, "max_tokens": "5"}, "max_tokens", id="max-tokens-str"),
    pytest.param({"messages": USER, "max_tokens": True}, "max_tokens", id="max-tokens-bool"),
    pytest.param({"messages": USER, "temperature": -0.1}, "temperature", id="temperature-low"),
    pytest.param({"messages": USER, "temperature": 2.5}, "temperature", id="temperature-high"),
    pytest.param({"messages": USER, "temperature": "hot"}, "temperature", id="temperature-str"),
    pytest.param({"messages": USER, "seed": 1.5}, "seed", id="seed-float"),
    pytest.param({"messages": USER, "stream": "yes"}, "stream", id="stream-str"),
    pytest.param({"messages": USER, "model": 3}, "model", id="model-int"),
    # One choice per request, said (naming the limit) rather than n ignored.
    pytest.param({"messages": USER, "n": 3}, "n", id="n-over-one"),
    pytest.param(
        {"messages": USER, "stream_options": {"include_usage": True}},
        "stream_options",
        id="stream-options-without-stream",
    ),
    pytest.param(
        {"messages": USER, "stream": True, "stream_options": {"include_usage": "y"}},
        "stream_options.include_usage",
        id="include-usage-str",
    ),
]


@pytest.mark.parametrize(("body", "param"), INVALID_CHAT_BODIES)
def test_invalid_chat_body_gets_openai_400(client: TestClient, body: object, param: str) -> None:
    response = client.post(CHAT, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"{not json", id="syntax"),
        pytest.param(b'{"messages": [{"role": "user", "content": "hi"}]', id="truncated"),
        pytest.param(b"\xff\xfe\x00garbage", id="not-utf8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested"),
        pytest.param(
            b'{"messages": [{"role": "user", "content": "hi"}], "temperature": NaN}',
            id="nan-temperature",
        ),
    ],
)
def test_unparsable_chat_body_gets_400(client: TestClient, content: bytes) -> None:
    response = client.post(CHAT, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_wrong_content_type_gets_415(client: TestClient) -> None:
    response = client.post(
        CHAT, content=json.dumps(chat_body()), headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_oversized_body_gets_413(client: TestClient) -> None:
    response = client.post(CHAT, json=chat_body("word " * 1_000_000))
    assert response.status_code == 413


def invocation_bodies(rows: list[list[float]]) -> dict[str, dict[str, Any]]:
    records = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
    return {
        "dataframe_split": {"dataframe_split": {"columns": list(COLUMNS), "data": rows}},
        "dataframe_split_reordered": {
            "dataframe_split": {
                "columns": list(reversed(COLUMNS)),
                "data": [list(reversed(row)) for row in rows],
            }
        },
        "dataframe_records": {"dataframe_records": records},
        "instances_lists": {"instances": rows},
        "instances_records": {"instances": records},
        "inputs_lists": {"inputs": rows},
        "inputs_columns": {"inputs": {c: [row[i] for row in rows] for i, c in enumerate(COLUMNS)}},
    }


def test_invocations_formats_agree_and_predict_iris(client: TestClient) -> None:
    features, target = load_iris()
    rows = [[float(v) for v in row] for row in features]
    answers = {
        name: client.post("/invocations", json=body)
        for name, body in invocation_bodies(rows).items()
    }
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 200)
    predictions = [r.json()["predictions"] for r in answers.values()]
    assert all(p == predictions[0] for p in predictions)
    assert set(predictions[0]) <= {0, 1, 2}
    correct = sum(p == t for p, t in zip(predictions[0], target, strict=True))
    assert correct / len(rows) > 0.9


ROW = [5.1, 3.5, 1.4, 0.2]

INVALID_INVOCATIONS = [
    pytest.param([ROW], id="body-not-object"),
    pytest.param({}, id="no-format-key"),
    pytest.param({"instances": [ROW], "inputs": [ROW]}, id="two-format-keys"),
    pytest.param({"dataframe_split": [ROW]}, id="split-not-object"),
    pytest.param(
        {"dataframe_split": {"columns": list(COLUMNS[:3]), "data": [ROW[:3]]}},
        id="split-missing-column",
    ),
    pytest.param(
        {"dataframe_split": {"columns": list(COLUMNS), "data": [ROW[:3]]}}, id="split-short-row"
    ),
    pytest.param(
        {"dataframe_split": {"columns": list(COLUMNS), "data": "rows"}}, id="split-data-not-list"
    ),
    pytest.param({"dataframe_records": [{"sepal_length": 5.1}]}, id="records-missing-columns"),
    pytest.param({"dataframe_records": {"sepal_length": [5.1]}}, id="records-not-list"),
    pytest.param({"instances": [[5.1, 3.5, 1.4]]}, id="instances-short-row"),
    pytest.param({"instances": [[5.1, 3.5, 1.4, "wide"]]}, id="non-numeric-string"),
    pytest.param({"instances": [[5.1, 3.5, 1.4, None]]}, id="null-value"),
    pytest.param({"instances": [[5.1, 3.5, 1.4, True]]}, id="boolean-value"),
    pytest.param({"instances": [[5.1, 3.5, 1.4, 10**400]]}, id="integer-overflows-float"),
    pytest.param({"instances": [ROW, {"sepal_length": 1}]}, id="mixed-rows"),
    pytest.param({"instances": []}, id="no-rows"),
    pytest.param({"instances": [ROW] * 1001}, id="over-batch-limit"),
    pytest.param(
        {
            "inputs": {
                "sepal_length": [1, 2],
                "sepal_width": [1],
                "petal_length": [1],
                "petal_width": [1],
            }
        },
        id="columns-of-unequal-length",
    ),
]


@pytest.mark.parametrize("body", INVALID_INVOCATIONS)
def test_invalid_invocation_gets_mlflow_400(client: TestClient, body: object) -> None:
    response = client.post("/invocations", json=body)
    assert response.status_code == 400
    error = response.json()
    assert error["error_code"] == "BAD_REQUEST"
    assert error["message"]


def test_invocations_batch_limit_is_inclusive(client: TestClient) -> None:
    response = client.post("/invocations", json={"instances": [ROW] * 1000})
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 1000


def test_invocations_wrong_content_type_gets_415(client: TestClient) -> None:
    response = client.post(
        "/invocations", content="5.1,3.5,1.4,0.2", headers={"content-type": "text/csv"}
    )
    assert response.status_code == 415
    assert response.json()["error_code"] == "BAD_REQUEST"


NUL_CHAT = chat_body("please summarise\u0000this")
NON_FINITE_ROWS = [
    pytest.param(b'{"instances": [[NaN, 3.5, 1.4, 0.2]]}', id="nan"),
    pytest.param(b'{"instances": [[5.1, Infinity, 1.4, 0.2]]}', id="infinity"),
    pytest.param(
        b'{"dataframe_records": [{"sepal_length": 5.1, "sepal_width": 3.5,'
        b' "petal_length": -1e400, "petal_width": 0.2}]}',
        id="overflow-to-infinity",
    ),
]


def test_quirk_nul_prompt_leaks_traceback(client: TestClient) -> None:
    response = client.post(CHAT, json=NUL_CHAT)
    assert response.status_code == 500
    assert "Traceback (most recent call last)" in response.text
    assert 'File "/srv/model/app.py", line 42' in response.text


def test_no_quirks_nul_prompt_is_clean_400(strict_client: TestClient) -> None:
    response = strict_client.post(CHAT, json=NUL_CHAT)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages[0].content"
    assert "Traceback" not in response.text


@pytest.mark.parametrize("content", NON_FINITE_ROWS)
def test_quirk_non_finite_row_is_500(client: TestClient, content: bytes) -> None:
    response = client.post(
        "/invocations", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 500
    error = response.json()
    assert error["error_code"] == "INTERNAL_ERROR"
    assert error["message"].startswith("Input X contains")


@pytest.mark.parametrize("content", NON_FINITE_ROWS)
def test_no_quirks_non_finite_row_is_400(strict_client: TestClient, content: bytes) -> None:
    response = strict_client.post(
        "/invocations", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()
    assert error["error_code"] == "BAD_REQUEST"
    assert "row 0" in error["message"]


def test_quirk_long_prompt_takes_slow_path(
    client: TestClient, strict_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The slow path is a pause of SLOW_PATH_SECONDS: the pauses the server asks for are the
    # evidence (no stopwatch, so a loaded machine cannot make this flake), and are skipped.
    body = chat_body("word " * 4_001, max_tokens=1)  # 20,005 characters
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def recorded(delay: float, *args: Any, **kwargs: Any) -> Any:
        pauses.append(delay)
        return await real_sleep(0 if delay == SLOW_PATH_SECONDS else delay, *args, **kwargs)

    monkeypatch.setattr(asyncio, "sleep", recorded)
    assert strict_client.post(CHAT, json=body).status_code == 200
    assert SLOW_PATH_SECONDS not in pauses
    assert client.post(CHAT, json=body).status_code == 200
    assert SLOW_PATH_SECONDS in pauses


def test_slots_queue_requests_and_shed_load_beyond_the_queue() -> None:
    """slots=1, max_queue=1: a second request waits for the first, a third gets 503."""
    app = create_app(slots=1, max_queue=1, token_ms=20)
    body = chat_body(max_tokens=10, temperature=0.5, seed=0)  # a seed that runs to length

    async def timed_chat(http: httpx.AsyncClient) -> tuple[httpx.Response, float]:
        response = await http.post(CHAT, json=body)
        return response, time.perf_counter()

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:
            first = asyncio.create_task(timed_chat(http))
            second = asyncio.create_task(timed_chat(http))
            deadline = time.perf_counter() + 5
            while (health := (await http.get("/health")).json())["queued"] < 1:
                assert time.perf_counter() < deadline, f"nothing queued: {health}"
                await asyncio.sleep(0.005)
            assert health == {"status": "ok", "slots": 1, "in_use": 1, "queued": 1}

            shed = await http.post(CHAT, json=body)
            assert shed.status_code == 503
            assert shed.headers["retry-after"] == "1"
            assert "error" in shed.json()

            (first_response, first_done), (second_response, second_done) = await asyncio.gather(
                first, second
            )
            assert first_response.status_code == second_response.status_code == 200
            assert first_response.json()["usage"]["completion_tokens"] == 10
            # One answer is at least 10 x 20 ms of decode; the queued one ends that much later.
            assert abs(second_done - first_done) >= 0.15
            assert (await http.get("/health")).json()["in_use"] == 0

    asyncio.run(scenario())


def test_create_app_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="slots"):
        create_app(slots=0)
    with pytest.raises(ValueError, match="token_ms"):
        create_app(token_ms=float("nan"))


def scraped(text: str) -> dict[str, float]:
    """Sample name → value of a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_tokens_and_show_busy_and_queued_slots() -> None:
    """GET /metrics: tokens decoded add up to the answers' usage; while one request holds
    the only slot and another waits, busy slots and queue depth say so."""
    app = create_app(slots=1, max_queue=4, token_ms=20)
    body = chat_body(max_tokens=10, temperature=0.5, seed=0)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:
            idle = await http.get("/metrics")
            assert idle.status_code == 200
            assert idle.headers["content-type"].startswith("text/plain")
            figures = scraped(idle.text)
            assert {
                name: figures.get(name) for name in ("demo_queue_depth", "demo_busy_slots")
            } == {
                "demo_queue_depth": 0,
                "demo_busy_slots": 0,
            }
            assert figures["demo_slots"] == 1
            assert figures["demo_tokens_generated_total"] == 0
            chats = [asyncio.create_task(http.post(CHAT, json=body)) for _ in range(2)]
            deadline = time.perf_counter() + 5
            while (busy := scraped((await http.get("/metrics")).text))["demo_queue_depth"] < 1:
                assert time.perf_counter() < deadline, f"nothing queued: {busy}"
                await asyncio.sleep(0.005)
            assert busy["demo_busy_slots"] == 1
            answers = await asyncio.gather(*chats)
            tokens = sum(a.json()["usage"]["completion_tokens"] for a in answers)
            assert tokens == 20
            after = scraped((await http.get("/metrics")).text)
            assert after["demo_tokens_generated_total"] == tokens
            assert after["demo_busy_slots"] == after["demo_queue_depth"] == 0

    asyncio.run(scenario())
