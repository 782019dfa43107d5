"""`stress --help` lists every command under a heading, its examples parse, and both command
names produce a shell completion script that completes commands."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from stress.cli import cli
from stress.cli_help import EXAMPLES, GROUPS

ROOT = Path(__file__).resolve().parents[2]


def help_text() -> str:
    result = CliRunner().invoke(cli, ["--help"], prog_name="stress", terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def sections(text: str) -> dict[str, list[str]]:
    """Each heading of the help ("Run:") and the command names listed under it."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if re.fullmatch(r"[A-Z][\w ]*:", line):
            current = found.setdefault(line[:-1], [])
        elif current is not None and line.startswith("  ") and line.strip():
            current.append(line.split()[0])
        else:
            current = None
    return found


def test_every_command_is_listed_once_under_its_heading() -> None:
    listed = sections(help_text())
    headings = [title for title, _ in GROUPS]
    assert [title for title in listed if title != "Options"][:4] == headings
    for title, names in GROUPS:
        assert listed[title] == [name for name in names if name in cli.commands]
    everywhere = [name for title, names in listed.items() if title != "Options" for name in names]
    assert sorted(everywhere) == sorted(cli.commands)
    # A command added later without a heading is still listed, but under "Other commands".
    assert "Other commands" not in listed, "give the new command a place in cli_help.GROUPS"


def test_a_command_without_a_heading_is_listed_under_other_commands() -> None:
    extra = click.Command("extra", help="Something new.", callback=lambda: None)
    cli.add_command(extra)
    try:
        listed = sections(help_text())
    finally:
        del cli.commands["extra"]
    assert listed["Other commands"] == ["extra"]


def examples() -> list[list[str]]:
    lines = [line.strip() for line in EXAMPLES.splitlines()]
    return [shlex.split(line.split("  ")[0])[1:] for line in lines if line.startswith("stress ")]


def test_the_help_shows_the_examples() -> None:
    text = help_text()
    assert len(examples()) >= 5
    for words in examples():
        assert f"stress {shlex.join(words)}" in text


@pytest.mark.parametrize("words", examples(), ids=lambda words: words[0])
def test_every_example_parses_as_its_command(words: list[str]) -> None:
    command = cli.commands[words[0]]
    # Parsing checks every option and argument against the command, without running it.
    with command.make_context(words[0], list(words[1:]), resilient_parsing=False):
        pass


def console_script(folder: Path, name: str) -> Path:
    """What pip installs for a console script of pyproject.toml, under ``name``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(
        f"#!{sys.executable}\nimport sys\nfrom stress.cli import main\nsys.exit(main())\n",
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("name", ["stress", "model-stress"])
def test_shell_completion_script_and_answers(tmp_path: Path, name: str) -> None:
    program = console_script(tmp_path / "bin", name)
    variable = f"_{name.replace('-', '_').upper()}_COMPLETE"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def completion(mode: str, **extra: str) -> str:
        result = subprocess.run(
            [str(program)],
            env={**env, variable: mode, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    function = f"_{name.replace('-', '_')}_completion"
    assert f"complete -o nosort -F {function} {name}" in completion("bash_source")
    assert f"#compdef {name}" in completion("zsh_source")
    answers = completion("bash_complete", COMP_WORDS=f"{name} re", COMP_CWORD="1")
    assert answers.split() == ["plain,report", "plain,replay", "plain,repro"]
