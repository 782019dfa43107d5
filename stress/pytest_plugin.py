"""pytest plugin (entry point ``stress``): run stress scenarios from a team's own tests.

    def test_endpoint_holds_up(stress_run, my_server_url):
        result = stress_run("scenarios/smoke.yaml", target=my_server_url, duration="3s")
        result.assert_passed()      # fails the test listing the findings and replay commands

Fixtures:

- ``stress_run``: ``stress.run`` with the run directories under the test's ``tmp_path``
  (``--stress-out DIR`` keeps them in DIR); a failing test's report shows each run directory.
- ``stress_demo_server``: starts the bundled demo model server (``quirks=False`` fixes its
  deliberate bugs) on a free loopback port and stops exactly that process after the test.

pytest loads this module at start-up in every session where stress is installed, so it imports
only pytest: stress itself (pydantic, pandas) is imported when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from stress.api import RunResult
    from stress.demo.process import DemoServerProcess


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stress", "stress (load and messy-input tests of model endpoints)")
    group.addoption(
        "--stress-out",
        metavar="DIR",
        default=None,
        help="Keep the run directories of the stress_run fixture in DIR (default: tmp_path).",
    )
    group.addoption(
        "--stress-progress",
        action="store_true",
        default=False,
        help="Print stress's live progress and summary for every stress_run (use with -s).",
    )


@pytest.fixture
def stress_run(request: pytest.FixtureRequest) -> Callable[..., RunResult]:
    """Run a scenario (a path, a mapping or a Scenario) with stress.run's keywords; returns
    its RunResult. ``out_dir`` defaults to ``--stress-out`` or the test's tmp_path."""
    from stress.api import run

    chosen = request.config.getoption("stress_out")
    progress = bool(request.config.getoption("stress_progress"))

    def run_scenario(scenario: Any, **options: Any) -> RunResult:
        if "out_dir" not in options:
            options["out_dir"] = (
                Path(chosen) if chosen else request.getfixturevalue("tmp_path") / "stress"
            )
        options.setdefault("progress", progress)
        result = run(scenario, **options)
        # Shown with the test's output when it fails: where to look, and the verdict.
        request.node.add_report_section(
            "call", "stress", f"{result.verdict}\nrun directory: {result.run_dir}"
        )
        return result

    return run_scenario


@pytest.fixture
def stress_demo_server(
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., DemoServerProcess]]:
    """Start the bundled demo model server: ``stress_demo_server(quirks=True, slots=4,
    token_ms=1.0)`` returns the running server (``.url``, ``.pid``); each one started is
    stopped after the test, by its PID."""
    from stress.demo.process import DemoServerProcess

    started: list[DemoServerProcess] = []

    def start(**options: Any) -> DemoServerProcess:
        log = request.getfixturevalue("tmp_path") / f"demo-server-{len(started)}.log"
        server = DemoServerProcess(log_path=log, **options)
        server.start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
