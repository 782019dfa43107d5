"""Preflight against recorded server behaviour (httpx.MockTransport): what passes, what is
exit 3 and what the message says."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from stress.errors import TargetUnreachable
from stress.inputs.corpus import Input
from stress.preflight import preflight, probe_input
from stress.scenario import Protocol, Target
from stress.secrets import Redactor
from stress.targets import adapter_for

URL = "http://model.test:8000"
PROMPT = {"messages": [{"role": "user", "content": "hi"}]}
INPUTS = [
    Input("structure.missing_field-0000", "structure.missing_field", "reject", "mutation", {}),
    Input("unicode.arbitrary-0000", "unicode.arbitrary", "accept", "prompt", PROMPT),
    Input("realistic.chat_prompt-0000", "realistic.chat_prompt", "accept", "prompt", PROMPT),
]
CHAT = Target(url=URL, protocol=Protocol.OPENAI_CHAT, model="llama-3")
Handler = Callable[[httpx.Request], httpx.Response]


def run(target: Target, handler: Handler, *, seen: list[str] | None = None, **kw: object) -> str:
    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(f"{request.method} {request.url.raw_path.decode()}")
        return handler(request)

    adapter = adapter_for(target, features=["a"], environ={"KEY": "sk-secret-123"})
    return preflight(
        URL,
        adapter,
        INPUTS,
        timeout=5,
        transport=httpx.MockTransport(record),
        redactor=Redactor(["sk-secret-123"]),
        **kw,  # type: ignore[arg-type]
    )


def models(*names: str) -> httpx.Response:
    return httpx.Response(200, json={"object": "list", "data": [{"id": n} for n in names]})


def test_the_probe_input_is_the_first_realistic_one() -> None:
    chosen = probe_input(INPUTS)
    assert chosen is not None
    assert chosen.id == "realistic.chat_prompt-0000"
    assert probe_input(INPUTS[:1]) is None


def test_a_listed_model_passes_without_sending_a_request() -> None:
    seen: list[str] = []
    message = run(CHAT, lambda r: models("llama-3", "other"), seen=seen)
    assert seen == ["GET /v1/models"]
    assert "GET /v1/models answered HTTP 200" in message


def test_an_unlisted_model_is_tried_once_and_refused_with_the_list() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return models("mistral-7b")
        return httpx.Response(
            404, json={"error": {"message": "The model `llama-3` does not exist."}}
        )

    seen: list[str] = []
    with pytest.raises(TargetUnreachable) as caught:
        run(CHAT, handler, seen=seen)
    assert seen == ["GET /v1/models", "POST /v1/chat/completions"]
    message = str(caught.value)
    assert message.startswith(f"target: {URL} answered HTTP 404 to one valid request")
    assert "The model `llama-3` does not exist." in message
    assert "check target.model and target.path" in message
    assert "the server lists these models: mistral-7b" in message
    assert caught.value.exit_code == 3


def test_an_unlisted_name_that_the_server_accepts_passes() -> None:
    # llama.cpp lists its file name and answers to any model name.
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return models("/models/llama.gguf")
        body = json.loads(request.content)
        assert body["model"] == "llama-3"
        return httpx.Response(200, json={"choices": [{"message": {"content": "hi"}}]})

    assert "one valid request (realistic.chat_prompt-0000) answered HTTP 200" in run(CHAT, handler)


def test_a_server_without_a_model_list_gets_one_request() -> None:
    seen: list[str] = []
    run(
        CHAT,
        lambda r: httpx.Response(404) if r.method == "GET" else httpx.Response(200, json={}),
        seen=seen,
    )
    assert seen == ["GET /v1/models", "POST /v1/chat/completions"]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_failing_or_busy_server_is_loaded_and_reported_not_refused(status: int) -> None:
    message = run(CHAT, lambda r: httpx.Response(404 if r.method == "GET" else status))
    assert message == f"one valid request (realistic.chat_prompt-0000) answered HTTP {status}"


@pytest.mark.parametrize(
    ("status", "fix"),
    [
        (400, "check target.model, target.format and the request fields"),
        (405, "check that target.url and target.protocol match this server"),
    ],
)
def test_a_refused_valid_request_is_exit_3(status: int, fix: str) -> None:
    with pytest.raises(TargetUnreachable, match=fix):
        run(CHAT, lambda r: httpx.Response(404 if r.method == "GET" else status))


def test_kserve_unknown_model_is_exit_3_without_a_request() -> None:
    target = Target(url=URL, protocol=Protocol.KSERVE_V2, model="iris")
    seen: list[str] = []
    with pytest.raises(TargetUnreachable, match="model 'iris' is not served there") as caught:
        run(
            target, lambda r: httpx.Response(404, json={"error": "Model iris not found"}), seen=seen
        )
    assert seen == ["GET /v2/models/iris/ready"]
    assert "Model iris not found" in str(caught.value)


def test_connection_errors_name_the_url_and_the_reason() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with pytest.raises(TargetUnreachable) as caught:
        run(CHAT, refuse)
    assert str(caught.value) == (
        f"target.url: cannot reach {URL} ([Errno 111] Connection refused); start the server or "
        f"point target.url (or --target) at a running endpoint"
    )


def test_secrets_never_reach_the_message() -> None:
    target = CHAT.model_copy(
        update={"headers": {"Authorization": "Bearer ${KEY}"}, "params": {"key": "${KEY}"}}
    )

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer sk-secret-123"
        if request.method == "GET":
            return httpx.Response(404)
        # A server that echoes what it got, as error pages often do.
        echo = f"bad key {request.url} {request.headers['Authorization']}"
        return httpx.Response(401, text=echo)

    with pytest.raises(TargetUnreachable) as caught:
        run(target, handler)
    message = str(caught.value)
    assert "sk-secret-123" not in message
    assert "<redacted>" in message
    assert "check the credentials in target.headers / target.params" in message
