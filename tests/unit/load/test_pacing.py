"""Arrival schedules and the pacer, driven by a fake clock (no sleeping, no gevent)."""

from __future__ import annotations

import itertools
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stress.load.pacing import CONSTANT, POISSON, Counts, Pacer, Schedule


def test_constant_rate_is_evenly_spaced_and_exact() -> None:
    times = list(Schedule(start_rate=200, end_rate=200, duration=60).times())
    assert len(times) == 200 * 60
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(times)}
    assert gaps == {0.005}
    assert times[0] == 0.0
    assert times[-1] < 60


@given(
    start=st.floats(min_value=0, max_value=500),
    end=st.floats(min_value=1, max_value=500),
    duration=st.floats(min_value=0.5, max_value=30),
)
def test_constant_ramp_sends_the_integral_of_the_rate(
    start: float, end: float, duration: float
) -> None:
    schedule = Schedule(start_rate=start, end_rate=end, duration=duration)
    times = list(schedule.times())
    # Arrivals sit at Λ(t) = 0, 1, 2, ... below Λ(duration) = the mean rate × duration.
    assert len(times) == pytest.approx(schedule.expected(), abs=1.0)
    assert times == sorted(times)
    assert all(0 <= t < duration for t in times)


def test_a_ramp_sends_more_late_in_the_step_than_early() -> None:
    times = list(Schedule(start_rate=0, end_rate=200, duration=10).times())
    first_half = sum(1 for t in times if t < 5)
    # ∫0..5 of 20 t dt = 250, ∫5..10 = 750
    assert first_half == pytest.approx(250, abs=1)
    assert len(times) - first_half == pytest.approx(750, abs=1)


def test_poisson_is_seeded_and_has_the_requested_mean_rate() -> None:
    schedule = Schedule(start_rate=500, end_rate=500, duration=40, arrival=POISSON, seed=3)
    times = list(schedule.times())
    assert times == list(schedule.times())  # same seed, same arrivals
    other = list(
        Schedule(start_rate=500, end_rate=500, duration=40, arrival=POISSON, seed=4).times()
    )
    assert other != times
    # 20,000 expected; a Poisson count has sd √20000 ≈ 141: 4 sd is a wide margin.
    assert abs(len(times) - 20_000) < 600
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Exponential gaps: the standard deviation equals the mean.
    assert statistics.stdev(gaps) / statistics.mean(gaps) == pytest.approx(1.0, abs=0.05)


def test_burstiness_below_one_makes_gaps_more_variable() -> None:
    def cv(burstiness: float) -> float:
        times = list(
            Schedule(
                start_rate=500,
                end_rate=500,
                duration=40,
                arrival=POISSON,
                burstiness=burstiness,
                seed=1,
            ).times()
        )
        gaps = [b - a for a, b in itertools.pairwise(times)]
        return statistics.stdev(gaps) / statistics.mean(gaps)

    # Gamma gaps with shape k have a coefficient of variation of 1/√k.
    assert cv(0.25) == pytest.approx(2.0, rel=0.1)
    assert cv(4.0) == pytest.approx(0.5, rel=0.1)


def test_shares_with_offsets_interleave_into_one_even_stream() -> None:
    workers = 3
    merged = sorted(
        t
        for i in range(workers)
        for t in Schedule(
            start_rate=300, end_rate=300, duration=2, share=1 / workers, offset=i / workers
        ).times()
    )
    assert len(merged) == 600
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(merged)}
    assert gaps == {round(1 / 300, 9)}


def test_rate_at_follows_the_ramp() -> None:
    schedule = Schedule(start_rate=100, end_rate=300, duration=10, arrival=CONSTANT)
    assert schedule.rate_at(0) == 100
    assert schedule.rate_at(5) == 200
    assert schedule.rate_at(10) == 300
    assert schedule.rate_at(99) == 300


def test_a_rate_of_zero_sends_nothing() -> None:
    assert list(Schedule(start_rate=0, end_rate=0.0, duration=5).times()) == []


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacer_releases_arrivals_when_their_time_comes() -> None:
    clock = FakeClock()
    pacer = Pacer(Schedule(start_rate=10, end_rate=10, duration=1).times(), clock.now)
    assert pacer.due(clock.now) == [100.0]
    assert pacer.next_at() == pytest.approx(100.1)
    clock.now = 100.05
    assert pacer.due(clock.now) == []
    clock.now = 100.1
    assert pacer.due(clock.now) == [pytest.approx(100.1)]


def test_a_pacer_that_wakes_late_releases_everything_due_with_its_intended_times() -> None:
    pacer = Pacer(Schedule(start_rate=10, end_rate=10, duration=1).times(), 0.0)
    late = pacer.due(0.35)
    # The four arrivals keep their own times: their latency counts from then.
    assert late == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert pacer.released == 4
    assert pacer.due(5.0) == pytest.approx([0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    assert pacer.next_at() is None


def test_counts_add_up() -> None:
    total = Counts(1, 2, 3, 4)
    total.add(Counts(10, 20, 30, 40))
    assert total == Counts(11, 22, 33, 44)
