"""The transport, status and shape checks at their edges, each finding compared whole
(name, message, severity, expected, got), so a moved boundary or a changed word is caught."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stress.checks import basic
from stress.checks.exchange import Exchange, Finding, Settings
from stress.checks.strict import MAX_STRICT_BYTES
from stress.inputs.corpus import Input
from stress.targets.base import Outcome

JSON = {"content-type": "application/json"}


def exchange(
    status: int,
    *,
    expect: str = "accept",
    error_kind: str | None = None,
    outcome: Outcome | None = None,
    body: bytes = b"{}",
    headers: dict[str, str] | None = None,
    protocol: str | None = "openai-chat",
) -> Exchange:
    return Exchange(
        expect,
        status,
        error_kind,
        outcome or Outcome(text="hi"),
        10.0,
        headers=JSON if headers is None else headers,
        body=body,
        item=Input("f-1", "f", expect, "prompt", {}),
        settings=Settings(protocol=protocol),
    )


def test_a_server_error_from_500_on() -> None:
    assert basic.not_a_server_error(exchange(499)) is None
    assert basic.not_a_server_error(exchange(500)) == Finding(
        "not_a_server_error",
        "server error: HTTP 500",
        expected="no 5xx, whatever the input",
        got="HTTP 500",
    )


def test_a_shape_problem_names_the_protocol_or_says_protocol() -> None:
    bad = Outcome(problem="no choices")
    assert basic.response_shape(exchange(200, outcome=bad)) == Finding(
        "response_shape", "no choices", expected="a openai-chat answer", got="no choices"
    )
    assert basic.response_shape(exchange(200, outcome=bad, protocol=None)) == Finding(
        "response_shape", "no choices", expected="a protocol answer", got="no choices"
    )


def test_a_broken_stream_is_a_stream_integrity_finding_with_its_anomaly() -> None:
    broken = Outcome(text="hi", anomaly="no data: [DONE]")
    assert basic.stream_integrity(exchange(200, outcome=broken)) == Finding(
        "stream_integrity", "no data: [DONE]"
    )
    assert basic.stream_integrity(exchange(200)) is None


REJECTED = Finding(
    "status_expectation",
    "rejected valid input: HTTP 400",
    expected="2xx (the input family is valid)",
    got="HTTP 400",
)


def unclean(status: int) -> Finding:
    return Finding(
        "status_expectation",
        f"malformed input got HTTP {status}, not a clean 4xx",
        expected="4xx (the input is malformed)",
        got=f"HTTP {status}",
    )


@pytest.mark.parametrize(
    ("expect", "status", "error_kind", "finding"),
    [
        ("accept", 400, None, REJECTED),
        ("accept", 399, None, None),
        (
            "accept",
            499,
            None,
            replace(REJECTED, message="rejected valid input: HTTP 499", got="HTTP 499"),
        ),
        ("reject", 300, None, unclean(300)),
        ("reject", 399, None, unclean(399)),
        ("reject", 299, None, None),
        ("reject", 200, None, None),
        ("reject", 400, None, None),
        ("reject", 499, None, None),
        # 5xx, no answer, and timeouts are other checks' business.
        ("reject", 500, None, None),
        ("reject", 0, "connection_refused", None),
        ("reject", 302, "timeout", None),
        ("reject", 302, "hang", None),
        ("accept", 404, "timeout", None),
        ("resist", 302, None, None),
    ],
)
def test_status_expectation_at_its_edges(
    expect: str, status: int, error_kind: str | None, finding: Finding | None
) -> None:
    got = basic.status_expectation(exchange(status, expect=expect, error_kind=error_kind))
    assert got == finding


def test_a_2xx_for_malformed_input_is_a_warning() -> None:
    assert basic.accepted_invalid_input(exchange(299, expect="reject")) == Finding(
        "accepted_invalid_input",
        "accepted invalid input: HTTP 299",
        "warning",
        expected="4xx (the input is malformed)",
        got="HTTP 299",
    )
    assert basic.accepted_invalid_input(exchange(300, expect="reject")) is None
    assert basic.accepted_invalid_input(exchange(199, expect="reject")) is None
    assert basic.accepted_invalid_input(exchange(200, expect="accept")) is None


SSE = {"content-type": "text/event-stream"}


def stream(body: bytes) -> Finding | None:
    return basic.strict_json(exchange(200, body=body, headers=SSE))


def test_every_data_line_of_a_stream_is_strict_json() -> None:
    assert stream(b'data:{"a":1}\n\ndata: [DONE]\n\n') is None
    assert stream(b"event: x\ndata:\n\ndata: [DONE]\n\n") is None
    # Lines after [DONE] or an empty data line are read too.
    found = stream(b'data: [DONE]\ndata:\ndata: {"a": NaN}\n')
    assert found is not None
    assert "NaN" in str(found.got)
    assert found == Finding(
        "strict_json",
        f"stream line 3 {found.got}",
        "error",  # a NaN is a wrong number, not only a format slip
        expected="strict JSON in every data: line",
        got=found.got,
    )
    twice = stream(b'data: {"a": 1, "a": 2}\n')
    assert twice is not None
    assert (twice.severity, twice.message) == ("warning", "stream line 1 " + str(twice.got))
    # [DONE] is the only non-JSON data a stream may send, in that case.
    assert stream(b"data: [done]\n") is not None


def test_timeouts_resets_and_the_body_limit_are_whole_findings() -> None:
    message = "no answer within the timeout (10 ms)"
    assert basic.no_timeout(exchange(0, error_kind="timeout")) == Finding(
        "no_timeout", message, expected="a complete answer within target.timeout", got=message
    )
    assert basic.no_connection_error(exchange(0, error_kind="connection_reset")) == Finding(
        "no_connection_error",
        "connection reset after 10 ms",
        expected="an HTTP answer",
        got="connection_reset",
    )
    cut = exchange(0, error_kind="body_too_large", body=b"abc")
    assert basic.body_limit(cut) == Finding(
        "body_limit",
        "answer body longer than target.max_body_bytes: reading stopped after 3 bytes",
        expected="an answer of at most target.max_body_bytes",
        got="more than 3 bytes",
    )
    found = basic.body_limit(exchange(200, error_kind="body_too_large", body=b"abc"))
    assert found is not None
    assert found.message.startswith("HTTP 200 answer body longer")


NAN = b'{"a": NaN}'
PROBLEM = "contains the non-standard token NaN (JSON has no NaN or Infinity)"


def answer(body: bytes, headers: dict[str, str] | None = None) -> Finding | None:
    return basic.strict_json(exchange(200, body=body, headers=headers))


def labelled(shown: str, got: str) -> Finding:
    return Finding(
        "strict_json",
        f"JSON answer with Content-Type {shown}",
        "warning",
        expected="Content-Type: application/json",
        got=f"Content-Type: {got}",
    )


def test_strict_json_findings_whole() -> None:
    nan = Finding("strict_json", f"answer {PROBLEM}", "error", expected="strict JSON", got=PROBLEM)
    assert answer(NAN) == nan
    dup = answer(b'{"a": 1, "a": 2}')
    assert dup is not None
    assert dup.severity == "warning"
    text = {"content-type": "text/plain"}
    # JSON under another label: a NaN in it is still a wrong number, an error.
    assert answer(b'  {"a": NaN}', text) == nan
    assert answer(b'{"a": 1, "a": 2}', text) == labelled("'text/plain'", "text/plain")
    assert answer(b"[1, 2]", text) == labelled("'text/plain'", "text/plain")
    assert answer(b'"a string"', text) == labelled("'text/plain'", "text/plain")
    assert answer(b'{"a": 1}', {}) == labelled("missing", "(none)")
    # Not JSON at all: response_shape's business.
    assert answer(b"hello NaN", text) is None


def test_strict_json_reads_answers_up_to_its_size_limit() -> None:
    limit = MAX_STRICT_BYTES
    at_limit = b'{"a": NaN, "b": "' + b"x" * (limit - 19) + b'"}'
    assert len(at_limit) == limit
    assert answer(at_limit) is not None
    assert answer(at_limit[:-2] + b'x"}') is None
