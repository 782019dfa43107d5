"""The two consoles every command prints through: results on stdout, progress and messages
on stderr. A room of its own so that stress.cli and stress.cli_inputs share them without
importing each other."""

from __future__ import annotations

from rich.console import Console

stdout = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
