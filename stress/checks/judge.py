"""One judgement of one answer, wherever it was received.

The load process (each answer under load), the group checks' re-sends, replay, shrink (its
"same failure" test), the regression corpus and the preflight all call ``judge``: the same
answer gets the same error kind and the same findings, with the scenario's severities,
whoever sent the request. Only the exported reproducers carry a copy of their own
(stress.repro.oracle), held to this one by a test.

What it does, in order: a timeout after the status line is a hang; an answer that came (or
a stream that stalled) is parsed by the protocol's adapter (its events when the reader
decoded them as they came, else the body); its error kind is then the status class or what
the content broke; the scenario's CheckSuite (severity overrides, custom checks, the answer
settings) judges the exchange.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from stress import errorkinds
from stress.checks.exchange import ERROR, INFO, WARNING, Exchange, Finding
from stress.checks.request import CheckSuite
from stress.inputs.corpus import Input
from stress.targets.base import Adapter, HttpRequest, Outcome
from stress.targets.sse import Event


class Received(Protocol):
    """What came back for one request, as any reader of stress gives it (the load engine's
    Answer, httpread.Reply): ``headers`` None or empty when no answer arrived."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str] | None: ...

    @property
    def body(self) -> bytes: ...

    @property
    def error_kind(self) -> str | None: ...

    @property
    def anomaly(self) -> str | None: ...


@dataclass(slots=True)  # not frozen: built per answer (a frozen one costs more)
class Verdict:
    """The judgement of one answer: the protocol's reading, the error kind, the findings
    (with their final severities)."""

    outcome: Outcome
    error_kind: str | None
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """No finding of severity error: the request counts as good."""
        return not self.errors

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR)

    def checks(self, severity: str) -> list[str]:
        return [f.check for f in self.findings if f.severity == severity]

    @property
    def failed_checks(self) -> list[str]:
        return self.checks(ERROR)

    @property
    def warned_checks(self) -> list[str]:
        return self.checks(WARNING)

    @property
    def info_checks(self) -> list[str]:
        return self.checks(INFO)

    def pairs(self) -> set[tuple[str, str]]:
        """Every (check, severity) of the findings."""
        return {(f.check, f.severity) for f in self.findings}


def judge(
    adapter: Adapter,
    suite: CheckSuite,
    answer: Received,
    *,
    expect: str,
    latency_ms: float,
    item: Input | None = None,
    request: HttpRequest | None = None,
    events: Sequence[Event] | None = None,
    marks: list[float] | None = None,
) -> Verdict:
    """Judge one answer to the request ``item`` was sent as (see the module doc).

    ``expect`` is the input's expectation (accept, reject, resist); ``item`` the corpus input
    when it is known (input-dependent checks, such as an injection's canary and custom
    checks, need it); ``events`` the stream's events as a reader decoded them while they
    came (their arrival times give the token timing), else the body is parsed whole.
    ``marks``: a sampled request's clock readings (stress.load.stagetime), to which the end
    of the parse and the end of the checks are added.
    """
    outcome = Outcome()
    error_kind = answer.error_kind
    if error_kind == errorkinds.TIMEOUT and answer.status:
        error_kind = errorkinds.HANG  # the headers came, then the body stalled
    headers = answer.headers
    if error_kind in (None, errorkinds.STREAM_STALL) and headers is not None:
        if events is not None:
            outcome = adapter.parse_events(events)
        else:
            outcome = adapter.parse(answer.status, headers, answer.body)
        outcome.anomaly = answer.anomaly or outcome.anomaly
        error_kind = error_kind or errorkinds.of_answer(
            answer.status, problem=bool(outcome.problem), anomaly=bool(outcome.anomaly)
        )
    if marks is not None:
        marks.append(time.perf_counter())
    exchange = Exchange(
        expect,
        answer.status,
        error_kind,
        outcome,
        latency_ms,
        headers=headers or {},
        body=answer.body,
        item=item,
        settings=suite.settings,
        request=request,
    )
    findings = tuple(suite.run(exchange))
    if marks is not None:
        marks.append(time.perf_counter())
    return Verdict(outcome, error_kind, findings)
