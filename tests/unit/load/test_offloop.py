"""Record tables and Parquet parts are made off the load process's event loop
(stress.load.offloop): the loop goes on serving users while they are built and written."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import gevent
import pyarrow as pa
import pytest

from stress.load import offloop
from stress.load.collect import Collector
from stress.record import BatchWriter, Record, read_records, table_of
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


def test_the_table_is_made_in_another_thread_with_the_same_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[int] = []

    def noting(rows: list[Record]) -> pa.Table:
        threads.append(threading.get_ident())
        return table_of(rows)

    monkeypatch.setattr(offloop, "table_of", noting)
    tables: list[pa.Table] = []
    writer = offloop.OffLoopBatchWriter(tables.append)
    for seq in range(5):
        writer.add(_record(seq))
    gevent.spawn(writer.flush).join()
    assert threads
    assert threads[0] != threading.get_ident()
    assert len(tables) == 1
    assert tables[0].equals(table_of([_record(seq) for seq in range(5)]))
    assert writer.written == 5
    assert writer.pending == 0


def test_the_event_loop_runs_while_a_table_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(rows: list[Record]) -> pa.Table:
        time.sleep(0.2)  # blocks its own thread only
        return table_of(rows)

    monkeypatch.setattr(offloop, "table_of", slow)
    writer = offloop.OffLoopBatchWriter(lambda table: None)
    writer.add(_record(1))
    ticks, ticker = _ticking()
    gevent.sleep(0)  # the ticker's first turn
    before = len(ticks)
    gevent.spawn(writer.flush).join()
    during = len(ticks) - before
    ticker.kill()
    assert during >= 5  # 0.2 s of 5 ms ticks; none at all when the table blocks the loop


def test_batching_counts_the_threads_cpu_not_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    def waiting(rows: list[Record]) -> pa.Table:
        time.sleep(0.3)  # waiting, no CPU
        return table_of(rows)

    monkeypatch.setattr(offloop, "table_of", waiting)
    writer = offloop.OffLoopBatchWriter(lambda table: None)
    writer.add(_record(1))
    gevent.spawn(writer.flush).join()
    assert writer.flush_seconds < 0.15


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


def test_from_the_loops_own_greenlet_the_work_runs_inline() -> None:
    seen: list[int] = []
    gevent.get_hub().loop.run_callback(lambda: seen.append(offloop.off_loop(threading.get_ident)))
    gevent.sleep(0.01)
    assert seen == [threading.get_ident()]
