"""`stress generate --family GLOB` selects exactly the families `inputs.families: {GLOB: 1}`
selects: one matcher, so every glob a scenario takes, the command takes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from stress.cli import cli
from stress.errors import StressError
from stress.prepare import prepare
from stress.scenario import Overrides

SCENARIO = """\
name: t
target: {{url: "http://127.0.0.1:9", protocol: {protocol}{extra}}}
inputs: {{seed: 3, count: 20, families: {{{families}: 1}}{features}}}
load:
  phases:
    - {{name: baseline, users: 1, duration: 2s}}
"""
TABULAR = ", features: {age: {min: 0, max: 99}, income: {min: 1, max: 9}}"
PROTOCOLS = {"openai-chat": ", model: m", "mlflow": ""}
GLOBS = ["*", "numbers.*", "unicode.?*", "[nu]*", "realistic.*", "*empty*", "structure.*"]


def write(tmp_path: Path, protocol: str, families: str) -> Path:
    path = tmp_path / f"{protocol}.yaml"
    features = TABULAR if protocol == "mlflow" else ""
    text = SCENARIO.format(
        protocol=protocol, extra=PROTOCOLS[protocol], families=f"'{families}'", features=features
    )
    path.write_text(text, encoding="utf-8")
    return path


def families_of(path: Path, family: str | None = None) -> set[str]:
    prepared = prepare(path, Overrides(count=600), family=family)
    return {item.family for item in prepared.corpus()}


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
@pytest.mark.parametrize("glob", GLOBS)
def test_generate_family_selects_what_the_scenario_selects(
    tmp_path: Path, protocol: str, glob: str
) -> None:
    try:
        by_scenario: set[str] | None = families_of(write(tmp_path, protocol, glob))
    except StressError:  # a glob the scenario refuses: the command refuses it too
        by_scenario = None
    if by_scenario is None:
        result = CliRunner().invoke(
            cli, ["generate", str(write(tmp_path, protocol, "*")), "--family", glob]
        )
        assert result.exit_code != 0, f"the scenario refused {glob!r}; generate took it"
        return
    by_flag = families_of(write(tmp_path, protocol, "*"), family=glob)
    assert by_flag == by_scenario


def test_the_star_glob_previews_through_the_command(tmp_path: Path) -> None:
    # `*` reaches families that cannot fit the target (realistic.logged without a log):
    # the scenario leaves them out, and so does the command, instead of failing on them.
    result = CliRunner().invoke(
        cli, ["generate", str(write(tmp_path, "openai-chat", "realistic.*")), "--family", "*"]
    )
    assert result.exit_code == 0, result.output
    assert "inputs, seed 3" in result.output
