"""``stress bench``: this machine's ceiling as a load generator, against the built-in no-op
target (``builtin:noop``, an answer-at-once server started for the purpose).

Short runs through the ordinary run path (stress.run), so the figures are what a real run
gets: closed-loop users in one load process; the same with one worker per CPU; and open-loop
rates at OPEN_LOOP_SHARES of the one-process ceiling, to find the rate up to which arrivals
still leave on time. The no-op target shares the machine, so the ceiling
is a lower bound of what the tester alone could do. Never imports Locust (the runs do, in
their own processes).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from stress.rundir import layout

# The open-loop runs offer these shares of the one-process closed-loop ceiling. An open loop
# costs the tester more per request (a pacer hands each arrival to a slot), so its own
# ceiling is lower; the advice is the highest share that stayed on time.
OPEN_LOOP_SHARES = (0.4, 0.6)
# "On time": at most this share of the sends waited for a slot, and the achieved rate within
# 2% of the requested one.
ON_TIME_LATE_SHARE = 0.01

_SCENARIO: dict[str, Any] = {
    "name": "bench",
    "target": {"url": "builtin:noop", "protocol": "openai-chat", "timeout": "10s"},
    "inputs": {"seed": 1, "count": 200, "families": {"realistic.chat_prompt": 1}},
    "slo": {"error_rate": "1%"},
}


def _scenario(directory: Path, name: str, phase: dict[str, Any]) -> Path:
    document = dict(_SCENARIO, name=name, load={"phases": [phase]})
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _figures(run_dir: Path, summary: dict[str, Any]) -> dict[str, Any]:
    phase = summary["phases"][0]
    latency = phase.get("latency_ms") or {}
    load = json.loads(layout.load(run_dir).read_text(encoding="utf-8"))
    busiest: dict[str, Any] = max(
        (p for p in load.get("processes", []) if p.get("cpu_mean") is not None),
        key=lambda p: p["cpu_mean"],
        default={},
    )
    return {
        "requests": phase["requests"],
        "rps": phase.get("rps"),
        "p50_ms": latency.get("p50"),
        "p99_ms": latency.get("p99"),
        "tester_cpu": busiest.get("cpu_mean"),
        "late": phase.get("late"),
        "offered_rps": phase.get("offered_rps"),
        "run_dir": str(run_dir),
    }


def bench(
    *,
    duration: float = 5.0,
    users: int = 64,
    workers: int | None = None,
    out: Path | None = None,
    on_run: Callable[[str], None] = lambda name: None,
) -> dict[str, Any]:
    """Measure the ceiling; returns {"cpus", "single", "workers", "open_loop"} figures."""
    from stress.runner import Workers, run

    cpus = os.cpu_count() or 1
    processes = workers if workers is not None else cpus
    with tempfile.TemporaryDirectory(prefix="stress-bench-") as scratch:
        directory = Path(scratch)
        reports = out if out is not None else directory / "reports"
        closed = {"name": "bench", "users": users, "spawn_rate": users * 10, "duration": duration}
        results: dict[str, Any] = {"cpus": cpus, "users": users, "duration_s": duration}

        on_run("one load process")
        single = run(_scenario(directory, "bench-single", closed), out=reports)
        results["single"] = _figures(single.run_dir, single.summary)
        results["workers"] = None
        if processes > 1:
            on_run(f"{processes} workers")
            many = run(
                _scenario(directory, "bench-workers", closed),
                out=reports,
                workers=Workers(local=processes),
            )
            results["workers"] = {"processes": processes, **_figures(many.run_dir, many.summary)}
        ceiling = float(results["single"]["rps"] or 0.0)
        results["open_loop"] = []
        results["open_loop_ceiling_rps"] = None
        for share in OPEN_LOOP_SHARES:
            rate = max(1.0, round(ceiling * share))
            on_run(f"open loop at {rate:g} requests/s")
            phase = {"name": "bench", "rate": rate, "max_in_flight": users, "duration": duration}
            opened = run(_scenario(directory, f"bench-open-{rate:g}", phase), out=reports)
            figures = {"requested_rps": rate, **_figures(opened.run_dir, opened.summary)}
            figures["on_time"] = (figures["late"] or 0) <= ON_TIME_LATE_SHARE * figures[
                "requests"
            ] and abs((figures["rps"] or 0.0) - rate) <= 0.02 * rate
            results["open_loop"].append(figures)
            if figures["on_time"]:
                results["open_loop_ceiling_rps"] = rate
    return results
