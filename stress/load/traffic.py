"""What a load process's users do right now: send back to back (closed loop), send when an
arrival is due (open loop), or wait. One Traffic per load process; every Locust user asks it
for a Ticket before each request.

Open loop: a pacer greenlet releases the step's arrivals (stress.load.pacing) into a queue at
their intended times; the users are the in-flight slots and take arrivals from the queue. An
arrival released while every slot is busy waits for one, and is counted late when it leaves
LATE_AFTER or more after its intended time; one still waiting after the target's timeout, or
when the step ends, is counted unsent (k6's dropped iterations). Its latency is measured from
its intended time either way. Uses gevent (the load
process is gevent-patched by Locust); no Locust import.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from typing import Any

import gevent
import gevent.event
import gevent.queue

from stress.load.pacing import Counts, Pacer, Schedule, is_late
from stress.load.shapes import ShapedSchedule

IDLE = "idle"
CLOSED = "closed"
OPEN = "open"
# How long an idle user waits for an arrival before looking at the traffic mode again.
POLL_SECONDS = 0.1
# The event loop's timers wait in whole milliseconds (epoll), so a sleep ends up to 1 ms
# late; before an arrival at least 2 × this far off, the pacer wakes this much early and
# yields until it is due: the send lag falls from about 0.8 ms to under 0.1 ms (median, at
# 200 requests/s) for a few percent of a core.
EARLY_WAKE = 0.0005
# An arrival that waited for a busy slot counts as late once it leaves this much after its
# intended time: twice the timer granularity, so the tester's own jitter is not counted.
LATE_AFTER = 0.002


@dataclass(slots=True)  # not frozen: built per request (a frozen one costs more)
class Ticket:
    """Permission for one request, with what its record needs to say about when and why.

    ``intended`` is a time.perf_counter reading (open loop), ``intended_at`` the same instant
    as Unix time; both None in the closed loop, where a request is due when it is sent.
    ``entry``: the log entry this arrival sends (a trace with inputs: logged), else None.
    """

    phase: str
    step: int | None
    users: int
    intended: float | None = None
    intended_at: float | None = None
    late: bool | None = None
    offered_rate: float | None = None
    entry: int | None = None


StepKey = tuple[str, int | None]


class Traffic:
    """The current phase, step and mode of one load process, and its arrival queue."""

    def __init__(self, *, max_wait: float) -> None:
        self.mode = IDLE
        self.max_wait = max_wait
        self.in_flight = 0
        self.draining = False
        self.counts: dict[StepKey, Counts] = collections.defaultdict(Counts)
        self._ticket = Ticket(phase="", step=None, users=0)
        # (intended time, found every slot busy, step generation, log entry or None)
        self._queue: gevent.queue.Queue[tuple[float, bool, int, int | None]] = gevent.queue.Queue()
        self._idle = 0
        self._generation = 0
        self._schedule: Schedule | ShapedSchedule | None = None
        self._start = 0.0
        self._epoch = 0.0
        self._pacer: gevent.Greenlet[Any, Any] | None = None
        # Set when the mode changes, so idle users start waiting for arrivals at once.
        self._changed = gevent.event.Event()

    @property
    def phase(self) -> str:
        return self._ticket.phase

    @property
    def step(self) -> int | None:
        return self._ticket.step

    @property
    def users(self) -> int:
        return self._ticket.users

    def closed(self, phase: str, step: int | None, users: int) -> None:
        """Users send back to back from now on."""
        self._stop_pacer()
        self._ticket = Ticket(phase=phase, step=step, users=users)
        self.mode = CLOSED
        self._wake()

    def open(
        self, phase: str, step: int | None, users: int, schedule: Schedule | ShapedSchedule
    ) -> None:
        """Users send at ``schedule``'s times from now on (the schedule starts now)."""
        self._stop_pacer()
        self._ticket = Ticket(phase=phase, step=step, users=users)
        self._schedule = schedule
        self._start = time.perf_counter()
        self._epoch = time.time()
        self.mode = OPEN
        self._wake()  # before the pacer starts: slots must be waiting for its first arrival
        pacer = Pacer(schedule.times(), self._start)
        self._pacer = gevent.spawn(self._pace, pacer, self._generation)

    def set_users(self, users: int) -> None:
        """The users the records report (a ramp changes it while the step runs)."""
        if users != self._ticket.users:
            ticket = self._ticket
            self._ticket = Ticket(phase=ticket.phase, step=ticket.step, users=users)

    def idle(self) -> None:
        """No more requests until the next step (arrivals still waiting become unsent)."""
        self._stop_pacer()
        self.mode = IDLE

    def acquire(self) -> Ticket | None:
        """The next request's ticket; None (after a short wait) when there is nothing to send."""
        if self.draining or self.mode == IDLE:
            self._changed.wait(timeout=POLL_SECONDS)
            if self.draining or self.mode == IDLE:
                return None
            # Woken by a new step: go straight on to wait for its first arrival.
        if self.mode == CLOSED:
            ticket = self._ticket
            self.counts[(ticket.phase, ticket.step)].sent += 1
            return ticket
        self._idle += 1
        try:
            intended, queued, generation, entry = self._queue.get(timeout=POLL_SECONDS)
        except gevent.queue.Empty:
            return None
        finally:
            self._idle -= 1
        ticket = self._ticket
        if generation != self._generation:
            return None  # released by a step that has ended (already counted unsent)
        counts = self.counts[(ticket.phase, ticket.step)]
        now = time.perf_counter()
        if now - intended > self.max_wait or self.draining:
            counts.unsent += 1
            return None
        counts.sent += 1
        # Late: it found every slot busy when it was due and left noticeably after its time
        # (a slot that frees a few microseconds later does not make an arrival late).
        late = queued and now - intended >= LATE_AFTER
        if late:
            counts.late += 1
        assert self._schedule is not None
        offset = intended - self._start
        return Ticket(
            phase=ticket.phase,
            step=ticket.step,
            users=ticket.users,
            intended=intended,
            intended_at=self._epoch + offset,
            late=late,
            offered_rate=self._schedule.rate_at(offset),
            entry=entry,
        )

    def _wake(self) -> None:
        self._changed.set()
        self._changed = gevent.event.Event()

    def _pace(self, pacer: Pacer, generation: int) -> None:
        counts = self.counts[(self._ticket.phase, self._ticket.step)]
        queue = self._queue
        schedule = self._schedule
        # Arrival k of a trace of logged requests sends the schedule's k-th entry.
        entry_of = schedule.entry if isinstance(schedule, ShapedSchedule) else None
        released = 0
        while generation == self._generation:
            for intended in pacer.due(time.perf_counter()):
                counts.scheduled += 1
                entry = None if entry_of is None else entry_of(released)
                released += 1
                queue.put((intended, is_late(self._idle, queue.qsize()), generation, entry))
            upcoming = pacer.next_at()
            if upcoming is None:
                return
            wait = upcoming - time.perf_counter()
            if wait >= 2 * EARLY_WAKE:
                gevent.sleep(wait - EARLY_WAKE)
                while time.perf_counter() < upcoming:
                    gevent.sleep(0)  # yield (the loop serves ready sockets) until due
            elif wait > 0:
                # Arrivals under a millisecond apart: no spinning, the timer's lateness
                # releases a few at once, each with its own intended time.
                gevent.sleep(wait)

    def _stop_pacer(self) -> None:
        self._generation += 1
        pacer, self._pacer = self._pacer, None
        if pacer is not None:
            pacer.kill(block=False)
        counts = self.counts[(self._ticket.phase, self._ticket.step)]
        while True:
            try:
                self._queue.get_nowait()
            except gevent.queue.Empty:
                break
            counts.unsent += 1

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is in flight (at most ``timeout`` s); True when none is."""
        deadline = time.monotonic() + timeout
        while self.in_flight > 0 and time.monotonic() < deadline:
            gevent.sleep(0.02)
        return self.in_flight == 0

    def counts_list(self) -> list[list[Any]]:
        """The counts as msgpack-friendly rows: [phase, step, scheduled, sent, late, unsent]."""
        return [
            [phase, step, c.scheduled, c.sent, c.late, c.unsent]
            for (phase, step), c in self.counts.items()
        ]
