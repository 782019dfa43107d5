"""A production-like run from a log: `stress run` with inputs.from_log against the bundled
demo server, then every byte of the run directory searched for the fixture's personal data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.integration.conftest import stress

pytestmark = pytest.mark.slow

LOGS = Path(__file__).parents[1] / "fixtures" / "logs"
PII = [line for line in (LOGS / "pii.txt").read_text(encoding="utf-8").splitlines() if line]

SCENARIO = """\
name: logged
target: {url: builtin:demo, protocol: openai-chat, timeout: 10s, max_tokens: 16}
inputs:
  seed: 21
  count: 60
  from_log:
    path: logs/chat.jsonl
    scrub:
      patterns: [{name: employee_id, regex: "EMP-\\\\d{6}"}]
  counts: {realistic.logged: 14}       # every logged request twice
  families: {realistic.*: 3, perturbation.*: 1, unicode.*: 0.3, structure.*: 0.3}
load:
  phases:
    - {name: baseline, users: 1, spawn_rate: 1, duration: 1s}
    - {name: load, users: 3, spawn_rate: 3, duration: 2s}
"""


def forms(value: str) -> list[bytes]:
    """The ways ``value`` can be stored: UTF-8, and JSON-escaped (ASCII corpus lines)."""
    escaped = json.dumps(value)[1:-1]
    return list(dict.fromkeys([value.encode("utf-8"), escaped.encode("ascii")]))


def searchable(path: Path) -> bytes:
    """A file's bytes; for Parquet also its decoded rows (compressed pages hide strings)."""
    data = path.read_bytes()
    if path.suffix == ".parquet":
        rows = pq.read_table(path).to_pylist()
        data += json.dumps(rows, default=str, ensure_ascii=False).encode("utf-8")
        data += json.dumps(rows, default=str).encode("ascii")
    return data


def test_a_run_from_a_log_sends_the_logged_requests_and_writes_no_personal_data(
    tmp_path: Path,
) -> None:
    (tmp_path / "logs").mkdir()
    shutil.copy(LOGS / "chat.jsonl", tmp_path / "logs" / "chat.jsonl")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    result = stress("run", str(scenario), "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr  # the demo server has deliberate bugs
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    assert (run_dir / "records").is_dir()
    assert list((run_dir / "records").glob("*.parquet"))

    # No original value in any file, nor in what the console printed.
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert len(files) >= 10
    leaks = [
        (str(path.relative_to(run_dir)), value)
        for path in files
        for value in PII
        if any(form in searchable(path) for form in forms(value))
    ]
    assert leaks == []
    console = (result.stdout + result.stderr).encode("utf-8")
    assert [v for v in PII if v.encode() in console] == []

    # The realistic inputs are the logged requests, scrubbed, each sent at least once.
    corpus = [json.loads(line) for line in (run_dir / "corpus.jsonl").read_text().splitlines()]
    realistic = [item for item in corpus if item["family"].startswith("realistic.")]
    assert {item["family"] for item in realistic} == {"realistic.logged"}
    assert {item["payload"]["log_line"] for item in realistic} == {1, 2, 3, 5, 6, 7, 8}
    assert {"role": "user", "content": "What is your return policy for shoes?"} in [
        message for item in realistic for message in item["payload"]["messages"]
    ]
    records = pq.read_table(run_dir / "records").to_pylist()
    sent = {row["input_id"] for row in records}
    assert any(item["id"] in sent for item in realistic)

    # What was scrubbed is reported in logs.json, summary.json, the report and the console.
    report = json.loads((run_dir / "logs.json").read_text())
    assert report["used"] == 7
    assert report["skipped"] == {"a message has a tool or unknown role (not supported)": 1}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["from_log"]["scrubbed"] == report["scrubbed"]
    assert report["scrubbed"]["employee_id"] == 1
    assert report["scrubbed"]["card"] == 2
    assert "logged requests" in (run_dir / "report.html").read_text(encoding="utf-8")
    assert "7 of 8 logged requests used" in result.stderr + result.stdout
