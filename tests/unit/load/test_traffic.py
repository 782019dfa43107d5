"""The open-loop pacer of stress.load.traffic with a fake clock: which slot gets an arrival,
and how late and unsent arrivals are counted. No timing assertions: the clock is the test's,
and the event loop only turns (short sleeps) to let the pacer and the slots run."""

from __future__ import annotations

import gevent
import pytest

from stress.load.pacing import Counts, Schedule
from stress.load.traffic import LATE_AFTER, Ticket, Traffic


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def turn(times: int = 3) -> None:
    """Let the event loop turn a few times (the pacer releases on every turn; a sleep of 0
    would only run the loop's callbacks, not a whole turn)."""
    for _ in range(times):
        gevent.sleep(0.001)


def opened(clock: FakeClock, *, rate: float = 100.0, max_wait: float = 5.0) -> Traffic:
    traffic = Traffic(max_wait=max_wait, precise=False, clock=clock)
    traffic.open("p", 0, 4, Schedule(start_rate=rate, end_rate=rate, duration=1.0))
    return traffic


def counts(traffic: Traffic) -> Counts:
    return traffic.counts[("p", 0)]


def test_a_due_arrival_goes_to_the_waiting_slot_and_is_not_late_even_if_released_late() -> None:
    clock = FakeClock()
    traffic = opened(clock)
    # Arrival 0 is due at 100.0; the first turn of the loop hands it to a waiting slot.
    slot = gevent.spawn(traffic.acquire)
    turn()
    first = slot.get(timeout=1)
    assert isinstance(first, Ticket)
    assert first.intended == 100.0
    assert not first.late
    # The next one (100.01) released 5 ms after its time, as a busy loop would: a slot was
    # waiting for it, so the tester's own delay is not a busy-slot wait.
    slot = gevent.spawn(traffic.acquire)
    turn()
    assert not slot.ready()  # not due yet: nothing released early
    clock.now = 100.015
    turn()
    second = slot.get(timeout=1)
    assert second.intended == pytest.approx(100.01)
    assert not second.late
    traffic.idle()
    assert counts(traffic) == Counts(scheduled=2, sent=2, late=0, unsent=0)


def test_arrivals_due_while_every_slot_is_busy_wait_and_are_late_after_two_ms() -> None:
    clock = FakeClock()
    traffic = opened(clock)
    clock.now = 100.03  # four arrivals due (100.00 to 100.03), no slot waiting
    turn()
    assert counts(traffic).scheduled == 4
    taken = [traffic.acquire() for _ in range(3)]
    assert [t.intended for t in taken if t] == pytest.approx([100.0, 100.01, 100.02])
    # 30 and 20 ms after their times: late; 10 ms: late too (>= LATE_AFTER).
    assert [t.late for t in taken if t] == [True, True, True]
    # The fourth is taken less than LATE_AFTER after its time: on time.
    clock.now = 100.03 + LATE_AFTER / 2
    fourth = traffic.acquire()
    assert fourth is not None
    assert fourth.intended == pytest.approx(100.03)
    assert not fourth.late
    traffic.idle()
    assert counts(traffic) == Counts(scheduled=4, sent=4, late=3, unsent=0)


def test_arrivals_still_waiting_when_the_step_ends_are_unsent() -> None:
    clock = FakeClock()
    traffic = opened(clock)
    clock.now = 100.045  # five due, no slot waiting
    turn()
    assert traffic.acquire() is not None
    traffic.idle()
    assert counts(traffic) == Counts(scheduled=5, sent=1, late=1, unsent=4)


def test_an_arrival_that_waited_past_the_timeout_is_unsent() -> None:
    clock = FakeClock()
    traffic = opened(clock, max_wait=0.5)
    turn()  # arrival 0 (100.0) released, no slot waiting
    clock.now = 100.6
    assert traffic.acquire() is None  # 0.6 s after its time: past max_wait
    traffic.idle()
    found = counts(traffic)
    assert found.unsent >= 1
    assert found.sent == 0


def test_slots_waiting_when_the_step_ends_are_let_go_and_a_new_step_starts_fresh() -> None:
    clock = FakeClock()
    traffic = opened(clock)
    turn()
    assert traffic.acquire() is not None  # arrival 0
    slots = [gevent.spawn(traffic.acquire) for _ in range(3)]
    turn()
    traffic.idle()
    turn()
    assert [slot.get(timeout=1) for slot in slots] == [None, None, None]
    traffic.open("q", 1, 4, Schedule(start_rate=10, end_rate=10, duration=1.0))
    slot = gevent.spawn(traffic.acquire)
    turn()
    ticket = slot.get(timeout=1)
    assert ticket is not None
    assert (ticket.phase, ticket.step, ticket.intended) == ("q", 1, clock.now)
    traffic.idle()
    assert traffic.counts[("q", 1)] == Counts(scheduled=1, sent=1, late=0, unsent=0)
    assert counts(traffic).unsent == 0


def test_a_finished_schedule_releases_nothing_more() -> None:
    clock = FakeClock()
    traffic = Traffic(max_wait=5.0, precise=False, clock=clock)
    traffic.open("p", 0, 4, Schedule(start_rate=2, end_rate=2, duration=1.0))
    clock.now = 105.0  # long after the step's two arrivals (100.0 and 100.5)
    turn()
    assert counts(traffic).scheduled == 2
    slot = gevent.spawn(traffic.acquire)
    assert traffic.acquire() is not None
    assert traffic.acquire() is not None
    turn()
    assert not slot.ready()  # waits: nothing more will come in this step
    traffic.idle()
    turn()
    assert slot.get(timeout=1) is None
    assert counts(traffic).scheduled == 2


def test_a_slot_that_finds_an_arrival_due_takes_it_without_a_turn_of_the_loop() -> None:
    clock = FakeClock()
    traffic = opened(clock)
    # Arrivals due at 100.00 and 100.01; no turn of the loop has released either.
    clock.now = 100.015
    first = gevent.spawn(traffic.acquire).get(timeout=1)  # no turn of the loop needed
    assert first is not None
    assert first.intended == 100.0
    assert counts(traffic).scheduled == 1  # one taken; the other left for the pacer
    # No other slot was waiting for it (every other one busy), 15 ms after its time: late.
    assert first.late
    traffic.idle()


def test_an_arrival_taken_directly_while_another_slot_waits_is_not_late() -> None:
    clock = FakeClock()
    traffic = opened(clock)
    assert traffic.acquire() is not None  # arrival 0, due now
    other = gevent.spawn(traffic.acquire)
    gevent.sleep(0)  # the other slot finds nothing due and waits (the loop has not turned)
    assert len(traffic._waiting) == 1
    clock.now = 100.015  # arrival 1 (100.01) is 5 ms overdue
    second = gevent.spawn(traffic.acquire).get(timeout=1)
    assert second is not None
    assert second.intended == pytest.approx(100.01)
    assert not second.late  # a slot was free for it: the delay is not a busy-slot wait
    other.kill()
    traffic.idle()
