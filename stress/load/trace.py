"""Trace phases: the arrival times of a request log, read from the log's timestamps.

``read_arrivals`` is the one function that reads a log's timestamps (JSONL with a time
field, HAR startedDateTime, CSV or plain text); a trace phase replays them ``speed`` times
faster (stress.load.shapes.trace_offsets). ``resolve`` runs in the parent when a scenario is
prepared (stress.prepare): it finds the log (relative to the scenario file), reads it so that a
bad log is a scenario error (exit 2) before anything runs, and fills in the phase's duration;
``timing`` then gives every trace phase's send offsets (and logged entries), which the parent
writes to RUN_DIR/traces.json (stress.rundir.write.write_traces): the load process reads them
there (stress.rundir.read.read_traces) and reads no log.

Inputs come from the corpus, unless the phase says ``inputs: logged``: then the times are
those of inputs.from_log's sampled entries (stress.logs.seeds, the same entries the corpus's
realistic.logged holds, in the same order), and arrival i sends the entry whose time it is
(``logged_arrivals``: sorted stably, so a log in time order maps arrival i to entry i).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stress.errors import ScenarioError
from stress.load import shapes
from stress.logs.readers import parse_time
from stress.scenario import Phase, PhaseKind, Scenario, TraceFormat, line_map, with_line

if TYPE_CHECKING:
    from stress.logs.seeds import LogSeeds

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


class MissingTimestamp(ValueError):
    """A logged request without a time, in a trace that replays logged requests."""

    def __init__(self, line: int, missing: int, total: int) -> None:
        self.line = line
        self.missing = missing
        super().__init__(f"line {line}: no timestamp ({missing} of {total} sampled entries)")


def logged_arrivals(
    times: Sequence[float | None], speed: float, lines: Sequence[int] | None = None
) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """A trace of logged requests: the send offsets ((t - t_0) / speed, ascending) and the
    entry each of them sends. ``times`` are the sampled entries' timestamps in seed order;
    raises MissingTimestamp naming the first entry without one (its log line, from
    ``lines``)."""
    missing = [i for i, t in enumerate(times) if t is None]
    if missing:
        line = lines[missing[0]] if lines is not None else missing[0] + 1
        raise MissingTimestamp(line, len(missing), len(times))
    known = [t for t in times if t is not None]
    return shapes.trace_offsets(known, speed), shapes.trace_order(known)


@dataclass(frozen=True)
class Timing:
    """Every trace phase's send offsets (``traces``) and, for those with inputs: logged, the
    log entry each arrival sends (``entries``), by phase name."""

    traces: dict[str, tuple[float, ...]]
    entries: dict[str, tuple[int, ...]]


def timing(scenario: Scenario, logged: Sequence[float | None] | None = None) -> Timing:
    """The trace timing of ``scenario``: inputs.from_log's sampled times are ``logged`` when
    the caller has them, else read once here (stress.logs.seeds.timestamps)."""
    traces: dict[str, tuple[float, ...]] = {}
    entries: dict[str, tuple[int, ...]] = {}
    for phase in scenario.load.phases:
        if phase.kind is not PhaseKind.TRACE:
            continue
        if phase.logged:
            if logged is None:
                from stress.logs import seeds

                logged = seeds.timestamps(scenario)
            traces[phase.name], entries[phase.name] = logged_arrivals(logged, phase.speed)
        else:
            traces[phase.name] = offsets(phase)
    return Timing(traces, entries)


def resolve(
    scenario: Scenario,
    source: str | Path,
    text: str | None = None,
    *,
    logged: LogSeeds | None = None,
) -> Scenario:
    """``scenario`` with each trace phase's path made absolute (from the scenario file's
    folder) and its duration filled in (the trace's length ÷ speed, unless set: then the
    replay stops there). Raises ScenarioError naming the phase's key and the log's line.
    ``logged``: inputs.from_log's seeds, when the caller has them (stress.prepare does), for
    phases with inputs: logged; else they are read here."""
    traces = [i for i, p in enumerate(scenario.load.phases) if p.kind is PhaseKind.TRACE]
    if not traces:
        return scenario
    folder = Path(source).parent
    lines = line_map(text if text is not None else _read(source))
    phases = list(scenario.load.phases)
    problems = []
    for index in traces:
        phase = phases[index]
        if phase.logged:
            resolved, problem = _resolve_logged(scenario, phase, index, folder, str(source), logged)
            if problem is not None:
                key, message = problem
                problems.append(with_line(message, ("load", "phases", index, key), lines))
            phases[index] = resolved
            continue
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
                with_line(f"{source}: load.phases[{index}].path: {exc}{fix}", loc, lines)
            )
            continue
        if phase.duration is None:
            resolved = resolved.model_copy(update={"duration": shapes.trace_length(times)})
        phases[index] = resolved
    if problems:
        raise ScenarioError(problems)
    load = scenario.load.model_copy(update={"phases": phases})
    return scenario.model_copy(update={"load": load})


def _resolve_logged(
    scenario: Scenario,
    phase: Phase,
    index: int,
    folder: Path,
    source: str,
    logged: LogSeeds | None,
) -> tuple[Phase, tuple[str, str] | None]:
    """A trace phase with inputs: logged, its duration filled in from inputs.from_log's
    sampled entries' times; or the problem, as (key, message): a path that is not
    inputs.from_log's, a log entry without a timestamp."""
    from stress.logs import seeds

    log = scenario.inputs.from_log
    assert log is not None  # Scenario._logged_traces
    key = f"{source}: load.phases[{index}]"
    if phase.path is not None:
        path = Path(phase.path)
        path = (path if path.is_absolute() else folder / path).resolve()
        if path != Path(log.path).resolve():
            return phase, (
                "path",
                f"{key}.path: with inputs: logged the trace replays inputs.from_log's "
                f"requests, got {phase.path!r}, which is not inputs.from_log.path "
                f"({log.path}); remove path (the times come from inputs.from_log) or point "
                f"it at the same file",
            )
        phase = phase.model_copy(update={"path": str(path)})
    sample = logged if logged is not None else seeds.load(scenario, source=source)
    lines = [int(seed["line"]) for seed in sample.seeds]
    try:
        times, _ = logged_arrivals(sample.timestamps, phase.speed, lines)
    except MissingTimestamp as exc:
        return phase, (
            "inputs",
            f"{key}.inputs: logged replays each logged request at its logged time, got an "
            f"entry without one: {log.path}: line {exc.line} ({exc.missing} of "
            f"{len(lines)} sampled entries have none); use a log whose entries carry "
            f'timestamps (a JSON-lines wrapper {{"body": {{...}}, "timestamp": ...}}, '
            f"HAR startedDateTime) or remove inputs: logged",
        )
    if phase.duration is None:
        phase = phase.model_copy(update={"duration": shapes.trace_length(times)})
    return phase, None


def _read(source: str | Path) -> str:
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
