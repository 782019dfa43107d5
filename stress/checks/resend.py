"""Re-sending inputs alone after the load, one request at a time, with the run's checks.

Used by the group checks: flakiness (is a failure deterministic, flaky or load-only?) and
degradation (did an answer change because of load, or does the endpoint answer differently
every time?). The bytes sent are exactly the load's: the adapter builds them from the corpus.
This runs in the parent process through its one sender (stress.sender), never with Locust.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from stress.checks.judge import judge
from stress.checks.request import CheckSuite
from stress.inputs.corpus import Input
from stress.record import kept_output
from stress.sender import Sender
from stress.targets.base import Adapter, HttpRequest


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
    sender: Sender,
    adapter: Adapter,
    suite: CheckSuite,
    work: Sequence[tuple[str, Input, int]],
    *,
    deadline: float,
) -> Iterator[Resend]:
    """Send each (purpose, input, attempts) job's input ``attempts`` times, one at a time.

    Stops when the monotonic clock passes ``deadline``, so a slow or dead target cannot hold
    the run: at most ``sum(attempts)`` requests, each bounded by ``sender`` (stress.sender:
    target.timeout, target.max_body_bytes, target.stall_timeout, as the load reads them) and
    judged by the one judgement (stress.checks.judge) with the scenario's CheckSuite.
    """
    for purpose, item, attempts in work:
        request = adapter.request(item)
        for attempt in range(1, attempts + 1):
            if time.monotonic() >= deadline:
                return
            yield _send_one(sender, adapter, suite, purpose, item, request, attempt)


def _send_one(
    sender: Sender,
    adapter: Adapter,
    suite: CheckSuite,
    purpose: str,
    item: Input,
    request: HttpRequest,
    attempt: int,
) -> Resend:
    reply = sender.send(request.method, request.path, request.headers, request.body)
    verdict = judge(
        adapter,
        suite,
        reply,
        expect=item.expect,
        latency_ms=reply.latency_ms,
        item=item,
        request=request,
    )
    outcome = verdict.outcome
    output = outcome.output
    return Resend(
        purpose=purpose,
        input_id=item.id,
        attempt=attempt,
        status=reply.status,
        error_kind=verdict.error_kind,
        latency_ms=round(reply.latency_ms, 3),
        findings=[(f.check, f.severity) for f in verdict.findings],
        output_text=kept_output(outcome.text, outcome.prediction),
        output_chars=None if output is None else len(output),
        output_digest=outcome.digest(),
    )
