"""Peak memory of a short and a long run, side by side: records must never pile up in memory.

    python -m benchmarks.memory [--short 1m] [--long 10m] [--rate 500]

Each run is a real ``stress run`` (a child process) at a constant open-loop rate against the
bundled no-op target (``builtin:noop``). While it runs, the process tree is sampled from
/proc four times a second (Linux): the peak resident set (VmHWM) of the load process, and of
the ``stress run`` parent both while the load runs and in all (the parent builds the report
with pandas from every record after the load, which grows with the run by design; it is
printed apart). The issue's target: the long run's load-time peaks within 10 % of the short
run's. A quick check: ``--short 20s --long 2m``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stress.scenario import format_duration, parse_duration

FAMILIES = {"realistic.chat_prompt": 4, "structure.wrong_type": 1, "unicode.zero_width": 1}


@dataclass
class Peaks:
    """Peak memory in KiB, by role, sampled from /proc."""

    load_kib: int = 0
    parent_during_load_kib: int = 0
    parent_kib: int = 0
    target_kib: int = 0
    samples: int = 0
    roles: dict[int, str] = field(default_factory=dict)


def status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (KiB) of ``pid``; empty when it has gone."""
    figures = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    name, value = line.split(":", 1)
                    figures[name] = int(value.split()[0])
    except OSError:
        return {}
    return figures


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux 3.5+: /proc/PID/task/*/children)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                found.extend(int(child) for child in handle.read().split())
    except OSError:
        pass
    return found


def role(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return "gone"
    if "stress.load" in command:
        return "load"
    if "stress.demo" in command:
        return "target"
    return "other"


def sample(parent: int, peaks: Peaks, stop: threading.Event) -> None:
    while not stop.is_set():
        load_alive = False
        own = status(parent)
        if own:
            peaks.parent_kib = max(peaks.parent_kib, own.get("VmHWM", 0))
        for child in children(parent):
            kind = peaks.roles.setdefault(child, role(child))
            figures = status(child)
            if kind == "load" and figures:
                load_alive = True
                peaks.load_kib = max(peaks.load_kib, figures.get("VmHWM", 0))
            elif kind == "target" and figures:
                peaks.target_kib = max(peaks.target_kib, figures.get("VmHWM", 0))
        if load_alive and own:
            # VmRSS, not VmHWM: the parent's peak so far, while the load still runs.
            peaks.parent_during_load_kib = max(peaks.parent_during_load_kib, own["VmRSS"])
        peaks.samples += 1
        stop.wait(0.25)


def measure(directory: Path, seconds: float, rate: float) -> tuple[Peaks, float, int]:
    """One run of ``seconds`` at ``rate`` requests/s: its peaks, wall time and records."""
    name = f"memory-{format_duration(seconds)}"
    document = {
        "name": name,
        "target": {"url": "builtin:noop", "protocol": "openai-chat", "timeout": "5s"},
        "inputs": {"seed": 3, "count": 2000, "families": FAMILIES},
        "load": {
            "phases": [{"name": "load", "rate": rate, "duration": format_duration(seconds)}],
            "max_requests": int(rate * seconds * 2) + 1000,
        },
        "slo": {"error_rate": "100%"},
        "flakiness": {"retries": 0},
    }
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "stress.cli", "run", str(path), "--out", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peaks, stop = Peaks(), threading.Event()
    sampler = threading.Thread(target=sample, args=(process.pid, peaks, stop), daemon=True)
    sampler.start()
    try:
        _, output = process.communicate(timeout=seconds * 3 + 300)
    finally:
        stop.set()
        sampler.join()
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode not in (0, 1):
        raise SystemExit(f"stress run exited {process.returncode}:\n{output}")
    return peaks, time.monotonic() - started, _records(output)


def _records(output: str) -> int:
    for line in output.splitlines():
        if line.strip().startswith("load done:"):
            return int(line.split()[2].replace(",", ""))
    return 0


def mib(kib: int) -> str:
    return f"{kib / 1024:7.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__)
    parser.add_argument("--short", default="1m", help="the short run's duration (default 1m)")
    parser.add_argument("--long", default="10m", help="the long run's duration (default 10m)")
    parser.add_argument("--rate", type=float, default=500.0, help="requests/s (default 500)")
    args = parser.parse_args(argv)
    short, long = parse_duration(args.short), parse_duration(args.long)
    print(f"peak memory, {args.rate:g} requests/s against builtin:noop, /proc sampled at 4 Hz")
    results = {}
    with tempfile.TemporaryDirectory(prefix="stress-memory-") as temporary:
        for seconds in (short, long):
            peaks, wall, records = measure(Path(temporary), seconds, args.rate)
            results[seconds] = peaks
            print(
                f"  {format_duration(seconds):>5} run: {records:>9,} records in {wall:6.1f} s;"
                f" load process {mib(peaks.load_kib)}, parent during the load"
                f" {mib(peaks.parent_during_load_kib)}, parent with the report"
                f" {mib(peaks.parent_kib)}, target {mib(peaks.target_kib)}"
                f" ({peaks.samples} samples)"
            )
    first, second = results[short], results[long]
    load_ratio = second.load_kib / first.load_kib
    parent_ratio = second.parent_during_load_kib / first.parent_during_load_kib
    print(
        f"  long/short: load process {load_ratio:.3f}, parent during the load"
        f" {parent_ratio:.3f} (target <= 1.10); parent with the report"
        f" {second.parent_kib / first.parent_kib:.3f} (grows with the records: not a target)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
