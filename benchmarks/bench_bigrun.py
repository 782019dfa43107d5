"""Benchmark: the corpus and a big run, whole commands, each in its own child process.

    python -m benchmarks.bench_bigrun [--only corpus|report|compare] [--rounds 3]
        [--requests 1000000] [--part-rows 2500] [--against /path/to/other/checkout]

1. `stress generate SCENARIO -n 20000 -o FILE`: inputs per wall second and per CPU-second
   of the whole command (start-up, preparation, generation, writing), with the default
   number of processes (first: the load average it reads is not yet raised by the other
   rounds; each round says how many it started), one and two, and its peak RSS for 10,000
   and 100,000 inputs (streamed: it should stay flat). The issue's figure, printed last:
   inputs per wall second with the default (target >= 20,000/s on a quiet machine), beside
   inputs per CPU-second (the steadier figure on a shared machine).
2. `stress report RUN` on a synthetic run of ``--requests`` records (target <= 15 s,
   <= 1 GB peak RSS).
3. `stress compare BASE NEW` on two such runs (same targets).

The runs are synthesised by benchmarks.synthetic with stress's own part writer
(stress.record.write_part), in parts of ``--part-rows`` rows as the load writes them (about
one part a second per load process). With ``--against DIR`` every command also runs from the
checkout DIR (its package first on PYTHONPATH), alternately with this one in the same
session, and the ratio of the medians is printed: on a crowded machine the ratio is the
figure to compare, not the seconds. Peak RSS is each child's own (os.wait4), not the
largest child so far. Figures, not tests: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.synthetic import write_synthetic_run

HERE = Path(__file__).resolve().parent
OURS = HERE.parent
TARGETS = {"report": (15.0, 1024.0), "compare": (15.0, 1024.0)}
CORPUS_TARGET = 20_000.0
# How `stress generate -o` says how many processes made the corpus.
PROCESSES = re.compile(r"\((\d+ process(?:es)?)\)")


def measure(
    args: Sequence[str], checkout: Path, said: list[str] | None = None
) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS in MB, exit code, CPU seconds: user + system) of one child
    run with ``checkout``'s stress. On a crowded machine the CPU seconds are the steadier.
    What the child wrote to stderr is appended to ``said`` when given."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONHASHSEED": "0"}
    started = time.perf_counter()
    child = subprocess.Popen(
        list(args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=checkout
    )
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    child.returncode = code
    if code not in (0, 1):
        sys.stderr.write(errors.decode(errors="replace"))
    if said is not None:
        said.append(errors.decode(errors="replace"))
    return seconds, usage.ru_maxrss / 1024, code, usage.ru_utime + usage.ru_stime


def contenders(against: Path | None) -> list[tuple[str, Path]]:
    """This checkout and ``against``, each with its modules compiled to bytecode first, as an
    installed package has them: with PYTHONDONTWRITEBYTECODE set, a checkout without fresh
    .pyc files would compile every changed module in every run and measure the compiler."""
    named = [("this", OURS)]
    if against is not None:
        named.append((against.name or str(against), against.resolve()))
    for _, checkout in named:
        compileall.compile_dir(checkout / "stress", quiet=1)
    return named


def rounds_of(
    label: str,
    command: Sequence[str],
    named: list[tuple[str, Path]],
    rounds: int,
    fresh: Path | None = None,
) -> dict[str, list[tuple[float, float, float]]]:
    """Each contender ``rounds`` times, alternately; prints every measurement (and, for
    `stress generate`, how many processes made the corpus, as it says). ``fresh``: a file
    removed before each run (the command's output, so that no run replaces one)."""
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in named}
    for number in range(rounds):
        for name, checkout in named:
            if fresh is not None:
                fresh.unlink(missing_ok=True)
            said: list[str] = []
            load = os.getloadavg()[0]
            seconds, peak, code, cpu = measure(command, checkout, said)
            figures[name].append((seconds, peak, cpu))
            made = PROCESSES.search(said[0])
            processes = f", {made.group(1)} (load average {load:.2f} before)" if made else ""
            print(
                f"   round {number + 1} {name:>8}: {label} {seconds:6.2f} s "
                f"({cpu:5.2f} s CPU), peak RSS {peak:6.0f} MB, exit {code}{processes}",
                flush=True,
            )
    return figures


def medians(
    figures: dict[str, list[tuple[float, float, float]]],
) -> dict[str, tuple[float, float, float]]:
    return {
        name: tuple(statistics.median(row[i] for row in rows) for i in range(3))  # type: ignore[misc]
        for name, rows in figures.items()
    }


def corpus(directory: Path, named: list[tuple[str, Path]], rounds: int) -> None:
    count = 20_000
    print(
        f"\nCorpus: stress generate scenarios/demo.yaml -n {count:,} -o FILE, {rounds} rounds: "
        f"inputs per wall second and per CPU-second (user + system, the command and its "
        f"forked processes) of the whole command, targets >= {CORPUS_TARGET:,.0f} each"
    )
    python = sys.executable
    out = directory / "corpus.jsonl"
    command = [python, "-m", "stress", "generate", "scenarios/demo.yaml", "-n", str(count)]
    written = [*command, "-o", str(out)]
    # The default first: it counts the CPUs left idle by the 1-minute load average, which
    # the rounds before it would raise. Each run writes a new file: renaming the finished
    # corpus over the last run's costs ext4 about 35 ms more at 20,000 inputs (it writes the
    # new file's 70 MB out before the rename, and frees the old file's).
    cases = (
        ("default (one per idle CPU)", written),
        ("one process (--workers 1)", [*written, "--workers", "1"]),
        ("two processes (--workers 2)", [*written, "--workers", "2"]),
    )
    target: tuple[float, float] | None = None
    for label, args in cases:
        print(f"   {label}:")
        figures = medians(rounds_of("generate", args, named, rounds, fresh=out))
        for name, (seconds, peak, cpu) in figures.items():
            print(f"   median {name:>8}: {rates(count, seconds, cpu)}; peak RSS {peak:.0f} MB")
        if len(figures) == 2:
            (_, (ours, _, our_cpu)), (other, (theirs, _, their_cpu)) = figures.items()
            print(
                f"   {other} / this: {theirs / ours:.2f}x the time, {their_cpu / our_cpu:.2f}x CPU"
            )
        if target is None:
            target = figures["this"][0], figures["this"][2]
    assert target is not None
    # The figure: the whole command with the default number of processes, per wall
    # second (what a user waits), and per CPU-second (what it costs, steadier when shared).
    print(
        f"   issue 17 corpus figure (this checkout, default processes, median): "
        f"{count / target[0]:,.0f} inputs per wall second "
        f"({'ok' if count / target[0] >= CORPUS_TARGET else 'UNDER'} against "
        f"{CORPUS_TARGET:,.0f}), {count / target[1]:,.0f} inputs per CPU-second"
    )
    # Start-up: the command with one input per family (the target check's inputs only).
    for name, checkout in named:
        out.unlink(missing_ok=True)
        seconds, peak, _, cpu = measure([*command[:-1], "1", "-o", str(out)], checkout)
        print(f"   {name:>8} start-up (-n 1): {seconds:5.2f} s ({cpu:4.2f} s CPU)")
    for size in (10_000, 100_000):
        for name, checkout in named:
            sized = [*command[:-1], str(size), "-o", str(out), "--workers", "1"]
            out.unlink(missing_ok=True)
            seconds, peak, _, cpu = measure(sized, checkout)
            print(
                f"   {name:>8} -n {size:>7,} --workers 1: {rates(size, seconds, cpu)}; "
                f"peak RSS {peak:6.0f} MB"
            )


def rates(count: int, seconds: float, cpu: float) -> str:
    """Inputs per wall second and per CPU-second, each against the corpus target."""

    def verdict(rate: float) -> str:
        return "ok" if rate >= CORPUS_TARGET else "UNDER"

    wall, per_cpu = count / seconds, count / cpu
    return (
        f"{seconds:.2f} s = {wall:,.0f} inputs/s ({verdict(wall)}), {cpu:.2f} s CPU = "
        f"{per_cpu:,.0f} inputs per CPU-second ({verdict(per_cpu)})"
    )


def big_runs(directory: Path, requests: int, part_rows: int) -> tuple[Path, Path]:
    base, new = directory / "base", directory / "new"
    if not (base / "run.json").exists():
        began = time.perf_counter()
        write_synthetic_run(base, requests=requests, seed=7, part_rows=part_rows)
        write_synthetic_run(
            new, requests=requests, seed=8, slowdown=1.3, changed_answers=0.1, part_rows=part_rows
        )
        parts = len(list((base / "records").iterdir()))
        print(
            f"\ntwo synthetic runs of {requests:,} records ({parts} parts each) written in "
            f"{time.perf_counter() - began:.1f} s"
        )
    return base, new


def report_and_compare(
    directory: Path,
    named: list[tuple[str, Path]],
    rounds: int,
    only: str | None,
    base: Path,
    new: Path,
    requests: int,
) -> None:
    python = sys.executable
    commands = {
        "report": [python, "-m", "stress", "report", str(base)],
        "compare": [
            python,
            "-m",
            "stress",
            "compare",
            str(base),
            str(new),
            "--out",
            str(directory / "compared"),
        ],
    }
    for label, command in commands.items():
        if only not in (None, label):
            continue
        print(f"\n{label.title()}: stress {label} on {requests:,} records, {rounds} rounds")
        figures = medians(rounds_of(label, command, named, rounds))
        most_seconds, most_mb = TARGETS[label]
        for name, (seconds, peak, cpu) in figures.items():
            verdict = "ok" if seconds <= most_seconds and peak <= most_mb else "OVER TARGET"
            print(
                f"   median {name:>8}: {seconds:.2f} s ({cpu:.2f} s CPU), peak RSS {peak:.0f} MB "
                f"(targets <= {most_seconds:g} s, <= {most_mb:g} MB: {verdict})"
            )
        if len(figures) == 2:
            (_, (ours, our_mb, our_cpu)), (other, (theirs, their_mb, their_cpu)) = figures.items()
            print(
                f"   {other} / this: {theirs / ours:.2f}x the time, {their_cpu / our_cpu:.2f}x "
                f"CPU, {their_mb / our_mb:.2f}x RSS"
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_bigrun", description=__doc__)
    parser.add_argument("--only", choices=["corpus", "report", "compare"], default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--part-rows", type=int, default=2_500)
    parser.add_argument("--against", type=Path, help="another checkout, run alternately")
    parser.add_argument("--keep", type=Path, help="write the runs here and keep (reuse) them")
    options = parser.parse_args(argv)
    load = os.getloadavg()
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f} at {now}, Python {sys.version.split()[0]}"
    )
    named = contenders(options.against)
    root = options.keep or Path(tempfile.mkdtemp(prefix="stress-bigrun-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        if options.only in (None, "corpus"):
            corpus(root, named, options.rounds)
        if options.only != "corpus":
            base, new = big_runs(root, options.requests, options.part_rows)
            report_and_compare(
                root, named, options.rounds, options.only, base, new, options.requests
            )
    finally:
        if options.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
