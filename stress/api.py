"""The Python API: run a scenario from Python (pytest, notebooks) and get a result object.

    import stress

    result = stress.run("scenarios/demo.yaml", target=url, duration="5s", users=4)
    result.passed, result.exit_code, result.findings, result.records()
    result.assert_passed()          # RunFailed (an AssertionError) listing the top findings

It mirrors ``stress run``: the same keywords as its flags, the same run directory, the same
exit code (as ``exit_code``), and the same errors, raised instead of exiting: ScenarioError
and UsageError (the CLI's exit 2), TargetUnreachable (exit 3), another StressError (exit 4, a
bug; LoadProcessKilled when a signal killed the load process, raised after the report of what
was recorded is written). Never SystemExit; Ctrl-C (SIGINT, even where it was ignored at
start) and SIGTERM write the reports of what ran, then raise KeyboardInterrupt
(lifeline.Terminated for SIGTERM).
The load runs in a child process, as with the CLI, so Locust never enters the caller's.
"""

from __future__ import annotations

import difflib
import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from stress import runner as orchestration
from stress.errors import RunDirError, UsageError
from stress.exitcode import PASSED, is_interrupt, run_exit_code
from stress.prepare import PreparedRun, ScenarioLike, prepare
from stress.rundir import layout
from stress.scenario import Overrides, Scenario

if TYPE_CHECKING:
    import pandas as pd

    from stress.checks.slo import SloResult


class Flags(TypedDict, total=False):
    """The keywords that mirror ``stress run``'s flags (and the scenario's name)."""

    target: str
    duration: str | float
    users: int
    rate: float
    seed: int
    count: int
    regressions: str | os.PathLike[str]
    name: str


# How many findings RunFailed lists: enough to see the pattern, short enough to read.
SHOWN_FINDINGS = 5
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def validate(
    scenario: ScenarioLike,
    *,
    overrides: Mapping[str, Any] | None = None,
    **flags: Unpack[Flags],
) -> Scenario:
    """The scenario, validated as ``stress validate`` does, with the overrides applied.

    ``scenario`` is a YAML file's path, a mapping shaped like the YAML, or a Scenario.
    ``overrides`` sets scenario keys by path (stress.overrides): ``{"load.phases[*].duration":
    "2s", "inputs.families": {"realistic.*": 1}}``; then the keywords apply as the ``stress run``
    flags of the same name do (``duration``, ``users`` and ``rate`` change the last phase).
    Raises ScenarioError naming the file or mapping, the key path and the fix, or UsageError
    naming the keyword.
    """
    _check_keywords(flags)
    return _prepared(scenario, overrides, flags).scenario


def _prepared(
    scenario: ScenarioLike, overrides: Mapping[str, Any] | None, flags: Flags
) -> PreparedRun:
    """The one preparation (stress.prepare), the keywords spelt as keywords in errors."""
    keys = dict(overrides or {})
    if (name := flags.get("name")) is not None:
        keys["name"] = name
    duration, regressions = flags.get("duration"), flags.get("regressions")
    changes = Overrides(
        keys=keys,
        target=flags.get("target"),
        duration=None if duration is None else str(duration),
        users=flags.get("users"),
        rate=flags.get("rate"),
        seed=flags.get("seed"),
        count=flags.get("count"),
        regressions=None if regressions is None else os.fspath(regressions),
        spelling="api",
    )
    return prepare(scenario, changes)


def _check_keywords(flags: Mapping[str, Any]) -> None:
    for keyword in flags:
        if keyword not in Flags.__annotations__:
            # A typo must not pass silently (k6#1526): **flags would otherwise take anything.
            close = difflib.get_close_matches(keyword, [*Flags.__annotations__, "overrides"], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"unexpected keyword argument {keyword!r}{hint}")


def run(
    scenario: ScenarioLike,
    *,
    overrides: Mapping[str, Any] | None = None,
    out_dir: str | os.PathLike[str] = "reports",
    workers: int = 0,
    progress: bool = False,
    **flags: Unpack[Flags],
) -> RunResult:
    """Run a scenario as ``stress run`` does and return its RunResult.

    The scenario and the overrides are those of ``validate``. The run directory is made under
    ``out_dir`` (``reports/`` of the working directory, as for the CLI). ``workers`` starts
    that many local Locust worker processes (``--workers``). ``progress`` prints the CLI's live
    progress and summary to standard error; by default nothing is printed.
    """
    _check_keywords(flags)
    prepared = _prepared(scenario, overrides, flags)
    if workers < 0:
        raise UsageError(f"workers=: expected 0 or more worker processes, got {workers}")
    on_event = _progress() if progress else (lambda event: None)
    from stress.lifeline import SIGTERM_EXIT, Terminated, sigterm_interrupts

    # As `stress run` does: SIGTERM stops the run as Ctrl-C does, and SIGINT does even where
    # the caller was started with it ignored (a background job); the caller's own handlers
    # come back afterwards. Outside the main thread a no-op.
    with sigterm_interrupts():
        outcome = orchestration.run(
            prepared,
            out=Path(out_dir),
            on_event=on_event,
            workers=orchestration.Workers(local=workers),
        )
    result = RunResult(outcome.run_dir, outcome.summary, outcome.exit_code, outcome.regressions)
    if progress:
        from stress.console import print_summary

        print_summary(_stderr(), result.summary, str(result.run_dir))
    if result.interrupted:
        stopped = Terminated if result.exit_code == SIGTERM_EXIT else KeyboardInterrupt
        raise stopped(f"stress run interrupted; reports of what ran: {result.run_dir}")
    return result


@dataclass(frozen=True)
class Finding:
    """One finding stored in failures.jsonl: which check, on which input, and the evidence.

    ``severity`` is error, warning or info; ``expected`` and ``got`` say in words what a healthy
    endpoint does and what this one did; ``replay`` is the command that re-sends the request
    byte-exact.
    """

    check: str
    severity: str
    message: str
    input_id: str
    family: str
    expect: str | None
    phase: str | None
    status: int | None
    expected: str | None
    got: str | None
    replay: str

    def __str__(self) -> str:
        where = f"{self.family}, phase {self.phase}" if self.phase else self.family
        evidence = ""
        if self.expected is not None or self.got is not None:
            evidence = f" (expected {self.expected}; got {self.got})"
        return (
            f"{self.severity} {self.check} on {self.input_id} [{where}]: {self.message}"
            f"{evidence}\n    {self.replay}"
        )


@dataclass(frozen=True)
class Check:
    """One entry of summary.json's ``checks``: a request, group or run check, or an SLO."""

    name: str
    kind: str
    passed: bool
    severity: str
    message: str
    phase: str | None = None
    errors: int = 0
    warnings: int = 0

    def __str__(self) -> str:
        phase = f" [{self.phase}]" if self.phase and self.kind != "slo" else ""
        return f"{self.name}{phase}: {self.message}"


class RunFailed(AssertionError):
    """Raised by RunResult.assert_passed(): the message lists the failed checks and the top
    findings with their replay commands; ``result`` is the RunResult."""

    def __init__(self, result: RunResult) -> None:
        self.result = result
        super().__init__(result.explain())


@dataclass(frozen=True, repr=False)
class RunResult(orchestration.RunResult):
    """What a run left: its verdict, summary.json, and lazy access to findings and records.

    ``passed`` is ``exit_code == 0``: every check and SLO held and no regression case still
    fails. ``summary`` is summary.json (schema in stress/report/summary.py).
    """

    @classmethod
    def from_run_dir(cls, run_dir: str | os.PathLike[str]) -> RunResult:
        """The result of a run made earlier, from its run directory's summary.json."""
        path = layout.summary(Path(run_dir))
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunDirError(
                f"{path}: missing; pass a run directory `stress run` finished, or rebuild it "
                f"with `stress report {run_dir}`"
            ) from None
        except (OSError, ValueError) as exc:
            raise RunDirError(
                f"{path}: unreadable ({exc}); rebuild it with `stress report {run_dir}`"
            ) from None
        return cls(Path(run_dir), summary, run_exit_code(bool(summary.get("passed"))))

    @property
    def passed(self) -> bool:
        return self.exit_code == PASSED

    @property
    def interrupted(self) -> bool:
        """Stopped by SIGINT (exit code 130) or SIGTERM (143)."""
        return is_interrupt(self.exit_code)

    @property
    def verdict(self) -> str:
        """One line, as the console prints it: PASSED or FAILED and why."""
        return str(self.summary.get("message") or ("PASSED" if self.passed else "FAILED"))

    @property
    def report_path(self) -> Path:
        return layout.report(self.run_dir)

    @property
    def checks(self) -> list[Check]:
        """Every check and SLO the run judged (summary.json ``checks``)."""
        fields = Check.__dataclass_fields__
        return [
            Check(**{key: value for key, value in entry.items() if key in fields})
            for entry in self.summary.get("checks", [])
        ]

    @property
    def failed_checks(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    @property
    def slo(self) -> list[SloResult]:
        """The SLO verdicts, one per (phase or family, metric)."""
        from stress.checks.slo import SloResult

        return [SloResult(**entry) for entry in self.summary.get("slo", [])]

    @cached_property
    def findings(self) -> list[Finding]:
        """Every finding of failures.jsonl, errors first, then warnings, then info."""
        from stress.rundir.read import iter_failures

        found = [
            _finding(failure, finding, self.run_dir)
            for failure in iter_failures(self.run_dir)
            for finding in failure.get("findings") or [failure]
        ]
        return sorted(found, key=lambda f: _SEVERITY_ORDER.get(f.severity, len(_SEVERITY_ORDER)))

    def records(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The records (one row per request; columns in ARCHITECTURE.md) as a DataFrame."""
        from stress.record import SCHEMA
        from stress.rundir.read import load_records

        return load_records(self.run_dir, list(columns) if columns else SCHEMA.names)

    def assert_passed(self) -> RunResult:
        """Raise RunFailed (an AssertionError) unless the run passed; returns the result."""
        if not self.passed:
            raise RunFailed(self)
        return self

    def explain(self, *, max_findings: int = SHOWN_FINDINGS) -> str:
        """The verdict, failed checks, still-failing regressions and the first findings that
        fail the run (one per input), each with its replay command; then the report's path."""
        name = self.summary.get("scenario", self.run_dir.name)
        lines = [f"stress run {name!r} exit {self.exit_code}: {self.verdict}"]
        failed = self.failed_checks
        if failed:
            lines.append("failed checks:")
            lines += [f"  {check}" for check in failed]
        still = [row for row in self.regressions if row.get("verdict") == "still fails"]
        if still:
            lines.append("regression cases that still fail:")
            lines += [f"  {row.get('input_id')}: {row.get('now')}" for row in still]
        fail_on = set(self.summary.get("fail_on") or ["error"])
        failing = [f for f in self.findings if f.severity in fail_on] or self.findings
        first = list({f.input_id: f for f in reversed(failing)}.values())[::-1]
        if first:
            lines.append(
                f"findings: {len(failing)} on {len(first)} input(s); "
                f"the first {min(max_findings, len(first))}:"
            )
            lines += [f"  {finding}" for finding in first[:max_findings]]
        lines.append(f"report: {self.report_path}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        state = "interrupted" if self.interrupted else ("passed" if self.passed else "FAILED")
        failed = ", ".join(dict.fromkeys(check.name for check in self.failed_checks))
        reasons = f", failed: {failed}" if failed else ""
        return (
            f"<RunResult {state} exit_code={self.exit_code}{reasons}, "
            f"run_dir={str(self.run_dir)!r}>"
        )


def _finding(failure: Mapping[str, Any], finding: Mapping[str, Any], run_dir: Path) -> Finding:
    input_id = str(failure.get("input_id"))
    status = (failure.get("response") or {}).get("status")
    return Finding(
        check=str(finding.get("check")),
        severity=str(finding.get("severity", "error")),
        message=str(finding.get("message", "")),
        input_id=input_id,
        family=str(failure.get("family")),
        expect=failure.get("expect"),
        phase=failure.get("phase"),
        status=status if isinstance(status, int) else None,
        expected=finding.get("expected"),
        got=finding.get("got"),
        replay=f"stress replay {shlex.quote(str(run_dir))} --id {shlex.quote(input_id)}",
    )


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _progress() -> orchestration.EventHandler:
    from stress.console import RunConsole

    return RunConsole(_stderr())
