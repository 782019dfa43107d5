"""Per-request checks: each looks at one exchange and returns findings, never raises.

A check is a plain function ``(Exchange) -> Finding | None``. The scenario picks checks by
name (all by default); the list is passed explicitly to whoever runs them, there is no
global registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stress.targets.base import Outcome

# Error kinds for requests that got no usable HTTP answer.
TIMEOUT = "timeout"
CONNECTION_KINDS = ("connection_refused", "connection_reset", "connection_error", "invalid_http")


@dataclass(frozen=True)
class Finding:
    """A failed check: data, not an exception."""

    check: str
    message: str
    # "error" findings make the request count as failed (error rate, exit code 1);
    # "warning" findings are reported but do not fail the run.
    severity: str = "error"


@dataclass(frozen=True)
class Exchange:
    """What the checks see of one request: the expectation, the status and the outcome."""

    expect: str
    status: int
    error_kind: str | None
    outcome: Outcome
    latency_ms: float


def not_a_server_error(exchange: Exchange) -> Finding | None:
    if exchange.status >= 500:
        return Finding("not_a_server_error", f"server error: HTTP {exchange.status}")
    return None


def no_timeout(exchange: Exchange) -> Finding | None:
    if exchange.error_kind == TIMEOUT:
        message = f"no complete answer within the timeout ({exchange.latency_ms:.0f} ms)"
        return Finding("no_timeout", message)
    return None


def no_connection_error(exchange: Exchange) -> Finding | None:
    if exchange.error_kind in CONNECTION_KINDS:
        message = f"{exchange.error_kind.replace('_', ' ')} after {exchange.latency_ms:.0f} ms"
        return Finding("no_connection_error", message)
    return None


def response_shape(exchange: Exchange) -> Finding | None:
    if 200 <= exchange.status < 300 and exchange.outcome.problem:
        return Finding("response_shape", exchange.outcome.problem)
    return None


def stream_integrity(exchange: Exchange) -> Finding | None:
    """A streamed answer must keep its protocol: well-formed chunks, no error event, a final
    ``data: [DONE]``, and no stall longer than target.stall_timeout."""
    if exchange.outcome.anomaly:
        return Finding("stream_integrity", exchange.outcome.anomaly)
    return None


def status_expectation(exchange: Exchange) -> Finding | None:
    """Valid inputs must be answered (2xx); malformed ones cleanly refused (4xx).

    A refused valid input is an error (users get nothing); an accepted invalid one is a
    warning (the endpoint guessed, which may or may not be harmful).
    """
    status = exchange.status
    if exchange.expect == "accept" and 400 <= status < 500:
        return Finding("status_expectation", f"rejected valid input: HTTP {status}")
    if exchange.expect == "reject" and 200 <= status < 300:
        message = f"accepted invalid input: HTTP {status}"
        return Finding("status_expectation", message, "warning")
    return None


Check = Callable[[Exchange], "Finding | None"]

CHECKS: dict[str, Check] = {
    "not_a_server_error": not_a_server_error,
    "no_timeout": no_timeout,
    "no_connection_error": no_connection_error,
    "response_shape": response_shape,
    "status_expectation": status_expectation,
    "stream_integrity": stream_integrity,
}


def select(names: Sequence[str] | None) -> list[Check]:
    """The checks a scenario asked for (all when ``names`` is None), in a stable order."""
    return [CHECKS[name] for name in (list(CHECKS) if names is None else names)]


def run_checks(exchange: Exchange, checks: Sequence[Check]) -> list[Finding]:
    return [finding for check in checks if (finding := check(exchange)) is not None]
