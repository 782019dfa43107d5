"""Custom checks (module:function): import from the working directory, results, failures."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from stress.checks.custom import CustomCheckError, custom_check, problem, resolve
from stress.checks.exchange import Exchange
from stress.checks.request import CheckSuite
from stress.inputs.corpus import Input
from stress.targets.base import Outcome

MODULE = """
from stress.checks.exchange import Finding

def no_sorry(item, outcome):
    if outcome.text and "sorry" in outcome.text.lower():
        return f"{item.id}: the model apologised"
    return None

def is_short(item, outcome):
    return len(outcome.text or "") < 10

def detailed(item, outcome):
    return Finding("ignored-name", "too long", "warning", expected="< 3 chars", got="4")

def broken(item, outcome):
    raise KeyError("missing")

NOT_A_FUNCTION = 3
"""


@pytest.fixture
def checks_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = "stress_custom_checks_test"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(MODULE), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    yield name
    sys.modules.pop(name, None)
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def answer(text: str, status: int = 200) -> Exchange:
    item = Input("fam-0001", "fam", "accept", "prompt", {"messages": []})
    return Exchange("accept", status, None, Outcome(text=text), 1.0, item=item)


def test_results_become_findings_named_after_the_check(checks_module: str) -> None:
    no_sorry = custom_check(f"{checks_module}:no_sorry")
    finding = no_sorry(answer("Sorry, I cannot"))
    assert finding is not None
    assert (finding.check, finding.message, finding.severity) == (
        f"{checks_module}:no_sorry",
        "fam-0001: the model apologised",
        "error",
    )
    assert no_sorry(answer("Here you go")) is None
    is_short = custom_check(f"{checks_module}:is_short")
    assert is_short(answer("short")) is None
    returned_false = is_short(answer("much longer than ten"))
    assert returned_false is not None
    assert "returned False" in returned_false.message
    detailed = custom_check(f"{checks_module}:detailed")(answer("abcd"))
    assert detailed is not None
    assert (detailed.check, detailed.severity, detailed.expected) == (
        f"{checks_module}:detailed",
        "warning",
        "< 3 chars",
    )


def test_a_raising_check_is_a_finding_not_a_crash(checks_module: str) -> None:
    finding = custom_check(f"{checks_module}:broken")(answer("x"))
    assert finding is not None
    assert "raised KeyError" in finding.message


def test_only_parsed_2xx_answers_are_judged(checks_module: str) -> None:
    no_sorry = custom_check(f"{checks_module}:no_sorry")
    assert no_sorry(answer("sorry", status=500)) is None


def test_severity_override_applies_to_custom_checks(checks_module: str) -> None:
    name = f"{checks_module}:no_sorry"
    suite = CheckSuite([custom_check(name)], severity={name: "info"})
    [finding] = suite.run(answer("sorry"))
    assert finding.severity == "info"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nocolon", "expected module:function"),
        ("a:b:c", "expected module:function"),
        ("stress_no_such_module_q:f", "cannot import module 'stress_no_such_module_q'"),
        ("{module}:nope", "has no 'nope' (its functions: broken, detailed, is_short, no_sorry)"),
        ("{module}:NOT_A_FUNCTION", "'NOT_A_FUNCTION' is not a function"),
    ],
)
def test_unusable_checks_say_why(checks_module: str, spec: str, message: str) -> None:
    spec = spec.format(module=checks_module)
    with pytest.raises(CustomCheckError, match="custom check"):
        resolve(spec)
    found = problem(spec)
    assert found is not None
    assert message in found
    assert problem(f"{checks_module}:no_sorry") is None
