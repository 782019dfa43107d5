"""The tester watching itself: CPU and event-loop lag of each load process, once a second.

A load generator that has run out of CPU measures its own queueing as the target's latency
and cannot send the rate it was asked for, so its figures are distorted. Locust warns only
after 20 s and only in its log; stress samples every second from the start, flags a process
as saturated when its CPU stays at or above SATURATED_CPU for SATURATED_SAMPLES samples in a
row (or its event loop lags by LAG_LIMIT_MS), says so on the console while it happens, and
records it in load.json for the report. Pure apart from psutil (no Locust, no gevent).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psutil

# One core fully busy, as Locust's own warning (CPU_WARNING_THRESHOLD) counts it.
SATURATED_CPU = 90.0
SATURATED_SAMPLES = 2
# Timers firing this late mean every timestamp the process takes is this late too.
LAG_LIMIT_MS = 50.0
SAMPLE_SECONDS = 1.0


@dataclass(frozen=True)
class Sample:
    """One second of a load process: CPU percent of one core, worst event-loop lag (ms)."""

    at: float
    cpu: float
    lag_ms: float

    @property
    def busy(self) -> bool:
        return self.cpu >= SATURATED_CPU or self.lag_ms >= LAG_LIMIT_MS


class SelfWatch:
    """Samples the current process. ``lag(ms)`` is fed by whoever measures timer lateness."""

    def __init__(
        self,
        *,
        process: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._process = process if process is not None else psutil.Process()
        self._clock = clock
        self._process.cpu_percent(None)  # the first reading only starts the interval
        self._cpu_start = self._cpu_total()
        self._lag = 0.0
        self._run = 0
        self.samples: list[Sample] = []
        self.saturated = False

    def _cpu_total(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) this process used since the watch began."""
        return round(self._cpu_total() - self._cpu_start, 3)

    def lag(self, ms: float) -> None:
        self._lag = max(self._lag, ms)

    def sample(self) -> tuple[Sample, bool]:
        """Take a sample; the flag is True when the process has just become saturated."""
        sample = Sample(self._clock(), float(self._process.cpu_percent(None)), self._lag)
        self._lag = 0.0
        self.samples.append(sample)
        self._run = self._run + 1 if sample.busy else 0
        became = self._run >= SATURATED_SAMPLES and not self.saturated
        self.saturated = self._run >= SATURATED_SAMPLES
        return sample, became


def summarise(samples: Sequence[Sample]) -> dict[str, Any]:
    """What load.json keeps of one process's samples."""
    if not samples:
        return {
            "samples": 0,
            "cpu_mean": None,
            "cpu_max": None,
            "lag_max_ms": None,
            "saturated_s": 0,
        }
    cpu = [s.cpu for s in samples]
    run = 0
    saturated = 0
    for sample in samples:
        run = run + 1 if sample.busy else 0
        if run >= SATURATED_SAMPLES:
            # The samples that started the run count too.
            saturated += SATURATED_SAMPLES if run == SATURATED_SAMPLES else 1
    return {
        "samples": len(samples),
        "cpu_mean": round(sum(cpu) / len(cpu), 1),
        "cpu_max": round(max(cpu), 1),
        "lag_max_ms": round(max(s.lag_ms for s in samples), 1),
        "saturated_s": round(saturated * SAMPLE_SECONDS, 1),
    }
