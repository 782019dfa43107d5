"""The load processes a run drives: one in-process (LocalFleet) or Locust workers (MasterFleet).

The driver (stress.load.driver) says which step to run; a fleet makes every load process run
it, reports what they sent, notices lost workers and the tester's own saturation, and at the
end drains the in-flight requests so that every record reaches the run directory. Runners
come in as arguments: no Locust import here.
"""

from __future__ import annotations

import collections
import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent

from stress.load import events
from stress.load.collect import Collector, FailureSink
from stress.load.pacing import Counts
from stress.load.phases import Step
from stress.load.selfwatch import SATURATED_SAMPLES, Sample, SelfWatch, summarise
from stress.load.traffic import StepKey, Traffic
from stress.load.workers import (
    BATCH,
    DRAIN,
    HELLO,
    READY,
    SETUP,
    STEP,
    STOP,
    USERS,
    apply_step,
    decode_table,
    step_message,
    step_seed,
    watch_loop,
)

logger = logging.getLogger(__name__)

Emit = Callable[[events.LoadEvent], None]
# Open-loop slots are spawned this many times faster than their count per second: at once.
_SLOT_SPAWN_FACTOR = 100
# Spawning a few thousand users takes well under a second; never wait longer than this.
_SPAWN_TIMEOUT = 10.0


class WorkersMissing(Exception):
    """Fewer workers than expected joined before the deadline."""


class Saturation:
    """Turns a process's samples into "has just become saturated" moments."""

    def __init__(self) -> None:
        self._run = 0
        self.saturated = False

    def feed(self, sample: Sample) -> bool:
        self._run = self._run + 1 if sample.busy else 0
        now = self._run >= SATURATED_SAMPLES
        became = now and not self.saturated
        self.saturated = now
        return became


def _tester_event(emit: Emit, who: str, sample: Sample) -> None:
    emit(events.Tester(process=who, cpu=round(sample.cpu, 1), lag_ms=round(sample.lag_ms, 1)))


def spawn_users(
    runner: Any, step: Step, current: gevent.Greenlet | None, *, local: bool
) -> gevent.Greenlet | None:
    """Bring the runner to the step's users (closed loop) or in-flight slots (open loop).

    Open-loop slots are all there before the step's schedule starts (this call returns when
    they are), or the first arrivals would wait for slots still being spawned. Closed-loop
    users arrive at the step's spawn rate, in a greenlet: the ramp is part of the step.
    """
    if current is not None:
        current.kill(block=True)
    if step.open_loop:
        _bring_at_once(runner, step.slots, local=local)
        return None

    def bring() -> None:
        if step.start_users is not None and step.start_users > 0:
            _bring_at_once(runner, step.start_users, local=local)
        runner.start(step.slots, spawn_rate=step.spawn_rate)

    return gevent.spawn(bring)


def _bring_at_once(runner: Any, users: int, *, local: bool) -> None:
    """Spawn (or stop) users to ``users`` as fast as Locust can, and wait until they run."""
    runner.start(users, spawn_rate=max(users, 1) * _SLOT_SPAWN_FACTOR)
    if not local:
        return  # the master's start() returns once the workers report their users
    # A LocalRunner spawns in a greenlet of its own (its wait=True waits for the users to
    # *stop*): poll until they are all there, then let each reach its first task.
    deadline = time.monotonic() + _SPAWN_TIMEOUT
    while runner.user_count != users and time.monotonic() < deadline:
        gevent.sleep(0.005)
    gevent.sleep(0)


class LocalFleet:
    """The single load process: the users run here, records go straight to the collector."""

    def __init__(
        self,
        runner: Any,
        plan: Any,
        traffic: Traffic,
        collector: Collector,
        *,
        seed: int,
        emit: Emit,
    ) -> None:
        self.runner = runner
        self.plan = plan
        self.traffic = traffic
        self.collector = collector
        self.seed = seed
        self.emit = emit
        self.watch = SelfWatch()
        self._saturation = Saturation()
        self._spawner: gevent.Greenlet | None = None
        self._watcher = gevent.spawn(watch_loop, self.watch, self._on_sample)
        self._step: Step | None = None

    def _on_sample(self) -> None:
        sample = self.watch.samples[-1]
        if self._saturation.feed(sample):
            _tester_event(self.emit, "load process", sample)

    def begin(self, step: Step) -> None:
        self._step = step
        message = step_message(
            step,
            elapsed=0.0,
            users=step.slots if step.open_loop else (step.start_users or step.slots),
            share=1.0,
            offset=0.0,
            seed=step_seed(self.seed, step.phase, step.index, 0, 0),
        )
        self._spawner = spawn_users(self.runner, step, self._spawner, local=True)
        apply_step(self.traffic, message)

    def tick(self, users: int | None) -> None:
        if self._step is not None and not self._step.open_loop:
            self.traffic.set_users(self.runner.user_count)
        self.plan.writer.flush_if_due()

    def flush(self) -> None:
        self.plan.writer.flush()

    def sent(self, key: StepKey) -> int:
        return self.traffic.counts[key].sent if key in self.traffic.counts else 0

    def counts(self) -> dict[StepKey, Counts]:
        return dict(self.traffic.counts)

    def exhausted(self) -> bool:
        return bool(self.plan.exhausted)

    def lost_all(self) -> bool:
        return False

    def finish(self, timeout: float) -> None:
        self.traffic.draining = True
        self.traffic.wait_idle(timeout)
        self.traffic.idle()
        if self._spawner is not None:
            self._spawner.kill(block=True)
        self.runner.stop()
        self.plan.writer.close()
        self.plan.failures.close()
        self._watcher.kill(block=False)

    def describe(self) -> dict[str, Any]:
        return {
            "mode": "single",
            "workers": [
                {
                    "worker": 0,
                    "host": None,
                    "pid": None,
                    "records": self.collector.by_worker.get(0, 0),
                    "lost": False,
                }
            ],
            "processes": [
                {
                    "process": "load process",
                    "worker": 0,
                    "cpu_s": self.watch.cpu_seconds(),
                    **summarise(self.watch.samples),
                    "time_us": self.plan.time_per_request(
                        self.watch.cpu_seconds(), self.collector.background.seconds
                    ),
                }
            ],
        }


@dataclass
class WorkerInfo:
    """What the master knows of one worker."""

    client_id: str
    number: int
    host: str
    pid: int
    ready: bool = False
    lost: bool = False
    lost_at: float | None = None
    final: bool = False
    written: int | None = None
    cpu_s: float | None = None
    # Answers that arrived after the stop instant (not judged): the worker's count so far.
    after_stop: int = 0
    # Where the worker's time per request went (stress.load.stagetime), in its final batch.
    time_us: dict[str, Any] | None = None
    counts: dict[StepKey, Counts] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    saturation: Saturation = field(default_factory=Saturation)


class MasterFleet:
    """Locust workers, local processes or other machines, driven over Locust's messaging."""

    def __init__(
        self,
        runner: Any,
        collector: Collector,
        failures: FailureSink,
        *,
        scenario_text: str,
        corpus: bytes,
        url: str,
        seed: int,
        expect: int,
        max_requests: int,
        emit: Emit,
        processes: dict[int, subprocess.Popen[bytes]] | None = None,
    ) -> None:
        self.runner = runner
        self.collector = collector
        self.failures = failures
        self.scenario_text = scenario_text
        self.corpus = corpus
        self.url = url
        self.seed = seed
        self.expect = expect
        self.max_requests = max_requests
        self.emit = emit
        self.processes = processes or {}
        self.workers: dict[str, WorkerInfo] = {}
        self.watch = SelfWatch()
        self._saturation = Saturation()
        self._watcher = gevent.spawn(watch_loop, self.watch, self._on_sample)
        self._spawner: gevent.Greenlet | None = None
        self._step: Step | None = None
        self._step_started = 0.0
        self._users_label: int | None = None
        self._generation = 0
        runner.register_message(HELLO, self._hello)
        runner.register_message(READY, self._ready)
        runner.register_message(BATCH, self._batch)

    # --- messages from workers (run in Locust's listener greenlet) ---

    def _hello(self, environment: Any, msg: Any) -> None:
        if msg.node_id in self.workers:
            return
        number = len(self.workers) + 1
        info = WorkerInfo(msg.node_id, number, str(msg.data["host"]), int(msg.data["pid"]))
        self.workers[msg.node_id] = info
        share = max(self.expect, 1)
        self.runner.send_message(
            SETUP,
            {
                "number": number,
                "workers": share,
                "scenario": self.scenario_text,
                "corpus": self.corpus,
                "url": self.url,
                "max_requests": -(-self.max_requests // share),
            },
            client_id=msg.node_id,
        )

    def _ready(self, environment: Any, msg: Any) -> None:
        info = self.workers.get(msg.node_id)
        if info is None:
            return
        info.ready = True
        self.emit(events.Worker(number=info.number, host=info.host, pid=info.pid, state="ready"))
        if self._step is not None:
            self._reshare()  # a worker joined mid-run: give it a share of the current step

    def _batch(self, environment: Any, msg: Any) -> None:
        info = self.workers.get(msg.node_id)
        if info is None:
            return
        data = msg.data
        if data.get("records") is not None:
            self.collector.add(decode_table(data["records"]), info.number)
        if data.get("failures"):
            self.failures.add(data["failures"])
        info.counts = {
            (str(phase), step): Counts(scheduled, sent, late, unsent)
            for phase, step, scheduled, sent, late, unsent in data.get("counts", [])
        }
        for at, cpu, lag in data.get("samples", []):
            sample = Sample(float(at), float(cpu), float(lag))
            info.samples.append(sample)
            if info.saturation.feed(sample):
                _tester_event(self.emit, f"worker {info.number}", sample)
        info.after_stop = int(data.get("after_stop") or 0)
        if data.get("final"):
            info.final = True
            info.written = int(data["written"])
            info.cpu_s = data.get("cpu_s")
            info.time_us = data.get("time_us")

    def _on_sample(self) -> None:
        sample = self.watch.samples[-1]
        if self._saturation.feed(sample):
            _tester_event(self.emit, "master", sample)

    # --- the driver's interface ---

    def alive(self) -> list[WorkerInfo]:
        return [w for w in self.workers.values() if w.ready and not w.lost]

    def wait_ready(self, timeout: float) -> None:
        """Wait until ``expect`` workers are set up; WorkersMissing after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while len(self.alive()) < self.expect:
            self._check_processes()
            if time.monotonic() > deadline:
                raise WorkersMissing(
                    f"{len(self.alive())} of {self.expect} workers joined within {timeout:g}s"
                )
            gevent.sleep(0.05)

    def begin(self, step: Step) -> None:
        self._step = step
        self._step_started = time.monotonic()
        self._users_label = None
        if step.open_loop:
            self._spawner = spawn_users(self.runner, step, self._spawner, local=False)
            self._step_started = time.monotonic()
            self._send_step(elapsed=0.0)
        else:
            # The step message goes first: a worker must know the step before its users
            # arrive (both travel on the same connection, in order).
            self._send_step(elapsed=0.0)
            self._spawner = spawn_users(self.runner, step, self._spawner, local=False)

    def _send_step(self, *, elapsed: float) -> None:
        step = self._step
        assert step is not None
        alive = self.alive()
        users = step.slots if step.open_loop else (step.start_users or step.slots)
        for position, info in enumerate(alive):
            message = step_message(
                step,
                elapsed=elapsed,
                users=users,
                share=1.0 / len(alive),
                offset=position / len(alive),
                seed=step_seed(self.seed, step.phase, step.index, info.number, self._generation),
            )
            self.runner.send_message(STEP, message, client_id=info.client_id)

    def _reshare(self) -> None:
        step = self._step
        if step is None or not self.alive():
            return
        self._generation += 1
        elapsed = time.monotonic() - self._step_started
        if elapsed < step.duration:
            self._send_step(elapsed=elapsed)

    def tick(self, users: int | None) -> None:
        self._check_processes()
        self._check_missing()
        if users is not None and users != self._users_label and self.alive():
            self._users_label = users
            for info in self.alive():
                self.runner.send_message(USERS, {"users": users}, client_id=info.client_id)

    def flush(self) -> None:
        pass

    def _check_processes(self) -> None:
        """A local worker process that exited is lost at once (no heartbeat wait)."""
        for number, process in list(self.processes.items()):
            code = process.poll()
            if code is None:
                continue
            del self.processes[number]
            info = next((w for w in self.workers.values() if w.pid == process.pid), None)
            if info is None or not info.ready:
                raise WorkersMissing(
                    f"local worker {number} (pid {process.pid}) exited with code {code} "
                    f"before it joined"
                )
            if not info.lost and not info.final:
                self._lose(info, f"its process {process.pid} exited with code {code}")

    def _check_missing(self) -> None:
        """A worker Locust no longer hears from (3 missed heartbeats) is lost."""
        clients = self.runner.clients
        for info in list(self.workers.values()):
            if info.lost or info.final or not info.ready:
                continue
            node = clients.get(info.client_id)
            if node is None or node.state == "missing":
                self._lose(info, "it stopped sending heartbeats")

    def _lose(self, info: WorkerInfo, why: str) -> None:
        info.lost = True
        info.lost_at = time.time()
        self.emit(
            events.WorkerLost(
                number=info.number,
                host=info.host,
                pid=info.pid,
                reason=why,
                records=self.collector.by_worker.get(info.number, 0),
            )
        )
        if self._step is not None and self._step.open_loop:
            self._reshare()  # the others take over its share of the rate

    def sent(self, key: StepKey) -> int:
        return sum(info.counts[key].sent for info in self.workers.values() if key in info.counts)

    def counts(self) -> dict[StepKey, Counts]:
        total: dict[StepKey, Counts] = collections.defaultdict(Counts)
        for info in self.workers.values():
            for key, counts in info.counts.items():
                total[key].add(counts)
        return dict(total)

    def exhausted(self) -> bool:
        return self.collector.records >= self.max_requests

    def lost_all(self) -> bool:
        return bool(self.workers) and not self.alive()

    def stop(self) -> None:
        """A signal stopped the load: tell every live worker the stop instant (this wall
        clock's), after which it sends nothing and judges no answer (the after_stop rule)."""
        at = time.time()
        for info in self.alive():
            self.runner.send_message(STOP, {"at": at}, client_id=info.client_id)

    def finish(self, timeout: float) -> None:
        """Drain every live worker and wait for its final batch (at most timeout + 10 s)."""
        if self._spawner is not None:
            self._spawner.kill(block=True)
        for info in self.alive():
            self.runner.send_message(DRAIN, {}, client_id=info.client_id)
        deadline = time.monotonic() + timeout + 10.0
        while time.monotonic() < deadline:
            self._check_processes()
            self._check_missing()
            pending = [w for w in self.alive() if not w.final]
            if not pending:
                break
            gevent.sleep(0.05)
        for info in self.alive():
            if not info.final:
                self._lose(info, "it sent no final batch after the load stopped")
        # No runner.stop(): a worker told to stop sleeps stop_timeout before it listens
        # again; the engine's runner.quit() stops and dismisses the workers at once.
        self._watcher.kill(block=False)

    def describe(self) -> dict[str, Any]:
        workers = []
        processes = [
            {
                "process": "master",
                "worker": None,
                "cpu_s": self.watch.cpu_seconds(),
                **summarise(self.watch.samples),
            }
        ]
        for info in sorted(self.workers.values(), key=lambda w: w.number):
            workers.append(
                {
                    "worker": info.number,
                    "host": info.host,
                    "pid": info.pid,
                    "records": self.collector.by_worker.get(info.number, 0),
                    "written": info.written,
                    "lost": info.lost,
                    "lost_at": info.lost_at,
                }
            )
            processes.append(
                {
                    "process": f"worker {info.number}",
                    "worker": info.number,
                    "cpu_s": info.cpu_s,
                    **summarise(info.samples),
                    "time_us": info.time_us,
                }
            )
        return {
            "mode": "distributed",
            "workers": workers,
            "processes": processes,
            # Answers the workers got after the stop instant: counted, never judged.
            "after_stop": sum(info.after_stop for info in self.workers.values()),
        }
