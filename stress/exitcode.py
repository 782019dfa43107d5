"""Every exit code of `stress run` (and `stress report`), decided in one place.

    0    PASSED       every check and SLO held, and no replayed regression still fails
    1    FAILED       a check or SLO failed, or a replayed failure still fails
    2    BAD_INPUT    the scenario or the command line is wrong (StressError's default)
    3    UNREACHABLE  the target, or the workers the run expects, could not be reached
    4    BUG          stress could not finish the run: a bug in stress (the traceback is saved),
                      or its load process was killed under it (the message names the signal;
                      SIGKILL is most likely the out-of-memory killer)
    130  SIGINT       interrupted (Ctrl-C): the load stopped, the report covers what was recorded
    143  SIGTERM      terminated: as 130

The functions here are pure: the runner, the CLI and the Python API call them with what
happened, and no two places decide a code on their own.
"""

from __future__ import annotations

import signal
from pathlib import Path

import click

from stress.errors import StressError, TargetUnreachable
from stress.lifeline import SIGINT_EXIT, SIGTERM_EXIT, interrupt_exit_code

PASSED = 0
FAILED = 1
BAD_INPUT = StressError.exit_code
UNREACHABLE = TargetUnreachable.exit_code
BUG = 4
INTERRUPTS = (SIGINT_EXIT, SIGTERM_EXIT)


def run_exit_code(
    passed: bool, *, interrupted: int | None = None, still_fails: bool = False
) -> int:
    """The code of a run that wrote its report: the interruption's (130/143) if it was cut
    short, else 1 when a check or SLO failed or a replayed regression still fails, else 0."""
    if interrupted:
        return interrupted
    if passed and not still_fails:
        return PASSED
    return FAILED


def error_exit_code(error: BaseException) -> int:
    """The code the CLI exits with when ``error`` ends a command: click's own exit code, 2 for
    a command line click refused, 130/143 for an interruption (also when click wrapped it in
    Abort), a StressError's own code, 4 (a bug) for anything else."""
    if isinstance(error, click.exceptions.Exit):
        return error.exit_code
    if isinstance(error, click.ClickException):
        return BAD_INPUT
    if isinstance(error, click.Abort):
        # click turns a KeyboardInterrupt (Ctrl-C, or SIGTERM as Terminated) into Abort.
        return interrupt_exit_code(error.__cause__ or error)
    if isinstance(error, StressError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return interrupt_exit_code(error)
    return BUG


def is_interrupt(code: int) -> bool:
    """True for the code of an interrupted run (130 SIGINT, 143 SIGTERM)."""
    return code in INTERRUPTS


def killed_by(returncode: int) -> str | None:
    """How a child process that exited with ``returncode`` (subprocess's convention: minus
    the signal number) was killed, in words; None if it exited on its own."""
    if returncode >= 0:
        return None
    number = -returncode
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"killed by signal {number}"
    if number == signal.SIGKILL:
        # Nothing in stress sends SIGKILL to a load process that is within its deadline.
        return (
            f"killed by {name} (signal {number}), most likely by the out-of-memory killer "
            f"(see `dmesg` or the container's memory limit; fewer users or smaller inputs "
            f"need less memory)"
        )
    return f"killed by {name} (signal {number})"


def killed_load(returncode: int, run_dir: Path, log_path: Path) -> str | None:
    """The message for a load process a signal killed under `stress run` (exit 4 all the
    same), or None if it exited on its own. The report is then written from the records."""
    death = killed_by(returncode)
    if death is None:
        return None
    message = (
        f"the load process was {death}; the report of what it recorded is written to "
        f"{run_dir} (records/ keeps every complete part: about the last second is lost)"
    )
    if returncode == -signal.SIGKILL:
        return message
    return (
        f"{message}; if nothing else sent that signal, this is a bug in stress, please report "
        f"it with {log_path}"
    )
