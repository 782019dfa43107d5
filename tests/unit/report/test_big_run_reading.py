"""Reading a big run cheaply changes nothing it computes: only the needed columns, low-
cardinality strings dictionary-encoded (categorical), list columns kept in Arrow. Each test
compares the lean reading with the plain one on synthetic runs (stress's own part writer, many
small parts, as a load writes them)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from benchmarks.synthetic import write_synthetic_run
from stress.checks import flakiness
from stress.record import SCHEMA, read_records, write_part
from stress.report import compare, pair
from stress.rundir.read import load_records, load_run

REQUESTS = 12_000


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("big")
    base = write_synthetic_run(root / "base", requests=REQUESTS, seed=3, part_rows=1_000)
    new = write_synthetic_run(
        root / "new",
        requests=REQUESTS,
        seed=4,
        part_rows=1_000,
        slowdown=1.2,
        changed_answers=0.2,
        error_scale=3,
    )
    return base, new


def test_dictionary_columns_hold_the_same_values(runs: tuple[Path, Path]) -> None:
    base, _ = runs
    columns = ["input_id", "family", "error_kind", "latency_ms"]
    plain = read_records(base / "records", columns=columns)
    encoded = read_records(base / "records", columns=columns, dictionary=pair.CATEGORICAL)
    assert pa.types.is_dictionary(encoded.schema.field("input_id").type)
    assert not pa.types.is_dictionary(encoded.schema.field("latency_ms").type)
    assert encoded.num_rows == plain.num_rows == REQUESTS
    for name in columns:
        assert encoded.column(name).cast(plain.schema.field(name).type).equals(plain.column(name))
    frame = load_run(base, ["input_id", "family"], categorical=["family"]).records
    assert isinstance(frame["family"].dtype, pd.CategoricalDtype)
    assert frame["family"].astype(str).tolist() == plain.column("family").to_pylist()


def test_compare_is_the_same_document_with_categorical_columns(
    runs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, new = runs
    lean = compare.compare_runs(base, new)
    assert lean["failures"]["new"]
    assert lean["drift"]["changed"]
    monkeypatch.setattr(pair, "CATEGORICAL", ())
    plain = compare.compare_runs(base, new)
    assert lean == plain


def test_a_part_without_a_later_column_reads_as_nulls(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    full = read_records(records)  # empty, with the schema
    old = pa.table(
        {
            "seq": pa.array([1, 2], pa.int64()),
            "input_id": pa.array(["a-0000", "b-0001"]),
            "family": pa.array(["a", "b"]),
        }
    )
    write_part(records / "part-000001.parquet", old)
    table = read_records(records, columns=["seq", "family", "step"], dictionary=["family"])
    assert table.column("step").null_count == 2
    assert table.schema.field("step").type == SCHEMA.field("step").type
    assert table.column("family").to_pylist() == ["a", "b"]
    assert full.num_rows == 0


def test_arrow_lists_give_the_same_failing_inputs(runs: tuple[Path, Path]) -> None:
    _, new = runs
    columns = ["seq", "worker", "input_id", "family", "phase", "failed_checks", "warned_checks"]
    lean = load_records(new, columns, arrow_lists=True)
    plain = load_records(new, columns)
    assert isinstance(lean["failed_checks"].dtype, pd.ArrowDtype)
    assert not isinstance(plain["failed_checks"].dtype, pd.ArrowDtype)
    found = flakiness.failing_inputs(lean, ["error"])
    assert found
    assert found == flakiness.failing_inputs(plain, ["error"])
