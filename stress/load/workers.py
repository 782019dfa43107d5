"""Distributed load: the messages between the master and its workers, and the worker's end.

Locust's own master/worker mode carries everything (ZeroMQ; custom messages registered with
``runner.register_message``), so a worker on another machine needs nothing but
``stress worker --master HOST:PORT``: the master sends it the scenario and the corpus, tells it
each step, and receives its records. Local workers (``stress run --workers N``) use the same
path over loopback.

    worker → master   stress_hello  {pid, host}                        once connected
    master → worker   stress_setup  {number, workers, scenario, corpus, url, max_requests}
    worker → master   stress_ready  {number}
    master → worker   stress_step   a step message (step_message) with this worker's share
    master → worker   stress_users  {users}                            ramps: the users label
    worker → master   stress_batch  {number, records (Arrow IPC), failures, counts, samples,
                                     final, written}                   4 times a second
    master → worker   stress_drain  {}     stop sending, finish in-flight requests, send a
                                           final batch (final: true, written: records sent)

Worker numbers start at 1 (0 is the single-process run); the pair (worker, seq) is unique
across a run. No Locust import here: runners and users come in as arguments.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import pyarrow as pa

from stress.load.collect import BATCH_SECONDS
from stress.load.offloop import SteppedBatchWriter
from stress.load.pacing import Schedule
from stress.load.phases import Step
from stress.load.selfwatch import SAMPLE_SECONDS, SelfWatch
from stress.load.shapes import Shape, ShapedSchedule
from stress.load.traffic import Traffic
from stress.rundir import layout
from stress.rundir.write import write_bytes, write_text

logger = logging.getLogger(__name__)

HELLO = "stress_hello"
SETUP = "stress_setup"
READY = "stress_ready"
STEP = "stress_step"
USERS = "stress_users"
BATCH = "stress_batch"
DRAIN = "stress_drain"
STOP = "stress_stop"
# How much earlier than its arrival a worker places the master's stop instant at most: the
# master's wall clock (time.time) converted to the worker's, where a host's clock may be off.
MAX_STOP_LAG = 1.0


def encode_table(table: pa.Table) -> bytes:
    """An Arrow table as IPC stream bytes (what a batch message carries)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def decode_table(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def step_seed(seed: int, phase: str, index: int | None, number: int, generation: int) -> int:
    """A seed per (scenario seed, step, worker, re-share): same run, same arrivals."""
    return zlib.crc32(f"{seed}:{phase}:{index}:{number}:{generation}".encode())


def step_message(
    step: Step, *, elapsed: float, users: int, share: float, offset: float, seed: int
) -> dict[str, Any]:
    """What a load process needs to run the rest of ``step`` from ``elapsed`` s into it."""
    remaining = max(step.duration - elapsed, 1e-3)
    start_rate = None
    if step.open_loop:
        assert step.rate is not None
        assert step.start_rate is not None
        fraction = min(elapsed / step.duration, 1.0)
        start_rate = step.start_rate + (step.rate - step.start_rate) * fraction
    message: dict[str, Any] = {
        "phase": step.phase,
        "index": step.index,
        "open": step.open_loop,
        "users": users,
        "start_rate": start_rate,
        "rate": step.rate,
        "duration": remaining,
        "arrival": step.arrival,
        "burstiness": step.burstiness,
        "seed": seed,
        "share": share,
        "offset": offset,
    }
    if step.shape is not None:
        # The rest of the shape from now; a trace's times are split here (this process's
        # every n-th), the rate's and the bursts' by the schedule from share and offset.
        count = max(1, round(1 / share))
        shape = step.shape.after(elapsed).share(round(offset * count), count)
        message["knots"] = [list(knot) for knot in shape.knots]
        message["bursts"] = [list(burst) for burst in shape.bursts]
        message["times"] = None if shape.times is None else list(shape.times)
        message["entries"] = None if shape.entries is None else list(shape.entries)
    return message


def apply_step(traffic: Traffic, message: dict[str, Any]) -> None:
    """Switch ``traffic`` to the step ``message`` describes, from now."""
    if not message["open"]:
        traffic.closed(message["phase"], message["index"], int(message["users"]))
        return
    traffic.open(message["phase"], message["index"], int(message["users"]), schedule_of(message))


def schedule_of(message: dict[str, Any]) -> Schedule | ShapedSchedule:
    """The arrival schedule of an open-loop step message, for this process."""
    duration, arrival = float(message["duration"]), str(message["arrival"])
    burstiness, seed = float(message["burstiness"]), int(message["seed"])
    share, offset = float(message["share"]), float(message["offset"])
    if message.get("knots") is None:
        return Schedule(
            start_rate=float(message["start_rate"]),
            end_rate=float(message["rate"]),
            duration=duration,
            arrival=arrival,
            burstiness=burstiness,
            seed=seed,
            share=share,
            offset=offset,
        )
    times, entries = message["times"], message.get("entries")
    shape = Shape(
        knots=tuple((float(t), float(r)) for t, r in message["knots"]),
        bursts=tuple((float(t), int(n)) for t, n in message["bursts"]),
        times=None if times is None else tuple(float(t) for t in times),
        entries=None if entries is None else tuple(int(e) for e in entries),
    )
    return ShapedSchedule(shape, duration, arrival, burstiness, seed, share, offset)


def stop_instant(at: float, *, wall: float, perf: float) -> float:
    """The master's stop instant ``at`` (its time.time) on this worker's perf_counter clock,
    given this worker's time.time ``wall`` and perf_counter ``perf`` now: never after now (the
    message has arrived) and at most MAX_STOP_LAG before it (another host's clock may be off:
    answers well before the stop are still judged)."""
    lag = min(max(wall - at, 0.0), MAX_STOP_LAG)
    return perf - lag


def watch_loop(watch: SelfWatch, on_sample: Callable[[], None] | None = None) -> None:
    """Greenlet body: measure event-loop lag continuously and sample CPU once a second."""
    tick = 0.05
    next_sample = time.monotonic() + SAMPLE_SECONDS
    while True:
        before = time.perf_counter()
        gevent.sleep(tick)
        watch.lag((time.perf_counter() - before - tick) * 1000)
        if time.monotonic() >= next_sample:
            next_sample += SAMPLE_SECONDS
            watch.sample()
            if on_sample is not None:
                on_sample()


class WorkerAgent:
    """The worker's end: set up from the master, follow its steps, ship records back.

    ``build(run_dir, url, number, workers, max_requests)`` returns the load process's Plan
    (stress.load.plan.build_plan), whose ``writer`` and ``failures`` the agent replaces with
    shipping ones; ``state`` is the holder the Locust user class reads plan and traffic from.
    """

    def __init__(
        self,
        runner: Any,
        state: Any,
        *,
        build: Callable[..., Any],
        on_setup: Callable[[dict[str, Any]], None],
        target: str | None = None,
    ) -> None:
        self.runner = runner
        self.state = state
        self.build = build
        self.on_setup = on_setup
        self.target = target
        self.number = 0
        self.watch = SelfWatch()
        self.directory = Path(tempfile.mkdtemp(prefix="stress-worker-"))
        self._samples_sent = 0
        self._finished = False
        runner.register_message(SETUP, self._setup)
        runner.register_message(STEP, self._step)
        runner.register_message(USERS, self._users)
        runner.register_message(DRAIN, self._drain, concurrent=True)
        runner.register_message(STOP, self._stop)
        gevent.spawn(watch_loop, self.watch)
        runner.send_message(HELLO, {"pid": os.getpid(), "host": socket.gethostname()})

    def _setup(self, environment: Any, msg: Any) -> None:
        data = msg.data
        self.number = int(data["number"])
        write_text(layout.scenario(self.directory), data["scenario"])
        write_bytes(layout.corpus(self.directory), data["corpus"])
        url = self.target or data["url"]
        plan = self.build(
            self.directory,
            url,
            number=self.number,
            workers=int(data["workers"]),
            max_requests=int(data["max_requests"]),
        )
        plan.writer = SteppedBatchWriter(self._ship, max_seconds=BATCH_SECONDS)
        self.state.plan = plan
        self.state.traffic = Traffic(max_wait=plan.timeout)
        self.on_setup({"url": url, "timeout": plan.timeout})
        gevent.spawn(self._flusher)
        self.runner.send_message(READY, {"number": self.number})

    def _step(self, environment: Any, msg: Any) -> None:
        if self.state.traffic is not None:
            apply_step(self.state.traffic, msg.data)

    def _users(self, environment: Any, msg: Any) -> None:
        if self.state.traffic is not None:
            self.state.traffic.set_users(int(msg.data["users"]))

    def _stop(self, environment: Any, msg: Any) -> None:
        """The master was stopped by a signal: from its stop instant on, this worker sends no
        request and judges no answer (stress.load.plan's ``stop_at``; counted ``after_stop``)."""
        plan = self.state.plan
        if plan is None or plan.stop_at is not None:
            return
        at = float(msg.data["at"])
        plan.stop_at = stop_instant(at, wall=time.time(), perf=time.perf_counter())

    def _flusher(self) -> None:
        while not self._finished:
            gevent.sleep(0.1)
            self.state.plan.writer.flush_if_due()
            if len(self.watch.samples) > self._samples_sent and not self._finished:
                self._send_batch(None, final=False)

    def _ship(self, table: pa.Table) -> None:
        self._send_batch(table, final=False)

    def _send_batch(self, table: pa.Table | None, *, final: bool) -> None:
        plan, traffic = self.state.plan, self.state.traffic
        failures = plan.failures.pending
        plan.failures.pending = []
        samples = self.watch.samples[self._samples_sent :]
        self._samples_sent += len(samples)
        self.runner.send_message(
            BATCH,
            {
                "number": self.number,
                "records": None if table is None else encode_table(table),
                "failures": failures,
                "counts": traffic.counts_list(),
                "samples": [[s.at, s.cpu, s.lag_ms] for s in samples],
                "final": final,
                "written": plan.writer.written + (0 if table is None else table.num_rows),
                "sent": plan.seq,
                "after_stop": plan.after_stop,
                "cpu_s": self.watch.cpu_seconds() if final else None,
                "time_us": plan.time_per_request(self.watch.cpu_seconds()) if final else None,
            },
        )

    def _drain(self, environment: Any, msg: Any) -> None:
        traffic, plan = self.state.traffic, self.state.plan
        if traffic is None or plan is None or self._finished:
            return
        traffic.draining = True
        traffic.wait_idle(plan.timeout + 1.0)
        traffic.idle()
        plan.writer.flush()
        self._finished = True
        self._send_batch(None, final=True)
