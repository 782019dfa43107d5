"""stress.exitcode: every exit code of a run, from what happened (exhaustively; no process runs)."""

from __future__ import annotations

import itertools
import signal
from pathlib import Path

import click
import pytest

from stress import exitcode
from stress.errors import RunDirError, ScenarioError, StressError, TargetUnreachable, UsageError
from stress.exitcode import error_exit_code, is_interrupt, killed_by, killed_load, run_exit_code
from stress.lifeline import Terminated
from stress.runner import LoadProcessFailed, LoadProcessKilled, WorkersUnavailable


def test_the_codes_are_the_documented_numbers() -> None:
    assert (exitcode.PASSED, exitcode.FAILED, exitcode.BAD_INPUT) == (0, 1, 2)
    assert (exitcode.UNREACHABLE, exitcode.BUG, exitcode.INTERRUPTS) == (3, 4, (130, 143))


def expected_run_code(passed: bool, interrupted: int | None, still_fails: bool) -> int:
    """The table of docs (README, docs/ci.md), written out case by case."""
    if interrupted == 130:
        return 130
    if interrupted == 143:
        return 143
    if not passed:
        return 1
    if still_fails:
        return 1
    return 0


@pytest.mark.parametrize(
    ("passed", "interrupted", "still_fails"),
    list(itertools.product([True, False], [None, 130, 143], [False, True])),
)
def test_a_run_that_wrote_its_report_exits_by_its_verdict(
    passed: bool, interrupted: int | None, still_fails: bool
) -> None:
    code = run_exit_code(passed, interrupted=interrupted, still_fails=still_fails)
    assert code == expected_run_code(passed, interrupted, still_fails)


def test_the_run_code_defaults_to_not_interrupted_and_no_regression_still_failing() -> None:
    assert (run_exit_code(True), run_exit_code(False)) == (0, 1)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        # click's own exits (--help, --version) keep their code.
        (click.exceptions.Exit(0), 0),
        (click.exceptions.Exit(5), 5),
        # A command line click refused is bad input: 2, whatever click's own code.
        (click.UsageError("no such option"), 2),
        (click.BadParameter("not a number"), 2),
        (click.ClickException("x"), 2),
        (click.Abort(), 130),
        # Ours, each with its own code.
        (StressError("x"), 2),
        (ScenarioError(["x"]), 2),
        (UsageError("x"), 2),
        (RunDirError("x"), 2),
        (TargetUnreachable("x"), 3),
        (WorkersUnavailable("x"), 3),
        (LoadProcessFailed("x"), 4),
        (LoadProcessKilled("x"), 4),
        (KeyboardInterrupt(), 130),
        (Terminated(), 143),
        # Anything else is a bug in stress.
        (ValueError("x"), 4),
        (RuntimeError("x"), 4),
        (OSError("x"), 4),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_an_error_that_ends_a_command_exits_with_its_code(error: BaseException, code: int) -> None:
    assert error_exit_code(error) == code


@pytest.mark.parametrize(("cause", "code"), [(KeyboardInterrupt(), 130), (Terminated(), 143)])
def test_an_interrupt_click_wrapped_in_abort_exits_by_its_signal(
    cause: BaseException, code: int
) -> None:
    abort = click.Abort()
    abort.__cause__ = cause
    assert error_exit_code(abort) == code


@pytest.mark.parametrize(
    ("code", "interrupt"),
    [(130, True), (143, True), (0, False), (1, False), (2, False), (4, False), (137, False)],
)
def test_only_130_and_143_are_interruptions(code: int, interrupt: bool) -> None:
    assert is_interrupt(code) is interrupt


@pytest.mark.parametrize("returncode", [0, 1, 3, 4, 255])
def test_a_process_that_exited_on_its_own_was_not_killed(returncode: int) -> None:
    assert killed_by(returncode) is None
    assert killed_load(returncode, Path("run"), Path("run/load.log")) is None


def test_sigkill_is_named_with_its_likely_sender_the_out_of_memory_killer() -> None:
    assert killed_by(-signal.SIGKILL) == (
        "killed by SIGKILL (signal 9), most likely by the out-of-memory killer (see `dmesg` or "
        "the container's memory limit; fewer users or smaller inputs need less memory)"
    )


@pytest.mark.parametrize(
    ("returncode", "words"),
    [
        (-signal.SIGSEGV, "killed by SIGSEGV (signal 11)"),
        (-signal.SIGTERM, "killed by SIGTERM (signal 15)"),
        (-signal.SIGABRT, "killed by SIGABRT (signal 6)"),
        # A number no signal of this system has.
        (-200, "killed by signal 200"),
    ],
)
def test_another_signal_is_named_and_numbered(returncode: int, words: str) -> None:
    assert killed_by(returncode) == words


def test_a_load_process_killed_by_sigkill_points_at_the_report_not_at_a_bug() -> None:
    message = killed_load(-signal.SIGKILL, Path("reports/r1"), Path("reports/r1/load.log"))
    assert message == (
        "the load process was killed by SIGKILL (signal 9), most likely by the out-of-memory "
        "killer (see `dmesg` or the container's memory limit; fewer users or smaller inputs need "
        "less memory); the report of what it recorded is written to reports/r1 (records/ keeps "
        "every complete part: about the last second is lost)"
    )


def test_a_load_process_killed_by_another_signal_may_be_a_bug_and_names_its_log() -> None:
    message = killed_load(-signal.SIGSEGV, Path("reports/r1"), Path("reports/r1/load.log"))
    assert message == (
        "the load process was killed by SIGSEGV (signal 11); the report of what it recorded is "
        "written to reports/r1 (records/ keeps every complete part: about the last second is "
        "lost); if nothing else sent that signal, this is a bug in stress, please report it "
        "with reports/r1/load.log"
    )
