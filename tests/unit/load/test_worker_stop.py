"""The stop instant on Locust workers (no Locust here: stand-ins for its runner): the master
sends it to every live worker, a worker sets its plan's stop_at from it, ships its after_stop
count, and the master sums those into load.json."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from stress.load.collect import Collector, FailureSink
from stress.load.fleet import MasterFleet
from stress.load.workers import BATCH, MAX_STOP_LAG, STOP, WorkerAgent, stop_instant


@dataclass
class Runner:
    handlers: dict[str, Any] = field(default_factory=dict)
    sent: list[tuple[str, Any, Any]] = field(default_factory=list)

    def register_message(self, name: str, handler: Any, concurrent: bool = False) -> None:
        self.handlers[name] = handler

    def send_message(self, name: str, data: Any = None, client_id: Any = None) -> None:
        self.sent.append((name, data, client_id))


def message(data: Any, node_id: str = "w1") -> Any:
    return SimpleNamespace(data=data, node_id=node_id)


def test_the_stop_instant_is_the_masters_never_after_arrival_and_at_most_a_second_before() -> None:
    # The message took 0.2 s: the instant is 0.2 s before its arrival on this clock.
    assert abs(stop_instant(100.0, wall=100.2, perf=50.0) - 49.8) < 1e-9
    # A clock behind the master's: never after the arrival.
    assert stop_instant(100.0, wall=99.0, perf=50.0) == 50.0
    # A clock far ahead: at most MAX_STOP_LAG before the arrival.
    assert stop_instant(100.0, wall=160.0, perf=50.0) == 50.0 - MAX_STOP_LAG


def test_a_worker_stops_at_the_masters_instant_and_ships_its_after_stop_count() -> None:
    runner = Runner()
    plan = SimpleNamespace(
        stop_at=None,
        after_stop=0,
        seq=7,
        failures=SimpleNamespace(pending=[]),
        writer=SimpleNamespace(written=7),
        time_per_request=lambda cpu_s: {"sampled": 0},
    )
    traffic = SimpleNamespace(counts_list=lambda: [])
    state = SimpleNamespace(plan=plan, traffic=traffic)
    agent = WorkerAgent(runner, state, build=lambda *a, **k: None, on_setup=lambda info: None)

    at = time.time()
    runner.handlers[STOP](None, message({"at": at}))
    assert plan.stop_at is not None
    assert plan.stop_at <= time.perf_counter()
    first = plan.stop_at
    runner.handlers[STOP](None, message({"at": at + 5}))  # a second one changes nothing
    assert plan.stop_at == first
    plan.after_stop = 3
    agent._send_batch(None, final=True)
    (batch,) = [data for name, data, _ in runner.sent if name == BATCH]
    assert batch["after_stop"] == 3


def test_the_master_tells_every_live_worker_and_sums_their_after_stop(tmp_path: Path) -> None:
    runner = Runner()
    fleet = MasterFleet(
        runner,
        Collector(tmp_path),
        FailureSink(tmp_path / "failures.jsonl"),
        scenario_text="",
        corpus=b"",
        url="http://127.0.0.1:9",
        seed=1,
        expect=2,
        max_requests=100,
        emit=lambda event: None,
    )
    for node in ("a", "b"):
        fleet._hello(None, message({"host": "h", "pid": 1}, node))
        fleet._ready(None, message({}, node))
    fleet.stop()
    stops = [(data, client) for name, data, client in runner.sent if name == STOP]
    assert sorted(client for _, client in stops) == ["a", "b"]
    assert all(isinstance(data["at"], float) for data, _ in stops)
    for node, count in (("a", 2), ("b", 3)):
        fleet._batch(None, message({"counts": [], "after_stop": count}, node))
    assert fleet.describe()["after_stop"] == 5
