"""OpenAI-compatible adapters against answers recorded from the servers users run."""

from __future__ import annotations

import json

import pytest

from stress.inputs.corpus import Input
from stress.scenario import Protocol, Target
from stress.targets import adapter_for
from stress.targets.sse import Event, decode

URL = "http://127.0.0.1:9"
CHAT = Target(url=URL, protocol=Protocol.OPENAI_CHAT, model="m", stream=True, max_tokens=8)
COMPLETIONS = Target(url=URL, protocol=Protocol.OPENAI_COMPLETIONS, model="m", max_tokens=8)
EMBEDDINGS = Target(url=URL, protocol=Protocol.OPENAI_EMBEDDINGS, model="e5")
PROMPT = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi there"},
    ]
}
SSE = {"content-type": "text/event-stream; charset=utf-8"}
JSON_HEADERS = {"content-type": "application/json"}


def item(kind: str = "prompt", payload: dict | None = None) -> Input:
    return Input(
        "realistic.chat_prompt-0003", "realistic.chat_prompt", "accept", kind, payload or PROMPT
    )


def timed(body: bytes) -> list[Event]:
    """The events of a recorded stream, as if event i arrived at second i."""
    return [Event(e.data, float(i), e.name) for i, e in enumerate(decode(body).events)]


# vLLM 0.x with stream_options.include_usage: a role chunk with empty content, one chunk per
# token, a finish chunk with an empty delta, a usage chunk with no choices, [DONE].
VLLM = (
    b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
    b'"delta":{"content":"Hello"},"finish_reason":null}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
    b'"delta":{"content":" there"},"finish_reason":null}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
    b'"delta":{"content":"!"},"finish_reason":null}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
    b'"delta":{},"finish_reason":"length"}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[],'
    b'"usage":{"prompt_tokens":12,"total_tokens":15,"completion_tokens":3}}\n\n'
    b"data: [DONE]\n\n"
)
# llama.cpp's server without usage in the stream, keep-alive comments and CRLF line ends.
LLAMA_CPP = (
    b": keep-alive\r\n\r\n"
    b'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hi"}}],'
    b'"object":"chat.completion.chunk"}\r\n\r\n'
    b": keep-alive\r\n\r\n"
    b'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":""}}],'
    b'"object":"chat.completion.chunk"}\r\n\r\n'
    b'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":" you"}}],'
    b'"object":"chat.completion.chunk"}\r\n\r\n'
    b'data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}],'
    b'"object":"chat.completion.chunk"}\r\n\r\n'
    b"data: [DONE]\r\n\r\n"
)


def test_vllm_stream_times_only_the_events_with_output() -> None:
    outcome = adapter_for(CHAT).parse_events(timed(VLLM))
    assert (outcome.problem, outcome.anomaly) == (None, None)
    assert outcome.text == "Hello there!"
    # the role chunk (0), the finish chunk (4) and the usage chunk (5) carry no output
    assert outcome.token_times == [1.0, 2.0, 3.0]
    assert (outcome.output_tokens, outcome.tokens_estimated) == (3, False)
    assert (outcome.prompt_tokens, outcome.finish_reason) == (12, "length")


def test_without_usage_tokens_are_counted_and_marked_estimated() -> None:
    outcome = adapter_for(CHAT).parse_events(timed(LLAMA_CPP))
    assert outcome.anomaly is None
    assert outcome.text == "Hi you"
    assert (outcome.output_tokens, outcome.tokens_estimated) == (2, True)
    assert outcome.token_times == [0.0, 2.0]  # the empty delta (1) is not a token
    assert outcome.finish_reason == "stop"


def test_multi_token_chunks_take_the_count_from_usage() -> None:
    body = (
        b'data: {"choices":[{"index":0,"delta":{"content":"Hello there, how"}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"content":" are you?"}}]}\n\n'
        b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":7}}\n\n'
        b"data: [DONE]\n\n"
    )
    outcome = adapter_for(CHAT).parse_events(timed(body))
    assert outcome.token_times == [0.0, 1.0]
    assert (outcome.output_tokens, outcome.tokens_estimated) == (7, False)


def test_reasoning_tokens_are_output_but_not_answer_text() -> None:
    body = (
        b'data: {"choices":[{"index":0,"delta":{"reasoning_content":"Let me think"}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"content":"42"}}]}\n\n'
        b"data: [DONE]\n\n"
    )
    outcome = adapter_for(CHAT).parse_events(timed(body))
    assert outcome.text == "42"
    assert outcome.token_times == [0.0, 1.0]  # the first token is the first thought


def test_usage_reported_on_every_chunk_keeps_the_last() -> None:
    # vLLM's continuous_usage_stats and TGI put usage in every chunk.
    body = (
        b'data: {"choices":[{"index":0,"delta":{"content":"a"}}],'
        b'"usage":{"completion_tokens":1}}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"content":"b"}}],'
        b'"usage":{"completion_tokens":2}}\n\n'
        b'data: {"choices":[{"index":0,"delta":{}}],"usage":null}\n\n'
        b"data: [DONE]\n\n"
    )
    assert adapter_for(CHAT).parse_events(timed(body)).output_tokens == 2


@pytest.mark.parametrize(
    ("body", "anomaly"),
    [
        (VLLM.replace(b"data: [DONE]\n\n", b""), "stream ended without 'data: [DONE]'"),
        (VLLM.replace(b'"content":" there"}', b'"content":" there"'), "malformed stream chunk"),
        (b"data: [1, 2]\n\ndata: [DONE]\n\n", "not a JSON object"),
        (b'data: {"choices": 3}\n\ndata: [DONE]\n\n', "'choices' that is not a list"),
        (b'event: error\ndata: {"message": "busy"}\n\n', "carried an error"),
    ],
)
def test_stream_anomalies(body: bytes, anomaly: str) -> None:
    outcome = adapter_for(CHAT).parse_events(timed(body))
    assert outcome.anomaly is not None
    assert anomaly in outcome.anomaly


def test_text_before_a_missing_done_is_kept() -> None:
    outcome = adapter_for(CHAT).parse_events(timed(VLLM.replace(b"data: [DONE]\n\n", b"")))
    assert outcome.text == "Hello there!"
    assert len(outcome.token_times) == 3


def test_chat_body_streams_with_usage_and_names_the_input() -> None:
    request = adapter_for(CHAT).request(item())
    assert json.loads(request.body) == {
        "model": "m",
        "messages": PROMPT["messages"],
        "max_tokens": 8,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert request.headers["X-Stress-Input-Id"] == "realistic.chat_prompt-0003"
    assert request.headers["Accept-Encoding"] == "identity"


def test_input_id_header_can_be_renamed_or_turned_off() -> None:
    renamed = CHAT.model_copy(update={"input_id_header": "X-Request-Id"})
    headers = adapter_for(renamed).request(item()).headers
    assert headers["X-Request-Id"] == "realistic.chat_prompt-0003"
    assert "X-Stress-Input-Id" not in headers
    off = CHAT.model_copy(update={"input_id_header": None})
    assert not any("input" in name.lower() for name in adapter_for(off).request(item()).headers)


def test_secrets_come_from_the_environment_into_headers_and_query() -> None:
    target = CHAT.model_copy(
        update={
            "headers": {"Authorization": "Bearer ${TEST_KEY}"},
            "params": {"api-version": "2024-06-01", "key": "${TEST_KEY}"},
            "path": "/openai/deployments/{model}/chat/completions",
        }
    )
    adapter = adapter_for(target, environ={"TEST_KEY": "sk-123456"})
    request = adapter.request(item())
    assert request.headers["Authorization"] == "Bearer sk-123456"
    assert request.path == (
        "/openai/deployments/m/chat/completions?api-version=2024-06-01&key=sk-123456"
    )
    readiness = adapter.readiness()
    assert readiness is not None
    assert readiness.path == "/openai/deployments/m/models?api-version=2024-06-01&key=sk-123456"


def test_completions_send_one_prompt_string_and_read_text() -> None:
    adapter = adapter_for(COMPLETIONS)
    body = json.loads(adapter.request(item()).body)
    assert body == {"model": "m", "prompt": "Be brief.\nHi there", "max_tokens": 8}
    answer = (
        b'{"id":"cmpl-1","object":"text_completion","choices":[{"index":0,"text":" Hello!",'
        b'"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":2}}'
    )
    outcome = adapter.parse(200, JSON_HEADERS, answer)
    assert (outcome.text, outcome.output_tokens, outcome.finish_reason) == (" Hello!", 2, "stop")
    assert outcome.tokens_estimated is False


def test_completions_stream_reads_choice_text() -> None:
    target = COMPLETIONS.model_copy(update={"stream": True})
    body = (
        b'data: {"choices":[{"index":0,"text":"One","finish_reason":null}]}\n\n'
        b'data: {"choices":[{"index":0,"text":" two","finish_reason":"length"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    outcome = adapter_for(target).parse(200, SSE, body)
    assert (outcome.text, outcome.output_tokens, outcome.finish_reason) == ("One two", 2, "length")
    assert outcome.anomaly is None


def test_a_completion_without_usage_estimates_tokens() -> None:
    answer = b'{"choices":[{"index":0,"text":"Hello, world. Fine!"}]}'
    outcome = adapter_for(COMPLETIONS).parse(200, JSON_HEADERS, answer)
    assert (outcome.output_tokens, outcome.tokens_estimated) == (6, True)


@pytest.mark.parametrize("pick", range(12))
@pytest.mark.parametrize("wrong", [None, ["a"], [1, 2], "text", 7])
def test_wrong_type_never_uses_a_type_the_protocol_accepts(pick: int, wrong: object) -> None:
    # A prompt or an embeddings input may be a string or a list; neither is "wrong".
    payload = {"op": "wrong_type", "pick": pick, "wrong_value": wrong, "base": PROMPT}
    for target, field in ((COMPLETIONS, "prompt"), (EMBEDDINGS, "input")):
        body = json.loads(adapter_for(target).request(item("mutation", payload)).body)
        assert not isinstance(body.get(field), list)
        valid = json.loads(adapter_for(target).request(item()).body)
        assert sum(body[key] != valid[key] for key in valid) == 1


def test_embeddings_request_and_answer() -> None:
    adapter = adapter_for(EMBEDDINGS)
    assert json.loads(adapter.request(item()).body) == {
        "model": "e5",
        "input": "Be brief.\nHi there",
    }
    answer = (
        b'{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2,0.3]}],'
        b'"model":"e5","usage":{"prompt_tokens":5,"total_tokens":5}}'
    )
    outcome = adapter.parse(200, JSON_HEADERS, answer)
    assert outcome.problem is None
    assert outcome.prediction == [0.1, -0.2, 0.3]
    assert outcome.prompt_tokens == 5


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (b'{"data": []}', "no 'data' list"),
        (b'{"data": [{"embedding": []}]}', "missing or not a non-empty list"),
        (b'{"data": [{"embedding": [0.1, "x"]}]}', "other than numbers"),
        (b'{"data": [{"embedding": [0.1, NaN]}]}', "NaN or Infinity"),
        (b'{"data": [{"embedding": [1]}, {"embedding": [2]}]}', "has 2 embeddings"),
    ],
)
def test_embedding_answers_are_checked(answer: bytes, problem: str) -> None:
    outcome = adapter_for(EMBEDDINGS).parse(200, JSON_HEADERS, answer)
    assert outcome.problem is not None
    assert problem in outcome.problem


@pytest.mark.parametrize(
    ("status", "body", "verdict"),
    [
        (200, b'{"object":"list","data":[{"id":"m","object":"model"}]}', (True, "")),
        (
            200,
            b'{"data":[{"id":"llama.gguf"}]}',
            (None, "the server lists these models: llama.gguf"),
        ),
        (404, b"Not Found", (None, "")),
        (200, b"<html>", (None, "")),
        (
            401,
            b'{"error":"no key"}',
            (False, "HTTP 401 for the model list: check the API key in target.headers"),
        ),
    ],
)
def test_readiness_reads_the_model_list(status: int, body: bytes, verdict: tuple) -> None:
    adapter = adapter_for(CHAT)
    readiness = adapter.readiness()
    assert readiness is not None
    assert (readiness.method, readiness.path) == ("GET", "/v1/models")
    assert adapter.judge_readiness(status, body) == verdict


def test_prompt_families_only() -> None:
    with pytest.raises(ValueError, match="cannot send a 'rows' input"):
        adapter_for(CHAT).request(item("rows", {"rows": [{"a": 1.0}]}))
