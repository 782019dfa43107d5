"""The summary's load-engine parts from a hand-built run: sweep, open loop, tester, workers.

Sweep (open loop, until p95_ms 50): steps of 100, 200, 300 requests/s, 1 s each.
  step 0: 100 requests, latencies 1..100 ms / 10  → p95 9.505 ms, holds
  step 1: 200 requests, latencies 20 ms            → holds; p50 20 > 1.5 × 5.05: the knee
  step 2: 240 of 300 requests, latencies 80 ms     → breaks (p95 and rate not sustained)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from report_runs import T0, record, write_run

from stress.report import write_reports
from stress.report.summary import build_summary

SCENARIO = """\
name: sweep-test
target: {url: "http://127.0.0.1:9", protocol: openai-chat}
inputs: {seed: 1, count: 10, families: {realistic.chat_prompt: 1}}
load:
  phases:
    - {name: warm, rate: 50, duration: 2s, max_in_flight: 8}
    - {name: sweep, kind: sweep, rate: 300, steps: 3, step_duration: 1s, until: {p95_ms: 50}}
slo: {error_rate: 1%, p95_ms: 30}
"""


def rows():  # type: ignore[no-untyped-def]
    out = []
    seq = 0
    # warm: 100 sends, 1 late; latency from the intended time 1234.5 ms for the last one
    for i in range(100):
        seq += 1
        late = i == 99
        out.append(
            record(
                seq,
                phase="warm",
                users=8,
                sent_at=T0 + i * 0.02,
                latency_ms=1234.5 if late else 3.0,
                service_ms=3.0,
                late=late,
                offered_rate=50.0,
                intended_at=T0 + i * 0.02,
            )
        )
    for step, (count, offered, latency) in enumerate(
        [(100, 100.0, None), (200, 200.0, 20.0), (240, 300.0, 80.0)]
    ):
        for i in range(count):
            seq += 1
            value = (i + 1) / 10 if latency is None else latency
            out.append(
                record(
                    seq,
                    phase="sweep",
                    users=100,
                    step=step,
                    offered_rate=offered,
                    sent_at=T0 + 2 + step + i / count,
                    latency_ms=value,
                    service_ms=value,
                    late=False,
                )
            )
    return out


def load_json(lost: bool = False, saturated: bool = False) -> dict:  # type: ignore[type-arg]
    steps = [
        {
            "step": index,
            "users": None,
            "offered_rps": rate,
            "duration_s": 1.0,
            "started_at": T0 + 2 + index,
            "ended_at": T0 + 3 + index,
            "passed": None,
            "reasons": [],
            "counts": {"scheduled": int(rate), "sent": sent, "late": 0, "unsent": unsent},
        }
        for index, (rate, sent, unsent) in enumerate([(100, 100, 0), (200, 200, 0), (300, 240, 60)])
    ]
    return {
        "stopped_by": None,
        "mode": "distributed",
        "phases": [
            {
                "name": "warm",
                "kind": "steady",
                "open_loop": True,
                "started_at": T0,
                "ended_at": T0 + 2,
                "steps": [],
                "counts": {"scheduled": 100, "sent": 100, "late": 1, "unsent": 0},
            },
            {
                "name": "sweep",
                "kind": "sweep",
                "open_loop": True,
                "started_at": T0 + 2,
                "ended_at": T0 + 5,
                "steps": steps,
                "stopped": "broken",
                "counts": {"scheduled": 600, "sent": 540, "late": 0, "unsent": 60},
            },
        ],
        "workers": [
            {"worker": 1, "host": "a", "pid": 11, "records": 400, "lost": False},
            {"worker": 2, "host": "b", "pid": 22, "records": 240, "lost": lost},
        ],
        "processes": [
            {
                "process": "master",
                "worker": None,
                "samples": 5,
                "cpu_mean": 5.0,
                "cpu_max": 9.0,
                "lag_max_ms": 1.0,
                "saturated_s": 0,
            },
            {
                "process": "worker 1",
                "worker": 1,
                "samples": 5,
                "cpu_mean": 80.0,
                "cpu_max": 99.0 if saturated else 70.0,
                "lag_max_ms": 2.0,
                "saturated_s": 3.0 if saturated else 0,
            },
        ],
    }


def make_run(tmp_path: Path, **load: bool) -> Path:
    run_dir = write_run(tmp_path / "sweep-run", rows(), scenario=SCENARIO)
    (run_dir / "load.json").write_text(json.dumps(load_json(**load)), encoding="utf-8")
    return run_dir


def test_the_sweep_answers_the_maximum_sustainable_rate(tmp_path: Path) -> None:
    summary = build_summary(make_run(tmp_path))
    sweep = summary["sweep"]
    assert sweep["phase"] == "sweep"
    assert sweep["variable"] == "offered_rps"
    assert [s["passed"] for s in sweep["steps"]] == [True, True, False]
    assert sweep["max_sustainable_rps"] == 200.0
    assert sweep["knee_rps"] == 100.0
    assert sweep["stopped"] == "broken"
    first, _, last = sweep["steps"]
    assert first["p95"] == pytest.approx(np.quantile(np.arange(1, 101) / 10, 0.95))
    assert first["achieved_rps"] == pytest.approx(100.0)
    assert first["goodput"] == pytest.approx(100.0)
    assert last["reasons"] == [
        "p95 80 ms > 50 ms",
        "sent 240 of 300 offered requests (240 of 300 req/s)",
    ]
    assert last["unsent"] == 60
    check = next(c for c in summary["checks"] if c["name"] == "slo.sweep")
    assert check["passed"]
    assert "holds the limits up to 200 requests/s" in check["message"]
    # The sweep phase is judged by its own limits, not by the phase SLOs (p95 30 ms).
    assert {result["phase"] for result in summary["slo"]} == {"warm"}


def test_open_loop_phases_report_offered_rate_late_sends_and_service_time(
    tmp_path: Path,
) -> None:
    summary = build_summary(make_run(tmp_path))
    warm = summary["phases"][0]
    assert (warm["kind"], warm["open_loop"], warm["users"]) == ("steady", True, 8)
    assert warm["offered_rps"] == pytest.approx(50.0)
    assert (warm["scheduled"], warm["late"], warm["unsent"]) == (100, 1, 0)
    assert warm["service_ms"]["max"] == 3.0
    # Percentiles are exact from the raw records: Locust's buckets would say 1200 ms here.
    latencies = np.array([3.0] * 99 + [1234.5])
    assert warm["latency_ms"]["max"] == 1234.5
    assert warm["latency_ms"]["p99"] == pytest.approx(np.quantile(latencies, 0.99))
    assert warm["latency_ms"]["p99"] == pytest.approx(3.0 + 0.01 * 1231.5)


def test_a_saturated_tester_and_a_lost_worker_are_reported(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, lost=True, saturated=True)
    summary = write_reports(run_dir)
    tester = summary["tester"]
    assert tester["saturated"]
    assert "worker 1 at up to 99.0% CPU for 3.0 s" in tester["message"]
    assert summary["load"]["lost_workers"] == [
        "worker 2 (b, pid 22) was lost during the run; its 240 records up to then are "
        "included, what it had not yet shipped (at most about a second) is missing"
    ]
    assert tester["message"] in summary["notes"]
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Sweep: sweep" in html
    assert "<h2>Tester</h2>" in html
    assert "<h2>Workers</h2>" in html


def test_a_run_without_load_json_still_summarises(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "old", rows(), scenario=SCENARIO)
    summary = build_summary(run_dir)
    assert summary["tester"]["saturated"] is False
    assert summary["load"]["mode"] is None
    # The steps are still judged from the records, with step_duration as their length.
    assert [s["passed"] for s in summary["sweep"]["steps"]] == [True, True, False]
