"""The events the load process tells its parent, one JSON line each on its stdout.

Both sides use these types: the load process (driver, fleet, engine) builds them and
``line`` writes them; ``stress.runner`` reads each line back with ``parse`` and the console
shows it by its fields. A line is ``{"event": NAME, **fields}``. This module imports nothing
of stress, so either side may import it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar


@dataclass(frozen=True)
class LoadEvent:
    """One event; ``EVENT`` is its "event" value on the wire."""

    EVENT: ClassVar[str] = ""

    def fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def as_dict(self) -> dict[str, Any]:
        """The event as the parent's handlers take it: ``{"event": NAME, **fields}``."""
        return {"event": self.EVENT, **self.fields()}


@dataclass(frozen=True)
class Phase(LoadEvent):
    """A phase began: its users (closed loop) or rate (open loop), its length, and the SLO
    limits it is judged by (none for a limit the scenario does not set; lines written before
    these fields existed read back with none)."""

    EVENT: ClassVar[str] = "phase"
    name: str
    kind: str
    users: int | None
    rate: float | None
    max_in_flight: int | None
    duration_s: float | None
    at: float
    error_rate_limit: float | None = None
    p95_limit_ms: float | None = None


@dataclass(frozen=True)
class Step(LoadEvent):
    """A step of a step or sweep phase began."""

    EVENT: ClassVar[str] = "step"
    phase: str
    step: int
    users: int | None
    rate: float | None
    duration_s: float


@dataclass(frozen=True)
class Progress(LoadEvent):
    """About once a second: what the load is doing now.

    ``requests`` and ``errors`` count the whole run; ``phase_requests`` and ``phase_errors``
    the current phase; ``checks`` and ``families`` are the most frequent failing checks and
    the families of the failed requests so far, most first. The ``phase_*`` figures count the
    current phase since it began, in full (`stress run --metrics-port` serves them): its
    latency histogram (counts per bucket of stress.load.collect.LATENCY_BUCKETS_MS, then
    above the last) and sum, errors by kind ("check": answered, failed a check), failing
    checks and the families of failed requests. The fields with defaults came later: older
    lines read back with them empty."""

    EVENT: ClassVar[str] = "progress"
    phase: str
    step: int | None
    users: int | None
    rate: float | None
    requests: int
    late: int
    unsent: int
    rps: float
    p95_ms: float | None
    errors: int
    p50_ms: float | None = None
    phase_requests: int | None = None
    phase_errors: int | None = None
    checks: dict[str, int] = field(default_factory=dict)
    families: dict[str, int] = field(default_factory=dict)
    phase_latency_buckets: list[int] = field(default_factory=list)
    phase_latency_sum_ms: float = 0.0
    phase_error_kinds: dict[str, int] = field(default_factory=dict)
    phase_checks: dict[str, int] = field(default_factory=dict)
    phase_families: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StepResult(LoadEvent):
    """A sweep step's verdict (stress.checks.sweep.StepResult's figures)."""

    EVENT: ClassVar[str] = "step_result"
    phase: str
    step: int
    offered_rps: float | None
    users: int | None
    duration_s: float
    requests: int
    achieved_rps: float
    p50: float | None
    p95: float | None
    p99: float | None
    goodput: float | None
    error_rate: float | None
    late: int
    unsent: int
    passed: bool
    reasons: list[str]


@dataclass(frozen=True)
class Limit(LoadEvent):
    """The load stopped early (a limit, a signal, every worker lost)."""

    EVENT: ClassVar[str] = "limit"
    reason: str


@dataclass(frozen=True)
class Tester(LoadEvent):
    """A load process is saturated: its CPU and its timers' lag."""

    EVENT: ClassVar[str] = "tester"
    process: str
    cpu: float
    lag_ms: float


@dataclass(frozen=True)
class Workers(LoadEvent):
    """The master waits for workers on ``bind``."""

    EVENT: ClassVar[str] = "workers"
    bind: str
    local: int
    expect: int


@dataclass(frozen=True)
class Worker(LoadEvent):
    """A worker joined."""

    EVENT: ClassVar[str] = "worker"
    number: int
    host: str | None
    pid: int | None
    state: str


@dataclass(frozen=True)
class WorkerLost(LoadEvent):
    """A worker stopped answering; its records so far are kept."""

    EVENT: ClassVar[str] = "worker_lost"
    number: int
    host: str | None
    pid: int | None
    reason: str
    records: int


@dataclass(frozen=True)
class Done(LoadEvent):
    """The load ended; every record is written."""

    EVENT: ClassVar[str] = "done"
    requests: int
    errors: int
    records: int
    failures: int
    duration_s: float


@dataclass(frozen=True)
class Error(LoadEvent):
    """The load process could not run (the workers did not all join)."""

    EVENT: ClassVar[str] = "error"
    message: str


KINDS: dict[str, type[LoadEvent]] = {
    kind.EVENT: kind
    for kind in (
        Phase,
        Step,
        Progress,
        StepResult,
        Limit,
        Tester,
        Workers,
        Worker,
        WorkerLost,
        Done,
        Error,
    )
}


class BadEvent(ValueError):
    """A line that is not one of the events above (its name or fields are wrong)."""


def line(event: LoadEvent) -> str:
    """The JSON line of ``event`` (no newline)."""
    return json.dumps(event.as_dict())


def write(event: LoadEvent, stream: IO[str] | None = None) -> None:
    """Write ``event`` as one line and flush (default: stdout, to the parent)."""
    out = sys.stdout if stream is None else stream
    out.write(line(event) + "\n")
    out.flush()


def from_dict(document: dict[str, Any]) -> LoadEvent:
    """The typed event of a ``{"event": NAME, **fields}`` mapping; BadEvent if it is none."""
    fields = dict(document)
    kind = KINDS.get(str(fields.pop("event", "")))
    if kind is None:
        raise BadEvent(f"unknown load event {document.get('event')!r}")
    try:
        return kind(**fields)
    except TypeError as exc:
        raise BadEvent(f"load event {kind.EVENT!r}: {exc}") from None


def parse(text: str) -> LoadEvent:
    """The event on one line the load process wrote; BadEvent if it is not one."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadEvent(f"not a JSON line: {exc}") from None
    if not isinstance(document, dict):
        raise BadEvent("not a JSON object")
    return from_dict(document)
