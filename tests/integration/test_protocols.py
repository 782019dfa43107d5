"""Every example scenario in scenarios/ runs, through the CLI, against a local server of its
protocol (tests/integration/model_server.py) and produces a report.

The examples keep their targets, inputs and SLOs; only the URL, the phase lengths and the
corpus size are cut down so that each run takes a few seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from stress.record import read_records
from tests.integration.conftest import ROOT, ModelServer, stress

pytestmark = pytest.mark.slow

PROTOCOLS = [
    "openai-chat",
    "openai-completions",
    "openai-embeddings",
    "kserve-v2",
    "kserve-v1",
    "mlflow",
    "http-json",
]
STREAMING = {"openai-chat", "openai-completions"}
API_KEY = "test-key-0123456789"


def shortened(example: dict[str, Any], url: str, path: Path) -> Path:
    """The example with its URL replaced and its phases cut to 1 s and 2 s."""
    example["target"]["url"] = url
    example["inputs"]["count"] = 80
    phases = example["load"]["phases"]
    example["load"]["phases"] = [
        {"name": phases[0]["name"], "users": 1, "spawn_rate": 1, "duration": "1s"},
        {"name": phases[-1]["name"], "users": 3, "spawn_rate": 3, "duration": "2s"},
    ]
    path.write_text(yaml.safe_dump(example), encoding="utf-8")
    return path


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_example_scenario_runs_against_its_kind_of_server(
    tmp_path: Path, model_server: Callable[..., ModelServer], protocol: str
) -> None:
    example = yaml.safe_load((ROOT / "scenarios" / f"{protocol}.yaml").read_text())
    assert example["target"]["protocol"] == protocol
    server = model_server("--model", example["target"].get("model", "tiny"), "--api-key", API_KEY)
    scenario = shortened(example, server.url, tmp_path / f"{protocol}.yaml")
    # Every example that needs a key names it as ${OPENAI_API_KEY}; the others get it in a
    # query parameter here, so each run also proves that secrets reach the server.
    if "headers" not in example["target"]:
        example["target"]["params"] = {"key": "${OPENAI_API_KEY}"}
        shortened(example, server.url, scenario)

    result = stress(
        "run",
        str(scenario),
        "--out",
        str(tmp_path / "reports"),
        cwd=tmp_path,
        env={"OPENAI_API_KEY": API_KEY},
    )

    assert result.returncode == 0, result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    for name in ("summary.json", "report.html", "junit.xml", "records"):
        assert (run_dir / name).exists(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["passed"] is True
    assert summary["protocol"] == protocol
    records = read_records(run_dir / "records").to_pandas()
    answered = records[(records["status"] == 200) & (records["family"].str.startswith("realistic"))]
    assert len(answered) >= 5
    assert answered["ok"].all()
    assert answered["output_digest"].notna().all()
    assert set(records.loc[records["expect"] == "reject", "status"]) <= set(range(400, 500)) | {200}

    streaming = example["target"].get("stream", False)
    if streaming:
        assert answered["ttft_ms"].notna().all()
        assert answered["itl_ms"].notna().all()
        assert (answered["tokens_estimated"] == False).all()  # noqa: E712 - usage was reported
        assert (answered["content_events"] == answered["output_tokens"]).all()
    else:
        assert answered["ttft_ms"].isna().all()

    # The server saw every request (preflight and load) with the key, and every load request
    # named its input.
    corpus = {
        json.loads(line)["id"] for line in (run_dir / "corpus.jsonl").read_text().splitlines()
    }
    seen = server.requests()
    loaded = [request for request in seen if request["input_id"] is not None]
    assert len(loaded) >= len(records)
    assert {request["input_id"] for request in loaded} <= corpus
    assert API_KEY not in (run_dir / "scenario.yaml").read_text()
