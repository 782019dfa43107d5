"""Locust (and gevent's monkey-patching) stays quarantined in the load process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import sys
import {module}
bad = sorted(m for m in sys.modules if m == "locust" or m.startswith("locust."))
print(",".join(bad))
"""


@pytest.mark.parametrize(
    "module",
    [
        "stress",
        "stress.cli",
        "stress.runner",
        "stress.load",
        "stress.repro.replay",
        "stress.repro.shrink",
        "stress.repro.export",
        "stress.repro.regressions",
        "stress.targets",
        "stress.inputs.corpus",
        "stress.checks.request",
        "stress.scenario",
        # The load engine's own machinery takes Locust's runners as arguments.
        "stress.load.driver",
        "stress.load.fleet",
        "stress.load.workers",
        "stress.load.traffic",
        "stress.load.pacing",
        "stress.load.phases",
        "stress.load.collect",
        "stress.load.selfwatch",
        # The load engine's pure parts, tested without Locust.
        "stress.load.plan",
        "stress.load.records",
        "stress.load.reader",
        "stress.load.failures",
        "stress.load.events",
        "stress.bodyread",
        "stress.bench",
        "stress.report",
        # The Python API and the pytest plugin run in the caller's (pytest's) process.
        "stress.api",
        "stress.pytest_plugin",
    ],
)
def test_module_does_not_import_locust(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == ""


def test_engine_imports_locust_before_project_modules() -> None:
    probe = (
        "import sys, stress.load.engine\n"
        "names = list(sys.modules)\n"
        "print(names.index('locust') < names.index('stress.scenario'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"


def test_locust_is_imported_by_one_module_of_stress_only() -> None:
    root = Path(__file__).resolve().parents[2] / "stress"
    importers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if re.search(r"^\s*(import locust|from locust[. ])", path.read_text(), re.MULTILINE)
    )
    assert importers == ["load/engine.py"]
