"""How to invoke this stress again: the commands stress prints for a person to run next
("stress replay RUN_DIR --id ...") start with the program that is running now.

`stress` is printed only when `stress` on PATH is the running program. Otherwise (a virtual
environment not activated, e.g. `.venv/bin/stress` after `make demo`; Debian's own `stress`
first on PATH) the running program's path is printed, and `python -m stress` (or the path of
the interpreter) when stress runs as a module. Every word is quoted for a POSIX shell, so a
path with spaces runs as printed. Imports nothing of ours: console.py, cli_inputs.py and the
repro messages use it.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

# The console scripts pyproject.toml installs; both run stress.cli:main.
ENTRY_POINTS = ("stress", "model-stress")
# sys.argv[0] of `python -m stress` and `python -m stress.cli`: the module's file.
_MODULE_FILES = ("__main__.py", "cli.py")


def command(*words: str | os.PathLike[str]) -> str:
    """``words`` as a command line a POSIX shell runs as printed: the running program, then
    each word quoted where it needs to be (``command("replay", run_dir, "--id", input_id)``).

    The result is plain text: print it with rich's ``markup=False`` or escape it.
    """
    return " ".join([program(), *(shlex.quote(os.fspath(word)) for word in words)])


@functools.cache
def program() -> str:
    """The running stress as a shell would spell it (derived once per process)."""
    return program_for(sys.argv[0], sys.executable, shutil.which)


def name() -> str:
    """The command name the running program was installed as (``stress`` or ``model-stress``),
    for click's usage lines and the shell completion variable; ``stress`` otherwise."""
    base = Path(sys.argv[0]).name.removesuffix(".exe")
    return base if base in ENTRY_POINTS else "stress"


def program_for(argv0: str, executable: str, which: Callable[[str], str | None]) -> str:
    """``program()`` for a given ``sys.argv[0]``, ``sys.executable`` and PATH lookup.

    | argv0                                  | printed                                     |
    |----------------------------------------|---------------------------------------------|
    | a console script that PATH finds       | its name: ``stress`` / ``model-stress``     |
    | a console script PATH does not find    | its absolute path, quoted                   |
    | .../stress/__main__.py or cli.py (-m)  | ``python -m stress`` (the interpreter's path |
    |                                        | if ``python`` on PATH is another one)       |
    | anything else (pytest, the Python API) | ``stress``                                  |
    """
    path = Path(argv0)
    if path.parent.name == "stress" and path.name in _MODULE_FILES:
        found = which("python")
        # Not resolved through symlinks: a virtual environment's python is a symlink to the
        # system's, but only the environment's has stress installed.
        python = "python" if found and _absolute(found) == _absolute(executable) else executable
        return f"{shlex.quote(python)} -m stress"
    base = path.name.removesuffix(".exe")
    if base not in ENTRY_POINTS or not argv0:
        return "stress"
    found = which(base)
    if found and _same_file(found, argv0):
        return base
    return shlex.quote(_absolute(argv0))


def _absolute(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


def _same_file(one: str, other: str) -> bool:
    """Whether two paths name one program (a symlink to it, as pipx installs, is the same)."""
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False
