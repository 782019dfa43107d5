"""Phases become steps: steady, soak, ramp, step and sweep, closed and open loop."""

from __future__ import annotations

from typing import Any

import pytest

from stress.load.phases import plan, step_values, steps_of
from stress.scenario import Phase, PhaseKind


def phase(**fields: Any) -> Phase:
    return Phase.model_validate({"name": "p", **fields})


def test_a_classic_phase_is_one_closed_loop_steady_step() -> None:
    (step,) = steps_of(phase(users=8, spawn_rate=4, duration="30s"))
    assert step.kind is PhaseKind.STEADY
    assert (step.users, step.spawn_rate, step.duration, step.index) == (8, 4.0, 30.0, None)
    assert not step.open_loop
    assert step.slots == 8


def test_an_open_loop_phase_has_its_in_flight_cap_as_slots() -> None:
    (step,) = steps_of(phase(rate=200, arrival="poisson", max_in_flight=64, duration="1m"))
    assert step.open_loop
    assert (step.rate, step.start_rate, step.slots, step.arrival) == (200, 200, 64, "poisson")


def test_soak_is_steady_under_another_name() -> None:
    (step,) = steps_of(phase(kind="soak", users=3, duration="2h"))
    assert (step.kind, step.users, step.duration) == (PhaseKind.SOAK, 3, 7200.0)


def test_a_rate_ramp_starts_where_the_previous_open_loop_phase_ended() -> None:
    steps = plan(
        [
            Phase.model_validate({"name": "a", "rate": 50, "duration": "10s"}),
            Phase.model_validate({"name": "b", "kind": "ramp", "rate": 200, "duration": "60s"}),
            Phase.model_validate(
                {"name": "c", "kind": "ramp", "rate": 20, "start_rate": 5, "duration": "5s"}
            ),
        ]
    )
    assert [(s[0].start_rate, s[0].rate) for s in steps] == [(50, 50), (50, 200), (5, 20)]


def test_a_rate_ramp_after_closed_loop_starts_at_zero() -> None:
    first = steps_of(phase(users=2, duration="1s"))[0]
    (ramp,) = steps_of(phase(kind="ramp", rate=200, duration="60s"), first)
    assert (ramp.start_rate, ramp.rate) == (0.0, 200)


def test_a_users_ramp_spawns_at_the_slope_of_the_ramp() -> None:
    first = steps_of(phase(users=10, duration="1s"))[0]
    (ramp,) = steps_of(phase(kind="ramp", users=70, duration="30s"), first)
    assert (ramp.start_users, ramp.users, ramp.spawn_rate) == (10, 70, 2.0)
    (down,) = steps_of(phase(kind="ramp", users=5, start_users=25, duration="10s"), first)
    assert (down.start_users, down.users, down.spawn_rate) == (25, 5, 2.0)


@pytest.mark.parametrize(
    ("fields", "values"),
    [
        ({"users": 50, "steps": 5}, [10, 20, 30, 40, 50]),
        ({"users": 50, "steps": 3, "start_users": 10}, [10, 30, 50]),
        ({"rate": 2000, "steps": 4}, [500, 1000, 1500, 2000]),
        ({"rate": 100, "steps": 5, "start_rate": 20}, [20, 40, 60, 80, 100]),
    ],
)
def test_steps_go_up_in_equal_increments(fields: dict[str, Any], values: list[float]) -> None:
    stepped = phase(kind="step", step_duration="20s", **fields)
    assert step_values(stepped) == pytest.approx(values)
    steps = steps_of(stepped)
    assert [s.index for s in steps] == list(range(len(values)))
    assert all(s.duration == 20.0 for s in steps)
    loads = [s.rate if s.open_loop else s.users for s in steps]
    assert loads == pytest.approx(values)
    assert stepped.duration == 20.0 * len(values)


def test_a_sweep_has_the_steps_of_a_step_phase() -> None:
    sweep = phase(kind="sweep", rate=400, steps=4, duration="40s", until={"p95_ms": 500})
    steps = steps_of(sweep)
    assert [s.rate for s in steps] == [100, 200, 300, 400]
    assert {s.duration for s in steps} == {10.0}
    assert {s.kind for s in steps} == {PhaseKind.SWEEP}
