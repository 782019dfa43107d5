"""The record writer's defaults, part names and reader, exactly (written against mutation
testing, `make mutation`). Time is a fake clock here: no stopwatch."""

from __future__ import annotations

from pathlib import Path

import pytest

from stress import record as record_module
from stress.record import SCHEMA, BatchWriter, RecordWriter, read_records, table_of
from tests.unit.test_record import record


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(record_module.time, "monotonic", fake)
    return fake


def test_defaults_one_part_a_second_or_5000_rows(tmp_path: Path, clock: Clock) -> None:
    directory = tmp_path / "deep" / "records"
    writer = RecordWriter(directory)  # creates the directory, parents too
    assert directory.is_dir()
    for seq in range(4999):
        writer.add(record(seq))
    assert writer.pending == 4999
    writer.add(record(4999))  # the 5000th row flushes
    assert (writer.pending, writer.written) == (0, 5000)
    assert [p.name for p in sorted(directory.iterdir())] == ["part-000001.parquet"]
    writer.add(record(5000))
    clock.now += 0.999
    writer.flush_if_due()
    assert writer.pending == 1  # not a second yet
    assert not writer.due
    clock.now += 0.001
    assert writer.due
    writer.flush_if_due()
    assert writer.pending == 0
    assert sorted(p.name for p in directory.iterdir()) == [
        "part-000001.parquet",
        "part-000002.parquet",
    ]
    assert not list(directory.glob("*.tmp"))
    clock.now += 5
    writer.flush_if_due()  # nothing buffered: no empty part
    writer.close()
    assert len(list(directory.iterdir())) == 2
    assert read_records(directory).num_rows == 5001


def test_prefix_names_the_parts(tmp_path: Path, clock: Clock) -> None:
    writer = RecordWriter(tmp_path, prefix="w3", max_rows=2)
    for seq in range(5):
        writer.add(record(seq))
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "w3-000001.parquet",
        "w3-000002.parquet",
        "w3-000003.parquet",
    ]
    table = read_records(tmp_path, columns=["seq", "input_id"])
    assert table.column_names == ["seq", "input_id"]
    assert table.column("seq").to_pylist() == [0, 1, 2, 3, 4]  # parts in name order


def test_an_empty_directory_reads_as_the_schema_with_the_columns_asked(tmp_path: Path) -> None:
    assert read_records(tmp_path).schema == SCHEMA
    chosen = read_records(tmp_path, columns=["status", "seq"])
    assert chosen.column_names == ["status", "seq"]
    assert chosen.num_rows == 0


def test_a_batch_writer_hands_tables_to_its_sink(clock: Clock) -> None:
    tables = []
    writer = BatchWriter(tables.append, max_rows=3, max_seconds=10)
    writer.flush()  # nothing buffered: nothing handed over
    assert tables == []
    writer.add(record(1))
    clock.now += 9.9
    writer.flush_if_due()
    assert tables == []
    clock.now += 0.1
    writer.flush_if_due()
    assert [t.num_rows for t in tables] == [1]
    assert tables[0].schema == SCHEMA
    assert table_of([]).schema == SCHEMA
    assert table_of([]).num_rows == 0
    assert table_of([record(7)]).column("input_id").to_pylist() == ["f-0007"]


def test_a_batch_writer_defaults_and_counts_every_row_written(clock: Clock) -> None:
    tables = []
    writer = BatchWriter(tables.append)
    for seq in range(4999):
        writer.add(record(seq))
    assert tables == []
    writer.add(record(4999))  # 5000 rows by default
    assert [t.num_rows for t in tables] == [5000]
    writer.add(record(5000))
    clock.now += 0.999
    writer.flush_if_due()
    assert writer.pending == 1  # one second by default
    clock.now += 0.001
    writer.flush_if_due()
    assert writer.written == 5001  # counted across flushes
