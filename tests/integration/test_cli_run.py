"""End to end through the CLI: real Locust load against local servers, short phases.

Exit codes: 0 healthy demo target, 1 a target that answers 500, 2 broken scenario, 3 closed
port. The run directory holds every artifact of the contract, and replay is byte-exact.
"""

from __future__ import annotations

import base64
import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from stress.record import read_records
from tests.integration.conftest import FakeServer, free_port, stress

pytestmark = pytest.mark.slow

HEALTHY = """\
name: healthy
target: {{url: "{url}", protocol: openai-chat, timeout: 10s, max_tokens: 16}}
inputs:
  seed: 7
  count: 40
  families: {{realistic.chat_prompt: 1}}
load:
  phases:
    - {{name: baseline, users: 1, spawn_rate: 1, duration: 2s}}
    - {{name: load, users: 4, spawn_rate: 4, duration: 3s}}
slo: {{error_rate: 0%, p95_ms: 5000}}
"""

ERRORS = """\
name: errors
target: {{url: "{url}", protocol: openai-chat, timeout: 5s}}
inputs:
  seed: 3
  count: 20
  families: {{realistic.chat_prompt: 1, encoding.invalid_utf8: 1}}
load:
  phases:
    - {{name: baseline, users: 1, spawn_rate: 1, duration: 1s}}
    - {{name: load, users: 2, spawn_rate: 2, duration: 2s}}
"""


def scenario(tmp_path: Path, template: str, url: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(template.format(url=url), encoding="utf-8")
    return path


def run_dir_of(stdout: str) -> Path:
    return Path(stdout.strip().splitlines()[-1])


def test_healthy_demo_run_passes_and_writes_the_run_directory(tmp_path: Path) -> None:
    result = stress(
        "run",
        str(scenario(tmp_path, HEALTHY, "builtin:demo")),
        "--out",
        str(tmp_path / "reports"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    run_dir = run_dir_of(result.stdout)
    assert run_dir.parent == tmp_path / "reports"
    assert run_dir.name.startswith("healthy-")
    for name in (
        "scenario.yaml",
        "corpus.jsonl",
        "failures.jsonl",
        "summary.json",
        "report.html",
        "junit.xml",
        "run.json",
    ):
        assert (run_dir / name).is_file(), name
    records = read_records(run_dir / "records").to_pandas()
    assert len(records) > 20
    assert set(records["phase"]) == {"baseline", "load"}
    assert records["ok"].all()
    assert (records["status"] == 200).all()
    assert records.loc[records["phase"] == "baseline", "users"].max() == 1
    assert records.loc[records["phase"] == "load", "users"].max() == 4
    assert records["output_digest"].notna().all()
    corpus_ids = {
        json.loads(line)["id"] for line in (run_dir / "corpus.jsonl").read_text().splitlines()
    }
    assert set(records["input_id"]) <= corpus_ids
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["passed"] is True
    assert [phase["name"] for phase in summary["phases"]] == ["baseline", "load"]
    assert summary["totals"]["requests"] == len(records)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["complete"] is True
    ET.parse(run_dir / "junit.xml")
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "<script src=" not in html
    assert "PASSED" in html
    # The demo server the run started is gone: nothing answers on its port any more.
    assert "demo-server.log" in {p.name for p in run_dir.iterdir()}


def test_server_errors_fail_the_run_and_replay_is_byte_exact(
    tmp_path: Path, error_server: FakeServer
) -> None:
    result = stress(
        "run",
        str(scenario(tmp_path, ERRORS, error_server.url)),
        "--out",
        str(tmp_path / "reports"),
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    run_dir = run_dir_of(result.stdout)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["passed"] is False
    failed = {check["name"] for check in summary["checks"] if not check["passed"]}
    assert "not_a_server_error" in failed
    failures = [json.loads(line) for line in (run_dir / "failures.jsonl").read_text().splitlines()]
    assert failures
    assert all(f["response"]["status"] == 500 for f in failures)
    assert any("body_b64" in f["request"] for f in failures)  # invalid UTF-8 kept as bytes

    for body_file in error_server.bodies.iterdir():
        body_file.unlink()
    target = next(f for f in failures if "body_b64" in f["request"])
    replayed = stress(
        "replay",
        str(run_dir),
        "--id",
        target["input_id"],
        "--target",
        error_server.url,
        cwd=tmp_path,
    )
    assert replayed.returncode == 1, replayed.stderr  # still fails
    assert "still fails" in replayed.stderr
    sent = base64.b64decode(target["request"]["body_b64"])
    assert [p.name for p in error_server.bodies.iterdir()] == [
        f"{hashlib.sha256(sent).hexdigest()}.bin"
    ]
    assert (error_server.bodies / f"{hashlib.sha256(sent).hexdigest()}.bin").read_bytes() == sent

    everything = stress(
        "replay", str(run_dir), "--failed", "--target", error_server.url, cwd=tmp_path
    )
    assert everything.returncode == 1
    assert f"{len(failures)} of {len(failures)} still fail" in everything.stderr


def test_broken_scenario_exits_2_with_the_key_named(tmp_path: Path) -> None:
    path = scenario(tmp_path, HEALTHY.replace("users: 4", "users: -4"), "builtin:demo")
    result = stress("run", str(path), "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode == 2
    assert "load.phases[1].users: expected a positive integer, got -4" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "reports").exists()  # nothing is written for a broken scenario


def test_closed_port_exits_3_before_load(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = stress(
        "run",
        str(scenario(tmp_path, HEALTHY, url)),
        "--out",
        str(tmp_path / "reports"),
        cwd=tmp_path,
    )
    assert result.returncode == 3, result.stderr
    assert f"cannot reach {url}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "missing.yaml"], 2, "missing.yaml: file not found"),
        (["run"], 2, "Missing argument 'SCENARIO'"),
        (["replay", "nowhere"], 2, "nowhere: no such run directory"),
        (["report", "nowhere"], 2, "nowhere"),
        (["validate", "scenarios/demo.yaml"], 0, "ok"),
        (["frobnicate"], 2, "No such command"),
    ],
)
def test_cli_usage(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    root = Path(__file__).resolve().parents[2]
    result = stress(*args, cwd=root if "scenarios/demo.yaml" in args else tmp_path)
    assert result.returncode == code, result.stderr
    assert message in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
