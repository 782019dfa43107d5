"""Record columns for streaming metrics, and the writer's hand-off to a worker thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow.parquet as pq

from stress.record import SCHEMA, RecordWriter, part_files, read_records
from tests.unit.test_record import record

STREAMING = {
    "itl_ms": 8.0,
    "tpot_ms": 8.5,
    "max_token_gap_ms": 12.0,
    "output_tokens_per_s": 110.0,
    "tokens_estimated": False,
    "prompt_tokens": 12,
    "content_events": 16,
}


def test_streaming_columns_are_appended_and_nullable(tmp_path: Path) -> None:
    names = SCHEMA.names
    start = names.index("itl_ms")
    assert names[start : start + len(STREAMING)] == list(STREAMING)  # one block, after the rest
    assert start > names.index("warned_checks")
    assert all(SCHEMA.field(name).nullable for name in STREAMING)
    writer = RecordWriter(tmp_path / "records")
    writer.add(record(1, ttft_ms=40.0, output_tokens=16, **STREAMING))
    writer.add(record(2))
    writer.close()
    rows = read_records(tmp_path / "records").to_pylist()
    assert {key: rows[0][key] for key in STREAMING} == STREAMING
    assert all(rows[1][key] is None for key in STREAMING)


def test_pending_and_due(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / "records", max_rows=3, max_seconds=3600)
    assert (writer.pending, writer.due) == (0, False)
    writer.add(record(1))
    writer.add(record(2))
    assert (writer.pending, writer.due) == (2, False)
    writer.add(record(3))  # reaching max_rows flushes
    assert (writer.pending, writer.written) == (0, 3)
    later = RecordWriter(tmp_path / "other", max_rows=100, max_seconds=0.0)
    later.add(record(1))
    assert later.due


def test_flushes_in_a_thread_lose_and_repeat_nothing(tmp_path: Path) -> None:
    # The load engine adds on its event loop while a worker thread flushes.
    writer = RecordWriter(tmp_path / "records", max_rows=10**9, max_seconds=3600)
    stop = threading.Event()

    def flush_until_stopped() -> None:
        while not stop.is_set():
            writer.flush()

    thread = threading.Thread(target=flush_until_stopped)
    thread.start()
    for seq in range(1, 5001):
        writer.add(record(seq))
    stop.set()
    thread.join()
    writer.close()
    seqs = sorted(read_records(tmp_path / "records").column("seq").to_pylist())
    assert seqs == list(range(1, 5001))
    parts = part_files(tmp_path / "records")
    assert sum(pq.read_metadata(part).num_rows for part in parts) == 5000
