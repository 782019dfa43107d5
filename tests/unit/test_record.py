"""Records: streamed to Parquet parts in bounded batches, read back whole."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from stress.record import SCHEMA, Record, RecordWriter, part_files, read_records


def record(seq: int, **fields: object) -> Record:
    values: dict = {
        "seq": seq,
        "worker": 0,
        "input_id": f"f-{seq:04d}",
        "family": "f",
        "expect": "accept",
        "phase": "load",
        "users": 3,
        "sent_at": 1e9 + seq,
        "latency_ms": seq / 10,
        "status": 200,
        "request_bytes": 10,
        "response_bytes": 20,
        "ok": True,
    }
    values.update(fields)
    return Record(**values)


def test_rows_come_back_with_schema_and_values(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / "records", max_rows=1000)
    writer.add(
        record(
            1,
            failed_checks=["not_a_server_error"],
            ok=False,
            status=500,
            error_kind="http_5xx",
            output_excerpt="a\x00b\u202e",
        )
    )
    writer.add(record(2, ttft_ms=1.5, output_tokens=7, finish_reason="length"))
    writer.close()
    table = read_records(tmp_path / "records")
    assert table.schema.equals(SCHEMA)
    rows = table.to_pylist()
    assert [row["seq"] for row in rows] == [1, 2]
    assert rows[0]["failed_checks"] == ["not_a_server_error"]
    assert rows[0]["output_excerpt"] == "a\x00b\u202e"
    assert rows[1]["ttft_ms"] == 1.5
    assert rows[1]["error_kind"] is None


def test_memory_is_bounded_by_max_rows(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / "records", max_rows=100)
    for seq in range(1, 351):
        writer.add(record(seq))
        assert len(writer._rows) < 100
    assert len(part_files(tmp_path / "records")) == 3
    writer.close()
    assert read_records(tmp_path / "records").num_rows == 350


def test_flush_if_due_writes_after_max_seconds(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / "records", max_rows=10_000, max_seconds=0.0)
    writer.add(record(1))
    writer.flush_if_due()
    assert writer.written == 1  # on disk without close(): a crash now loses nothing


def test_reader_ignores_an_unfinished_temporary_part(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / "records", max_rows=10)
    writer.add(record(1))
    writer.flush()
    # What a SIGKILL in the middle of a write leaves behind: a truncated temporary file.
    (tmp_path / "records" / "part-000002.tmp").write_bytes(b"PAR1\x00\x01")
    assert read_records(tmp_path / "records").num_rows == 1


def test_empty_directory_reads_as_empty_table(tmp_path: Path) -> None:
    table = read_records(tmp_path / "missing")
    assert table.num_rows == 0
    assert table.schema.equals(SCHEMA)


def test_parts_are_plain_parquet(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / "records", prefix="w1")
    writer.add(record(5))
    writer.close()
    (part,) = part_files(tmp_path / "records")
    assert part.name == "w1-000001.parquet"
    assert pq.read_table(part).column("seq").to_pylist() == [5]
