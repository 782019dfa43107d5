"""Suite-wide test settings: Hypothesis profiles, and no silent skips in CI.

Hypothesis profiles (docs/testing.md):

- ``ci``: derandomized (the examples are a function of the test alone), no example database,
  and the failing example printed as a reproduction blob, so a red CI run is red again on
  any machine. Chosen when the ``CI`` environment variable is set (``.ci/run`` sets it).
- ``dev``: random examples, Hypothesis's defaults; chosen otherwise. A failure it finds is
  pinned with ``@example(...)`` on the test, so CI runs it from then on.
- ``nightly``: random and five times as many examples.

``HYPOTHESIS_PROFILE=NAME`` chooses a profile explicitly.

Skips: with ``CI`` set (or ``STRESS_NO_SKIPS=1``), a test skipped for a reason that is not
listed in tests/skips-allowed.txt fails the session, so a test that quietly stopped running
(a missing tool, root privileges) is noticed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Each from Hypothesis's own defaults, not from whichever profile is loaded when this runs.
DEFAULT = settings.get_profile("default")
settings.register_profile("ci", DEFAULT, derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", DEFAULT, print_blob=True)
settings.register_profile("nightly", DEFAULT, max_examples=500, print_blob=True)


def profile_name(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """The Hypothesis profile for this environment: HYPOTHESIS_PROFILE, else ci under CI."""
    chosen = environ.get("HYPOTHESIS_PROFILE")
    if chosen:
        return chosen
    return "ci" if _truthy(environ.get("CI", "")) else "dev"


def _truthy(value: str) -> bool:
    return value.strip().lower() not in ("", "0", "false", "no")


settings.load_profile(profile_name())

ALLOWED_SKIPS = Path(__file__).parent / "skips-allowed.txt"
_skipped: list[tuple[str, str]] = []


def allowed_skip_reasons(path: Path = ALLOWED_SKIPS) -> list[str]:
    """The allowed skip reasons: one a line (a prefix of the reason), # comments ignored."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def unlisted_skips(skipped: list[tuple[str, str]], allowed: list[str]) -> list[tuple[str, str]]:
    """The (test, reason) pairs whose reason starts with none of ``allowed``."""
    return [(test, why) for test, why in skipped if not any(why.startswith(a) for a in allowed)]


def _strict_skips() -> bool:
    return _truthy(os.environ.get("CI", "")) or _truthy(os.environ.get("STRESS_NO_SKIPS", ""))


def pytest_report_header(config: pytest.Config) -> str:
    strict = "skips outside tests/skips-allowed.txt fail" if _strict_skips() else "skips allowed"
    return f"hypothesis profile: {settings.get_current_profile_name()}; {strict}"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        _skipped.append((report.nodeid, reason))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _strict_skips():
        return
    unlisted = unlisted_skips(_skipped, allowed_skip_reasons())
    if unlisted:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "skips not listed in tests/skips-allowed.txt", red=True)
            for test, why in unlisted:
                reporter.write_line(f"{test}: {why}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
