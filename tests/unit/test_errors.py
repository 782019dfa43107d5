"""The error classes a user sees: their exit codes and a ScenarioError's one line per problem."""

from __future__ import annotations

import pytest

from stress.errors import RunDirError, ScenarioError, StressError, TargetUnreachable, UsageError
from stress.lifeline import Terminated, interrupt_exit_code, signal_name


def test_a_scenario_error_keeps_its_problems_and_says_each_on_a_line() -> None:
    problems = ["target.url: missing", "load.phases[0].users: -1 is below 1"]
    error = ScenarioError(problems)
    problems.append("added later")
    assert error.problems == ["target.url: missing", "load.phases[0].users: -1 is below 1"]
    assert str(error) == "target.url: missing\nload.phases[0].users: -1 is below 1"
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (StressError("x"), 2),
        (ScenarioError(["x"]), 2),
        (UsageError("x"), 2),
        (RunDirError("x"), 2),
        (TargetUnreachable("x"), 3),
    ],
)
def test_exit_codes(error: StressError, code: int) -> None:
    assert error.exit_code == code


def test_an_interrupt_exits_with_the_shell_code_of_its_signal() -> None:
    assert (interrupt_exit_code(Terminated()), signal_name(143)) == (143, "SIGTERM")
    assert (interrupt_exit_code(KeyboardInterrupt()), signal_name(130)) == (130, "SIGINT")
