"""Record tables and Parquet parts do not hold up the load process's event loop
(stress.load.offloop): tables are made in steps the loop turns between, parts are written
in native threads; the loop goes on serving users meanwhile."""

from __future__ import annotations

import time
from pathlib import Path

import gevent
import gevent.event
import pyarrow as pa
import pytest

from stress.load import offloop
from stress.load.collect import Collector
from stress.record import STEP_ROWS, BatchWriter, Record, read_records, table_of
from stress.rundir import layout


def _record(seq: int) -> Record:
    return Record(
        seq=seq,
        worker=0,
        input_id=f"i{seq}",
        family="realistic.chat_prompt",
        expect="ok",
        phase="load",
        users=1,
        sent_at=1.0 + seq,
        latency_ms=2.0,
        ttft_ms=None,
        status=200,
        error_kind=None,
        request_bytes=10,
        response_bytes=20,
        output_tokens=None,
        finish_reason=None,
        output_digest=None,
        output_excerpt=None,
        ok=True,
    )


def _ticking() -> tuple[list[float], gevent.Greenlet]:
    """A greenlet that notes each turn it gets of the event loop."""
    ticks: list[float] = []

    def tick() -> None:
        while True:
            ticks.append(time.perf_counter())
            gevent.sleep(0.005)

    return ticks, gevent.spawn(tick)


def test_a_table_made_in_steps_is_the_table_made_in_one_go() -> None:
    rows = [_record(seq) for seq in range(3 * STEP_ROWS + 5)]
    pauses: list[int] = []
    stepped = table_of(rows, pause=lambda: pauses.append(1))
    assert stepped.equals(table_of(rows))
    # Four steps of fields, then one pause after each column.
    assert len(pauses) == 4 + len(stepped.schema)


def test_the_event_loop_turns_between_a_tables_steps() -> None:
    tables: list[pa.Table] = []
    writer = offloop.SteppedBatchWriter(tables.append)
    rows = [_record(seq) for seq in range(8 * STEP_ROWS)]
    for row in rows:
        writer.add(row)
    turns: list[int] = []
    watcher = gevent.get_hub().loop.check()  # runs once each turn of the loop, after polling
    watcher.start(lambda: turns.append(1))
    try:
        gevent.spawn(writer.flush).join()
    finally:
        watcher.stop()
        watcher.close()
    assert len(turns) >= 3  # a turn in each pause (a few ms of steps): none in one go
    assert tables[0].equals(table_of(rows))
    assert writer.written == len(rows)
    assert writer.pending == 0


def test_batching_counts_the_steps_cpu_not_the_other_greenlets() -> None:
    def busy() -> None:  # another greenlet's CPU, run in the pauses
        while True:
            end = time.thread_time() + 0.002
            while time.thread_time() < end:
                pass
            gevent.sleep(0.0001)

    writer = offloop.SteppedBatchWriter(lambda table: None)
    for seq in range(8 * STEP_ROWS):
        writer.add(_record(seq))
    other = gevent.spawn(busy)
    gevent.sleep(0)
    started = time.thread_time()
    gevent.spawn(writer.flush).join()
    whole = time.thread_time() - started
    other.kill()
    assert whole > 0.008  # the other greenlet ran 2 ms in several pauses
    assert writer.flush_seconds < whole / 2


def test_one_flush_at_a_time_in_the_order_the_rows_were_taken() -> None:
    tables: list[pa.Table] = []
    writer = offloop.SteppedBatchWriter(tables.append, max_rows=20)
    first = [_record(seq) for seq in range(8 * STEP_ROWS)]
    for row in first[:19]:
        writer.add(row)
    writer._rows.extend(first[19:])  # more than max_rows buffered, as under load
    flushing = gevent.spawn(writer.flush)
    gevent.sleep(0)  # the flush has taken its rows and is between steps
    assert writer._flushing.locked()
    later = [_record(seq) for seq in range(10**6, 10**6 + 25)]
    for row in later:
        writer.add(row)  # past max_rows: no flush of its own while one is under way
    assert writer.pending == 25
    writer.close()  # waits for the flush under way, then writes the rest
    assert flushing.dead
    assert [table.num_rows for table in tables] == [len(first), len(later)]
    assert tables[0].equals(table_of(first))
    assert writer.written == len(first) + len(later)


def test_from_the_event_loops_own_greenlet_the_table_is_made_in_one_go() -> None:
    tables: list[pa.Table] = []
    writer = offloop.SteppedBatchWriter(tables.append)
    for seq in range(10):
        writer.add(_record(seq))
    done = gevent.event.Event()

    def in_the_hub() -> None:
        writer.flush()  # a pause would have to switch away from the hub: it must not
        done.set()

    gevent.get_hub().loop.run_callback(in_the_hub)
    assert done.wait(5)
    assert tables[0].equals(table_of([_record(seq) for seq in range(10)]))


def test_the_base_writer_counts_its_table_making() -> None:
    writer = BatchWriter(lambda table: None)
    for seq in range(200):
        writer.add(_record(seq))
    writer.flush()
    assert writer.flush_seconds > 0


def test_parts_are_written_while_the_loop_runs_and_all_exist_after_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stress.load.collect as collect

    real = collect.write_part

    def slow(path: Path, table: pa.Table) -> None:
        time.sleep(0.2)
        real(path, table)

    monkeypatch.setattr(collect, "write_part", slow)
    collector = Collector(tmp_path, background=offloop.PartThreads())
    ticks, ticker = _ticking()
    gevent.sleep(0)
    before = len(ticks)
    collector.add(table_of([_record(seq) for seq in range(3)]), 0)
    collector.close()
    during = len(ticks) - before
    ticker.kill()
    assert during >= 5
    assert read_records(layout.records(tmp_path)).num_rows == 3
    assert collector.background.seconds >= 0


def test_a_part_that_cannot_be_written_is_raised_at_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stress.load.collect as collect

    def broken(path: Path, table: pa.Table) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(collect, "write_part", broken)
    collector = Collector(tmp_path, background=offloop.PartThreads())
    collector.add(table_of([_record(1)]), 0)
    with pytest.raises(OSError, match="disk full"):
        collector.close()
