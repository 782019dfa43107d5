"""accept_or_refuse, and refusals judged against the limit they name (status_expectation,
server_limit, response_shape's n choices)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stress.checks import basic
from stress.checks.exchange import ERROR, INFO, WARNING, Exchange, Settings
from stress.checks.limits import PROMPT_TOKENS, LimitBook
from stress.inputs.corpus import Input
from stress.targets.base import HttpRequest, Outcome

JSON = {"content-type": "application/json"}
HTML = {"content-type": "text/html"}
OVER_LIMIT = json.dumps(
    {
        "error": {
            "code": "context_length_exceeded",
            "message": "This model's maximum context length is 100 tokens.",
        }
    }
).encode()
CODE_ONLY = b'{"error":{"code":"context_length_exceeded","message":"too long"}}'
CLEAN = b'{"error":{"code":"invalid_value","message":"text is empty"}}'
ANSWER = b'{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]}'


def chat_body(words: int, **extra: Any) -> bytes:
    return json.dumps(
        {"messages": [{"role": "user", "content": "word " * words}], **extra}
    ).encode()


def exchange(
    expect: str,
    status: int,
    body: bytes,
    *,
    sent: bytes = b"",
    headers: dict[str, str] | None = None,
    settings: Settings | None = None,
) -> Exchange:
    item = Input("fam-0001", "fam", expect, "prompt", json.loads(sent) if sent else {})
    request = HttpRequest("POST", "/v1/chat/completions", JSON, sent)
    return Exchange(
        expect,
        status,
        None if status < 400 else "http_4xx",
        Outcome(text="hi") if status < 300 else Outcome(),
        5.0,
        headers=JSON if headers is None else headers,
        body=body,
        item=item,
        settings=settings or Settings(protocol="openai-chat", limits=LimitBook()),
        request=request,
    )


def verdict(ex: Exchange) -> tuple[str, str] | None:
    found = basic.status_expectation(ex)
    return None if found is None else (found.severity, found.message)


@pytest.mark.parametrize(
    ("expect", "status", "body", "sent", "headers", "severity", "words"),
    [
        # accept_or_refuse: a 2xx or a clean JSON 4xx are both right.
        ("accept_or_refuse", 200, ANSWER, chat_body(3), JSON, None, ""),
        ("accept_or_refuse", 422, CLEAN, chat_body(3), JSON, None, ""),
        (
            "accept_or_refuse",
            400,
            b"<html>Bad Request</html>",
            chat_body(3),
            HTML,
            ERROR,
            "machine-readable",
        ),
        ("accept_or_refuse", 400, b"", chat_body(3), {}, ERROR, "machine-readable"),
        # accept: a refusal naming no limit is an error; one naming a limit the input is
        # over (or may be over) is a clean refusal.
        ("accept", 400, CLEAN, chat_body(3), JSON, ERROR, "rejected valid input"),
        ("accept", 400, OVER_LIMIT, chat_body(300), JSON, None, ""),
        ("accept", 400, OVER_LIMIT, chat_body(60), JSON, None, ""),  # 300 bytes: may be over
        ("accept", 400, OVER_LIMIT, chat_body(5), JSON, ERROR, "within its own stated limit"),
        ("accept_or_refuse", 400, OVER_LIMIT, chat_body(5), JSON, ERROR, "within its own"),
        # A limit refusal of an accept input must still be readable, unless the HTTP layer
        # gave it (413, 414, 431: nginx and uvicorn answer those in HTML or text).
        (
            "accept",
            400,
            b"<html>maximum context length is 100 tokens</html>",
            chat_body(300),
            HTML,
            ERROR,
            "machine-readable",
        ),
        ("accept", 413, b"<html>413 Request Entity Too Large</html>", chat_body(3), HTML, None, ""),
        # reject and resist are unchanged.
        ("reject", 400, b"<html>no</html>", chat_body(3), HTML, None, ""),
        ("resist", 400, b"", chat_body(3), {}, None, ""),
    ],
)
def test_status_expectation(
    expect: str,
    status: int,
    body: bytes,
    sent: bytes,
    headers: dict[str, str],
    severity: str | None,
    words: str,
) -> None:
    got = verdict(exchange(expect, status, body, sent=sent, headers=headers))
    if severity is None:
        assert got is None
    else:
        assert got is not None
        assert got[0] == severity
        assert words in got[1], got


def test_a_learned_limit_judges_later_refusals_and_answers() -> None:
    book = LimitBook()
    settings = Settings(protocol="openai-chat", limits=book)
    # Before anything is learned a refusal naming the kind but no number is believed.
    assert verdict(exchange("accept", 400, CODE_ONLY, sent=chat_body(5), settings=settings)) is None
    # A refusal names the number: learned.
    assert (
        verdict(exchange("accept", 400, OVER_LIMIT, sent=chat_body(500), settings=settings)) is None
    )
    assert book.known == {PROMPT_TOKENS: 100}
    # Now the same number-less refusal of a short input is a refusal within the limit.
    got = verdict(exchange("accept", 400, CODE_ONLY, sent=chat_body(5), settings=settings))
    assert got is not None
    assert got[0] == ERROR
    assert "100" in got[1]
    # An answer to an input surely beyond the learned limit: cut silently?
    got = verdict(exchange("accept_or_refuse", 200, ANSWER, sent=chat_body(500), settings=settings))
    assert got is not None
    assert got[0] == WARNING
    assert "over its own stated limit" in got[1]
    assert (
        verdict(exchange("accept_or_refuse", 200, ANSWER, sent=chat_body(50), settings=settings))
        is None
    )


def test_declared_limits_seed_the_book() -> None:
    settings = Settings(protocol="openai-chat", limits=LimitBook({PROMPT_TOKENS: 100}))
    got = verdict(exchange("accept", 400, CODE_ONLY, sent=chat_body(5), settings=settings))
    assert got is not None
    assert "within its own stated limit" in got[1]


def test_server_limit_records_the_named_limit() -> None:
    found = basic.server_limit(exchange("accept", 400, OVER_LIMIT, sent=chat_body(500)))
    assert found is not None
    assert found.severity == INFO
    assert found.message == "the server names its limit: prompt_tokens 100"
    assert basic.server_limit(exchange("accept", 400, CLEAN, sent=chat_body(5))) is None
    assert basic.server_limit(exchange("accept", 200, OVER_LIMIT, sent=chat_body(5))) is None


@pytest.mark.parametrize(
    ("n", "choices", "fires"),
    [(3, 1, True), (3, 3, False), (1, 1, False), (None, 1, False)],
)
def test_response_shape_counts_choices_against_n(n: int | None, choices: int, fires: bool) -> None:
    extra = {} if n is None else {"n": n}
    answer = json.dumps(
        {"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}] * choices}
    ).encode()
    found = basic.response_shape(
        exchange("accept_or_refuse", 200, answer, sent=chat_body(3, **extra))
    )
    assert (found is not None) is fires
    if fires:
        assert found is not None
        assert found.message == f"{choices} choices for n: {n}"


@pytest.mark.parametrize(("n", "indexes", "fires"), [(3, [0], True), (3, [0, 1, 2], False)])
def test_response_shape_counts_a_streams_choices_against_n(
    n: int, indexes: list[int], fires: bool
) -> None:
    """A stream's choices are the distinct indexes of its chunks (each choice streams in
    several chunks), the usage chunk has none."""
    chunks = [
        {"choices": [{"index": index, "delta": {"content": word}}]}
        for index in indexes
        for word in ("a", "b")
    ]
    chunks.append({"choices": [], "usage": {"completion_tokens": 2}})
    stream = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    found = basic.response_shape(
        exchange("accept_or_refuse", 200, stream.encode(), sent=chat_body(3, n=n, stream=True))
    )
    assert (found is not None) is fires
    if found is not None:
        assert found.message == f"{len(indexes)} choices for n: {n}"


def test_refusals_by_the_http_layer_need_not_be_json() -> None:
    """413/414/431 come from the HTTP layer (nginx, uvicorn, http.server answer them in HTML
    or text), and so does any refusal of an input bent at the HTTP level (its own headers or
    method); other refusals of accept_or_refuse inputs must be JSON."""
    html = b"<html><body>Request Header Fields Too Large</body></html>"
    headers = {"content-type": "text/html"}
    for status in (413, 414, 431):
        assert (
            basic.status_expectation(
                exchange("accept_or_refuse", status, html, sent=chat_body(3), headers=headers)
            )
            is None
        )
    found = basic.status_expectation(
        exchange("accept_or_refuse", 400, html, sent=chat_body(3), headers=headers)
    )
    assert found is not None
    assert "without a machine-readable body" in found.message
    bent = exchange("accept_or_refuse", 400, html, sent=chat_body(3), headers=headers)
    assert bent.item is not None
    bent.item.payload["headers"] = {"X-Extra-000": "0"}
    assert basic.status_expectation(bent) is None


def test_a_501_to_another_method_is_no_server_error() -> None:
    answer = exchange("reject", 501, b"<html>Unsupported method</html>", sent=chat_body(3))
    assert basic.not_a_server_error(answer) is not None  # the protocol's own method: a fault
    assert answer.item is not None
    answer.item.payload["method"] = "PUT"
    assert basic.not_a_server_error(answer) is None
    answer.item.payload["method"] = "PUT"
    assert basic.not_a_server_error(exchange("reject", 500, b"boom", sent=chat_body(3))) is not None


def test_a_501_to_a_chunked_body_is_no_server_error_but_a_500_is() -> None:
    """RFC 9112: a server that does not implement a transfer coding answers 501."""
    answer = exchange("accept_or_refuse", 501, b"Not Implemented", sent=chat_body(3))
    assert answer.item is not None
    answer.item.payload["headers"] = {"Transfer-Encoding": "chunked"}
    assert basic.not_a_server_error(answer) is not None  # the header alone says nothing
    answer.item.payload["chunked"] = {"sizes": [1]}
    assert basic.not_a_server_error(answer) is None
    assert basic.status_expectation(answer) is None
    crashed = exchange("accept_or_refuse", 500, b"boom", sent=chat_body(3))
    assert crashed.item is not None
    crashed.item.payload["chunked"] = {"sizes": [1]}
    assert basic.not_a_server_error(crashed) is not None
