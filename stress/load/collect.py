"""Where records go: batched into Arrow tables by each load process, gathered by one collector.

    load process (users) ──Record──► BatchWriter ──pa.Table──► sink
        single process: sink = Collector.add (same process)
        worker:         sink = ship over Locust's messaging ──► master's Collector.add

The collector writes the batches as Parquet parts of ``records/`` (``w<worker>-<n>.parquet``,
temporary name then rename, as stress.record's writer does; about one a second per load
process), keeps the figures the live
console and the sweep need (a sliding window; per-step latencies of the phases it tracks),
and appends failures to failures.jsonl, once per distinct (input, checks) pair. No Locust and
no gevent here: a load process hands the part writing to native threads through ``background``
(stress.load.offloop).
"""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from stress.record import BatchWriter, table_of, write_part
from stress.rundir import layout

__all__ = ["BatchWriter", "Collector", "FailureSink", "table_of", "write_part"]

# Latency window for the live rps and p95 in the console.
WINDOW_SECONDS = 5.0
# The live console's "top failing" lists: this many checks and families at most.
TOP_FAILING = 5
# failures.jsonl keeps at most this many lines per run (as the single-process FailureLog).
MAX_FAILURE_LINES = 2000
# Load processes hand over small batches often (BATCH_SECONDS): building one stalls the event
# loop for a moment, and a second's worth at once made 1% of open-loop sends late. Parts are
# written from several batches, at most once a second per load process, so a long run does
# not leave tens of thousands of tiny files.
BATCH_SECONDS = 0.25
PART_SECONDS = 1.0
PART_ROWS = 20_000

# Upper bounds (ms) of the per-phase latency histogram that progress lines carry (served
# by `stress run --metrics-port`, stress/exporter.py); the last bucket is everything above.
LATENCY_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)
# The error kind of a request that was answered but failed a check.
FAILED_CHECK = "check"

Sink = Callable[[pa.Table], None]


class Background(Protocol):
    """Where the collector's Parquet parts are written: ``submit`` hands one over, ``join``
    waits for all (and raises a failure). A load process writes them in native threads
    (stress.load.offloop.PartThreads); by default they are written at once."""

    seconds: float

    def submit(self, function: Callable[..., None], *args: Any) -> None: ...

    def join(self) -> None: ...


class Inline:
    """Parts written at once, by the caller."""

    seconds = 0.0

    def submit(self, function: Callable[..., None], *args: Any) -> None:
        function(*args)

    def join(self) -> None:
        pass


def _write_part(path: Path, tables: list[pa.Table]) -> None:
    write_part(path, pa.concat_tables(tables))


@dataclass
class PhaseFigures:
    """One phase's counts since it began: a latency histogram (counts per
    LATENCY_BUCKETS_MS bucket, then above the last) and sum, errors by kind, failing checks
    and the families of failed requests."""

    buckets: np.ndarray = field(
        default_factory=lambda: np.zeros(len(LATENCY_BUCKETS_MS) + 1, dtype=np.int64)
    )
    latency_sum_ms: float = 0.0
    error_kinds: collections.Counter[str] = field(default_factory=collections.Counter)
    checks: collections.Counter[str] = field(default_factory=collections.Counter)
    families: collections.Counter[str] = field(default_factory=collections.Counter)

    def add(self, latency: np.ndarray) -> None:
        index = np.searchsorted(LATENCY_BUCKETS_MS, latency, side="left")
        self.buckets += np.bincount(index, minlength=len(self.buckets))
        self.latency_sum_ms += float(latency.sum())

    def figures(self) -> dict[str, Any]:
        return {
            "phase_latency_buckets": self.buckets.tolist(),
            "phase_latency_sum_ms": round(self.latency_sum_ms, 3),
            "phase_error_kinds": dict(self.error_kinds),
            "phase_checks": dict(self.checks),
            "phase_families": dict(self.families),
        }


class Collector:
    """Gathers every load process's records in the run directory, and the live figures.

    ``tracked`` names the phases whose per-step latencies are kept in memory (sweeps, which
    are judged while they run); others only pass through the window.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        tracked: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
        background: Background | None = None,
    ) -> None:
        self.directory = layout.records(run_dir)
        self.background: Background = background or Inline()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._parts: dict[int, int] = collections.Counter()
        self._pending: dict[int, list[pa.Table]] = collections.defaultdict(list)
        self._pending_rows: dict[int, int] = collections.Counter()
        self._written_at: dict[int, float] = {}
        self._tracked = set(tracked)
        self._steps: dict[tuple[str, int], list[tuple[np.ndarray, np.ndarray]]] = {}
        self._window: collections.deque[tuple[float, np.ndarray, int]] = collections.deque()
        self.started = clock()
        self.records = 0
        self.errors = 0
        self.by_worker: dict[int, int] = collections.Counter()
        self.by_step: dict[tuple[str, int | None], int] = collections.Counter()
        self.phases: dict[str, PhaseFigures] = collections.defaultdict(PhaseFigures)

    def add(self, table: pa.Table, worker: int) -> None:
        """Take one batch from load process ``worker`` (written with others, see _store)."""
        rows = table.num_rows
        if not rows:
            return
        self._pending[worker].append(table)
        self._pending_rows[worker] += rows
        now = self._clock()
        if (
            self._pending_rows[worker] >= PART_ROWS
            or now - self._written_at.get(worker, self.started) >= PART_SECONDS
        ):
            self._store(worker, now)
        self.records += rows
        self.by_worker[worker] += rows
        ok = table.column("ok").to_numpy(zero_copy_only=False).astype(bool)
        latency = table.column("latency_ms").to_numpy(zero_copy_only=False).astype(float)
        self.errors += int((~ok).sum())
        self._window.append((self._clock(), latency, rows))
        phases = table.column("phase").to_numpy(zero_copy_only=False)
        # -1 stands for "no step" (null): NaN would make every row a key of its own.
        steps = table.column("step").fill_null(-1).to_numpy(zero_copy_only=False)
        groups = collections.Counter(zip(phases.tolist(), steps.tolist(), strict=True))
        for phase in {phase for phase, _ in groups}:
            self.phases[str(phase)].add(latency[phases == phase])
        if not ok.all():
            self._count_failed(table, ok)
        for (phase, step), count in groups.items():
            index = None if step < 0 else int(step)
            self.by_step[(str(phase), index)] += count
            if phase in self._tracked and index is not None:
                mask = (phases == phase) & (steps == step)
                self._steps.setdefault((str(phase), index), []).append((latency[mask], ok[mask]))

    def _count_failed(self, table: pa.Table, ok: np.ndarray) -> None:
        """Each phase's failure counts: by error kind, failing check and family (the run's
        are their sums)."""
        failed = table.filter(pa.array(~ok))
        rows = zip(
            failed.column("phase").to_pylist(),
            failed.column("error_kind").to_pylist(),
            failed.column("family").to_pylist(),
            failed.column("failed_checks").to_pylist(),
            strict=True,
        )
        for phase, kind, family, failed_checks in rows:
            figures = self.phases[str(phase)]
            figures.error_kinds[str(kind) if kind else FAILED_CHECK] += 1
            figures.families[str(family)] += 1
            figures.checks.update(str(check) for check in failed_checks or [])

    def _store(self, worker: int, now: float) -> None:
        tables = self._pending.pop(worker, [])
        self._pending_rows.pop(worker, None)
        self._written_at[worker] = now
        if not tables:
            return
        self._parts[worker] += 1
        path = layout.part(self.directory, f"w{worker}", self._parts[worker])
        self.background.submit(_write_part, path, tables)

    def close(self) -> None:
        """Write every batch still waiting to become a part, and wait until every part is
        written."""
        now = self._clock()
        for worker in list(self._pending):
            self._store(worker, now)
        self.background.join()

    def step_data(self, phase: str, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Latencies (ms) and ok flags of a tracked step's requests received so far."""
        parts = self._steps.get((phase, step), [])
        if not parts:
            return np.array([], dtype=float), np.array([], dtype=bool)
        return (
            np.concatenate([latency for latency, _ in parts]),
            np.concatenate([ok for _, ok in parts]),
        )

    def progress(self, phase: str | None = None) -> dict[str, Any]:
        """Requests per second and exact p50 and p95 over the last WINDOW_SECONDS of batches;
        the errors so far (of the run and of ``phase``) and the top failing checks and
        families (stress.load.events.Progress's figures)."""
        now = self._clock()
        while self._window and self._window[0][0] < now - WINDOW_SECONDS:
            self._window.popleft()
        count = sum(n for _, _, n in self._window)
        span = min(WINDOW_SECONDS, max(now - self.started, 0.5))
        latencies = (
            np.concatenate([values for _, values, _ in self._window]) if self._window else None
        )
        p50, p95 = (
            (None, None)
            if latencies is None
            else (float(q) for q in np.quantile(latencies, [0.5, 0.95], method="linear"))
        )
        figures: dict[str, Any] = {
            "rps": round(count / span, 1),
            "p50_ms": None if p50 is None else round(p50, 1),
            "p95_ms": None if p95 is None else round(p95, 1),
            "errors": self.errors,
            "checks": _top(figures.checks for figures in self.phases.values()),
            "families": _top(figures.families for figures in self.phases.values()),
        }
        if phase is not None:
            figures["phase_requests"] = sum(
                count for (name, _), count in self.by_step.items() if name == phase
            )
            figures["phase_errors"] = sum(self.phases[phase].error_kinds.values())
            figures.update(self.phases[phase].figures())
        return figures


def _top(counts: Iterable[collections.Counter[str]]) -> dict[str, int]:
    """The TOP_FAILING most frequent names over the phases' counts."""
    total: collections.Counter[str] = collections.Counter()
    for count in counts:
        total.update(count)
    return dict(total.most_common(TOP_FAILING))


class FailureSink:
    """failures.jsonl on the master: lines from every worker, once per (input, checks)."""

    def __init__(self, path: Path, *, max_lines: int = MAX_FAILURE_LINES) -> None:
        self._handle = path.open("a", encoding="utf-8")
        self._seen: set[tuple[str, tuple[str, ...]]] = set()
        self._max_lines = max_lines
        self.lines = 0

    def add(self, lines: Iterable[dict[str, Any]]) -> None:
        for line in lines:
            findings = line.get("findings") or []
            key = (str(line.get("input_id")), tuple(str(f.get("check")) for f in findings))
            if key in self._seen or self.lines >= self._max_lines:
                continue
            self._seen.add(key)
            self._handle.write(json.dumps(line, ensure_ascii=True) + "\n")
            self.lines += 1
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()
