"""The pacer's alarm: it calls back once the time it was set for has come, never before, with
a timerfd (Linux) and with the event loop's timer; moved or cancelled, the old time is gone.
Nothing here asserts how soon after its time an alarm fires (the benchmarks measure that)."""

from __future__ import annotations

import time

import gevent
import pytest

from stress.load import alarm as alarm_module
from stress.load.alarm import PRECISE_FROM, Alarm

KINDS = [
    pytest.param(True, id="timerfd"),
    pytest.param(False, id="loop-timer"),
]


def _needs(precise: bool) -> None:
    if precise and alarm_module._LIBC is None:
        pytest.skip("no timerfd here (Linux only)")


class Calls:
    def __init__(self) -> None:
        self.at: list[float] = []

    def __call__(self) -> None:
        self.at.append(time.perf_counter())


def wait_for(calls: Calls, count: int, limit: float = 2.0) -> None:
    deadline = time.perf_counter() + limit
    while len(calls.at) < count and time.perf_counter() < deadline:
        gevent.sleep(0.005)


@pytest.mark.parametrize("precise", KINDS)
def test_the_alarm_calls_back_once_and_not_before_its_time(precise: bool) -> None:
    _needs(precise)
    calls = Calls()
    alarm = Alarm(calls, precise=precise)
    assert alarm.precise is precise
    now = time.perf_counter()
    when = now + 0.02 + 0.0003  # not a whole number of milliseconds
    alarm.at(when, now)
    assert alarm.when == when
    wait_for(calls, 1)
    gevent.sleep(0.03)
    assert len(calls.at) == 1
    assert calls.at[0] >= when
    assert alarm.when is None
    alarm.close()


@pytest.mark.parametrize("precise", KINDS)
def test_a_moved_alarm_goes_off_at_its_new_time_only(precise: bool) -> None:
    _needs(precise)
    calls = Calls()
    alarm = Alarm(calls, precise=precise)
    now = time.perf_counter()
    alarm.at(now + 0.01, now)
    alarm.at(now + 0.06, now)
    wait_for(calls, 1)
    gevent.sleep(0.03)
    assert len(calls.at) == 1
    assert calls.at[0] >= now + 0.06
    alarm.close()


@pytest.mark.parametrize("precise", KINDS)
def test_a_cancelled_alarm_does_not_go_off(precise: bool) -> None:
    _needs(precise)
    calls = Calls()
    alarm = Alarm(calls, precise=precise)
    now = time.perf_counter()
    alarm.at(now + 0.01, now)
    alarm.cancel()
    assert alarm.when is None
    gevent.sleep(0.05)
    assert calls.at == []
    alarm.close()


def test_a_near_arrival_is_left_to_the_loop_timer_even_with_a_timerfd() -> None:
    _needs(True)
    calls = Calls()
    alarm = Alarm(calls, precise=True)
    now = time.perf_counter()
    alarm.at(now + PRECISE_FROM / 2, now)
    assert alarm._timer is not None  # the cheap timer, not a timerfd wake-up
    assert not alarm._fd_armed
    alarm.at(now + PRECISE_FROM * 5, now)
    assert alarm._timer is None
    assert alarm._fd_armed
    wait_for(calls, 1)
    assert len(calls.at) == 1
    assert calls.at[0] >= now + PRECISE_FROM * 5
    alarm.close()
