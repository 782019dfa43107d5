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
status_expectation     a valid input refused (4xx) with no limit named, or one   error
                       it surely fits; an accept_or_refuse input refused
                       without a JSON body; an invalid one answered with
                       neither 2xx nor 4xx (1xx, 3xx); (warning) an
                       accept_or_refuse input answered although surely over a
                       limit the server named
accepted_invalid_input a 2xx for an input that must be rejected                  warning
server_limit           a refusal naming one of the server's limits (recorded     info
                       for the summary's "limits"; stress.checks.limits)
no_timeout             no complete answer within target.timeout (a hang after    error
                       the headers is said so)
no_connection_error    refused, reset, broken HTTP                               error
body_limit             a body longer than target.max_body_bytes (reading         error
                       stopped there: error kind body_too_large)
response_shape         a 2xx the protocol cannot read; a row count mismatch      error
strict_json            a 2xx with duplicate keys, trailing data, or a            warning
                       Content-Type that is not JSON; a NaN/Infinity token is
                       an error (a wrong number, docs/checks.md)
=====================  ========================================================  ========

Answer checks (stress.checks.answers), leak checks (stress.checks.leaks), amplification
(stress.checks.amplify) and runaway generation (stress.checks.runaway) complete the set;
``stress checks`` lists them all with their severity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from stress.checks import amplify, answers, basic, connection, leaks, runaway
from stress.checks.basic import CONNECTION_KINDS, HANG, TIMEOUT
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
from stress.scenario import DEFAULT_CHECKS, Scenario

__all__ = [
    "CHECKS",
    "CONNECTION_KINDS",
    "DEFAULT_SETTINGS",
    "ERROR",
    "GROUP_CHECKS",
    "HANG",
    "INFO",
    "SEVERITIES",
    "TIMEOUT",
    "WARNING",
    "Check",
    "CheckSuite",
    "Exchange",
    "Finding",
    "Settings",
    "run_checks",
    "select",
]

Check = Callable[[Exchange], "Finding | None"]

CHECKS: dict[str, Check] = {
    **basic.CHECKS,
    **answers.CHECKS,
    **leaks.CHECKS,
    **amplify.CHECKS,
    **runaway.CHECKS,
}

# Checks over groups of answers, judged after the load (stress.checks.groups); they can be
# named in a scenario's checks list and severity map like the per-request ones.
GROUP_CHECKS: dict[str, str] = {
    "degradation": ERROR,
    "invariance": WARNING,
    "flakiness": INFO,
    "cost_growth": ERROR,
    "slow_generation": ERROR,
    "health_under_load": ERROR,
    "concurrency_interference": ERROR,
}

# The severity each check's findings have unless the scenario overrides it.
DEFAULT_SEVERITY: dict[str, str] = {
    **dict.fromkeys(CHECKS, ERROR),
    **basic.DEFAULT_SEVERITY,
    **answers.DEFAULT_SEVERITY,
    **leaks.DEFAULT_SEVERITY,
    **amplify.DEFAULT_SEVERITY,
    **runaway.DEFAULT_SEVERITY,
    **GROUP_CHECKS,
    **connection.DEFAULT_SEVERITY,
}

# Charged by the readers, not run on one exchange (stress.checks.connection).
ALL_CHECKS: tuple[str, ...] = (*CHECKS, *GROUP_CHECKS, *connection.DEFAULT_SEVERITY)


def describe() -> list[tuple[str, str, str]]:
    """(name, default severity, what it finds) for every built-in check, for ``stress checks``:
    the first paragraph of its docstring, whole (never cut at a line end)."""
    lines = []
    for name in ALL_CHECKS:
        function = CHECKS.get(name)
        doc = (function.__doc__ or "").strip() if function is not None else ""
        paragraph = doc.split("\n\n", 1)[0] if doc else _GROUP_DOCS.get(name, "")
        summary = " ".join(paragraph.split()).replace("``", "")
        lines.append((name, DEFAULT_SEVERITY[name], summary))
    return lines


_GROUP_DOCS = {
    "degradation": "Answers under load differ from the baseline's for the same input.",
    "invariance": "A perturbed input gets a different answer than its seed input.",
    "flakiness": "Failing inputs re-sent alone afterwards: deterministic, flaky or load-only.",
    "cost_growth": "Latency grows faster than input size (log-log fit per family, exponent).",
    "slow_generation": "An answer far slower than its output tokens explain at its phase's pace.",
    "health_under_load": "The readiness endpoint said ready while requests timed out or stalled.",
    "concurrency_interference": (
        "Two answers to one input in flight together: one cut while the input completes, or "
        "the two differ on an endpoint that does not sample."
    ),
    connection.DROPPED: connection.DESCRIPTION,
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
