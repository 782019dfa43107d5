"""Work a load process does beside its requests without holding up its event loop: making
record tables and writing Parquet parts.

Both take milliseconds per batch (about 1 µs a record to make a table; a part of a second's
records, 5-30 ms to write). Done in one go on the event loop that is a stall: an open-loop
arrival due during it is sent late, and every answer in flight is read late.

- A table is made by the greenlet that flushes, in steps of a fraction of a millisecond
  (stress.record.table_of's ``pause``), with a short sleep after every 0.3 ms of steps so
  the loop polls for answers and releases due arrivals. Made in a native thread instead
  (the design before), it held the GIL through pyarrow's and the transpose's long C calls:
  measured at 5,950 req/s, nearly every arrival sent 2 ms or more late was due during a
  flush and left right after it.
- Parquet parts are written in gevent's pool of native threads (pyarrow's writer releases
  the GIL) while the loop goes on; the collector joins them at the end.

The load process also shortens Python's switch interval (SWITCH_SECONDS) so the loop gets
the GIL back quickly from a part-writing thread. Only the load process uses this (gevent is
its event loop); the parent writes inline.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import gevent
import gevent.lock
import pyarrow as pa

from stress.record import BatchWriter, Record, table_of

# The GIL's switch interval in a load process: how long the event loop can wait for a native
# thread holding it (Python's default is 5 ms, longer than a request to a fast server).
SWITCH_SECONDS = 0.0005
# A table's steps run back to back for up to STEP_BUDGET_SECONDS; then the flushing greenlet
# sleeps PAUSE_SECONDS, long enough to be a timer, so the event loop polls for answers and
# releases due arrivals before the next step (a sleep(0) returns through the loop's
# callbacks without polling: every arrival due in a flush left after it). A small table
# never pauses; on an idle loop a pause lasts up to 1 ms (epoll's resolution).
STEP_BUDGET_SECONDS = 0.0003
PAUSE_SECONDS = 0.0001


def share_the_gil() -> None:
    """Let a native thread holding the GIL give it back to the event loop within
    SWITCH_SECONDS (called once, when the load process starts)."""
    sys.setswitchinterval(SWITCH_SECONDS)


class SteppedBatchWriter(BatchWriter):
    """A BatchWriter whose tables are made by the flushing greenlet in steps, letting the
    event loop turn between them (record.table_of's ``pause``): no run of steps holds the
    loop more than STEP_BUDGET_SECONDS. ``flush_seconds`` counts the steps' CPU, not the
    other greenlets' that ran in the pauses.

    One flush at a time: a flush (or ``close``) waits for the one under way, so tables
    reach the sink in the order their rows were taken, and once ``flush`` returns every row
    added before it is in the sink (a worker's last batch is sent after it). A record added
    while a flush is under way waits for the next one, even at ``max_rows``. From the event
    loop's own greenlet (which can neither wait nor pause) the table is made in one go."""

    def __init__(self, sink: Callable[[pa.Table], None], **limits: Any) -> None:
        super().__init__(sink, **limits)
        self._flushing = gevent.lock.Semaphore()

    def add(self, record: Record) -> None:
        if self._flushing.locked():
            self._rows.append(record)
        else:
            super().add(record)

    def flush(self) -> None:
        if gevent.getcurrent() is gevent.get_hub():
            super().flush()
            return
        with self._flushing:
            super().flush()

    def _table(self, rows: Sequence[Record]) -> pa.Table:
        if gevent.getcurrent() is gevent.get_hub():
            return super()._table(rows)
        paused = 0.0
        ran_from = time.perf_counter()

        def pause() -> None:
            nonlocal paused, ran_from
            if time.perf_counter() - ran_from < STEP_BUDGET_SECONDS:
                return
            started = time.thread_time()
            gevent.sleep(PAUSE_SECONDS)
            paused += time.thread_time() - started
            ran_from = time.perf_counter()

        started = time.thread_time()
        table = table_of(rows, pause=pause)
        self.flush_seconds += time.thread_time() - started - paused
        return table


class PartThreads:
    """Parts written in native threads while the event loop goes on; ``join`` waits for
    every one and raises the first failure (a part that could not be written is lost data,
    never silent). ``seconds``: the threads' CPU for the parts joined so far."""

    def __init__(self) -> None:
        self._pending: list[Any] = []
        self.seconds = 0.0

    def submit(self, function: Callable[..., None], *args: Any) -> None:
        self._reap()
        self._pending.append(gevent.get_hub().threadpool.spawn(_timed, function, *args))

    def _reap(self) -> None:
        done = [result for result in self._pending if result.ready()]
        for result in done:
            self._pending.remove(result)
            self.seconds += result.get()  # raises the thread's exception

    def join(self) -> None:
        pending, self._pending = self._pending, []
        for result in pending:
            self.seconds += result.get()


def _timed(function: Callable[..., None], *args: Any) -> float:
    started = time.thread_time()
    function(*args)
    return time.thread_time() - started
