"""Writing a run directory's whole files atomically.

A whole file (scenario.yaml, run.json, corpus.jsonl, summary.json, report.html, ...) is
written to ``<name>.tmp`` beside it and renamed over it with os.replace, so a reader (CI
polling summary.json, a report on a crashed run) sees the old file or the new one, never half
of one. The append-only streams (failures.jsonl, resends.jsonl, the record parts) are not
written here: they stream as the load goes (stress.load, stress.record).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from stress.rundir import layout


@contextlib.contextmanager
def replacing(path: Path, mode: str = "w", **options: Any) -> Iterator[IO[Any]]:
    """A handle on ``path``'s temporary file; renamed over ``path`` when the block ends
    without an exception (the temporary is removed when it raises)."""
    temporary = path.with_name(path.name + layout.TEMPORARY_SUFFIX)
    try:
        with temporary.open(mode, **options) as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    with replacing(path, "wb") as handle:
        handle.write(data)


def write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    with replacing(path, "w", encoding=encoding) as handle:
        handle.write(text)


def write_lines(path: Path, lines: Iterable[str], *, encoding: str = "utf-8") -> None:
    """A file of lines (each ends with a newline), streamed to the temporary file."""
    with replacing(path, "w", encoding=encoding) as handle:
        for line in lines:
            handle.write(line + "\n")


def write_json(path: Path, document: Any) -> None:
    """A JSON file (indented, one newline at the end), replaced atomically."""
    write_text(path, json.dumps(document, indent=2) + "\n")


def write_traces(
    run_dir: Path,
    traces: Mapping[str, Sequence[float]],
    entries: Mapping[str, Sequence[int]],
) -> None:
    """traces.json: by trace phase name, its arrival times from the phase's start and (with
    ``inputs: logged``) the log entry each arrival sends (stress.load.trace computes both)."""
    document = {
        name: {"offsets": list(times), "entries": _list(entries.get(name))}
        for name, times in traces.items()
    }
    write_json(layout.traces(run_dir), document)


def _list(values: Sequence[int] | None) -> list[int] | None:
    return None if values is None else list(values)
