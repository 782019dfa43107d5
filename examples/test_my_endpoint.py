"""A team's stress test of its endpoint, run by pytest with stress's plugin (docs/python-api.md).

    pytest examples/test_my_endpoint.py                       # run dirs under pytest's tmp
    pytest examples/test_my_endpoint.py --stress-out reports  # keep them in reports/

Replace the ``endpoint`` fixture with one that starts your server (or returns its URL); here
it is the bundled demo model server with its deliberate bugs fixed (``quirks=False``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

# A short scenario: realistic prompts and prompts holding NUL characters, two short phases.
# A path to a scenario file works the same way: stress_run("scenarios/smoke.yaml", ...).
SMOKE: dict[str, Any] = {
    "name": "smoke",
    "target": {"url": "builtin:demo", "protocol": "openai-chat", "timeout": "5s"},
    "inputs": {
        "seed": 7,
        "count": 24,
        "families": {"realistic.chat_prompt": 1, "unicode.null_bytes": 1},
    },
    "load": {
        "phases": [
            {"name": "baseline", "users": 1, "duration": "1s"},
            {"name": "load", "users": 2, "duration": "1s"},
        ]
    },
    "slo": {"error_rate": "80%", "p95_ms": 5000},
    "flakiness": {"retries": 0},  # no re-sends of failing inputs: a quicker test
}


@pytest.fixture
def endpoint(stress_demo_server: Callable[..., Any]) -> str:
    """Base URL of the endpoint under test."""
    return str(stress_demo_server(quirks=False).url)


def test_endpoint_survives_messy_inputs(stress_run: Callable[..., Any], endpoint: str) -> None:
    result = stress_run(SMOKE, target=endpoint)
    # Fails the test listing the failed checks, the first findings and their replay commands.
    result.assert_passed()
    # The records are a DataFrame, one row per request, for any assertion of your own.
    records = result.records(["family", "status"])
    assert set(records[records["family"] == "unicode.null_bytes"]["status"]) == {400}
