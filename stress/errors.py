"""Errors a user of stress can see, all rooted at StressError.

    StressError                 exit code 2 unless a subclass says otherwise
    ├── ScenarioError (ValueError)   a scenario file is wrong: names file, key path, value, fix
    ├── UsageError                   a command line is wrong or contradictory
    ├── RunDirError                  a run directory is missing or unreadable
    └── TargetUnreachable            the target could not be reached before load began (exit 3)

Findings about the target (a 500, a timeout, a wrong answer) are not errors: they are data
(stress.checks.Finding) and never raised.
"""

from __future__ import annotations


class StressError(Exception):
    """Root of every error stress reports to a user; ``exit_code`` is what the CLI exits with."""

    exit_code = 2


class ScenarioError(StressError, ValueError):
    """A scenario file or an override is invalid. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class UsageError(StressError):
    """The command line is wrong: a bad flag value or contradictory options."""


class RunDirError(StressError):
    """A run directory (or a file in it) is missing or unreadable."""


class TargetUnreachable(StressError):
    """Nothing answered at the target before the load began."""

    exit_code = 3
