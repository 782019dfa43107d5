"""Benchmark: `stress report` (and `stress compare`) on a run of a million synthetic records.

    .venv/bin/python -m benchmarks.bench_report [--requests 1000000] [--keep DIR]

Writes a synthetic run directory (benchmarks.synthetic: 60 families, four phases over an hour,
streaming times, failures with hostile payloads), then runs the real command in a child
process and prints its wall time, its peak resident memory and the size of report.html,
against the targets of the report issue: at most 15 s, 1 GB and 8 MB. A figure-printing
script, not a timed test: timings on a shared machine are not pass/fail material.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.synthetic import write_synthetic_run

TARGETS = {"seconds": 15.0, "peak_rss_mb": 1024.0, "html_mb": 8.0}


def run_measured(args: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one child process."""
    started = time.perf_counter()
    # A fresh Python per measurement: ru_maxrss of RUSAGE_CHILDREN is the largest child so far.
    code = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if code.returncode not in (0, 1):
        sys.stderr.write(code.stderr.decode(errors="replace"))
    return seconds, peak_kb / 1024, code.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the runs here and keep them")
    parser.add_argument("--no-compare", action="store_true", help="skip the compare figures")
    options = parser.parse_args()
    root = options.keep or Path(tempfile.mkdtemp(prefix="stress-bench-"))
    stress = [sys.executable, "-m", "stress.cli"]
    try:
        began = time.perf_counter()
        base = write_synthetic_run(root / "base", requests=options.requests, seed=7)
        print(
            f"synthetic run of {options.requests:,} records written in "
            f"{time.perf_counter() - began:.1f} s ({_mb(base / 'records'):.1f} MB of Parquet)"
        )
        seconds, peak, code = run_measured([*stress, "report", str(base)])
        html = (base / "report.html").stat().st_size / 2**20
        print(
            f"stress report: {seconds:.1f} s, peak RSS {peak:.0f} MB, report.html "
            f"{html:.2f} MB, exit {code}"
        )
        for name, value in (("seconds", seconds), ("peak_rss_mb", peak), ("html_mb", html)):
            verdict = "ok" if value <= TARGETS[name] else "OVER TARGET"
            print(f"  {name:<12} {value:10.2f}   target <= {TARGETS[name]:g}   {verdict}")
        sizes = ", ".join(
            f"{name} {(base / name).stat().st_size / 1024:.0f} kB"
            for name in ("summary.json", "summary.md", "junit.xml")
        )
        print(f"  other files: {sizes}")
        if not options.no_compare:
            new = write_synthetic_run(
                root / "new",
                requests=options.requests,
                seed=8,
                slowdown=1.3,
                changed_answers=0.1,
            )
            seconds, peak, code = run_measured([*stress, "compare", str(base), str(new)])
            print(
                f"stress compare (two runs of {options.requests:,}): {seconds:.1f} s, "
                f"peak RSS {peak:.0f} MB (the largest child so far), exit {code}"
            )
    finally:
        if options.keep is None:
            shutil.rmtree(root, ignore_errors=True)


def _mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.iterdir()) / 2**20 if path.is_dir() else 0.0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
