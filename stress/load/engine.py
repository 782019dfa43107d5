"""The load engine: runs a scenario's phases with Locust in this process and streams records.

This is the only module that imports Locust. Importing Locust monkey-patches the whole process
with gevent, so the engine runs in a process of its own (``python -m stress.load``), started
by stress.run; it reads the run directory (scenario.yaml, corpus.jsonl) and writes records/
and failures.jsonl into it. On stdout it writes one JSON event per line (phase changes,
progress, the end) for the parent process to display; it never talks to the terminal itself.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import io
import json
import logging
import random
import signal
import socket
import sys
import time
from collections.abc import Callable
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

from stress.checks.request import CheckSuite, Exchange, Finding, group_checks
from stress.inputs import corpus as corpus_io
from stress.inputs.corpus import Input
from stress.record import OUTPUT_TEXT_CHARS, SCHEMA, Record, RecordWriter
from stress.scenario import Scenario, from_path
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
STREAM_STALL = "stream_stall"
INVALID_STREAM = "invalid_stream"
# Reading an answer stops here: a runaway body must not exhaust the tester's memory.
MAX_BODY_BYTES = 16 * 1024 * 1024
# The same input failing the same checks again is counted in the records, stored once.
# One noisy check (a version header on every answer) must not crowd out the others, so each
# check gets at most this many of the stored lines.
MAX_LINES_PER_CHECK = 200
PROGRESS_SECONDS = 1.0
# Latency window for the live p95 in the console.
WINDOW_SECONDS = 5.0

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
        return "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(error, ConnectionResetError | BrokenPipeError | HTTPConnectionClosed):
        return "connection_reset"
    if isinstance(error, HTTPParseError):
        return "invalid_http"
    if "timed out" in str(error).lower():
        return "timeout"
    return "connection_error"


def redact(headers: dict[str, str], redactor: Redactor | None = None) -> dict[str, str]:
    """Secret headers (by name) as <redacted>; any other value with a secret in it scrubbed."""
    scrub = redactor.scrub if redactor else (lambda value: value)
    return {
        name: (REDACTED if name.lower() in SECRET_HEADERS else scrub(value))
        for name, value in headers.items()
    }


def answer_error_kind(status: int, outcome: Outcome) -> str | None:
    """The error kind of an HTTP answer: its status class, else what its content broke."""
    if status >= 500:
        return "http_5xx"
    if status >= 400:
        return "http_4xx"
    if outcome.problem:
        return "invalid_response"
    if outcome.anomaly:
        return INVALID_STREAM
    return None


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
        self._handle.write(json.dumps(line, ensure_ascii=True) + "\n")
        self._handle.flush()
        self.lines += 1

    def close(self) -> None:
        self._handle.close()


class Flusher:
    """Writes record parts in a worker thread, one at a time.

    Encoding and writing a Parquet part takes a millisecond or more; on the event loop that
    would delay every answer in flight, and a token read late is a wrong TTFT or ITL. Parquet
    encoding and file I/O release the GIL, so the loop keeps reading while a part is written.
    """

    def __init__(self, writer: RecordWriter) -> None:
        self.writer = writer
        self._pending: Any = None

    def poll(self) -> None:
        """Start a flush if one is due and none is running; raise what a finished one raised."""
        if self._pending is not None:
            if not self._pending.ready():
                return
            self._pending.get()
            self._pending = None
        if self.writer.due:
            self._pending = gevent.get_hub().threadpool.spawn(self.writer.flush)

    def close(self) -> None:
        if self._pending is not None:
            self._pending.get()
            self._pending = None
        self.writer.close()


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
    ) -> None:
        self.scenario = scenario
        self.adapter = adapter
        # Requests are built once, before the load: no generation or encoding on the hot path.
        self.items = [(item, adapter.request(item)) for item in inputs]
        self.suite = CheckSuite.from_scenario(scenario)
        self.checks = self.suite.checks
        self.timeout = scenario.target.timeout
        self.stall = scenario.target.stall_timeout
        self.redactor = Redactor(scenario.target.secrets())
        # Locust's statistics (and its log lines) name requests by path: never with a secret.
        self.names = {request.path: self.redactor.scrub(request.path) for _, request in self.items}
        self.max_requests = scenario.load.max_requests
        self.worker = worker
        self.phase = scenario.load.phases[0].name
        self.users = 0
        self.seq = 0
        self.cursor = 0
        self.writer = RecordWriter(run_dir / "records", prefix=f"w{worker}")
        self.flusher = Flusher(self.writer)
        self.failures = FailureLog(
            run_dir / "failures.jsonl", max_lines=2000, redactor=self.redactor
        )
        self.window: collections.deque[tuple[float, float, bool]] = collections.deque()
        self.errors = 0
        # Set by SIGINT/SIGTERM: stop the load, keep every record written so far.
        self.stopping = False
        # Set when the load ends: no new requests; the ones in flight finish and are recorded.
        self.draining = False
        self.in_flight = 0
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

    def next(self) -> tuple[int, Input, HttpRequest] | None:
        if self.exhausted or self.draining:
            return None
        if self.phase != self._queue_phase:
            self._queue_phase = self.phase
            if self._replay and self.phase != self.baseline:
                self._queue = collections.deque(self._baseline_sent)
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
    ) -> None:
        done = time.perf_counter()
        latency_ms = (done - started) * 1000
        outcome = Outcome()
        error_kind = answer.error_kind
        if error_kind == "timeout" and answer.status:
            error_kind = "hang"  # the headers came, then the body stalled
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
            latency_ms=latency_ms,
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
        )
        self.writer.add(record)
        if findings:
            answer.error_kind = error_kind
            self.failures.add(item, record, request, answer, findings)
        if not ok:
            self.errors += 1
        self.window.append((time.monotonic(), latency_ms, ok))


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


def read_stream(raw: Any, answer: Answer, stall: float | None) -> None:
    """Read a text/event-stream answer, timing each event as its bytes arrive.

    A gap with no bytes longer than ``stall`` seconds ends the request (error kind
    stream_stall); the events before it are kept.
    """
    decoder = SseDecoder()
    chunks: list[bytes] = []
    size = 0
    while size < MAX_BODY_BYTES:
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
) -> Answer:
    """Send one request and read the whole answer (up to MAX_BODY_BYTES) within ``timeout``.

    An event stream is read event by event as it arrives (``read_stream``); ``name`` labels
    the request in Locust's statistics (the path, with secrets scrubbed).
    """
    answer = Answer()
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
                answer.error_kind = classify(error) if error else "connection_error"
                return answer
            answer.status = response.status_code
            answer.headers = {name.lower(): value for name, value in response.headers.items()}
            if error is not None:
                # geventhttpclient raised on an HTTP error status and has already read the
                # body into the response, so the raw stream is empty: take it from there.
                answer.body = response.content or b""
                answer.first_byte = time.perf_counter()
                return answer
            if answer.headers.get("content-type", "").startswith("text/event-stream"):
                read_stream(raw, answer, stall)
                return answer
            chunks: list[bytes] = []
            size = 0
            while size < MAX_BODY_BYTES:
                chunk = raw.read(65536)
                if not chunk:
                    break
                if answer.first_byte is None:
                    answer.first_byte = time.perf_counter()
                chunks.append(chunk)
                size += len(chunk)
            answer.body = b"".join(chunks)
    except gevent.Timeout as exc:
        answer.error_kind = classify(exc)
    except (OSError, HTTPConnectionClosed, HTTPParseError) as exc:
        answer.error_kind = classify(exc)
    return answer


def make_user(plan: Plan, host: str) -> type[FastHttpUser]:
    """A closed-loop FastHttpUser class that sends the plan's requests back to back."""

    class StressUser(FastHttpUser):
        wait_time = constant(0)
        network_timeout = plan.timeout
        connection_timeout = plan.timeout
        max_retries = 0

        @task
        def send(self) -> None:
            step = plan.next()
            if step is None:
                gevent.sleep(0.05)
                return
            seq, item, request = step
            phase, users = plan.phase, plan.users
            plan.in_flight += 1
            try:
                sent_at = time.time()
                started = time.perf_counter()
                answer = fetch(
                    self.client,
                    request,
                    plan.timeout,
                    stall=plan.stall,
                    name=plan.names[request.path],
                )
                plan.finish(seq, item, request, sent_at, started, answer, users, phase)
            finally:
                plan.in_flight -= 1

    StressUser.host = host
    return StressUser


def progress(plan: Plan, phase: str, users: int) -> dict[str, Any]:
    """Live figures over the last WINDOW_SECONDS: rps, p95 and the error count so far."""
    now = time.monotonic()
    while plan.window and plan.window[0][0] < now - WINDOW_SECONDS:
        plan.window.popleft()
    latencies = sorted(latency for _, latency, _ in plan.window)
    span = min(WINDOW_SECONDS, max(now - plan.started, 0.5))
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else None
    return {
        "phase": phase,
        "users": users,
        "requests": plan.seq,
        "rps": round(len(latencies) / span, 1),
        "p95_ms": None if p95 is None else round(p95, 1),
        "errors": plan.errors,
    }


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


def drain(plan: Plan, sleep: Callable[[float], None], *, seconds: float) -> None:
    """Stop sending and let the requests in flight finish (at most ``seconds``).

    Locust's own stop does real work on the event loop (about 100 ms) while it waits for
    users; answers still streaming then would be timed wrong, so none are left by then.
    """
    plan.draining = True
    deadline = time.monotonic() + seconds
    while plan.in_flight and time.monotonic() < deadline:
        sleep(0.01)


def run(run_dir: Path, url: str, *, sleep: Callable[[float], None] = gevent.sleep) -> int:
    """Run every phase of the scenario in ``run_dir`` against ``url``; returns requests sent."""
    scenario = from_path(run_dir / "scenario.yaml")
    inputs = corpus_io.read(run_dir / "corpus.jsonl")
    # A seeded shuffle, so families interleave and every run sends the same order.
    random.Random(scenario.inputs.seed).shuffle(inputs)
    features = list(scenario.inputs.features)
    plan = Plan(scenario, inputs, adapter_for(scenario.target, features=features), run_dir)
    user_class = make_user(plan, url)
    environment = Environment(
        user_classes=[user_class], host=url, stop_timeout=min(plan.timeout, 10.0)
    )
    runner = environment.create_local_runner()

    def stop(*_: object) -> None:
        plan.stopping = True

    gevent.signal_handler(signal.SIGINT, stop)
    gevent.signal_handler(signal.SIGTERM, stop)
    environment.events.init.fire(environment=environment, runner=runner, web_ui=None)  # type: ignore[no-untyped-call]
    warm_up(url)
    started = time.monotonic()
    hard_stop = started + scenario.load.max_duration
    try:
        for phase in scenario.load.phases:
            plan.phase = phase.name
            phase_start = time.monotonic()
            emit(
                "phase",
                name=phase.name,
                users=phase.users,
                duration_s=phase.duration,
                at=time.time(),
            )
            runner.start(phase.users, spawn_rate=phase.spawn_rate)
            end = min(phase_start + phase.duration, hard_stop)
            next_progress = phase_start + PROGRESS_SECONDS
            while time.monotonic() < end and not plan.exhausted and not plan.stopping:
                sleep(0.1)
                plan.users = runner.user_count
                plan.flusher.poll()
                if time.monotonic() >= next_progress:
                    next_progress += PROGRESS_SECONDS
                    emit("progress", **progress(plan, phase.name, plan.users))
            if plan.stopping:
                emit("limit", reason="interrupted")
                break
            if plan.exhausted:
                emit("limit", reason=f"load.max_requests ({plan.max_requests}) reached")
                break
            if time.monotonic() >= hard_stop:
                emit("limit", reason="load.max_duration reached")
                break
        drain(plan, sleep, seconds=min(plan.timeout, 10.0))
        runner.stop()
        runner.quit()
    finally:
        plan.flusher.close()
        plan.failures.close()
    emit(
        "done",
        requests=plan.seq,
        errors=plan.errors,
        records=plan.writer.written,
        failures=plan.failures.lines,
        duration_s=round(time.monotonic() - started, 3),
    )
    return plan.seq


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    run_dir, url = Path(argv[0]), argv[1]
    run(run_dir, url)
    return 0
