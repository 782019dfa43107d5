"""The transport, status and shape checks: one exchange in, a finding or None out.

What each fires on is in stress.checks.request's table. This module, like the other check
modules (strict, answers, leaks) and stress.checks.exchange, imports only the standard library
at run time: `stress repro --format python|pytest` copies them into the scripts it writes, so
an exported reproducer judges an answer with these very functions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from stress import errorkinds
from stress.checks import limits
from stress.checks.exchange import ERROR, INFO, WARNING, Exchange, Finding
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
    """Any 5xx, whatever the input; but a 501 to a request in a method the endpoint does not
    serve is RFC 9110's answer for an unsupported method (a bare HTTP server sends it), and a
    501 to a chunked body RFC 9112's for a transfer coding the server does not implement."""
    if exchange.status == 501 and _not_implemented(exchange.payload()):
        return None
    if exchange.status >= 500:
        return Finding(
            "not_a_server_error",
            f"server error: HTTP {exchange.status}",
            expected="no 5xx, whatever the input",
            got=f"HTTP {exchange.status}",
        )
    return None


def _not_implemented(payload: Mapping[str, Any]) -> bool:
    return "method" in payload or "chunked" in payload


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
    wanted, got = _choices(exchange)
    if wanted is not None and got is not None and got != wanted:
        return Finding(
            "response_shape",
            f"{got} choices for n: {wanted}",
            expected=f"{wanted} choices (the request asked n: {wanted})",
            got=f"{got} choices",
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


def _choices(exchange: Exchange) -> tuple[int | None, int | None]:
    """OpenAI chat and completions: the ``n`` a request asked for and the choices answered
    (a stream's choices are the distinct indexes of its chunks); None, None when it did not
    ask for choices or the answer cannot be read."""
    if exchange.settings.protocol not in ("openai-chat", "openai-completions"):
        return None, None
    if exchange.request is None or b'"n"' not in exchange.request.body:
        return None, None
    try:
        sent = json.loads(exchange.request.body)
        if not isinstance(sent, dict):
            return None, None
        wanted = sent.get("n")
        if type(wanted) is not int or wanted < 1:
            return None, None
        if sent.get("stream"):
            indexes = _stream_choice_indexes(exchange.body)
            return (wanted, len(indexes)) if indexes is not None else (None, None)
        answer = json.loads(exchange.body)
    except (ValueError, UnicodeDecodeError):
        return None, None
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list):
        return None, None
    return wanted, len(choices)


def _stream_choice_indexes(body: bytes) -> set[int] | None:
    """The choice indexes an event stream's chunks carry (None: no chunk could be read)."""
    indexes: set[int] = set()
    chunks = 0
    for line in body.decode("utf-8").splitlines():
        if not line.startswith("data:") or line[5:].strip() == "[DONE]":
            continue
        chunk = json.loads(line[5:])
        chunks += 1
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, dict) and type(choice.get("index")) is int:
                indexes.add(choice["index"])
    return indexes if chunks else None


def stream_integrity(exchange: Exchange) -> Finding | None:
    """A streamed answer must keep its protocol: well-formed chunks, no error event, a final
    ``data: [DONE]``, and no stall longer than target.stall_timeout."""
    if exchange.outcome.anomaly:
        return Finding("stream_integrity", exchange.outcome.anomaly)
    return None


ACCEPT_OR_REFUSE = "accept_or_refuse"


def named_limit(exchange: Exchange) -> limits.Limit | None:
    """The limit a refusal names, its number filled in from the run's known limits (and
    learned by them when it names one)."""
    found = limits.parse(exchange.status, exchange.body)
    book = exchange.settings.limits
    if found is None or book is None:
        return found
    return book.learn(found)


def size_of(exchange: Exchange) -> limits.Size:
    body = exchange.request.body if exchange.request is not None else None
    return limits.Size.of(body, exchange.payload())


def machine_readable(body: bytes) -> bool:
    """A refusal a client can act on: a JSON object or list (an error code, a message)."""
    try:
        document = json.loads(body[:MAX_STRICT_BYTES]) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(document, (dict, list)) and bool(document)


# Refusals the HTTP layer gives before the application sees the request: a body or URI too
# large, header fields too large; nginx, uvicorn and http.server answer them in HTML or text.
HTTP_LAYER_STATUSES = frozenset({413, 414, 431})


def http_layer(exchange: Exchange) -> bool:
    """A refusal that need not be JSON: by the HTTP layer (413, 414, 431), or of an input
    bent at the HTTP level (its own headers or method: the encoding.* HTTP families)."""
    if exchange.status in HTTP_LAYER_STATUSES:
        return True
    payload = exchange.payload()
    return "headers" in payload or "method" in payload


def status_expectation(exchange: Exchange) -> Finding | None:
    """Valid inputs answered 2xx, malformed ones refused 4xx, accept_or_refuse ones either.

    An accept_or_refuse input (one a careful server may take or refuse) is answered, or refused
    cleanly: a 4xx with a machine-readable (JSON) body (any body for refusals by the HTTP
    layer: ``http_layer``). A refused valid input is an error (users
    get nothing), unless the refusal names a limit the input is not surely within
    (stress.checks.limits): then it is judged as an accept_or_refuse input. A refusal naming a
    limit the input surely fits is an error for either. A 2xx for an invalid input is
    ``accepted_invalid_input``'s business; a 5xx is ``not_a_server_error``'s. Inputs that must
    resist (injection probes) may be answered or refused.
    """
    status = exchange.status
    if not status or status >= 500 or exchange.error_kind in (TIMEOUT, HANG):
        return None
    expect = exchange.expect
    if expect in ("accept", ACCEPT_OR_REFUSE) and 400 <= status < 500:
        limit = named_limit(exchange)
        if limit is not None and limit.relation(size_of(exchange)) == limits.UNDER:
            return Finding(
                "status_expectation",
                f"refused an input within its own stated limit ({limit.describe()}): HTTP {status}",
                expected=f"2xx for an input within {limit.describe()}",
                got=f"HTTP {status}: {limit.evidence}",
            )
        if expect == "accept" and limit is None:
            return Finding(
                "status_expectation",
                f"rejected valid input: HTTP {status}",
                expected="2xx (the input family is valid)",
                got=f"HTTP {status}",
            )
        if not machine_readable(exchange.body) and not http_layer(exchange):
            shown = media_type(exchange.headers) or "no Content-Type"
            return Finding(
                "status_expectation",
                f"refusal without a machine-readable body: HTTP {status} ({shown})",
                expected="2xx, or a 4xx with a JSON error body",
                got=f"HTTP {status}, {len(exchange.body)} bytes of {shown}",
            )
        return None
    if expect == ACCEPT_OR_REFUSE and 200 <= status < 300 and exchange.settings.limits:
        beyond = exchange.settings.limits.beyond(size_of(exchange))
        if beyond is not None:
            return Finding(
                "status_expectation",
                f"answered an input over its own stated limit ({beyond.describe()}): was it "
                f"cut silently?",
                WARNING,
                expected=f"a refusal beyond {beyond.describe()}",
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


def server_limit(exchange: Exchange) -> Finding | None:
    """A refusal naming one of the server's limits (recorded for the summary's limits).

    An info finding: the refusal itself is status_expectation's to judge."""
    if not 400 <= exchange.status < 500:
        return None
    limit = limits.parse(exchange.status, exchange.body)
    if limit is None:
        return None
    return Finding(
        "server_limit",
        f"the server names its limit: {limit.describe()}",
        INFO,
        expected=None,
        got=limit.evidence,
    )


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


# Checks here whose findings are not errors unless the scenario says so.
DEFAULT_SEVERITY = {"accepted_invalid_input": WARNING, "strict_json": WARNING, "server_limit": INFO}

CHECKS = {
    "not_a_server_error": not_a_server_error,
    "no_timeout": no_timeout,
    "no_connection_error": no_connection_error,
    "body_limit": body_limit,
    "response_shape": response_shape,
    "status_expectation": status_expectation,
    "accepted_invalid_input": accepted_invalid_input,
    "server_limit": server_limit,
    "strict_json": strict_json,
    "stream_integrity": stream_integrity,
}
