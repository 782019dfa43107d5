"""stress: a synthetic load and messy-input stress tester for model endpoints.

The Python API (stress.api, docs/python-api.md)::

    import stress

    result = stress.run("scenarios/demo.yaml", target="http://127.0.0.1:8000", duration="5s")
    result.assert_passed()      # raises RunFailed listing the top findings

Importing this package has no side effects and stays cheap: the API is imported on first use,
and Locust (which monkey-patches the process with gevent) is never imported here or by the
API; only the load process, a child process, imports it.
"""

from __future__ import annotations

import importlib
from typing import Any

from stress.errors import RunDirError, ScenarioError, StressError, TargetUnreachable, UsageError

__version__ = "0.1.0"

__all__ = [
    "Finding",
    "RunDirError",
    "RunFailed",
    "RunResult",
    "ScenarioError",
    "StressError",
    "TargetUnreachable",
    "UsageError",
    "run",
    "validate",
]

# Names served by stress.api, imported when first asked for (pydantic, pandas: not at import).
_API = ("Finding", "RunFailed", "RunResult", "run", "validate")


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module("stress.api"), name)
    raise AttributeError(f"module 'stress' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
