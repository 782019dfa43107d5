"""Reading a run directory (report, replay): scenario, run.json, records and failures.jsonl.

Everything here tolerates what a crashed run leaves behind (no run.json, no records yet, a
failures.jsonl whose last line was cut off), because a report on a broken run is exactly when
a report is needed. What cannot be worked around (no directory, no scenario.yaml, a damaged
Parquet part) raises RunDirError naming the path and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from stress.errors import RunDirError
from stress.record import SCHEMA, part_files, read_records
from stress.rundir import layout
from stress.scenario import PhaseKind, Scenario, from_path

# The columns the report aggregates; the big text columns (excerpts, digests) stay on disk.
REPORT_COLUMNS = (
    "seq",
    "input_id",
    "family",
    "expect",
    "phase",
    "users",
    "sent_at",
    "latency_ms",
    "status",
    "error_kind",
    "ok",
    # Load engine: open-loop timing and sweep steps (null in runs made before them).
    "service_ms",
    "offered_rate",
    "late",
    "step",
)
# Streaming metrics, read when the record schema has them: the report's streaming section
# (stress.report.streaming) and per-request SLOs (slo.per_request, goodput) use them.
OPTIONAL_COLUMNS = ("ttft_ms", "tpot_ms", "itl_ms", "output_tokens_per_s")


def report_columns() -> list[str]:
    """REPORT_COLUMNS plus the optional columns the record schema has."""
    return [*REPORT_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in SCHEMA.names)]


@dataclass(frozen=True)
class RunInfo:
    """run.json, with ``notes`` saying what was missing or unreadable."""

    started_at: str | None = None
    finished_at: str | None = None
    complete: bool = False
    target: str | None = None
    url: str | None = None
    stress_version: str | None = None
    # "SIGINT" / "SIGTERM" when a signal stopped the run (`complete` is then false).
    interrupted: str | None = None
    # Why `stress run` gave up before the end ("target unreachable: ...", "the load process
    # died: ..."), when an error rather than a signal or a kill stopped it.
    aborted: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunData:
    """What the report needs of a run, loaded once.

    ``records`` has one row per request (``report_columns()``). ``findings`` has one row per
    (request, check) pair from the records' ``failed_checks``, ``warned_checks`` and
    ``info_checks``: columns ``row`` (index into ``records``), ``check`` and ``severity``
    ("error", "warning" or "info").
    """

    run_dir: Path
    scenario: Scenario
    info: RunInfo
    records: pd.DataFrame
    findings: pd.DataFrame


def check_run_dir(run_dir: Path) -> None:
    """Raise RunDirError unless ``run_dir`` looks like a run directory."""
    if not run_dir.exists():
        raise RunDirError(
            f"{run_dir}: no such run directory; pass a directory that `stress run` created, "
            f"e.g. reports/<scenario>-<UTC time>/"
        )
    if not run_dir.is_dir():
        raise RunDirError(
            f"{run_dir}: is a file, not a run directory; pass the directory that holds "
            f"scenario.yaml and records/"
        )
    if not layout.scenario(run_dir).is_file():
        raise RunDirError(
            f"{layout.scenario(run_dir)}: missing; every run writes its resolved scenario "
            f"there, so {run_dir} is not a run directory (or was copied incompletely); pass the "
            f"directory that `stress run` created"
        )


def load_run(
    run_dir: Path, columns: Sequence[str] | None = None, *, categorical: Sequence[str] = ()
) -> RunData:
    """Read everything the report aggregates; raises RunDirError (or ScenarioError).

    ``columns``: the record columns to read (default ``report_columns()``); a reader that
    needs fewer (`stress compare`) reads only those, the others are never decoded.
    ``categorical``: string columns read dictionary-encoded, categorical in pandas."""
    check_run_dir(run_dir)
    scenario = from_path(layout.scenario(run_dir))
    info = read_run_info(run_dir)
    lists = ["failed_checks", "warned_checks", "info_checks"]
    wanted = report_columns() if columns is None else list(columns)
    table = _read_table(layout.records(run_dir), [*wanted, *lists], categorical)
    findings = pd.concat(
        [
            _findings(table.column("failed_checks"), "error"),
            _findings(table.column("warned_checks"), "warning"),
            _findings(table.column("info_checks"), "info"),
        ],
        ignore_index=True,
    )
    # Each Arrow column freed as soon as pandas has it: the peak is one copy, not two.
    rest = table.drop_columns(lists)
    del table
    records = rest.to_pandas(self_destruct=True, split_blocks=True)
    return RunData(run_dir, scenario, info, records, findings)


def load_records(
    run_dir: Path, columns: Sequence[str], *, arrow_lists: bool = False
) -> pd.DataFrame:
    """The given record columns as a DataFrame; raises RunDirError naming a damaged part.

    ``arrow_lists``: the list columns (failed_checks, ...) stay in Arrow (pd.ArrowDtype)
    instead of one NumPy array object per row: a million rows take megabytes, not hundreds
    (read them back with pyarrow.array(column))."""
    check_run_dir(run_dir)
    table = _read_table(layout.records(run_dir), columns)
    mapper = _arrow_lists if arrow_lists else None
    return table.to_pandas(types_mapper=mapper, self_destruct=True, split_blocks=True)


def _arrow_lists(arrow_type: pa.DataType) -> pd.ArrowDtype | None:
    return pd.ArrowDtype(arrow_type) if pa.types.is_list(arrow_type) else None


def read_run_info(run_dir: Path) -> RunInfo:
    path = layout.run_info(run_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return RunInfo(notes=(f"{path}: missing; start and finish times are unknown",))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return RunInfo(notes=(f"{path}: unreadable ({exc}); start and finish times unknown",))
    if not isinstance(data, dict):
        return RunInfo(notes=(f"{path}: expected a JSON object; start and finish unknown",))

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) else None

    return RunInfo(
        started_at=text("started_at"),
        finished_at=text("finished_at"),
        complete=data.get("complete") is True,
        target=text("target"),
        url=text("url"),
        stress_version=text("stress_version"),
        interrupted=text("interrupted"),
        aborted=text("aborted"),
    )


def iter_failures(run_dir: Path) -> Iterator[dict[str, Any]]:
    """The objects in failures.jsonl, streamed (see ``iter_objects``)."""
    return iter_objects(layout.failures(run_dir))


def iter_regressions(run_dir: Path) -> Iterator[dict[str, Any]]:
    """The rows of regressions.jsonl (the regression corpus replayed before the load)."""
    return iter_objects(layout.regressions(run_dir))


def iter_corpus(run_dir: Path) -> Iterator[dict[str, Any]] | None:
    """The inputs of corpus.jsonl as JSON objects with a string id, streamed; None when the
    run kept no corpus (the report and compare then match inputs by id alone)."""
    path = layout.corpus(run_dir)
    if not path.is_file():
        return None
    return (item for item in iter_objects(path) if isinstance(item.get("id"), str))


def iter_objects(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON-lines file, streamed; nothing when it is missing. Lines that
    are not a JSON object are skipped: a run killed mid-write can leave a cut-off last line,
    and it must not hide the rest."""
    try:
        handle = path.open(encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return
    with handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(item, dict):
                yield item


def _read_table(
    directory: Path, columns: Sequence[str], dictionary: Sequence[str] = ()
) -> pa.Table:
    try:
        return read_records(directory, columns=columns, dictionary=dictionary)
    except (OSError, pa.ArrowException) as exc:
        broken = _first_broken_part(directory, columns)
        where = broken if broken is not None else directory
        raise RunDirError(
            f"{where}: cannot read the records ({type(exc).__name__}: {exc}); the file is "
            f"damaged or was not written by stress; move it out of {directory} to report on "
            f"the remaining parts"
        ) from None


def _first_broken_part(directory: Path, columns: Sequence[str]) -> Path | None:
    for part in part_files(directory):
        try:
            pq.read_table(part, columns=list(columns), schema=SCHEMA)
        except (OSError, pa.ArrowException):
            return part
    return None


def _findings(failed_checks: pa.ChunkedArray, severity: str) -> pd.DataFrame:
    # Flattening in Arrow keeps this linear and cheap even when every one of a million rows
    # failed; pandas would first build a Python list object per row.
    rows = np.array([], dtype="int64")
    checks = np.array([], dtype=object)
    if failed_checks.num_chunks:
        combined = failed_checks.combine_chunks()
        rows = pc.list_parent_indices(combined).to_numpy().astype("int64")
        checks = pc.list_flatten(combined).to_numpy(zero_copy_only=False).astype(object)
    return pd.DataFrame({"row": rows, "check": checks, "severity": severity})


def read_traces(
    run_dir: Path, scenario: Scenario
) -> tuple[dict[str, list[float]], dict[str, list[int]]]:
    """traces.json (stress.rundir.write.write_traces): each trace phase's arrival times and,
    for ``inputs: logged``, the log entry of each arrival; by phase name. Nothing is read
    when ``scenario`` has no trace phase; RunDirError when it has and the file is missing."""
    if not any(phase.kind is PhaseKind.TRACE for phase in scenario.load.phases):
        return {}, {}
    path = layout.traces(run_dir)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirError(
            f"{path}: cannot read the trace phases' arrival times ({exc}); `stress run` "
            f"writes it before the load starts"
        ) from None
    traces = {name: phase["offsets"] for name, phase in document.items()}
    entries = {
        name: phase["entries"] for name, phase in document.items() if phase["entries"] is not None
    }
    return traces, entries
