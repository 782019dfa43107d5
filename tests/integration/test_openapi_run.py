"""A run driven by an OpenAPI document fetched from the target (openapi_server.py here).

The server implements tests/fixtures/openapi/reviews.yaml with one deliberate bug (French
reviews get a label the response schema does not allow): the run must flag exactly that, and
nothing else, since the server refuses every malformed body cleanly.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.integration.conftest import HERE, ROOT, free_port, stress

pytestmark = pytest.mark.slow

SCENARIO = """\
name: reviews
target:
  url: {url}
  protocol: http-json
  health: /api/health
  openapi: {{url: /openapi.json, operation: scoreReview}}
inputs:
  seed: 5
  count: 80
  families: {{realistic.chat_prompt: 1, realistic.schema_body: 3, structure.*: 1, numbers.*: 1}}
load:
  phases:
    - {{name: load, users: 2, duration: 2s}}
flakiness: {{retries: 1, max_inputs: 3}}
"""


@pytest.fixture
def openapi_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(HERE / "openapi_server.py"), str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(url + "/api/health", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("openapi server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_run_checks_answers_against_the_documents_response_schema(
    openapi_server: str, tmp_path: Path
) -> None:
    path = tmp_path / "reviews.yaml"
    path.write_text(SCENARIO.format(url=openapi_server))
    done = stress("run", str(path), "--out", str(tmp_path / "reports"), cwd=ROOT)
    assert done.returncode == 1, done.stderr + done.stdout
    run_dir = next((tmp_path / "reports").iterdir())
    failures = [json.loads(line) for line in (run_dir / "failures.jsonl").read_text().splitlines()]
    load = [f for f in failures if f["phase"] == "load"]
    assert load
    for failure in load:  # the deliberate bug, and nothing else
        assert failure["check"] == "response_shape", failure
        assert "'mixed' is not one of" in failure["message"]
        assert json.loads(failure["request"]["body"])["language"] == "fr"
        assert failure["request"]["path"] == "/api/score"
    resolved = yaml.safe_load((run_dir / "scenario.yaml").read_text())
    assert resolved["target"]["openapi"] is None
    assert resolved["inputs"]["body_schema"]["$defs"]["ScoreRequest"]["required"] == [
        "text",
        "language",
        "options",
    ]


def test_init_finds_the_document_and_writes_a_scenario_from_it(
    openapi_server: str, tmp_path: Path
) -> None:
    path = tmp_path / "reviews.yaml"
    made = stress(
        "init",
        openapi_server,
        "--operation",
        "scoreReview",
        "-o",
        str(path),
        "--no-input",
        cwd=ROOT,
    )
    assert made.returncode == 0, made.stderr
    assert "detected http-json (GET /openapi.json: HTTP 200)" in made.stderr
    written = yaml.safe_load(path.read_text())
    assert written["target"]["openapi"] == {"url": "/openapi.json", "operation": "scoreReview"}
    checked = stress("validate", str(path), cwd=ROOT)
    assert checked.returncode == 0, checked.stderr
