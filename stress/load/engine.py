"""The load engine: runs a scenario's phases with Locust in this process and streams records.

This is the only module that imports Locust. Importing Locust monkey-patches the whole process
with gevent, so the engine runs in a process of its own (``python -m stress.load``), started
by stress.run; it reads the run directory (scenario.yaml, corpus.jsonl) and writes records/
and failures.jsonl into it. On stdout it writes one JSON event per line (phase changes,
progress, the end) for the parent process to display; it never talks to the terminal itself.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import gc
import io
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.socket

# Locust's import monkey-patches the process with gevent. It must come before the project's
# own imports (pyarrow, pydantic, httpx-free code paths), which isort order guarantees here.
import locust
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError
from locust import FastHttpUser, constant, task
from locust.env import Environment
from pyarrow import Table, parquet

from stress import errorkinds
from stress.checks.request import CheckSuite, Exchange, Finding, group_checks
from stress.inputs import corpus as corpus_io
from stress.inputs.corpus import Input
from stress.lifeline import die_with_parent
from stress.load.collect import BATCH_SECONDS, BatchWriter, Collector, FailureSink
from stress.load.driver import Driver, Emit, Fleet
from stress.load.fleet import LocalFleet, MasterFleet, WorkersMissing
from stress.load.traffic import Ticket, Traffic
from stress.load.workers import WorkerAgent
from stress.record import OUTPUT_TEXT_CHARS, SCHEMA, Record, RecordWriter
from stress.rundir import layout
from stress.rundir.read import read_traces
from stress.rundir.write import write_json
from stress.scenario import PhaseKind, Scenario, from_path
from stress.secrets import Redactor
from stress.targets import HttpRequest, adapter_for
from stress.targets.base import Adapter, Outcome
from stress.targets.sse import Event, SseDecoder
from stress.targets.timing import token_timing

# Header names whose values are secrets; they are redacted in every stored failure.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "openai-api-key"}
)
REDACTED = "<redacted>"
# Error kinds of answers whose stream broke; the events that did arrive are still parsed.
STREAM_STALL = errorkinds.STREAM_STALL
INVALID_STREAM = errorkinds.INVALID_STREAM
# Reading an answer stops here unless the scenario says otherwise (target.max_body_bytes): a
# runaway body must not exhaust the tester's memory.
MAX_BODY_BYTES = 16 * 1024 * 1024
# Every status is an answer to read (through the same capped path) and judge: Locust's
# client would otherwise raise on a 4xx/5xx after reading the whole body, unbounded, and
# decoding it as UTF-8 (an error body that is not UTF-8 then lost the request).
ANY_STATUS = frozenset(range(1000))
# The same input failing the same checks again is counted in the records, stored once.
# One noisy check (a version header on every answer) must not crowd out the others, so each
# check gets at most this many of the stored lines.
MAX_LINES_PER_CHECK = 200

# Exit code of a load process whose workers did not all join (stress.run reports it).
WORKERS_MISSING = 3

assert locust.__version__  # the import above is deliberate, not unused


def emit(event: str, **fields: Any) -> None:
    """One event for the parent process, as a JSON line on stdout."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def classify(error: BaseException) -> str:
    """The error kind of a request that got no usable answer."""
    # geventhttpclient wraps the real cause (RetriesExceeded(original=...)); a gevent.Timeout
    # wrapped that way prints as "0.7 seconds", with no "timed out" to recognise it by.
    original = getattr(error, "original", None)
    if isinstance(original, BaseException) and original is not error:
        return classify(original)
    if isinstance(error, gevent.Timeout | socket.timeout | TimeoutError):
        return errorkinds.TIMEOUT
    if isinstance(error, ConnectionRefusedError):
        return errorkinds.CONNECTION_REFUSED
    if isinstance(error, ConnectionResetError | BrokenPipeError | HTTPConnectionClosed):
        return errorkinds.CONNECTION_RESET
    if isinstance(error, HTTPParseError):
        return errorkinds.INVALID_HTTP
    if "timed out" in str(error).lower():
        return errorkinds.TIMEOUT
    return errorkinds.CONNECTION_ERROR


def redact(headers: dict[str, str], redactor: Redactor | None = None) -> dict[str, str]:
    """Secret headers (by name) as <redacted>; any other value with a secret in it scrubbed."""
    scrub = redactor.scrub if redactor else (lambda value: value)
    return {
        name: (REDACTED if name.lower() in SECRET_HEADERS else scrub(value))
        for name, value in headers.items()
    }


def answer_error_kind(status: int, outcome: Outcome) -> str | None:
    """The error kind of an HTTP answer: its status class, else what its content broke."""
    return errorkinds.of_answer(
        status, problem=bool(outcome.problem), anomaly=bool(outcome.anomaly)
    )


def body_fields(body: bytes) -> dict[str, str]:
    """A body for failures.jsonl: UTF-8 text when it is valid UTF-8, else base64."""
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_b64": base64.b64encode(body).decode("ascii")}


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


class FailureLog:
    """Appends one JSON line per distinct failing (input, checks) pair to failures.jsonl.

    Secrets (the values of the scenario's ${ENV_VAR} references) are scrubbed from every
    line; secret headers are stored as <redacted> and restored at replay.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_lines: int,
        max_per_check: int = MAX_LINES_PER_CHECK,
        redactor: Redactor | None = None,
    ) -> None:
        self._handle = path.open("a", encoding="utf-8")
        self._seen: set[tuple[str, tuple[str, ...]]] = set()
        self._max_lines = max_lines
        self._max_per_check = max_per_check
        self._per_check: collections.Counter[str] = collections.Counter()
        self._redactor = redactor or Redactor()
        self.lines = 0

    def add(
        self,
        item: Input,
        record: Record,
        request: HttpRequest,
        answer: Answer,
        findings: list[Finding],
    ) -> None:
        key = (item.id, tuple(finding.check for finding in findings))
        if key in self._seen or self.lines >= self._max_lines:
            return
        if all(self._per_check[f.check] >= self._max_per_check for f in findings):
            return
        self._seen.add(key)
        self._per_check.update({f.check for f in findings})
        first = next((f for f in findings if f.severity == "error"), findings[0])
        scrub = self._redactor.scrub
        line = {
            "input_id": item.id,
            "family": item.family,
            "expect": item.expect,
            "phase": record.phase,
            "seq": record.seq,
            "worker": record.worker,
            "sent_at": record.sent_at,
            "check": first.check,
            "message": scrub(first.message),
            "findings": [
                {
                    "check": f.check,
                    "message": scrub(f.message),
                    "severity": f.severity,
                    "expected": None if f.expected is None else scrub(f.expected),
                    "got": None if f.got is None else scrub(f.got),
                }
                for f in findings
            ],
            "request": {
                "method": request.method,
                "path": scrub(request.path),
                "headers": redact(request.headers, self._redactor),
                **body_fields(request.body),
            },
            "response": {
                "status": answer.status,
                "error_kind": answer.error_kind,
                "latency_ms": round(record.latency_ms, 3),
                "body_excerpt": scrub(answer.body[:2048].decode("utf-8", "replace")),
            },
        }
        self._write(line)
        self.lines += 1

    def _write(self, line: dict[str, Any]) -> None:
        self._handle.write(json.dumps(line, ensure_ascii=True) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class ShippedFailureLog(FailureLog):
    """A worker's failures: kept for the next batch to the master instead of written."""

    def __init__(self, path: Path, *, max_lines: int, redactor: Redactor | None = None) -> None:
        super().__init__(path, max_lines=max_lines, redactor=redactor)
        self.pending: list[dict[str, Any]] = []

    def _write(self, line: dict[str, Any]) -> None:
        self.pending.append(line)


class Plan:
    """Shared state of one load process: what to send next, the phase, where records go."""

    def __init__(
        self,
        scenario: Scenario,
        inputs: list[Input],
        adapter: Adapter,
        run_dir: Path,
        *,
        worker: int = 0,
        logged: Sequence[Input] = (),
    ) -> None:
        self.scenario = scenario
        self.adapter = adapter
        # Requests are built once, before the load: no generation or encoding on the hot path.
        self.items = [(item, adapter.request(item)) for item in inputs]
        # A trace with inputs: logged sends log entry i at its arrival i: realistic.logged
        # input i (the whole corpus's, whatever slice of it this worker cycles through).
        self.logged = {int(item.origin["index"]): (item, adapter.request(item)) for item in logged}
        self.suite = CheckSuite.from_scenario(scenario)
        self.checks = self.suite.checks
        self.timeout = scenario.target.timeout
        self.stall = scenario.target.stall_timeout
        self.max_body_bytes = scenario.target.max_body_bytes
        self.redactor = Redactor(scenario.target.secrets())
        # Locust's statistics (and its log lines) name requests by path: never with a secret.
        self.names = {
            request.path: self.redactor.scrub(request.path)
            for _, request in [*self.items, *self.logged.values()]
        }
        self.max_requests = scenario.load.max_requests
        self.worker = worker
        self.phase = scenario.load.phases[0].name
        self.users = 0
        self.seq = 0
        self.cursor = 0
        self.writer: BatchWriter = RecordWriter(layout.records(run_dir), prefix=f"w{worker}")
        self.failures = FailureLog(layout.failures(run_dir), max_lines=2000, redactor=self.redactor)
        self.errors = 0
        # Set by SIGINT/SIGTERM: stop the load, keep every record written so far.
        self.stopping = False
        # Set when the load ends: no new requests; the ones in flight finish and are recorded.
        self.started = time.monotonic()
        # Degradation: every phase after the baseline starts by re-sending, in order, the
        # inputs the baseline sent, so their answers under load can be compared.
        self.baseline = scenario.degradation.baseline or scenario.load.phases[0].name
        self._baseline_sent: dict[int, None] = {}  # indices, in send order
        self._queue_phase = self.phase
        self._queue: collections.deque[int] = collections.deque()
        self._replay = scenario.degradation.enabled and "degradation" in group_checks(
            scenario.checks
        )
        # Answers a group check compares keep their full text in the records.
        self.keep_text = _compared_ids(inputs)

    @property
    def exhausted(self) -> bool:
        return self.seq >= self.max_requests

    def next(self, entry: int | None = None) -> tuple[int, Input, HttpRequest] | None:
        """The next request to send: log entry ``entry``'s (an arrival of a trace with
        inputs: logged), else the degradation re-sends, else the corpus in order."""
        if self.exhausted:
            return None
        if self.phase != self._queue_phase:
            self._queue_phase = self.phase
            if self._replay and self.phase != self.baseline:
                self._queue = collections.deque(self._baseline_sent)
        if entry is not None:
            item, request = self.logged[entry]
            if self.phase == self.baseline:
                self.keep_text.add(item.id)
            self.seq += 1
            return self.seq, item, request
        if self._queue:
            index = self._queue.popleft()
        else:
            index = self.cursor
            self.cursor = (self.cursor + 1) % len(self.items)
        if self.phase == self.baseline and index not in self._baseline_sent:
            self._baseline_sent[index] = None
            self.keep_text.add(self.items[index][0].id)
        item, request = self.items[index]
        self.seq += 1
        return self.seq, item, request

    def finish(
        self,
        seq: int,
        item: Input,
        request: HttpRequest,
        sent_at: float,
        started: float,
        answer: Answer,
        users: int,
        phase: str,
        *,
        ticket: Ticket | None = None,
    ) -> None:
        done = time.perf_counter()
        latency_ms = (done - started) * 1000
        # Open loop: the user-felt latency runs from when the request was due, not from when
        # a busy tester got round to sending it (no coordinated omission). Checks judge the
        # request itself, by its service time.
        intended_at, total_ms = sent_at, latency_ms
        if ticket is not None and ticket.intended is not None:
            intended_at = ticket.intended_at or sent_at
            total_ms = (done - ticket.intended) * 1000
        outcome = Outcome()
        error_kind = answer.error_kind
        if error_kind == errorkinds.TIMEOUT and answer.status:
            error_kind = errorkinds.HANG  # the headers came, then the body stalled
        if error_kind in (None, STREAM_STALL) and answer.headers is not None:
            if answer.events is not None:
                outcome = self.adapter.parse_events(answer.events)
            else:
                outcome = self.adapter.parse(answer.status, answer.headers, answer.body)
            outcome.anomaly = answer.anomaly or outcome.anomaly
            error_kind = error_kind or answer_error_kind(answer.status, outcome)
        exchange = Exchange(
            item.expect,
            answer.status,
            error_kind,
            outcome,
            latency_ms,
            headers=answer.headers or {},
            body=answer.body,
            item=item,
            settings=self.suite.settings,
        )
        findings = self.suite.run(exchange)
        ok = not any(finding.severity == "error" for finding in findings)
        output = outcome.output if item.id in self.keep_text else None
        timing = token_timing(
            started=started,
            finished=done,
            token_times=outcome.token_times,
            output_tokens=outcome.output_tokens,
        )
        redactor = self.redactor
        record = Record(
            seq=seq,
            worker=self.worker,
            input_id=item.id,
            family=item.family,
            expect=item.expect,
            phase=phase,
            users=users,
            sent_at=sent_at,
            latency_ms=total_ms,
            ttft_ms=timing.ttft_ms,
            status=answer.status,
            error_kind=error_kind,
            request_bytes=len(request.body),
            response_bytes=len(answer.body),
            output_tokens=outcome.output_tokens,
            finish_reason=outcome.finish_reason,
            output_digest=outcome.digest(),
            output_excerpt=redactor.scrub_optional(outcome.excerpt()),
            ok=ok,
            failed_checks=[f.check for f in findings if f.severity == "error"],
            warned_checks=[f.check for f in findings if f.severity == "warning"],
            info_checks=[f.check for f in findings if f.severity == "info"],
            output_text=None if output is None else redactor.scrub(output[:OUTPUT_TEXT_CHARS]),
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
        self.writer.add(record)
        if findings:
            answer.error_kind = error_kind
            self.failures.add(item, record, request, answer, findings)
        if not ok:
            self.errors += 1


def _compared_ids(inputs: list[Input]) -> set[str]:
    """Ids of perturbed inputs and of their seeds (payload "seed"): invariance compares them."""
    ids: set[str] = set()
    for item in inputs:
        seed = item.payload.get("seed") if isinstance(item.payload, dict) else None
        if isinstance(seed, str):
            ids.update((item.id, seed))
    return ids


def arrived(raw: Any) -> bytes:
    """The body bytes that have arrived, waiting for at least one; b"" when the body ended.

    geventhttpclient's public ``read(n)`` waits for n bytes (or the end), which would hold a
    whole stream back; its ``readline`` cannot be bounded in size. So this does what both do
    inside, one socket read at a time: ``recv`` into the parser, take what it decoded
    (chunked transfer coding removed). tests/integration/test_streaming.py pins the timing.
    """
    while True:
        buffered = raw._body_buffer
        if buffered:
            data = bytes(buffered)
            del buffered[:]
            return data
        if raw.message_complete:
            return b""
        sock = raw._sock
        if sock is None:
            raise HTTPConnectionClosed("the connection closed in the middle of the answer")
        try:
            chunk = sock.recv(raw.block_size)
            raw.feed(chunk)
        except BaseException:
            raw.release()
            raise
        if not chunk and not raw.message_complete:
            raw.release()
            raise HTTPConnectionClosed("the connection closed in the middle of the answer")


def read_stream(
    raw: Any, answer: Answer, stall: float | None, max_bytes: int = MAX_BODY_BYTES
) -> None:
    """Read a text/event-stream answer, timing each event as its bytes arrive.

    A gap with no bytes longer than ``stall`` seconds ends the request (error kind
    stream_stall); the events before it are kept. More than ``max_bytes`` ends it too
    (body_too_large).
    """
    decoder = SseDecoder()
    chunks: list[bytes] = []
    size = 0
    while True:
        if stall is None:
            data: bytes | None = arrived(raw)
        else:
            data = None
            with gevent.Timeout(stall, False):
                data = arrived(raw)
            if data is None:
                raw.release()
                answer.error_kind = STREAM_STALL
                answer.anomaly = (
                    f"stream stalled: no bytes for {stall:g} s (target.stall_timeout) after "
                    f"{len(decoder.events)} events"
                )
                break
        now = time.perf_counter()
        if not data:
            break
        if answer.first_byte is None:
            answer.first_byte = now
        if size + len(data) > max_bytes:
            chunks.append(data[: max_bytes - size])
            raw.release()
            answer.error_kind = errorkinds.BODY_TOO_LARGE
            break
        chunks.append(data)
        size += len(data)
        decoder.feed(data, now)
    decoder.close(time.perf_counter())
    answer.body = b"".join(chunks)
    answer.events = decoder.events
    if decoder.problem and answer.anomaly is None:
        answer.anomaly = decoder.problem


def fetch(
    client: Any,
    request: HttpRequest,
    timeout: float,
    *,
    stall: float | None = None,
    name: str | None = None,
    max_bytes: int = MAX_BODY_BYTES,
) -> Answer:
    """Send one request and read the whole answer within ``timeout``, whatever its status.

    An event stream is read event by event as it arrives (``read_stream``); ``name`` labels
    the request in Locust's statistics (the path, with secrets scrubbed). Reading stops after
    ``max_bytes`` body bytes (error kind body_too_large; the body keeps the first
    ``max_bytes``), so a huge or endless answer costs at most that much memory.
    """
    answer = Answer()
    raw = None
    try:
        with gevent.Timeout(timeout):
            response = client.request(
                request.method,
                request.path,
                data=request.body,
                headers=request.headers,
                stream=True,
                name=name or request.path,
            )
            raw = getattr(response, "_response", None)
            error = getattr(response, "error", None)
            if raw is None:
                answer.error_kind = classify(error) if error else errorkinds.CONNECTION_ERROR
                return answer
            answer.status = response.status_code
            answer.headers = {name.lower(): value for name, value in response.headers.items()}
            if answer.headers.get("content-type", "").startswith("text/event-stream"):
                read_stream(raw, answer, stall, max_bytes)
                return answer
            answer.body = read_body(raw, answer, max_bytes)
    except gevent.Timeout as exc:
        answer.error_kind = classify(exc)
    except (OSError, HTTPConnectionClosed, HTTPParseError) as exc:
        answer.error_kind = classify(exc)
    finally:
        if raw is not None:
            raw.release()  # closes a connection whose answer was not read to its end
    return answer


def read_body(raw: Any, answer: Answer, max_bytes: int) -> bytes:
    """The body, up to ``max_bytes``: past that, reading stops (error kind body_too_large)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = raw.read(65536)
        if not chunk:
            break
        if answer.first_byte is None:
            answer.first_byte = time.perf_counter()
        if size + len(chunk) > max_bytes:
            chunks.append(chunk[: max_bytes - size])
            answer.error_kind = errorkinds.BODY_TOO_LARGE
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class _Silent:
    """An event hook that drops what it is given (see StressUser.__init__)."""

    def fire(self, **kwargs: Any) -> None:
        pass


_SILENT = _Silent()


def settle() -> None:
    """Freeze what exists before the load starts (modules, corpus, plan) out of the garbage
    collector's way: its full collections would otherwise scan those objects again and again,
    which costs the load process several microseconds per request."""
    gc.collect()
    gc.freeze()


@dataclass
class LoadState:
    """What the Locust users of this process read: the plan and the traffic (a worker gets
    them only once the master has sent the scenario, hence a holder)."""

    plan: Plan | None = None
    traffic: Traffic | None = None


def make_user(state: LoadState, host: str | None, *, timeout: float) -> type[FastHttpUser]:
    """The FastHttpUser class whose users send the plan's requests when the traffic says so:
    back to back (closed loop) or at their arrivals' intended times (open loop)."""

    class StressUser(FastHttpUser):
        wait_time = constant(0)
        network_timeout = timeout
        connection_timeout = timeout
        max_retries = 0

        def __init__(self, environment: Environment) -> None:
            super().__init__(environment)
            # stress records every request itself, exactly; Locust's bucketed statistics
            # would cost a few microseconds per request for figures nobody reads.
            self.client.request_event = _SILENT
            self.client.client.valid_response_codes = ANY_STATUS  # type: ignore[misc]

        @task
        def send(self) -> None:
            plan, traffic = state.plan, state.traffic
            if plan is None or traffic is None or plan.exhausted:
                gevent.sleep(0.05)
                return
            ticket = traffic.acquire()
            if ticket is None:
                return
            # The degradation check's re-sends start when the first ticket of a new phase does.
            plan.phase = ticket.phase
            step = plan.next(ticket.entry)
            if step is None:
                return
            seq, item, request = step
            traffic.in_flight += 1
            try:
                sent_at = time.time()
                started = time.perf_counter()
                answer = fetch(
                    self.client,
                    request,
                    plan.timeout,
                    stall=plan.stall,
                    name=plan.names[request.path],
                    max_bytes=plan.max_body_bytes,
                )
                plan.finish(
                    seq,
                    item,
                    request,
                    sent_at,
                    started,
                    answer,
                    ticket.users,
                    ticket.phase,
                    ticket=ticket,
                )
            finally:
                traffic.in_flight -= 1

    StressUser.host = host
    return StressUser


def build_plan(
    run_dir: Path,
    *,
    number: int = 0,
    workers: int = 1,
    max_requests: int | None = None,
) -> Plan:
    """The Plan of load process ``number`` (0: the only one) of ``workers``.

    Each worker sends its own slice of the shuffled corpus (every ``workers``-th input from
    its own offset), so together they cover it as one process would.
    """
    scenario = from_path(layout.scenario(run_dir))
    inputs = corpus_io.read(layout.corpus(run_dir))
    logged = logged_inputs(scenario, inputs)
    # A seeded shuffle, so families interleave and every run sends the same order.
    random.Random(scenario.inputs.seed).shuffle(inputs)
    if number > 0 and workers > 1:
        inputs = inputs[number - 1 :: workers] or inputs
    features = list(scenario.inputs.features)
    adapter = adapter_for(scenario.target, features=features)
    plan = Plan(scenario, inputs, adapter, run_dir, worker=number, logged=logged)
    if max_requests is not None:
        plan.max_requests = max_requests
    if number > 0:
        plan.failures.close()
        plan.failures = ShippedFailureLog(
            layout.failures(run_dir), max_lines=2000, redactor=plan.redactor
        )
    return plan


def logged_inputs(scenario: Scenario, inputs: Sequence[Input]) -> list[Input]:
    """The corpus's realistic.logged inputs when a trace phase sends them (inputs: logged):
    input i is log entry i, one each (stress.runner.build_corpus makes it so)."""
    if not any(phase.logged for phase in scenario.load.phases):
        return []
    logged = [item for item in inputs if item.family == "realistic.logged"]
    indices = sorted(int(item.origin["index"]) for item in logged)
    if indices != list(range(len(indices))):
        raise RuntimeError(
            "corpus.jsonl does not hold realistic.logged-0000 onwards once each; "
            "a trace phase with inputs: logged needs every sampled entry"
        )
    return logged


def warm_up(url: str) -> None:
    """Pay one-time costs before the load, not while requests are being timed.

    pyarrow imports pandas on its first table conversion (about 300 ms here); on the event
    loop in the middle of the first phase, that stalls every request in flight, and every
    streaming answer then looks as if its tokens came late and all at once. gevent's resolver
    starts its thread pool on the first lookup, which would land in the first request's time.
    """
    table = Table.from_pydict({name: [] for name in SCHEMA.names}, schema=SCHEMA)
    parquet.write_table(table, io.BytesIO())
    parts = urlsplit(url)
    with contextlib.suppress(OSError):
        gevent.socket.getaddrinfo(parts.hostname, parts.port or 443, 0, socket.SOCK_STREAM)


def _stop_timeout(scenario: Scenario) -> float:
    return min(scenario.target.timeout, 10.0)


def run(run_dir: Path, url: str, *, sleep: Callable[[float], None] = gevent.sleep) -> int:
    """Run every phase of the scenario in ``run_dir`` against ``url`` in this process.

    Returns the number of requests recorded.
    """
    plan = build_plan(run_dir)
    scenario = plan.scenario
    collector = Collector(run_dir, tracked=_sweeps(scenario))
    plan.writer = BatchWriter(lambda table: collector.add(table, 0), max_seconds=BATCH_SECONDS)
    traffic = Traffic(max_wait=plan.timeout)
    user_class = make_user(LoadState(plan, traffic), url, timeout=plan.timeout)
    environment = Environment(
        user_classes=[user_class], host=url, stop_timeout=_stop_timeout(scenario)
    )
    runner = environment.create_local_runner()
    environment.events.init.fire(environment=environment, runner=runner, web_ui=None)  # type: ignore[no-untyped-call]
    warm_up(url)
    fleet = LocalFleet(runner, plan, traffic, collector, seed=scenario.inputs.seed, emit=emit)
    driver = _driver(scenario, fleet, collector, emit, sleep, run_dir)
    _on_signals(driver)
    started = time.monotonic()
    settle()
    try:
        log = driver.run()
    finally:
        plan.writer.close()
        plan.failures.close()
        collector.close()
    runner.quit()
    write_json(layout.load(run_dir), log)
    emit(
        "done",
        requests=collector.records,
        errors=collector.errors,
        records=collector.records,
        failures=plan.failures.lines,
        duration_s=round(time.monotonic() - started, 3),
    )
    return collector.records


def run_master(
    run_dir: Path,
    url: str,
    *,
    workers: int,
    expect: int,
    bind: tuple[str, int],
    join_timeout: float,
    sleep: Callable[[float], None] = gevent.sleep,
) -> int:
    """Run the scenario on Locust workers: ``workers`` started here, ``expect`` in all."""
    scenario = from_path(layout.scenario(run_dir))
    scenario_text = layout.scenario(run_dir).read_text(encoding="utf-8")
    corpus = layout.corpus(run_dir).read_bytes()
    collector = Collector(run_dir, tracked=_sweeps(scenario))
    user_class = make_user(LoadState(), None, timeout=scenario.target.timeout)
    # host=None: each worker keeps the URL it was given (``stress worker --target``).
    environment = Environment(
        user_classes=[user_class], host=None, stop_timeout=_stop_timeout(scenario)
    )
    runner = environment.create_master_runner(bind[0], bind[1])
    port = runner.server.port
    emit("workers", bind=f"{bind[0]}:{port}", local=workers, expect=expect)
    failures = FailureSink(layout.failures(run_dir))
    processes: dict[int, subprocess.Popen[bytes]] = {}
    started = time.monotonic()
    try:
        for number in range(1, workers + 1):
            processes[number] = _start_worker(run_dir, number, port)
        fleet = MasterFleet(
            runner,
            collector,
            failures,
            scenario_text=scenario_text,
            corpus=corpus,
            url=url,
            seed=scenario.inputs.seed,
            expect=expect,
            max_requests=scenario.load.max_requests,
            emit=emit,
            processes=processes,
        )
        driver = _driver(scenario, fleet, collector, emit, sleep, run_dir)
        _on_signals(driver)
        fleet.wait_ready(join_timeout)
        settle()
        write_json(layout.load(run_dir), driver.run())
    finally:
        failures.close()
        collector.close()
        runner.quit()
        _stop_processes(processes.values())
    emit(
        "done",
        requests=collector.records,
        errors=collector.errors,
        records=collector.records,
        failures=failures.lines,
        duration_s=round(time.monotonic() - started, 3),
    )
    return collector.records


def _sweeps(scenario: Scenario) -> list[str]:
    return [phase.name for phase in scenario.load.phases if phase.kind is PhaseKind.SWEEP]


def _driver(
    scenario: Scenario,
    fleet: Fleet,
    collector: Collector,
    emit: Emit,
    sleep: Callable[[float], Any],
    run_dir: Path,
) -> Driver:
    """The driver of this load process's phases, with its trace phases' arrivals."""
    traces, entries = read_traces(run_dir, scenario)
    return Driver(
        scenario,
        fleet,
        collector,
        emit,
        sleep=sleep,
        traces=traces,
        entries=entries,
    )


def _on_signals(driver: Driver) -> None:
    parent = os.getppid()

    def stop(*_: object) -> None:
        # SIGTERM with a new parent: `stress run` died (kill -9, OOM) and the kernel told us
        # (lifeline.die_with_parent); say so rather than "interrupted".
        if os.getppid() != parent:
            driver.stop_reason = "stress run was killed; the load process stopped with it"
        driver.stopping = True

    gevent.signal_handler(signal.SIGINT, stop)
    gevent.signal_handler(signal.SIGTERM, stop)


def _start_worker(run_dir: Path, number: int, port: int) -> subprocess.Popen[bytes]:
    log = layout.worker_log(run_dir, number).open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "stress.load", "--worker", f"127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            # Its own session: a Ctrl-C at the terminal reaches `stress run`, which stops the
            # master, which stops the workers in order.
            start_new_session=True,
            # If the master is killed (SIGKILL, OOM), the workers get SIGTERM and stop too.
            preexec_fn=die_with_parent(),
        )
    finally:
        log.close()


def _stop_processes(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """Wait for the local workers to leave (the master told them to quit); then end them."""
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def worker_user(*, target: str | None = None) -> tuple[type[FastHttpUser], Callable[[Any], None]]:
    """A worker's user class, and the function that attaches a WorkerRunner to the master's
    run (receives the scenario, follows the steps, ships the records)."""
    state = LoadState()
    # The timeout is the scenario's, known only once the master sends it: set in on_setup.
    user_class = make_user(state, target, timeout=10.0)

    def on_setup(info: dict[str, Any]) -> None:
        user_class.host = info["url"]
        user_class.network_timeout = info["timeout"]
        user_class.connection_timeout = info["timeout"]

    def build(directory: Path, url: str, **kwargs: Any) -> Plan:
        plan = build_plan(directory, **kwargs)
        settle()
        return plan

    def attach(runner: Any) -> None:
        WorkerAgent(runner, state, build=build, on_setup=on_setup, target=target)

    return user_class, attach


def worker(master: tuple[str, int], *, target: str | None = None) -> int:
    """Join the run of the master at ``master`` as a Locust worker until it says quit."""
    user_class, attach = worker_user(target=target)
    environment = Environment(user_classes=[user_class], host=None)
    runner = environment.create_worker_runner(master[0], master[1])
    attach(runner)
    runner.greenlet.join()
    return 0


class _QuietSpawnWarning(logging.Filter):
    """Open-loop slots are spawned all at once on purpose; Locust's warning is noise here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "spawn rate is very high" not in record.getMessage()


def _address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv: list[str]) -> int:
    """``RUN_DIR URL [--workers N] [--expect-workers M] [--bind HOST:PORT]`` runs a scenario;
    ``--worker HOST:PORT [--target URL]`` joins a master as a worker."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("locust.runners").addFilter(_QuietSpawnWarning())
    parser = argparse.ArgumentParser(prog="python -m stress.load")
    parser.add_argument("run_dir", nargs="?")
    parser.add_argument("url", nargs="?")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--expect-workers", type=int, default=None)
    parser.add_argument("--bind", default="127.0.0.1:0")
    parser.add_argument("--join-timeout", type=float, default=60.0)
    parser.add_argument("--worker", dest="master", default=None)
    parser.add_argument("--target", default=None)
    args = parser.parse_args(argv)
    if args.master is not None:
        return worker(_address(args.master), target=args.target)
    run_dir, url = Path(args.run_dir), args.url
    expect = args.expect_workers if args.expect_workers is not None else args.workers
    if expect <= 0:
        run(run_dir, url)
        return 0
    try:
        run_master(
            run_dir,
            url,
            workers=args.workers,
            expect=expect,
            bind=_address(args.bind),
            join_timeout=args.join_timeout,
        )
    except WorkersMissing as exc:
        local = f"; see {layout.WORKER_LOG.format(number='N')} in {run_dir}" if args.workers else ""
        emit("error", message=f"{exc}{local}")
        return WORKERS_MISSING
    return 0
