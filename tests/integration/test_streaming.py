"""Streaming metrics against a server whose token timing is known, stream anomalies, secrets,
the input-id header and the preflight's exit 3, all through the CLI with real Locust load.

The model server logs, for each request, when it arrived and when each token was written
(time.perf_counter is CLOCK_MONOTONIC on Linux, shared by all processes), so the client's
TTFT and ITL are compared with what really happened, request by request.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path

import pytest

from stress.record import read_records
from tests.integration.conftest import ModelServer, free_port, stress

pytestmark = pytest.mark.slow

SCENARIO = """\
name: streaming
target:
  url: "{url}"
  protocol: openai-chat
  model: tiny
  stream: true
  max_tokens: {max_tokens}
  timeout: 10s
{target_extra}
inputs:
  seed: 11
  count: 400
  families: {{{families}}}
load:
  phases:
    - {{name: baseline, users: 1, spawn_rate: 1, duration: 1s}}
    - {{name: load, users: 2, spawn_rate: 2, duration: {seconds}s}}
slo: {{error_rate: 100%}}
# One send per input, so each record pairs with exactly one request the server timed.
degradation: {{enabled: false}}
"""
# The truth: the first token 40 ms after the request arrives, then one every 8 ms.
TTFT_MS, ITL_MS, TOKENS = 40.0, 8.0, 16
TOLERANCE_MS = 2.0
# Three quarters of the TTFTs within this: 3.8 ms was measured at p75 with seven test
# sessions sharing 2 cores (0.3 ms idle), so 10 ms is a 2.6x margin; timing that is really
# wrong (tokens read after the whole body) is off by 15 x ITL_MS = 120 ms.
LOADED_P75_MS = 10.0


def write(tmp_path: Path, url: str, **fields: object) -> Path:
    values = {
        "url": url,
        "max_tokens": TOKENS,
        "target_extra": "",
        "families": "realistic.chat_prompt: 1",
        "seconds": 3,
        **fields,
    }
    path = tmp_path / "streaming.yaml"
    path.write_text(SCENARIO.format(**values), encoding="utf-8")
    return path


def run(tmp_path: Path, scenario: Path, **env: str) -> tuple[int, Path | None, str]:
    result = stress("run", str(scenario), "--out", str(tmp_path / "reports"), cwd=tmp_path, env=env)
    lines = result.stdout.strip().splitlines()
    return result.returncode, Path(lines[-1]) if lines else None, result.stdout + result.stderr


def test_ttft_and_itl_agree_with_the_server_within_2_ms(
    tmp_path: Path, model_server: Callable[..., ModelServer]
) -> None:
    server = model_server("--ttft-ms", str(TTFT_MS), "--itl-ms", str(ITL_MS))
    code, run_dir, output = run(tmp_path, write(tmp_path, server.url))
    assert code == 0, output
    assert run_dir is not None
    records = read_records(run_dir / "records").to_pandas().set_index("input_id")
    truth = {
        request["input_id"]: request
        for request in server.requests()
        if request["input_id"] is not None
    }
    # The corpus is larger than the run, so every input was sent once: ids match requests.
    assert records.index.is_unique
    assert len(records) >= 20
    ttft_errors, itl_errors, true_ttfts = [], [], []
    for input_id, record in records.iterrows():
        tokens = truth[input_id]["tokens"]
        assert len(tokens) == TOKENS == record["output_tokens"] == record["content_events"]
        true_ttft = (tokens[0] - truth[input_id]["received"]) * 1000
        true_itl = (tokens[-1] - tokens[0]) * 1000 / (TOKENS - 1)
        ttft_errors.append(record["ttft_ms"] - true_ttft)
        itl_errors.append(record["itl_ms"] - true_itl)
        true_ttfts.append(true_ttft)
    # The truth is what the server did; it kept roughly to its schedule (sleeps overshoot).
    assert statistics.median(true_ttfts) == pytest.approx(TTFT_MS, abs=3)
    absolute = sorted(abs(e) for e in ttft_errors)
    summary = (
        f"{len(records)} requests; TTFT error median {statistics.median(ttft_errors):+.3f} ms, "
        f"p75 |error| {absolute[int(0.75 * len(absolute))]:.3f} ms, max {absolute[-1]:.3f} ms; "
        f"ITL error median {statistics.median(itl_errors):+.3f} ms, "
        f"max |error| {max(map(abs, itl_errors)):.3f} ms"
    )
    print(summary)
    # ITL holds for every request. A TTFT can be off by a scheduling delay of either process
    # when the two cores are busy with other work (seen: a few requests in 40 off by 2-6 ms
    # at load average 2.4, and the median offset, the request's way to the server, growing
    # from 0.5 to 1.1 ms), so it holds for three quarters of the requests; timing that is
    # really wrong (tokens read after the whole body) is off for all of them. The median
    # holds 2 ms; three quarters hold LOADED_P75_MS on a loaded machine.
    assert max(abs(e) for e in itl_errors) < TOLERANCE_MS, summary
    assert statistics.median(absolute) < TOLERANCE_MS, summary
    assert absolute[int(0.75 * len(absolute))] < LOADED_P75_MS, summary
    # TPOT counts the tail after the last token (finish chunk, usage, [DONE]): a bit above ITL.
    assert (records["tpot_ms"] >= records["itl_ms"] - 0.5).all()
    assert (records["tokens_estimated"] == False).all()  # noqa: E712


def test_a_stream_without_done_is_a_stream_integrity_finding(
    tmp_path: Path, model_server: Callable[..., ModelServer]
) -> None:
    server = model_server("--ttft-ms", "5", "--itl-ms", "1", "--no-done")
    code, run_dir, output = run(tmp_path, write(tmp_path, server.url, max_tokens=4, seconds=1))
    assert code == 1, output
    assert run_dir is not None
    records = read_records(run_dir / "records").to_pandas()
    assert (records["error_kind"] == "invalid_stream").all()
    assert all(list(checks) == ["stream_integrity"] for checks in records["failed_checks"])
    assert records["ttft_ms"].notna().all()  # the tokens that came are still timed
    failure = json.loads((run_dir / "failures.jsonl").read_text().splitlines()[0])
    assert failure["check"] == "stream_integrity"
    assert failure["message"] == "stream ended without 'data: [DONE]'"


def test_a_stall_longer_than_the_limit_ends_the_request_as_a_finding(
    tmp_path: Path, model_server: Callable[..., ModelServer]
) -> None:
    server = model_server(
        "--ttft-ms", "5", "--itl-ms", "2", "--stall-after", "3", "--stall-ms", "1500"
    )
    scenario = write(
        tmp_path, server.url, max_tokens=6, seconds=1, target_extra="  stall_timeout: 300ms"
    )
    code, run_dir, output = run(tmp_path, scenario)
    assert code == 1, output
    assert run_dir is not None
    records = read_records(run_dir / "records").to_pandas()
    assert (records["error_kind"] == "stream_stall").all()
    assert (records["content_events"] == 3).all()  # tokens 0, 1 and 2 came before the stall
    # 5 ms to the first token, 4 ms more for two tokens, then 300 ms of silence: ended at
    # the stall limit, not after the server's 1500 ms pause. Upper bound 1200 ms: 300 ms
    # below the pause, a 900 ms margin over the limit for a loaded 2-core machine.
    assert records["latency_ms"].between(300, 1200).all()
    failure = json.loads((run_dir / "failures.jsonl").read_text().splitlines()[0])
    assert failure["message"].startswith("stream stalled: no bytes for 0.3 s")
    # Re-sent alone (flakiness), the same stall ends each request the same way: deterministic,
    # not "passes alone" because the re-send waited the silence out.
    resends = [json.loads(line) for line in (run_dir / "resends.jsonl").read_text().splitlines()]
    assert resends
    assert {row["error_kind"] for row in resends} == {"stream_stall"}
    # Ended at the stall limit too: well below the server's 1500 ms pause (margin 300 ms
    # below it; about 310 ms is measured on an idle machine).
    assert all(row["latency_ms"] < 1200 for row in resends)


SECRET = "sk-test-SECRET-4815162342"


def test_secrets_never_reach_the_run_directory_or_the_console(
    tmp_path: Path, model_server: Callable[..., ModelServer]
) -> None:
    # The server wants the key and, for an unreadable body, answers 500 quoting the URL and
    # the Authorization header back: the failure stored for it must not carry the key.
    server = model_server("--ttft-ms", "1", "--itl-ms", "1", "--api-key", SECRET, "--echo-secrets")
    extra = (
        "  headers: {Authorization: 'Bearer ${STRESS_TEST_SECRET}'}\n"
        "  params: {key: '${STRESS_TEST_SECRET}'}"
    )
    scenario = write(
        tmp_path,
        server.url,
        max_tokens=4,
        seconds=1,
        target_extra=extra,
        families="realistic.chat_prompt: 3, encoding.truncated_json: 1",
    )
    code, run_dir, output = run(tmp_path, scenario, STRESS_TEST_SECRET=SECRET)
    assert code == 1, output  # the 500s are findings
    assert run_dir is not None
    assert SECRET not in output
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert "${STRESS_TEST_SECRET}" in (run_dir / "scenario.yaml").read_text()
    failures = [json.loads(line) for line in (run_dir / "failures.jsonl").read_text().splitlines()]
    echoed = [f for f in failures if f["response"]["status"] == 500]
    assert echoed
    assert "<redacted>" in echoed[0]["response"]["body_excerpt"]
    assert echoed[0]["request"]["headers"]["Authorization"] == "<redacted>"
    assert (
        "key=%3Credacted%3E" in echoed[0]["request"]["path"]
        or "<redacted>" in echoed[0]["request"]["path"]
    )
    # Every request named its input, and the server saw the real key (nothing was refused).
    seen = server.requests()
    assert all(request.get("status") != 401 for request in seen)
    assert {r["input_id"] for r in seen if r["input_id"]} >= {f["input_id"] for f in failures}

    # Replay restores the key from the environment: the server answers 500 again, not 401.
    before = len(seen)
    replayed = stress(
        "replay",
        str(run_dir),
        "--id",
        echoed[0]["input_id"],
        cwd=tmp_path,
        env={"STRESS_TEST_SECRET": SECRET},
    )
    assert replayed.returncode == 1, replayed.stderr
    assert SECRET not in replayed.stdout + replayed.stderr
    assert [r["status"] for r in server.requests()[before:]] == [500]


def test_a_missing_secret_is_exit_2_naming_the_variable(tmp_path: Path) -> None:
    scenario = write(
        tmp_path,
        f"http://127.0.0.1:{free_port()}",
        target_extra="  headers: {Authorization: 'Bearer ${STRESS_TEST_UNSET_SECRET}'}",
    )
    code, _, output = run(tmp_path, scenario)
    assert code == 2
    assert (
        "target.headers.Authorization: environment variable STRESS_TEST_UNSET_SECRET is not set"
        in output
    )
    assert "Traceback" not in output
    assert not (tmp_path / "reports").exists()


def test_a_wrong_model_name_is_exit_3_before_any_load(
    tmp_path: Path, model_server: Callable[..., ModelServer]
) -> None:
    server = model_server("--model", "served-model")
    code, _, output = run(tmp_path, write(tmp_path, server.url))
    assert code == 3, output
    assert f"target: {server.url} answered HTTP 404 to one valid request" in output
    assert "The model `tiny` does not exist." in output
    assert "the server lists these models: served-model" in output
    assert "Traceback" not in output
    # the model list, then one request: no load was sent
    paths = [r["path"] for r in server.requests() if r["path"] != "/health"]  # /health: fixture
    assert paths == ["/v1/models", "/v1/chat/completions"]
