"""Overrides: one way to change a loaded scenario, for the command line and the Python API.

``Overrides.keys`` set scenario keys by path (stress.overrides: ``{"load.phases[0].users":
4}``); then the flags apply as ``stress run``'s flags do (``duration``, ``users`` and ``rate``
change the last phase). ``spelling`` says how a message names a flag: ``--users`` on the
command line, ``users=`` in the Python API, so each caller's errors name what it was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from stress import overrides as key_paths
from stress.errors import UsageError
from stress.scenario.load import PhaseKind
from stress.scenario.loading import Catalog, from_dict
from stress.scenario.messages import problems_of
from stress.scenario.model import Scenario
from stress.scenario.values import parse_duration

Spelling = Literal["cli", "api"]


@dataclass(frozen=True)
class Overrides:
    """What a caller changes in a scenario: key paths, then the ``stress run`` flags."""

    keys: Mapping[str, Any] = field(default_factory=dict)
    target: str | None = None
    duration: str | float | None = None
    users: int | None = None
    rate: float | None = None
    seed: int | None = None
    count: int | None = None
    regressions: str | None = None
    spelling: Spelling = "cli"

    def flag(self, name: str) -> str:
        """How a message names flag ``name``: ``--name`` or ``name=``."""
        return f"--{name}" if self.spelling == "cli" else f"{name}="

    def apply(self, scenario: Scenario, *, known: Catalog | None = None) -> Scenario:
        """``scenario`` with the key paths set (validated again against ``known``, the
        source named ``overrides``), then the flags; raises ScenarioError or UsageError."""
        if self.keys:
            data = key_paths.apply(scenario.model_dump(mode="json"), self.keys)
            scenario = from_dict(data, source=key_paths.SOURCE, known=known)
        return _with_flags(scenario, self)


def with_overrides(
    scenario: Scenario,
    *,
    target: str | None = None,
    duration: str | None = None,
    users: int | None = None,
    seed: int | None = None,
    count: int | None = None,
    regressions: str | None = None,
    rate: float | None = None,
) -> Scenario:
    """A copy with command-line overrides applied; raises UsageError naming the flag.

    ``duration``, ``users`` and ``rate`` apply to the last (main load) phase; earlier phases,
    such as the low-concurrency baseline, stay as the scenario says.
    """
    flags = Overrides(
        target=target,
        duration=duration,
        users=users,
        seed=seed,
        count=count,
        regressions=regressions,
        rate=rate,
    )
    return _with_flags(scenario, flags)


def _with_flags(scenario: Scenario, flags: Overrides) -> Scenario:
    target, duration, users, seed = flags.target, flags.duration, flags.users, flags.seed
    count, regressions, rate = flags.count, flags.regressions, flags.rate
    flag = flags.flag
    data = scenario.model_dump(mode="json")
    phases = data["load"]["phases"]
    last = scenario.load.phases[-1]
    if last.kind is PhaseKind.TRACE and (users is not None or rate is not None):
        name = "users" if users is not None else "rate"
        raise UsageError(
            f"{flag(name)}: the last phase {last.name!r} replays a trace, whose log sets when each "
            f"request is due; change its speed in the scenario instead"
        )
    if users is not None and last.open_loop:
        raise UsageError(
            f"{flag('users')}: the last phase {last.name!r} is open-loop (rate: {last.rate:g}); "
            f"pass {flag('rate')} instead"
        )
    if rate is not None and not last.open_loop:
        raise UsageError(
            f"{flag('rate')}: the last phase {last.name!r} is closed-loop (users: {last.users}); "
            f"pass {flag('users')} instead"
        )
    if rate is not None:
        if not rate > 0 or rate == float("inf"):
            raise UsageError(
                f"{flag('rate')}: expected a positive number of requests/s, got {rate}"
            )
        phases[-1]["rate"] = rate
    if target is not None:
        data["target"]["url"] = target
    if duration is not None:
        try:
            phases[-1]["duration"] = parse_duration(duration)
        except ValueError as exc:
            raise UsageError(f"{flag('duration')}: {exc}") from None
        # A stepped phase divides the new duration into its steps.
        phases[-1].pop("step_duration", None)
        # An explicit --duration is a deliberate choice: lift the runaway guard to fit it.
        total = sum(parse_duration(phase["duration"]) for phase in phases)
        data["load"]["max_duration"] = max(parse_duration(data["load"]["max_duration"]), total)
    if users is not None:
        if users <= 0:
            raise UsageError(f"{flag('users')}: expected a positive integer, got {users}")
        phases[-1]["users"] = users
    if seed is not None:
        if seed < 0:
            raise UsageError(f"{flag('seed')}: expected a non-negative integer, got {seed}")
        data["inputs"]["seed"] = seed
    if count is not None:
        if count <= 0:
            raise UsageError(f"{flag('count')}: expected a positive integer, got {count}")
        data["inputs"]["count"] = count
    if regressions is not None:
        data["regressions"] = str(regressions)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [
            line.replace("command line: target.url:", f"{flag('target')}:")
            for line in problems_of(exc, "command line", {}, model=Scenario)
        ]
        raise UsageError("\n".join(problems)) from None
