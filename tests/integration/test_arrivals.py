"""Arrival shapes end to end: a trace replayed by a real run (one process, and two Locust
workers) sends at the log's times ÷ speed; spikes, bursts and a daily curve send what the pure
schedule says. Real Locust against the bundled no-op target on loopback, a few seconds each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from stress.demo.noop import NoopServer
from stress.load.phases import plan
from stress.load.shapes import ShapedSchedule, trace_offsets
from stress.load.trace import read_arrivals
from stress.record import read_records
from stress.scenario import from_path
from tests.integration.conftest import stress
from tests.integration.test_load_engine import run_dir_of, scenario

pytestmark = pytest.mark.slow

# A log of 40 requests over 6 s: uneven gaps, two at the same instant, a quick burst.
LOG_TIMES = sorted(
    [0.0, 0.05, 0.4, 0.41, 0.9, 1.3, 1.3, 1.75, 2.0, 2.2]
    + [2.5 + 0.01 * i for i in range(15)]
    + [3.1, 3.3, 3.9, 4.0, 4.05, 4.6, 4.7, 5.0, 5.2, 5.4, 5.5, 5.7, 5.8, 5.9, 6.0]
)
SPEED = 2.0


@pytest.fixture
def noop(tmp_path: Path) -> Iterator[NoopServer]:
    with NoopServer(log_path=tmp_path / "noop.log") as server:
        yield server


def run(tmp_path: Path, url: str, phases: str, *extra: str) -> tuple[Path, Path]:
    path = scenario(tmp_path, url, phases)
    result = stress("run", str(path), "--out", str(tmp_path / "reports"), *extra, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return path, run_dir_of(result.stdout)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_replayed_trace_sends_at_the_logs_times_over_speed(
    tmp_path: Path, noop: NoopServer, workers: int
) -> None:
    log = tmp_path / "logs" / "requests.jsonl"
    log.parent.mkdir()
    start = 1_793_610_000.0
    log.write_text(
        "".join(json.dumps({"ts": (start + t) * 1000, "status": 200}) + "\n" for t in LOG_TIMES),
        encoding="utf-8",
    )
    phases = (
        f"    - {{name: replay, kind: trace, path: logs/requests.jsonl, speed: {SPEED:g},"
        f" max_in_flight: 30}}\n"
    )
    extra = ("--workers", str(workers)) if workers > 1 else ()
    _, run_dir = run(tmp_path, noop.url, phases, *extra)
    records = read_records(run_dir / "records").to_pandas().sort_values("intended_at")
    expected = np.array(trace_offsets(read_arrivals(log), SPEED))
    assert expected[-1] == pytest.approx(3.0)
    # Every arrival of the log was sent, once.
    assert len(records) == len(LOG_TIMES)
    assert not records.duplicated(["worker", "seq"]).any()
    if workers > 1:
        assert set(records["worker"]) == {1, 2}
    # Intended times are the trace's offsets ÷ speed (workers start their share of the step
    # a few milliseconds apart: their messages leave the master one after the other).
    intended = records["intended_at"].to_numpy()
    tolerance = 0.001 if workers == 1 else 0.05
    assert intended - intended[0] == pytest.approx(expected, abs=tolerance)
    # And the requests left when they were due. An idle machine measures about 1 ms median
    # and 5 ms at p90; the bounds leave a 20x / 30x margin for a loaded 2-core machine and
    # still catch a pacer that slips by whole gaps (the log's gaps are 0.1 to 0.3 s at speed 2).
    lag = records["sent_at"].to_numpy() - intended
    assert np.median(lag) < 0.02
    assert np.quantile(lag, 0.9) < 0.15
    load = json.loads((run_dir / "load.json").read_text())
    counts = load["phases"][0]["counts"]
    assert counts["scheduled"] == counts["sent"] == len(LOG_TIMES)
    assert load["phases"][0]["kind"] == "trace"
    # The offered rate is the log's, counted in one-second bins: the busiest holds the burst.
    busiest = max(np.sum((expected >= s) & (expected < s + 1)) for s in range(3))
    assert records["offered_rate"].max() == busiest == 20


def test_spikes_bursts_and_a_day_send_what_their_schedules_say(
    tmp_path: Path, noop: NoopServer
) -> None:
    phases = (
        "    - {name: spiky, rate: 20, duration: 3s, max_in_flight: 40,\n"
        "       spikes: [{at: 1s, duration: 1s, rate: 60}], bursts: {every: 1s, size: 10}}\n"
        "    - {name: day, kind: daily, rate: 40, min_rate: 4, duration: 4s, max_in_flight: 40}\n"
    )
    path, run_dir = run(tmp_path, noop.url, phases)
    records = read_records(run_dir / "records").to_pandas()
    spiky = records[records["phase"] == "spiky"]
    # 20/s for 2 s, 60/s for 1 s, two bursts of 10 (at 1 s and 2 s).
    assert len(spiky) == 40 + 60 + 20
    t0 = spiky["intended_at"].min()
    offset = spiky["intended_at"] - t0
    in_spike = spiky[(offset >= 1.0) & (offset < 2.0)]
    assert len(in_spike) == 60 + 10  # the burst at 1 s is in the window, the one at 2 s not
    assert (in_spike["offered_rate"] == 60).all()
    # A burst: ten requests due at the same instant.
    assert (spiky["intended_at"].round(6).value_counts() >= 10).sum() == 2
    day = records[records["phase"] == "day"]
    [[_], [step]] = plan(from_path(run_dir / "scenario.yaml").load.phases)
    assert step.shape is not None
    assert len(day) == len(list(ShapedSchedule(step.shape, step.duration).times()))
    # The afternoon (around 0.6 of the 4 s) is far busier than the night (around 0.17).
    offset = day["intended_at"] - day["intended_at"].min()
    assert ((offset > 2.0) & (offset < 2.8)).sum() > 4 * ((offset > 0.3) & (offset < 1.1)).sum()
    assert path.exists()
