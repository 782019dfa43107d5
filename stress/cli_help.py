"""`stress --help`: the commands in groups by what a person is doing, and a few examples.

A click Group that lists its commands under headings instead of one alphabetical list. A
command in no group is listed under "other commands", so a new command is never hidden
(tests/unit/test_cli_help.py asserts that every command has a group).
"""

from __future__ import annotations

import click

# Heading, then the commands under it in the order a person meets them.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Run", ("run", "demo", "worker")),
    ("Investigate a run", ("report", "replay", "repro", "shrink", "prune")),
    ("Compare runs", ("compare", "history")),
    ("Set up", ("init", "validate", "generate", "families", "checks", "demo-server", "bench")),
)

# \b keeps click from re-wrapping the paragraph that follows it.
EXAMPLES = """\
\b
Examples:
  stress demo --duration 10s                  the demo scenario against the bundled server
  stress init http://127.0.0.1:8000           write a scenario for your endpoint
  stress run scenarios/demo.yaml              run it; prints the run directory last
  stress replay RUN_DIR --id ID               does a stored failure still fail?
  stress repro RUN_DIR --id ID --format curl  a command anyone can run
  stress compare BASE_RUN NEW_RUN             exit 1 on a regression

\b
Shell completion (bash; zsh and fish alike), see docs/cli.md:
  eval "$(_STRESS_COMPLETE=bash_source stress)"
"""


class GroupedHelp(click.Group):
    """A click Group whose help lists its commands under the headings of GROUPS."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Commands in GROUPS order, then any other ones alphabetically."""
        known = [name for _, names in GROUPS for name in names if name in self.commands]
        return known + sorted(set(self.commands) - set(known))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        grouped = {name for _, names in GROUPS for name in names}
        sections = [*GROUPS, ("Other commands", tuple(sorted(set(self.commands) - grouped)))]
        visible = [
            (title, [n for n in names if n in self.commands and not self.commands[n].hidden])
            for title, names in sections
        ]
        # One column width for every heading, so the descriptions line up across them.
        width = max((len(name) for _, names in visible for name in names), default=0)
        limit = formatter.width - 6 - width
        for title, names in visible:
            if names:
                with formatter.section(title):
                    formatter.write_dl(
                        [
                            (n.ljust(width), self.commands[n].get_short_help_str(limit))
                            for n in names
                        ]
                    )
