"""A run driven by an OpenAPI document fetched from the target (openapi_server.py here).

The server implements tests/fixtures/openapi/reviews.yaml with one deliberate bug (French
reviews get a label the response schema does not allow): the run must flag exactly that, and
nothing else, since the server refuses every malformed body cleanly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import ROOT, script_server, stress

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
    with script_server("openapi_server.py", health="/api/health") as url:
        yield url


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
    assert "detected http-json (" in made.stderr
    assert "GET /openapi.json: HTTP 200)" in made.stderr
    written = yaml.safe_load(path.read_text())
    assert written["target"]["openapi"] == {"url": "/openapi.json", "operation": "scoreReview"}
    checked = stress("validate", str(path), cwd=ROOT)
    assert checked.returncode == 0, checked.stderr
