"""Record building: what came back for one request (``Answer``) becomes its Record.

Pure: no sockets, no Locust. The plan (stress.load.plan) judges the answer and hands the
verdict here; the reader (stress.load.reader) fills the Answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stress import errorkinds
from stress.checks.request import Finding
from stress.inputs.corpus import Input
from stress.record import Record, kept_output
from stress.secrets import Redactor
from stress.targets import HttpRequest
from stress.targets.base import Outcome
from stress.targets.sse import Event
from stress.targets.timing import token_timing

if TYPE_CHECKING:
    from stress.load.traffic import Ticket


@dataclass
class Answer:
    """What came back for one request, before checks."""

    status: int = 0
    headers: dict[str, str] | None = None
    body: bytes = b""
    error_kind: str | None = None
    first_byte: float | None = None
    # A text/event-stream answer: its events, each timed when its bytes arrived.
    events: list[Event] | None = None
    # What went wrong with the stream while reading it (a stall, bytes that are not UTF-8).
    anomaly: str | None = None


def answer_error_kind(status: int, outcome: Outcome) -> str | None:
    """The error kind of an HTTP answer: its status class, else what its content broke."""
    return errorkinds.of_answer(
        status, problem=bool(outcome.problem), anomaly=bool(outcome.anomaly)
    )


@dataclass(slots=True)  # not frozen: built per request (a frozen one costs more)
class Sent:
    """One request as the plan handed it out and the user sent it."""

    seq: int
    item: Input
    request: HttpRequest
    phase: str
    users: int
    # Wall-clock send time, and the perf_counter times it started and its answer ended.
    sent_at: float
    started: float
    done: float
    ticket: Ticket | None = None


def record_of(
    sent: Sent,
    answer: Answer,
    outcome: Outcome,
    error_kind: str | None,
    findings: list[Finding],
    *,
    worker: int,
    keep_text: bool,
    redactor: Redactor,
) -> Record:
    """The Record of one judged answer. ``keep_text``: a group check compares this input's
    answers, so its text or numbers are kept (scrubbed, capped: record.kept_output)."""
    item, ticket = sent.item, sent.ticket
    latency_ms = (sent.done - sent.started) * 1000
    # Open loop: the user-felt latency runs from when the request was due, not from when a
    # busy tester got round to sending it (no coordinated omission). Checks judge the
    # request itself, by its service time.
    intended_at, total_ms = sent.sent_at, latency_ms
    if ticket is not None and ticket.intended is not None:
        intended_at = ticket.intended_at or sent.sent_at
        total_ms = (sent.done - ticket.intended) * 1000
    output = outcome.output if keep_text else None
    kept = kept_output(outcome.text, outcome.prediction) if keep_text else None
    if findings:
        failed = [f.check for f in findings if f.severity == "error"]
        warned = [f.check for f in findings if f.severity == "warning"]
        info = [f.check for f in findings if f.severity == "info"]
    else:
        failed, warned, info = [], [], []  # the usual answer: no finding at all
    timing = token_timing(
        started=sent.started,
        finished=sent.done,
        token_times=outcome.token_times,
        output_tokens=outcome.output_tokens,
    )
    return Record(
        seq=sent.seq,
        worker=worker,
        input_id=item.id,
        family=item.family,
        expect=item.expect,
        phase=sent.phase,
        users=sent.users,
        sent_at=sent.sent_at,
        latency_ms=total_ms,
        ttft_ms=timing.ttft_ms,
        status=answer.status,
        error_kind=error_kind,
        request_bytes=len(sent.request.body),
        response_bytes=len(answer.body),
        output_tokens=outcome.output_tokens,
        finish_reason=outcome.finish_reason,
        output_digest=outcome.digest(),
        output_excerpt=redactor.scrub_optional(outcome.excerpt()),
        ok=not failed,
        failed_checks=failed,
        warned_checks=warned,
        info_checks=info,
        output_text=None if kept is None else redactor.scrub(kept),
        output_chars=None if output is None else len(output),
        itl_ms=timing.itl_ms,
        tpot_ms=timing.tpot_ms,
        max_token_gap_ms=timing.max_token_gap_ms,
        output_tokens_per_s=timing.output_tokens_per_s,
        tokens_estimated=outcome.tokens_estimated,
        prompt_tokens=outcome.prompt_tokens,
        content_events=len(outcome.token_times) if answer.events is not None else None,
        intended_at=intended_at,
        service_ms=latency_ms,
        offered_rate=None if ticket is None else ticket.offered_rate,
        late=None if ticket is None else ticket.late,
        step=None if ticket is None else ticket.step,
    )
