"""What a load process's users do right now: send back to back (closed loop), send when an
arrival is due (open loop), or wait. One Traffic per load process; every Locust user asks it
for a Ticket before each request.

Open loop: the users are the in-flight slots. The pacer releases the step's arrivals
(stress.load.pacing) at their intended times from the event loop itself: on every turn of
the loop (a check watcher) and, when the loop would otherwise sleep, from an alarm
(stress.load.alarm). A released arrival goes straight to a slot waiting for one (switched to
at once, so it is sent within the same turn of the loop); with every slot busy it waits in a
queue for the next slot that frees, and is counted late when it leaves LATE_AFTER or more
after its intended time. One still waiting after the target's timeout, or when the step
ends, is counted unsent (k6's dropped iterations). Its latency is measured from its intended
time either way. Uses gevent (the load process is gevent-patched by Locust); no Locust import.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
import gevent.event
from gevent.hub import Waiter

from stress.load.alarm import Alarm
from stress.load.pacing import Counts, Pacer, Schedule
from stress.load.shapes import ShapedSchedule

IDLE = "idle"
CLOSED = "closed"
OPEN = "open"
# How long a user waits for a closed or open step to begin before looking again.
POLL_SECONDS = 0.1
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
# A released arrival: intended time, found every slot busy, step generation, log entry or
# None, and the counts of the step that released it.
Arrival = tuple[float, bool, int, int | None, Counts]


class Traffic:
    """The current phase, step and mode of one load process, and its open-loop pacer."""

    def __init__(
        self,
        *,
        max_wait: float,
        precise: bool = True,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.mode = IDLE
        self._clock = clock
        self.max_wait = max_wait
        self.in_flight = 0
        self.draining = False
        self.counts: dict[StepKey, Counts] = collections.defaultdict(Counts)
        self._ticket = Ticket(phase="", step=None, users=0)
        self._hub = gevent.get_hub()
        # Arrivals released while every slot was busy, oldest first; slots waiting for one.
        self._queue: collections.deque[Arrival] = collections.deque()
        self._waiting: collections.deque[Waiter[Arrival | None]] = collections.deque()
        self._generation = 0
        self._schedule: Schedule | ShapedSchedule | None = None
        self._start = 0.0
        self._epoch = 0.0
        self._pacer: Pacer | None = None
        self._step_counts = Counts()
        self._entry_of: Any = None
        self._released = 0
        # The pacer runs on every turn of the event loop while a step is open, and from the
        # alarm when the loop would sleep past the next arrival.
        self._turn = self._hub.loop.check()
        self._turn.ref = False
        self._alarm = Alarm(self._release, precise=precise)
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
        self._start = self._clock()
        self._epoch = time.time()
        self.mode = OPEN
        self._wake()  # slots waiting for a step go on to wait for its first arrival
        self._step_counts = self.counts[(phase, step)]
        # Arrival k of a trace of logged requests sends the schedule's k-th entry.
        self._entry_of = schedule.entry if isinstance(schedule, ShapedSchedule) else None
        self._released = 0
        self._pacer = Pacer(schedule.times(), self._start)
        self._turn.start(self._release)
        self._arm(self._clock())

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
        arrival = self._next_arrival()
        if arrival is None:
            return None
        intended, queued, generation, entry, counts = arrival
        if generation != self._generation:
            counts.unsent += 1  # released by a step that has ended before a slot took it
            return None
        ticket = self._ticket
        now = self._clock()
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

    def _next_arrival(self) -> Arrival | None:
        """The oldest arrival waiting for a slot, else the next one released (this slot
        waits for it; None when the step ends first)."""
        if self._queue:
            return self._queue.popleft()
        pacer = self._pacer
        if pacer is not None:
            upcoming = pacer.next_at()
            if upcoming is not None and upcoming <= self._clock():
                # Already due: this slot takes it without a turn of the loop. It waited for a
                # slot when no other slot is waiting for one (every other one is busy).
                return self._arrival(pacer.take(), queued=not self._waiting)
        waiter: Waiter[Arrival | None] = Waiter(self._hub)
        self._waiting.append(waiter)
        try:
            arrival: Arrival | None = waiter.get()
            return arrival
        finally:
            if waiter in self._waiting:  # killed while waiting (the runner stops users)
                self._waiting.remove(waiter)

    def _arrival(self, intended: float, *, queued: bool) -> Arrival:
        """The arrival due at ``intended``, released now (counted as scheduled); ``queued``:
        no slot was waiting for it."""
        counts = self._step_counts
        counts.scheduled += 1
        entry = None if self._entry_of is None else self._entry_of(self._released)
        self._released += 1
        return (intended, queued, self._generation, entry, counts)

    def _release(self) -> None:
        """Hand every arrival that has come due to a waiting slot (switched to at once) or,
        with none waiting, to the queue; then set the alarm for the next one. Runs in the
        event loop's own greenlet (check watcher and alarm callbacks)."""
        pacer = self._pacer
        if pacer is None:
            return
        now = self._clock()
        upcoming = pacer.next_at()
        if upcoming is not None and upcoming <= now:
            waiting, queue = self._waiting, self._queue
            for intended in pacer.due(now):
                arrival = self._arrival(intended, queued=not waiting)
                if waiting:
                    # The slot runs now, until its request is out, then the loop returns here.
                    waiting.popleft().switch(arrival)
                else:
                    queue.append(arrival)
                if self._pacer is not pacer:
                    return  # the step ended while a slot ran
            now = self._clock()
        self._arm(now)

    def _arm(self, now: float) -> None:
        pacer = self._pacer
        upcoming = None if pacer is None else pacer.next_at()
        if upcoming is None:
            self._turn.stop()
            self._alarm.cancel()
        elif upcoming != self._alarm.when:  # most turns of the loop release nothing
            self._alarm.at(upcoming, now)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = gevent.event.Event()

    def _stop_pacer(self) -> None:
        self._generation += 1
        self._pacer = None
        self._turn.stop()
        self._alarm.cancel()
        for arrival in self._queue:
            arrival[4].unsent += 1  # its step's counts
        self._queue.clear()
        # Slots waiting for an arrival of the step that ends look at the mode again.
        while self._waiting:
            self._hub.loop.run_callback(self._waiting.popleft().switch, None)

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
