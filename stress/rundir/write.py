"""Writing a run directory's whole files atomically, and copying in the logs the load reads.

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
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from stress.errors import ScenarioError
from stress.rundir import layout

if TYPE_CHECKING:
    from stress.scenario import Scenario


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


def copy_file(source: Path, path: Path) -> None:
    """A copy of ``source`` at ``path``, replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as original, replacing(path, "wb") as copy:
        shutil.copyfileobj(original, copy)


def copy_logs(run_dir: Path, scenario: Scenario) -> Scenario:
    """Copy the logs the load process reads (inputs.from_log and each trace phase's log)
    into the run directory; the scenario with its paths pointing at the copies.

    The load then reads only its run directory: a log rotated or rewritten while the run goes
    on cannot change what it replays, and the run directory holds what was replayed. One log
    named by several keys is copied once.
    """
    from stress.scenario import PhaseKind

    copies: dict[Path, Path] = {}

    def copy(key: str, source: str, target: Path) -> str:
        original = Path(source).resolve()
        if original not in copies:
            try:
                copy_file(original, target)
            except OSError as exc:
                raise ScenarioError(
                    [
                        f"{key}: {original}: cannot copy it into {run_dir} "
                        f"({exc.strerror or exc}); the log must stay readable until the run "
                        f"starts"
                    ]
                ) from None
            copies[original] = target.resolve()
        return str(copies[original])

    inputs = scenario.inputs
    if inputs.from_log is not None:
        target = layout.from_log_copy(run_dir, Path(inputs.from_log.path))
        path = copy("inputs.from_log.path", inputs.from_log.path, target)
        inputs = inputs.model_copy(
            update={"from_log": inputs.from_log.model_copy(update={"path": path})}
        )
    phases = list(scenario.load.phases)
    for index, phase in enumerate(phases):
        if phase.kind is PhaseKind.TRACE and phase.path is not None:
            target = layout.trace_copy(run_dir, index, Path(phase.path))
            key = f"load.phases[{index}].path"
            phases[index] = phase.model_copy(update={"path": copy(key, phase.path, target)})
    load = scenario.load.model_copy(update={"phases": phases})
    return scenario.model_copy(update={"inputs": inputs, "load": load})
