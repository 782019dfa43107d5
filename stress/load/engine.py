"""The Locust wiring of the load engine: the user class, the runners, master and workers.

This is the only module of stress that imports Locust. Importing Locust monkey-patches the
whole process with gevent, so the engine runs in a process of its own (``python -m
stress.load``), started by stress.run; it reads the run directory (scenario.yaml,
corpus.jsonl) and writes records/ and failures.jsonl into it. On stdout it writes one event
per line (stress.load.events: phase changes, progress, the end) for the parent process to
display; it never talks to the terminal itself.

What it wires together is Locust-free and tested alone: the plan (stress.load.plan: what to
send next, each answer judged and recorded), the reader (stress.load.reader: one request,
byte-exact, its answer read bounded), the phase loop (stress.load.driver) and the fleets
(stress.load.fleet, stress.load.workers).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.socket

# Locust's import monkey-patches the process with gevent. It must come before the project's
# own imports (pyarrow, pydantic, httpx-free code paths), which isort order guarantees here.
import locust
from geventhttpclient.url import URL
from locust import FastHttpUser, constant, events, task
from locust.env import Environment
from locust.runners import WorkerRunner
from pyarrow import Table, parquet

from stress.lifeline import die_with_parent, parent_gone
from stress.load import events as load_events
from stress.load.collect import BATCH_SECONDS, Collector, FailureSink
from stress.load.driver import Driver, Emit, Fleet
from stress.load.fleet import LocalFleet, MasterFleet, WorkersMissing
from stress.load.offloop import PartThreads, SteppedBatchWriter, share_the_gil
from stress.load.plan import Exchanged, Plan, build_plan
from stress.load.prepared import Heads
from stress.load.reader import Kept, Target, exact, fetch_kept
from stress.load.traffic import Traffic
from stress.load.workers import WorkerAgent
from stress.record import SCHEMA
from stress.rundir import layout
from stress.rundir.read import read_traces
from stress.rundir.write import write_json
from stress.scenario import PhaseKind, Scenario, from_path

# Every status is an answer to read (through the same capped path) and judge: Locust's
# client would otherwise raise on a 4xx/5xx after reading the whole body, unbounded, and
# decoding it as UTF-8 (an error body that is not UTF-8 then lost the request).
ANY_STATUS = frozenset(range(1000))

# Exit code of a load process whose workers did not all join (stress.run reports it).
WORKERS_MISSING = 3

assert locust.__version__  # the import above is deliberate, not unused

emit: Emit = load_events.write


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

    # Each request's head, encoded on its first send by any user of this process.
    heads = Heads()
    loop = gevent.get_hub().loop

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
            # Requests go out through the HTTPClient under Locust's session, byte-exact
            # (stress.load.reader): the session would add headers and follow redirects.
            assert self.host is not None
            self.http = exact(self.client.client.clientpool.get_client(URL(self.host)))
            self.target = Target.of(self.host)
            # The kept connection, and the exchange a drop of it is charged to.
            self.kept = Kept()
            self.previous: Exchanged | None = None

        @task
        def send(self) -> None:
            plan, traffic = state.plan, state.traffic
            if plan is None or traffic is None or plan.exhausted or plan.stop_at is not None:
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
                fetched = fetch_kept(
                    self.http,
                    request,
                    plan.timeout,
                    kept=self.kept,
                    host=self.target.host,
                    prefix=self.target.prefix,
                    stall=plan.stall,
                    max_bytes=plan.max_body_bytes,
                    heads=heads,
                )
                done = time.perf_counter()
                if loop.pendingcnt:
                    # Other answers are already here, waiting for the event loop: let their
                    # users read and time them before this one is judged and recorded, or
                    # each answer's latency would include the judging of those before it.
                    gevent.sleep(0)
                if fetched.dropped and fetched.blames_previous and self.previous:
                    plan.dropped(
                        self.previous,
                        fetched.dropped,
                        item,
                        sent_at,
                        fetched.dropped_started,
                        ticket.users,
                        ticket.phase,
                    )
                plan.finish(
                    seq,
                    item,
                    request,
                    sent_at,
                    fetched.started,
                    fetched.answer,
                    ticket.users,
                    ticket.phase,
                    ticket=ticket,
                    done=done,
                )
                self.previous = Exchanged(item, request, fetched.answer.status)
            finally:
                traffic.in_flight -= 1

    StressUser.host = host
    return StressUser


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
    collector = Collector(run_dir, tracked=_sweeps(scenario), background=PartThreads())
    plan.writer = SteppedBatchWriter(
        lambda table: collector.add(table, 0), max_seconds=BATCH_SECONDS
    )
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
    _on_signals(driver, plan)
    started = time.monotonic()
    settle()
    try:
        log = driver.run()
    finally:
        plan.writer.close()
        plan.failures.close()
        collector.close()
    runner.quit()
    # Answers that arrived after a signal's stop instant: counted, never judged.
    log["after_stop"] = plan.after_stop
    write_json(layout.load(run_dir), log)
    emit(
        load_events.Done(
            requests=collector.records,
            errors=collector.errors,
            records=collector.records,
            failures=plan.failures.lines,
            duration_s=round(time.monotonic() - started, 3),
        )
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
    collector = Collector(run_dir, tracked=_sweeps(scenario), background=PartThreads())
    user_class = make_user(LoadState(), None, timeout=scenario.target.timeout)
    # host=None: each worker keeps the URL it was given (``stress worker --target``).
    environment = Environment(
        user_classes=[user_class], host=None, stop_timeout=_stop_timeout(scenario)
    )
    runner = environment.create_master_runner(bind[0], bind[1])
    port = runner.server.port
    emit(load_events.Workers(bind=f"{bind[0]}:{port}", local=workers, expect=expect))
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
        _on_signals(driver, on_stop=fleet.stop)
        fleet.wait_ready(join_timeout)
        settle()
        write_json(layout.load(run_dir), driver.run())
    finally:
        failures.close()
        collector.close()
        runner.quit()
        _stop_processes(processes.values())
    emit(
        load_events.Done(
            requests=collector.records,
            errors=collector.errors,
            records=collector.records,
            failures=failures.lines,
            duration_s=round(time.monotonic() - started, 3),
        )
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


# Why the load stopped when `stress run` itself died (kill -9, OOM).
KILLED = "stress run was killed; the load process stopped with it"
# How long a SIGTERM's cause is looked into: a dying parent's threads exit within this.
_CAUSE_SECONDS = 2.0


def _on_signals(
    driver: Driver, plan: Plan | None = None, on_stop: Callable[[], None] | None = None
) -> None:
    """SIGINT/SIGTERM stop the load; ``plan`` (a single load process's) notes the stop
    instant, after which no answer is judged; a distributed master's ``on_stop`` tells its
    workers that instant (MasterFleet.stop), so theirs are not judged either."""
    parent = os.getppid()

    def look_into_the_cause() -> None:
        # The kernel's SIGTERM for a parent's death (lifeline.die_with_parent) can come while
        # the parent's other threads are still exiting: watch it die for a moment.
        deadline = time.monotonic() + _CAUSE_SECONDS
        while time.monotonic() < deadline:
            if parent_gone(parent):
                driver.name_the_stop(KILLED)
                return
            gevent.sleep(0.02)

    def stop(*_: object) -> None:
        if plan is not None and plan.stop_at is None:
            plan.stop_at = time.perf_counter()
        if on_stop is not None and not driver.stopping:
            on_stop()
        # SIGTERM with the parent gone: `stress run` died (kill -9, OOM) and the kernel told us;
        # say so rather than "interrupted".
        if parent_gone(parent):
            driver.stop_reason = KILLED
        elif not driver.stopping:
            gevent.spawn(look_into_the_cause)
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


def locustfile_user(*, target: str | None = None) -> type[FastHttpUser]:
    """The user class of stress/load/locustfile.py: Locust's own ``locust --worker`` loads
    it, and the WorkerRunner that Locust's command line creates joins the master's run (the
    one place in stress that uses Locust's global ``events``)."""
    user_class, attach = worker_user(target=target)

    def join(environment: Any, runner: Any, **_: Any) -> None:
        if isinstance(runner, WorkerRunner):
            attach(runner)

    events.init.add_listener(join)  # type: ignore[no-untyped-call]
    return user_class


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
    share_the_gil()
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
        emit(load_events.Error(message=f"{exc}{local}"))
        return WORKERS_MISSING
    return 0
