"""Scenario load phases beyond users/duration: kinds, open loop, sweeps; exact messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stress.errors import ScenarioError, UsageError
from stress.runner import load_scenario
from stress.scenario import Arrival, PhaseKind, with_overrides

HEAD = """\
name: t
target: {url: "http://127.0.0.1:9", protocol: openai-chat}
inputs: {seed: 1, count: 10, families: {realistic.chat_prompt: 1}}
load:
  phases:
    - {name: baseline, users: 1, duration: 2s}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_ramp_to_a_poisson_rate_and_a_sweep_until_p95(tmp_path: Path) -> None:
    text = HEAD + (
        "    - {name: ramp, kind: ramp, rate: 200, arrival: poisson, duration: 60s}\n"
        "    - {name: sweep, kind: sweep, rate: 2000, steps: 10, step_duration: 20s,"
        " until: {p95_ms: 500}}\n"
    )
    scenario = load_scenario(write(tmp_path, text))
    baseline, ramp, sweep = scenario.load.phases
    assert (baseline.kind, baseline.open_loop) == (PhaseKind.STEADY, False)
    assert (ramp.kind, ramp.rate, ramp.arrival, ramp.open_loop) == (
        PhaseKind.RAMP,
        200,
        Arrival.POISSON,
        True,
    )
    assert (sweep.duration, sweep.max_in_flight) == (200.0, 100)
    assert scenario.sweep_limits(sweep).p95_ms == 500
    assert scenario.total_duration == 262.0
    again = load_scenario(write(tmp_path, scenario.to_yaml()))
    assert again == scenario
    resolved = yaml.safe_load(scenario.to_yaml())["load"]["phases"]
    assert "rate" not in resolved[0]
    assert "spawn_rate" not in resolved[1]  # only the keys that apply are shown
    assert resolved[2]["until"] == {"p95_ms": 500.0}


def test_a_sweep_without_until_stops_at_the_phase_slo(tmp_path: Path) -> None:
    text = HEAD + (
        "    - {name: sweep, kind: sweep, users: 40, steps: 4, duration: 2m}\n"
        "slo: {error_rate: 2%, p95_ms: 800, phases: {sweep: {p95_ms: 300}}}\n"
    )
    scenario = load_scenario(write(tmp_path, text))
    sweep = scenario.load.phases[1]
    assert sweep.step_duration == 30.0
    limits = scenario.sweep_limits(sweep)
    assert (limits.p95_ms, limits.error_rate) == (300, 0.02)


INVALID = [
    (
        "    - {name: a, users: 3, rate: 5, duration: 1s}\n",
        "x.yaml: load.phases[1].users: a phase takes users (closed loop) or rate (open loop, "
        "requests/s), got both; e.g. users: 20 or rate: 200 (line 7)",
    ),
    (
        "    - {name: a, duration: 1s}\n",
        "x.yaml: load.phases[1].users: a phase takes users (closed loop) or rate (open loop, "
        "requests/s), got neither; e.g. users: 20 or rate: 200 (line 7)",
    ),
    (
        "    - {name: a, rate: 5, spawn_rate: 3, duration: 1s}\n",
        "x.yaml: load.phases[1].spawn_rate: does not apply to an open-loop (rate) phase; "
        "remove it (line 7)",
    ),
    (
        "    - {name: a, users: 5, max_in_flight: 3, duration: 1s}\n",
        "x.yaml: load.phases[1].max_in_flight: does not apply to a closed-loop (users) phase; "
        "remove it (line 7)",
    ),
    (
        "    - {name: a, rate: 5, burstiness: 0.5, duration: 1s}\n",
        "x.yaml: load.phases[1].burstiness: applies to arrival: poisson only; add that or "
        "remove burstiness (line 7)",
    ),
    (
        "    - {name: a, rate: 5, steps: 3, duration: 1s}\n",
        "x.yaml: load.phases[1].steps: applies to kind step or sweep, not steady; remove it "
        "(line 7)",
    ),
    (
        "    - {name: a, kind: sweep, rate: 5, steps: 3}\n",
        "x.yaml: load.phases[1].step_duration: a sweep phase needs step_duration, e.g. 30s "
        "(line 7)",
    ),
    (
        "    - {name: a, kind: step, rate: 5, step_duration: 1s}\n",
        "x.yaml: load.phases[1].steps: a step phase needs steps, e.g. steps: 5 (line 7)",
    ),
    (
        "    - {name: a, kind: sweep, rate: 5, steps: 3, step_duration: 1s, duration: 5s}\n",
        "x.yaml: load.phases[1].duration: 5s is not steps × step_duration (3 × 1s); give one "
        "of them (line 7)",
    ),
    (
        "    - {name: a, kind: sweep, rate: 5, start_rate: 7, steps: 3, step_duration: 1s}\n",
        "x.yaml: load.phases[1].start_rate: must be below rate (5) so the steps go up, got 7 "
        "(line 7)",
    ),
    (
        "    - {name: a, kind: swep, rate: 5, duration: 1s}\n",
        "x.yaml: load.phases[1].kind: expected one of 'steady', 'ramp', 'step', 'soak', "
        "'sweep', 'daily' or 'trace', got 'swep' (line 7)",
    ),
    (
        "    - {name: a, rate: 5, arrival: gamma, duration: 1s}\n",
        "x.yaml: load.phases[1].arrival: expected one of 'constant' or 'poisson', got 'gamma' "
        "(line 7)",
    ),
    (
        "    - {name: a, rate: 0, duration: 1s}\n",
        "x.yaml: load.phases[1].rate: expected a positive integer, got 0 (line 7)",
    ),
    (
        "    - {name: a, kind: sweep, rate: 5, steps: 2, step_duration: 1s}\n"
        "slo: {error_rate: null}\n",
        "x.yaml: load.phases[1].until: a sweep needs a limit to stop at: set until (e.g. "
        "until: {p95_ms: 500}) or slo.p95_ms / slo.error_rate (line 7)",
    ),
    (
        "    - {name: a, kind: sweep, rate: 5, steps: 2, step_duration: 1s}\n"
        "    - {name: b, kind: sweep, users: 5, steps: 2, step_duration: 1s}\n",
        "x.yaml: load.phases[2].kind: one sweep per scenario (its answer is one maximum rate); "
        "split the sweeps into two scenarios (line 8)",
    ),
    (
        "    - {name: a, kind: sweep, rate: 5, steps: 2, step_duration: 1s, until: {p95: 3}}\n",
        "x.yaml: load.phases[1].until.p95: unknown key 'p95'; did you mean 'p95_ms'? (line 7)",
    ),
]


@pytest.mark.parametrize(("tail", "message"), INVALID)
def test_invalid_phase_gets_exact_message(tmp_path: Path, tail: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, HEAD + tail))
    assert [p.replace(str(tmp_path) + "/", "") for p in caught.value.problems] == [message]


def test_rate_and_users_overrides_name_the_right_flag(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, HEAD + "    - {name: o, rate: 50, duration: 5s}\n"))
    assert with_overrides(scenario, rate=80).load.phases[1].rate == 80
    with pytest.raises(UsageError, match="--users: the last phase 'o' is open-loop"):
        with_overrides(scenario, users=3)
    with pytest.raises(UsageError, match="--rate: expected a positive number"):
        with_overrides(scenario, rate=-1)
    closed = load_scenario(write(tmp_path, HEAD))
    with pytest.raises(UsageError, match="--rate: the last phase 'baseline' is closed-loop"):
        with_overrides(closed, rate=3)


def test_duration_override_of_a_sweep_divides_it_into_its_steps(tmp_path: Path) -> None:
    text = HEAD + "    - {name: s, kind: sweep, rate: 50, steps: 5, step_duration: 2s}\n"
    scenario = with_overrides(load_scenario(write(tmp_path, text)), duration="1m")
    assert (scenario.load.phases[1].duration, scenario.load.phases[1].step_duration) == (60, 12)
