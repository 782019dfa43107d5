"""Batches of records: table building, shipping encoding, the collector and failures."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from stress.load.collect import TOP_FAILING, BatchWriter, Collector, FailureSink, table_of
from stress.load.phases import Step
from stress.load.workers import decode_table, encode_table, step_message, step_seed
from stress.record import SCHEMA, Record, read_records
from stress.scenario import PhaseKind


def record(seq: int, **fields: Any) -> Record:
    values: dict[str, Any] = {
        "seq": seq,
        "worker": 1,
        "input_id": f"in-{seq}",
        "family": "f",
        "expect": "accept",
        "phase": "load",
        "users": 4,
        "sent_at": 1.7e9 + seq,
        "latency_ms": float(seq),
        "status": 200,
        "request_bytes": 10,
        "response_bytes": 20,
        "ok": True,
    }
    values.update(fields)
    return Record(**values)


def test_table_of_matches_the_row_by_row_table() -> None:
    rows = [
        record(1, failed_checks=["a", "b"], step=2, late=True, offered_rate=5.0),
        record(2, ttft_ms=3.5, error_kind="timeout", ok=False, service_ms=1.0),
    ]
    expected = pa.Table.from_pylist([asdict(row) for row in rows], schema=SCHEMA)
    assert table_of(rows).equals(expected)


def test_shipped_tables_arrive_identical() -> None:
    table = table_of([record(i, output_excerpt="é\x00\ud7ff") for i in range(1, 50)])
    assert decode_table(encode_table(table)).equals(table)


def test_batch_writer_hands_over_full_batches_and_the_rest_on_close() -> None:
    batches: list[pa.Table] = []
    writer = BatchWriter(batches.append, max_rows=3, max_seconds=3600)
    for seq in range(1, 8):
        writer.add(record(seq))
    assert [b.num_rows for b in batches] == [3, 3]
    writer.flush_if_due()  # not due: an hour has not passed
    assert len(batches) == 2
    writer.close()
    assert [b.num_rows for b in batches] == [3, 3, 1]
    assert writer.written == 7


def test_the_collector_writes_parts_per_worker_and_counts_steps(tmp_path: Path) -> None:
    now = [0.0]
    collector = Collector(tmp_path, tracked=["sweep"], clock=lambda: now[0])
    collector.add(table_of([record(1), record(2, phase="sweep", step=0, ok=False)]), 1)
    collector.add(table_of([record(1, worker=2, phase="sweep", step=0, latency_ms=9.0)]), 2)
    assert list((tmp_path / "records").iterdir()) == []  # batches wait to become a part
    now[0] = 1.0
    collector.add(table_of([record(3, phase="sweep", step=1)]), 1)
    assert [p.name for p in (tmp_path / "records").iterdir()] == ["w1-000001.parquet"]
    collector.close()
    assert sorted(p.name for p in (tmp_path / "records").iterdir()) == [
        "w1-000001.parquet",
        "w2-000001.parquet",
    ]
    assert (collector.records, collector.errors) == (4, 1)
    assert collector.by_worker == {1: 3, 2: 1}
    assert collector.by_step == {("load", None): 1, ("sweep", 0): 2, ("sweep", 1): 1}
    latencies, ok = collector.step_data("sweep", 0)
    assert sorted(latencies.tolist()) == [2.0, 9.0]
    assert sorted(ok.tolist()) == [False, True]
    assert collector.step_data("load", 0)[0].size == 0  # untracked phase
    assert read_records(tmp_path / "records").num_rows == 4
    figures = collector.progress()
    assert figures["p95_ms"] == round(float(np.quantile([1, 2, 9, 3], 0.95)), 1)


def test_failure_sink_keeps_one_line_per_input_and_checks(tmp_path: Path) -> None:
    sink = FailureSink(tmp_path / "failures.jsonl", max_lines=3)
    line = {"input_id": "a", "findings": [{"check": "x"}], "worker": 1}
    sink.add([line, {**line, "worker": 2}, {"input_id": "a", "findings": [{"check": "y"}]}])
    sink.add([{"input_id": "b", "findings": []}, {"input_id": "c", "findings": []}])
    sink.close()
    lines = [json.loads(text) for text in (tmp_path / "failures.jsonl").read_text().splitlines()]
    assert [(item["input_id"], item.get("worker")) for item in lines] == [
        ("a", 1),
        ("a", None),
        ("b", None),
    ]


def test_step_messages_carry_the_rest_of_a_ramp() -> None:
    step = Step(
        phase="p",
        kind=PhaseKind.RAMP,
        duration=10.0,
        rate=300.0,
        start_rate=100.0,
        max_in_flight=8,
    )
    message = step_message(step, elapsed=5.0, users=8, share=0.5, offset=0.5, seed=7)
    assert message["start_rate"] == 200.0
    assert message["rate"] == 300.0
    assert message["duration"] == 5.0
    assert (message["share"], message["offset"], message["open"]) == (0.5, 0.5, True)
    closed = Step(phase="q", kind=PhaseKind.STEADY, duration=3.0, users=5)
    assert step_message(closed, elapsed=0, users=5, share=1, offset=0, seed=1)["open"] is False


def test_step_seeds_differ_by_worker_and_repeat_by_run() -> None:
    assert step_seed(1, "p", 0, 1, 0) == step_seed(1, "p", 0, 1, 0)
    assert len({step_seed(1, "p", 0, worker, 0) for worker in range(1, 9)}) == 8


def test_the_live_figures_count_failures_by_phase_check_and_family(tmp_path: Path) -> None:
    collector = Collector(tmp_path, clock=lambda: 0.0)
    collector.add(
        table_of(
            [
                record(1, ok=False, failed_checks=["schema", "status"], family="emoji"),
                record(2, ok=False, failed_checks=["schema"], family="emoji"),
                record(3, ok=False, failed_checks=["schema"], family="nul", phase="spike"),
                record(4, failed_checks=[], family="plain"),
                record(5, family="plain", phase="spike"),
            ]
        ),
        1,
    )
    figures = collector.progress("load")
    assert (figures["phase_requests"], figures["phase_errors"], figures["errors"]) == (3, 2, 3)
    assert list(figures["checks"].items()) == [("schema", 3), ("status", 1)]
    assert list(figures["families"].items()) == [("emoji", 2), ("nul", 1)]
    assert figures["p50_ms"] == 3.0
    assert collector.progress("spike")["phase_errors"] == 1
    assert "phase_requests" not in collector.progress()


def test_the_live_figures_list_only_the_most_frequent_failures(tmp_path: Path) -> None:
    collector = Collector(tmp_path, clock=lambda: 0.0)
    rows = [
        record(seq, ok=False, failed_checks=[f"check{n}"], family=f"family{n}")
        for seq, n in enumerate([n for n in range(TOP_FAILING + 2) for _ in range(n + 1)], 1)
    ]
    collector.add(table_of(rows), 1)
    figures = collector.progress()
    expected = list(range(TOP_FAILING + 1, 1, -1))
    assert list(figures["checks"]) == [f"check{n}" for n in expected]
    assert list(figures["families"].values()) == [n + 1 for n in expected]


def test_phase_figures_count_latency_buckets_and_errors_by_kind_check_family(
    tmp_path: Path,
) -> None:
    """What --metrics-port serves: each phase's histogram (le bounds) and failure counts."""
    from stress.load.collect import LATENCY_BUCKETS_MS

    collector = Collector(tmp_path, clock=lambda: 0.0)
    batch = [
        record(1, latency_ms=5.0),  # on a bound: counted in that bucket (le)
        record(2, latency_ms=7.0),
        record(3, latency_ms=99_000.0, ok=False, status=0, error_kind="timeout", family="big"),
        record(4, latency_ms=30.0, ok=False, failed_checks=["schema", "status"], family="emoji"),
        record(5, latency_ms=1.0, phase="spike", ok=False, failed_checks=["schema"]),
    ]
    collector.add(table_of(batch), 1)
    collector.add(table_of([record(6, latency_ms=30.0)]), 1)
    load = collector.progress("load")
    buckets = load["phase_latency_buckets"]
    assert len(buckets) == len(LATENCY_BUCKETS_MS) + 1
    assert buckets[0] == 1
    assert buckets[1] == 1
    assert buckets[LATENCY_BUCKETS_MS.index(50)] == 2  # two of 30 ms in (25, 50]
    assert buckets[-1] == 1  # above the last bound
    assert sum(buckets) == 5
    assert load["phase_latency_sum_ms"] == 5.0 + 7.0 + 99_000.0 + 30.0 + 30.0
    assert load["phase_error_kinds"] == {"timeout": 1, "check": 1}
    assert load["phase_checks"] == {"schema": 1, "status": 1}
    assert load["phase_families"] == {"big": 1, "emoji": 1}
    spike = collector.progress("spike")
    assert sum(spike["phase_latency_buckets"]) == 1
    assert spike["phase_error_kinds"] == {"check": 1}
    assert spike["phase_checks"] == {"schema": 1}
