"""The commands stress prints start with the program that runs, as a shell would spell it."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from stress import invocation
from stress.console import print_failure_commands
from stress.invocation import program_for

ROOT = Path(__file__).resolve().parents[2]


def script(folder: Path, name: str = "stress") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def nowhere(name: str) -> str | None:
    return None


def test_a_console_script_that_path_finds_is_printed_by_name(tmp_path: Path) -> None:
    found = script(tmp_path / "bin")
    assert program_for(str(found), sys.executable, lambda name: str(found)) == "stress"


def test_a_symlink_on_path_to_the_running_script_counts_as_found(tmp_path: Path) -> None:
    real = script(tmp_path / "venv" / "bin", "model-stress")
    link = tmp_path / "bin" / "model-stress"
    link.parent.mkdir()
    link.symlink_to(real)
    assert program_for(str(real), sys.executable, lambda name: str(link)) == "model-stress"


def test_another_stress_first_on_path_gives_the_running_path(tmp_path: Path) -> None:
    # Debian's `stress` package, or another environment's stress, is not this one.
    running = script(tmp_path / "my env" / "bin")
    other = script(tmp_path / "usr" / "bin")
    printed = program_for(str(running), sys.executable, lambda name: str(other))
    assert printed == shlex.quote(str(running))
    assert shlex.split(printed) == [str(running)]


def test_a_relative_script_path_is_printed_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(tmp_path / ".venv" / "bin")
    monkeypatch.chdir(tmp_path)
    printed = program_for(".venv/bin/stress", sys.executable, nowhere)
    assert printed == str(tmp_path / ".venv" / "bin" / "stress")


@pytest.mark.parametrize("module_file", ["__main__.py", "cli.py"])
def test_python_dash_m_prints_python_dash_m_stress(module_file: str) -> None:
    argv0 = str(ROOT / "stress" / module_file)
    python = "/opt/env/bin/python"
    assert program_for(argv0, python, lambda name: python) == "python -m stress"
    # `python` on PATH is another interpreter (without stress): the running one's path.
    spaced = "/opt/my env/bin/python3"
    assert program_for(argv0, spaced, lambda name: "/usr/bin/python") == (
        "'/opt/my env/bin/python3' -m stress"
    )


def test_stress_imported_by_another_program_prints_the_command_name() -> None:
    assert program_for("/usr/bin/pytest", sys.executable, nowhere) == "stress"
    assert program_for("", sys.executable, nowhere) == "stress"


def test_command_quotes_every_word(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(invocation, "program", lambda: "'/a b/stress'")
    line = invocation.command("replay", Path("runs/my run"), "--id", "x;rm -rf ~")
    assert shlex.split(line) == ["/a b/stress", "replay", "runs/my run", "--id", "x;rm -rf ~"]


def test_failure_commands_print_the_running_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(invocation, "program", lambda: "/env/bin/stress")
    console = Console(record=True, width=300)
    failure = {"input_id": "u.nul-0001", "check": "status", "message": "HTTP 500"}
    print_failure_commands(console, "reports/a b", [failure])
    lines = [line.strip() for line in console.export_text().splitlines()]
    assert "/env/bin/stress replay 'reports/a b' --id u.nul-0001" in lines
    assert "/env/bin/stress shrink 'reports/a b' --id u.nul-0001" in lines


def test_python_dash_m_stress_runs_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stress", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("stress, version")
