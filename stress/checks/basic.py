"""The transport, status and shape checks: one exchange in, a finding or None out.

What each fires on is in stress.checks.request's table. This module, like the other check
modules (strict, answers, leaks) and stress.checks.exchange, imports only the standard library
at run time: `stress repro --format python|pytest` copies them into the scripts it writes, so
an exported reproducer judges an answer with these very functions.
"""

from __future__ import annotations

from stress import errorkinds
from stress.checks.exchange import ERROR, WARNING, Exchange, Finding
from stress.checks.strict import (
    MAX_STRICT_BYTES,
    is_json_media_type,
    media_type,
    severity,
    strict_problem,
)

# Error kinds for requests that got no usable HTTP answer. A hang is a timeout after the
# status line and headers arrived: the body stalled.
TIMEOUT = errorkinds.TIMEOUT
HANG = errorkinds.HANG
CONNECTION_KINDS = errorkinds.CONNECTION_KINDS


def not_a_server_error(exchange: Exchange) -> Finding | None:
    """Any 5xx, whatever the input."""
    if exchange.status >= 500:
        return Finding(
            "not_a_server_error",
            f"server error: HTTP {exchange.status}",
            expected="no 5xx, whatever the input",
            got=f"HTTP {exchange.status}",
        )
    return None


def no_timeout(exchange: Exchange) -> Finding | None:
    """No complete answer within target.timeout; a body that stalls after the headers is a hang."""
    if exchange.error_kind not in (TIMEOUT, HANG):
        return None
    if exchange.status or exchange.error_kind == HANG:
        # The status line arrived, then the body stalled: a hang, not a slow start.
        message = (
            f"hang: HTTP {exchange.status} headers arrived but the body did not complete "
            f"within the timeout ({exchange.latency_ms:.0f} ms)"
        )
    else:
        message = f"no answer within the timeout ({exchange.latency_ms:.0f} ms)"
    return Finding(
        "no_timeout", message, expected="a complete answer within target.timeout", got=message
    )


def no_connection_error(exchange: Exchange) -> Finding | None:
    """Connection refused, reset, or an answer that is not HTTP."""
    if exchange.error_kind in CONNECTION_KINDS:
        message = f"{exchange.error_kind.replace('_', ' ')} after {exchange.latency_ms:.0f} ms"
        return Finding(
            "no_connection_error", message, expected="an HTTP answer", got=exchange.error_kind
        )
    return None


def body_limit(exchange: Exchange) -> Finding | None:
    """An answer longer than target.max_body_bytes: the tester stopped reading it."""
    if exchange.error_kind != errorkinds.BODY_TOO_LARGE:
        return None
    read = len(exchange.body)
    status = f"HTTP {exchange.status} " if exchange.status else ""
    return Finding(
        "body_limit",
        f"{status}answer body longer than target.max_body_bytes: reading stopped after "
        f"{read} bytes",
        expected="an answer of at most target.max_body_bytes",
        got=f"more than {read} bytes",
    )


def response_shape(exchange: Exchange) -> Finding | None:
    """The protocol's schema: the adapter's problem, and one prediction per row sent."""
    if not exchange.answered:
        return None
    if exchange.outcome.problem:
        return Finding(
            "response_shape",
            exchange.outcome.problem,
            expected=f"a {exchange.settings.protocol or 'protocol'} answer",
            got=exchange.outcome.problem,
        )
    rows = exchange.payload().get("rows")
    prediction = exchange.outcome.prediction
    if (
        exchange.item is not None
        and exchange.item.kind == "rows"
        and isinstance(rows, list)
        and isinstance(prediction, list)
        and prediction  # no predictions at all is empty_answer's finding
        and len(prediction) != len(rows)
    ):
        return Finding(
            "response_shape",
            f"{len(prediction)} predictions for {len(rows)} rows",
            expected=f"{len(rows)} predictions, one per row",
            got=f"{len(prediction)} predictions",
        )
    return None


def stream_integrity(exchange: Exchange) -> Finding | None:
    """A streamed answer must keep its protocol: well-formed chunks, no error event, a final
    ``data: [DONE]``, and no stall longer than target.stall_timeout."""
    if exchange.outcome.anomaly:
        return Finding("stream_integrity", exchange.outcome.anomaly)
    return None


def status_expectation(exchange: Exchange) -> Finding | None:
    """Valid inputs must be answered (2xx); malformed ones cleanly refused (4xx).

    A refused valid input is an error (users get nothing). A 2xx for an invalid input is
    ``accepted_invalid_input``'s business; a 5xx is ``not_a_server_error``'s. Inputs that
    must resist (injection probes) may be answered or refused.
    """
    status = exchange.status
    if not status or status >= 500 or exchange.error_kind in (TIMEOUT, HANG):
        return None
    if exchange.expect == "accept" and 400 <= status < 500:
        return Finding(
            "status_expectation",
            f"rejected valid input: HTTP {status}",
            expected="2xx (the input family is valid)",
            got=f"HTTP {status}",
        )
    if exchange.expect == "reject" and not (200 <= status < 300 or 400 <= status < 500):
        return Finding(
            "status_expectation",
            f"malformed input got HTTP {status}, not a clean 4xx",
            expected="4xx (the input is malformed)",
            got=f"HTTP {status}",
        )
    return None


def accepted_invalid_input(exchange: Exchange) -> Finding | None:
    """A 2xx for malformed input: the endpoint guessed, which may or may not be harmful."""
    if exchange.expect == "reject" and 200 <= exchange.status < 300:
        return Finding(
            "accepted_invalid_input",
            f"accepted invalid input: HTTP {exchange.status}",
            WARNING,
            expected="4xx (the input is malformed)",
            got=f"HTTP {exchange.status}",
        )
    return None


def strict_json(exchange: Exchange) -> Finding | None:
    """A 2xx JSON answer must be strict RFC 8259 JSON, labelled as JSON."""
    if not exchange.answered or not exchange.body or len(exchange.body) > MAX_STRICT_BYTES:
        return None
    media = media_type(exchange.headers)
    if media == "text/event-stream":
        return _strict_stream(exchange.body)
    problem = strict_problem(exchange.body)
    json_like = is_json_media_type(media) or exchange.body.lstrip()[:1] in (b"{", b"[")
    if problem is not None and json_like and severity(problem) == ERROR:
        # A NaN or Infinity is a wrong number first, whatever the label says.
        return Finding(
            "strict_json", f"answer {problem}", ERROR, expected="strict JSON", got=problem
        )
    if not is_json_media_type(media):
        if problem is not None and exchange.body.lstrip()[:1] not in (b"{", b"["):
            return None  # not JSON at all: response_shape reports what the protocol wanted
        shown = repr(media) if media else "missing"
        return Finding(
            "strict_json",
            f"JSON answer with Content-Type {shown}",
            WARNING,
            expected="Content-Type: application/json",
            got=f"Content-Type: {media or '(none)'}",
        )
    if problem is not None:
        return Finding(
            "strict_json",
            f"answer {problem}",
            severity(problem),
            expected="strict JSON",
            got=problem,
        )
    return None


def _strict_stream(body: bytes) -> Finding | None:
    for number, line in enumerate(body.split(b"\n"), 1):
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]" or not data:
            continue
        problem = strict_problem(data)
        if problem is not None:
            return Finding(
                "strict_json",
                f"stream line {number} {problem}",
                severity(problem),
                expected="strict JSON in every data: line",
                got=problem,
            )
    return None


CHECKS = {
    "not_a_server_error": not_a_server_error,
    "no_timeout": no_timeout,
    "no_connection_error": no_connection_error,
    "body_limit": body_limit,
    "response_shape": response_shape,
    "status_expectation": status_expectation,
    "accepted_invalid_input": accepted_invalid_input,
    "strict_json": strict_json,
    "stream_integrity": stream_integrity,
}
