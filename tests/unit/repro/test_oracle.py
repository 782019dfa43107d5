"""The standalone checks copied into exported scripts agree with stress's own checks."""

from __future__ import annotations

import json

import pytest

from stress.checks.request import CHECKS, Exchange, run_checks, select
from stress.repro import oracle
from stress.scenario import Target
from stress.targets import adapter_for
from stress.targets.base import Outcome

GOOD_CHAT = json.dumps({"choices": [{"message": {"content": "hi"}}]}).encode()
STREAM = b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\ndata: [DONE]\n\n'
ANSWERS = [
    (200, "application/json", GOOD_CHAT),
    (200, "application/json", b'{"choices": []}'),
    (200, "application/json", b'{"choices": [{"message": {"content": 3}}]}'),
    (200, "application/json", b"[1]"),
    (200, "application/json", b"not json"),
    (200, "application/json", b"\xff"),
    (200, "text/event-stream", STREAM),
    (200, "text/event-stream", STREAM.replace(b"data: [DONE]", b"")),
    (200, "text/event-stream", b"data: {oops\n\n"),
    (200, "application/json", b'{"predictions": [1.0, 2]}'),
    (200, "application/json", b'{"predictions": [NaN]}'),
    (200, "application/json", b'{"predictions": 1}'),
    (204, "", b""),
    (400, "application/json", b"{}"),
    (404, "text/plain", b"nope"),
    (500, "text/plain", b"Traceback"),
    (503, "text/plain", b""),
]


def stress_verdict(
    protocol: str, expect: str, status: int, content_type: str, body: bytes, error: str | None
) -> list[str]:
    target = Target(url="http://x", protocol=protocol)  # type: ignore[arg-type]
    adapter = adapter_for(target, features=["a"])
    outcome = Outcome()
    error_kind = error
    if error is None:
        outcome = adapter.parse(status, {"content-type": content_type}, body)
        if status < 400 and outcome.problem:
            error_kind = "invalid_response"
    exchange = Exchange(expect, status, error_kind, outcome, 1.0)
    return sorted(f.check for f in run_checks(exchange, select(None)))


@pytest.mark.parametrize("protocol", ["openai-chat", "mlflow"])
@pytest.mark.parametrize("expect", ["accept", "reject"])
@pytest.mark.parametrize(("status", "content_type", "body"), ANSWERS)
def test_oracle_fails_exactly_the_checks_stress_fails(
    protocol: str, expect: str, status: int, content_type: str, body: bytes
) -> None:
    failed = stress_verdict(protocol, expect, status, content_type, body, None)
    for check in oracle.STANDALONE_CHECKS:
        verdict, messages = oracle.judge(
            [check], expect, protocol, status, content_type, body, None
        )
        assert (verdict == "fails") == (check in failed), (check, messages)


@pytest.mark.parametrize(
    "error", ["timeout", "connection_refused", "connection_reset", "invalid_http"]
)
def test_no_answer_fails_only_the_checks_about_it_and_is_never_a_pass(error: str) -> None:
    failed = stress_verdict("openai-chat", "accept", 0, "", b"", error)
    for check in oracle.STANDALONE_CHECKS:
        verdict, _ = oracle.judge([check], "accept", "openai-chat", 0, "", b"", error)
        assert verdict == ("fails" if check in failed else "no_answer"), check


def test_standalone_checks_are_checks_of_stress() -> None:
    # The rest (answer, leak, strict-JSON checks) need stress: exports refuse them (exit 2).
    assert set(oracle.STANDALONE_CHECKS) < set(CHECKS)
