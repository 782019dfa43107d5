"""The phase loop with a fake clock and a fake fleet feeding a real collector.

The fake target answers in 10 ms below 300 requests/s and in 400 ms from there on, so a
sweep with a p95 limit of 100 ms must hold up to 200 requests/s and stop at 300.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stress.load.collect import Collector, table_of
from stress.load.driver import Driver
from stress.load.events import LoadEvent
from stress.load.pacing import Counts
from stress.load.phases import Step
from stress.load.traffic import StepKey
from stress.record import Record
from stress.scenario import Scenario, from_dict


def scenario(phases: list[dict[str, Any]], **load: Any) -> Scenario:
    return from_dict(
        {
            "name": "t",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat", "timeout": "2s"},
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {"phases": phases, **load},
            "slo": {"p95_ms": 100},
        }
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeFleet:
    """Sends at the step's rate (or 50 requests/s per user); records arrive ``delay`` s later."""

    def __init__(self, clock: Clock, collector: Collector, *, delay: float = 0.2) -> None:
        self.clock = clock
        self.collector = collector
        self.delay = delay
        self.steps: list[Step] = []
        self.sent_counts: dict[StepKey, Counts] = {}
        self.in_transit: list[tuple[float, Record]] = []
        self.lost = False
        self.finished = False
        self.seq = 0
        self._last = clock()
        self._carry = 0.0

    def begin(self, step: Step) -> None:
        self.steps.append(step)
        self._last = self.clock()
        self._carry = 0.0

    def _rate(self) -> float:
        step = self.steps[-1]
        return step.rate if step.rate is not None else 50.0 * (step.users or 0)

    def tick(self, users: int | None) -> None:
        step = self.steps[-1]
        now = self.clock()
        self._carry += self._rate() * (now - self._last)
        self._last = now
        latency = 10.0 if self._rate() < 300 else 400.0
        counts = self.sent_counts.setdefault((step.phase, step.index), Counts())
        while self._carry >= 1:
            self._carry -= 1
            self.seq += 1
            counts.sent += 1
            record = Record(
                seq=self.seq,
                worker=0,
                input_id="i",
                family="f",
                expect="accept",
                phase=step.phase,
                users=users or 0,
                sent_at=now,
                latency_ms=latency,
                status=200,
                request_bytes=1,
                response_bytes=1,
                ok=True,
                step=step.index,
                offered_rate=step.rate,
            )
            self.in_transit.append((now + self.delay + latency / 1000, record))
        self._deliver(now)

    def _deliver(self, now: float) -> None:
        arrived = [r for at, r in self.in_transit if at <= now]
        self.in_transit = [(at, r) for at, r in self.in_transit if at > now]
        if arrived:
            self.collector.add(table_of(arrived), 0)

    def flush(self) -> None:
        pass

    def sent(self, key: StepKey) -> int:
        return self.sent_counts.get(key, Counts()).sent

    def counts(self) -> dict[StepKey, Counts]:
        return dict(self.sent_counts)

    def exhausted(self) -> bool:
        return self.seq >= 10_000

    def lost_all(self) -> bool:
        return self.lost

    def finish(self, timeout: float) -> None:
        self.finished = True
        self._deliver(float("inf"))

    def describe(self) -> dict[str, Any]:
        return {"mode": "fake"}


def drive(tmp_path: Path, spec: Scenario, **fleet: Any) -> tuple[Driver, FakeFleet, list]:  # type: ignore[type-arg]
    clock = Clock()
    collector = Collector(tmp_path, tracked=["sweep"], clock=clock)
    fake = FakeFleet(clock, collector, **fleet)
    events: list[tuple[str, dict[str, Any]]] = []

    def emit(event: LoadEvent) -> None:
        events.append((event.EVENT, {**event.fields(), "clock": clock()}))

    driver = Driver(spec, fake, collector, emit, clock=clock, wall=clock, sleep=clock.sleep)
    return driver, fake, events


def test_phases_and_steps_run_in_order_for_their_durations(tmp_path: Path) -> None:
    spec = scenario(
        [
            {"name": "baseline", "users": 1, "duration": "2s"},
            {"name": "steps", "kind": "step", "users": 4, "steps": 2, "step_duration": "3s"},
            {"name": "open", "rate": 20, "duration": "1s"},
        ]
    )
    driver, fake, events = drive(tmp_path, spec)
    log = driver.run()
    assert [(s.phase, s.index, s.users, s.rate) for s in fake.steps] == [
        ("baseline", None, 1, None),
        ("steps", 0, 2, None),
        ("steps", 1, 4, None),
        ("open", None, None, 20),
    ]
    spans = [round(p["ended_at"] - p["started_at"], 6) for p in log["phases"]]
    assert spans == [2.0, 6.0, 1.0]
    assert [e[1]["name"] for e in events if e[0] == "phase"] == ["baseline", "steps", "open"]
    assert fake.finished
    assert log["stopped_by"] is None
    assert log["phases"][1]["counts"]["sent"] == fake.sent(("steps", 0)) + fake.sent(("steps", 1))


def test_a_sweep_stops_at_the_first_step_that_breaks_and_the_run_goes_on(tmp_path: Path) -> None:
    spec = scenario(
        [
            {"name": "sweep", "kind": "sweep", "rate": 500, "steps": 5, "step_duration": "4s"},
            {"name": "after", "users": 1, "duration": "1s"},
        ]
    )
    driver, fake, events = drive(tmp_path, spec)
    log = driver.run()
    rates = [s.rate for s in fake.steps if s.phase == "sweep"]
    # 300 breaks; its verdict comes while 400 runs, which is cut short; 500 never starts.
    assert rates == [100, 200, 300, 400]
    results = [e[1] for e in events if e[0] == "step_result"]
    assert [(r["offered_rps"], r["passed"]) for r in results] == [
        (100, True),
        (200, True),
        (300, False),
    ]
    assert results[2]["reasons"] == ["p95 400 ms > 100 ms"]
    sweep = log["phases"][0]
    assert sweep["stopped"] == "broken"
    assert [s["passed"] for s in sweep["steps"]] == [True, True, False, None]
    assert sweep["steps"][3]["ended_at"] - sweep["steps"][3]["started_at"] < 4.0
    assert fake.steps[-1].phase == "after"


def test_a_step_is_judged_only_once_its_requests_are_back(tmp_path: Path) -> None:
    spec = scenario(
        [{"name": "sweep", "kind": "sweep", "rate": 200, "steps": 2, "step_duration": "2s"}]
    )
    driver, _fake, events = drive(tmp_path, spec, delay=0.6)
    driver.run()
    first = next(e[1] for e in events if e[0] == "step_result")
    step_end = 1000.0 + 2.0
    # The last requests of step 1 were sent at its end and arrive 0.6 s + 10 ms later,
    # before the deadline (p95 limit 0.1 s + shipping 0.75 s).
    assert first["clock"] >= step_end + 0.6
    assert first["requests"] == 200
    assert first["passed"]


def test_a_step_whose_requests_do_not_come_back_is_judged_at_its_deadline(
    tmp_path: Path,
) -> None:
    spec = scenario(
        [{"name": "sweep", "kind": "sweep", "rate": 200, "steps": 3, "step_duration": "5s"}]
    )
    driver, _fake, events = drive(tmp_path, spec, delay=60.0)  # nothing arrives in time
    driver.run()
    first = next(e[1] for e in events if e[0] == "step_result")
    # grace = p95 limit (0.1 s) + shipping delay (0.75 s)
    assert first["clock"] == pytest.approx(1000.0 + 5.0 + 0.85, abs=0.11)
    assert not first["passed"]
    assert first["p95"] >= 100  # the missing requests have waited longer than the limit


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda d, f: setattr(d, "stopping", True), "interrupted"),
        (lambda d, f: setattr(f, "lost", True), "every worker was lost"),
    ],
)
def test_the_load_stops_early_and_says_why(tmp_path: Path, setup: Any, reason: str) -> None:
    spec = scenario(
        [{"name": "a", "users": 1, "duration": "5s"}, {"name": "b", "users": 1, "duration": "5s"}]
    )
    driver, fake, events = drive(tmp_path, spec)
    setup(driver, fake)
    log = driver.run()
    assert log["stopped_by"] == reason
    assert ("limit", reason) in [(e[0], e[1].get("reason")) for e in events]
    assert [s.phase for s in fake.steps] == ["a"]
    assert fake.finished


def test_max_duration_cuts_the_run(tmp_path: Path) -> None:
    spec = scenario(
        [{"name": "a", "users": 1, "duration": "3s"}, {"name": "b", "users": 1, "duration": "3s"}],
        max_duration="4s",
    )
    driver, _fake, _ = drive(tmp_path, spec)
    log = driver.run()
    assert log["stopped_by"] == "load.max_duration reached"
    assert log["phases"][1]["ended_at"] - log["phases"][0]["started_at"] == pytest.approx(4.0)


def test_ramp_users_are_planned_along_the_ramp(tmp_path: Path) -> None:
    spec = scenario(
        [
            {"name": "a", "users": 10, "duration": "1s"},
            {"name": "ramp", "kind": "ramp", "users": 50, "duration": "4s"},
        ]
    )
    driver, _fake, events = drive(tmp_path, spec)
    driver.run()
    users = [e[1]["users"] for e in events if e[0] == "progress" and e[1]["phase"] == "ramp"]
    # 10 → 50 users over 4 s, reported once a second
    assert users == [20, 30, 40]


def test_phase_events_carry_their_slo_limits_and_progress_the_phases_figures(
    tmp_path: Path,
) -> None:
    spec = from_dict(
        {
            "name": "t",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat", "timeout": "2s"},
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {
                "phases": [
                    {"name": "baseline", "users": 1, "duration": "2s"},
                    {"name": "open", "rate": 20, "duration": "3s"},
                    {
                        "name": "sweep",
                        "kind": "sweep",
                        "rate": 100,
                        "steps": 2,
                        "step_duration": "1s",
                        "until": {"p95_ms": 50, "error_rate": "3%"},
                    },
                ]
            },
            "slo": {"p95_ms": 100, "phases": {"open": {"error_rate": "5%"}}},
        }
    )
    driver, _fake, events = drive(tmp_path, spec)
    driver.run()
    limits = [
        (e[1]["name"], e[1]["error_rate_limit"], e[1]["p95_limit_ms"])
        for e in events
        if e[0] == "phase"
    ]
    assert limits == [("baseline", 0.01, 100), ("open", 0.05, 100), ("sweep", 0.03, 50)]
    last_open = [e[1] for e in events if e[0] == "progress" and e[1]["phase"] == "open"][-1]
    assert 0 < last_open["phase_requests"] < last_open["requests"]
    assert last_open["phase_errors"] == 0
    assert last_open["p50_ms"] == 10.0


def test_a_stop_found_to_be_the_parent_dying_is_named_so(tmp_path: Path) -> None:
    # SIGTERM arrives, the load stops as "interrupted"; a moment later the load process sees
    # that `stress run` died: load.json must say killed, not interrupted.
    spec = scenario([{"name": "long", "users": 1, "duration": "10s"}])
    driver, _, _ = drive(tmp_path, spec)
    driver.stopping = True
    log_before = driver.run()
    assert log_before["stopped_by"] == "interrupted"
    driver.name_the_stop("stress run was killed")
    assert driver.stopped_by == "stress run was killed"
    # A stop for another reason (a limit) keeps its own name.
    other, _, _ = drive(tmp_path / "other", spec)
    other.stopped_by = "load.max_duration reached"
    other.name_the_stop("stress run was killed")
    assert other.stopped_by == "load.max_duration reached"
