"""Arrival shapes (daily curve, spikes, bursts, traces) as pure schedules, and the replay of
a trace through the step messages and the pacer with a fake clock (no sleeping)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stress.load import shapes
from stress.load.pacing import POISSON, Pacer
from stress.load.phases import Step, plan
from stress.load.shapes import Shape, ShapedSchedule, Spike
from stress.load.trace import offsets, read_arrivals
from stress.load.workers import schedule_of, step_message
from stress.scenario import Scenario, from_dict


def scenario(phases: list[dict[str, Any]]) -> Scenario:
    return from_dict(
        {
            "name": "t",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat"},
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {"phases": phases},
        }
    )


def day(**phase: Any) -> Step:
    spec = {"name": "day", "kind": "daily", "rate": 50, "min_rate": 5, "duration": "10m"}
    return plan(scenario([{**spec, **phase}]).load.phases)[0][0]


def test_a_day_has_its_trough_at_night_and_its_peak_in_the_afternoon() -> None:
    step = day()
    assert step.shape is not None
    rate = step.rate_at
    # 10 minutes are 24 hours: 04:00 is at 100 s, 14:24 (peak_at 0.6) at 360 s.
    assert rate(100) == pytest.approx(5, abs=0.01)
    assert rate(360) == pytest.approx(50, abs=0.01)
    # A morning rise and an evening fall, each monotonic.
    morning = [rate(t) for t in range(100, 361, 10)]
    evening = [rate(t) for t in range(360, 600, 10)]
    assert morning == sorted(morning)
    assert evening == sorted(evening, reverse=True)
    assert step.rate == pytest.approx(50, abs=0.01)


def test_a_day_sends_the_integral_of_its_curve_and_more_at_the_peak() -> None:
    step = day(arrival="poisson")
    assert step.shape is not None
    schedule = ShapedSchedule(step.shape, step.duration, arrival=POISSON, seed=11)
    times = list(schedule.times())
    # The curve's integral, by the trapezoid rule on a fine grid.
    grid = [step.shape.rate_at(t / 10) for t in range(6001)]
    integral = sum((a + b) / 2 * 0.1 for a, b in itertools.pairwise(grid))
    assert schedule.expected() == pytest.approx(integral, rel=1e-3)
    # A Poisson count of ~16,500 has sd ≈ 128: 5 sd.
    assert abs(len(times) - integral) < 650
    assert times == sorted(times)
    assert times == list(
        ShapedSchedule(step.shape, step.duration, arrival=POISSON, seed=11).times()
    )
    peak = sum(1 for t in times if 330 <= t < 390)
    trough = sum(1 for t in times if 70 <= t < 130)
    assert peak > 5 * trough


def test_where_the_day_peaks_is_the_scenarios_choice() -> None:
    step = day(peak_at=0.8, trough_at=0.25)
    assert step.rate_at(480) == pytest.approx(50, abs=0.01)
    assert step.rate_at(150) == pytest.approx(5, abs=0.01)


def test_spikes_replace_or_multiply_the_rate_in_their_window() -> None:
    knots = shapes.with_spikes(
        shapes.constant_knots(20, 20, 120),
        [Spike(at=30, duration=5, rate=200), Spike(at=60, duration=10, factor=3)],
    )
    shape = Shape(knots)
    assert shape.rate_at(29.9) == 20
    assert shape.rate_at(30) == 200
    assert shape.rate_at(34.9) == 200
    assert shape.rate_at(35) == 20
    assert shape.rate_at(65) == 60
    times = list(ShapedSchedule(shape, 120).times())
    assert len(times) == 20 * 105 + 200 * 5 + 60 * 10
    assert sum(1 for t in times if 30 <= t < 35) == 1000


def test_a_spike_on_a_ramp_multiplies_the_ramp() -> None:
    knots = shapes.with_spikes(
        shapes.constant_knots(0, 100, 10), [Spike(at=4, duration=2, factor=2)]
    )
    shape = Shape(knots)
    assert shape.rate_at(5) == pytest.approx(100)
    assert shape.rate_at(7) == pytest.approx(70)
    # ∫ of the ramp (500) plus the spike's extra ∫4..6 of 10t dt (100).
    assert shape.cumulative(10) == pytest.approx(600)


def test_bursts_send_their_size_at_once_on_top_of_the_rate() -> None:
    bursts = shapes.bursts_every(every=20, size=50, duration=120)
    assert bursts == ((20, 50), (40, 50), (60, 50), (80, 50), (100, 50))
    shape = Shape(shapes.constant_knots(10, 10, 120), bursts=bursts)
    times = list(ShapedSchedule(shape, 120).times())
    assert len(times) == 1200 + 250
    assert times.count(40.0) == 50 + 1  # the burst and the rate's own arrival at 40 s
    assert times == sorted(times)
    assert shapes.bursts_every(every=20, size=5, duration=60, start=5) == (
        (5, 5),
        (25, 5),
        (45, 5),
    )


@given(workers=st.integers(min_value=2, max_value=5), size=st.integers(min_value=1, max_value=9))
def test_workers_split_a_shape_without_losing_or_repeating_arrivals(
    workers: int, size: int
) -> None:
    knots = shapes.with_spikes(shapes.constant_knots(7, 7, 30), [Spike(at=10, duration=3, rate=40)])
    shape = Shape(knots, bursts=shapes.bursts_every(every=7, size=size, duration=30))
    whole = list(ShapedSchedule(shape, 30).times())
    parts = [
        list(ShapedSchedule(shape, 30, share=1 / workers, offset=i / workers).times())
        for i in range(workers)
    ]
    merged = sorted(itertools.chain.from_iterable(parts))
    assert len(merged) == len(whole)
    assert merged == pytest.approx(whole, abs=1e-9)
    expected = [
        ShapedSchedule(shape, 30, share=1 / workers, offset=i / workers) for i in range(workers)
    ]
    assert sum(s.expected() for s in expected) == pytest.approx(len(whole), abs=workers)


def test_the_rest_of_a_shape_starts_where_it_was_cut() -> None:
    shape = Shape(shapes.constant_knots(0, 100, 10), bursts=((2, 5), (8, 5)), times=None)
    rest = shape.after(5)
    assert rest.rate_at(0) == pytest.approx(50)
    assert rest.rate_at(5) == pytest.approx(100)
    assert rest.bursts == ((3, 5),)
    assert rest.cumulative(5) == pytest.approx(shape.cumulative(10) - shape.cumulative(5))


# --- traces ---

TRACE = [
    "2026-11-02T09:00:00.000Z",
    "2026-11-02T09:00:00.500Z",
    "2026-11-02T09:00:02.000Z",
    "2026-11-02T09:00:02.000Z",
    "2026-11-02T09:00:03.250Z",
    "2026-11-02T09:00:07.000Z",
    "2026-11-02T09:00:10.000Z",
]


def write_trace(tmp_path: Path) -> Path:
    path = tmp_path / "trace.jsonl"
    lines = [f'{{"timestamp": "{t}", "status": 200}}' for t in TRACE]
    # Logs need not be in time order: the replay sorts them.
    lines[1], lines[4] = lines[4], lines[1]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_trace_offsets_are_the_timestamps_from_the_first_divided_by_speed(tmp_path: Path) -> None:
    times = read_arrivals(write_trace(tmp_path))
    assert shapes.trace_offsets(times, speed=2) == pytest.approx(
        (0, 0.25, 1, 1, 1.625, 3.5, 5), abs=1e-6
    )
    # Span 10 s, 7 arrivals: a mean gap more, so the last one is inside the phase.
    assert shapes.trace_length(shapes.trace_offsets(times, 2)) == pytest.approx(5 * 7 / 6)


def trace_steps(tmp_path: Path, speed: float, **phase: Any) -> tuple[Step, tuple[float, ...]]:
    path = write_trace(tmp_path)
    spec = scenario(
        [{"name": "replay", "kind": "trace", "path": str(path), "speed": speed, **phase}]
    )
    spec_phase = spec.load.phases[0]
    arrivals = offsets(spec_phase)
    duration = spec_phase.duration or shapes.trace_length(arrivals)
    spec_phase = spec_phase.model_copy(update={"duration": duration})
    [[step]] = plan([spec_phase], {"replay": arrivals})
    return step, arrivals


def release(message: dict[str, Any], start: float, ticks: list[float]) -> list[float]:
    """Run a pacer over ``message``'s schedule with a fake clock; the intended times."""
    pacer = Pacer(schedule_of(message).times(), start)
    released: list[float] = []
    for now in ticks:
        released += pacer.due(now)
    assert pacer.next_at() is None
    return released


@pytest.mark.parametrize("speed", [1, 4, 0.5])
def test_a_trace_is_paced_at_its_timestamps_over_speed(tmp_path: Path, speed: float) -> None:
    step, arrivals = trace_steps(tmp_path, speed)
    assert step.open_loop
    message = step_message(step, elapsed=0, users=10, share=1, offset=0, seed=1)
    start = 5000.0
    # The fake clock moves in 10 ms ticks past the end: nothing sleeps.
    ticks = [start + k * 0.01 for k in range(int(step.duration / 0.01) + 2)]
    released = release(message, start, ticks)
    expected = [(t - 0.0) / speed for t in (0, 0.5, 2, 2, 3.25, 7, 10)]
    assert [t - start for t in released] == pytest.approx(expected, abs=1e-6)
    assert arrivals == pytest.approx(expected, abs=1e-6)
    # Each arrival is released at the first tick at or after its time, never before.
    schedule = schedule_of(message)
    assert schedule.rate_at(0) > 0


def test_workers_share_a_trace_without_losing_or_repeating_arrivals(tmp_path: Path) -> None:
    step, arrivals = trace_steps(tmp_path, 1)
    workers = 3
    parts = []
    for position in range(workers):
        message = step_message(
            step, elapsed=0, users=10, share=1 / workers, offset=position / workers, seed=position
        )
        parts.append(release(message, 0.0, [100.0]))
    assert sorted(itertools.chain.from_iterable(parts)) == pytest.approx(list(arrivals))
    assert [len(p) for p in parts] == [3, 2, 2]


def test_a_reshare_mid_trace_sends_the_rest_from_then(tmp_path: Path) -> None:
    step, _ = trace_steps(tmp_path, 1)
    # A worker was lost 2.5 s in: the two left share what is still to come.
    rest = []
    for position in range(2):
        message = step_message(
            step, elapsed=2.5, users=10, share=0.5, offset=position / 2, seed=position
        )
        rest += release(message, 0.0, [100.0])
    assert sorted(rest) == pytest.approx([3.25 - 2.5, 7 - 2.5, 10 - 2.5])


def test_a_trace_duration_cuts_the_replay(tmp_path: Path) -> None:
    step, _ = trace_steps(tmp_path, 1, duration="5s")
    message = step_message(step, elapsed=0, users=10, share=1, offset=0, seed=1)
    assert release(message, 0.0, [100.0]) == pytest.approx([0, 0.5, 2, 2, 3.25])


def test_a_traces_offered_rate_counts_its_arrivals(tmp_path: Path) -> None:
    step, arrivals = trace_steps(tmp_path, 1)
    assert step.shape is not None
    # Bins of one second: two arrivals in [2, 3).
    assert step.rate_at(2.5) == pytest.approx(2)
    assert step.rate_at(5) == 0
    assert step.shape.cumulative(step.duration) == pytest.approx(len(arrivals))
