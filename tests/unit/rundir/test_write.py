"""Whole run-directory files are replaced atomically (a writer stopped before the rename
leaves the old file as it was), and the logs the load reads are copied into the run
directory: the load process finds them there even when the originals are gone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from stress.errors import ScenarioError
from stress.load.trace import load_entries, load_traces
from stress.rundir import layout
from stress.rundir.write import copy_logs, replacing, write_json, write_lines, write_text
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


def test_the_load_reads_the_trace_log_copied_into_the_run_directory(tmp_path: Path) -> None:
    source = write_trace_scenario(
        tmp_path, "    - {name: replay, kind: trace, path: logs/t.txt, speed: 2}\n"
    )
    log = source.parent / "logs" / "t.txt"
    log.parent.mkdir()
    log.write_text("0\n1\n4\n", encoding="utf-8")
    scenario = load_scenario(source)
    expected = load_traces(scenario)
    run_dir = tmp_path / "run"
    run_dir.mkdir()

    copied = copy_logs(run_dir, scenario)
    write_text(layout.scenario(run_dir), copied.to_yaml())
    log.write_text("0\n9\n", encoding="utf-8")  # rotated while the run goes on

    # What the load process does: the run directory's scenario.yaml, then the trace.
    loaded = from_path(layout.scenario(run_dir))
    copy = layout.trace_copy(run_dir, 0, log)
    assert loaded.load.phases[0].path == str(copy.resolve())
    assert copy.read_text(encoding="utf-8") == "0\n1\n4\n"
    assert load_traces(loaded) == expected


def test_a_replayed_log_is_copied_once_and_read_from_the_copy(tmp_path: Path) -> None:
    phase = "{name: replay, kind: trace, inputs: logged, path: logs/chat.jsonl, speed: 2}"
    scenario = load_scenario(write_logged_scenario(tmp_path, phase))
    expected = (load_traces(scenario), load_entries(scenario))
    run_dir = tmp_path / "run"
    run_dir.mkdir()

    copied = copy_logs(run_dir, scenario)
    write_text(layout.scenario(run_dir), copied.to_yaml())
    (tmp_path / "logs" / "chat.jsonl").unlink()

    loaded = from_path(layout.scenario(run_dir))
    assert loaded.inputs.from_log is not None
    copy = layout.from_log_copy(run_dir, Path("chat.jsonl"))
    # inputs.from_log and the trace phase that replays it name the same single copy.
    assert loaded.inputs.from_log.path == loaded.load.phases[1].path == str(copy.resolve())
    assert [p.name for p in layout.input_logs(run_dir).iterdir()] == [copy.name]
    assert (load_traces(loaded), load_entries(loaded)) == expected


def test_a_scenario_without_logs_copies_nothing(tmp_path: Path) -> None:
    source = write_trace_scenario(tmp_path, "    - {name: warm, users: 1, duration: 1s}\n")
    scenario = load_scenario(source)
    assert copy_logs(tmp_path, scenario) == scenario
    assert not layout.input_logs(tmp_path).exists()


def test_a_log_that_cannot_be_copied_is_a_scenario_error_naming_the_key(tmp_path: Path) -> None:
    source = write_trace_scenario(
        tmp_path, "    - {name: replay, kind: trace, path: logs/t.txt, speed: 2}\n"
    )
    log = source.parent / "logs" / "t.txt"
    log.parent.mkdir()
    log.write_text("0\n1\n4\n", encoding="utf-8")
    scenario = load_scenario(source)
    log.unlink()  # gone between loading the scenario and making the run directory
    with pytest.raises(ScenarioError, match=r"load\.phases\[0\]\.path: .*t\.txt: cannot copy"):
        copy_logs(tmp_path, scenario)
