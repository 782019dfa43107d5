"""Runaway protection: every run has a hard maximum duration and request count, on by default,
visible in the run's scenario.yaml, and really enforced by the load process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from stress.demo.noop import NoopServer
from stress.record import read_records
from tests.integration.conftest import stress

pytestmark = pytest.mark.slow

SCENARIO = """\
name: runaway
target: {{url: "{url}", protocol: openai-chat, timeout: 5s, max_tokens: 8}}
inputs: {{seed: 5, count: 40, families: {{realistic.chat_prompt: 1}}}}
load:
  phases:
    - {{name: load, users: 4, spawn_rate: 100, duration: {duration}}}
{limits}degradation: {{enabled: false}}
slo: {{error_rate: 1%}}
"""


@pytest.fixture
def noop(tmp_path: Path) -> Iterator[NoopServer]:
    with NoopServer(delay_ms=5, log_path=tmp_path / "noop.log") as server:
        yield server


def write(tmp_path: Path, url: str, *, duration: str = "30s", limits: str = "") -> Path:
    path = tmp_path / "runaway.yaml"
    path.write_text(SCENARIO.format(url=url, duration=duration, limits=limits), encoding="utf-8")
    return path


def test_max_requests_stops_a_run_and_the_defaults_are_in_scenario_yaml(
    tmp_path: Path, noop: NoopServer
) -> None:
    scenario = write(tmp_path, noop.url, limits="  max_requests: 60\n")
    result = stress("run", str(scenario), "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    assert read_records(run_dir / "records").num_rows == 60
    assert json.loads((run_dir / "load.json").read_text())["stopped_by"] == (
        "load.max_requests (60) reached"
    )
    # The phase says 30 s; 60 requests to the no-op target take about 0.1 s. Measured on the
    # run's own clock (the records), so a slow start of `stress run` on a loaded machine does
    # not count: a 25 s bound is a margin of more than 100x.
    sent = read_records(run_dir / "records", columns=["sent_at"]).to_pandas()["sent_at"]
    assert sent.max() - sent.min() < 25
    resolved = yaml.safe_load((run_dir / "scenario.yaml").read_text())
    # The scenario did not mention max_duration: the default guard is there, visible.
    assert resolved["load"]["max_duration"] == "30m"
    assert resolved["load"]["max_requests"] == 60


def test_max_duration_stops_the_load_process_whatever_the_phases_say(
    tmp_path: Path, noop: NoopServer
) -> None:
    # `stress run` refuses phases longer than max_duration (a scenario error); the load
    # process must still hold the line on its own if handed such a run directory.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    scenario = write(tmp_path, noop.url, duration="10m", limits="  max_duration: 20m\n")
    generated = stress("generate", str(scenario), "-o", str(run_dir / "corpus.jsonl"), cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr
    scenario = write(tmp_path, noop.url, duration="10m", limits="  max_duration: 2s\n")
    refused = stress("validate", str(scenario), cwd=tmp_path)
    assert refused.returncode == 2
    assert "load.max_duration: the phases last 10m but max_duration is 2s" in refused.stderr
    (run_dir / "scenario.yaml").write_text(scenario.read_text(), encoding="utf-8")
    began = time.monotonic()
    load = subprocess.run(
        [sys.executable, "-m", "stress.load", str(run_dir), noop.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - began
    assert load.returncode == 0, load.stderr
    assert json.loads((run_dir / "load.json").read_text())["stopped_by"] == (
        "load.max_duration reached"
    )
    assert '"event": "limit", "reason": "load.max_duration reached"' in load.stdout
    assert read_records(run_dir / "records").num_rows > 0
    # 2 s of load, not 10 minutes: on the run's own clock (the records), with a 15x margin
    # for a loaded machine; what this guards against is a 600 s phase.
    sent = read_records(run_dir / "records", columns=["sent_at"]).to_pandas()["sent_at"]
    assert sent.max() - sent.min() < 30, took
