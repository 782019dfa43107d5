"""An internal crash says it is a bug in stress and leaves its traceback where the user looks."""

from __future__ import annotations

from pathlib import Path

import pytest

from stress import cli


def crash(note: str | None) -> BaseException:
    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        if note is not None:
            error.add_note(note)
        return error


def test_traceback_goes_to_the_run_directory_the_run_made(tmp_path: Path) -> None:
    error = crash(f"stress run directory: {tmp_path}")
    try:
        raise error
    except RuntimeError:
        path = cli._save_bug([], error)
    assert path == tmp_path / "stress-crash.txt"
    assert "RuntimeError: boom" in path.read_text()


def test_without_a_run_directory_it_goes_to_a_temporary_folder(tmp_path: Path) -> None:
    error = crash(None)
    try:
        raise error
    except RuntimeError:
        path = cli._save_bug(["run", str(tmp_path / "missing.yaml")], error)
    assert path.parent != tmp_path
    assert path.parent.name.startswith("stress-bug-")
    assert "RuntimeError: boom" in path.read_text()


def test_main_reports_a_bug_with_exit_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise ZeroDivisionError("internal")

    monkeypatch.setattr(cli.cli, "main", broken)
    with pytest.raises(SystemExit) as exited:
        cli.main(["families"])
    assert exited.value.code == cli.BUG
    assert "this is a bug in stress" in capsys.readouterr().err
