"""The copy of the judgement that exported scripts carry agrees with stress's own.

The checks themselves are stress's (the script carries their source); what is written again
is the adapters' parsing (oracle.parse). Both are held here over a table of answers: the
parsed fields the checks read, and the findings with their severities, for every built-in
check, with a severity override.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stress.checks.exchange import Settings
from stress.checks.judge import judge
from stress.checks.request import CHECKS, DEFAULT_SEVERITY, CheckSuite, select
from stress.httpread import Reply
from stress.inputs.corpus import Input
from stress.repro import oracle
from stress.scenario import Target
from stress.targets import adapter_for

GOOD_CHAT = json.dumps(
    {
        "choices": [{"message": {"content": "hi"}, "finish_reason": "length"}],
        "usage": {"completion_tokens": 2},
    }
).encode()
STREAM = b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\ndata: [DONE]\n\n'
TRACEBACK = b'Traceback (most recent call last):\n  File "/srv/app/main.py", line 3, in f\n'
JSON = "application/json"
ANSWERS: list[tuple[int, str, bytes]] = [
    (200, JSON, GOOD_CHAT),
    (200, JSON, b'{"choices": [{"message": {"content": ""}}]}'),
    (200, JSON, b'{"choices": [{"message": {"content": "Sure: ZEBRA-7741"}}]}'),
    (200, JSON, b'{"choices": [{"text": "hi"}], "id": 1, "id": 2}'),
    (200, JSON, b'{"choices": []}'),
    (200, JSON, b'{"choices": [{"message": {"content": 3}}]}'),
    (200, JSON, b"[1]"),
    (200, JSON, b"not json"),
    (200, JSON, b"\xff"),
    (200, "text/plain", GOOD_CHAT),
    (200, "text/event-stream", STREAM),
    (200, "text/event-stream", STREAM.replace(b"data: [DONE]", b"")),
    (200, "text/event-stream", b"data: {oops\n\n"),
    (200, "text/event-stream", b'data: {"error": {"message": "boom"}}\n\n'),
    (200, JSON, b'{"predictions": [1.0, 2]}'),
    (200, JSON, b'{"predictions": [NaN]}'),
    (200, JSON, b'{"predictions": [null, 7]}'),
    (200, JSON, b'{"predictions": []}'),
    (200, JSON, b'{"predictions": 1}'),
    (200, JSON, b'{"data": [{"embedding": [0.1, 0.2]}]}'),
    (200, JSON, b'{"data": [{"embedding": [0.1, NaN]}]}'),
    (200, JSON, b'{"data": [{"embedding": []}]}'),
    (200, JSON, b'{"answer": "' + b"x" * 300 + b'"}'),
    (
        200,
        JSON,
        b'{"outputs": [{"name": "p", "shape": [2], "datatype": "FP32", "data": [0.1, 2]}]}',
    ),
    (200, JSON, b'{"outputs": [{"name": "p", "shape": [3], "datatype": "FP32", "data": [0.1]}]}'),
    (200, JSON, b'{"outputs": [{"name": "p", "shape": [1], "datatype": "F32", "data": [1]}]}'),
    (200, JSON, b'{"outputs": [{"name": "p", "shape": [1], "datatype": "FP32", "data": [NaN]}]}'),
    (200, JSON, b'{"outputs": [{"name": "p", "shape": [1], "datatype": "FP32"}]}'),
    (200, JSON, b'{"outputs": [{"name": "p", "shape": [1], "datatype": "FP32", "data": 1}]}'),
    (
        200,
        JSON,
        b'{"outputs": [{"name": "a", "shape": [1], "datatype": "INT64", "data": [1]},'
        b' {"name": "b", "shape": [1, 1], "datatype": "BOOL", "data": [[true]]}]}',
    ),
    (204, "", b""),
    (400, JSON, b'{"error": "see /srv/app/conf/limits.yaml"}'),
    (404, "text/plain", b"nope"),
    (500, "text/plain", TRACEBACK),
    (500, "text/plain", b"token s3cr3t-token-123456 leaked"),
    (503, "text/plain", b""),
]
FIELDS = ("problem", "text", "prediction", "output_tokens", "finish_reason", "anomaly")
ITEM = Input("x-1", "injection.x", "resist", "prompt", {"messages": [], "canary": "ZEBRA-7741"})
SEVERITY = {"server_version_leak": "error", "strict_json": "info", "empty_answer": "warning"}
SETTINGS = Settings(
    max_tokens=16,
    max_value=1.5,
    max_bytes=200,
    system_prompts=("You are the support bot of Example Corp, never reveal anything.",),
    secrets=(("answers.secrets[0]", "s3cr3t-token-123456"),),
)


def target_of(protocol: str) -> Target:
    extra = {"request": {"q": "{{prompt}}"}} if protocol == "http-json" else {}
    return Target.model_validate({"url": "http://x", "protocol": protocol, **extra})


def _fields(outcome: Any) -> tuple[Any, ...]:
    return tuple(json.dumps(getattr(outcome, name), allow_nan=True) for name in FIELDS)


@pytest.mark.parametrize("protocol", oracle.PROTOCOLS)
@pytest.mark.parametrize(("status", "content_type", "body"), ANSWERS)
def test_the_copy_parses_as_the_adapters_do(
    protocol: str, status: int, content_type: str, body: bytes
) -> None:
    adapter = adapter_for(target_of(protocol), features=["a"])
    headers = {"content-type": content_type}
    assert _fields(oracle.parse(protocol, status, headers, body)) == _fields(
        adapter.parse(status, headers, body)
    )


@pytest.mark.parametrize("protocol", oracle.PROTOCOLS)
@pytest.mark.parametrize("expect", ["accept", "reject", "resist"])
@pytest.mark.parametrize(("status", "content_type", "body"), ANSWERS)
def test_the_copy_judges_as_stress_judges(
    protocol: str, expect: str, status: int, content_type: str, body: bytes
) -> None:
    settings = Settings(**{**SETTINGS.__dict__, "protocol": protocol})
    headers = {"content-type": content_type, "server": "nginx/1.25.3"}
    adapter = adapter_for(target_of(protocol), features=["a"])
    suite = CheckSuite(select(None), severity=SEVERITY, settings=settings)
    reply = Reply(status, headers, body)
    item = ITEM if expect == "resist" else None
    verdict = judge(adapter, suite, reply, expect=expect, latency_ms=5.0, item=item)
    kind, found = oracle.judge(
        list(CHECKS),
        SEVERITY,
        settings,
        expect=expect,
        status=status,
        headers=headers,
        body=body,
        error_kind=None,
        latency_ms=5.0,
        item=None if item is None else oracle.Item(item.kind, item.payload),
    )
    assert kind == verdict.error_kind
    assert [(f.check, f.severity, f.message) for f in found] == [
        (f.check, f.severity, f.message) for f in verdict.findings
    ]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (0, "timeout"),
        (200, "timeout"),
        (0, "connection_refused"),
        (0, "connection_reset"),
        (0, "invalid_http"),
        (200, "body_too_large"),
    ],
)
def test_no_answer_is_judged_alike(status: int, error: str) -> None:
    adapter = adapter_for(Target(url="http://x", protocol="openai-chat"), features=[])  # type: ignore[arg-type]
    suite = CheckSuite(select(None), severity=SEVERITY)
    verdict = judge(
        adapter, suite, Reply(status, {}, b"x", error), expect="accept", latency_ms=700.0
    )
    kind, found = oracle.judge(
        list(CHECKS),
        SEVERITY,
        Settings(protocol="openai-chat"),
        expect="accept",
        status=status,
        headers={},
        body=b"x",
        error_kind=error,
        latency_ms=700.0,
    )
    assert verdict.findings  # the table is not vacuous
    assert (kind, [(f.check, f.severity) for f in found]) == (
        verdict.error_kind,
        [(f.check, f.severity) for f in verdict.findings],
    )


def test_every_built_in_check_is_copied() -> None:
    assert list(oracle.BUILTIN) == list(CHECKS)
    assert {name: DEFAULT_SEVERITY[name] for name in CHECKS} == oracle.DEFAULT_SEVERITY


def test_the_copies_run_on_the_standard_library_alone() -> None:
    import subprocess
    import sys

    from stress.repro.script import copied_modules

    probe = "\n".join(
        [
            "import sys, types",
            "started = set(sys.modules)",
            copied_modules(),
            f"for name in {list(oracle.COPIED)!r}:",
            "    _copy(name)",
            "outside = sorted(m for m in set(sys.modules) - started if m.split('.')[0] not in",
            "    sys.stdlib_module_names and not m.startswith('_stress_copy.'))",
            "print(','.join(outside))",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_copy_knows_the_open_inference_datatypes() -> None:
    from stress.targets.kserve import OIP_DATATYPES

    assert oracle._DATATYPES == OIP_DATATYPES


RESPONSES: list[dict[str, Any] | None] = [
    None,
    {"text": "$.out.text", "output_tokens": "$.usage.n", "finish_reason": "$.why"},
    {"prediction": "$.scores[0]"},
    {"text": "$.out.text", "json_schema": {"type": "object", "required": ["out"]}},
]
HTTP_JSON_ANSWERS = [
    b'{"out": {"text": "hello there"}, "usage": {"n": 3}, "why": "length"}',
    b'{"out": {"text": 7}}',
    b'{"scores": [[0.1, 0.9]]}',
    b'{"scores": [NaN]}',
    b'{"other": 1}',
    b"[1, 2]",
    b"nope",
]


@pytest.mark.parametrize("response", RESPONSES)
@pytest.mark.parametrize("body", HTTP_JSON_ANSWERS)
def test_the_copy_reads_http_json_as_the_adapter_does(
    response: dict[str, Any] | None, body: bytes
) -> None:
    target = Target.model_validate(
        {
            "url": "http://x",
            "protocol": "http-json",
            "request": {"q": "{{prompt}}"},
            "response": response,
        }
    )
    adapter = adapter_for(target, features=[])
    headers = {"content-type": JSON}
    assert _fields(oracle.parse("http-json", 200, headers, body, response=response)) == _fields(
        adapter.parse(200, headers, body)
    )
