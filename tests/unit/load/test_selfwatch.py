"""The tester's view of itself: samples, saturation runs, what load.json keeps."""

from __future__ import annotations

from types import SimpleNamespace

from stress.load.fleet import Saturation
from stress.load.selfwatch import Sample, SelfWatch, summarise


class FakeProcess:
    def __init__(self, readings: list[float]) -> None:
        self.readings = [0.0, *readings]

    def cpu_percent(self, interval: object) -> float:
        return self.readings.pop(0)

    def cpu_times(self) -> SimpleNamespace:
        used = sum(self.readings)  # CPU time grows as readings are taken
        return SimpleNamespace(user=1000 - used, system=0.5)


def test_two_busy_seconds_in_a_row_make_a_saturated_process() -> None:
    clock = iter(range(100))
    watch = SelfWatch(process=FakeProcess([95, 50, 97, 99, 99, 10]), clock=lambda: next(clock))
    became = [watch.sample()[1] for _ in range(6)]
    assert became == [False, False, False, True, False, False]
    assert not watch.saturated
    assert [s.cpu for s in watch.samples] == [95, 50, 97, 99, 99, 10]
    assert watch.cpu_seconds() == 95 + 50 + 97 + 99 + 99 + 10


def test_event_loop_lag_alone_saturates() -> None:
    watch = SelfWatch(process=FakeProcess([5, 5]), clock=lambda: 0.0)
    watch.lag(80.0)
    first, _ = watch.sample()
    assert first.lag_ms == 80.0
    assert first.busy
    second, _ = watch.sample()
    assert second.lag_ms == 0.0  # lag is the worst since the previous sample


def test_summarise_counts_saturated_seconds() -> None:
    samples = [Sample(i, cpu, 1.0) for i, cpu in enumerate([99, 20, 95, 96, 97, 10])]
    assert summarise(samples) == {
        "samples": 6,
        "cpu_mean": 69.5,
        "cpu_max": 99.0,
        "lag_max_ms": 1.0,
        "saturated_s": 3.0,
    }
    assert summarise([])["saturated_s"] == 0


def test_saturation_reports_each_episode_once() -> None:
    tracker = Saturation()
    busy, idle = Sample(0, 99, 0), Sample(0, 5, 0)
    assert [tracker.feed(s) for s in (busy, busy, busy, idle, busy, busy)] == [
        False,
        True,
        False,
        False,
        False,
        True,
    ]
