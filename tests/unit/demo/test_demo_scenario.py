"""The demo scenario (scenarios/demo.yaml, packaged as stress/examples/demo.yaml) polls the
bundled demo server's readiness endpoint through the load (health_under_load)."""

from __future__ import annotations

import warnings
from pathlib import Path

from stress import examples
from stress.demo.server import create_app
from stress.scenario import from_path

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

DEMO = Path(__file__).resolve().parents[3] / "scenarios" / "demo.yaml"


def test_the_demo_polls_the_demo_servers_own_readiness_endpoint(tmp_path: Path) -> None:
    scenario = from_path(DEMO)
    assert scenario.health.enabled
    path = scenario.health.path
    # Not the preflight's model list, which says nothing of readiness: the server's /health.
    assert path is not None
    assert path != "/v1/models"
    with TestClient(create_app(token_ms=0)) as client:
        response = client.get(path)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    # The packaged copy `stress demo` runs says the same.
    packaged = tmp_path / "demo.yaml"
    packaged.write_text(examples.text("demo"), encoding="utf-8")
    assert from_path(packaged).health == scenario.health
