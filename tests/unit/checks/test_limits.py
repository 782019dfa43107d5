"""The limit parser on refusals as real servers write them, and the relation of a request to
a limit (stress.checks.limits)."""

from __future__ import annotations

import json

import pytest

from stress.checks import limits
from stress.checks.limits import (
    BATCH,
    BODY_BYTES,
    OUTPUT_TOKENS,
    OVER,
    PROMPT_CHARS,
    PROMPT_TOKENS,
    UNDER,
    UNKNOWN,
    Limit,
    LimitBook,
    Size,
)


def openai(message: str, code: str | None, kind: str = "invalid_request_error") -> bytes:
    error = {"message": message, "type": kind, "param": "messages", "code": code}
    return json.dumps({"error": error}).encode()


# (server, status, body, kind, value): shapes from the servers' own error paths.
REAL = [
    (
        "OpenAI",
        400,
        openai(
            "This model's maximum context length is 4097 tokens. However, you requested 4135 "
            "tokens (3135 in the messages, 1000 in the completion). Please reduce the length "
            "of the messages or completion.",
            "context_length_exceeded",
        ),
        PROMPT_TOKENS,
        4097,
    ),
    (
        "OpenAI, code only",
        400,
        openai("Please reduce the length of the messages.", "context_length_exceeded"),
        PROMPT_TOKENS,
        None,
    ),
    (
        "OpenAI max_tokens",
        400,
        openai(
            "max_tokens is too large: 10000. This model supports at most 4096 completion "
            "tokens, whereas you provided 10000.",
            None,
        ),
        OUTPUT_TOKENS,
        4096,
    ),
    (
        "vLLM",
        400,
        json.dumps(
            {
                "object": "error",
                "message": "This model's maximum context length is 16384 tokens. However, you "
                "requested 122946 tokens (112946 in the messages, 10000 in the completion). "
                "Please reduce the length of the messages or completion.",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            }
        ).encode(),
        PROMPT_TOKENS,
        16384,
    ),
    (
        "vLLM decoder prompt",
        400,
        json.dumps(
            {
                "object": "error",
                "message": "The decoder prompt (length 5000) is longer than the maximum model "
                "length of 4096. Make sure that `max_model_len` is no smaller than the number "
                "of text tokens.",
                "type": "BadRequestError",
                "code": 400,
            }
        ).encode(),
        PROMPT_TOKENS,
        4096,
    ),
    (
        "llama.cpp",
        400,
        b'{"error":{"code":400,"message":"the request exceeds the available context size. '
        b'try increasing the context size or enable context shift","type":'
        b'"exceed_context_size_error","n_prompt_tokens":14429,"n_ctx":8192}}',
        PROMPT_TOKENS,
        8192,
    ),
    (
        "llama-cpp-python",
        400,
        b'{"detail":"Requested tokens (2285) exceed context window of 2048"}',
        PROMPT_TOKENS,
        2048,
    ),
    (
        "TGI",
        422,
        b'{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= '
        b'2048. Given: 1244 `inputs` tokens and 1000 `max_new_tokens`","error_type":'
        b'"validation"}',
        PROMPT_TOKENS,
        2048,
    ),
    (
        "TGI inputs",
        422,
        b'{"error":"Input validation error: `inputs` must have less than 1024 tokens. '
        b'Given: 1168","error_type":"validation"}',
        PROMPT_TOKENS,
        1024,
    ),
    (
        "TGI max_new_tokens",
        422,
        b'{"error":"Input validation error: `max_new_tokens` must be <= 512. Given: 1000",'
        b'"error_type":"validation"}',
        OUTPUT_TOKENS,
        512,
    ),
    (
        "TEI batch",
        413,
        b'{"error":"batch size 64 > maximum allowed batch size 32","error_type":"Validation"}',
        BATCH,
        32,
    ),
    (
        "Triton / KServe v2",
        400,
        b'{"error":"inference request batch-size must be <= 8 for \'simple\'"}',
        BATCH,
        8,
    ),
    (
        "KServe v1 (custom predictor)",
        400,
        b'{"error":"Too many instances: at most 100 instances per request"}',
        BATCH,
        100,
    ),
    (
        "MLflow",
        400,
        b'{"error_code": "BAD_REQUEST", "message": "Input has 5000 rows; the maximum batch '
        b'size is 1000."}',
        BATCH,
        1000,
    ),
    (
        "Anthropic",
        400,
        b'{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too '
        b'long: 210000 tokens > 200000 maximum"}}',
        PROMPT_TOKENS,
        200000,
    ),
    (
        "FastAPI / pydantic v2",
        422,
        b'{"detail":[{"type":"string_too_long","loc":["body","text"],"msg":"String should '
        b'have at most 4096 characters","input":"...","ctx":{"max_length":4096}}]}',
        PROMPT_CHARS,
        4096,
    ),
    (
        "FastAPI list",
        422,
        b'{"detail":[{"type":"too_long","loc":["body","texts"],"msg":"List should have at '
        b'most 8 items after validation, not 10","ctx":{"field_type":"List","max_length":8,'
        b'"actual_length":10}}]}',
        BATCH,
        8,
    ),
    (
        "nginx",
        413,
        b"<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
        b"<center><h1>413 Request Entity Too Large</h1></center>\r\n</body></html>",
        BODY_BYTES,
        None,
    ),
    (
        "LM Studio",
        400,
        b'{"error":"Trying to keep the first 5000 tokens when context the overflows. However, '
        b'the model is loaded with context length of only 4096 tokens, which is not enough."}',
        PROMPT_TOKENS,
        4096,
    ),
    (
        "Ollama",
        400,
        b'{"error":"the input length exceeds the context length"}',
        PROMPT_TOKENS,
        None,
    ),
    (
        "a proxy's 413 saying nothing more",
        413,
        b'{"detail":"rejected by the gateway"}',
        BODY_BYTES,
        None,
    ),
    (
        "body with size",
        413,
        b'{"message":"request body exceeds the limit of 1048576 bytes"}',
        BODY_BYTES,
        1048576,
    ),
    (
        "reference chat server",
        400,
        b'{"error":{"code":"context_length_exceeded","message":"This model\'s maximum context '
        b'length is 2,048 tokens. However, your messages resulted in 3000 tokens."}}',
        PROMPT_TOKENS,
        2048,
    ),
]


@pytest.mark.parametrize(
    ("server", "status", "body", "kind", "value"), REAL, ids=[r[0] for r in REAL]
)
def test_real_refusals_name_their_limit(
    server: str, status: int, body: bytes, kind: str, value: int | None
) -> None:
    found = limits.parse(status, body)
    assert found is not None, server
    assert (found.kind, found.value) == (kind, value)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, openai("maximum context length is 4096 tokens", "context_length_exceeded")),
        (500, b'{"error":{"message":"maximum context length is 4096 tokens"}}'),
        (400, b'{"error":{"message":"messages: field required","code":"invalid_value"}}'),
        (422, b'{"detail":[{"type":"missing","loc":["body","text"],"msg":"Field required"}]}'),
        (400, b"<html><body>Bad Request</body></html>"),
        (404, b'{"error":"model gpt-5 not found"}'),
        (400, b'{"error":"temperature must be <= 2"}'),
    ],
)
def test_refusals_that_name_no_limit(status: int, body: bytes) -> None:
    assert limits.parse(status, body) is None


def test_thousands_separators_and_evidence() -> None:
    found = limits.parse(400, b'{"message":"maximum context length is 32,768 tokens"}')
    assert found == Limit(PROMPT_TOKENS, 32768, "maximum context length is 32,768 tokens")


def chat(text: str, *, max_tokens: int | None = None, messages: int = 1) -> bytes:
    body: dict[str, object] = {"messages": [{"role": "user", "content": text}] * messages}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return json.dumps(body).encode()


def test_size_of_a_chat_request() -> None:
    size = Size.of(chat("héllo big world", max_tokens=16))
    assert (size.chars, size.words, size.text_bytes, size.messages) == (15, 3, 16, 1)
    assert size.max_tokens == 16
    assert size.body_bytes == len(chat("héllo big world", max_tokens=16))


def test_size_of_rows_and_payloads() -> None:
    assert Size.of(b'{"dataframe_split":{"columns":["a"],"data":[[1],[2],[3]]}}').rows == 3
    assert Size.of(b'{"instances":[[1],[2]]}').rows == 2
    assert Size.of(b'{"inputs":[{"name":"x","shape":[5,4],"data":[]}]}').rows == 5
    # Not JSON on the wire: the corpus payload measures it.
    assert Size.of(b"\xff{", {"rows": [{}, {}]}).rows == 2
    assert Size.of(b'{"texts":["a"]}').chars is None


@pytest.mark.parametrize(
    ("limit", "body", "relation"),
    [
        (Limit(PROMPT_TOKENS, 100), chat("word " * 101), OVER),
        (Limit(PROMPT_TOKENS, 100), chat("word " * 100), UNKNOWN),  # 500 bytes may be 101 tokens
        (Limit(PROMPT_TOKENS, 100), chat("a b c d e"), UNDER),
        (Limit(PROMPT_TOKENS, 100), chat("a b c d e", max_tokens=95), UNKNOWN),
        (Limit(PROMPT_TOKENS, 100), chat("a b c d e", messages=12), UNKNOWN),  # the template
        (Limit(PROMPT_TOKENS, None), chat("a"), UNKNOWN),
        (Limit(PROMPT_CHARS, 10), chat("x" * 10), UNDER),
        (Limit(PROMPT_CHARS, 10), chat("x" * 11), OVER),
        # Two fields of 6: 13 characters in all, but a per-field limit of 10 may hold.
        (Limit(PROMPT_CHARS, 10), chat("x" * 6, messages=2), UNKNOWN),
        (Limit(BATCH, 2), b'{"instances":[[1],[2]]}', UNDER),
        (Limit(BATCH, 1), b'{"instances":[[1],[2]]}', OVER),
        (Limit(BATCH, 1), chat("a"), UNKNOWN),
        (Limit(OUTPUT_TOKENS, 64), chat("a", max_tokens=65), OVER),
        (Limit(BODY_BYTES, 30), chat("a"), OVER),
    ],
)
def test_relation_of_a_request_to_a_limit(limit: Limit, body: bytes, relation: str) -> None:
    assert limit.relation(Size.of(body)) == relation


def test_the_book_keeps_the_smallest_and_fills_unnumbered_refusals() -> None:
    book = LimitBook({BATCH: 8})
    assert book.learn(Limit(PROMPT_TOKENS, None)) == Limit(PROMPT_TOKENS, None)
    book.learn(Limit(PROMPT_TOKENS, 4096))
    book.learn(Limit(PROMPT_TOKENS, 8192))
    assert book.known == {BATCH: 8, PROMPT_TOKENS: 4096}
    assert book.learn(Limit(PROMPT_TOKENS, None, "too long")).value == 4096
    assert book.beyond(Size.of(chat("w " * 5000))) == Limit(PROMPT_TOKENS, 4096, "learned")
    assert book.beyond(Size.of(chat("w " * 50))) is None
    assert book.beyond(Size.of(b'{"instances":' + b"[[1]" + b",[1]" * 8 + b"]}")).kind == BATCH


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (b'{"error":{"message":"n must be at most 2 on this server","code":"invalid_value"}}', 2),
        (b'{"error":{"message":"Only one completion choice is allowed","code":400}}', None),
    ],
)
def test_choices_refusals(body: bytes, value: int | None) -> None:
    found = limits.parse(400, body)
    assert found is not None
    assert (found.kind, found.value) == (limits.CHOICES, value)
    over = Size.of(chat("a")[:-1] + b', "n": 3}')
    assert Limit(limits.CHOICES, 2).relation(over) == OVER
    assert Limit(limits.CHOICES, 2).relation(Size.of(chat("a"))) == UNDER
