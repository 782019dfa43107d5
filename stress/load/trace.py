"""Trace phases: the arrival times of a request log, read from the log's timestamps.

``read_arrivals`` is the one function that reads a log's timestamps (JSONL with a time
field, HAR startedDateTime, CSV or plain text); a trace phase replays them ``speed`` times
faster (stress.load.shapes.trace_offsets). ``resolve`` runs in the parent when a scenario is
loaded: it finds the log (relative to the scenario file), reads it so that a bad log is a
scenario error (exit 2) before anything runs, and fills in the phase's duration; the load
process then reads the log again from the absolute path the resolved scenario.yaml holds.

Inputs still come from the corpus. Hook for logs that are also the input source: the times
are returned in log order, and trace_offsets sorts them stably, so arrival i can be mapped
to log entry i when the corpus is built from the same log.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from stress.errors import ScenarioError
from stress.load import shapes
from stress.logs.readers import parse_time
from stress.scenario import Phase, PhaseKind, Scenario, TraceFormat, _line_map, _with_line

# Fields (JSONL) or columns (CSV) tried for the time, in order, when timestamp_field is unset.
TIME_FIELDS = ("timestamp", "time", "ts", "created", "created_at", "startedDateTime", "@timestamp")
EXTENSIONS = {
    ".har": TraceFormat.HAR,
    ".jsonl": TraceFormat.JSONL,
    ".ndjson": TraceFormat.JSONL,
    ".csv": TraceFormat.CSV,
    ".txt": TraceFormat.TEXT,
}


class TraceError(ValueError):
    """A log whose timestamps cannot be read; the message names the line and the fix."""


def read_arrivals(
    path: str | Path, format: TraceFormat | str = TraceFormat.AUTO, field: str | None = None
) -> list[float]:
    """The timestamps of the log at ``path`` as Unix seconds (or seconds from any origin), in
    log order. Numbers are seconds, or milliseconds, microseconds, nanoseconds when too large
    to be seconds (over 1e11, 1e14, 1e17); strings are numbers or ISO 8601 (UTC when no offset
    is given). Raises TraceError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceError(f"{path}: file not found; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: cannot read the file: {exc}") from None
    kind = TraceFormat(format)
    if kind is TraceFormat.AUTO:
        kind = _detect(path, text)
    readers = {
        TraceFormat.JSONL: _jsonl,
        TraceFormat.HAR: _har,
        TraceFormat.CSV: _csv,
        TraceFormat.TEXT: _text,
    }
    times = readers[kind](text, field)
    if len(times) < 2:
        raise TraceError(
            f"{path}: {len(times)} timestamp(s) found, a trace needs at least 2 "
            f"(read as {kind.value}; set format if that is wrong)"
        )
    return times


def _detect(path: Path, text: str) -> TraceFormat:
    if path.suffix.lower() in EXTENSIONS:
        return EXTENSIONS[path.suffix.lower()]
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            return TraceFormat.JSONL
        return (
            TraceFormat.HAR
            if isinstance(document, dict) and "log" in document
            else (TraceFormat.JSONL)
        )
    first = stripped.split("\n", 1)[0]
    return TraceFormat.CSV if "," in first else TraceFormat.TEXT


def _field(entry: dict[str, Any], name: str) -> object:
    value: object = entry
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _pick(entry: dict[str, Any], field: str | None, where: str) -> float:
    names = (field,) if field is not None else TIME_FIELDS
    for name in names:
        value = _field(entry, name)
        if value is not None:
            try:
                return parse_time(value)
            except ValueError as exc:
                raise TraceError(f"{where}: {name}: {exc}") from None
    tried = ", ".join(names)
    fix = "check timestamp_field" if field is not None else "set timestamp_field to its name"
    raise TraceError(f"{where}: no time field (tried {tried}); {fix}")


def _jsonl(text: str, field: str | None) -> list[float]:
    times = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TraceError(f"line {number}: not JSON ({exc.msg}); one object a line") from None
        if not isinstance(entry, dict):
            raise TraceError(f"line {number}: expected a JSON object, got {type(entry).__name__}")
        times.append(_pick(entry, field, f"line {number}"))
    return times


def _har(text: str, field: str | None) -> list[float]:
    try:
        document = json.loads(text)
        entries = document["log"]["entries"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise TraceError(
            "not a HAR file (a JSON object with log.entries); set format to the log's format"
        ) from None
    if not isinstance(entries, list):
        raise TraceError("log.entries: expected a list of requests")
    times = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise TraceError(f"log.entries[{index}]: expected an object")
        times.append(_pick(entry, field or "startedDateTime", f"log.entries[{index}]"))
    return times


def _csv(text: str, field: str | None) -> list[float]:
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip() for cell in rows[0]]
    names = (field,) if field is not None else TIME_FIELDS
    lowered = [cell.lower() for cell in header]
    column = next((lowered.index(n.lower()) for n in names if n.lower() in lowered), None)
    body, first_line = rows[1:], 2
    if column is None:
        if len(header) > 1 or field is not None:
            raise TraceError(
                f"line 1: no time column (tried {', '.join(names)}) in {', '.join(header)}; "
                f"set timestamp_field to the column's name"
            )
        column = 0
        try:
            parse_time(header[0])
            body, first_line = rows, 1  # no header: the first line is a time too
        except ValueError:
            pass
    times = []
    for number, row in enumerate(body, start=first_line):
        try:
            times.append(parse_time(row[column]))
        except (IndexError, ValueError) as exc:
            raise TraceError(f"line {number}: {exc}") from None
    return times


def _text(text: str, field: str | None) -> list[float]:
    times = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            times.append(parse_time(line))
        except ValueError as exc:
            raise TraceError(f"line {number}: {exc}") from None
    return times


def offsets(phase: Phase) -> tuple[float, ...]:
    """A trace phase's intended send times from its start: (t_i - t_0) / speed."""
    assert phase.path is not None
    times = read_arrivals(phase.path, phase.format, phase.timestamp_field)
    return shapes.trace_offsets(times, phase.speed)


def load_traces(scenario: Scenario) -> dict[str, tuple[float, ...]]:
    """Every trace phase's send times, by phase name (the load process's driver needs them)."""
    return {
        phase.name: offsets(phase)
        for phase in scenario.load.phases
        if phase.kind is PhaseKind.TRACE
    }


def resolve(scenario: Scenario, source: str | Path, text: str | None = None) -> Scenario:
    """``scenario`` with each trace phase's path made absolute (from the scenario file's
    folder) and its duration filled in (the trace's length ÷ speed, unless set: then the
    replay stops there). Raises ScenarioError naming the phase's key and the log's line."""
    traces = [i for i, p in enumerate(scenario.load.phases) if p.kind is PhaseKind.TRACE]
    if not traces:
        return scenario
    folder = Path(source).parent
    lines = _line_map(text if text is not None else _read(source))
    phases = list(scenario.load.phases)
    problems = []
    for index in traces:
        phase = phases[index]
        assert phase.path is not None
        path = Path(phase.path)
        if not path.is_absolute():
            path = folder / path
        resolved = phase.model_copy(update={"path": str(path.resolve())})
        try:
            times = offsets(resolved)
        except TraceError as exc:
            loc = ("load", "phases", index, "path")
            fix = "" if path.exists() else " (a relative path is from the scenario file's folder)"
            problems.append(
                _with_line(f"{source}: load.phases[{index}].path: {exc}{fix}", loc, lines)
            )
            continue
        if phase.duration is None:
            resolved = resolved.model_copy(update={"duration": shapes.trace_length(times)})
        phases[index] = resolved
    if problems:
        raise ScenarioError(problems)
    load = scenario.load.model_copy(update={"phases": phases})
    return scenario.model_copy(update={"load": load})


def _read(source: str | Path) -> str:
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
