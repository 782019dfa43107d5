"""action.yml and its run script agree: every input it uses is declared, the flags its run
step passes are the script's, and --fail-on refuses what it does not know."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return loaded


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("action_run", ROOT / "action" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_input_used_is_declared() -> None:
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"inputs\.([\w-]+)", text))
    assert used == set(action()["inputs"])


def test_the_run_step_passes_only_flags_the_script_knows() -> None:
    step = next(s for s in action()["runs"]["steps"] if s.get("id") == "run")
    words = shlex.split(step["run"].replace("$GITHUB_ACTION_PATH/", ""))
    assert words[:2] == ["python", "action/run.py"]
    assert (ROOT / words[1]).is_file()
    args = [word if word.startswith("--") else "x" for word in words[2:]]
    args[args.index("--fail-on") + 1] = "checks"
    parsed = script().parse(args)
    assert parsed.scenario == "x"
    # Every output the action declares is one the step writes.
    for name, output in action()["outputs"].items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("checks", ["checks"]),
        ("checks, regression", ["checks", "regression"]),
        ("never", ["never"]),
    ],
)
def test_fail_on_accepts(value: str, expected: list[str]) -> None:
    assert script().fail_on_list(value) == expected


@pytest.mark.parametrize("value", ["", "check", "never,checks", "slo"])
def test_fail_on_refuses(value: str) -> None:
    module = script()
    with pytest.raises(Exception, match="fail-on") as caught:
        module.fail_on_list(value)
    assert type(caught.value).__name__ == "ArgumentTypeError"
