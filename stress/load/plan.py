"""The plan of one load process: what to send next and what becomes of each answer.

Requests are built once, before the load. ``next`` hands out the next one: a trace's logged
entry, else the degradation check's re-sends (every phase after the baseline first re-sends,
in order, what the baseline sent; on a streaming target the first PAIRED_RESENDS of them
not meant to be refused go out twice in a row, for concurrency_interference), else the
corpus in order. ``finish`` judges the answer (the scenario's checks), builds its Record
(stress.load.records) and stores a failure (stress.load.failures). Pure: no sockets and no
Locust; the Locust wiring (stress.load.engine) calls it from its users.

The stop instant: when a signal stops the load, ``stop_at`` is set; an answer (or an error
such as connection refused) that arrives after it is neither judged nor recorded, only
counted (``after_stop``): whatever the signal did to the target is not the target's fault.
``dropped`` charges a connection dropped after an answer to that answer's input
(stress.checks.connection).
"""

from __future__ import annotations

import collections
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stress import errorkinds
from stress.checks import connection
from stress.checks.judge import judge
from stress.checks.request import CheckSuite, group_checks
from stress.inputs import corpus as corpus_io
from stress.inputs.corpus import Input
from stress.load.collect import BatchWriter
from stress.load.failures import FailureLog, ShippedFailureLog
from stress.load.records import Answer, Sent, record_of
from stress.load.stagetime import StageTimes
from stress.load.traffic import Ticket
from stress.record import RecordWriter
from stress.rundir import layout
from stress.scenario import Scenario, from_path
from stress.secrets import Redactor
from stress.targets import HttpRequest, adapter_for
from stress.targets.base import Adapter, Outcome

# Error kind of an answer whose stream broke; the events that did arrive are still parsed.
STREAM_STALL = errorkinds.STREAM_STALL
# A streaming target's first re-sends of each phase after the baseline go out twice in a row,
# so two users have the same input in flight together (concurrency_interference compares them:
# stress.checks.interference).
PAIRED_RESENDS = 20


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
        self.max_requests = scenario.load.max_requests
        self.worker = worker
        self.phase = scenario.load.phases[0].name
        self.users = 0
        self.seq = 0
        self.cursor = 0
        self.writer: BatchWriter = RecordWriter(layout.records(run_dir), prefix=f"w{worker}")
        self.failures = FailureLog(layout.failures(run_dir), redactor=self.redactor)
        self.errors = 0
        self.stages = StageTimes()
        # The perf_counter instant SIGINT/SIGTERM stopped the load: nothing that arrives
        # after it is judged; ``after_stop`` counts those answers.
        self.stop_at: float | None = None
        self.after_stop = 0
        self.blames = connection.enabled(scenario.checks)
        # Set when the load ends: no new requests; the ones in flight finish and are recorded.
        self.started = time.monotonic()
        # Degradation: every phase after the baseline starts by re-sending, in order, the
        # inputs the baseline sent, so their answers under load can be compared.
        self.baseline = scenario.degradation.baseline or scenario.load.phases[0].name
        self._baseline_sent: dict[int, None] = {}  # indices, in send order
        self._queue_phase = self.phase
        self._queue: collections.deque[int] = collections.deque()
        enabled = group_checks(scenario.checks)
        self._replay = scenario.degradation.enabled and "degradation" in enabled
        self._paired = (
            self._replay and scenario.target.stream and "concurrency_interference" in enabled
        )
        # Answers a group check compares keep their full text in the records.
        self.keep_text = _compared_ids(inputs)

    @property
    def exhausted(self) -> bool:
        return self.seq >= self.max_requests

    def next(self, entry: int | None = None) -> tuple[int, Input, HttpRequest] | None:
        """The next request to send: log entry ``entry``'s (an arrival of a trace with
        inputs: logged), else the degradation re-sends, else the corpus in order; nothing
        once a signal stopped the load (``stop_at``)."""
        if self.exhausted or self.stop_at is not None:
            return None
        if self.phase != self._queue_phase:
            self._queue_phase = self.phase
            if self._replay and self.phase != self.baseline:
                self._queue = collections.deque(self._resends())
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
        done: float | None = None,
    ) -> None:
        # ``done``: when the answer was read whole (the caller's clock), if not now.
        done = time.perf_counter() if done is None else done
        if self._after_stop(done):
            return
        latency_ms = (done - started) * 1000
        marks = self.stages.due()
        verdict = judge(
            self.adapter,
            self.suite,
            answer,
            expect=item.expect,
            latency_ms=latency_ms,
            item=item,
            request=request,
            events=answer.events,
            marks=marks,
        )
        outcome, error_kind, findings = verdict.outcome, verdict.error_kind, list(verdict.findings)
        sent = Sent(seq, item, request, phase, users, sent_at, started, done, ticket)
        record = record_of(
            sent,
            answer,
            outcome,
            error_kind,
            findings,
            worker=self.worker,
            keep_text=item.id in self.keep_text,
            redactor=self.redactor,
        )
        if marks is not None:
            marks.append(time.perf_counter())
        self.writer.add(record)
        if marks is not None:
            marks.append(time.perf_counter())
            self.stages.add(marks)
        if findings:
            answer.error_kind = error_kind
            self.failures.add(item, record, request, answer, findings)
        if not record.ok:
            self.errors += 1

    def _resends(self) -> list[int]:
        """The baseline's indices in send order; paired, the first PAIRED_RESENDS of them that
        are not meant to be refused (expect "reject": nothing to stream) go out twice each."""
        order = list(self._baseline_sent)
        if not self._paired:
            return order
        twice = [i for i in order if self.items[i][0].expect != "reject"][:PAIRED_RESENDS]
        doubled = set(twice)
        return [i for index in order for i in (index, index)[: 2 if index in doubled else 1]]

    def time_per_request(self, cpu_s: float | None, parts_s: float = 0.0) -> dict[str, Any]:
        """Where this process's time per request went (stress.load.stagetime); ``parts_s``:
        the CPU its collector spent writing Parquet parts (a single load process)."""
        self.stages.batching = self.writer.flush_seconds
        self.stages.parts = parts_s
        return self.stages.summary(cpu_s, self.seq)

    def _after_stop(self, done: float) -> bool:
        if self.stop_at is None or done <= self.stop_at:
            return False
        self.after_stop += 1
        return True

    def dropped(
        self,
        previous: Exchanged,
        answer: Answer,
        by: Input,
        sent_at: float,
        started: float,
        users: int,
        phase: str,
    ) -> None:
        """Charge a connection dropped after ``previous``'s answer, found by the request of
        ``by`` (sent again on a new connection), to ``previous``'s input: one record of its
        own with the finding connection_dropped_after_answer."""
        done = time.perf_counter()
        if not self.blames or self._after_stop(done):
            return
        default = connection.DEFAULT_SEVERITY[connection.DROPPED]
        severity = self.suite.severity.get(connection.DROPPED, default)
        finding = connection.dropped_after(
            previous.item.id, previous.status, by.id, severity=severity
        )
        self.seq += 1
        sent = Sent(self.seq, previous.item, previous.request, phase, users, sent_at, started, done)
        record = record_of(
            sent,
            answer,
            Outcome(),
            errorkinds.CONNECTION_RESET,
            [finding],
            worker=self.worker,
            keep_text=False,
            redactor=self.redactor,
        )
        self.writer.add(record)
        self.failures.add(previous.item, record, previous.request, answer, [finding])
        if not record.ok:
            self.errors += 1


@dataclass(slots=True)  # not frozen: built per request (a frozen one costs more)
class Exchanged:
    """The last exchange a user finished: what a connection dropped after it is charged to."""

    item: Input
    request: HttpRequest
    status: int


def _compared_ids(inputs: list[Input]) -> set[str]:
    """Ids of perturbed inputs and of their seeds (payload "seed"): invariance compares them."""
    ids: set[str] = set()
    for item in inputs:
        seed = item.payload.get("seed") if isinstance(item.payload, dict) else None
        if isinstance(seed, str):
            ids.update((item.id, seed))
    return ids


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
        plan.failures = ShippedFailureLog(layout.failures(run_dir), redactor=plan.redactor)
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
