"""Work a load process does off its event loop: making record tables and writing Parquet parts.

Both take milliseconds per batch (about 1 µs a record to make a table; a part of a second's
records, 5-30 ms to write). On the event loop that is a stall: an open-loop arrival due
during it is sent late, and every answer in flight is read late. Here they run in gevent's
pool of native threads instead: the greenlet that hands the work over waits (or goes on, for
a part), the event loop goes on serving users. pyarrow's Parquet writer releases the GIL;
making a table does not, so the load process also shortens Python's switch interval
(SWITCH_SECONDS): the event loop gets the GIL back within that, not within the default 5 ms.

Only the load process uses this (gevent is its event loop); the parent writes inline.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import gevent
import pyarrow as pa

from stress.record import BatchWriter, Record, table_of

T = TypeVar("T")

# The GIL's switch interval in a load process: how long the event loop can wait for a native
# thread holding it (Python's default is 5 ms, longer than a request to a fast server).
SWITCH_SECONDS = 0.0005


def share_the_gil() -> None:
    """Let a native thread holding the GIL give it back to the event loop within
    SWITCH_SECONDS (called once, when the load process starts)."""
    sys.setswitchinterval(SWITCH_SECONDS)


def off_loop(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a native thread; this greenlet waits, the event loop goes on.
    Inline when called from the event loop's own greenlet (it cannot wait)."""
    hub = gevent.get_hub()
    if gevent.getcurrent() is hub:
        return function(*args)
    result: T = hub.threadpool.apply(function, args)
    return result


def _timed_table(rows: Sequence[Record]) -> tuple[pa.Table, float]:
    started = time.thread_time()
    table = table_of(rows)
    return table, time.thread_time() - started


class OffLoopBatchWriter(BatchWriter):
    """A BatchWriter whose tables are made in a native thread (off_loop). ``flush_seconds``
    counts that thread's CPU for them, not the wait, so stagetime's batching share stays the
    work itself."""

    def _table(self, rows: Sequence[Record]) -> pa.Table:
        table, cpu = off_loop(_timed_table, rows)
        self.flush_seconds += cpu
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
