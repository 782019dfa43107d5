"""Re-sending inputs alone after the load, one request at a time, with the run's checks.

Used by the group checks: flakiness (is a failure deterministic, flaky or load-only?) and
degradation (did an answer change because of load, or does the endpoint answer differently
every time?). The bytes sent are exactly the load's: the adapter builds them from the corpus.
This runs in the parent process with httpx, never with Locust.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from stress import errorkinds, httpread
from stress.checks.request import CheckSuite, Exchange
from stress.inputs.corpus import Input
from stress.record import OUTPUT_TEXT_CHARS
from stress.targets.base import Adapter, HttpRequest, Outcome


@dataclass(frozen=True)
class Resend:
    """One re-sent request: a line of resends.jsonl."""

    purpose: str  # "flakiness" or "degradation"
    input_id: str
    attempt: int
    status: int
    error_kind: str | None
    latency_ms: float
    # (check, severity) of every finding on the answer.
    findings: list[tuple[str, str]] = field(default_factory=list)
    output_text: str | None = None
    output_chars: int | None = None
    output_digest: str | None = None

    def to_json(self) -> dict[str, object]:
        line = asdict(self)
        line["findings"] = [{"check": c, "severity": s} for c, s in self.findings]
        return line

    @classmethod
    def from_json(cls, line: dict[str, Any]) -> Resend | None:
        """A Resend from a resends.jsonl object; None when the line is not one."""
        try:
            raw = line.get("findings") or []
            findings = [(str(f["check"]), str(f["severity"])) for f in raw]
            chars = line.get("output_chars")
            return cls(
                purpose=str(line["purpose"]),
                input_id=str(line["input_id"]),
                attempt=int(line["attempt"]),
                status=int(line["status"]),
                error_kind=_text(line.get("error_kind")),
                latency_ms=float(line["latency_ms"]),
                findings=findings,
                output_text=_text(line.get("output_text")),
                output_chars=chars if isinstance(chars, int) else None,
                output_digest=_text(line.get("output_digest")),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def resend(
    client: httpx.Client,
    adapter: Adapter,
    suite: CheckSuite,
    work: Sequence[tuple[str, Input, int]],
    *,
    deadline: float,
    timeout: float = 10.0,
    max_bytes: int = 16 * 1024 * 1024,
    stall: float | None = None,
) -> Iterator[Resend]:
    """Send each (purpose, input, attempts) job's input ``attempts`` times, one at a time.

    Stops when the monotonic clock passes ``deadline``, so a slow or dead target cannot hold
    the run: at most ``sum(attempts)`` requests, each answer read within ``timeout`` seconds
    and ``max_bytes``, an event stream silent for over ``stall`` seconds ended as a stall
    (stress.httpread, as the load reads them).
    """
    for purpose, item, attempts in work:
        request = adapter.request(item)
        for attempt in range(1, attempts + 1):
            if time.monotonic() >= deadline:
                return
            yield _send_one(
                client, adapter, suite, purpose, item, request, attempt, (timeout, max_bytes, stall)
            )


def _send_one(
    client: httpx.Client,
    adapter: Adapter,
    suite: CheckSuite,
    purpose: str,
    item: Input,
    request: HttpRequest,
    attempt: int,
    bounds: tuple[float, int, float | None],
) -> Resend:
    timeout, max_bytes, stall = bounds
    reply = httpread.send(
        client,
        request.method,
        request.path,
        content=request.body,
        headers=request.headers,
        timeout=timeout,
        max_bytes=max_bytes,
        stall=stall,
    )
    status, error_kind, outcome = reply.status, reply.error_kind, Outcome()
    if error_kind in (None, errorkinds.STREAM_STALL):
        outcome, error_kind = httpread.judge(adapter, reply)
    latency_ms = reply.latency_ms
    exchange = Exchange(
        item.expect,
        status,
        error_kind,
        outcome,
        latency_ms,
        headers=reply.headers,
        body=reply.body,
        item=item,
        settings=suite.settings,
    )
    findings = suite.run(exchange)
    output = outcome.output
    return Resend(
        purpose=purpose,
        input_id=item.id,
        attempt=attempt,
        status=status,
        error_kind=error_kind,
        latency_ms=round(latency_ms, 3),
        findings=[(f.check, f.severity) for f in findings],
        output_text=None if output is None else output[:OUTPUT_TEXT_CHARS],
        output_chars=None if output is None else len(output),
        output_digest=outcome.digest(),
    )
