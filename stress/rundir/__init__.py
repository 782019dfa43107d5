"""The run directory, owned in one place: ``layout`` names every file in it, ``write``
writes them (whole files atomically) and ``read`` reads them for the report, the load
process (traces.json) and the repro tools. Nothing else in stress/ builds a run-directory
path from a literal (tests/unit/rundir/test_layout.py holds it so).

The package itself imports nothing, and ``layout`` and ``write`` import nothing of ours but
``layout``, so stress.record, the CLI and the load process use them without pandas or the
scenario model. ``from stress.rundir import iter_failures`` (the readers' old home) still
works: the names of ``read`` are looked up there on first use.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__") or name in {"layout", "write", "read"}:
        raise AttributeError(f"module 'stress.rundir' has no attribute {name!r}")
    read = importlib.import_module("stress.rundir.read")
    try:
        return getattr(read, name)
    except AttributeError:
        raise AttributeError(f"module 'stress.rundir' has no attribute {name!r}") from None
