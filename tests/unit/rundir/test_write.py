"""Whole run-directory files are replaced atomically (a writer stopped before the rename
leaves the old file as it was), and the logs the load reads are copied into the run
directory: the load process finds them there even when the originals are gone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from stress.errors import RunDirError
from stress.prepare import prepare
from stress.rundir import layout
from stress.rundir.read import read_traces
from stress.rundir.write import replacing, write_json, write_lines, write_text, write_traces
from stress.runner import load_scenario
from stress.scenario import from_path
from tests.unit.load.test_replay_log import write as write_logged_scenario
from tests.unit.load.test_trace import write_scenario as write_trace_scenario


def test_a_writer_stopped_before_the_rename_leaves_the_old_file(tmp_path: Path) -> None:
    path = layout.summary(tmp_path)
    write_json(path, {"passed": True})

    def lines():  # type: ignore[no-untyped-def]
        yield '{"passed": false'
        raise KeyboardInterrupt  # Ctrl-C halfway through the file

    with pytest.raises(KeyboardInterrupt):
        write_lines(path, lines())
    assert json.loads(path.read_text(encoding="utf-8")) == {"passed": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == [layout.SUMMARY]


def test_a_reader_sees_the_old_file_until_the_new_one_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = layout.report(tmp_path)
    write_text(path, "old")
    seen = []

    def replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        seen.append(path.read_text(encoding="utf-8"))  # what a reader gets mid-write
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="disk gone"):
        write_text(path, "new and longer")
    assert seen == ["old"]
    assert path.read_text(encoding="utf-8") == "old"
    assert not path.with_name(path.name + layout.TEMPORARY_SUFFIX).exists()


def test_a_completed_write_replaces_the_file(tmp_path: Path) -> None:
    path = layout.junit(tmp_path)
    write_text(path, "a much longer first version")
    with replacing(path, "wb") as handle:
        handle.write(b"<x/>")
    assert path.read_bytes() == b"<x/>"


def test_the_load_reads_a_trace_phase_s_times_from_the_run_directory(tmp_path: Path) -> None:
    source = write_trace_scenario(
        tmp_path, "    - {name: replay, kind: trace, path: logs/t.txt, speed: 2}\n"
    )
    log = source.parent / "logs" / "t.txt"
    log.parent.mkdir()
    log.write_text("0\n1\n4\n", encoding="utf-8")
    prepared = prepare(source)
    run_dir = tmp_path / "run"
    run_dir.mkdir()

    # What `stress run` does when it makes the run directory...
    write_text(layout.scenario(run_dir), prepared.scenario.to_yaml())
    write_traces(run_dir, prepared.timing.traces, prepared.timing.entries)
    log.unlink()  # rotated away while the run goes on

    # ... and what the load process reads: the run directory alone.
    traces, entries = read_traces(run_dir, from_path(layout.scenario(run_dir)))
    assert traces == {"replay": [0.0, 0.5, 2.0]}
    assert entries == {}


def test_a_replayed_log_leaves_its_times_and_order_but_no_body(tmp_path: Path) -> None:
    prepared = prepare(write_logged_scenario(tmp_path))
    expected = (prepared.timing.traces, prepared.timing.entries)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_text(layout.scenario(run_dir), prepared.scenario.to_yaml())
    write_traces(run_dir, *expected)
    (tmp_path / "logs" / "chat.jsonl").unlink()

    traces, entries = read_traces(run_dir, from_path(layout.scenario(run_dir)))
    assert (traces, entries) == (
        {"replay": list(expected[0]["replay"])},
        {"replay": list(expected[1]["replay"])},
    )
    assert sorted(entries["replay"]) == list(range(len(entries["replay"])))
    # The logged requests may hold personal data; only their times reach the run directory.
    assert "Question" not in layout.traces(run_dir).read_text(encoding="utf-8")


def test_a_run_without_trace_phases_needs_no_traces_file(tmp_path: Path) -> None:
    source = write_trace_scenario(tmp_path, "    - {name: warm, users: 1, duration: 1s}\n")
    assert read_traces(tmp_path, load_scenario(source)) == ({}, {})


def test_a_trace_run_without_its_traces_file_is_a_run_dir_error(tmp_path: Path) -> None:
    scenario = load_scenario(write_logged_scenario(tmp_path))
    with pytest.raises(RunDirError, match=r"traces\.json: cannot read the trace phases"):
        read_traces(tmp_path, scenario)


def test_bytes_and_lines_are_written_exactly_in_the_encoding_asked(tmp_path: Path) -> None:
    from stress.rundir.write import write_bytes

    path = tmp_path / "a.bin"
    write_bytes(path, b"\x00\xff")
    assert path.read_bytes() == b"\x00\xff"
    write_lines(path, ["é", "b"], encoding="latin-1")
    assert path.read_bytes() == b"\xe9\nb\n"
    write_text(path, "é", encoding="latin-1")
    assert path.read_bytes() == b"\xe9"
    write_json(path, {"a": [1]})
    assert path.read_text() == '{\n  "a": [\n    1\n  ]\n}\n'
    assert list(tmp_path.iterdir()) == [path]
