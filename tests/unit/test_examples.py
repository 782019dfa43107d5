"""The example scenarios in the package are the repository's scenarios/, and
`stress init --example` writes them; a wrong name or an existing file is a usage error."""

from __future__ import annotations

from pathlib import Path

import pytest

from stress import examples
from stress.cli import main

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.mark.parametrize("name", examples.names())
def test_each_packaged_example_is_the_repository_scenario(name: str) -> None:
    assert examples.text(name) == (SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8")


def test_the_self_contained_examples_are_packaged() -> None:
    assert {"demo", "tabular", "sweep", "daily"} <= set(examples.names())


def stress(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and output of `stress ARGS`."""
    try:
        main(args)
        code = 0
    except SystemExit as stopped:
        code = int(stopped.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_init_example_writes_the_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = stress(["init", "--example", "tabular"], capsys)
    assert code == 0, output
    assert "wrote scenarios/tabular.yaml; next: stress run scenarios/tabular.yaml" in output
    assert Path("scenarios/tabular.yaml").read_text(encoding="utf-8") == examples.text("tabular")
    code, output = stress(["init", "--example", "tabular"], capsys)
    assert code == 2
    assert "scenarios/tabular.yaml exists; pass --force" in output
    code, output = stress(["init", "--example", "demo", "--force", "-o", "t.yaml"], capsys)
    assert code == 0, output
    assert Path("t.yaml").read_text(encoding="utf-8") == examples.text("demo")


def test_an_unknown_example_names_the_known_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = stress(["init", "--example", "nope"], capsys)
    assert code == 2
    assert "--example: no example 'nope'; choose one of daily, demo" in output
    assert not Path("scenarios").exists()
