"""The record schema (one row per request) and its streaming Parquet writer and reader.

Records are written in bounded batches as small, complete Parquet files in ``records/`` of the
run directory (``part-000001.parquet``, ...). Each part is written to a temporary name and
renamed, so a crash or SIGKILL loses at most the batch in memory (about one second of
requests) and never leaves a half-written file that breaks the reader.
"""

from __future__ import annotations

import collections
import itertools
import json
import math
import operator
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from stress.rundir import layout

# The columns, in order. ARCHITECTURE.md documents each one; keep the two in step.
SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("worker", pa.int32(), nullable=False),
        pa.field("input_id", pa.string(), nullable=False),
        pa.field("family", pa.string(), nullable=False),
        pa.field("expect", pa.string(), nullable=False),
        pa.field("phase", pa.string(), nullable=False),
        pa.field("users", pa.int32(), nullable=False),
        pa.field("sent_at", pa.float64(), nullable=False),
        pa.field("latency_ms", pa.float64(), nullable=False),
        pa.field("ttft_ms", pa.float64()),
        pa.field("status", pa.int32(), nullable=False),
        pa.field("error_kind", pa.string()),
        pa.field("request_bytes", pa.int64(), nullable=False),
        pa.field("response_bytes", pa.int64(), nullable=False),
        pa.field("output_tokens", pa.int32()),
        pa.field("finish_reason", pa.string()),
        pa.field("output_digest", pa.string()),
        pa.field("output_excerpt", pa.string()),
        pa.field("ok", pa.bool_(), nullable=False),
        pa.field("failed_checks", pa.list_(pa.string()), nullable=False),
        pa.field("warned_checks", pa.list_(pa.string()), nullable=False),
        # Added for group checks; nullable so that a reader may meet parts without them.
        pa.field("info_checks", pa.list_(pa.string())),
        pa.field("output_text", pa.string()),
        pa.field("output_chars", pa.int32()),
        # Streaming LLM metrics (docs/metrics.md defines each; stress/targets/timing.py
        # computes them). Null where they do not exist: no stream, fewer than two tokens.
        pa.field("itl_ms", pa.float64()),
        pa.field("tpot_ms", pa.float64()),
        pa.field("max_token_gap_ms", pa.float64()),
        pa.field("output_tokens_per_s", pa.float64()),
        pa.field("tokens_estimated", pa.bool_()),
        pa.field("prompt_tokens", pa.int32()),
        pa.field("content_events", pa.int32()),
        # Load engine (issue 6): open-loop timing and the step of a stepped phase.
        pa.field("intended_at", pa.float64()),
        pa.field("service_ms", pa.float64()),
        pa.field("offered_rate", pa.float64()),
        pa.field("late", pa.bool_()),
        pa.field("step", pa.int32()),
    ]
)

# Long answers are cut to this many characters in the excerpt; the digest covers all of it.
EXCERPT_CHARS = 200
# output_text keeps this much of a text answer that a group check compares (degradation,
# invariance); other answers keep only the excerpt, so records stay small.
OUTPUT_TEXT_CHARS = 8000
# A prediction answer (numbers: embeddings, scores, rows) is kept whole as compact JSON up to
# this many characters, so it is compared as numbers: a 3072-dimension embedding takes about
# 43,000. Longer ones are cut like text (and compared by digest, see stress.checks.compare).
OUTPUT_JSON_CHARS = 65536
# Floats kept with this many significant digits: float32's full precision (relative error
# below 5e-10, far under any comparison tolerance), about 13 characters a number.
_DIGITS = 9


def kept_output(text: str | None, prediction: Any) -> str | None:
    """What output_text keeps of an answer a group check compares: a text answer's first
    OUTPUT_TEXT_CHARS characters, or a prediction as compact JSON (floats to float32
    precision) up to OUTPUT_JSON_CHARS. The digest and output_chars still cover the whole
    canonical answer (stress.targets.base.Outcome.output)."""
    if text is not None:
        return text[:OUTPUT_TEXT_CHARS]
    if prediction is None:
        return None
    compact = json.dumps(_rounded(prediction), separators=(",", ":"), sort_keys=True, default=str)
    return compact[:OUTPUT_JSON_CHARS]


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{_DIGITS}g}") if math.isfinite(value) else value
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


@dataclass(slots=True)
class Record:
    """One request as it happened. ``status`` is 0 when no HTTP answer arrived."""

    seq: int
    worker: int
    input_id: str
    family: str
    expect: str
    phase: str
    users: int
    sent_at: float
    latency_ms: float
    status: int
    request_bytes: int
    response_bytes: int
    ok: bool
    ttft_ms: float | None = None
    error_kind: str | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    output_digest: str | None = None
    output_excerpt: str | None = None
    failed_checks: list[str] = field(default_factory=list)
    warned_checks: list[str] = field(default_factory=list)
    info_checks: list[str] = field(default_factory=list)
    output_text: str | None = None
    output_chars: int | None = None
    itl_ms: float | None = None
    tpot_ms: float | None = None
    max_token_gap_ms: float | None = None
    output_tokens_per_s: float | None = None
    tokens_estimated: bool | None = None
    prompt_tokens: int | None = None
    content_events: int | None = None
    intended_at: float | None = None
    service_ms: float | None = None
    offered_rate: float | None = None
    late: bool | None = None
    step: int | None = None


_FIELDS = operator.attrgetter(*SCHEMA.names)


# Rows whose fields are gathered in one go when a table is made in steps (about 0.3 ms).
STEP_ROWS = 256


def table_of(rows: Sequence[Record], *, pause: Callable[[], None] | None = None) -> pa.Table:
    """Records as an Arrow table with the record schema.

    Built column by column: one C-level attrgetter call per row, then a transpose, about 1 µs
    a row; several times cheaper than dataclasses.asdict per row, which matters on the load
    process's hot path.

    ``pause``: called between steps of at most STEP_ROWS rows' fields and between columns,
    so a caller on an event loop can let it turn (each step holds the interpreter a fraction
    of a millisecond; the whole table, a few milliseconds for a quarter second's records).
    The table is the same either way.
    """
    if not rows:
        return SCHEMA.empty_table()
    if pause is None:
        columns: Iterable[Sequence[Any]] = zip(*map(_FIELDS, rows), strict=True)
        arrays = [pa.array(values, type=f.type) for values, f in zip(columns, SCHEMA, strict=True)]
        return pa.Table.from_arrays(arrays, schema=SCHEMA)
    steps = []
    for start in range(0, len(rows), STEP_ROWS):
        steps.append(list(zip(*map(_FIELDS, rows[start : start + STEP_ROWS]), strict=True)))
        pause()
    arrays = []
    for index, f in enumerate(SCHEMA):
        values = steps[0][index] if len(steps) == 1 else [v for step in steps for v in step[index]]
        arrays.append(pa.array(values, type=f.type))
        pause()
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def write_part(path: Path, table: pa.Table) -> None:
    """One complete Parquet part: written to a temporary name, then renamed."""
    temporary = path.with_suffix(layout.TEMPORARY_SUFFIX)
    pq.write_table(table, temporary)
    os.replace(temporary, path)


class BatchWriter:
    """Buffers records and hands a table to ``sink`` every ``max_seconds`` or ``max_rows``.

    Memory stays bounded by ``max_rows`` however long the run. Call ``close()`` at the end
    (it flushes); ``flush_if_due()`` is cheap enough to call after every record.
    """

    def __init__(
        self,
        sink: Callable[[pa.Table], None],
        *,
        max_rows: int = 5000,
        max_seconds: float = 1.0,
    ) -> None:
        self._sink = sink
        self._max_rows = max_rows
        self._max_seconds = max_seconds
        # A deque: append (event loop) and popleft (a flushing worker thread) are atomic.
        self._rows: collections.deque[Record] = collections.deque()
        self._last_flush = time.monotonic()
        self.written = 0
        # Seconds spent making tables and handing them on (stress.load.stagetime).
        self.flush_seconds = 0.0

    @property
    def pending(self) -> int:
        """Records buffered, not yet written."""
        return len(self._rows)

    @property
    def due(self) -> bool:
        """Whether ``max_rows`` are buffered or ``max_seconds`` passed since the last flush."""
        if not self._rows:
            return False
        full = len(self._rows) >= self._max_rows
        return full or time.monotonic() - self._last_flush >= self._max_seconds

    def add(self, record: Record) -> None:
        self._rows.append(record)
        if len(self._rows) >= self._max_rows:
            self.flush()

    def flush_if_due(self) -> None:
        if self._rows and time.monotonic() - self._last_flush >= self._max_seconds:
            self.flush()

    def flush(self) -> None:
        # The buffered rows are taken first: a load process builds their table in steps while
        # its event loop goes on adding records (stress.load.offloop).
        self._last_flush = time.monotonic()
        rows = [self._rows.popleft() for _ in range(len(self._rows))]
        if not rows:
            return
        table = self._table(rows)
        started = time.perf_counter()
        self._sink(table)
        self.written += len(rows)
        self.flush_seconds += time.perf_counter() - started

    def _table(self, rows: Sequence[Record]) -> pa.Table:
        """The rows' table; its making counted in ``flush_seconds``."""
        started = time.perf_counter()
        table = table_of(rows)
        self.flush_seconds += time.perf_counter() - started
        return table

    def close(self) -> None:
        self.flush()


class RecordWriter(BatchWriter):
    """A BatchWriter whose batches are Parquet parts of ``directory``:
    ``<prefix>-000001.parquet``, ... (write_part: complete or absent)."""

    def __init__(
        self,
        directory: Path,
        *,
        prefix: str = "part",
        max_rows: int = 5000,
        max_seconds: float = 1.0,
    ) -> None:
        super().__init__(self._write, max_rows=max_rows, max_seconds=max_seconds)
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._prefix = prefix
        # Drawn when a batch is written, so parts made from a worker thread never share one.
        self._parts = itertools.count(1)

    def _write(self, table: pa.Table) -> None:
        write_part(layout.part(self.directory, self._prefix, next(self._parts)), table)


def part_files(directory: Path) -> list[Path]:
    """The complete part files of a records directory, in name order."""
    return layout.parts(directory)


def read_records(
    directory: Path, *, columns: Iterable[str] | None = None, dictionary: Iterable[str] = ()
) -> pa.Table:
    """All records of a run (an empty table with the schema when there are none).

    Only ``columns`` are read from each part (Parquet is columnar: the others are never
    decoded); a part written before a column existed gets nulls for it. The string columns
    named in ``dictionary`` are read dictionary-encoded (each distinct value stored once;
    pandas makes them categorical): a family or phase per request costs an index, not a
    string."""
    parts = part_files(directory)
    wanted = list(columns) if columns is not None else None
    encoded = set(dictionary)
    if not parts:
        table = SCHEMA.empty_table()
        table = table.select(wanted) if wanted else table
        return table.cast(_target(table.schema.names, encoded))
    target = _target(wanted or SCHEMA.names, encoded)
    return pa.concat_tables([read_part(part, target) for part in parts])


def _target(names: Iterable[str], encoded: set[str]) -> pa.Schema:
    fields = []
    for name in names:
        field = SCHEMA.field(name)
        if name in encoded and pa.types.is_string(field.type):
            field = field.with_type(pa.dictionary(pa.int32(), pa.string()))
        fields.append(field)
    return pa.schema(fields)


def read_part(part: Path, target: pa.Schema) -> pa.Table:
    """One part's ``target`` columns, as ``target`` types them. pyarrow.parquet.ParquetFile
    reads a small part several times faster than read_table (no dataset machinery)."""
    encoded = [f.name for f in target if pa.types.is_dictionary(f.type)]
    file = pq.ParquetFile(part, read_dictionary=encoded or None)
    present = set(file.schema_arrow.names)
    table = file.read(columns=[name for name in target.names if name in present])
    if table.schema.equals(target):
        return table
    columns = [
        table.column(field.name).cast(field.type)
        if field.name in present
        else pa.nulls(table.num_rows, field.type)
        for field in target
    ]
    return pa.Table.from_arrays(columns, schema=target)
