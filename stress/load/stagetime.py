"""Where a load process's time per request goes, measured on a sample of the requests.

Every ``SAMPLE_EVERY``-th answer is timed stage by stage as the plan handles it: the
protocol's parse of the answer, the checks, building its record, handing the record to the
batch writer. Batching itself (records to an Arrow table, the table to the collector or the
master) is timed whole, each time it runs, and so is writing the Parquet parts of a single
load process (both in native threads: their CPU, not the wait). What is left of the process's
CPU per request is the transport and the event loop: building and sending the request,
reading the answer, gevent's switches and Locust's user loop. load.json carries the figures
per load process (``time_us``); benchmarks and the closing notes of performance work read
them from there.

Sampling costs four clock readings every ``SAMPLE_EVERY`` requests; an unsampled request
pays one counter increment.
"""

from __future__ import annotations

import time
from typing import Any

SAMPLE_EVERY = 64
STAGES = ("parse", "checks", "record", "hand_over")


class StageTimes:
    """Sums of the sampled stage times (seconds) and the batching time of one process."""

    def __init__(self, every: int = SAMPLE_EVERY) -> None:
        self.every = every
        self._count = 0
        self.sampled = 0
        self.sums = dict.fromkeys(STAGES, 0.0)
        self.batching = 0.0
        # A single load process's Parquet parts, written in native threads (offloop).
        self.parts = 0.0

    def due(self) -> list[float] | None:
        """A list to collect this request's clock marks in, when it is one of the sample."""
        self._count += 1
        if self._count % self.every:
            return None
        return [time.perf_counter()]

    def add(self, marks: list[float]) -> None:
        """One sampled request's marks: start, then the end of each stage in STAGES order."""
        if len(marks) != len(STAGES) + 1:
            return  # a stage did not run (no answer to parse): not a comparable sample
        self.sampled += 1
        for stage, start, end in zip(STAGES, marks, marks[1:], strict=False):
            self.sums[stage] += end - start

    def summary(self, cpu_s: float | None, requests: int) -> dict[str, Any]:
        """µs per request of each stage, of batching, and of the rest of the process's CPU."""
        figures: dict[str, Any] = {"sampled": self.sampled}
        measured = 0.0
        if self.sampled:
            for stage in STAGES:
                figures[stage] = round(self.sums[stage] / self.sampled * 1e6, 2)
                measured += figures[stage]
        if requests:
            figures["batching"] = round(self.batching / requests * 1e6, 2)
            measured += figures["batching"]
            if self.parts:
                figures["parts"] = round(self.parts / requests * 1e6, 2)
                measured += figures["parts"]
            if cpu_s is not None:
                figures["cpu"] = round(cpu_s / requests * 1e6, 2)
                figures["transport_and_loop"] = round(figures["cpu"] - measured, 2)
        return figures
