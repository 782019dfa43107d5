"""Secrets never reach an artifact: an Authorization header, a custom header and an API-key
query parameter, all ${ENV_VAR}s, sent to a server that echoes them back in its answers, its
headers and its error pages. After a run, a second run, replay, repro (curl, python, pytest),
shrink, report, compare and history, every file under the run directories and the exports,
and everything printed, is searched for the values; the Parquet records are also decoded
(their pages are compressed, so a byte search alone would prove nothing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import pyarrow.parquet as pq
import pytest

from stress.repro.oracle import STANDALONE_CHECKS
from tests.integration.conftest import HERE, free_port, stress, wait_until_up

pytestmark = pytest.mark.slow

SECRETS = {
    "STRESS_SECRET_TOKEN": "tok-9f8e7d6c5b4a-SECRET",
    "STRESS_SECRET_CUSTOM": "cus-1a2b3c4d5e6f-SECRET",
    # "/", "+" and "=" are URL-encoded in the query: the encoded form must not leak either.
    "STRESS_SECRET_KEY": "key-0a9b/8c7d+6e5f=SECRET==",
}

SCENARIO = """\
name: secrets
target:
  url: "{url}"
  protocol: openai-chat
  model: tiny
  timeout: 5s
  max_tokens: 8
  headers:
    Authorization: "Bearer ${{STRESS_SECRET_TOKEN}}"
    X-Custom-Secret: "${{STRESS_SECRET_CUSTOM}}"
  params: {{api_key: "${{STRESS_SECRET_KEY}}"}}
inputs:
  seed: 3
  count: 30
  families: {{realistic.chat_prompt: 3, encoding.truncated_json: 1, encoding.invalid_utf8: 1}}
load:
  phases:
    - {{name: baseline, users: 1, spawn_rate: 1, duration: 1s}}
    - {{name: load, users: 2, spawn_rate: 2, duration: 2s}}
answers: {{secrets: ["${{STRESS_SECRET_TOKEN}}"]}}
slo: {{error_rate: 100%}}
"""


@dataclass
class Echo:
    url: str
    log: Path

    def requests(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]


@pytest.fixture
def echo(tmp_path: Path) -> Iterator[Echo]:
    port = free_port()
    log = tmp_path / "echo-server.jsonl"
    log.touch()
    process = subprocess.Popen(
        [sys.executable, str(HERE / "echo_server.py"), str(port), str(log), *SECRETS.values()]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, "echo server")
        yield Echo(url, log)
    finally:
        process.terminate()
        process.wait(timeout=10)


def leaks(data: bytes) -> list[str]:
    forms = {
        name: {value, quote(value, safe=""), quote_plus(value)} for name, value in SECRETS.items()
    }
    return [name for name, values in forms.items() if any(v.encode() in data for v in values)]


def test_no_secret_value_in_any_artifact_or_output(tmp_path: Path, echo: Echo) -> None:
    scenario = tmp_path / "secrets.yaml"
    scenario.write_text(SCENARIO.format(url=echo.url), encoding="utf-8")
    printed: list[str] = []

    def run(*args: str, codes: tuple[int, ...] = (0, 1)) -> subprocess.CompletedProcess[str]:
        result = stress(*args, cwd=tmp_path, env=SECRETS)
        printed.append(result.stdout + result.stderr)
        assert result.returncode in codes, (args, result.stdout, result.stderr)
        assert "Traceback (most recent call last)" not in result.stderr, (args, result.stderr)
        return result

    first = tmp_path / run("run", str(scenario), "--out", "reports").stdout.strip().splitlines()[-1]
    second = (
        tmp_path / run("run", str(scenario), "--out", "reports").stdout.strip().splitlines()[-1]
    )
    failures = [json.loads(line) for line in (first / "failures.jsonl").read_text().splitlines()]
    server_error = next(f for f in failures if f["input_id"].startswith("encoding.truncated"))
    input_id = server_error["input_id"]
    # The echo made it into the records' answers: the nasty case really happened.
    answers = pq.read_table(first / "records", columns=["output_excerpt"]).column(0).to_pylist()
    assert any(a and "authorization=Bearer <redacted>" in a for a in answers)

    exports = tmp_path / "exports"
    exports.mkdir()
    # A standalone script judges only some checks; export one whose checks it can judge.
    scriptable = next(
        f["input_id"]
        for f in failures
        if {finding["check"] for finding in f["findings"]} <= set(STANDALONE_CHECKS)
    )
    for fmt, name, chosen in (
        ("curl", "repro.sh", input_id),
        ("python", "repro.py", scriptable),
        ("pytest", "test_repro.py", scriptable),
    ):
        run("repro", str(first), "--id", chosen, "--format", fmt, "-o", str(exports / name))
        run("repro", str(first), "--id", chosen, "--format", fmt)  # to stdout, captured
    run("replay", str(first), "--failed")
    run("shrink", str(first), "--id", input_id, "--max-requests", "40", "--tries", "1")
    run("report", str(first))
    run("compare", str(first), str(second))
    run("history", "reports")

    # The exports name the variables and read them at replay time...
    for name in ("repro.sh", "repro.py", "test_repro.py"):
        text = (exports / name).read_text()
        assert "STRESS_SECRET_TOKEN" in text, name
        assert "STRESS_SECRET_KEY" in text, name
    # ...and a replay sent the real values: the server found them right, never 401.
    before = len(echo.requests())
    replayed = subprocess.run(
        [sys.executable, str(exports / "repro.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **SECRETS},
    )
    printed.append(replayed.stdout + replayed.stderr)
    after = echo.requests()[before:]
    assert [r["ok"] for r in after] == [True], replayed.stderr
    assert all(r["ok"] for r in echo.requests())  # every request carried all three

    searched = 0
    for root in (tmp_path / "reports", exports):
        for path in root.rglob("*"):
            if not path.is_file():
                continue
            searched += 1
            assert not leaks(path.read_bytes()), path
            if path.suffix == ".parquet":
                rows = json.dumps(pq.read_table(path).to_pylist(), default=str)
                assert not leaks(rows.encode()), path
    assert searched >= 30  # two run directories and more: not an empty search
    for output in printed:
        assert not leaks(output.encode()), output
