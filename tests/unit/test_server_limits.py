"""target.limits: the server's own limits, validated with messages naming key, value and fix,
and seeding the run's LimitBook."""

from __future__ import annotations

from pathlib import Path

import pytest

from stress.checks.exchange import Settings
from stress.errors import ScenarioError
from stress.runner import load_scenario
from tests.unit.test_scenario_targets import scenario, write


def chat(limits: str) -> str:
    return scenario(
        f"{{url: 'http://127.0.0.1:9', protocol: openai-chat, model: m, limits: {limits}}}"
    )


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ("{prompt_tokens: -5}", "target.limits.prompt_tokens: expected a positive integer, got -5"),
        (
            "{prompt_token: 5}",
            "target.limits.prompt_token: unknown key 'prompt_token'; did you mean 'prompt_tokens'?",
        ),
        ("{batch_size: lots}", "target.limits.batch_size: expected an integer, got 'lots'"),
    ],
)
def test_bad_limits_name_the_key_and_the_fix(tmp_path: Path, limits: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, chat(limits)))
    (problem,) = caught.value.problems
    assert message in problem


def test_declared_limits_seed_the_book(tmp_path: Path) -> None:
    loaded = load_scenario(write(tmp_path, chat("{prompt_tokens: 2048, batch_size: 8}")))
    assert loaded.target.limits.known() == {"prompt_tokens": 2048, "batch_size": 8}
    book = Settings.from_scenario(loaded).limits
    assert book is not None
    assert book.known == {"prompt_tokens": 2048, "batch_size": 8}
    default = load_scenario(write(tmp_path, scenario()))
    assert Settings.from_scenario(default).limits.known == {}  # type: ignore[union-attr]
