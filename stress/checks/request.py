"""Per-request checks: each looks at one exchange and returns a finding or None, never raises.

A check is a plain function ``(Exchange) -> Finding | None``; the scenario's answer settings
travel in the exchange. The scenario picks checks by name (every built-in one by default,
``default`` plus custom ``module:function`` checks to extend them); the list is passed
explicitly to whoever runs them, there is no global registry. ``CheckSuite`` adds what the
scenario says on top: severity overrides and custom checks.

Which answers each check looks at:

=====================  ========================================================  ========
check                  fires on                                                  default
=====================  ========================================================  ========
not_a_server_error     any 5xx                                                   error
status_expectation     a valid input refused (4xx); an invalid one answered      error
                       with neither 2xx nor 4xx (1xx, 3xx)
accepted_invalid_input a 2xx for an input that must be rejected                  warning
no_timeout             no complete answer within target.timeout (a hang after    error
                       the headers is said so)
no_connection_error    refused, reset, broken HTTP                               error
body_limit             a body longer than target.max_body_bytes (reading         error
                       stopped there: error kind body_too_large)
response_shape         a 2xx the protocol cannot read; a row count mismatch      error
strict_json            a 2xx with NaN/Infinity, duplicate keys, trailing data,   warning
                       or a Content-Type that is not JSON
=====================  ========================================================  ========

Answer checks (stress.checks.answers) and leak checks (stress.checks.leaks) complete the set;
``stress checks`` lists them all with their severity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from stress import errorkinds
from stress.checks import answers, leaks
from stress.checks.exchange import (
    DEFAULT_SETTINGS,
    ERROR,
    INFO,
    SEVERITIES,
    WARNING,
    Exchange,
    Finding,
    Settings,
)
from stress.checks.strict import MAX_STRICT_BYTES, is_json_media_type, media_type, strict_problem
from stress.scenario import DEFAULT_CHECKS, Scenario

__all__ = [
    "CHECKS",
    "DEFAULT_SETTINGS",
    "ERROR",
    "GROUP_CHECKS",
    "INFO",
    "SEVERITIES",
    "WARNING",
    "Check",
    "CheckSuite",
    "Exchange",
    "Finding",
    "Settings",
    "run_checks",
    "select",
]

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
            "strict_json", f"answer {problem}", WARNING, expected="strict JSON", got=problem
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
                WARNING,
                expected="strict JSON in every data: line",
                got=problem,
            )
    return None


Check = Callable[[Exchange], "Finding | None"]

CHECKS: dict[str, Check] = {
    "not_a_server_error": not_a_server_error,
    "no_timeout": no_timeout,
    "no_connection_error": no_connection_error,
    "body_limit": body_limit,
    "response_shape": response_shape,
    "status_expectation": status_expectation,
    "accepted_invalid_input": accepted_invalid_input,
    "strict_json": strict_json,
    "stream_integrity": stream_integrity,
    **answers.CHECKS,
    **leaks.CHECKS,
}

# Checks over groups of answers, judged after the load (stress.checks.groups); they can be
# named in a scenario's checks list and severity map like the per-request ones.
GROUP_CHECKS: dict[str, str] = {
    "degradation": ERROR,
    "invariance": WARNING,
    "flakiness": INFO,
}

# The severity each check's findings have unless the scenario overrides it.
DEFAULT_SEVERITY: dict[str, str] = {
    **dict.fromkeys(CHECKS, ERROR),
    "accepted_invalid_input": WARNING,
    "strict_json": WARNING,
    **answers.DEFAULT_SEVERITY,
    **leaks.DEFAULT_SEVERITY,
    **GROUP_CHECKS,
}

ALL_CHECKS: tuple[str, ...] = (*CHECKS, *GROUP_CHECKS)


def describe() -> list[tuple[str, str, str]]:
    """(name, default severity, one line) for every built-in check, for ``stress checks``."""
    lines = []
    for name in ALL_CHECKS:
        function = CHECKS.get(name)
        doc = (function.__doc__ or "").strip().splitlines() if function is not None else []
        summary = doc[0] if doc else _GROUP_DOCS.get(name, "")
        lines.append((name, DEFAULT_SEVERITY[name], summary))
    return lines


_GROUP_DOCS = {
    "degradation": "answers under load differ from the baseline's for the same input",
    "invariance": "a perturbed input gets a different answer than its seed input",
    "flakiness": "failing inputs re-sent alone afterwards: deterministic, flaky or load-only",
}


def select(names: Sequence[str] | None) -> list[Check]:
    """The per-request checks a scenario asked for (every built-in one when ``names`` is None).

    ``default`` stands for every built-in check; ``module:function`` is a custom check;
    group check names are skipped here (stress.checks.groups runs them).
    """
    if names is None:
        return list(CHECKS.values())
    from stress.checks.custom import custom_check

    chosen: list[Check] = []
    for name in names:
        if name == DEFAULT_CHECKS:
            chosen.extend(check for check in CHECKS.values() if check not in chosen)
        elif ":" in name:
            chosen.append(custom_check(name))
        elif name in CHECKS and CHECKS[name] not in chosen:
            chosen.append(CHECKS[name])
    return chosen


def group_checks(names: Sequence[str] | None) -> list[str]:
    """The group checks a scenario's checks list turns on (all by default)."""
    if names is None or DEFAULT_CHECKS in names:
        return list(GROUP_CHECKS)
    return [name for name in GROUP_CHECKS if name in names]


def run_checks(exchange: Exchange, checks: Sequence[Check]) -> list[Finding]:
    return [finding for check in checks if (finding := check(exchange)) is not None]


class CheckSuite:
    """The per-request checks of one scenario, with its severity overrides and settings."""

    def __init__(
        self,
        checks: Sequence[Check],
        *,
        severity: Mapping[str, str] | None = None,
        settings: Settings = DEFAULT_SETTINGS,
    ) -> None:
        self.checks = list(checks)
        self.severity = dict(severity or {})
        self.settings = settings

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> CheckSuite:
        return cls(
            select(scenario.checks),
            severity={name: str(level) for name, level in scenario.severity.items()},
            settings=Settings.from_scenario(scenario),
        )

    def run(self, exchange: Exchange) -> list[Finding]:
        findings = run_checks(exchange, self.checks)
        if not self.severity:
            return findings
        return [
            replace(finding, severity=self.severity[finding.check])
            if finding.check in self.severity
            else finding
            for finding in findings
        ]


def severity_of(name: str, scenario: Scenario) -> str:
    """The severity of ``name``'s findings in ``scenario`` (its override, else the default)."""
    override = scenario.severity.get(name)
    return str(override) if override is not None else DEFAULT_SEVERITY.get(name, ERROR)
